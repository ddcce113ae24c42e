package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/internal/dynamostandin"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/localapi"
	"github.com/auth0-http-api/cdk/internal/testsupport"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// smokeServers are the fake Auth0 and the local API that the smoke tests
// share. Each test serves its own version of the dev template through
// Reload, which builds and starts nothing when the functions are the same,
// so only the first test pays for them. The smoke tests set the
// environment, so they run one at a time. TestMain closes them.
var smokeServers struct {
	once     sync.Once
	auth0    *httptest.Server
	local    *localapi.Server
	buildDir string
	err      error
}

func startSmokeServers(api *apitemplate.API) error {
	smokeServers.once.Do(func() {
		// The dev issuer stands in for Auth0: the client-credentials grant, with
		// the machine clients of dev-users.json, speaking Auth0's wire protocol.
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			smokeServers.err = err
			return
		}
		auth0 := devissuer.New("", key)
		smokeServers.auth0 = httptest.NewServer(auth0)
		directory, err := devissuer.LoadDirectory(filepath.Join("..", "..", "dev-users.json"))
		if err != nil {
			smokeServers.err = err
			return
		}
		auth0.URL, auth0.Directory, auth0.Audiences = smokeServers.auth0.URL+"/", directory, api.Audience
		auth0.OrganizationName = true // names are taken, as a tenant with the setting on takes them
		if smokeServers.buildDir, err = os.MkdirTemp("", "apictl-smoke-"); err != nil {
			smokeServers.err = err
			return
		}
		root, _ := gobuild.ModuleRoot()
		smokeServers.local, smokeServers.err = localapi.Start(context.Background(), localapi.Config{
			Root: root, API: api, Issuer: auth0.URL, Addr: "127.0.0.1:0", MaxProcesses: 2, BuildDir: smokeServers.buildDir,
		})
	})
	return smokeServers.err
}

