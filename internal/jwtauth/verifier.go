// Package jwtauth checks bearer tokens as API Gateway's JWT authorizer for
// HTTP APIs does (docs/jwt-authorizer.md, and
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
// RSA signatures only, a kid from the issuer's key set, an exact issuer, the
// aud/client_id rule, exp, nbf and iat. It knows nothing of templates, routes or
// HTTP servers, so that the local API and a deployed Lambda authorizer run the
// same checks.
package jwtauth

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha256" // RS256
	_ "crypto/sha512" // RS384, RS512
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Keys finds an issuer's signing key by its kid.
type Keys interface {
	Key(kid string) (*Key, error)
}

// Key is a public signing key and, when its JWK names one, the one algorithm
// it may verify.
type Key struct {
	Public    *rsa.PublicKey
	Algorithm string // "" when the JWK has no "alg"
}

// Detail is the whole story of a refusal, for the server log: for a key fetch
// that failed, what failed and why. Callers are only told err.Error(), which
// never holds the caller's own text nor the issuer's URLs.
func Detail(err error) string {
	var detailed interface{ Detail() string }
	if errors.As(err, &detailed) {
		return detailed.Detail()
	}
	return err.Error()
}

// ErrNoToken: the request carries no token at all. API Gateway answers 401
// without an error description.
var ErrNoToken = errors.New("no token")

// Verifier checks tokens of one issuer for a set of audiences.
type Verifier struct {
	Issuer    string
	Audiences []string
	Keys      Keys
	// ClockSkew tolerates clocks that disagree; AWS documents none, so the default is 0.
	ClockSkew time.Duration
	Now       func() time.Time

	mu       sync.Mutex
	verified map[string]*verifiedToken // by the token's exact text
}

// Token is a verified token as the authorizer hands it on.
type Token struct {
	// Claims are stringified as API Gateway passes them to a function.
	Claims map[string]string
	// Scopes are read from "scope" (space-separated), or else "scp".
	Scopes []string
	// Permissions are Auth0's RBAC "permissions" claim, a list of strings.
	// API Gateway's JWT authorizer never reads it; the permissions authorizer does.
	Permissions []string
	// Organization is Auth0's "org_id" claim, the organization the token was
	// issued for, when it is a string; "" otherwise. Never "org_name": Auth0
	// names can be reused, IDs cannot (docs/organizations.md).
	Organization string
	// Confirmation is the SHA-256 thumbprint of the key the token is bound
	// to (its cnf.jkt, RFC 9449 §6.1), "" for a bearer token.
	Confirmation string
}

// verifiedToken is a token whose signature, issuer and audience passed. Clients
// send the same token until it expires, so remembering it spares the RSA
// verification, two thirds of a check's cost. It changes no answer: an entry is
// used only while the key that verified it is still in the key set, and the
// time claims are checked again on every request.
type verifiedToken struct {
	Token
	claims  map[string]any
	kid     string
	key     *Key
	expires time.Time
}

// maxVerifiedTokens bounds the memory the remembered tokens take.
const maxVerifiedTokens = 10_000

// The RSA algorithms accepted, RSASSA-PKCS1-v1_5 with their hashes (RFC 7518
// §3.3); AWS says "RSA-based" and leaves open which variants count.
var rsaMethods = map[string]crypto.Hash{
	"RS256": crypto.SHA256,
	"RS384": crypto.SHA384,
	"RS512": crypto.SHA512,
}

// verifySignature checks an RS256/384/512 signature over the token's first two segments.
func verifySignature(hash crypto.Hash, signingInput string, signature []byte, key *rsa.PublicKey) error {
	digest := hash.New()
	digest.Write([]byte(signingInput))
	return rsa.VerifyPKCS1v15(key, hash, digest.Sum(nil), signature)
}

// latestTime bounds exp, nbf and iat: year 9999. A larger value is malformed.
const latestTime = 253402300799

// Verify checks the identity source's value: a token, with or without the
// "Bearer " prefix. A refused token's error says why, in words fit for the caller.
func (v *Verifier) Verify(header string) (*Token, error) {
	if header == "" {
		return nil, ErrNoToken
	}
	// Exactly "Bearer " or no prefix: "bearer x" or "Bearer  x" stay malformed tokens.
	token := strings.TrimPrefix(header, "Bearer ")
	checked, err := v.verifiedToken(token)
	if err == nil {
		err = v.checkTimes(checked.claims)
	}
	if err != nil {
		return nil, err
	}
	return &checked.Token, nil
}

