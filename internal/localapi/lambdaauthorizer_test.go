package localapi

import (
	"context"
	"errors"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
)

// adminRoute is the suite's route behind the permissions authorizer.
func adminRoute(t *testing.T) apitemplate.Route {
	t.Helper()
	i := slices.IndexFunc(suite.api.Routes, func(r apitemplate.Route) bool { return r.AuthorizationType == apitemplate.AuthorizationCustom })
	if i < 0 {
		t.Fatal("the template has no route behind a Lambda authorizer")
	}
	return suite.api.Routes[i]
}

// withDeleteAdmin is the suite's API with one more route on the permissions
// authorizer, DELETE /admin, which the authorizer's function does not know,
// and the authorizer's identity sources replaced by sources.
func withDeleteAdmin(t *testing.T, sources []string) *apitemplate.API {
	t.Helper()
	admin := adminRoute(t)
	api := *suite.api
	api.LambdaAuthorizers = maps.Clone(suite.api.LambdaAuthorizers)
	authorizer := api.LambdaAuthorizers[admin.Authorizer]
	authorizer.IdentitySource = sources
	api.LambdaAuthorizers[admin.Authorizer] = authorizer
	deleteAdmin := admin
	deleteAdmin.Key, deleteAdmin.Method = "DELETE /admin", "DELETE"
	api.Routes = append(slices.Clone(suite.api.Routes), deleteAdmin)
	return &api
}

// Answers are cached by the identity sources' values for the TTL: with the
// route key among them, an answer for one route is never reused on another.
// Without it, this test shows the leak that the route key prevents.
func TestLambdaAuthorizerCachesByIdentitySources(t *testing.T) {
	admin := adminRoute(t)
	authorizerFunction := suite.functions[suite.api.LambdaAuthorizers[admin.Authorizer].Function]
	if suite.api.LambdaAuthorizers[admin.Authorizer].ResultTTLSeconds == 0 {
		t.Fatal("the shipped authorizer caches nothing")
	}
	bearer := "Bearer " + granting(t, admin, "read:admin")

	server := httptest.NewServer(handlerFor(t, withDeleteAdmin(t, []string{"$request.header.Authorization", "$context.routeKey"}), suite.issuer.URL))
	defer server.Close()
	before := authorizerFunction.Invocations()
	if callAt(t, server.URL, "GET", "/admin", bearer).status != 200 || callAt(t, server.URL, "GET", "/admin", bearer).status != 200 {
		t.Fatal("GET /admin with read:admin was refused")
	}
	if n := authorizerFunction.Invocations() - before; n != 1 {
		t.Errorf("two identical requests invoked the authorizer %d times, want 1 (cached)", n)
	}
	if status := callAt(t, server.URL, "DELETE", "/admin", bearer).status; status != 403 {
		t.Errorf("DELETE /admin, same token: %d, want 403 from the authorizer, not the answer cached for GET", status)
	}

	leaky := httptest.NewServer(handlerFor(t, withDeleteAdmin(t, []string{"$request.header.Authorization"}), suite.issuer.URL))
	defer leaky.Close()
	callAt(t, leaky.URL, "GET", "/admin", bearer)
	if status := callAt(t, leaky.URL, "DELETE", "/admin", bearer).status; status != 200 {
		t.Errorf("without the route key, DELETE /admin got %d: the emulator does not cache by identity sources as AWS does", status)
	}
}

// fakeAuthorizer answers every invocation with the same payload or error.
type fakeAuthorizer struct {
	payload string
	err     error
	calls   atomic.Int64
}

func (f *fakeAuthorizer) Invoke(context.Context, []byte) ([]byte, error) {
	f.calls.Add(1)
	return []byte(f.payload), f.err
}

// Each answer of a Lambda authorizer gets API Gateway's status, and what
// the authorizer allows reaches the function as requestContext.authorizer.lambda.
func TestLambdaAuthorizerAnswers(t *testing.T) {
	admin := adminRoute(t)
	echo := suite.functions[functionID(t, "./functions/claimsecho")]
	for _, c := range []struct {
		name, payload string
		err           error
		header        string
		want          int
		invoked       int64 // the authorizer
	}{
		{"no token", `{"isAuthorized":true}`, nil, "", 401, 0},
		{"allowed", `{"isAuthorized":true,"context":{"sub":"fake","permissions":["read:admin"],"scope":"s"}}`, nil, "Bearer x", 200, 1},
		{"denied", `{"isAuthorized":false}`, nil, "Bearer x", 403, 1},
		{"isAuthorized not a boolean", `{"isAuthorized":"true"}`, nil, "Bearer x", 500, 1},
		{"no isAuthorized", `{"context":{}}`, nil, "Bearer x", 500, 1},
		{"not JSON", `allow`, nil, "Bearer x", 500, 1},
		{"an IAM policy", `{"principalId":"x","policyDocument":{}}`, nil, "Bearer x", 500, 1},
		{"the function failed", ``, errors.New("crashed"), "Bearer x", 500, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeAuthorizer{payload: c.payload, err: c.err}
			functions := maps.Clone(suite.local.handler().functions)
			functions[suite.api.LambdaAuthorizers[admin.Authorizer].Function] = fake
			handler, err := NewHandler(suite.api, nil, functions, nil)
			if err != nil {
				t.Fatal(err)
			}
			server := httptest.NewServer(handler)
			defer server.Close()
			before := echo.Invocations()
			resp := callAt(t, server.URL, "GET", "/admin", c.header)
			if resp.status != c.want || fake.calls.Load() != c.invoked {
				t.Errorf("%d %s, authorizer invoked %d times; want %d and %d", resp.status, resp.body, fake.calls.Load(), c.want, c.invoked)
			}
			if reached := echo.Invocations() - before; (c.want == 200) != (reached == 1) {
				t.Errorf("the route's function was invoked %d times", reached)
			}
			if c.want == 200 && !strings.Contains(string(resp.body), `"sub":"fake","permissions":["read:admin"],"scope":"s"`) {
				t.Errorf("the authorizer's context did not reach the function: %s", resp.body)
			}
		})
	}
}