func closeSmokeServers() {
	if smokeServers.local != nil {
		smokeServers.local.Close()
	}
	if smokeServers.auth0 != nil {
		smokeServers.auth0.Close()
	}
	if smokeServers.buildDir != "" {
		os.RemoveAll(smokeServers.buildDir)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	closeSmokeServers()
	os.Exit(code)
}

// smokeSetup serves the dev template changed by change on the shared local
// API, with the shared fake Auth0, and sets the clients' credentials in the
// environment.
func smokeSetup(t *testing.T, change func(*apitemplate.API)) (cdkOut, apiURL, tokenURL string) {
	t.Helper()
	cdkOut = goldenCloudAssembly(t)
	api, err := apitemplate.Load(cdkOut, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := startSmokeServers(api); err != nil {
		t.Fatal(err)
	}
	served := *api
	served.Routes = slices.Clone(api.Routes)
	if change != nil {
		change(&served)
	}
	if rebuilt, err := smokeServers.local.Reload(context.Background(), &served, nil); err != nil || len(rebuilt) > 0 {
		t.Fatalf("serving the test's API: rebuilt %v, %v", rebuilt, err)
	}
	t.Setenv("AUTH0_CLIENT_ID", "dev-smoke-full")
	t.Setenv("AUTH0_CLIENT_SECRET", "dev-only-secret-full")
	t.Setenv("AUTH0_LIMITED_CLIENT_ID", "dev-smoke-limited")
	t.Setenv("AUTH0_LIMITED_CLIENT_SECRET", "dev-only-secret-limited")
	// dev-users.json's two organizations, which the full client may access.
	t.Setenv("SMOKE_ORGANIZATIONS", "org_acme000000000001,org_globex0000000002")
	return cdkOut, smokeServers.local.URL, smokeServers.auth0.URL + "/oauth/token"
}

// allPassed matches smoke's summary line when every check of stage passed,
// however many routes the table has.
func allPassed(stage string) *regexp.Regexp {
	return regexp.MustCompile(`smoke ` + stage + `: [0-9]+ checks, [0-9]+ passed, 0 failed`)
}

func smoke(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(append([]string{"smoke", "--stage", "dev", "--state-dir", t.TempDir(), "--timeout", "2s"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSmokePassesForTheRealRouteTable(t *testing.T) {
	cdkOut, apiURL, tokenURL := smokeSetup(t, nil)
	code, out, errOut := smoke(t, "--cdk-out", cdkOut, "--url", apiURL, "--token-url", tokenURL)
	if code != 0 || !allPassed("dev").MatchString(out) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	folded := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"GET /public no token 200 200 ok", "GET /.well-known/oauth-protected-resource no token, the template's metadata 200 200 ok",
		"note: the API's URL " + apiURL + " is not its resource https://dev.api.example.com", "POST /user limited token 403 403 ok", "GET /user limited token 200 200 ok", "sub dev-smoke-full@clients",
		"GET /admin malformed token 403 403 ok", "GET /admin full token, needs one of read:admin 200 200 ok", "GET /admin limited token 403 403 ok",
		"organization token", "organization org_acme000000000001",
		"GET /orgs/sample/projects full token, no organization 403 403 ok",
		"GET /orgs/org_acme000000000001/projects organization org_acme000000000001, its own 200 200 ok",
		"GET /orgs/org_globex0000000002/projects organization org_acme000000000001, on org_globex0000000002's 403 403 ok",
		"POST /orgs/org_globex0000000002/projects organization org_globex0000000002, its own 200 200 ok",
		"POST /orgs/org_acme000000000001/projects organization org_globex0000000002, on org_acme000000000001's 403 403 ok"} {
		if !strings.Contains(folded, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"dev-only-secret-full", "dev-only-secret-limited", "eyJ"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("output holds a secret or a whole token (%q):\n%s", secret, out)
		}
	}
}

// Smoke compares the served metadata with the template's, field by field,
// and names the field that differs.
func TestSmokeChecksTheResourceMetadata(t *testing.T) {
	want := &wire.ProtectedResourceMetadata{Resource: "https://api.example.com", AuthorizationServers: []string{"https://tenant.example.com/"},
		ScopesSupported: []string{"read:user"}, BearerMethodsSupported: []string{"header"}}
	route := apitemplate.Route{Key: "GET " + wire.ProtectedResourceMetadataPath, Method: "GET", Path: wire.ProtectedResourceMetadataPath, AuthorizationType: apitemplate.AuthorizationNone}
	check := planSmoke(&apitemplate.API{Routes: []apitemplate.Route{route}}, nil, nil, nil, want)[0]
	for served, problem := range map[string]string{
		`{"resource":"https://api.example.com","authorization_servers":["https://tenant.example.com/"],"scopes_supported":["read:user"],"bearer_methods_supported":["header"]}`:  "",
		`{"resource":"https://api.example.com/","authorization_servers":["https://tenant.example.com/"],"scopes_supported":["read:user"],"bearer_methods_supported":["header"]}`: `resource "https://api.example.com/", the template's is "https://api.example.com"`,
		`{"resource":"https://api.example.com","authorization_servers":["https://other.example.com/"],"scopes_supported":["read:user"],"bearer_methods_supported":["header"]}`:   "want the tokens' issuer",
		`{"resource":"https://api.example.com","authorization_servers":["https://tenant.example.com/"],"bearer_methods_supported":["header"]}`:                                   `scopes_supported [], the routes use ["read:user"]`,
		`{"resource":"https://api.example.com","authorization_servers":["https://tenant.example.com/"],"scopes_supported":["read:user"]}`:                                        "bearer_methods_supported",
		`not json`: "the metadata is not a JSON object",
		`{"resource":"https://api.example.com","authorization_servers":["https://tenant.example.com/"],"scopes_supported":["read:user"],"bearer_methods_supported":["header"],"dpop_bound_access_tokens_required":true}`: "dpop_bound_access_tokens_required true",
	} {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, served) }))
		status, got, err := check.run(server.Client(), server.URL)
		server.Close()
		if err != nil || status != 200 || (problem == "") != (got == "") || !strings.Contains(got, problem) {
			t.Errorf("served %s: %d %q %v, want %q", served, status, got, err, problem)
		}
	}
}

func TestSmokeFailsWhenARouteIsMadePublic(t *testing.T) {
	cdkOut, apiURL, tokenURL := smokeSetup(t, func(api *apitemplate.API) {
		for i := range api.Routes {
			if api.Routes[i].Key == "GET /user" {
				api.Routes[i].AuthorizationType, api.Routes[i].Scopes = "NONE", nil
			}
		}
	})
	code, out, _ := smoke(t, "--cdk-out", cdkOut, "--url", apiURL, "--token-url", tokenURL)
	if failures := failedRows(out); code != 1 || len(failures) == 0 || !allStartWith(failures, "GET /user ") {
		t.Errorf("exit %d, want failures on GET /user only:\n%s", code, out)
	}
}

func failedRows(out string) []string {
	var failures []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "FAIL") {
			failures = append(failures, line)
		}
	}
	return failures
}

