package jwtauth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/jwttest"
	"github.com/auth0-http-api/cdk/internal/testsupport"
)

func b64(data string) string { return base64.RawURLEncoding.EncodeToString([]byte(data)) }

// Scopes are separated by spaces only, as API Gateway separates them.
func TestScopesAreSplitOnSpacesOnly(t *testing.T) {
	v := newVerifier()
	for scope, want := range map[string]string{
		"openid\tread:user":      "openid\tread:user",
		"openid\u00a0read:user":  "openid\u00a0read:user",
		"openid\nread:user":      "openid\nread:user",
		"openid  read:user ":     "openid|read:user",
		"read:user":              "read:user",
		"openid read:user\u2003": "openid|read:user\u2003",
	} {
		claims := validClaims()
		claims["scope"] = scope
		token, err := v.Verify(sign(t, claims, nil))
		if err != nil {
			t.Fatalf("%q: %v", scope, err)
		}
		if got := strings.Join(token.Scopes, "|"); got != want {
			t.Errorf("scope %q gave scopes %q, want %q", scope, got, want)
		}
	}
}

// Only one JSON object may stand in a segment: bytes after it are refused,
// because another parser may read them differently.
func TestTrailingBytesAfterTheJSONAreRefused(t *testing.T) {
	v := newVerifier()
	header := `{"alg":"RS256","kid":"` + testKeyID + `","typ":"JWT"}`
	payload := `{"iss":"` + testIssuer + `","sub":"user","aud":"` + testAudience + `","exp":` + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + `}`
	signRaw := func(h, p string) string { return signRaw(t, h, p) }
	if _, err := v.Verify(signRaw(header, payload)); err != nil {
		t.Fatalf("the untouched token is refused: %v", err)
	}
	for name, token := range map[string]string{
		"header then ]":     signRaw(header+"]", payload),
		"header then }}":    signRaw(header+"}}", payload),
		"payload then ]":    signRaw(header, payload+"]"),
		"payload then }}":   signRaw(header, payload+"}}"),
		"payload then {}":   signRaw(header, payload+"{}"),
		"payload then text": signRaw(header, payload+"x"),
		"payload then \\n":  signRaw(header, payload+"\n"),
	} {
		if _, err := v.Verify(token); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// RFC 7515 §4.1.11: a recipient that does not understand a critical header
// parameter must refuse the token. This verifier understands none.
func TestCritHeaderIsRefused(t *testing.T) {
	v := newVerifier()
	for name, crit := range map[string]any{
		"unknown extension": []string{"exp"},
		"empty list":        []string{},
		"not a list":        "b64",
	} {
		if _, err := v.Verify(sign(t, validClaims(), map[string]any{"crit": crit, "exp": 1})); err == nil {
			t.Errorf("crit %s: accepted", name)
		}
	}
}

// When the key set says which algorithm a key is for, a token signed with
// another one is refused, even with the same key.
func TestJWKAlgorithmBindsTheToken(t *testing.T) {
	keys := StaticKeys{testKeyID: {Public: &testKey.PublicKey, Algorithm: "RS256"}}
	v := &Verifier{Issuer: testIssuer, Audiences: []string{testAudience}, Keys: keys}
	token := jwttest.Sign(t, jwt.SigningMethodRS512, testKey, map[string]any{"kid": testKeyID}, validClaims())
	if _, err := v.Verify(token); err == nil {
		t.Error("an RS512 token verified against a key published for RS256")
	}
	if _, err := v.Verify(sign(t, validClaims(), nil)); err != nil {
		t.Errorf("an RS256 token for the RS256 key: %v", err)
	}
}

func TestRemoteKeySetKeepsEachKeysAlgorithmAndSkipsOtherUses(t *testing.T) {
	sigKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	issuer := devissuer.New("", sigKey)
	jwk := issuer.JWK()
	encKey := map[string]string{"kty": "RSA", "use": "enc", "kid": "enc", "n": jwk["n"], "e": jwk["e"]}
	noAlg := map[string]string{"kty": "RSA", "kid": "any", "n": jwk["n"], "e": jwk["e"]}
	server := jwksServer(t, func(w http.ResponseWriter) {
		writeJSON(w, map[string]any{"keys": []any{jwk, encKey, noAlg}})
	})
	keys := &RemoteKeySet{Issuer: server}
	if key, err := keys.Key(issuer.KeyID()); err != nil || key.Algorithm != "RS256" {
		t.Errorf("signing key: %+v %v, want algorithm RS256", key, err)
	}
	if key, err := keys.Key("any"); err != nil || key.Algorithm != "" {
		t.Errorf("key without alg: %+v %v", key, err)
	}
	if _, err := keys.Key("enc"); err == nil {
		t.Error("a key published for encryption was used to verify")
	}
}

// A wrong audience gets the description AWS's troubleshooting page shows.
func TestWrongAudienceHasAWSDescription(t *testing.T) {
	claims := validClaims()
	claims["aud"] = "https://other.example.com"
	_, err := newVerifier().Verify(sign(t, claims, nil))
	if err == nil || err.Error() != "the token does not have a valid audience" {
		t.Errorf("%v", err)
	}
}

// Errors are fit for a header: none repeats the caller's own bytes.
func TestRefusalsNeverRepeatTheCallersText(t *testing.T) {
	v := newVerifier()
	evil := "\"\r\nX-Injected: yes"
	for name, token := range map[string]string{
		"duplicate key":   b64(`{"alg":"RS256","kid":"k","`+evil+`":1,"`+evil+`":2}`) + "." + b64(`{}`) + ".AA",
		"bad JSON":        b64(`{"alg":"RS256","kid":`+evil) + "." + b64(`{}`) + ".AA",
		"alg":             b64(`{"alg":"`+strings.ReplaceAll(evil, "\r\n", "")+`","kid":"k"}`) + "." + b64(`{}`) + ".AA",
		"claims bad JSON": sign(t, validClaims(), nil)[:10] + "." + b64(evil) + ".AA",
	} {
		_, err := v.Verify(token)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if strings.ContainsAny(err.Error(), "\"\r\n\\") || strings.Contains(err.Error(), "Injected") {
			t.Errorf("%s: the description repeats the caller's text: %q", name, err.Error())
		}
	}
}

func jwksServer(t *testing.T, keySet func(http.ResponseWriter)) string {
	t.Helper()
	var server *httptest.Server
	server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "openid-configuration") {
			writeJSON(w, map[string]any{"jwks_uri": server.URL + "/jwks.json"})
			return
		}
		keySet(w)
	}))
	t.Cleanup(server.Close)
	return server.URL + "/"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("content-type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Key-fetch failures tell the caller nothing of the issuer's URLs or network:
// the detail is for the server log.
func TestKeyFetchErrorsKeepTheirDetailForTheLog(t *testing.T) {
	closed := testsupport.FreeAddress(t)
	issuer := "http://" + closed + "/"
	v := &Verifier{Issuer: issuer, Audiences: []string{testAudience}, Keys: &RemoteKeySet{Issuer: issuer}}
	claims := validClaims()
	claims["iss"] = issuer
	_, err := v.Verify(sign(t, claims, nil))
	if err == nil {
		t.Fatal("accepted without keys")
	}
	if strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), "connect") {
		t.Errorf("the caller's description holds fetch detail: %q", err.Error())
	}
	if detail := Detail(err); !strings.Contains(detail, closed) {
		t.Errorf("the log detail %q does not say what failed", detail)
	}
}

