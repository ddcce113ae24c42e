package localapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
)

// The suite shares one synthesized template, one test issuer and one local API:
// starting them is the slow part.
var suite struct {
	root     string
	tmp      string
	api      *apitemplate.API
	key      *rsa.PrivateKey
	issuer   *devissuer.Issuer
	jwksHits atomic.Int64
	local    *Server
	// functions count the invocations that reach each function, by logical ID.
	functions map[string]*countingInvoker
	// output is the functions' output, which a test may watch.
	output outputTap
}

// outputTap hands what the functions write to the watchers of the moment.
type outputTap struct {
	mu       sync.Mutex
	watchers []*lineWatcher
}

func (o *outputTap) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, w := range o.watchers {
		w.Write(p)
	}
	return len(p), nil
}

// watch returns a watcher of the functions' output from now on, until the
// test ends.
func (o *outputTap) watch(t *testing.T, want string) *lineWatcher {
	w := &lineWatcher{want: want, seen: make(chan struct{})}
	o.mu.Lock()
	o.watchers = append(o.watchers, w)
	o.mu.Unlock()
	t.Cleanup(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.watchers = slices.DeleteFunc(o.watchers, func(other *lineWatcher) bool { return other == w })
	})
	return w
}

// countingInvoker counts the invocations that reach a function.
type countingInvoker struct {
	Invoker
	invocations atomic.Int64
}

func (c *countingInvoker) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	c.invocations.Add(1)
	return c.Invoker.Invoke(ctx, event)
}

func (c *countingInvoker) Invocations() int64 { return c.invocations.Load() }

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local API test setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	var err error
	if suite.root, err = gobuild.ModuleRoot(); err != nil {
		return 0, err
	}
	if suite.tmp, err = os.MkdirTemp("", "localapi-test-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(suite.tmp)

	if suite.api, err = goldenAPI("dev"); err != nil {
		return 0, err
	}

	if suite.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return 0, err
	}
	issuerServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		suite.jwksHits.Add(1)
		suite.issuer.ServeHTTP(w, r)
	}))
	defer issuerServer.Close()
	suite.issuer = devissuer.New(issuerServer.URL+"/", suite.key)

	suite.local, err = Start(context.Background(), Config{
		Root: suite.root, API: suite.api, Issuer: suite.issuer.URL, Addr: "127.0.0.1:0",
		MaxProcesses: 8, BuildDir: filepath.Join(suite.tmp, "build"),
		// Tests with unknown kids must not wait a minute for a refetch.
		RefetchGap: time.Hour, FunctionOutput: &suite.output,
	})
	if err != nil {
		return 0, err
	}
	defer suite.local.Close()
	suite.functions = map[string]*countingInvoker{}
	for id, function := range suite.local.handler().functions {
		suite.functions[id] = &countingInvoker{Invoker: function}
		suite.local.handler().functions[id] = suite.functions[id]
	}
	return m.Run(), nil
}

// goldenAPI reads a stage's API from its snapshot in testdata/, which the root
// package's TestSnapshots keeps equal to what the stage synthesizes to: the
// suite needs the templates, not a synthesis of its own.
func goldenAPI(stage string) (*apitemplate.API, error) {
	template, err := os.ReadFile(filepath.Join(suite.root, "testdata", stage+".template.json"))
	if err != nil {
		return nil, err
	}
	return apitemplate.Parse(template)
}

