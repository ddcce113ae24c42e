package localapi

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time for the authorizer and the key set.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func TestRememberedTokenStillExpires(t *testing.T) {
	c := &clock{}
	c.now.Store(time.Now().UnixNano())
	a := &Authorizer{Issuer: suite.issuer.URL, Audiences: suite.api.Audience, Keys: suite.local.Keys, Now: c.Now}
	header := "Bearer " + token(t, "read:user") // valid for an hour
	if d := a.Authorize(header, nil); d.Status != http.StatusOK {
		t.Fatalf("fresh token: %+v", d)
	}
	c.Advance(2 * time.Hour)
	if d := a.Authorize(header, nil); d.Status != http.StatusUnauthorized || d.Reason != "the token has expired" {
		t.Errorf("remembered token after its exp: %+v", d)
	}
}

func TestRememberedTokenIsRefusedOnceItsKeyIsRotatedOut(t *testing.T) {
	oldKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	var current atomic.Pointer[DevIssuer]
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().ServeHTTP(w, r) }))
	defer server.Close()
	issuerURL := server.URL + "/"
	oldIssuer := NewDevIssuer(issuerURL, oldKey)
	current.Store(oldIssuer)

	c := &clock{}
	c.now.Store(time.Now().UnixNano())
	keys := &KeySet{Issuer: issuerURL, Now: c.Now}
	a := &Authorizer{Issuer: issuerURL, Audiences: []string{"api"}, Keys: keys, Now: func() time.Time { return time.Now() }}
	tok, _ := oldIssuer.AccessToken(TokenRequest{Subject: "s", Audience: "api", TTL: 24 * time.Hour})
	if d := a.Authorize(tok, nil); d.Status != http.StatusOK {
		t.Fatalf("before rotation: %+v", d)
	}
	current.Store(NewDevIssuer(issuerURL, newKey))
	c.Advance(KeyCacheLifetime + time.Minute) // the key cache expires and is fetched again
	if d := a.Authorize(tok, nil); d.Status != http.StatusUnauthorized {
		t.Errorf("a token signed by a key no longer in the key set was accepted: %+v", d)
	}
}

// FuzzAuthorize: whatever the header holds, the authorizer does not panic, and
// it accepts nothing but the one token the issuer really issued. Without -fuzz,
// go test runs the seeds.
func FuzzAuthorize(f *testing.F) {
	valid := token(f, "read:user")
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid, "Bearer " + valid, "", "a.b.c", strings.Repeat(".", 100),
		"Bearer eyJhbGciOiJub25lIn0.e30.", parts[0] + "." + parts[1] + ".",
		parts[0] + ".eyJleHAiOjF9." + parts[2], "Bearer " + parts[0] + "." + parts[1] + "." + parts[2] + "x",
	} {
		f.Add(seed)
	}
	a := &Authorizer{Issuer: suite.issuer.URL, Audiences: suite.api.Audience, Keys: suite.local.Keys}
	f.Fuzz(func(t *testing.T, header string) {
		d := a.Authorize(header, []string{"read:user"})
		switch {
		case d.Status == http.StatusOK && strings.TrimPrefix(header, "Bearer ") != valid:
			t.Errorf("accepted a token that was never issued: %q", header)
		case d.Status != http.StatusOK && d.Status != http.StatusUnauthorized && d.Status != http.StatusForbidden:
			t.Errorf("status %d", d.Status)
		}
	})
}
