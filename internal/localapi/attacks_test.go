package localapi

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/jwttest"
	"github.com/auth0-http-api/cdk/internal/kmsapi"
	"github.com/auth0-http-api/cdk/internal/testsupport"
)

func b64(data string) string { return base64.RawURLEncoding.EncodeToString([]byte(data)) }

// raw builds a token from a literal header and payload and any signature.
func raw(header, payload, signature string) string {
	return b64(header) + "." + b64(payload) + "." + signature
}

// attackTarget is a stage served by the local API, the key its issuer signs
// with, and the claims echo function whose invocations tell whether a token
// got through.
type attackTarget struct {
	url, issuer, kid, audience string
	key                        *rsa.PrivateKey
	echo                       *countingInvoker
}

// devTarget is the suite's dev stage, with the dev issuer.
func devTarget(t testing.TB) attackTarget {
	return attackTarget{url: suite.local.URL, issuer: suite.issuer.URL, kid: suite.issuer.KeyID(), audience: suite.api.Audience[0],
		key: suite.key, echo: suite.functions[functionID(t, "./functions/claimsecho")]}
}

// selfHostedTarget is the ci stage, its own issuer, with one key in the KMS
// stand-in, published by its well-known function.
func selfHostedTarget(t *testing.T) attackTarget {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	stand := testsupport.StartKMS(t)
	arn := stand.AddKey("generation-1", key)
	local, api := startSelfHosted(t, stand, arn)
	target := attackTarget{url: local.URL, issuer: local.URL + "/", kid: kmsapi.KeyID(arn), audience: api.Audience[0], key: key}
	for id, fn := range api.Functions {
		if fn.GoPackage == "./functions/claimsecho" {
			target.echo = &countingInvoker{Invoker: local.handler().functions[id]}
			local.handler().functions[id] = target.echo
		}
	}
	return target
}

