// Package livereload keeps a running local API in step with the code: it
// watches the module with fsnotify, rebuilds the functions whose packages a
// change touches, re-synthesizes when the app itself changes (a package it
// builds from, such as stacks/ or internal/apitemplate, or cdk.json, go.mod,
// go.sum), and swaps the new version in while the old one
// finishes its requests. A change that does not build or does not validate
// leaves the last good version serving.
package livereload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/localapi"
)

// DefaultDebounce gathers the bursts of events of one editor save, or of a
// git checkout, into one reload.
const DefaultDebounce = 150 * time.Millisecond

// Ready is the line Run logs once its watches are in place: a save from
// then on reloads.
const Ready = "watching the module: a save reloads what it changed"

// Watcher reloads Server when the module under Root changes.
type Watcher struct {
	Root, Stage string
	Server      *localapi.Server
	API         *apitemplate.API // the version served now
	Log         io.Writer
	Debounce    time.Duration // 0: DefaultDebounce

	// appPending: a change to the app was in a batch that failed, so the next
	// reload synthesizes again even if its own files are only code.
	appPending bool
	// served is the digest of the relevant files that the version served
	// was built from, "" when unknown: a save that brings them back to it,
	// such as an editor's undo of a failed change, has nothing to reload.
	served string
	// appDirs are the folders of the module's packages that the CDK app
	// builds from (stacks/, the root, and what they import, such as
	// internal/apitemplate): a change there may change the template.
	appDirs map[string]bool
}

// skipped are the folders whose files never change what the local API serves.
var skipped = map[string]bool{".git": true, "node_modules": true, "cdk.out": true, ".local": true, "web": true, "testdata": true, "docs": true}

// Run watches until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer watcher.Close()
	if err := w.watchTree(watcher, w.Root); err != nil {
		return err
	}
	w.served, _ = w.digest()
	w.loadAppDirs(ctx)
	fmt.Fprintln(w.Log, Ready)
	debounce := w.Debounce
	if debounce == 0 {
		debounce = DefaultDebounce
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	changed := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case event := <-watcher.Events:
			if info, err := os.Stat(event.Name); err == nil && info.IsDir() && event.Has(fsnotify.Create) {
				w.watchTree(watcher, event.Name) // a new folder, such as a new function's
				continue
			}
			if rel, ok := w.relevant(event.Name); ok {
				changed[rel] = true
				timer.Reset(debounce)
			}
		case err := <-watcher.Errors:
			fmt.Fprintln(w.Log, "watch:", err)
		case <-timer.C:
			files := slices.Sorted(func(yield func(string) bool) {
				for file := range changed {
					if !yield(file) {
						return
					}
				}
			})
			clear(changed)
			w.reload(ctx, files)
		}
	}
}

func (w *Watcher) watchTree(watcher *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if path != w.Root && (skipped[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		return watcher.Add(path)
	})
}

// relevant tells whether a file can change what the local API serves: Go
// code (but tests), cdk.json, go.mod and go.sum. It returns the path from Root.
func (w *Watcher) relevant(path string) (string, bool) {
	rel, err := filepath.Rel(w.Root, path)
	if err != nil {
		return "", false
	}
	switch {
	case rel == "cdk.json" || rel == "go.mod" || rel == "go.sum":
		return rel, true
	case strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go"):
		return rel, true
	}
	return "", false
}

