package localapi

import (
	"context"
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
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/testsupport"
)

// serveWithIssuer serves the suite's API and functions with an authorizer
// whose keys come from issuerURL.
func serveWithIssuer(t *testing.T, issuerURL string) string {
	t.Helper()
	server := httptest.NewServer(handlerFor(t, suite.api, issuerURL))
	t.Cleanup(server.Close)
	return server.URL
}

// failingIssuers are issuers whose keys cannot be had, by name: unreachable,
// slower than the fetch timeout, and a key set over the size limit.
func failingIssuers(t *testing.T) map[string]string {
	t.Helper()
	unreachable := "http://" + testsupport.FreeAddress(t) + "/"
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// It answers only once the client has given up, at its fetch timeout.
		// A client without one gets the keys after a minute, and the test
		// fails on the answer it then gives instead of hanging.
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		suite.issuer.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	large := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "openid-configuration") {
			w.Write([]byte(`{"jwks_uri":"http://` + r.Host + `/jwks"}`))
			return
		}
		w.Write([]byte(`{"keys":[],"padding":"` + strings.Repeat("x", jwtauth.MaxKeySetBytes) + `"}`))
	}))
	t.Cleanup(large.Close)
	return map[string]string{"unreachable": unreachable, "slow": slow.URL + "/", "too large": large.URL + "/"}
}

func testKeySetFailuresFailClosedAndPublicRoutesStillServe(t *testing.T) {
	echo := suite.functions[functionID(t, "./functions/claimsecho")]
	subtests := map[string]func(*testing.T){}
	for name, issuer := range failingIssuers(t) {
		subtests[name] = func(t *testing.T) {
			base := serveWithIssuer(t, issuer)
			tok, _ := devissuer.New(issuer, suite.key).AccessToken(devissuer.TokenRequest{Subject: "s", Audience: suite.api.Audience[0], Scopes: []string{"read:user"}, TTL: time.Hour})
			before := echo.Invocations()
			req, _ := http.NewRequest("GET", base+"/user", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || echo.Invocations() != before {
				t.Errorf("private route: %d, invocations +%d; want 401 and none", resp.StatusCode, echo.Invocations()-before)
			}
			public, err := http.Get(base + "/public")
			if err != nil {
				t.Fatal(err)
			}
			public.Body.Close()
			if public.StatusCode != 200 {
				t.Errorf("public route: %d while the key set is %s", public.StatusCode, name)
			}
		}
	}
	// None of them invokes echo, so each still sees its count unchanged.
	sideBySide(t, subtests)
}

// The failures that take their time: each waits out a failing key fetch or
// a timeout, not the CPU, so they run side by side, after the serial tests
// (the key set failures' echo then counts only their own calls).
func TestFailuresThatWaitOutATimeout(t *testing.T) {
	t.Parallel()
	sideBySide(t, map[string]func(*testing.T){
		"KeySetFailuresFailClosedAndPublicRoutesStillServe":            testKeySetFailuresFailClosedAndPublicRoutesStillServe,
		"PermissionsAuthorizerFailsClosed":                             testPermissionsAuthorizerFailsClosed,
		"FunctionFaultsGetAPIGatewayStatusesAndTheNextRequestIsServed": testFunctionFaultsGetAPIGatewayStatusesAndTheNextRequestIsServed,
		"IntegrationTimeoutIs503":                                      testIntegrationTimeoutIs503,
	})
}

// sideBySide runs each subtest in a goroutine of its own: they wait on
// timeouts, not on the CPU, so they need no slot of go test's -parallel,
// which is the number of cores.
func sideBySide(t *testing.T, subtests map[string]func(*testing.T)) {
	var wg sync.WaitGroup
	for name, run := range subtests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, run)
		}()
	}
	wg.Wait()
}

// faultyAPI runs the faulty test function behind a public greedy route,
// with a build folder and servers of its own, so that tests that use it can
// run in parallel.
func faultyAPI(t *testing.T, timeoutSeconds int, integration time.Duration, configure ...func(*Config)) *Server {
	t.Helper()
	api := &apitemplate.API{
		Issuer: suite.issuer.URL, Audience: suite.api.Audience,
		Routes: []apitemplate.Route{{Key: "ANY /{proxy+}", Method: "ANY", Path: "/{proxy+}", AuthorizationType: "NONE", Function: "Faulty"}},
		Functions: map[string]apitemplate.Function{
			"Faulty": {GoPackage: "./internal/lambdaproc/testdata/faulty", TimeoutSeconds: timeoutSeconds, MemoryMiB: 128},
		},
	}
	cfg := Config{
		Root: suite.root, API: api, Addr: "127.0.0.1:0", MaxProcesses: 2,
		BuildDir: t.TempDir(), IntegrationTimeout: integration,
	}
	for _, change := range configure {
		change(&cfg)
	}
	local, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(local.Close)
	return local
}

