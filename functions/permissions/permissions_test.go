package permissions

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/jwttest"
)

const (
	issuer   = "https://tenant.example.com/"
	audience = "https://api.example.com"
	keyID    = "key-1"
)

var key = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

// newAuthorizer decides for GET /admin (read:admin), and for the routes of
// an organization (membership; membership and write:projects; any
// organization) with tokens of key, and writes its log to log.
func newAuthorizer(log *bytes.Buffer) *Authorizer {
	verifier := &jwtauth.Verifier{Issuer: issuer, Audiences: []string{audience}, Keys: jwtauth.StaticKeys{keyID: {Public: &key.PublicKey, Algorithm: "RS256"}}}
	a, err := New(verifier, map[string]apitemplate.RouteRule{
		"GET /admin":                    {Permissions: []string{"read:admin"}},
		"GET /orgs/{orgId}/projects":    {Organization: "{orgId}"},
		"POST /orgs/{orgId}/projects":   {Organization: "{orgId}", Permissions: []string{"write:projects"}},
		"GET /orgs/{orgId}/files/{key}": {Organization: "{orgId}", Scopes: []string{"read:files"}},
		"GET /me/organization":          {Organization: apitemplate.AnyOrganization},
	}, slog.New(slog.NewJSONHandler(log, nil)))
	if err != nil {
		panic(err)
	}
	return a
}

func token(t testing.TB, change func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "auth0|42", "exp": time.Now().Add(time.Hour).Unix(),
		"scope": "openid profile", "permissions": []string{"read:reports", "read:admin"}}
	if change != nil {
		change(claims)
	}
	return jwttest.Sign(t, jwt.SigningMethodRS256, key, map[string]any{"kid": keyID}, claims)
}

func request(routeKey, authorization string) events.APIGatewayV2CustomAuthorizerV2Request {
	_, path, _ := strings.Cut(routeKey, " ")
	req := events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: routeKey, RawPath: path, Headers: map[string]string{}}
	if authorization != "" {
		req.Headers["authorization"] = authorization
		req.IdentitySource = []string{authorization, routeKey}
	}
	return req
}

func TestAllowsAHolderOfTheRoutesPermissionWithItsContext(t *testing.T) {
	var log bytes.Buffer
	response, err := newAuthorizer(&log).Authorize(context.Background(), request("GET /admin", "Bearer "+token(t, nil)))
	if err != nil || !response.IsAuthorized {
		t.Fatalf("%+v %v\n%s", response, err, log.String())
	}
	encoded, _ := json.Marshal(response.Context)
	if want := `{"permissions":["read:reports","read:admin"],"scope":"openid profile","sub":"auth0|42"}`; string(encoded) != want {
		t.Errorf("context %s, want %s", encoded, want)
	}
}

func TestDenies(t *testing.T) {
	other := jwttest.Sign(t, jwt.SigningMethodRS256, key, map[string]any{"kid": "unknown"}, jwt.MapClaims{"iss": issuer, "aud": audience, "exp": time.Now().Add(time.Hour).Unix()})
	for name, req := range map[string]events.APIGatewayV2CustomAuthorizerV2Request{
		"no token":                    request("GET /admin", ""),
		"permission missing":          request("GET /admin", "Bearer "+token(t, func(c jwt.MapClaims) { c["permissions"] = []string{"read:reports"} })),
		"no permissions claim":        request("GET /admin", "Bearer "+token(t, func(c jwt.MapClaims) { delete(c, "permissions") })),
		"the permission as a scope":   request("GET /admin", "Bearer "+token(t, func(c jwt.MapClaims) { delete(c, "permissions"); c["scope"] = "read:admin" })),
		"permissions as a string":     request("GET /admin", "Bearer "+token(t, func(c jwt.MapClaims) { c["permissions"] = "read:admin" })),
		"expired":                     request("GET /admin", "Bearer "+token(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })),
		"wrong audience":              request("GET /admin", "Bearer "+token(t, func(c jwt.MapClaims) { c["aud"] = "https://other.example.com" })),
		"wrong issuer":                request("GET /admin", "Bearer "+token(t, func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" })),
		"unknown kid":                 request("GET /admin", "Bearer "+other),
		"malformed":                   request("GET /admin", "Bearer not.a.jwt"),
		"a route it does not know":    request("DELETE /admin", "Bearer "+token(t, nil)),
		"a route key in another case": request("get /admin", "Bearer "+token(t, nil)),
	} {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			response, err := newAuthorizer(&log).Authorize(context.Background(), req)
			if err != nil || response.IsAuthorized || response.Context != nil {
				t.Errorf("%+v %v", response, err)
			}
			if !strings.Contains(log.String(), `"msg":"denied"`) {
				t.Errorf("no log line says why: %s", log.String())
			}
		})
	}
}