// digest is a digest of every relevant file under Root, by path and content.
func (w *Watcher) digest() (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(w.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != w.Root && (skipped[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, ok := w.relevant(path)
		if !ok {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", rel, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// loadAppDirs lists the folders of the packages the app builds from. When
// go list fails (the app does not build just now), the last list stays.
func (w *Watcher) loadAppDirs(ctx context.Context) {
	out, err := gobuild.GoCommand(ctx, w.Root, "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".").Output()
	if err != nil {
		return
	}
	w.appDirs = map[string]bool{}
	for _, dir := range strings.Fields(string(out)) {
		w.appDirs[dir] = true
	}
}

// changesTheApp tells whether a file is part of the CDK app, so that the
// template may change: then the app is synthesized again. Before the app's
// packages are known, stacks/ and the root's files count.
func (w *Watcher) changesTheApp(rel string) bool {
	if rel == "cdk.json" || rel == "go.mod" || rel == "go.sum" {
		return true
	}
	if w.appDirs != nil {
		return w.appDirs[filepath.Join(w.Root, filepath.Dir(rel))]
	}
	return strings.HasPrefix(rel, "stacks"+string(filepath.Separator)) || !strings.Contains(rel, string(filepath.Separator))
}

// reload applies one batch of changed files, and prints one line saying what
// changed, what was rebuilt and how long it took, or the error and that the
// last good version is still served.
func (w *Watcher) reload(ctx context.Context, files []string) {
	started := time.Now()
	what := strings.Join(files, ", ")
	digest, err := w.digest()
	if err != nil {
		digest = ""
	}
	if digest != "" && digest == w.served {
		w.appPending = false
		fmt.Fprintf(w.Log, "reload: %s changed back to the version served: nothing to do\n", what)
		return
	}
	appChanged := w.appPending || slices.ContainsFunc(files, w.changesTheApp)
	fail := func(output string) {
		w.appPending = appChanged
		fmt.Fprint(w.Log, output)
		if output != "" && !strings.HasSuffix(output, "\n") {
			fmt.Fprintln(w.Log)
		}
		fmt.Fprintf(w.Log, "reload: %s changed, and it fails (above): still serving the last good version\n", what)
	}
	api, synthesized := w.API, false
	if appChanged {
		out, err := os.MkdirTemp("", "apictl-reload-")
		if err != nil {
			fail(err.Error())
			return
		}
		defer os.RemoveAll(out)
		var output bytes.Buffer
		if err := apitemplate.Synthesize(ctx, w.Root, out, w.Stage, &output); err != nil {
			fail(output.String())
			return
		}
		if api, err = apitemplate.Load(out, w.Stage); err != nil {
			fail(err.Error())
			return
		}
		synthesized = true
	}
	rebuild, err := w.affected(ctx, api, files)
	if err != nil {
		fail(err.Error())
		return
	}
	if !synthesized && len(rebuild) == 0 {
		w.served = digest
		fmt.Fprintf(w.Log, "reload: %s changed: no function uses it, nothing to do\n", what)
		return
	}
	rebuilt, err := w.Server.Reload(ctx, api, rebuild)
	if err != nil {
		fail(err.Error())
		return
	}
	w.API, w.appPending, w.served = api, false, digest
	if synthesized {
		w.loadAppDirs(ctx) // the app may import other packages now
	}
	var packages []string
	for _, id := range rebuilt {
		packages = append(packages, api.Functions[id].GoPackage)
	}
	slices.Sort(packages)
	done := "rebuilt " + strings.Join(packages, ", ")
	if len(rebuilt) == 0 {
		done = "rebuilt nothing"
	}
	if synthesized {
		done = "re-synthesized, " + done
	}
	fmt.Fprintf(w.Log, "reload: %s changed: %s, in %s\n", what, done, time.Since(started).Round(time.Millisecond))
}

// affected lists the functions whose Go package imports, directly or not, a
// package of a changed file. A change to go.mod or go.sum affects them all.
// One go list answers for every function, since each go command costs about
// a quarter of a second of CPU before it does anything.
func (w *Watcher) affected(ctx context.Context, api *apitemplate.API, files []string) ([]string, error) {
	dirs := map[string]bool{}
	everything := false
	for _, file := range files {
		everything = everything || file == "go.mod" || file == "go.sum"
		dirs[filepath.Join(w.Root, filepath.Dir(file))] = true
	}
	var packages []string
	for _, fn := range api.Functions {
		if fn.GoPackage != "" && !slices.Contains(packages, fn.GoPackage) {
			packages = append(packages, fn.GoPackage)
		}
	}
	if len(packages) == 0 {
		return nil, nil
	}
	// Every package the functions build from, with its folder and its own
	// dependencies' import paths.
	args := append([]string{"list", "-e", "-deps", "-f", `{{.ImportPath}}{{"\t"}}{{.Dir}}{{"\t"}}{{join .Deps " "}}`}, packages...)
	out, err := gobuild.GoCommand(ctx, w.Root, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v", strings.Join(packages, " "), err)
	}
	dirOf := map[string]string{}    // import path -> folder
	depsOf := map[string][]string{} // folder -> import paths it builds from
	for line := range strings.Lines(string(out)) {
		fields := strings.SplitN(strings.TrimSuffix(line, "\n"), "\t", 3)
		if len(fields) == 3 {
			dirOf[fields[0]] = fields[1]
			depsOf[fields[1]] = strings.Fields(fields[2])
		}
	}
	var affected []string
	for id, fn := range api.Functions {
		if fn.GoPackage == "" {
			continue
		}
		dir := filepath.Join(w.Root, fn.GoPackage)
		if everything || dirs[dir] || slices.ContainsFunc(depsOf[dir], func(dep string) bool { return dirs[dirOf[dep]] }) {
			affected = append(affected, id)
		}
	}
	slices.Sort(affected)
	return affected, nil
}
