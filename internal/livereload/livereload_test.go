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

// syncBuffer is the watcher's log, read while it writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
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

// copyProject copies the module into dir, with node_modules linked rather
// than copied, and without what builds and runs leave behind.
func copyProject(tb testing.TB, dir string) {
	tb.Helper()
	root, err := gobuild.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
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
}

func errors(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// startLoop synthesizes the copy's dev stage, serves it with a test issuer,
// and watches the copy.
func startLoop(tb testing.TB) *loop {
	tb.Helper()
	l := &loop{root: tb.TempDir(), log: &syncBuffer{}}
	copyProject(tb, l.root)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	out := filepath.Join(tb.TempDir(), "cdk.out")
	var synthOutput bytes.Buffer
	if err := apitemplate.Synthesize(ctx, l.root, out, &synthOutput); err != nil {
		tb.Fatalf("%v\n%s", err, synthOutput.String())
	}
	api, err := apitemplate.Load(out, "dev")
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
	watcher := &Watcher{Root: l.root, Stage: "dev", Server: local, API: api, Log: l.log}
	ready := make(chan struct{})
	go func() {
		close(ready)
		watcher.Run(ctx)
	}()
	<-ready
	time.Sleep(200 * time.Millisecond) // the watches are in place
	return l
}

// edit replaces old by new in a file of the copy.
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
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		tb.Fatal(err)
	}
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

// waitFor polls until done holds, at most timeout.
func (l *loop) waitFor(tb testing.TB, timeout time.Duration, what string, done func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if done() {
			return
		}
	}
	tb.Fatalf("not within %s: %s\nwatcher log:\n%s", timeout, what, l.log.String())
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

// The local loop as a developer lives it, on a copy of the project: a
// function's new answer, a new route with its protection, a change that
// default deny refuses, broken code, and the recovery; each failure leaves
// the last good version serving.
func TestLiveReload(t *testing.T) {
	l := startLoop(t)
	handlers := filepath.Join("functions", "handlers", "handlers.go")

	l.edit(t, handlers, greeting, "Hello from version 2.")
	l.waitFor(t, 30*time.Second, "the function's new answer", func() bool {
		_, body := l.get(t, "/public", "")
		return strings.Contains(body, "Hello from version 2.")
	})
	if log := l.log.String(); !strings.Contains(log, "reload: functions/handlers/handlers.go changed: rebuilt ./functions/claimsecho, ./functions/greeting, in ") {
		t.Errorf("the reload line does not say what changed and what was rebuilt:\n%s", log)
	}

	routes := filepath.Join("stacks", "routes.go")
	l.edit(t, routes, `	{Method: "GET", Path: "/admin",`, `	{Method: "GET", Path: "/extra", Function: "Greeting", Scopes: []string{"read:user"}, Summary: "Extra"},
	{Method: "GET", Path: "/admin",`)
	l.waitFor(t, 60*time.Second, "the new route, behind the JWT authorizer", func() bool {
		status, _ := l.get(t, "/extra", "")
		return status == 401
	})
	if status, _ := l.get(t, "/extra", l.token(t, "read:user")); status != 200 {
		t.Errorf("GET /extra with read:user: %d", status)
	}
	if status, _ := l.get(t, "/extra", l.token(t, "write:user")); status != 403 {
		t.Errorf("GET /extra without read:user: %d", status)
	}

	failures := func() int { return strings.Count(l.log.String(), "still serving the last good version") }
	api := filepath.Join("stacks", "api.go")
	l.edit(t, api, "		case route.Public:", `		case route.Public || route.Path == "/extra":`)
	l.waitFor(t, 60*time.Second, "default deny refusing the reload", func() bool { return failures() == 1 })
	if log := l.log.String(); !strings.Contains(log, `default deny: route "GET /extra"`) {
		t.Errorf("the refusal does not show default deny's error:\n%s", log)
	}
	if status, _ := l.get(t, "/extra", ""); status != 401 {
		t.Errorf("after the refused reload, GET /extra without a token: %d, want the old version's 401", status)
	}
	l.edit(t, api, `		case route.Public || route.Path == "/extra":`, "		case route.Public:")

	l.edit(t, handlers, "Hello from version 2.", "Hello from version 3.\"\n\tbroken(")
	l.waitFor(t, 60*time.Second, "the compile error", func() bool { return failures() == 2 })
	if log := l.log.String(); !strings.Contains(log, "functions/handlers/handlers.go:") {
		t.Errorf("the compile error does not name the file and line:\n%s", log)
	}
	if _, body := l.get(t, "/public", ""); !strings.Contains(body, "Hello from version 2.") {
		t.Errorf("with the code broken, GET /public: %s, want the last good answer", body)
	}

	l.edit(t, handlers, "Hello from version 3.\"\n\tbroken(", "Hello from version 3.")
	l.waitFor(t, 30*time.Second, "the recovery", func() bool {
		_, body := l.get(t, "/public", "")
		return strings.Contains(body, "Hello from version 3.")
	})
	t.Logf("watcher log:\n%s", l.log.String())
}

// The figures of docs/performance.md: from a save to the new code served.
// Run with -benchtime 5x; each reports the median.
func BenchmarkFunctionEdit(b *testing.B) {
	l := startLoop(b)
	handlers := filepath.Join("functions", "handlers", "handlers.go")
	previous := greeting
	var durations []time.Duration
	for i := range b.N {
		next := "Hello from edit " + strings.Repeat("x", i+1) + "."
		started := time.Now()
		l.edit(b, handlers, previous, next)
		l.waitFor(b, 30*time.Second, "the new answer", func() bool {
			_, body := l.get(b, "/public", "")
			return strings.Contains(body, next)
		})
		durations = append(durations, time.Since(started))
		previous = next
	}
	slices.Sort(durations)
	b.ReportMetric(durations[len(durations)/2].Seconds(), "median-s")
}

func BenchmarkRouteTableEdit(b *testing.B) {
	l := startLoop(b)
	routes := filepath.Join("stacks", "routes.go")
	anchor := `	{Method: "GET", Path: "/admin",`
	var durations []time.Duration
	for i := range b.N {
		path := "/extra" + strings.Repeat("x", i+1)
		started := time.Now()
		l.edit(b, routes, anchor, `	{Method: "GET", Path: "`+path+`", Function: "Greeting", Public: true, Summary: "Added"},
`+anchor)
		l.waitFor(b, 60*time.Second, "the new route", func() bool {
			status, _ := l.get(b, path, "")
			return status == 200
		})
		durations = append(durations, time.Since(started))
	}
	slices.Sort(durations)
	b.ReportMetric(durations[len(durations)/2].Seconds(), "median-s")
}