func allStartWith(lines []string, prefix string) bool {
	for _, line := range lines {
		if !strings.HasPrefix(line, prefix) {
			return false
		}
	}
	return true
}

func TestSmokeFailsWhenAScopeRequirementIsDropped(t *testing.T) {
	cdkOut, apiURL, tokenURL := smokeSetup(t, func(api *apitemplate.API) {
		for i := range api.Routes {
			if api.Routes[i].Key == "POST /user" {
				api.Routes[i].Scopes = nil
			}
		}
	})
	code, out, _ := smoke(t, "--cdk-out", cdkOut, "--url", apiURL, "--token-url", tokenURL)
	if failures := failedRows(out); code != 1 || len(failures) == 0 || !allStartWith(failures, "POST /user ") {
		t.Errorf("exit %d, want failures on POST /user only:\n%s", code, out)
	}
}

func closedURL(t *testing.T) string {
	t.Helper()
	return "http://" + testsupport.FreeAddress(t)
}

func TestSmokeErrorsAreClear(t *testing.T) {
	cdkOut, apiURL, tokenURL := smokeSetup(t, nil)
	outputs := filepath.Join(t.TempDir(), "cdk-outputs.json")
	os.WriteFile(outputs, []byte(`{"Prod-Api":{"ApiUrl":"https://x.execute-api.eu-west-1.amazonaws.com/"}}`), 0o644)
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		wants string
	}{
		{"wrong secret", map[string]string{"AUTH0_CLIENT_SECRET": "wrong"}, []string{"--url", apiURL, "--token-url", tokenURL},
			"refused the client credentials (401): access_denied: Unauthorized"},
		{"Auth0 unreachable", nil, []string{"--url", apiURL, "--token-url", closedURL(t) + "/oauth/token"}, "cannot reach the token endpoint"},
		{"API unreachable", nil, []string{"--url", closedURL(t), "--token-url", tokenURL}, "cannot reach the API at"},
		{"no outputs file", nil, []string{"--outputs", filepath.Join(t.TempDir(), "missing.json"), "--token-url", tokenURL},
			"`, or pass --url"},
		{"no entry for the stage", nil, []string{"--outputs", outputs, "--token-url", tokenURL}, "has no ApiUrl for stack Dev-Api (stage dev)"},
		{"no credentials", map[string]string{"AUTH0_CLIENT_ID": "", "AUTH0_CLIENT_SECRET": ""}, []string{"--url", apiURL, "--token-url", tokenURL},
			"no token: set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET"},
		{"organizations by name", nil, []string{"--url", apiURL, "--token-url", tokenURL, "--organizations", "acme,globex"},
			`organization acme: the token's org_id is "org_acme000000000001": give organization IDs (org_…), not names`},
		{"one organization", nil, []string{"--url", apiURL, "--token-url", tokenURL, "--organizations", "org_acme000000000001"},
			`give two different organization IDs, comma-separated`},
		{"an organization the client may not reach", nil, []string{"--url", apiURL, "--token-url", tokenURL, "--organizations", "org_acme000000000001,org_nope000000000003"},
			`organization org_nope000000000003: AUTH0_CLIENT_ID: the token endpoint`},
		{"own issuer, Auth0 credentials set", map[string]string{"AUTH0_CLIENT_ID": "from-another-stage"}, []string{"--stage", "ci", "--url", apiURL},
			"stage ci is its own token issuer: smoke mints its tokens through KMS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for name, value := range c.env {
				t.Setenv(name, value)
			}
			code, out, errOut := smoke(t, append([]string{"--cdk-out", cdkOut}, c.args...)...)
			if code != 1 || !strings.Contains(errOut, c.wants) {
				t.Errorf("exit %d, want 1 and %q\nstdout: %s\nstderr: %s", code, c.wants, out, errOut)
			}
		})
	}
}