// A failed fetch is retried after FailureRetryGap, long before the refetch
// gap for unknown kids: an issuer that comes back is used within seconds.
func TestAFailedFetchIsRetriedSoon(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	issuerKey := testKey
	var issuer *devissuer.Issuer
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		issuer.ServeHTTP(w, r)
	}))
	defer server.Close()
	issuer = devissuer.New(server.URL+"/", issuerKey)
	c := newClock()
	keys := &RemoteKeySet{Issuer: issuer.URL, Now: c.Now}
	v := &Verifier{Issuer: issuer.URL, Audiences: []string{"api"}, Keys: keys, Now: c.Now}
	token, _ := issuer.AccessToken(devissuer.TokenRequest{Subject: "s", Audience: "api", TTL: time.Hour})
	if _, err := v.Verify(token); err == nil {
		t.Fatal("accepted while the issuer is down")
	}
	down.Store(false)
	c.Advance(FailureRetryGap + time.Second)
	if _, err := v.Verify(token); err != nil {
		t.Errorf("%s after the failure, with the issuer back: %v", FailureRetryGap+time.Second, err)
	}
	if FailureRetryGap >= DefaultRefetchGap {
		t.Errorf("failures are retried after %s, no sooner than unknown kids (%s)", FailureRetryGap, DefaultRefetchGap)
	}
}

// A jwks_uri that redirects to another host is not followed.
func TestKeySetRedirectToAnotherHostIsNotFollowed(t *testing.T) {
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		writeJSON(w, map[string]any{"keys": []any{devissuer.New("", testKey).JWK()}})
	}))
	defer evil.Close()
	// The same listener under another name: localhost instead of 127.0.0.1.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	issuer := jwksServer(t, func(w http.ResponseWriter) {
		w.Header().Set("location", evilURL+"/jwks.json")
		w.WriteHeader(http.StatusFound)
	})
	keys := &RemoteKeySet{Issuer: issuer}
	if _, err := keys.Key(devissuer.New("", testKey).KeyID()); err == nil {
		t.Error("a key from the redirect's host was used")
	}
	if evilHits.Load() != 0 {
		t.Errorf("the redirect to another host was followed %d time(s)", evilHits.Load())
	}
}

// While a slow refetch for a new kid runs, a request whose key is cached
// answers at once. The bound is generous; the point is not waiting 2 s.
func TestCachedKeysDoNotWaitForASlowRefetch(t *testing.T) {
	var slow atomic.Bool
	arrived, release := make(chan struct{}), make(chan struct{})
	issuer := devissuer.New("", testKey)
	server := jwksServer(t, func(w http.ResponseWriter) {
		if slow.Load() {
			close(arrived)
			<-release // the refetch hangs until the cached lookup is done
		}
		writeJSON(w, map[string]any{"keys": []any{issuer.JWK()}})
	})
	// No fetch timeout: the refetch lasts until released, however slow the machine.
	keys := &RemoteKeySet{Issuer: server, RefetchGap: time.Nanosecond, Client: &http.Client{}}
	if _, err := keys.Key(issuer.KeyID()); err != nil {
		t.Fatal(err)
	}
	slow.Store(true)
	refetching := make(chan struct{})
	go func() {
		defer close(refetching)
		keys.Key("a-new-kid") // starts the refetch
	}()
	<-arrived
	cached := make(chan error, 1)
	started := time.Now()
	go func() {
		_, err := keys.Key(issuer.KeyID())
		cached <- err
	}()
	select {
	case err := <-cached:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("a cached key answered in %s while a refetch hung", time.Since(started))
	case <-time.After(10 * time.Second): // only reached when the lookup waits for the refetch
		t.Error("a cached key waited for a refetch of another key")
	}
	close(release)
	<-refetching
}
