package devissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/dpop"
)

// postTokenWithProof posts to /oauth/token with a DPoP header.
func postTokenWithProof(t *testing.T, issuer *Issuer, form url.Values, proof string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", issuer.URL+"oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func dpopKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, _ := dpop.Thumbprint(&key.PublicKey)
	return key, jkt
}

func tokenProof(t *testing.T, issuer *Issuer, key *ecdsa.PrivateKey) string {
	t.Helper()
	proof, err := dpop.NewProof(key, "POST", issuer.URL+"oauth/token", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return proof
}

// With a proof, the client-credentials grant answers a DPoP-bound token, as
// Auth0 does: token_type DPoP and cnf.jkt the key's thumbprint. A proof is
// good once, for this endpoint, and a stage that requires DPoP refuses a
// request without one.
func TestClientCredentialsWithDPoP(t *testing.T) {
	issuer, _ := authServer(t)
	key, jkt := dpopKey(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"dev-smoke-full"}, "client_secret": {"dev-only-secret-full"}, "audience": {audience}}
	proof := tokenProof(t, issuer, key)
	status, body := postTokenWithProof(t, issuer, form, proof)
	if status != 200 || body["token_type"] != "DPoP" {
		t.Fatalf("%d %v", status, body)
	}
	if cnf, _ := claimsOf(t, issuer, body["access_token"].(string))["cnf"].(map[string]any); cnf["jkt"] != jkt {
		t.Errorf("cnf %v, want jkt %s", cnf, jkt)
	}
	if status, body := postTokenWithProof(t, issuer, form, proof); status != 400 || body["error"] != "invalid_dpop_proof" {
		t.Errorf("the proof again: %d %v", status, body)
	}
	elsewhere, _ := dpop.NewProof(key, "POST", "https://other.example.com/oauth/token", "", time.Now())
	if status, body := postTokenWithProof(t, issuer, form, elsewhere); status != 400 || body["error"] != "invalid_dpop_proof" || !strings.Contains(body["error_description"].(string), "htu") {
		t.Errorf("a proof for another endpoint: %d %v", status, body)
	}
	issuer.RequireDPoP = true
	if status, body := postTokenWithProof(t, issuer, form, ""); status != 400 || body["error"] != "invalid_request" {
		t.Errorf("no proof, DPoP required: %d %v", status, body)
	}
}

// Auth0's SPA library names its key in /authorize (dpop_jkt) and sends a
// proof with the code: the code is exchanged with that key only, the tokens
// are bound to it, and so is the refresh token, which needs a proof of the
// same key.
func TestSignInWithDPoP(t *testing.T) {
	issuer, client := authServer(t)
	key, jkt := dpopKey(t)
	other, _ := dpopKey(t)
	code := func() (string, string) {
		verifier, challenge := pkce()
		answer := signIn(t, issuer, client, "auth0|alice", authorizeParams(challenge, func(p url.Values) { p.Set("dpop_jkt", jkt) }))
		return answer.Get("code"), verifier
	}
	exchangeForm := func(code, verifier string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {verifier}}
	}
	c, v := code()
	if status, body := postTokenWithProof(t, issuer, exchangeForm(c, v), tokenProof(t, issuer, other)); status != 400 || body["error"] != "invalid_dpop_proof" {
		t.Errorf("the code with another key: %d %v", status, body)
	}
	c, v = code()
	status, tokens := postTokenWithProof(t, issuer, exchangeForm(c, v), tokenProof(t, issuer, key))
	if status != 200 || tokens["token_type"] != "DPoP" {
		t.Fatalf("%d %v", status, tokens)
	}
	if cnf, _ := claimsOf(t, issuer, tokens["access_token"].(string))["cnf"].(map[string]any); cnf["jkt"] != jkt {
		t.Errorf("cnf %v", cnf)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {spa}, "refresh_token": {tokens["refresh_token"].(string)}}
	if status, body := postToken(t, issuer, client, refresh); status != 400 || body["error"] != "invalid_dpop_proof" {
		t.Errorf("the bound refresh token without a proof: %d %v", status, body)
	}
	if status, body := postTokenWithProof(t, issuer, refresh, tokenProof(t, issuer, key)); status != 200 || body["token_type"] != "DPoP" {
		t.Errorf("the refresh with the key: %d %v", status, body)
	}
}