func (a attackTarget) validClaimsJSON() string {
	return `{"iss":"` + a.issuer + `","sub":"e2e-user","aud":"` + a.audience +
		`","exp":` + jsonInt(time.Now().Add(time.Hour).Unix()) + `,"scope":"read:user","permissions":["read:admin"]}`
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// signWith signs claims with any method and key, under the issuer's kid unless the header says otherwise.
func (a attackTarget) signWith(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	withKid := map[string]any{"kid": a.kid}
	for name, value := range header {
		withKid[name] = value
	}
	return jwttest.Sign(t, method, key, withKid, claims)
}

func (a attackTarget) baseClaims() jwt.MapClaims {
	return jwt.MapClaims{"iss": a.issuer, "sub": "e2e-user", "aud": a.audience, "iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix(), "scope": "read:user", "permissions": []string{"read:admin"}}
}

// signed signs valid claims, changed by change, with the issuer's key.
func (a attackTarget) signed(t testing.TB, change func(jwt.MapClaims)) string {
	t.Helper()
	claims := a.baseClaims()
	change(claims)
	return a.signWith(t, jwt.SigningMethodRS256, a.key, map[string]any{}, claims)
}

// scoped is a valid token with these scopes and no permissions.
func (a attackTarget) scoped(t testing.TB, scopes ...string) string {
	t.Helper()
	return a.signed(t, func(c jwt.MapClaims) { c["scope"] = strings.Join(scopes, " "); delete(c, "permissions") })
}

// TestJWTAttacks runs every case of the security checklist's JWT list against
// GET /user (scope read:user): each gets its 401, or 403 for a missing scope,
// and none reaches the function. An attacker's server counts any request the
// local API would make to a URL named by a token. It runs for the dev stage,
// whose issuer is the dev issuer, and for the ci stage, its own issuer.
func TestJWTAttacks(t *testing.T) {
	dev := devTarget(t)
	t.Run("JWT authorizer, GET /user", func(t *testing.T) { runJWTAttacks(t, dev, "/user", http.StatusUnauthorized) })
	// A Lambda authorizer refuses with isAuthorized false, which API Gateway
	// answers 403, where the JWT authorizer answers 401.
	t.Run("permissions authorizer, GET /admin", func(t *testing.T) { runJWTAttacks(t, dev, "/admin", http.StatusForbidden) })
	ci := selfHostedTarget(t)
	t.Run("own issuer, JWT authorizer, GET /user", func(t *testing.T) { runJWTAttacks(t, ci, "/user", http.StatusUnauthorized) })
	t.Run("own issuer, permissions authorizer, GET /admin", func(t *testing.T) { runJWTAttacks(t, ci, "/admin", http.StatusForbidden) })
}

// runJWTAttacks sends every attack to path, whose authorizer answers refused
// for a bad token; path accepts scope read:user or permission read:admin.
func runJWTAttacks(t *testing.T, a attackTarget, path string, refused int) {
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { attackerHits.Add(1) }))
	defer attacker.Close()
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&a.key.PublicKey))})
	valid := a.signed(t, func(jwt.MapClaims) {})
	parts := strings.Split(valid, ".")
	otherTenant := devissuer.New("https://other-tenant.example.com/", otherKey)
	otherTenantToken, _ := otherTenant.AccessToken(devissuer.TokenRequest{Subject: "x", Audience: a.audience, Scopes: []string{"read:user"}, TTL: time.Hour})

	cases := []struct {
		name   string
		header string // the whole Authorization header value
		want   int
	}{
		// 1. alg none, any casing, empty signature.
		{"alg none", "Bearer " + raw(`{"alg":"none","kid":"`+a.kid+`"}`, a.validClaimsJSON(), ""), 401},
		{"alg None", "Bearer " + raw(`{"alg":"None","kid":"`+a.kid+`"}`, a.validClaimsJSON(), ""), 401},
		{"alg nOnE", "Bearer " + raw(`{"alg":"nOnE","kid":"`+a.kid+`"}`, a.validClaimsJSON(), ""), 401},
		// 2. HS256 keyed with the issuer's public key.
		{"HS256 with the RSA public key", "Bearer " + a.signWith(t, jwt.SigningMethodHS256, publicPEM, map[string]any{}, a.baseClaims()), 401},
		// 3. Other algorithms, validly signed.
		{"ES256", "Bearer " + a.signWith(t, jwt.SigningMethodES256, ecKey, map[string]any{}, a.baseClaims()), 401},
		{"HS256", "Bearer " + a.signWith(t, jwt.SigningMethodHS256, []byte("secret"), map[string]any{}, a.baseClaims()), 401},
		{"EdDSA", "Bearer " + a.signWith(t, jwt.SigningMethodEdDSA, edKey, map[string]any{}, a.baseClaims()), 401},
		// 4. Keys named by the token itself are never followed.
		{"jku", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": "attacker", "jku": attacker.URL + "/jwks.json"}, a.baseClaims()), 401},
		{"x5u", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": "attacker", "x5u": attacker.URL + "/cert.pem"}, a.baseClaims()), 401},
		{"embedded jwk", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{"jwk": devissuer.New("", otherKey).JWK()}, a.baseClaims()), 401},
		// 5. Bad kid.
		{"kid missing", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, a.key, map[string]any{"kid": nil}, a.baseClaims()), 401},
		{"kid unknown", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, a.key, map[string]any{"kid": "unknown"}, a.baseClaims()), 401},
		{"kid path", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, a.key, map[string]any{"kid": "../../dev/null"}, a.baseClaims()), 401},
		{"kid very long", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, a.key, map[string]any{"kid": strings.Repeat("k", 4000)}, a.baseClaims()), 401},
		{"kid not a string", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, a.key, map[string]any{"kid": 7}, a.baseClaims()), 401},
		// 6. Bad signatures.
		{"payload changed", "Bearer " + parts[0] + "." + b64(strings.Replace(a.validClaimsJSON(), "e2e-user", "admin", 1)) + "." + parts[2], 401},
		{"signature truncated", "Bearer " + parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])/2], 401},
		{"signature removed", "Bearer " + parts[0] + "." + parts[1] + ".", 401},
		{"other key, same kid", "Bearer " + a.signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{}, a.baseClaims()), 401},
		// 7. Time claims.
		{"exp missing", "Bearer " + a.signed(t, func(c jwt.MapClaims) { delete(c, "exp") }), 401},
		{"exp past", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Second).Unix() }), 401},
		{"exp string", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["exp"] = "9999999999" }), 401},
		{"exp float", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["exp"] = float64(time.Now().Add(time.Hour).Unix()) + 0.5 }), 401},
		{"exp absurd", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["exp"] = 1e300 }), 401},
		{"nbf future", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), 401},
		{"iat future", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }), 401},
		// 8. Issuer.
		{"iss wrong", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" }), 401},
		{"iss without trailing slash", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["iss"] = strings.TrimSuffix(a.issuer, "/") }), 401},
		{"iss other case", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["iss"] = strings.ToUpper(a.issuer) }), 401},
		{"iss with whitespace", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["iss"] = a.issuer + " " }), 401},
		{"iss array", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["iss"] = []string{a.issuer} }), 401},
		// 9. Audience.
		{"no aud, no client_id", "Bearer " + a.signed(t, func(c jwt.MapClaims) { delete(c, "aud") }), 401},
		{"no aud, other client_id", "Bearer " + a.signed(t, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "other" }), 401},
		{"aud empty array", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["aud"] = []string{} }), 401},
		{"aud wrong, client_id right", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["aud"] = "https://other.example.com"; c["client_id"] = a.audience }), 401},
		{"accepted: aud array with one match", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["aud"] = []string{"https://other.example.com", a.audience} }), 200},
		{"accepted: no aud, client_id right", "Bearer " + a.signed(t, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = a.audience }), 200},
		// 10. Scopes.
		{"scope prefix", "Bearer " + a.scoped(t, "read:use"), 403},
		{"scope longer", "Bearer " + a.scoped(t, "read:user2"), 403},
		{"scope other case", "Bearer " + a.scoped(t, "READ:USER"), 403},
		{"permissions claim only", "Bearer " + a.signed(t, func(c jwt.MapClaims) { delete(c, "scope"); c["permissions"] = []string{"read:user"} }), 403},
		{"thousands of scopes", "Bearer " + a.scoped(t, strings.Fields(strings.Repeat("x:y ", 1500))...), 403},
		{"accepted: scp list", "Bearer " + a.signed(t, func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = []string{"read:user"} }), 200},
		// 11. Confusion.
		{"ID token (aud is the client ID)", "Bearer " + a.signed(t, func(c jwt.MapClaims) { c["aud"] = "kbyuFDidLLm280LIwVFiazOqjO3ty8KH"; delete(c, "scope") }), 401},
		{"another tenant", "Bearer " + otherTenantToken, 401},
		// 12. Malformed.
		{"two segments", "Bearer " + parts[0] + "." + parts[1], 401},
		{"four segments", "Bearer " + valid + "." + parts[2], 401},
		{"thousands of dots", "Bearer " + strings.Repeat(".", 9000), 401},
		{"standard base64", "Bearer " + strings.NewReplacer("-", "+", "_", "/").Replace(parts[0]) + "==." + parts[1] + "." + parts[2], 401},
		{"invalid JSON", "Bearer " + raw(`{"alg":"RS256",`, a.validClaimsJSON(), parts[2]), 401},
		{"header not an object", "Bearer " + raw(`["RS256"]`, a.validClaimsJSON(), parts[2]), 401},
		{"duplicate keys", "Bearer " + raw(`{"alg":"RS256","alg":"none","kid":"`+a.kid+`"}`, a.validClaimsJSON(), ""), 401},
		{"not UTF-8", "Bearer " + base64.RawURLEncoding.EncodeToString([]byte{0xff, 0xfe, '{', '}'}) + "." + parts[1] + "." + parts[2], 401},
		{"JWS JSON serialization", "Bearer " + `{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`, 401},
		// 14. Header form.
		{"lower-case bearer", "bearer " + valid, 401},
		{"double space", "Bearer  " + valid, 401},
		{"accepted: bare token", valid, 200},
	}
	echo := a.echo
	for _, c := range cases {
		if c.want == http.StatusUnauthorized {
			c.want = refused
		}
		t.Run(c.name, func(t *testing.T) {
			before := echo.Invocations()
			resp := callAt(t, a.url, "GET", path, c.header)
			if resp.status != c.want {
				t.Fatalf("status %d, want %d: %s (www-authenticate %q)", resp.status, c.want, resp.body, resp.header.Get("www-authenticate"))
			}
			invoked := echo.Invocations() - before
			if c.want != 200 && invoked != 0 {
				t.Errorf("the function was invoked %d time(s)", invoked)
			}
			if c.want == 200 && invoked != 1 {
				t.Errorf("an accepted token invoked the function %d time(s)", invoked)
			}
		})
	}
	if hits := attackerHits.Load(); hits != 0 {
		t.Errorf("the local API requested a URL named by a token %d time(s)", hits)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestOversizedHeadersAreRefusedBeforeCryptography(t *testing.T) {
	echo := suite.functions[functionID(t, "./functions/claimsecho")]
	before, fetches := echo.Invocations(), suite.jwksHits.Load()
	req, _ := http.NewRequest("GET", suite.local.URL+"/user", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, "read:user"))
	req.Header.Set("X-Padding", strings.Repeat("p", MaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
	if echo.Invocations() != before || suite.jwksHits.Load() != fetches {
		t.Error("an oversized request reached the function or the key set")
	}
}