// token mints an access token for the stage's audience with the given scopes.
func token(t testing.TB, scopes ...string) string {
	t.Helper()
	signed, err := suite.issuer.AccessToken(devissuer.TokenRequest{Subject: "e2e-user", Audience: suite.api.Audience[0], Scopes: scopes, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// signed signs claims with the suite's issuer key, starting from a valid access token's claims.
func signed(t testing.TB, change func(jwt.MapClaims)) string {
	t.Helper()
	return devTarget(t).signed(t, change)
}

// handlerFor serves api with the suite's functions and a verifier of
// issuerURL's tokens for the stage's audiences.
func handlerFor(t testing.TB, api *apitemplate.API, issuerURL string) *Handler {
	t.Helper()
	verifier := &jwtauth.Verifier{Issuer: issuerURL, Audiences: suite.api.Audience, Keys: &jwtauth.RemoteKeySet{Issuer: issuerURL}}
	handler, err := NewHandler(api, verifier, suite.local.handler().functions, nil)
	if err != nil {
		t.Fatal(err)
	}
	return handler
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request to the suite's local API.
func call(t testing.TB, method, path, authorization string) response {
	t.Helper()
	return callAt(t, suite.local.URL, method, path, authorization)
}

// callAt sends method and path to base, with an Authorization header unless
// authorization is empty.
func callAt(t testing.TB, base, method, path, authorization string) response {
	t.Helper()
	return callWith(t, base, method, path, map[string]string{"Authorization": authorization})
}

// callWith calls with the headers given, leaving out those that are "".
func callWith(t testing.TB, base, method, path string, headers map[string]string) response {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	for name, value := range headers {
		if value != "" {
			req.Header.Set(name, value)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, body}
}

func functionID(t testing.TB, pkg string) string {
	t.Helper()
	for id, fn := range suite.api.Functions {
		if fn.GoPackage == pkg {
			return id
		}
	}
	t.Fatalf("no function for %s in the template", pkg)
	return ""
}

// The organizations of the tests: a route bound to the caller's organization
// is called on e2eOrganization's path, by its members and by others.
var (
	e2eOrganization   = &devissuer.Organization{ID: "org_e2e0000000000001", Name: "e2e"}
	otherOrganization = &devissuer.Organization{ID: "org_e2e0000000000002", Name: "other"}
)

// granting mints a token that grants what a route may require: scopes for a
// JWT route, permissions for a route behind the permissions authorizer; for
// a route bound to the caller's organization, it is issued for
// e2eOrganization.
func granting(t testing.TB, route apitemplate.Route, granted ...string) string {
	t.Helper()
	organization := e2eOrganization
	if route.Organization == "" {
		organization = nil
	}
	return grantingIn(t, route, organization, granted...)
}

func grantingIn(t testing.TB, route apitemplate.Route, organization *devissuer.Organization, granted ...string) string {
	t.Helper()
	request := devissuer.TokenRequest{Subject: "e2e-user", Audience: suite.api.Audience[0], Organization: organization, TTL: time.Hour}
	if len(route.Permissions) > 0 {
		request.Permissions = granted
	} else {
		request.Scopes = granted
	}
	signed, err := suite.issuer.AccessToken(request)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// refusedStatus is what a route answers a token its authorizer refuses: the
// JWT authorizer's 401, or 403 from a Lambda authorizer's isAuthorized false.
func refusedStatus(route apitemplate.Route) int {
	if route.AuthorizationType == apitemplate.AuthorizationCustom {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

func TestAccessMatrixEndToEnd(t *testing.T) {
	for _, route := range suite.api.Routes {
		t.Run(route.Key, func(t *testing.T) {
			public := route.Public()
			path := route.Path
			if route.Organization != "" {
				path = route.PathFor(e2eOrganization.ID)
				for name, token := range map[string]string{
					"a member of another organization": grantingIn(t, route, otherOrganization, route.Requires()...),
					"a token of no organization":       grantingIn(t, route, nil, route.Requires()...),
				} {
					if resp := call(t, route.Method, path, "Bearer "+token); resp.status != 403 || string(resp.body) != `{"message":"Forbidden"}` {
						t.Errorf("%s: %d %s, want 403", name, resp.status, resp.body)
					}
				}
			}
			noToken := call(t, route.Method, path, "")
			if want := map[bool]int{true: 200, false: 401}[public]; noToken.status != want {
				t.Errorf("no token: %d, want %d (%s)", noToken.status, want, noToken.body)
			}
			if route.AuthorizationType == apitemplate.AuthorizationJWT && (noToken.header.Get("www-authenticate") != "Bearer" || string(noToken.body) != `{"message":"Unauthorized"}`) {
				t.Errorf("no token: www-authenticate %q body %s", noToken.header.Get("www-authenticate"), noToken.body)
			}

			noGrant := call(t, route.Method, path, "Bearer "+granting(t, route))
			want := 200
			if len(route.Requires()) > 0 {
				want = 403
			}
			if noGrant.status != want {
				t.Errorf("valid token that grants nothing: %d, want %d (%s)", noGrant.status, want, noGrant.body)
			}
			if want == 403 && string(noGrant.body) != `{"message":"Forbidden"}` {
				t.Errorf("403 body %s", noGrant.body)
			}

			for _, required := range route.Requires() {
				resp := call(t, route.Method, path, "Bearer "+granting(t, route, required))
				if resp.status != 200 {
					t.Fatalf("token with %s: %d (%s)", required, resp.status, resp.body)
				}
				var echo struct {
					RouteKey     string
					Sub          string
					Claims       map[string]string
					Decoded      map[string]any
					Scopes       []string
					Permissions  []string
					Organization string `json:"org_id"`
				}
				if err := json.Unmarshal(resp.body, &echo); err != nil {
					t.Fatal(err)
				}
				if echo.RouteKey != route.Key || echo.Sub != "e2e-user" {
					t.Errorf("echo: %s", resp.body)
				}
				if route.AuthorizationType == apitemplate.AuthorizationCustom {
					if !slices.Equal(echo.Permissions, []string{required}) {
						t.Errorf("permissions not passed on by the authorizer: %s", resp.body)
					}
					if route.Organization != "" && echo.Organization != e2eOrganization.ID {
						t.Errorf("org_id not passed on by the authorizer: %s", resp.body)
					}
				} else if !slices.Equal(echo.Scopes, []string{required}) || echo.Claims["aud"] != suite.api.Audience[0] ||
					echo.Claims["iss"] != suite.issuer.URL || !strings.HasSuffix(fmt.Sprint(echo.Decoded["exp"]), "Z") {
					t.Errorf("claims not passed as API Gateway does: %s", resp.body)
				}
				if strings.Contains(string(resp.body), "eyJ") {
					t.Error("the echo holds a token")
				}
			}

			for name, bad := range map[string]string{
				"expired":        signed(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
				"wrong audience": signed(t, func(c jwt.MapClaims) { c["aud"] = "https://other.example.com" }),
				"wrong issuer":   signed(t, func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" }),
			} {
				want := refusedStatus(route)
				if public {
					want = 200 // a public route has no authorizer: the header is not read
				}
				if resp := call(t, route.Method, path, "Bearer "+bad); resp.status != want {
					t.Errorf("%s token: %d, want %d", name, resp.status, want)
				}
			}
		})
	}
}

func TestPrivateRouteWithoutScopesGetsNullScopes(t *testing.T) {
	resp := call(t, "GET", "/private", "Bearer "+token(t, "read:user"))
	if resp.status != 200 || !bytes.Contains(resp.body, []byte(`"scopes":null`)) {
		t.Errorf("%d %s", resp.status, resp.body)
	}
}

func TestUnknownRouteIs404(t *testing.T) {
	for _, request := range [][2]string{{"GET", "/nope"}, {"DELETE", "/user"}, {"GET", "/user/"}} {
		resp := call(t, request[0], request[1], "Bearer "+token(t, "read:user"))
		if resp.status != 404 || string(resp.body) != `{"message":"Not Found"}` {
			t.Errorf("%v: %d %s", request, resp.status, resp.body)
		}
	}
}

func TestExpiredTokenSaysSoInWWWAuthenticate(t *testing.T) {
	resp := call(t, "GET", "/user", "Bearer "+signed(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))
	want := `Bearer scope="read:user" error="invalid_token" error_description="the token has expired"`
	if got := resp.header.Get("www-authenticate"); got != want {
		t.Errorf("www-authenticate %q, want %q", got, want)
	}
}

func TestTwoHundredConcurrentRequests(t *testing.T) {
	private := "Bearer " + token(t, "read:user")
	var wg sync.WaitGroup
	failures := make(chan string, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, auth, want := "/public", "", 200
			switch i % 3 {
			case 1:
				path, auth = "/user", private
			case 2:
				path, want = "/user", 401
			}
			req, _ := http.NewRequest("GET", suite.local.URL+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				failures <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || (want == 200 && !bytes.Contains(body, []byte(`"routeKey":"GET `+path+`"`))) {
				failures <- fmt.Sprintf("request %d %s: %d %s", i, path, resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(failures)
	for failure := range failures {
		t.Error(failure)
	}
}

func TestCORSFollowsTheTemplate(t *testing.T) {
	allowed := suite.api.Cors.AllowOrigins[0]
	echo := suite.functions[functionID(t, "./functions/claimsecho")]
	before := echo.Invocations()
	preflight, _ := http.NewRequest("OPTIONS", suite.local.URL+"/user", nil)
	preflight.Header.Set("Origin", allowed)
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	preflight.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(preflight)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("access-control-allow-origin") != allowed ||
		resp.Header.Get("access-control-allow-headers") != strings.Join(suite.api.Cors.AllowHeaders, ",") ||
		resp.Header.Get("access-control-max-age") != fmt.Sprint(suite.api.Cors.MaxAge) {
		t.Errorf("preflight from an allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	if echo.Invocations() != before {
		t.Error("a preflight reached the function")
	}

	for origin, want := range map[string]string{allowed: allowed, "https://evil.example.com": ""} {
		req, _ := http.NewRequest("GET", suite.local.URL+"/public", nil)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("access-control-allow-origin"); resp.StatusCode != 200 || got != want {
			t.Errorf("GET from %s: %d, allow-origin %q, want %q", origin, resp.StatusCode, got, want)
		}
	}
}

func TestIdentitySourceNamesTheTokenHeader(t *testing.T) {
	api := *suite.api
	api.IdentitySource = []string{"$request.header.X-Access-Token"}
	server := httptest.NewServer(handlerFor(t, &api, suite.issuer.URL))
	defer server.Close()
	for header, want := range map[string]int{"X-Access-Token": 200, "Authorization": 401} {
		req, _ := http.NewRequest("GET", server.URL+"/private", nil)
		req.Header.Set(header, "Bearer "+token(t))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token in %s: %d, want %d", header, resp.StatusCode, want)
		}
	}
}
