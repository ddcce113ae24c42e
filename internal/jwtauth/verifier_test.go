package jwtauth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
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

const (
	testIssuer   = "https://tenant.example.com/"
	testAudience = "https://api.example.com"
	testKeyID    = "test-key"
)

// testKey signs every token of these tests; generated once, as it is slow.
var testKey = func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
}()

// newVerifier checks tokens of testIssuer for testAudience against testKey.
func newVerifier() *Verifier {
	return &Verifier{Issuer: testIssuer, Audiences: []string{testAudience}, Keys: StaticKeys{testKeyID: {Public: &testKey.PublicKey}}}
}

// validClaims are the claims of a valid access token with the given scopes.
func validClaims(scopes ...string) jwt.MapClaims {
	claims := jwt.MapClaims{"iss": testIssuer, "sub": "user", "aud": testAudience,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	if len(scopes) > 0 {
		claims["scope"] = strings.Join(scopes, " ")
	}
	return claims
}

// sign signs claims with testKey, RS256, under testKeyID unless header says
// otherwise (a nil value removes a header parameter).
func sign(t testing.TB, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	return jwttest.Sign(t, jwt.SigningMethodRS256, testKey, withKeyID(testKeyID, header), claims)
}

// withKeyID is header with a kid, unless header sets its own (or removes it).
func withKeyID(kid string, header map[string]any) map[string]any {
	merged := map[string]any{"kid": kid}
	for name, value := range header {
		merged[name] = value
	}
	return merged
}

// signRaw signs a literal header and payload with testKey, RS256.
func signRaw(t testing.TB, header, payload string) string {
	t.Helper()
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	signature, err := jwt.SigningMethodRS256.Sign(input, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(signature)
}

// clock is a settable time for the verifier and the key set.
type clock struct{ now atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.now.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// issuerServer serves an issuer's discovery and key set, counting requests.
func issuerServer(t testing.TB, key *rsa.PrivateKey) (*devissuer.Issuer, *atomic.Int64) {
	t.Helper()
	var issuer atomic.Pointer[devissuer.Issuer]
	var hits atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		issuer.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	issuer.Store(devissuer.New(server.URL+"/", key))
	return issuer.Load(), &hits
}

func TestValidTokenGivesClaimsAndScopes(t *testing.T) {
	token, err := newVerifier().Verify("Bearer " + sign(t, validClaims("read:user", "write:user"), nil))
	if err != nil {
		t.Fatal(err)
	}
	if token.Claims["sub"] != "user" || token.Claims["aud"] != testAudience || strings.Join(token.Scopes, " ") != "read:user write:user" {
		t.Errorf("%+v", token)
	}
}

func TestNoTokenIsErrNoToken(t *testing.T) {
	if _, err := newVerifier().Verify(""); !errors.Is(err, ErrNoToken) {
		t.Errorf("err %v, want ErrNoToken", err)
	}
}

func TestRememberedTokenStillExpires(t *testing.T) {
	c := newClock()
	v := newVerifier()
	v.Now = c.Now
	header := "Bearer " + sign(t, validClaims("read:user"), nil) // valid for an hour
	if _, err := v.Verify(header); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	c.Advance(2 * time.Hour)
	if _, err := v.Verify(header); err == nil || err.Error() != "the token has expired" {
		t.Errorf("remembered token after its exp: %v", err)
	}
}

func TestRememberedTokenIsRefusedOnceItsKeyIsRotatedOut(t *testing.T) {
	oldKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	var current atomic.Pointer[devissuer.Issuer]
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().ServeHTTP(w, r) }))
	defer server.Close()
	issuerURL := server.URL + "/"
	oldIssuer := devissuer.New(issuerURL, oldKey)
	current.Store(oldIssuer)

	c := newClock()
	keys := &RemoteKeySet{Issuer: issuerURL, Now: c.Now}
	v := &Verifier{Issuer: issuerURL, Audiences: []string{"api"}, Keys: keys}
	tok, _ := oldIssuer.AccessToken(devissuer.TokenRequest{Subject: "s", Audience: "api", TTL: 24 * time.Hour})
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	current.Store(devissuer.New(issuerURL, newKey))
	c.Advance(KeyCacheLifetime + time.Minute) // the key cache expires and is fetched again
	if _, err := v.Verify(tok); err == nil {
		t.Error("a token signed by a key no longer in the key set was accepted")
	}
}

