package livereload

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/localapi"
)

// syncBuffer is the watcher's log, read while it writes. written is
// signalled after each write, so that a test waits for what the watcher says
// instead of polling against a deadline.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		select {
		case b.written <- struct{}{}:
		default:
		}
	}()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loop is the local API of a copy of the project, watched and reloaded.
type loop struct {
	root   string // the copy
	url    string
	issuer *devissuer.Issuer
	log    *syncBuffer
}

// copyProject copies the module into .local/livereload-copy/<name>, with
// node_modules linked rather than copied, and without what builds and runs
// leave behind, and returns the folder. The folder is the same on every run
// from the same checkout, and it keeps its own .local: the Go build cache
// keys what it compiles by the package's folder, so the copy's app, and each
// edit of it below, is linked once and then served from the cache, and the
// functions the local API builds for this machine stay up to date in the
// copy's .local/host-build, as they do for a developer whose edits repeat.
// (Two runs of this test at once from one checkout would share it.)
func copyProject(tb testing.TB, name string) string {
	tb.Helper()
	root, err := gobuild.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, ".local", "livereload-copy", name)
	entries, _ := os.ReadDir(dir)
	for _, entry := range entries {
		if entry.Name() != ".local" {
			if err := os.RemoveAll(filepath.Join(dir, entry.Name())); err != nil {
				tb.Fatal(err)
			}
		}
	}
	skip := map[string]bool{".git": true, "cdk.out": true, ".local": true, "dist": true}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		target := filepath.Join(dir, rel)
		switch {
		case d.IsDir() && rel == "node_modules":
			return errors(os.Symlink(path, target), filepath.SkipDir)
		case d.IsDir() && skip[d.Name()]:
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func errors(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// startLoop serves the copy's dev stage with a test issuer, and watches the
// copy. The copy is the module as it is, so its dev stage is the snapshot
// that the root package's TestSnapshots keeps equal to the synthesis.
func startLoop(tb testing.TB, name string) *loop {
	tb.Helper()
	l := &loop{root: copyProject(tb, name), log: newSyncBuffer()}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	template, err := os.ReadFile(filepath.Join(l.root, "testdata", "dev.template.json"))
	if err != nil {
		tb.Fatal(err)
	}
	api, err := apitemplate.Parse(template)
	if err != nil {
		tb.Fatal(err)
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	issuerServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { l.issuer.ServeHTTP(w, r) }))
	tb.Cleanup(issuerServer.Close)
	l.issuer = devissuer.New(issuerServer.URL+"/", key)
	local, err := localapi.Start(ctx, localapi.Config{
		Root: l.root, API: api, Issuer: l.issuer.URL, Addr: "127.0.0.1:0", MaxProcesses: 2,
		BuildDir: filepath.Join(tb.TempDir(), "build"), FunctionOutput: io.Discard, AccessLog: io.Discard,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(local.Close)
	l.url = local.URL
	// Each edit below is one rename, one event: no burst to gather.
	watcher := &Watcher{Root: l.root, Stage: "dev", Server: local, API: api, Log: l.log, Debounce: time.Millisecond}
	go watcher.Run(ctx)
	l.waitForLog(tb, func(log string) bool { return strings.Contains(log, Ready) })
	return l
}

// edit replaces old by new in a file of the copy, as editors save: a new
// file renamed over the old one, so that the watcher sees one change.
func (l *loop) edit(tb testing.TB, file, old, new string) {
	tb.Helper()
	path := filepath.Join(l.root, file)
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		tb.Fatalf("%s does not contain %q", file, old)
	}
	saved := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".saving")
	if err := os.WriteFile(saved, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(saved, path); err != nil {
		tb.Fatal(err)
	}
}

// reloadTimeout only keeps a watcher that never reloads from hanging the
// suite: a reload that re-synthesizes takes seconds, even on a busy machine.
const reloadTimeout = 5 * time.Minute

// waitForLog waits until the watcher's log satisfies done.
func (l *loop) waitForLog(tb testing.TB, done func(log string) bool) {
	tb.Helper()
	timeout := time.After(reloadTimeout)
	for !done(l.log.String()) {
		select {
		case <-l.log.written:
		case <-timeout:
			tb.Fatalf("the watcher said nothing expected in %s:\n%s", reloadTimeout, l.log.String())
		}
	}
}

// save makes an edit and waits for the reload it causes; it returns the
// reload's last line, which says what it did or that it failed.
func (l *loop) save(tb testing.TB, file, old, new string) string {
	tb.Helper()
	before := strings.Count(l.log.String(), "reload: ")
	l.edit(tb, file, old, new)
	l.waitForLog(tb, func(log string) bool { return strings.Count(log, "reload: ") > before })
	log := l.log.String()
	return log[strings.LastIndex(log, "reload: "):]
}

// get calls the API; it returns the status and the body.
func (l *loop) get(tb testing.TB, path, authorization string) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest("GET", l.url+path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (l *loop) token(tb testing.TB, scopes ...string) string {
	tb.Helper()
	tok, err := l.issuer.AccessToken(devissuer.TokenRequest{Subject: "s", Audience: "https://dev.api.example.com", Scopes: scopes, TTL: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	return "Bearer " + tok
}

const greeting = "Hello! This route is public: no token needed."

// The local loop as a developer lives it, on copies of the project: a
// function's new answer, broken code and the recovery; a new route with its
// protection, a change the route table's guardrails refuse, and its undo. Each failure
// leaves the last good version serving. The two halves watch copies of their
// own, side by side.
const failed = "still serving the last good version"

func TestLiveReloadOfAFunction(t *testing.T) {
	t.Parallel()
	l := startLoop(t, "function")
	handlers := filepath.Join("functions", "handlers", "handlers.go")

	if line := l.save(t, handlers, greeting, "Hello from version 2."); !strings.Contains(line, "reload: functions/handlers/handlers.go changed: rebuilt ./functions/claimsecho, ./functions/greeting, in ") {
		t.Errorf("the reload line does not say what changed and what was rebuilt:\n%s", l.log.String())
	}
	if _, body := l.get(t, "/public", ""); !strings.Contains(body, "Hello from version 2.") {
		t.Errorf("after the reload, GET /public: %s, want the function's new answer", body)
	}

	if line := l.save(t, handlers, "Hello from version 2.", "Hello from version 3.\"\n\tbroken("); !strings.Contains(line, failed) {
		t.Fatalf("a compile error did not fail the reload:\n%s", l.log.String())
	}
	if log := l.log.String(); !strings.Contains(log, "functions/handlers/handlers.go:") {
		t.Errorf("the compile error does not name the file and line:\n%s", log)
	}
	if _, body := l.get(t, "/public", ""); !strings.Contains(body, "Hello from version 2.") {
		t.Errorf("with the code broken, GET /public: %s, want the last good answer", body)
	}

	// The fix is the original text: the copy ends as it began, so that the
	// next run finds its functions built and relinks nothing at the start.
	if line := l.save(t, handlers, "Hello from version 3.\"\n\tbroken(", greeting); strings.Contains(line, failed) {
		t.Fatalf("the fixed code did not reload:\n%s", l.log.String())
	}
	if _, body := l.get(t, "/public", ""); !strings.Contains(body, greeting) {
		t.Errorf("after the recovery, GET /public: %s", body)
	}
	t.Logf("watcher log:\n%s", l.log.String())
}

func TestLiveReloadOfTheRouteTable(t *testing.T) {
	t.Parallel()
	l := startLoop(t, "routes")
	routes := filepath.Join("stacks", "routes.go")
	if line := l.save(t, routes, `	{Method: "GET", Path: "/admin",`, `	{Method: "GET", Path: "/extra", Function: "Greeting", Scopes: []string{"read:user"}, Summary: "Extra"},
	{Method: "GET", Path: "/admin",`); !strings.Contains(line, "re-synthesized") {
		t.Fatalf("a route-table edit did not re-synthesize:\n%s", l.log.String())
	}
	if status, _ := l.get(t, "/extra", ""); status != 401 {
		t.Errorf("the new route without a token: %d, want 401 from the JWT authorizer", status)
	}
	if status, _ := l.get(t, "/extra", l.token(t, "read:user")); status != 200 {
		t.Errorf("GET /extra with read:user: %d", status)
	}
	if status, _ := l.get(t, "/extra", l.token(t, "write:user")); status != 403 {
		t.Errorf("GET /extra without read:user: %d", status)
	}

	// A guardrail's refusal: making the route public but leaving its scope.
	// The route table is checked before the CDK starts, so the refusal comes
	// at once; default deny, which needs the synthesized API, is the root
	// package's TestDefaultDenyRefusesUndeclaredUnauthenticatedRoutes.
	extra := `Path: "/extra", Function: "Greeting", Scopes`
	if line := l.save(t, routes, extra, `Path: "/extra", Function: "Greeting", Public: true, Scopes`); !strings.Contains(line, failed) {
		t.Fatalf("the route table's guardrails did not refuse the reload:\n%s", l.log.String())
	}
	if log := l.log.String(); !strings.Contains(log, `route "GET /extra": is public but has scopes [read:user]`) {
		t.Errorf("the refusal does not show the guardrail's error:\n%s", log)
	}
	if status, _ := l.get(t, "/extra", ""); status != 401 {
		t.Errorf("after the refused reload, GET /extra without a token: %d, want the old version's 401", status)
	}
	if line := l.save(t, routes, `Path: "/extra", Function: "Greeting", Public: true, Scopes`, extra); !strings.Contains(line, "changed back to the version served: nothing to do") {
		t.Fatalf("the undo of the refused change did not say it is back to the version served:\n%s", l.log.String())
	}
	if status, _ := l.get(t, "/extra", l.token(t, "read:user")); status != 200 {
		t.Errorf("after the undo, GET /extra with read:user: %d", status)
	}
	t.Logf("watcher log:\n%s", l.log.String())
}

// The figures of docs/performance.md: from a save to the new code served.
// Run with -benchtime 5x; each reports the median.
func BenchmarkFunctionEdit(b *testing.B) {
	l := startLoop(b, "function")
	handlers := filepath.Join("functions", "handlers", "handlers.go")
	previous := greeting
	var durations []time.Duration
	for i := range b.N {
		next := "Hello from edit " + strings.Repeat("x", i+1) + "."
		started := time.Now()
		l.save(b, handlers, previous, next)
		durations = append(durations, time.Since(started))
		if _, body := l.get(b, "/public", ""); !strings.Contains(body, next) {
			b.Fatalf("GET /public: %s, want %q", body, next)
		}
		previous = next
	}
	slices.Sort(durations)
	b.ReportMetric(durations[len(durations)/2].Seconds(), "median-s")
}

func BenchmarkRouteTableEdit(b *testing.B) {
	l := startLoop(b, "routes")
	routes := filepath.Join("stacks", "routes.go")
	anchor := `	{Method: "GET", Path: "/admin",`
	var durations []time.Duration
	for i := range b.N {
		path := "/extra" + strings.Repeat("x", i+1)
		started := time.Now()
		l.save(b, routes, anchor, `	{Method: "GET", Path: "`+path+`", Function: "Greeting", Public: true, Summary: "Added"},
`+anchor)
		durations = append(durations, time.Since(started))
		if status, _ := l.get(b, path, ""); status != 200 {
			b.Fatalf("GET %s: %d, want the new route's 200", path, status)
		}
	}
	slices.Sort(durations)
	b.ReportMetric(durations[len(durations)/2].Seconds(), "median-s")
}

// A change to any package the app builds from synthesizes again, not only
// one in stacks/ or the root: internal/apitemplate shapes the template too.
func TestAChangeToAPackageOfTheAppSynthesizes(t *testing.T) {
	root, err := gobuild.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &Watcher{Root: root}
	w.loadAppDirs(context.Background())
	for file, want := range map[string]bool{
		"stacks/routes.go":                  true,
		"main.go":                           true,
		"cdk.json":                          true,
		"internal/apitemplate/assembly.go":  true,
		"internal/openapi/openapi.go":       true,
		"functions/handlers/handlers.go":    false,
		"cmd/apictl/main.go":                false,
		"internal/livereload/livereload.go": false,
	} {
		if got := w.changesTheApp(filepath.FromSlash(file)); got != want {
			t.Errorf("%s changes the app: %v, want %v", file, got, want)
		}
	}
}
