// Package gobuild builds the Lambda functions' Go packages, for Lambda when the
// CDK bundles them, reproducibly, and for this machine when the local API runs
// them, through the Go build cache.
package gobuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Flags are the reproducible build flags of what is deployed: no paths, VCS
// stamps or build IDs in the binary, stripped, and without the Lambda SDK's
// unused RPC mode.
var Flags = []string{"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid="}

// hostFlags build for this machine: as Flags, but with the paths, since
// -trimpath makes the Go build cache compile the standard library and every
// dependency a second time (35 s on a fresh machine), and with the build ID,
// which the Go build cache's executables need.
var hostFlags = []string{"-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w"}

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

// BuildForHost compiles one Go main package for this machine into output,
// for the local API to run. It builds with hostFlags, which keep the build
// ID, through `go run -exec cp`: go run keeps the executables it links in the Go
// build cache (Go 1.24 and later) and hands the cached one to -exec, which
// copies it to output, whereas go build -o links again every time. So a
// function whose code has not changed since an earlier build from the same
// folder, by apictl or by a test, costs a copy instead of a link.
func BuildForHost(ctx context.Context, root, output, pkg string) error {
	dir := filepath.Dir(output)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Copied beside output, then renamed over it: a process may still run
	// the binary that output names, and then its file cannot be written.
	tmp, err := os.CreateTemp(dir, ".build-")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	args := append(append([]string{"run"}, hostFlags...), "-exec", "cp", pkg, tmp.Name())
	cmd := GoCommand(ctx, root, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s for this machine failed: %v\n%s", pkg, err, out)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), output)
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
