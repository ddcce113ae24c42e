// Package gobuild builds the Lambda functions' Go packages, for Lambda when the
// CDK bundles them and for this machine when the local API runs them, with the
// same reproducible flags.
package gobuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Flags are the reproducible build flags: no paths, VCS stamps or build IDs in
// the binary, stripped, and without the Lambda SDK's unused RPC mode.
var Flags = []string{"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid="}

// Build compiles Go packages (relative to the module root) for the given GOOS
// and GOARCH, without cgo. output is the binary, or, when it is an existing
// directory or there are several packages, a directory that gets one binary
// per package, named after its last path element. One go command links
// several packages in parallel.
func Build(ctx context.Context, root, output, goos, goarch string, pkgs ...string) error {
	if len(pkgs) > 1 {
		output = filepath.Clean(output) + string(filepath.Separator)
	}
	args := append([]string{"build"}, Flags...)
	cmd := GoCommand(ctx, root, append(append(args, "-o", output), pkgs...)...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building Lambda functions %v (%s/%s) failed: %v\n%s", pkgs, goos, goarch, err, out)
	}
	return nil
}

// GoCommand is a go command run in root. When ctx ends, it is killed with
// everything it started (the compiler, or the program of a go run), so that
// Ctrl-C during a build or a synth leaves no process behind.
func GoCommand(ctx context.Context, root string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	ownProcessGroup(cmd)
	return cmd
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