// Nothing the authorizer logs or returns holds the token.
func TestTheTokenIsNeverLoggedNorReturned(t *testing.T) {
	var log bytes.Buffer
	a := newAuthorizer(&log)
	valid := token(t, nil)
	denied := token(t, func(c jwt.MapClaims) { c["permissions"] = []string{} })
	for _, tok := range []string{valid, denied, "Bearer " + valid[:40]} {
		response, _ := a.Authorize(context.Background(), request("GET /admin", "Bearer "+tok))
		encoded, _ := json.Marshal(response)
		for _, text := range []string{log.String(), string(encoded)} {
			if strings.Contains(text, tok[strings.LastIndex(tok, ".")+1:]) || strings.Contains(text, "eyJ") {
				t.Errorf("the token appears in %s", text)
			}
		}
	}
}

func TestFromEnvironment(t *testing.T) {
	env := map[string]string{
		"ISSUER": issuer, "AUDIENCE": `["` + audience + `"]`, "ROUTE_RULES": `{"GET /admin":{"permissions":["read:admin"]}}`,
	}
	getenv := func(name string) string { return env[name] }
	a, err := FromEnvironment(getenv, slog.Default())
	if err != nil || len(a.routes["GET /admin"].rule.Permissions) != 1 || a.verifier.Issuer != issuer {
		t.Fatalf("%+v %v", a, err)
	}
	for name, change := range map[string][2]string{
		"plain http issuer":      {"ISSUER", "http://tenant.example.com/"},
		"no audience":            {"AUDIENCE", ""},
		"audience not a list":    {"AUDIENCE", audience},
		"rules not a JSON":       {"ROUTE_RULES", "GET /admin=read:admin"},
		"rules of another shape": {"ROUTE_RULES", `{"GET /admin":["read:admin"]}`},
		"an unknown rule field":  {"ROUTE_RULES", `{"GET /admin":{"permission":["read:admin"]}}`},
		"a key without a path":   {"ROUTE_RULES", `{"GET":{"permissions":["read:admin"]}}`},
	} {
		saved := env[change[0]]
		env[change[0]] = change[1]
		if _, err := FromEnvironment(getenv, slog.Default()); err == nil || !strings.Contains(err.Error(), change[0]) {
			t.Errorf("%s: %v", name, err)
		}
		env[change[0]] = saved
	}
}

// orgRequest is a request on an organization's route: rawPath as API Gateway
// passes it, and pathParameters as it decodes them.
func orgRequest(routeKey, rawPath string, pathParameters map[string]string, authorization string) events.APIGatewayV2CustomAuthorizerV2Request {
	req := request(routeKey, authorization)
	req.RawPath, req.PathParameters = rawPath, pathParameters
	return req
}

func orgToken(t testing.TB, orgID any, change func(jwt.MapClaims)) string {
	return "Bearer " + token(t, func(c jwt.MapClaims) {
		if orgID != nil {
			c["org_id"] = orgID
		}
		c["permissions"] = []string{"write:projects"}
		if change != nil {
			change(c)
		}
	})
}

// A member of an organization reaches its routes, with the org_id in the
// function's context; binding combines with permissions and scopes.
func TestAllowsAnOrganizationsMemberOnItsOwnPaths(t *testing.T) {
	const org = "org_W30VRE8t8Zbwyb1T"
	own := map[string]string{"orgId": org}
	for name, req := range map[string]events.APIGatewayV2CustomAuthorizerV2Request{
		"membership":                 orgRequest("GET /orgs/{orgId}/projects", "/orgs/"+org+"/projects", own, orgToken(t, org, nil)),
		"membership and permission":  orgRequest("POST /orgs/{orgId}/projects", "/orgs/"+org+"/projects", own, orgToken(t, org, nil)),
		"membership and scope":       orgRequest("GET /orgs/{orgId}/files/{key}", "/orgs/"+org+"/files/a", map[string]string{"orgId": org, "key": "a"}, orgToken(t, org, func(c jwt.MapClaims) { c["scope"] = "read:files" })),
		"any organization":           orgRequest("GET /me/organization", "/me/organization", nil, orgToken(t, "org_other", nil)),
		"no path parameters at hand": orgRequest("GET /orgs/{orgId}/projects", "/orgs/"+org+"/projects", nil, orgToken(t, org, nil)),
	} {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			response, err := newAuthorizer(&log).Authorize(context.Background(), req)
			if err != nil || !response.IsAuthorized {
				t.Fatalf("%+v %v\n%s", response, err, log.String())
			}
			if got := response.Context["org_id"]; got != req.PathParameters["orgId"] && req.PathParameters != nil {
				t.Errorf("context org_id %v, want %s", got, org)
			}
		})
	}
}