// verifiedToken returns the remembered check of a token, or checks it now.
func (v *Verifier) verifiedToken(token string) (*verifiedToken, error) {
	v.mu.Lock()
	checked := v.verified[token]
	v.mu.Unlock()
	if checked != nil {
		if key, err := v.Keys.Key(checked.kid); err == nil && key == checked.key {
			return checked, nil
		}
	}
	checked, err := v.verify(token)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.verified) >= maxVerifiedTokens {
		now := v.now()
		for text, old := range v.verified {
			if !now.Before(old.expires) {
				delete(v.verified, text)
			}
		}
	}
	if v.verified == nil || len(v.verified) >= maxVerifiedTokens {
		v.verified = map[string]*verifiedToken{}
	}
	v.verified[token] = checked
	return checked, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// verify checks everything about a token but its time claims, which change
// meaning as time passes.
func (v *Verifier) verify(token string) (*verifiedToken, error) {
	if strings.Count(token, ".") != 2 {
		return nil, errors.New("token contains an invalid number of segments")
	}
	parts := strings.Split(token, ".")
	headerJSON, err1 := decodeSegment(parts[0])
	payloadJSON, err2 := decodeSegment(parts[1])
	signature, err3 := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil || !validBase64URL(parts[2]) {
		return nil, errors.New("the token is not base64url-encoded JSON")
	}
	// The decoding errors quote the caller's bytes, so they are not passed on.
	header, err := decodeObject(headerJSON)
	if err != nil {
		return nil, errors.New("the token header is not a single JSON object")
	}
	// RFC 7515 §4.1.11: a critical extension the recipient does not understand
	// makes the token invalid, and this verifier understands none.
	if _, present := header["crit"]; present {
		return nil, errors.New("the token header has critical parameters the authorizer does not understand")
	}
	alg, _ := header["alg"].(string)
	hash, ok := rsaMethods[alg]
	if !ok {
		// The value is the caller's: it is not repeated back.
		return nil, errors.New("the token algorithm is not accepted")
	}
	kid, ok := header["kid"].(string)
	if !ok || kid == "" {
		return nil, errors.New("the token has no kid")
	}
	key, err := v.Keys.Key(kid)
	if err != nil {
		return nil, err
	}
	// RFC 7517 §4.4: a key published for one algorithm verifies no other.
	if key.Algorithm != "" && key.Algorithm != alg {
		return nil, errors.New("the token algorithm does not match its key")
	}
	if err := verifySignature(hash, parts[0]+"."+parts[1], signature, key.Public); err != nil {
		return nil, errors.New("the token signature is invalid")
	}
	claims, err := decodeObject(payloadJSON)
	if err != nil {
		return nil, errors.New("the token claims are not a single JSON object")
	}
	if iss, _ := claims["iss"].(string); iss != v.Issuer {
		return nil, errors.New("the token issuer is not accepted")
	}
	if !v.audienceMatches(claims) {
		// Word for word what AWS's JWT troubleshooting page shows.
		return nil, errors.New("the token does not have a valid audience")
	}
	exp, _, _ := numericDate(claims, "exp")
	return &verifiedToken{Token: Token{Claims: stringifyClaims(claims), Scopes: tokenScopes(claims), Permissions: stringList(claims["permissions"]), Organization: stringClaim(claims["org_id"]), Confirmation: confirmation(claims)}, claims: claims, kid: kid, key: key, expires: exp}, nil
}

func (v *Verifier) checkTimes(claims map[string]any) error {
	now := v.now()
	exp, ok, err := numericDate(claims, "exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return errors.New("the token has no exp")
	case !now.Before(exp.Add(v.ClockSkew)):
		return errors.New("the token has expired")
	}
	for _, name := range []string{"nbf", "iat"} {
		at, present, err := numericDate(claims, name)
		if err != nil {
			return err
		}
		if present && at.After(now.Add(v.ClockSkew)) {
			return fmt.Errorf("the token %s is in the future", name)
		}
	}
	return nil
}

// numericDate reads a whole number of seconds; strings, fractions and absurd values are malformed.
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	raw, present := claims[name]
	if !present {
		return time.Time{}, false, nil
	}
	number, ok := raw.(json.Number)
	seconds, err := strconv.ParseInt(string(number), 10, 64)
	if !ok || err != nil || seconds < 0 || seconds > latestTime {
		return time.Time{}, true, fmt.Errorf("the token %s is not a valid time", name)
	}
	return time.Unix(seconds, 0), true, nil
}

