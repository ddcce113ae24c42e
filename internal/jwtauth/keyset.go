package jwtauth

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The limits API Gateway documents for fetching an issuer's keys
// (docs/jwt-authorizer.md, "The signature").
const (
	FetchTimeout      = 1500 * time.Millisecond
	MaxKeySetBytes    = 150_000
	KeyCacheLifetime  = 2 * time.Hour
	DefaultRefetchGap = time.Minute
)

var (
	errUnknownKeyID    = errors.New("the token's kid matches no key of the issuer")
	errKeysUnavailable = errors.New("the issuer's signing keys could not be fetched")
)

// RemoteKeySet holds an issuer's RSA signing keys, found through OpenID Connect
// discovery. It fetches them on first use, keeps them for KeyCacheLifetime, and
// refetches on an unknown kid at most once per RefetchGap. When keys cannot be
// had, every lookup fails, so tokens are refused (fail closed).
type RemoteKeySet struct {
	Issuer     string
	Client     *http.Client  // nil: one with FetchTimeout
	RefetchGap time.Duration // 0: DefaultRefetchGap
	Now        func() time.Time

	mu          sync.Mutex
	keys        map[string]*rsa.PublicKey
	fetchedAt   time.Time
	attemptedAt time.Time
	fetches     atomic.Int64 // discovery-and-key-set fetches, for the tests
}

// Key returns the key with the given ID.
func (k *RemoteKeySet) Key(kid string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	fresh := !k.fetchedAt.IsZero() && now.Sub(k.fetchedAt) < KeyCacheLifetime
	if key, ok := k.keys[kid]; ok && fresh {
		return key, nil
	}
	gap := k.RefetchGap
	if gap == 0 {
		gap = DefaultRefetchGap
	}
	if !k.attemptedAt.IsZero() && now.Sub(k.attemptedAt) < gap {
		if fresh {
			return nil, errUnknownKeyID
		}
		return nil, errKeysUnavailable
	}
	k.attemptedAt = now
	keys, err := k.fetch()
	if err != nil {
		if !fresh {
			k.keys = nil
		}
		return nil, fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	k.keys, k.fetchedAt = keys, now
	if key, ok := keys[kid]; ok {
		return key, nil
	}
	return nil, errUnknownKeyID
}

func (k *RemoteKeySet) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// fetch follows <issuer>/.well-known/openid-configuration to its jwks_uri.
func (k *RemoteKeySet) fetch() (map[string]*rsa.PublicKey, error) {
	k.fetches.Add(1)
	client := k.Client
	if client == nil {
		client = &http.Client{Timeout: FetchTimeout}
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
			Kty, Kid, Use, N, E string
		} `json:"keys"`
	}
	if err := getJSON(client, discovery.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, jwk := range set.Keys {
		if jwk.Kty != "RSA" || jwk.Kid == "" || (jwk.Use != "" && jwk.Use != "sig") {
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
		keys[jwk.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exponent}
	}
	return keys, nil
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
type StaticKeys map[string]*rsa.PublicKey

// Key returns the key with the given ID.
func (s StaticKeys) Key(kid string) (*rsa.PublicKey, error) {
	if key, ok := s[kid]; ok {
		return key, nil
	}
	return nil, errUnknownKeyID
}
