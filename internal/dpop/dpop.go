// Package dpop checks and makes DPoP proofs (RFC 9449): the JWT a client
// signs with its own key for each request, which binds its access token to
// that key. Check is the resource server's side (§4.3 and §7.1); the replay
// of a proof is the caller's to refuse, by its jti (§11.1). NewProof is the
// client's side, for apictl and the tests.
package dpop

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Algorithms are the proofs' signature algorithms accepted: asymmetric ones
// only (§4.3 item 5). ES256 is what Auth0's SPA library signs with.
var Algorithms = []string{"ES256", "ES384", "PS256", "RS256", "EdDSA"}

// The window of a proof's iat (§4.3 item 11, §11.1): it may be at most
// MaxAge old, and MaxSkew ahead of this clock, for a client whose clock runs
// fast. A replay store must keep a jti for MaxAge+MaxSkew: after that, its
// proof is refused as stale anyway.
const (
	MaxAge  = 60 * time.Second
	MaxSkew = 5 * time.Second
)

// maxProofLength bounds the header read: a proof with an RSA-4096 key is
// under 2 KB.
const maxProofLength = 8192

// latestTime bounds iat: year 9999.
const latestTime = 253402300799

// maxJTILength bounds what a replay store keeps per proof.
const maxJTILength = 256

// Request is what a proof must be for: the request's method, its URL as
// the server was called (query and fragment are ignored), and the access
// token sent with it, "" at a token endpoint, where the proof has no ath.
type Request struct {
	Method, URL, AccessToken string
}

// Proof is a checked proof: its unique ID, when it was made, and the RFC 7638
// thumbprint of the key that signed it, which the access token's cnf.jkt
// must equal.
type Proof struct {
	JTI        string
	IssuedAt   time.Time
	Thumbprint string
}

// Check verifies the value of a request's DPoP header: one proof, of type
// dpop+jwt, signed by the public key in its header with an accepted
// algorithm, for this method and URL, made within the window around now,
// and for this access token (ath). Its errors say why in words fit for a
// log line, and never quote the proof.
func Check(header string, req Request, now time.Time) (*Proof, error) {
	switch {
	case header == "":
		return nil, errors.New("no DPoP proof")
	case strings.Contains(header, ","):
		// API Gateway joins the values of a repeated header with commas, and
		// a compact JWS holds none (§4.3 item 1: one DPoP header).
		return nil, errors.New("more than one DPoP header")
	case len(header) > maxProofLength:
		return nil, errors.New("the DPoP proof is too long")
	}
	parts := strings.Split(header, ".")
	if len(parts) != 3 {
		return nil, errors.New("the DPoP proof is not a JWT")
	}
	head, err := decodeSegment(parts[0])
	if err != nil {
		return nil, errors.New("the DPoP proof's header is not a JSON object with each member once")
	}
	alg := stringMember(head, "alg")
	_, crit := head["crit"]
	switch {
	case stringMember(head, "typ") != "dpop+jwt":
		return nil, errors.New("the DPoP proof's typ is not dpop+jwt")
	case !slices.Contains(Algorithms, alg):
		return nil, errors.New("the DPoP proof's alg is not an accepted asymmetric algorithm")
	case crit:
		return nil, errors.New("the DPoP proof has critical header parameters, which are not understood")
	case head["jwk"] == nil:
		return nil, errors.New("the DPoP proof has no jwk")
	}
	key, thumbprint, err := publicKey(head["jwk"], alg)
	if err != nil {
		return nil, err
	}
	signature, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || !verify(alg, key, parts[0]+"."+parts[1], signature) {
		return nil, errors.New("the DPoP proof's signature is invalid")
	}
	claims, err := decodeSegment(parts[1])
	if err != nil {
		return nil, errors.New("the DPoP proof's claims are not a JSON object with each member once")
	}
	jti, ath := stringMember(claims, "jti"), stringMember(claims, "ath")
	var iat *float64
	json.Unmarshal(claims["iat"], &iat)
	switch {
	case jti == "" || len(jti) > maxJTILength:
		return nil, fmt.Errorf("the DPoP proof's jti must be 1 to %d characters", maxJTILength)
	case stringMember(claims, "htm") != req.Method:
		return nil, errors.New("the DPoP proof is for another method (htm)")
	case !sameURL(stringMember(claims, "htu"), req.URL):
		return nil, errors.New("the DPoP proof is for another URL (htu)")
	case iat == nil || *iat < 0 || *iat > latestTime:
		return nil, errors.New("the DPoP proof has no iat, or one that is no time")
	}
	issued := time.Unix(int64(*iat), 0)
	switch {
	case issued.Before(now.Add(-MaxAge)):
		return nil, fmt.Errorf("the DPoP proof is stale: made more than %s ago (iat)", MaxAge)
	case issued.After(now.Add(MaxSkew)):
		return nil, errors.New("the DPoP proof is made in the future (iat)")
	case req.AccessToken == "" && ath != "":
		return nil, errors.New("the DPoP proof names an access token (ath), and none is sent")
	case req.AccessToken != "" && ath != TokenHash(req.AccessToken):
		return nil, errors.New("the DPoP proof is for another access token (ath)")
	}
	return &Proof{JTI: jti, IssuedAt: issued, Thumbprint: thumbprint}, nil
}