// With its issuer's keys unreachable, slow or too large, the permissions
// authorizer denies (fail closed), and public routes still serve.
func testPermissionsAuthorizerFailsClosed(t *testing.T) {
	subtests := map[string]func(*testing.T){}
	for name, issuer := range failingIssuers(t) {
		subtests[name] = func(t *testing.T) {
			local, err := Start(context.Background(), Config{
				Root: suite.root, API: suite.api, Issuer: issuer, Addr: "127.0.0.1:0", MaxProcesses: 1,
				BuildDir: t.TempDir(),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer local.Close()
			tok, _ := devissuer.New(issuer, suite.key).AccessToken(devissuer.TokenRequest{Subject: "s", Audience: suite.api.Audience[0], Permissions: []string{"read:admin"}, TTL: time.Hour})
			if status := callAt(t, local.URL, "GET", "/admin", "Bearer "+tok).status; status != 403 {
				t.Errorf("permission route: %d, want 403", status)
			}
			if status := callAt(t, local.URL, "GET", "/public", "").status; status != 200 {
				t.Errorf("public route: %d while the key set is %s", status, name)
			}
		}
	}
	sideBySide(t, subtests)
}

// An answer for one organization's path is never served on another's: the
// shipped identity sources hold the request path. Without it, this test shows
// the leak: a token allowed on its own organization's path would be waved
// through another organization's, from the cache, for the TTL.
func TestAnOrganizationsAnswerIsNeverCachedForAnother(t *testing.T) {
	i := slices.IndexFunc(suite.api.Routes, func(r apitemplate.Route) bool { return r.Organization != "" && len(r.Requires()) == 0 })
	if i < 0 {
		t.Fatal("the template has no route bound to the caller's organization that needs only membership")
	}
	route := suite.api.Routes[i]
	authorizer := suite.api.LambdaAuthorizers[route.Authorizer]
	if authorizer.ResultTTLSeconds == 0 || !slices.Contains(authorizer.IdentitySource, "$context.path") {
		t.Fatalf("the shipped authorizer %+v does not cache by path", authorizer)
	}
	bearer := "Bearer " + granting(t, route)
	own, other := route.PathFor(e2eOrganization.ID), route.PathFor(otherOrganization.ID)

	server := httptest.NewServer(handlerFor(t, suite.api, suite.issuer.URL))
	defer server.Close()
	if status := callAt(t, server.URL, route.Method, own, bearer).status; status != 200 {
		t.Fatalf("%s %s, its own organization: %d", route.Method, own, status)
	}
	why := suite.output.watch(t, `"reason":"the path's {orgId} is not the token's org_id`)
	if status := callAt(t, server.URL, route.Method, other, bearer).status; status != 403 {
		t.Errorf("%s %s, another organization's path within the TTL: %d, want 403", route.Method, other, status)
	}
	// The local API prints the authorizer's one line on why, as CloudWatch
	// would hold it, without the token or the path.
	select {
	case <-why.seen:
	case <-time.After(time.Minute): // only keeps a missing line from hanging the suite
		t.Fatalf("the authorizer's refusal line never reached the local API's output:\n%s", why.buf.String())
	}
	why.mu.Lock()
	line := why.buf.String()
	why.mu.Unlock()
	if strings.Contains(line, bearer[len("Bearer "):]) || strings.Contains(line, other) {
		t.Errorf("the refusal line shows the token or the caller's path: %s", line)
	}

	sources := slices.DeleteFunc(slices.Clone(authorizer.IdentitySource), func(s string) bool { return s == "$context.path" })
	api := *suite.api
	api.LambdaAuthorizers = maps.Clone(suite.api.LambdaAuthorizers)
	authorizer.IdentitySource = sources
	api.LambdaAuthorizers[route.Authorizer] = authorizer
	leaky := httptest.NewServer(handlerFor(t, &api, suite.issuer.URL))
	defer leaky.Close()
	callAt(t, leaky.URL, route.Method, own, bearer)
	if status := callAt(t, leaky.URL, route.Method, other, bearer).status; status != 200 {
		t.Errorf("without the path, another organization's path got %d: the emulator does not cache by identity sources as AWS does", status)
	}
}
