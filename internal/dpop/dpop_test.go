package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

var now = time.Unix(1_800_000_000, 0)

const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

var request = Request{Method: "GET", URL: "https://api.example.com/user", AccessToken: token}

func b64(data []byte) string { return base64.RawURLEncoding.EncodeToString(data) }

func encode(value any) string {
	data, _ := json.Marshal(value)
	return b64(data)
}

// signed makes a proof with any header and claims, signed by sign.
func signed(header, claims map[string]any, sign func(signingInput string) []byte) string {
	input := encode(header) + "." + encode(claims)
	return input + "." + b64(sign(input))
}

func goodClaims() map[string]any {
	return map[string]any{"jti": "j1", "htm": "GET", "htu": "https://api.example.com/user", "iat": now.Unix(), "ath": TokenHash(token)}
}

func ecKey(t *testing.T) (*ecdsa.PrivateKey, map[string]any) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	point, _ := key.PublicKey.Bytes()
	return key, map[string]any{"kty": "EC", "crv": "P-256", "x": b64(point[1:33]), "y": b64(point[33:])}
}

func es256(key *ecdsa.PrivateKey) func(string) []byte {
	return func(input string) []byte {
		sum := sha256.Sum256([]byte(input))
		r, s, _ := ecdsa.Sign(rand.Reader, key, sum[:])
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

// A proof made by NewProof passes, and gives the key's thumbprint, which
// Thumbprint computes alike from the public key.
func TestAProofPasses(t *testing.T) {
	key, _ := ecKey(t)
	proof, err := NewProof(key, "GET", "https://api.example.com/user?page=2#top", token, now)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := Check(proof, request, now.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Thumbprint(&key.PublicKey)
	if checked.Thumbprint != want || checked.JTI == "" || !checked.IssuedAt.Equal(now) {
		t.Errorf("%+v, want thumbprint %s", checked, want)
	}
	other, _ := NewProof(key, "GET", "https://api.example.com/user", token, now)
	if again, err := Check(other, request, now); err != nil || again.JTI == checked.JTI {
		t.Errorf("a second proof: %v, or the same jti", err)
	}
}

// RFC 7638 §3.1's example key has the thumbprint the RFC gives.
func TestThumbprintOfRFC7638sExample(t *testing.T) {
	n := "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	_, thumbprint, err := publicKey(json.RawMessage(`{"kty":"RSA","n":"`+n+`","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`), "RS256")
	if err != nil || thumbprint != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("thumbprint %q, %v", thumbprint, err)
	}
}

// Every accepted algorithm verifies, with a key of its kind.
func TestEveryAcceptedAlgorithm(t *testing.T) {
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	point, _ := ec384.PublicKey.Bytes()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaJWK := map[string]any{"kty": "RSA", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())}
	edPublic, edPrivate, _ := ed25519.GenerateKey(rand.Reader)
	ec256, ec256JWK := ecKey(t)
	for alg, c := range map[string]struct {
		jwk  map[string]any
		sign func(string) []byte
	}{
		"ES256": {ec256JWK, es256(ec256)},
		"ES384": {map[string]any{"kty": "EC", "crv": "P-384", "x": b64(point[1:49]), "y": b64(point[49:])}, func(input string) []byte {
			sum := digest("ES384", input)
			r, s, _ := ecdsa.Sign(rand.Reader, ec384, sum)
			out := make([]byte, 96)
			r.FillBytes(out[:48])
			s.FillBytes(out[48:])
			return out
		}},
		"RS256": {rsaJWK, func(input string) []byte {
			sum := sha256.Sum256([]byte(input))
			out, _ := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, sum[:])
			return out
		}},
		"PS256": {rsaJWK, func(input string) []byte {
			sum := sha256.Sum256([]byte(input))
			out, _ := rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			return out
		}},
		"EdDSA": {map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(edPublic)}, func(input string) []byte { return ed25519.Sign(edPrivate, []byte(input)) }},
	} {
		proof := signed(map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": c.jwk}, goodClaims(), c.sign)
		if _, err := Check(proof, request, now); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

// Each point of RFC 9449 §4.3, and the JWT attack list, refuses the proof
// with its reason, which never quotes the proof.
func TestRefusals(t *testing.T) {
	key, jwk := ecKey(t)
	other, _ := ecKey(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	header := func(change func(map[string]any)) map[string]any {
		h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}
		change(h)
		return h
	}
	claims := func(change func(map[string]any)) map[string]any {
		c := goodClaims()
		change(c)
		return c
	}
	same := func(map[string]any) {}
	good := signed(header(same), claims(same), es256(key))
	withPrivate := func(member string) map[string]any {
		private := map[string]any{}
		for k, v := range jwk {
			private[k] = v
		}
		private[member] = b64([]byte("secret"))
		return header(func(h map[string]any) { h["jwk"] = private })
	}
	jwkJSON, _ := json.Marshal(jwk)
	rawSigned := func(header string) string {
		input := b64([]byte(header)) + "." + encode(claims(same))
		return input + "." + b64(es256(key)(input))
	}
	bigRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := map[string]struct {
		proof string
		req   Request
		at    time.Time
		want  string
	}{
		"member names in upper case": {rawSigned(`{"TYP":"dpop+jwt","ALG":"ES256","JWK":` + string(jwkJSON) + `}`), request, now, "typ is not dpop+jwt"},
		"a member named twice":       {rawSigned(`{"typ":"JWT","typ":"dpop+jwt","alg":"ES256","jwk":` + string(jwkJSON) + `}`), request, now, "each member once"},
		"an EC coordinate too short": {signed(header(func(h map[string]any) {
			h["jwk"] = map[string]any{"kty": "EC", "crv": "P-256", "x": b64(make([]byte, 31)), "y": jwk["y"]}
		}), claims(same), es256(key)), request, now, "EC key is malformed"},
		"an even RSA exponent": {signed(header(func(h map[string]any) {
			h["alg"], h["jwk"] = "RS256", map[string]any{"kty": "RSA", "n": b64(bigRSA.N.Bytes()), "e": b64([]byte{2})}
		}), claims(same), es256(key)), request, now, "with an odd exponent"},
		"an OKP key on another curve": {signed(header(func(h map[string]any) {
			h["alg"], h["jwk"] = "EdDSA", map[string]any{"kty": "OKP", "crv": "X25519", "x": b64(make([]byte, 32))}
		}), claims(same), es256(key)), request, now, "not an Ed25519 key"},
		"no proof":         {"", request, now, "no DPoP proof"},
		"two DPoP headers": {good + ", " + good, request, now, "more than one DPoP header"},
		"not a JWT":        {"abc.def", request, now, "not a JWT"},
		"typ JWT":          {signed(header(func(h map[string]any) { h["typ"] = "JWT" }), claims(same), es256(key)), request, now, "typ is not dpop+jwt"},
		"alg none":         {encode(header(func(h map[string]any) { h["alg"] = "none" })) + "." + encode(claims(same)) + ".", request, now, "not an accepted asymmetric algorithm"},
		"alg HS256, keyed with the public key": {signed(header(func(h map[string]any) { h["alg"] = "HS256" }), claims(same), func(input string) []byte {
			mac := hmac.New(sha256.New, []byte(jwk["x"].(string)))
			mac.Write([]byte(input))
			return mac.Sum(nil)
		}), request, now, "not an accepted asymmetric algorithm"},
		"a private EC key in jwk": {signed(withPrivate("d"), claims(same), es256(key)), request, now, "private or symmetric key"},
		"a symmetric key in jwk":  {signed(withPrivate("k"), claims(same), es256(key)), request, now, "private or symmetric key"},
		"no jwk":                  {signed(header(func(h map[string]any) { delete(h, "jwk") }), claims(same), es256(key)), request, now, "no jwk"},
		"crit":                    {signed(header(func(h map[string]any) { h["crit"] = []string{"exp"} }), claims(same), es256(key)), request, now, "critical header parameters"},
		"signed by another key":   {signed(header(same), claims(same), es256(other)), request, now, "signature is invalid"},
		"a P-256 key with ES384":  {signed(header(func(h map[string]any) { h["alg"] = "ES384" }), claims(same), es256(key)), request, now, "not on the curve of its alg"},
		"an RSA key under 2048 bit": {signed(header(func(h map[string]any) {
			h["alg"], h["jwk"] = "RS256", map[string]any{"kty": "RSA", "n": b64(rsaKey.N.Bytes()), "e": "AQAB"}
		}), claims(same), es256(key)), request, now, "at least 2048 bits"},
		"a point off the curve": {signed(header(func(h map[string]any) {
			h["jwk"] = map[string]any{"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": b64(make([]byte, 32))}
		}), claims(same), es256(key)), request, now, "not a point of its curve"},
		"another method":             {good, Request{"POST", request.URL, token}, now, "another method (htm)"},
		"another URL":                {good, Request{"GET", "https://api.example.com/admin", token}, now, "another URL (htu)"},
		"another host":               {good, Request{"GET", "https://evil.example.com/user", token}, now, "another URL (htu)"},
		"plain http":                 {good, Request{"GET", "http://api.example.com/user", token}, now, "another URL (htu)"},
		"another access token":       {good, Request{"GET", request.URL, token + "x"}, now, "another access token (ath)"},
		"no ath":                     {signed(header(same), claims(func(c map[string]any) { delete(c, "ath") }), es256(key)), request, now, "another access token (ath)"},
		"an ath at a token endpoint": {good, Request{"GET", request.URL, ""}, now, "names an access token (ath), and none is sent"},
		"stale":                      {good, request, now.Add(MaxAge + time.Second), "stale"},
		"from the future":            {good, request, now.Add(-MaxSkew - time.Second), "in the future"},
		"no iat":                     {signed(header(same), claims(func(c map[string]any) { delete(c, "iat") }), es256(key)), request, now, "no iat"},
		"an iat beyond year 9999":    {signed(header(same), claims(func(c map[string]any) { c["iat"] = 1e300 }), es256(key)), request, now, "no iat"},
		"no jti":                     {signed(header(same), claims(func(c map[string]any) { delete(c, "jti") }), es256(key)), request, now, "jti must be"},
		"a jti of 257 characters":    {signed(header(same), claims(func(c map[string]any) { c["jti"] = strings.Repeat("j", 257) }), es256(key)), request, now, "jti must be"},
		"claims not an object":       {encode(header(same)) + "." + b64([]byte(`["a"]`)) + "." + b64(es256(key)(encode(header(same))+"."+b64([]byte(`["a"]`)))), request, now, "claims are not a JSON object"},
		"too long":                   {strings.Repeat("a", maxProofLength+1), request, now, "too long"},
	}
	for name, c := range cases {
		_, err := Check(c.proof, c.req, c.at)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
			continue
		}
		if c.proof != "" && len(c.proof) > 20 && strings.Contains(err.Error(), c.proof[:20]) {
			t.Errorf("%s: the error quotes the proof: %v", name, err)
		}
	}
}

// htu matches the request's URL after RFC 3986 normalization, and never
// across scheme, host, port or path.
func TestURLsMatchAfterNormalization(t *testing.T) {
	for htu, requested := range map[string]string{
		"https://API.Example.com/user":          "https://api.example.com/user",
		"HTTPS://api.example.com:443/user":      "https://api.example.com/user",
		"https://api.example.com":               "https://api.example.com/",
		"https://api.example.com/%75ser":        "https://api.example.com/user",
		"https://api.example.com/a/./b/../user": "https://api.example.com/a/user",
		"https://api.example.com/orgs/a%2fb":    "https://api.example.com/orgs/a%2Fb",
		// API Gateway decodes the path it hands the authorizer: "%2F" is "/" to it.
		"https://api.example.com/orgs/a%2Fb":  "https://api.example.com/orgs/a/b",
		"https://api.example.com/items/1%23x": RequestURL("https", "api.example.com", "/items/1#x"),
		"https://api.example.com/a%3Ab":       RequestURL("https", "api.example.com", "/a:b"),
		"http://127.0.0.1:3000/items/1%23x":   RequestURL("http", "127.0.0.1:3000", "/items/1%23x"),
		"https://api.example.com/user?x=1#y":  "https://api.example.com/user",
		"http://127.0.0.1:3000/user":          "http://127.0.0.1:3000/user",
	} {
		if !sameURL(htu, requested) {
			t.Errorf("%s and %s do not match", htu, requested)
		}
	}
	for htu, requested := range map[string]string{
		"https://api.example.com/user":      "https://api.example.com/User",
		"https://api.example.com:8443/user": "https://api.example.com/user",
		// A decoded "#" or "?" is part of the path, not a fragment or a query.
		"https://api.example.com/items/1":  RequestURL("https", "api.example.com", "/items/1#x"),
		"https://api.example.com/items":    RequestURL("https", "api.example.com", "/items?x"),
		"https://api.example.com/user/":    "https://api.example.com/user",
		"/user":                            "/user",
		"ftp://api.example.com/user":       "ftp://api.example.com/user",
		"https://u:p@api.example.com/user": "https://u:p@api.example.com/user",
		"https://api.example.com/%zz":      "https://api.example.com/%zz",
	} {
		if sameURL(htu, requested) {
			t.Errorf("%s and %s match", htu, requested)
		}
	}
}

// Checking a proof never panics on odd input.
func FuzzCheck(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	proof, _ := NewProof(key, "GET", request.URL, token, now)
	f.Add(proof)
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, proof string) {
		Check(proof, request, now)
	})
}