// TokenHash is the ath of a proof for accessToken: the base64url SHA-256 of
// its ASCII (§4.2).
func TokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// decodeSegment reads a JWT segment: base64url of one JSON object.
func decodeSegment(segment string) (map[string]json.RawMessage, error) {
	data, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return nil, err
	}
	return exactObject(data)
}

// exactObject reads one JSON object by its members' exact names, and
// refuses a member named twice: encoding/json would match "TYP" for "typ",
// and keep the last of two, which JOSE reads otherwise (RFC 7515 §4).
func exactObject(data []byte) (map[string]json.RawMessage, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return nil, err
		}
		name, _ := token.(string)
		var value json.RawMessage
		if err := decoder.Decode(&value); err != nil {
			return nil, err
		}
		if _, twice := members[name]; twice {
			return nil, fmt.Errorf("the member %q is named twice", name)
		}
		members[name] = value
	}
	if _, err := decoder.Token(); err != nil {
		return nil, err
	}
	if decoder.More() {
		return nil, errors.New("more than one JSON value")
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return members, nil
}

// stringMember is an object's member, when it is a string; "" otherwise.
func stringMember(object map[string]json.RawMessage, name string) string {
	var s string
	json.Unmarshal(object[name], &s)
	return s
}

// privateMembers are the JWK members of a private or symmetric key (RFC 7518
// §6.2.2, §6.3.2, §6.4; RFC 8037 §2): a proof that carries one gave its key
// away (§4.3 item 7).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// curves maps an EC curve to the one algorithm a proof signed with it may use.
var curves = map[string]struct {
	curve elliptic.Curve
	alg   string
}{"P-256": {elliptic.P256(), "ES256"}, "P-384": {elliptic.P384(), "ES384"}}

// minRSABits is the smallest RSA key accepted (RFC 7518 §3.3).
const minRSABits = 2048

