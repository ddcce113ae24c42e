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
)

func b64(data string) string { return base64.RawURLEncoding.EncodeToString([]byte(data)) }

// raw builds a token from a literal header and payload and any signature.
func raw(header, payload, signature string) string {
	return b64(header) + "." + b64(payload) + "." + signature
}

func validClaimsJSON() string {
	return `{"iss":"` + suite.issuer.URL + `","sub":"e2e-user","aud":"` + suite.api.Audience[0] +
		`","exp":` + jsonInt(time.Now().Add(time.Hour).Unix()) + `,"scope":"read:user","permissions":["read:admin"]}`
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// signWith signs claims with any method and key, under the issuer's kid unless the header says otherwise.
func signWith(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	withKid := map[string]any{"kid": suite.issuer.KeyID()}
	for name, value := range header {
		withKid[name] = value
	}
	return jwttest.Sign(t, method, key, withKid, claims)
}

func baseClaims() jwt.MapClaims {
	return jwt.MapClaims{"iss": suite.issuer.URL, "sub": "e2e-user", "aud": suite.api.Audience[0],
		"exp": time.Now().Add(time.Hour).Unix(), "scope": "read:user", "permissions": []string{"read:admin"}}
}

// TestJWTAttacks runs every case of the security checklist's JWT list against
// GET /user (scope read:user): each gets its 401, or 403 for a missing scope,
// and none reaches the function. An attacker's server counts any request the
// local API would make to a URL named by a token.
func TestJWTAttacks(t *testing.T) {
	t.Run("JWT authorizer, GET /user", func(t *testing.T) { runJWTAttacks(t, "/user", http.StatusUnauthorized) })
	// A Lambda authorizer refuses with isAuthorized false, which API Gateway
	// answers 403, where the JWT authorizer answers 401.
	t.Run("permissions authorizer, GET /admin", func(t *testing.T) { runJWTAttacks(t, "/admin", http.StatusForbidden) })
}

// runJWTAttacks sends every attack to path, whose authorizer answers refused
// for a bad token; path accepts scope read:user or permission read:admin.
func runJWTAttacks(t *testing.T, path string, refused int) {
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { attackerHits.Add(1) }))
	defer attacker.Close()
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&suite.key.PublicKey))})
	valid, err := suite.issuer.AccessToken(devissuer.TokenRequest{Subject: "e2e-user", Audience: suite.api.Audience[0],
		Scopes: []string{"read:user"}, Permissions: []string{"read:admin"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	otherTenant := devissuer.New("https://other-tenant.example.com/", otherKey)
	otherTenantToken, _ := otherTenant.AccessToken(devissuer.TokenRequest{Subject: "x", Audience: suite.api.Audience[0], Scopes: []string{"read:user"}, TTL: time.Hour})

	cases := []struct {
		name   string
		header string // the whole Authorization header value
		want   int
	}{
		// 1. alg none, any casing, empty signature.
		{"alg none", "Bearer " + raw(`{"alg":"none","kid":"`+suite.issuer.KeyID()+`"}`, validClaimsJSON(), ""), 401},
		{"alg None", "Bearer " + raw(`{"alg":"None","kid":"`+suite.issuer.KeyID()+`"}`, validClaimsJSON(), ""), 401},
		{"alg nOnE", "Bearer " + raw(`{"alg":"nOnE","kid":"`+suite.issuer.KeyID()+`"}`, validClaimsJSON(), ""), 401},
		// 2. HS256 keyed with the issuer's public key.
		{"HS256 with the RSA public key", "Bearer " + signWith(t, jwt.SigningMethodHS256, publicPEM, map[string]any{}, baseClaims()), 401},
		// 3. Other algorithms, validly signed.
		{"ES256", "Bearer " + signWith(t, jwt.SigningMethodES256, ecKey, map[string]any{}, baseClaims()), 401},
		{"HS256", "Bearer " + signWith(t, jwt.SigningMethodHS256, []byte("secret"), map[string]any{}, baseClaims()), 401},
		{"EdDSA", "Bearer " + signWith(t, jwt.SigningMethodEdDSA, edKey, map[string]any{}, baseClaims()), 401},
		// 4. Keys named by the token itself are never followed.
		{"jku", "Bearer " + signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": "attacker", "jku": attacker.URL + "/jwks.json"}, baseClaims()), 401},
		{"x5u", "Bearer " + signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{"kid": "attacker", "x5u": attacker.URL + "/cert.pem"}, baseClaims()), 401},
		{"embedded jwk", "Bearer " + signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{"jwk": devissuer.New("", otherKey).JWK()}, baseClaims()), 401},
		// 5. Bad kid.
		{"kid missing", "Bearer " + signWith(t, jwt.SigningMethodRS256, suite.key, map[string]any{"kid": nil}, baseClaims()), 401},
		{"kid unknown", "Bearer " + signWith(t, jwt.SigningMethodRS256, suite.key, map[string]any{"kid": "unknown"}, baseClaims()), 401},
		{"kid path", "Bearer " + signWith(t, jwt.SigningMethodRS256, suite.key, map[string]any{"kid": "../../dev/null"}, baseClaims()), 401},
		{"kid very long", "Bearer " + signWith(t, jwt.SigningMethodRS256, suite.key, map[string]any{"kid": strings.Repeat("k", 4000)}, baseClaims()), 401},
		{"kid not a string", "Bearer " + signWith(t, jwt.SigningMethodRS256, suite.key, map[string]any{"kid": 7}, baseClaims()), 401},
		// 6. Bad signatures.
		{"payload changed", "Bearer " + parts[0] + "." + b64(strings.Replace(validClaimsJSON(), "e2e-user", "admin", 1)) + "." + parts[2], 401},
		{"signature truncated", "Bearer " + parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])/2], 401},
		{"signature removed", "Bearer " + parts[0] + "." + parts[1] + ".", 401},
		{"other key, same kid", "Bearer " + signWith(t, jwt.SigningMethodRS256, otherKey, map[string]any{}, baseClaims()), 401},
		// 7. Time claims.
		{"exp missing", "Bearer " + signed(t, func(c jwt.MapClaims) { delete(c, "exp") }), 401},
		{"exp past", "Bearer " + signed(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Second).Unix() }), 401},
		{"exp string", "Bearer " + signed(t, func(c jwt.MapClaims) { c["exp"] = "9999999999" }), 401},
		{"exp float", "Bearer " + signed(t, func(c jwt.MapClaims) { c["exp"] = float64(time.Now().Add(time.Hour).Unix()) + 0.5 }), 401},
		{"exp absurd", "Bearer " + signed(t, func(c jwt.MapClaims) { c["exp"] = 1e300 }), 401},
		{"nbf future", "Bearer " + signed(t, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), 401},
		{"iat future", "Bearer " + signed(t, func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }), 401},
		// 8. Issuer.
		{"iss wrong", "Bearer " + signed(t, func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" }), 401},
		{"iss without trailing slash", "Bearer " + signed(t, func(c jwt.MapClaims) { c["iss"] = strings.TrimSuffix(suite.issuer.URL, "/") }), 401},
		{"iss other case", "Bearer " + signed(t, func(c jwt.MapClaims) { c["iss"] = strings.ToUpper(suite.issuer.URL) }), 401},
		{"iss with whitespace", "Bearer " + signed(t, func(c jwt.MapClaims) { c["iss"] = suite.issuer.URL + " " }), 401},
		{"iss array", "Bearer " + signed(t, func(c jwt.MapClaims) { c["iss"] = []string{suite.issuer.URL} }), 401},
		// 9. Audience.
		{"no aud, no client_id", "Bearer " + signed(t, func(c jwt.MapClaims) { delete(c, "aud") }), 401},
		{"no aud, other client_id", "Bearer " + signed(t, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "other" }), 401},
		{"aud empty array", "Bearer " + signed(t, func(c jwt.MapClaims) { c["aud"] = []string{} }), 401},
		{"aud wrong, client_id right", "Bearer " + signed(t, func(c jwt.MapClaims) { c["aud"] = "https://other.example.com"; c["client_id"] = suite.api.Audience[0] }), 401},
		{"accepted: aud array with one match", "Bearer " + signed(t, func(c jwt.MapClaims) { c["aud"] = []string{"https://other.example.com", suite.api.Audience[0]} }), 200},
		{"accepted: no aud, client_id right", "Bearer " + signed(t, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = suite.api.Audience[0] }), 200},
		// 10. Scopes.
		{"scope prefix", "Bearer " + token(t, "read:use"), 403},
		{"scope longer", "Bearer " + token(t, "read:user2"), 403},
		{"scope other case", "Bearer " + token(t, "READ:USER"), 403},
		{"permissions claim only", "Bearer " + signed(t, func(c jwt.MapClaims) { delete(c, "scope"); c["permissions"] = []string{"read:user"} }), 403},
		{"thousands of scopes", "Bearer " + token(t, strings.Fields(strings.Repeat("x:y ", 1500))...), 403},
		{"accepted: scp list", "Bearer " + signed(t, func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = []string{"read:user"} }), 200},
		// 11. Confusion.
		{"ID token (aud is the client ID)", "Bearer " + signed(t, func(c jwt.MapClaims) { c["aud"] = "kbyuFDidLLm280LIwVFiazOqjO3ty8KH"; delete(c, "scope") }), 401},
		{"another tenant", "Bearer " + otherTenantToken, 401},
		// 12. Malformed.
		{"two segments", "Bearer " + parts[0] + "." + parts[1], 401},
		{"four segments", "Bearer " + valid + "." + parts[2], 401},
		{"thousands of dots", "Bearer " + strings.Repeat(".", 9000), 401},
		{"standard base64", "Bearer " + strings.NewReplacer("-", "+", "_", "/").Replace(parts[0]) + "==." + parts[1] + "." + parts[2], 401},
		{"invalid JSON", "Bearer " + raw(`{"alg":"RS256",`, validClaimsJSON(), parts[2]), 401},
		{"header not an object", "Bearer " + raw(`["RS256"]`, validClaimsJSON(), parts[2]), 401},
		{"duplicate keys", "Bearer " + raw(`{"alg":"RS256","alg":"none","kid":"`+suite.issuer.KeyID()+`"}`, validClaimsJSON(), ""), 401},
		{"not UTF-8", "Bearer " + base64.RawURLEncoding.EncodeToString([]byte{0xff, 0xfe, '{', '}'}) + "." + parts[1] + "." + parts[2], 401},
		{"JWS JSON serialization", "Bearer " + `{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`, 401},
		// 14. Header form.
		{"lower-case bearer", "bearer " + valid, 401},
		{"double space", "Bearer  " + valid, 401},
		{"accepted: bare token", valid, 200},
	}
	echo := suite.functions[functionID(t, "./functions/claimsecho")]
	for _, c := range cases {
		if c.want == http.StatusUnauthorized {
			c.want = refused
		}
		t.Run(c.name, func(t *testing.T) {
			before := echo.Invocations()
			resp := call(t, "GET", path, c.header)
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