// --timeout 0 would mean no limit to the HTTP client, and an expired one to KMS.
func TestSmokeRefusesANonPositiveTimeout(t *testing.T) {
	code, _, errOut := smoke(t, "--timeout", "0")
	if code != 2 || !strings.Contains(errOut, "--timeout must be positive") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestSmokeAcceptsGivenTokens(t *testing.T) {
	cdkOut, apiURL, tokenURL := smokeSetup(t, nil)
	full, err := clientCredentials(http.DefaultClient, tokenURL, "dev-smoke-full", "dev-only-secret-full", "https://dev.api.example.com", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AUTH0_CLIENT_ID", "")
	t.Setenv("AUTH0_CLIENT_SECRET", "")
	t.Setenv("SMOKE_ORGANIZATIONS", "")
	t.Setenv("AUTH0_LIMITED_CLIENT_ID", "")
	t.Setenv("AUTH0_LIMITED_CLIENT_SECRET", "")
	code, out, errOut := smoke(t, "--cdk-out", cdkOut, "--url", apiURL, "--token", full)
	if code != 0 || !strings.Contains(out, "no limited token: the 403 checks are skipped") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// The client secret is posted to the token endpoint and nowhere else: a
// redirect, even a 307 that would re-post the body, is not followed.
func TestSmokeNeverFollowsARedirectWithTheSecret(t *testing.T) {
	cdkOut, apiURL, _ := smokeSetup(t, nil)
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body, _ := io.ReadAll(r.Body); strings.Contains(string(body), "dev-only-secret-full") {
			leaked.Add(1)
		}
	}))
	defer elsewhere.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)+"/oauth/token", http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	code, out, errOut := smoke(t, "--cdk-out", cdkOut, "--url", apiURL, "--token-url", redirecting.URL+"/oauth/token")
	if code != 1 || !strings.Contains(errOut, "redirect") {
		t.Errorf("exit %d, want 1 and a message about the redirect\n%s\n%s", code, out, errOut)
	}
	if leaked.Load() != 0 {
		t.Errorf("the client secret reached the redirect's target %d time(s)", leaked.Load())
	}
}

func TestSmokeRefusesAPlainHTTPTokenURLOffLoopback(t *testing.T) {
	cdkOut, apiURL, _ := smokeSetup(t, nil)
	code, _, errOut := smoke(t, "--cdk-out", cdkOut, "--url", apiURL, "--token-url", "http://tenant.example.com/oauth/token")
	if code != 1 || !strings.Contains(errOut, "must be https") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

// Text from the network is printed without control characters, so a hostile
// endpoint cannot drive the terminal.
func TestSmokeStripsControlCharactersFromRemoteText(t *testing.T) {
	cdkOut, apiURL, _ := smokeSetup(t, nil)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":"access_denied\u001b[2J","error_description":"\u001b]0;owned\u0007bad\r\nclient"}`))
	}))
	defer hostile.Close()
	code, out, errOut := smoke(t, "--cdk-out", cdkOut, "--url", apiURL, "--token-url", hostile.URL+"/oauth/token")
	if code != 1 || !strings.Contains(errOut, "access_denied") || !strings.Contains(errOut, "bad") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if strings.ContainsAny(out+errOut[:len(errOut)-1], "\x1b\x07\r") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("remote control characters reached the output: %q", errOut)
	}
}