// audienceMatches applies the rule: aud, when present, must hold one accepted
// audience; client_id counts only when aud is absent.
func (v *Verifier) audienceMatches(claims map[string]any) bool {
	aud, present := claims["aud"]
	if !present {
		clientID, _ := claims["client_id"].(string)
		return slices.Contains(v.Audiences, clientID)
	}
	switch aud := aud.(type) {
	case string:
		return slices.Contains(v.Audiences, aud)
	case []any:
		for _, entry := range aud {
			if s, ok := entry.(string); ok && slices.Contains(v.Audiences, s) {
				return true
			}
		}
	}
	return false
}

// tokenScopes reads "scope" (space-separated), or else "scp" (string or list).
func tokenScopes(claims map[string]any) []string {
	if scope, ok := claims["scope"].(string); ok {
		return splitScopes(scope)
	}
	if scp, ok := claims["scp"].(string); ok {
		return splitScopes(scp)
	}
	return stringList(claims["scp"])
}

// stringClaim is a claim that must be a JSON string; anything else is "".
// confirmation is a token's cnf.jkt, when it is a string.
func confirmation(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	return stringClaim(cnf["jkt"])
}

func stringClaim(value any) string {
	s, _ := value.(string)
	return s
}

// stringList is the strings of a JSON array; anything else holds none.
func stringList(value any) []string {
	list, _ := value.([]any)
	var strings []string
	for _, item := range list {
		if s, ok := item.(string); ok {
			strings = append(strings, s)
		}
	}
	return strings
}

// HoldsAny is the rule API Gateway applies to scopes, and the permissions
// authorizer to permissions: a route that requires nothing takes any valid
// token; otherwise the token must hold at least one of what it requires.
func HoldsAny(held, required []string) bool {
	return len(required) == 0 || slices.ContainsFunc(held, func(s string) bool { return slices.Contains(required, s) })
}

// splitScopes separates scopes by the space character alone (RFC 6749 §3.3),
// as API Gateway does: a tab or a no-break space stays inside a scope, which
// then matches nothing.
func splitScopes(scope string) []string {
	var scopes []string
	for _, s := range strings.Split(scope, " ") {
		if s != "" {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// stringifyClaims renders claims the way API Gateway hands them to a function
// in payload 2.0: every value a string, arrays as "[a b]".
func stringifyClaims(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for name, value := range claims {
		out[name] = stringifyClaim(value)
	}
	return out
}

func stringifyClaim(value any) string {
	switch v := value.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	case []any:
		parts := make([]string, len(v))
		for i, item := range v {
			parts[i] = stringifyClaim(item)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		encoded, _ := json.Marshal(v)
		return string(encoded)
	}
}

func validBase64URL(segment string) bool {
	for i := 0; i < len(segment); i++ {
		c := segment[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeSegment decodes unpadded base64url; standard base64 (+ / =) is refused.
func decodeSegment(segment string) ([]byte, error) {
	if segment == "" || !validBase64URL(segment) {
		return nil, errors.New("not base64url")
	}
	decoded, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(decoded) {
		return nil, errors.New("not UTF-8")
	}
	return decoded, nil
}

// decodeObject parses exactly one JSON object, refusing duplicate keys at any
// depth and any byte after the object, so that {"alg":"RS256","alg":"none"}
// or {...}} cannot mean one thing here and another to another parser.
func decodeObject(data []byte) (map[string]any, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	value, err := decodeValue(decoder)
	if err != nil {
		return nil, err
	}
	if decoder.InputOffset() != int64(len(data)) {
		return nil, errors.New("trailing data")
	}
	object, ok := value.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return object, nil
}

func decodeValue(decoder *json.Decoder) (any, error) {
	token, err := decoder.Token()
	if err != nil {
		return nil, err
	}
	switch token {
	case json.Delim('{'):
		object := map[string]any{}
		for decoder.More() {
			keyToken, err := decoder.Token()
			if err != nil {
				return nil, err
			}
			key := keyToken.(string)
			if _, dup := object[key]; dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			if object[key], err = decodeValue(decoder); err != nil {
				return nil, err
			}
		}
		_, err := decoder.Token() // '}'
		return object, err
	case json.Delim('['):
		list := []any{}
		for decoder.More() {
			item, err := decodeValue(decoder)
			if err != nil {
				return nil, err
			}
			list = append(list, item)
		}
		_, err := decoder.Token() // ']'
		return list, err
	default:
		return token, nil
	}
}
