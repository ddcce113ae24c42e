// Package devissuer is a local OpenID Connect provider for development and
// tests: it serves discovery and a key set for one RSA key, mints access
// tokens shaped like Auth0's, and, with a Directory of users and clients, is
// an authorization server that answers exactly what Auth0's SPA library and
// the client-credentials grant use (authserver.go). Nothing deployed uses it.
package devissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/dpop"
)

// Issuer serves discovery and a key set for one RSA key, and mints RS256
// access tokens with it.
type Issuer struct {
	URL string // the issuer, with its trailing slash, as tokens carry it
	// Directory holds the users who can sign in and the clients; nil: none.
	Directory *Directory
	// Audiences are the API identifiers tokens may be asked for.
	Audiences []string
	// OrganizationName adds org_name beside org_id, and lets /authorize and
	// the client-credentials grant take an organization's name, as an Auth0
	// tenant does with "allow_organization_name_in_authentication_api" on.
	OrganizationName bool
	// RequireDPoP refuses a token request without a DPoP proof, as Auth0 does
	// for an API whose proof-of-possession is required.
	RequireDPoP bool

	key   *rsa.PrivateKey
	keyID string
	state authState
}

// New makes an issuer at url that signs with key.
func New(url string, key *rsa.PrivateKey) *Issuer {
	sum := sha256.Sum256(key.N.Bytes())
	return &Issuer{URL: url, key: key, keyID: base64.RawURLEncoding.EncodeToString(sum[:12])}
}

// KeyID is the kid of the issuer's key.
func (d *Issuer) KeyID() string { return d.keyID }

// LoadOrCreateKey reads an RSA key from a PEM file, creating a 2048-bit one,
// readable only by its owner, when the file does not exist. A file that
// others can read is refused: its key may already be copied.
func LoadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
		return key, os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
	}
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: others can read this private key (mode %v): run `chmod 600 %s`, or delete it to get a new one", path, info.Mode().Perm(), path)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: not a PEM file; delete it to get a new dev key", path)
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

// ServeHTTP serves discovery, the key set and the authorization server.
func (d *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, d.discovery())
	case "/.well-known/jwks.json":
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{d.JWK()}})
	case "/authorize":
		d.authorize(w, r)
	case "/oauth/token":
		d.token(w, r)
	case "/userinfo":
		d.userinfo(w, r)
	case "/v2/logout":
		d.logout(w, r)
	default:
		http.NotFound(w, r)
	}
}

// discovery has every field OpenID Connect Discovery 1.0 §3 requires, and
// the endpoints and modes this server offers.
func (d *Issuer) discovery() map[string]any {
	base := strings.TrimSuffix(d.URL, "/")
	return map[string]any{
		"issuer":                                d.URL,
		"authorization_endpoint":                base + "/authorize",
		"token_endpoint":                        base + "/oauth/token",
		"userinfo_endpoint":                     base + "/userinfo",
		"end_session_endpoint":                  base + "/v2/logout",
		"jwks_uri":                              base + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "web_message"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"dpop_signing_alg_values_supported":     dpop.Algorithms,
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_post", "client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                      []string{"sub", "name", "email", "nonce"},
	}
}

// JWK is the public key as a JSON Web Key.
func (d *Issuer) JWK() map[string]string {
	return map[string]string{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": d.keyID,
		"n": base64.RawURLEncoding.EncodeToString(d.key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(d.key.E)).Bytes()),
	}
}

// TokenRequest describes an access token to mint.
type TokenRequest struct {
	Subject  string
	Audience string
	// ClientID is the application the token is for (azp); "": apictl's own.
	ClientID string
	Scopes   []string
	// Permissions become the "permissions" claim, as Auth0 writes it when RBAC
	// and "Add Permissions in the Access Token" are on.
	Permissions []string
	// Organization is the organization the token is issued for: its ID
	// becomes org_id, and its name org_name when OrganizationName is set, as
	// Auth0 writes them; nil: none.
	Organization *Organization
	// Confirmation binds the token to a DPoP key: its RFC 7638 thumbprint
	// becomes cnf.jkt (RFC 9449 §6.1); "": a bearer token.
	Confirmation string
	TTL          time.Duration
}

// AccessToken mints an RS256 access token shaped like Auth0's.
func (d *Issuer) AccessToken(req TokenRequest) (string, error) {
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": d.URL,
		"sub": req.Subject,
		"aud": req.Audience,
		"iat": now.Unix(),
		"exp": now.Add(req.TTL).Unix(),
		"azp": "apictl-dev-issuer",
	}
	if req.ClientID != "" {
		claims["azp"] = req.ClientID
	}
	if len(req.Scopes) > 0 {
		claims["scope"] = strings.Join(req.Scopes, " ")
	}
	if req.Permissions != nil {
		claims["permissions"] = req.Permissions
	}
	if req.Confirmation != "" {
		claims["cnf"] = map[string]string{"jkt": req.Confirmation}
	}
	if req.Organization != nil {
		claims["org_id"] = req.Organization.ID
		if d.OrganizationName {
			claims["org_name"] = req.Organization.Name
		}
	}
	return d.Sign(claims)
}

// Sign signs any claims with the issuer's key, RS256 and its kid.
func (d *Issuer) Sign(claims jwt.MapClaims) (string, error) {
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	token.Header["kid"] = d.keyID
	return token.SignedString(d.key)
}
