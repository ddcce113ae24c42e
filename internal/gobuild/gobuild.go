// Package gobuild builds the Lambda functions' Go packages, for Lambda when the
// CDK bundles them, reproducibly, and for this machine when the local API runs
// them, through the Go build cache.
package gobuild

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Flags are the reproducible build flags of what is deployed: no paths, VCS
// stamps or build IDs in the binary, stripped, without the Lambda SDK's
// unused RPC mode, and without net/http's HTTP/2 client (nethttpomithttp2,
// net/http/omithttp2.go): the functions talk HTTP/1.1 to the Lambda Runtime
// API, the issuer's key set and AWS's endpoints, and it takes 0.3-0.4 MB
// off each binary (docs/performance.md).
var Flags = []string{"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc,nethttpomithttp2", "-ldflags", "-s -w -buildid="}

// hostFlags build for this machine: as Flags, but with the paths, since
// -trimpath makes the Go build cache compile the standard library and every
// dependency a second time (35 s on a fresh machine), with the build ID,
// by which go build sees that a binary it wrote before is up to date, and
// with HTTP/2, so that net/http and what imports it are not compiled again
// for the local API either.
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

// BuildForHost compiles Go main packages for this machine, for the local API
// to run: outputs maps each binary to write to the package it is built from.
//
// One go command builds them all, with hostFlags, into .local/host-build in
// root, where go build leaves a binary alone when it is already up to date
// with its sources, since the binary carries its build ID. From there each
// is hard-linked, or copied across file systems, beside its output and renamed
// over it: a process may still run the binary that an output names, and then
// its file cannot be written. So a Start of the local API whose functions have
// not changed costs no link; and when no file of the module changed since
// the same packages were built there (a stamp file records them), no go
// command either. A lock on the folder keeps two processes (two test
// packages, or apictl beside a test) from writing one binary at once.
func BuildForHost(ctx context.Context, root string, outputs map[string]string) error {
	built := filepath.Join(root, ".local", "host-build")
	if err := os.MkdirAll(built, 0o755); err != nil {
		return err
	}
	unlock, err := lockFolder(built)
	if err != nil {
		return err
	}
	defer unlock()
	byName := map[string]string{} // binary name -> package
	for _, pkg := range outputs {
		name := path.Base(pkg)
		if other, taken := byName[name]; taken && other != pkg {
			return fmt.Errorf("building for this machine: %s and %s would both be a binary named %s; give one of them another folder name", other, pkg, name)
		}
		byName[name] = pkg
	}
	pkgs := slices.Sorted(maps.Values(byName))
	files, err := moduleFiles(root)
	if err != nil {
		return err
	}
	// When nothing in the module changed since these packages were built
	// here, by this process or another, go build would find nothing to do:
	// skip its 0.1-0.2 s of CPU, which a test suite pays dozens of times.
	stamp := builtStamp(built, pkgs)
	if recorded, err := os.ReadFile(stamp); err != nil || string(recorded) != files || !allExist(built, pkgs) {
		args := append(append([]string{"build"}, hostFlags...), "-o", built+string(filepath.Separator))
		cmd := GoCommand(ctx, root, append(args, pkgs...)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s for this machine failed: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
		if err := os.WriteFile(stamp, []byte(files), 0o644); err != nil {
			return err
		}
	}
	for output, pkg := range outputs {
		binary := filepath.Join(built, path.Base(pkg))
		if _, err := os.Stat(binary); err != nil {
			return fmt.Errorf("building %s for this machine gave no binary: is it a main package? (%v)", pkg, err)
		}
		if err := place(binary, output); err != nil {
			return err
		}
	}
	return nil
}

// builtStamp is the file that records, beside the binaries, the module's
// files when pkgs were last built into built: one per set of packages, Go
// toolchain and build environment, since a change of either builds again.
func builtStamp(built string, pkgs []string) string {
	sum := sha256.Sum256([]byte(strings.Join(append([]string{runtime.Version(), os.Getenv("GOFLAGS"), os.Getenv("GOEXPERIMENT")}, pkgs...), "\x00")))
	return filepath.Join(built, fmt.Sprintf(".built-%x", sum[:8]))
}

// allExist tells whether every package's binary is in built.
func allExist(built string, pkgs []string) bool {
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(built, path.Base(pkg))); err != nil {
			return false
		}
	}
	return true
}

// moduleFiles sums up every file of the module by path, size and modification
// time: what a build of its packages can read, as sources or embedded files,
// besides the module cache, whose files never change. Walking the module
// takes under a millisecond. Folders that builds never read are left out.
func moduleFiles(root string) (string, error) {
	skip := map[string]bool{"node_modules": true, ".git": true, ".local": true, "cdk.out": true}
	sum := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00%d\n", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading the module's files: %w", err)
	}
	return fmt.Sprintf("%x", sum.Sum(nil)), nil
}

// place puts a hard link to binary, or a copy of it, at output.
func place(binary, output string) error {
	dir := filepath.Dir(output)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".build-%d-%s", os.Getpid(), filepath.Base(output)))
	os.Remove(tmp)
	if err := os.Link(binary, tmp); err != nil {
		if err := copyExecutable(binary, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, output); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyExecutable(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
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