// publicKey reads the proof's jwk for alg, and its RFC 7638 thumbprint.
func publicKey(raw json.RawMessage, alg string) (crypto.PublicKey, string, error) {
	members, err := exactObject(raw)
	if err != nil {
		return nil, "", errors.New("the DPoP proof's jwk is not a JSON object with each member once")
	}
	k := struct{ Kty, Crv, X, Y, N, E string }{stringMember(members, "kty"), stringMember(members, "crv"),
		stringMember(members, "x"), stringMember(members, "y"), stringMember(members, "n"), stringMember(members, "e")}
	for _, member := range privateMembers {
		if _, present := members[member]; present {
			return nil, "", errors.New("the DPoP proof's jwk holds a private or symmetric key")
		}
	}
	decode := func(value string) ([]byte, bool) {
		data, err := base64.RawURLEncoding.Strict().DecodeString(value)
		return data, err == nil && len(data) > 0
	}
	switch k.Kty {
	case "EC":
		c, known := curves[k.Crv]
		if !known || c.alg != alg {
			return nil, "", errors.New("the DPoP proof's EC key is not on the curve of its alg")
		}
		x, okX := decode(k.X)
		y, okY := decode(k.Y)
		size := (c.curve.Params().BitSize + 7) / 8
		if !okX || !okY || len(x) != size || len(y) != size {
			return nil, "", errors.New("the DPoP proof's EC key is malformed")
		}
		key, err := ecdsa.ParseUncompressedPublicKey(c.curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, "", errors.New("the DPoP proof's EC key is not a point of its curve")
		}
		return key, thumbprintOf(map[string]string{"crv": k.Crv, "kty": "EC", "x": k.X, "y": k.Y}), nil
	case "RSA":
		if alg != "RS256" && alg != "PS256" {
			return nil, "", errors.New("the DPoP proof's RSA key does not go with its alg")
		}
		n, okN := decode(k.N)
		e, okE := decode(k.E)
		if !okN || !okE || len(e) > 4 || n[0] == 0 || e[0] == 0 {
			return nil, "", errors.New("the DPoP proof's RSA key is malformed")
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if key.N.BitLen() < minRSABits || key.E < 3 || key.E%2 == 0 {
			return nil, "", fmt.Errorf("the DPoP proof's RSA key must be at least %d bits, with an odd exponent", minRSABits)
		}
		return key, thumbprintOf(map[string]string{"e": k.E, "kty": "RSA", "n": k.N}), nil
	case "OKP":
		x, ok := decode(k.X)
		if alg != "EdDSA" || k.Crv != "Ed25519" || !ok || len(x) != ed25519.PublicKeySize {
			return nil, "", errors.New("the DPoP proof's OKP key is not an Ed25519 key for EdDSA")
		}
		return ed25519.PublicKey(x), thumbprintOf(map[string]string{"crv": k.Crv, "kty": "OKP", "x": k.X}), nil
	}
	return nil, "", errors.New("the DPoP proof's jwk has no accepted kty")
}

// thumbprintOf is the RFC 7638 thumbprint of a key's required members:
// their JSON object, members sorted and no whitespace (which encoding/json
// writes for a map), hashed with SHA-256, in base64url.
func thumbprintOf(required map[string]string) string {
	encoded, _ := json.Marshal(required)
	sum := sha256.Sum256(encoded)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// verify checks a signature over signingInput with key, by alg.
func verify(alg string, key crypto.PublicKey, signingInput string, signature []byte) bool {
	switch alg {
	case "ES256", "ES384":
		ec := key.(*ecdsa.PublicKey)
		size := (ec.Curve.Params().BitSize + 7) / 8
		if len(signature) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(signature[:size]), new(big.Int).SetBytes(signature[size:])
		return ecdsa.Verify(ec, digest(alg, signingInput), r, s)
	case "RS256":
		return rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), crypto.SHA256, digest(alg, signingInput), signature) == nil
	case "PS256":
		// RFC 7518 §3.5: the salt is as long as the hash.
		return rsa.VerifyPSS(key.(*rsa.PublicKey), crypto.SHA256, digest(alg, signingInput), signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case "EdDSA":
		return ed25519.Verify(key.(ed25519.PublicKey), []byte(signingInput), signature)
	}
	return false
}

func digest(alg, signingInput string) []byte {
	if alg == "ES384" {
		sum := sha512.Sum384([]byte(signingInput))
		return sum[:]
	}
	sum := sha256.Sum256([]byte(signingInput))
	return sum[:]
}

// sameURL compares a proof's htu with the request's URL as RFC 9449 §4.3
// item 9 asks: without query and fragment, after RFC 3986 §6.2.2 and §6.2.3
// normalization. Paths compare decoded: API Gateway hands the authorizer the
// request's path decoded, so "%2F" and "/" are one to it, and to this check.
// Either one failing to parse is no match.
func sameURL(htu, requested string) bool {
	a, errA := normalizeURL(htu)
	b, errB := normalizeURL(requested)
	return errA == nil && errB == nil && a == b
}

// defaultPorts are dropped in normalization (RFC 3986 §6.2.3).
var defaultPorts = map[string]string{"http": "80", "https": "443"}

// normalizeURL is an absolute http(s) URL in normal form: scheme and host in
// lower case, no default port, the path decoded, "/" for an empty one, dot
// segments removed, and no query or fragment.
func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", errors.New("not an absolute http(s) URL")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == defaultPorts[scheme] {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + withoutDotSegments(u.Path), nil
}