func TestUnknownKidsRefetchAtMostOnce(t *testing.T) {
	issuer, hits := issuerServer(t, testKey)
	keys := &RemoteKeySet{Issuer: issuer.URL, RefetchGap: time.Hour}
	v := &Verifier{Issuer: issuer.URL, Audiences: []string{testAudience}, Keys: keys}
	claims := validClaims()
	claims["iss"] = issuer.URL
	if _, err := v.Verify(sign(t, claims, map[string]any{"kid": issuer.KeyID()})); err != nil {
		t.Fatal(err)
	}
	before := keys.fetches.Load()
	for _, kid := range []string{"new-1", "new-2", "new-3", "new-4"} {
		if _, err := v.Verify(sign(t, claims, map[string]any{"kid": kid})); err == nil {
			t.Errorf("kid %s was accepted", kid)
		}
	}
	if fetches := keys.fetches.Load() - before; fetches > 1 {
		t.Errorf("%d refetches for unknown kids, want at most 1 within the refetch gap (%d requests to the issuer)", fetches, hits.Load())
	}
}

// The million-dot token of the checklist cannot pass the 10,240-byte header
// limit over HTTP; the verifier itself still refuses it at once.
func TestMillionDotsAreRefused(t *testing.T) {
	if _, err := newVerifier().Verify("Bearer " + strings.Repeat(".", 1_000_000)); err == nil || err.Error() != "token contains an invalid number of segments" {
		t.Errorf("%v", err)
	}
}

// FuzzVerify: whatever the header holds, the verifier does not panic, and it
// accepts nothing but the one token the issuer really issued. The seeds
// include tokens signed with the real key that the parse rules must refuse:
// trailing bytes, a crit header, an algorithm the key is not for. Without
// -fuzz, go test runs the seeds.
func FuzzVerify(f *testing.F) {
	valid := sign(f, validClaims("read:user"), nil)
	parts := strings.Split(valid, ".")
	header, payload := `{"alg":"RS256","kid":"`+testKeyID+`"}`, `{"iss":"`+testIssuer+`","aud":"`+testAudience+`","exp":9999999999}`
	rs512Token := jwttest.Sign(f, jwt.SigningMethodRS512, testKey, map[string]any{"kid": testKeyID}, validClaims())
	for _, seed := range []string{
		valid, "Bearer " + valid, "", "a.b.c", strings.Repeat(".", 100),
		"Bearer eyJhbGciOiJub25lIn0.e30.", parts[0] + "." + parts[1] + ".",
		parts[0] + ".eyJleHAiOjF9." + parts[2], "Bearer " + parts[0] + "." + parts[1] + "." + parts[2] + "x",
		signRaw(f, header+"]", payload), signRaw(f, header, payload+"}}"), signRaw(f, header, payload+" "),
		sign(f, validClaims(), map[string]any{"crit": []string{"exp"}}), rs512Token,
	} {
		f.Add(seed)
	}
	v := newVerifier()
	v.Keys = StaticKeys{testKeyID: {Public: &testKey.PublicKey, Algorithm: "RS256"}}
	f.Fuzz(func(t *testing.T, header string) {
		if _, err := v.Verify(header); err == nil && strings.TrimPrefix(header, "Bearer ") != valid {
			t.Errorf("accepted a token that was never issued: %q", header)
		}
	})
}

// BenchmarkVerify is the JWT check's cost per request with the keys cached,
// for a client that sends its token again, as clients do until it expires.
func BenchmarkVerify(b *testing.B) {
	v := newVerifier()
	header := "Bearer " + sign(b, validClaims("read:user"), nil)
	if _, err := v.Verify(header); err != nil {
		b.Fatalf("the benchmark token is refused: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.Verify(header)
	}
}

// BenchmarkVerifyFirstSight is the check of a token never seen before: what
// every new token pays once, RS256 verification included.
func BenchmarkVerifyFirstSight(b *testing.B) {
	v := newVerifier()
	header := "Bearer " + sign(b, validClaims("read:user"), nil)
	b.ReportAllocs()
	for b.Loop() {
		v.verified = nil // forget the token, so each check is a first sight
		if _, err := v.Verify(header); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyThousandsOfScopes: a scope claim with 1,500 entries is still cheap.
func BenchmarkVerifyThousandsOfScopes(b *testing.B) {
	v := newVerifier()
	header := "Bearer " + sign(b, validClaims(append(strings.Fields(strings.Repeat("x:y ", 1500)), "read:user")...), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(header); err != nil {
			b.Fatal(err)
		}
	}
}