// Every way a token could reach another organization's data is refused, as
// docs/organizations.md lists them, and the log line says why without the
// token or the caller's path.
func TestDeniesAcrossOrganizations(t *testing.T) {
	const org, other = "org_W30VRE8t8Zbwyb1T", "org_Q8kLm3xZ0pRt7Ya2"
	route := "GET /orgs/{orgId}/projects"
	path := func(segment string) string { return "/orgs/" + segment + "/projects" }
	params := func(value string) map[string]string { return map[string]string{"orgId": value} }
	for name, c := range map[string]struct {
		req  events.APIGatewayV2CustomAuthorizerV2Request
		want string
	}{
		"no org_id":                                      {orgRequest(route, path(org), params(org), orgToken(t, nil, nil)), "no org_id string"},
		"no org_id, any organization":                    {orgRequest("GET /me/organization", "/me/organization", nil, orgToken(t, nil, nil)), "no org_id string"},
		"org_id a list":                                  {orgRequest(route, path(org), params(org), orgToken(t, []string{org}, nil)), "no org_id string"},
		"org_id a number":                                {orgRequest(route, path("42"), params("42"), orgToken(t, 42, nil)), "no org_id string"},
		"org_id an object":                               {orgRequest(route, path(org), params(org), orgToken(t, map[string]string{"id": org}, nil)), "no org_id string"},
		"org_id empty":                                   {orgRequest(route, path(""), params(""), orgToken(t, "", nil)), "no org_id string"},
		"another organization":                           {orgRequest(route, path(other), params(other), orgToken(t, org, nil)), "not the token's org_id"},
		"another case":                                   {orgRequest(route, path(strings.ToLower(org)), params(strings.ToLower(org)), orgToken(t, org, nil)), "not the token's org_id"},
		"percent-encoded, raw":                           {orgRequest(route, path("org_W30VRE8t8Zbwyb1%54"), params(org), orgToken(t, org, nil)), "not the token's org_id"},
		"encoded slash, decoded":                         {orgRequest(route, "/orgs/"+org+"/../"+other+"/projects", params(org+"/../"+other), orgToken(t, org, nil)), "number of segments"},
		"encoded slash, raw":                             {orgRequest(route, path(org+"%2F..%2F"+other), params(org+"/../"+other), orgToken(t, org, nil)), "not the token's org_id"},
		"encoded dots":                                   {orgRequest(route, path("%2e%2e"), params(".."), orgToken(t, org, nil)), "not the token's org_id"},
		"a parameter other than the path":                {orgRequest(route, path(org), params(other), orgToken(t, org, nil)), "path parameter orgId"},
		"a trailing slash":                               {orgRequest(route, path(org)+"/", params(org), orgToken(t, org, nil)), "empty segment"},
		"a doubled slash":                                {orgRequest(route, "/orgs//"+org+"/projects", params(org), orgToken(t, org, nil)), "empty segment"},
		"a doubled slash after":                          {orgRequest(route, "/orgs/"+org+"//projects", params(org), orgToken(t, org, nil)), "empty segment"},
		"org_name instead of org_id":                     {orgRequest(route, path("acme"), params("acme"), orgToken(t, nil, func(c jwt.MapClaims) { c["org_name"] = "acme" })), "no org_id string"},
		"the path names the org_name":                    {orgRequest(route, path("acme"), params("acme"), orgToken(t, org, func(c jwt.MapClaims) { c["org_name"] = "acme" })), "not the token's org_id"},
		"org_id smuggled into scope":                     {orgRequest(route, path(other), params(other), orgToken(t, org, func(c jwt.MapClaims) { c["scope"] = "org_id:" + other + " " + other })), "not the token's org_id"},
		"org_id smuggled into permissions":               {orgRequest(route, path(other), params(other), orgToken(t, org, func(c jwt.MapClaims) { c["permissions"] = []string{other, "org_id:" + other} })), "not the token's org_id"},
		"no org_id, one in scope":                        {orgRequest(route, path(org), params(org), orgToken(t, nil, func(c jwt.MapClaims) { c["scope"] = "org_id:" + org })), "no org_id string"},
		"membership without the permission":              {orgRequest("POST /orgs/{orgId}/projects", path(org), params(org), orgToken(t, org, func(c jwt.MapClaims) { c["permissions"] = []string{"read:projects"} })), "permissions [write:projects]"},
		"membership without the scope":                   {orgRequest("GET /orgs/{orgId}/files/{key}", "/orgs/"+org+"/files/a", map[string]string{"orgId": org, "key": "a"}, orgToken(t, org, nil)), "scopes [read:files]"},
		"an encoded slash in another parameter, decoded": {orgRequest("GET /orgs/{orgId}/files/{key}", "/orgs/"+org+"/files/a/b", map[string]string{"orgId": org, "key": "a/b"}, orgToken(t, org, func(c jwt.MapClaims) { c["scope"] = "read:files" })), "number of segments"},
		"the permission in another organization's token": {orgRequest("POST /orgs/{orgId}/projects", path(other), params(other), orgToken(t, org, nil)), "not the token's org_id"},
		"expired":        {orgRequest(route, path(org), params(org), orgToken(t, org, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), "expired"},
		"wrong audience": {orgRequest(route, path(org), params(org), orgToken(t, org, func(c jwt.MapClaims) { c["aud"] = "https://other.example.com" })), "audience"},
		"no token":       {orgRequest(route, path(org), params(org), ""), "no token"},
	} {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			response, err := newAuthorizer(&log).Authorize(context.Background(), c.req)
			if err != nil || response.IsAuthorized || response.Context != nil {
				t.Fatalf("%+v %v", response, err)
			}
			line := log.String()
			if strings.Count(line, "\n") != 1 || !strings.Contains(line, `"msg":"denied"`) || !strings.Contains(line, c.want) {
				t.Errorf("the log is not one line saying why (%q): %s", c.want, line)
			}
			if auth := c.req.Headers["authorization"]; auth != "" && strings.Contains(line, auth[strings.LastIndex(auth, ".")+1:]) {
				t.Errorf("the log shows the token: %s", line)
			}
			if c.req.RawPath != "" && !strings.HasSuffix(c.req.RouteKey, " "+c.req.RawPath) && strings.Contains(line, c.req.RawPath) {
				t.Errorf("the log repeats the caller's path: %s", line)
			}
		})
	}
}

