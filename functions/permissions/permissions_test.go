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

// newAuthorizer decides for GET /admin (read:admin) with tokens of key, and
// writes its log to log.
func newAuthorizer(log *bytes.Buffer) *Authorizer {
	verifier := &jwtauth.Verifier{Issuer: issuer, Audiences: []string{audience}, Keys: jwtauth.StaticKeys{keyID: {Public: &key.PublicKey, Algorithm: "RS256"}}}
	return New(verifier, map[string][]string{"GET /admin": {"read:admin"}}, slog.New(slog.NewJSONHandler(log, nil)))
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
	req := events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: routeKey, Headers: map[string]string{}}
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
		"ISSUER": issuer, "AUDIENCE": `["` + audience + `"]`, "ROUTE_PERMISSIONS": `{"GET /admin":["read:admin"]}`,
	}
	getenv := func(name string) string { return env[name] }
	a, err := FromEnvironment(getenv, slog.Default())
	if err != nil || len(a.routes["GET /admin"]) != 1 || a.verifier.Issuer != issuer {
		t.Fatalf("%+v %v", a, err)
	}
	for name, change := range map[string][2]string{
		"plain http issuer":      {"ISSUER", "http://tenant.example.com/"},
		"no audience":            {"AUDIENCE", ""},
		"audience not a list":    {"AUDIENCE", audience},
		"permissions not a JSON": {"ROUTE_PERMISSIONS", "GET /admin=read:admin"},
	} {
		saved := env[change[0]]
		env[change[0]] = change[1]
		if _, err := FromEnvironment(getenv, slog.Default()); err == nil || !strings.Contains(err.Error(), change[0]) {
			t.Errorf("%s: %v", name, err)
		}
		env[change[0]] = saved
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
