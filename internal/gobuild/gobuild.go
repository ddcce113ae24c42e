// Package gobuild builds the Lambda functions' Go packages, for Lambda when the
// CDK bundles them and for this machine when the local API runs them, with the
// same reproducible flags.
package gobuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Flags are the reproducible build flags: no paths, VCS stamps or build IDs in
// the binary, stripped, and without the Lambda SDK's unused RPC mode.
var Flags = []string{"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid="}

// Build compiles the Go package pkg (relative to the module root) into output,
// for the given GOOS and GOARCH, without cgo.
func Build(root, pkg, output, goos, goarch string) error {
	args := append([]string{"build"}, Flags...)
	cmd := exec.Command("go", append(args, "-o", output, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building Lambda function %s (%s/%s) failed: %v\n%s", pkg, goos, goarch, err, out)
	}
	return nil
}

// ModuleRoot is the directory holding go.mod, found from the working directory
// upwards: tests run in their package's folder rather than at the root.
func ModuleRoot() (string, error) {
	start, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := start; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod in %s or any parent: run from inside the project", start)
		}
	}
}