// withoutDotSegments is a path with its "." and ".." segments resolved
// (RFC 3986 §5.2.4), and "/" for an empty one.
func withoutDotSegments(path string) string {
	segments := strings.Split(path, "/")
	var out []string
	for i, segment := range segments {
		last := i == len(segments)-1
		switch segment {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, segment)
		}
	}
	path = strings.Join(out, "/")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return path
}

// RequestURL is the URL a request was made to, from what API Gateway hands
// an authorizer: the scheme, the domain it was called on, and the path as
// it passes it, decoded, or as the local API passes it, escaped. Its "?",
// "#" and "%" are escaped, so that none is read as a query or a fragment.
func RequestURL(scheme, domain, path string) string {
	if decoded, err := url.PathUnescape(path); err == nil {
		path = decoded
	}
	return (&url.URL{Scheme: scheme, Host: domain, Path: path}).String()
}

// NewProof makes a proof with an ECDSA P-256 key (ES256, as Auth0's SPA
// library does) for a request, at now; accessToken "" leaves out ath, as a
// proof sent to a token endpoint does.
func NewProof(key *ecdsa.PrivateKey, method, requestURL, accessToken string, now time.Time) (string, error) {
	if key.Curve != elliptic.P256() {
		return "", errors.New("a DPoP key must be ECDSA P-256 (ES256)")
	}
	point, err := key.PublicKey.Bytes()
	if err != nil {
		return "", err
	}
	coordinate := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	header := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": map[string]string{
		"kty": "EC", "crv": "P-256", "x": coordinate(point[1:33]), "y": coordinate(point[33:]),
	}}
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := map[string]any{"jti": coordinate(jti), "htm": method, "htu": stripQuery(requestURL), "iat": now.Unix()}
	if accessToken != "" {
		claims["ath"] = TokenHash(accessToken)
	}
	encode := func(value any) string {
		data, _ := json.Marshal(value)
		return base64.RawURLEncoding.EncodeToString(data)
	}
	signingInput := encode(header) + "." + encode(claims)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest("ES256", signingInput))
	if err != nil {
		return "", err
	}
	signature := make([]byte, 64)
	r.FillBytes(signature[:32])
	s.FillBytes(signature[32:])
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(signature), nil
}

// Thumbprint is the RFC 7638 thumbprint of a P-256 public key: the cnf.jkt
// of the tokens bound to it.
func Thumbprint(key *ecdsa.PublicKey) (string, error) {
	point, err := key.Bytes()
	if err != nil || len(point) != 65 {
		return "", errors.New("not a P-256 public key")
	}
	coordinate := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	return thumbprintOf(map[string]string{"crv": "P-256", "kty": "EC", "x": coordinate(point[1:33]), "y": coordinate(point[33:])}), nil
}

// stripQuery is a URL without its query and fragment, as a proof's htu is.
func stripQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}