// BenchmarkAuthorizeOrganization is the decision on a route bound to the
// caller's organization that also requires a permission, key cached and
// token seen before: docs/performance.md puts it next to BenchmarkAuthorize.
func BenchmarkAuthorizeOrganization(b *testing.B) {
	var log bytes.Buffer
	a := newAuthorizer(&log)
	a.logger = slog.New(slog.DiscardHandler)
	const org = "org_W30VRE8t8Zbwyb1T"
	req := orgRequest("POST /orgs/{orgId}/projects", "/orgs/"+org+"/projects", map[string]string{"orgId": org}, orgToken(b, org, nil))
	b.ReportAllocs()
	for b.Loop() {
		if response, _ := a.Authorize(context.Background(), req); !response.IsAuthorized {
			b.Fatal("denied")
		}
	}
}

// BenchmarkAuthorize is the authorizer's decision for a client that sends
// its token again, with the key cached: what a warm authorizer pays per call.
func BenchmarkAuthorize(b *testing.B) {
	var log bytes.Buffer
	a := newAuthorizer(&log)
	a.logger = slog.New(slog.DiscardHandler)
	req := request("GET /admin", "Bearer "+token(b, nil))
	b.ReportAllocs()
	for b.Loop() {
		if response, _ := a.Authorize(context.Background(), req); !response.IsAuthorized {
			b.Fatal("denied")
		}
	}
}

// BenchmarkAuthorizeFirstSight is the decision on a token never seen before,
// RS256 verification included.
func BenchmarkAuthorizeFirstSight(b *testing.B) {
	req := request("GET /admin", "Bearer "+token(b, nil))
	b.ReportAllocs()
	for b.Loop() {
		var log bytes.Buffer
		a := newAuthorizer(&log)
		a.logger = slog.New(slog.DiscardHandler)
		if response, _ := a.Authorize(context.Background(), req); !response.IsAuthorized {
			b.Fatal("denied")
		}
	}
}