func testFunctionFaultsGetAPIGatewayStatusesAndTheNextRequestIsServed(t *testing.T) {
	local := faultyAPI(t, 1, 0)
	firstPID := string(callAt(t, local.URL, "GET", "/ok", "").body)
	cases := []struct {
		path, body string
		status     int
		newProcess bool // the fault kills the process, so a new one serves the next request
	}{
		{"/error", `{"message":"Internal Server Error"}`, 500, false},
		{"/invalid", `{"message":"Internal Server Error"}`, 500, false},
		{"/bare", `{"hello":"world"}`, 200, false},
		{"/panic", `{"message":"Internal Server Error"}`, 500, true},
		{"/exit", `{"message":"Internal Server Error"}`, 500, true},
		{"/sleep", `{"message":"Internal Server Error"}`, 500, true},
	}
	pid := firstPID
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			resp := callAt(t, local.URL, "GET", c.path, "")
			status, body := resp.status, string(resp.body)
			if status != c.status || body != c.body {
				t.Errorf("%s: %d %s, want %d %s", c.path, status, body, c.status, c.body)
			}
			resp = callAt(t, local.URL, "GET", "/ok", "")
			status, next := resp.status, string(resp.body)
			if status != 200 || !strings.HasPrefix(next, "pid ") {
				t.Fatalf("the next request after %s: %d %s", c.path, status, next)
			}
			if replaced := next != pid; replaced != c.newProcess {
				t.Errorf("after %s the serving process changed: %v, want %v (%s -> %s)", c.path, replaced, c.newProcess, pid, next)
			}
			pid = next
		})
	}
}

func testIntegrationTimeoutIs503(t *testing.T) {
	// The function may run 3 s but API Gateway gives up first.
	local := faultyAPI(t, 3, 100*time.Millisecond) // /sleep never answers: any bound gives the same answer
	if resp := callAt(t, local.URL, "GET", "/sleep", ""); resp.status != 503 || string(resp.body) != `{"message":"Service Unavailable"}` {
		t.Errorf("%d %s, want 503 Service Unavailable", resp.status, resp.body)
	}
}

// A reload swaps the API while it serves: a request in flight finishes on
// the process it started on, with its answer, and the next request is served
// by the new version's process.
func TestReloadLetsRequestsInFlightFinishOnTheOldVersion(t *testing.T) {
	t.Parallel()
	release := filepath.Join(t.TempDir(), "release")
	started := &lineWatcher{want: "faulty: slow request started", seen: make(chan struct{})}
	local := faultyAPI(t, 3, 0, func(cfg *Config) {
		cfg.FunctionEnvironment = map[string]string{"FAULTY_RELEASE": release}
		cfg.FunctionOutput = started
	})
	before := string(callAt(t, local.URL, "GET", "/ok", "").body)
	slow := make(chan response, 1)
	go func() { slow <- callAt(t, local.URL, "GET", "/slow", "") }()
	<-started.seen // the slow request has reached its process, which holds it until released
	api := *local.current.Load().api
	rebuilt, err := local.Reload(context.Background(), &api, []string{"Faulty"})
	if err != nil || !slices.Equal(rebuilt, []string{"Faulty"}) {
		t.Fatalf("reload: %v %v", rebuilt, err)
	}
	after := callAt(t, local.URL, "GET", "/ok", "")
	if after.status != 200 || string(after.body) == before {
		t.Errorf("after the reload: %d %s, want a new process (was %s)", after.status, after.body, before)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := <-slow
	if old.status != 200 || string(old.body) != before {
		t.Errorf("the request in flight: %d %s, want the old process's answer %s", old.status, old.body, before)
	}
}

// lineWatcher is a function output that closes seen once a line holds want.
type lineWatcher struct {
	want string
	seen chan struct{} // never reassigned: readers wait on it without the lock

	mu     sync.Mutex
	closed bool
	buf    strings.Builder
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() < 1<<16 {
		w.buf.Write(p)
	}
	if !w.closed && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.closed = true
	}
	return len(p), nil
}

// A reload that fails to build keeps the current version serving.
func TestAFailedReloadKeepsServing(t *testing.T) {
	t.Parallel()
	local := faultyAPI(t, 3, 0)
	api := *local.current.Load().api
	api.Functions = map[string]apitemplate.Function{"Faulty": {GoPackage: "./internal/lambdaproc/testdata/nope", TimeoutSeconds: 3, MemoryMiB: 128}}
	if _, err := local.Reload(context.Background(), &api, nil); err == nil {
		t.Fatal("a reload of a package that does not exist succeeded")
	}
	if resp := callAt(t, local.URL, "GET", "/ok", ""); resp.status != 200 || !strings.HasPrefix(string(resp.body), "pid ") {
		t.Errorf("after the failed reload: %d %s", resp.status, resp.body)
	}
}