// A stage that is its own issuer is smoke-tested without any Auth0 secret:
// smoke mints its two tokens through KMS, here the stand-in, with the
// issuer, key and lifetime of the stack's outputs.
func TestSmokeMintsItsOwnTokensForASelfHostedStage(t *testing.T) {
	cdkOut := goldenCloudAssembly(t)
	api, err := apitemplate.Load(cdkOut, "ci")
	if err != nil {
		t.Fatal(err)
	}
	stand := testsupport.StartKMS(t)
	key := testsupport.NewKMSKey(t, stand, "generation-1")
	port := testsupport.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := stand.Env()
	env["KEY_ARNS"] = `["` + key + `"]`
	root, _ := gobuild.ModuleRoot()
	local, err := localapi.Start(context.Background(), localapi.Config{
		Root: root, API: api, Issuer: base + "/", Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxProcesses: 2,
		BuildDir: filepath.Join(t.TempDir(), "build"), FunctionEnvironment: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(local.Close)
	outputs := filepath.Join(t.TempDir(), "cdk-outputs.json")
	os.WriteFile(outputs, []byte(`{"Ci-Api":{"ApiUrl":"`+base+`/","Issuer":"`+base+`/","IssuerKeyArn":"`+key+`","TokenLifetimeSeconds":"900"}}`), 0o644)
	for name, value := range env {
		t.Setenv(name, value)
	}
	for _, name := range []string{"AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_LIMITED_CLIENT_ID", "AUTH0_LIMITED_CLIENT_SECRET"} {
		t.Setenv(name, "")
	}
	var out, errOut strings.Builder
	code := run([]string{"smoke", "--stage", "ci", "--cdk-out", cdkOut, "--state-dir", t.TempDir(), "--outputs", outputs, "--timeout", "5s"}, &out, &errOut)
	if code != 0 || !allPassed("ci").MatchString(out.String()) {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if folded := strings.Join(strings.Fields(out.String()), " "); !strings.Contains(folded, "GET /orgs/org_smokeB/projects organization org_smokeA, on org_smokeB's 403 403 ok") ||
		!strings.Contains(folded, "POST /orgs/org_smokeB/projects organization org_smokeB, its own 200 200 ok") {
		t.Errorf("the two minted organizations were not each checked on their own and the other's paths:\n%s", out.String())
	}

	var refused strings.Builder
	if code := run([]string{"token", "--kms", "--stage", "ci", "--ttl", "24h", "--cdk-out", cdkOut, "--outputs", outputs}, &out, &refused); code != 2 ||
		!strings.Contains(refused.String(), "--kms takes the audience and the lifetime from the stage's outputs; drop --ttl") {
		t.Errorf("apictl token --kms --ttl: exit %d, %s", code, refused.String())
	}

	stand.Deny("Sign")
	code = run([]string{"token", "--kms", "--stage", "ci", "--cdk-out", cdkOut, "--state-dir", t.TempDir(), "--outputs", outputs}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "kms:Sign was denied") {
		t.Errorf("apictl token --kms with kms:Sign denied: exit %d, %s", code, errOut.String())
	}
}

// dpopVersion is the dev stage as it is with "dpop": "required": every
// private route on the permissions authorizer, which checks its rule and the
// proof, the DPoP header among its identity sources, and nothing cached.
func dpopVersion(t *testing.T, api *apitemplate.API, requireDPoP bool) *apitemplate.API {
	t.Helper()
	served := *api
	served.Routes = slices.Clone(api.Routes)
	served.Functions = maps.Clone(api.Functions)
	served.LambdaAuthorizers = maps.Clone(api.LambdaAuthorizers)
	var id string
	for authorizerID := range api.LambdaAuthorizers {
		id = authorizerID
	}
	authorizer := served.LambdaAuthorizers[id]
	authorizer.IdentitySource = append(slices.Clone(authorizer.IdentitySource), "$request.header.DPoP")
	authorizer.ResultTTLSeconds = 0
	served.LambdaAuthorizers[id] = authorizer
	rules := map[string]apitemplate.RouteRule{}
	for i, route := range served.Routes {
		if route.Public() {
			continue
		}
		route.AuthorizationType, route.Authorizer = apitemplate.AuthorizationCustom, id
		rules[route.Key] = route.Rule()
		served.Routes[i] = route
	}
	encoded, _ := json.Marshal(rules)
	fn := served.Functions[authorizer.Function]
	fn.Environment = maps.Clone(fn.Environment)
	fn.Environment[apitemplate.RouteRulesVariable] = string(encoded)
	if requireDPoP {
		fn.Environment[apitemplate.DPoPVariable], fn.Environment[apitemplate.APISchemeVariable] = apitemplate.DPoPRequired, "https"
	}
	served.Functions[authorizer.Function] = fn
	return &served
}

// Smoke's checks on a stage that requires DPoP, against the local API with
// the real authorizer and the DynamoDB stand-in: every token bound to a key
// of the run, got with a proof, every call with a fresh proof, and what DPoP
// refuses: the same proof again, the bound token as Bearer, no proof. Served
// without DPoP, the same checks fail.
func TestSmokeOnAStageThatRequiresDPoP(t *testing.T) {
	cdkOut, _, tokenURL := smokeSetup(t, nil)
	golden, err := apitemplate.Load(cdkOut, "dev")
	if err != nil {
		t.Fatal(err)
	}
	stand := dynamostandin.New()
	standServer := httptest.NewServer(stand)
	t.Cleanup(standServer.Close)
	stand.URL = standServer.URL
	stand.AddTable("replay", "id")
	env := stand.Env()
	env[apitemplate.ReplayTableVariable] = "replay"
	root, _ := gobuild.ModuleRoot()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	token := func(idVar, secretVar, organization string) *smokeToken {
		tok, err := smokeTokenFrom(http.DefaultClient, "", idVar, secretVar, tokenURL, golden.Audience[0], organization, key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	full, limited := token("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", ""), token("AUTH0_LIMITED_CLIENT_ID", "AUTH0_LIMITED_CLIENT_SECRET", "")
	orgs := []*smokeToken{token("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "org_acme000000000001"), token("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "org_globex0000000002")}
	if jkt, _ := dpop.Thumbprint(&key.PublicKey); !strings.Contains(full.raw, ".") || full.key != key || jkt == "" {
		t.Fatal("the token is not bound to the run's key")
	}
	run := func(requireDPoP bool) map[string]string {
		local, err := localapi.Start(context.Background(), localapi.Config{
			Root: root, API: dpopVersion(t, golden, requireDPoP), Issuer: smokeServers.auth0.URL + "/", Addr: "127.0.0.1:0", MaxProcesses: 2,
			BuildDir: t.TempDir(), FunctionEnvironment: env,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer local.Close()
		problems := map[string]string{}
		for _, check := range planSmoke(dpopVersion(t, golden, true), full, limited, orgs, nil) {
			got, problem, err := check.run(http.DefaultClient, local.URL)
			if err != nil {
				t.Fatal(err)
			}
			if problem != "" || got != check.want {
				problems[check.route.Key+": "+check.name] = fmt.Sprintf("%d, %s", got, problem)
			}
		}
		return problems
	}
	if problems := run(true); len(problems) > 0 {
		t.Errorf("checks failed on a stage that requires DPoP: %v", problems)
	}
	names := map[string]bool{}
	for _, check := range planSmoke(dpopVersion(t, golden, true), full, limited, orgs, nil) {
		names[check.name] = true
	}
	for _, want := range []string{"DPoP, the same proof again", "DPoP, the bound token as Bearer", "DPoP, no proof"} {
		if !names[want] {
			t.Errorf("no check %q", want)
		}
	}
	if stand.Puts() == 0 {
		t.Error("no proof was recorded")
	}
	if problems := run(false); problems["GET /admin: DPoP, the bound token as Bearer"] == "" || problems["GET /admin: DPoP, the same proof again"] == "" {
		t.Errorf("served without DPoP, the DPoP checks still pass: %v", problems)
	}
}
