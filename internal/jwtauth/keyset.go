package jwtauth

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The limits API Gateway documents for fetching an issuer's keys, and the
// refetch rules this project chose where it is silent (docs/jwt-authorizer.md).
const (
	FetchTimeout     = 1500 * time.Millisecond
	MaxKeySetBytes   = 150_000
	KeyCacheLifetime = 2 * time.Hour
	// DefaultRefetchGap: a key set fetched fine is fetched again for an
	// unknown kid at most this often, so invented kids cannot flood the issuer.
	DefaultRefetchGap = time.Minute
	// FailureRetryGap: a fetch that failed is tried again this soon, so an
	// issuer that comes back is used within seconds.
	FailureRetryGap = 5 * time.Second
	maxRedirects    = 5
)

var (
	errUnknownKeyID    = errors.New("the token's kid matches no key of the issuer")
	errKeysUnavailable = errors.New("the issuer's signing keys could not be fetched")
)

// unavailableError is errKeysUnavailable for the caller, with what failed for the log.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string { return errKeysUnavailable.Error() }
func (e *unavailableError) Unwrap() error { return errKeysUnavailable }
func (e *unavailableError) Detail() string {
	return errKeysUnavailable.Error() + ": " + e.cause.Error()
}

// RemoteKeySet holds an issuer's RSA signing keys, found through OpenID Connect
// discovery. It fetches them on first use and keeps them for KeyCacheLifetime.
// An unknown kid refetches at most once per RefetchGap, a failed fetch is
// retried after FailureRetryGap, and one fetch runs at a time: a lookup whose
// key is cached never waits for it. When keys cannot be had, every lookup
// fails, so tokens are refused (fail closed).
type RemoteKeySet struct {
	Issuer     string
	Client     *http.Client  // nil: one with FetchTimeout that follows no redirect to another host
	RefetchGap time.Duration // 0: DefaultRefetchGap
	Now        func() time.Time

	mu          sync.Mutex // never held across a fetch
	keys        map[string]*Key
	fetchedAt   time.Time
	attemptedAt time.Time
	lastErr     error         // the last fetch's failure, nil after a success
	fetching    chan struct{} // closed when the running fetch ends; nil when none runs
	fetches     atomic.Int64  // discovery-and-key-set fetches, for the tests
}

// Key returns the key with the given ID.
func (k *RemoteKeySet) Key(kid string) (*Key, error) {
	k.mu.Lock()
	now := k.now()
	if key, ok := k.keys[kid]; ok && k.fresh(now) {
		k.mu.Unlock()
		return key, nil
	}
	if running := k.fetching; running != nil {
		k.mu.Unlock()
		<-running
		return k.lookup(kid)
	}
	gap := k.RefetchGap
	if gap == 0 {
		gap = DefaultRefetchGap
	}
	if k.lastErr != nil {
		gap = min(gap, FailureRetryGap)
	}
	if !k.attemptedAt.IsZero() && now.Sub(k.attemptedAt) < gap {
		k.mu.Unlock()
		return k.lookup(kid)
	}
	k.attemptedAt = now
	done := make(chan struct{})
	k.fetching = done
	k.mu.Unlock()

	keys, err := k.fetch()

	k.mu.Lock()
	if err != nil {
		k.lastErr = err
		if !k.fresh(now) {
			k.keys = nil
		}
	} else {
		k.keys, k.fetchedAt, k.lastErr = keys, now, nil
	}
	k.fetching = nil
	close(done)
	k.mu.Unlock()
	return k.lookup(kid)
}

// lookup answers from what the last fetch left, without fetching.
func (k *RemoteKeySet) lookup(kid string) (*Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fresh := k.fresh(k.now())
	if key, ok := k.keys[kid]; ok && fresh {
		return key, nil
	}
	if !fresh {
		if k.lastErr != nil {
			return nil, &unavailableError{k.lastErr}
		}
		return nil, errKeysUnavailable
	}
	return nil, errUnknownKeyID
}

// fresh tells whether the keys were fetched within KeyCacheLifetime. k.mu is held.
func (k *RemoteKeySet) fresh(now time.Time) bool {
	return !k.fetchedAt.IsZero() && now.Sub(k.fetchedAt) < KeyCacheLifetime
}

func (k *RemoteKeySet) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// fetch follows <issuer>/.well-known/openid-configuration to its jwks_uri.
func (k *RemoteKeySet) fetch() (map[string]*Key, error) {
	k.fetches.Add(1)
	client := k.Client
	if client == nil {
		client = &http.Client{Timeout: FetchTimeout, CheckRedirect: sameHostRedirects}
	}
	var discovery struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(client, strings.TrimSuffix(k.Issuer, "/")+"/.well-known/openid-configuration", &discovery); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if discovery.JWKSURI == "" {
		return nil, errors.New("discovery: no jwks_uri")
	}
	var set struct {
		Keys []struct {
			Kty, Kid, Use, Alg, N, E string
		} `json:"keys"`
	}
	if err := getJSON(client, discovery.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	keys := map[string]*Key{}
	for _, jwk := range set.Keys {
		// RFC 7517 §4.2 and §4.4: a key for encryption, or for an algorithm this
		// verifier does not accept, verifies nothing.
		if jwk.Kty != "RSA" || jwk.Kid == "" || (jwk.Use != "" && jwk.Use != "sig") || (jwk.Alg != "" && rsaMethods[jwk.Alg] == 0) {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(jwk.N)
		e, errE := base64.RawURLEncoding.DecodeString(jwk.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		exponent := int(new(big.Int).SetBytes(e).Int64())
		if exponent < 3 {
			continue
		}
		keys[jwk.Kid] = &Key{Public: &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exponent}, Algorithm: jwk.Alg}
	}
	return keys, nil
}

// CheckIssuerURL accepts an https URL of an issuer, or http on a loopback
// address (the dev issuer, a stand-in on this machine). what names the URL in
// the error.
func CheckIssuerURL(what, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not a URL", what, rawURL)
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	return fmt.Errorf("%s %q must be https, or http on a loopback address", what, rawURL)
}

// sameHostRedirects follows a redirect only on the host first asked: a
// jwks_uri that sends the fetch elsewhere would let another host pick the keys.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("redirect from %s to another host, %s, not followed", via[0].URL.Host, req.URL.Host)
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	return nil
}

// getJSON fetches a JSON document of at most MaxKeySetBytes.
func getJSON(client *http.Client, url string, into any) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeySetBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if len(body) > MaxKeySetBytes {
		return fmt.Errorf("%s: larger than %d bytes", url, MaxKeySetBytes)
	}
	return json.Unmarshal(body, into)
}

// StaticKeys is a fixed key set by kid: for tests, and for issuers whose keys
// are known in advance.
type StaticKeys map[string]*Key

// Key returns the key with the given ID.
func (s StaticKeys) Key(kid string) (*Key, error) {
	if key, ok := s[kid]; ok {
		return key, nil
	}
	return nil, errUnknownKeyID
}
