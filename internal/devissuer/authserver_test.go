package devissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	spa      = "dev-spa"
	callback = "http://127.0.0.1:5173/"
	audience = "https://api.example.com"
)

// authServer is the dev issuer with the shipped dev-users.json, on loopback,
// and a browser-like client that keeps cookies and follows no redirect.
// testKey signs for every test's issuer: each is a server of its own, and an
// RSA-2048 key takes 50 ms or more to make.
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func authServer(t *testing.T) (*Issuer, *http.Client) {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	directory, err := LoadDirectory("../../dev-users.json")
	if err != nil {
		t.Fatal(err)
	}
	issuer := New("", key)
	server := httptest.NewServer(issuer)
	t.Cleanup(server.Close)
	issuer.URL, issuer.Directory, issuer.Audiences = server.URL+"/", directory, []string{audience}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return issuer, client
}

// pkce returns a verifier and its S256 challenge.
func pkce() (string, string) {
	verifier := randomString()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeParams are what auth0-spa-js sends to /authorize.
func authorizeParams(challenge string, change func(url.Values)) url.Values {
	params := url.Values{
		"client_id": {spa}, "redirect_uri": {callback}, "audience": {audience},
		"scope": {"openid profile email read:user write:user offline_access"}, "response_type": {"code"},
		"response_mode": {"query"}, "state": {"state-1"}, "nonce": {"nonce-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	if change != nil {
		change(params)
	}
	return params
}

// signIn chooses user on the login page and returns the redirect's query.
func signIn(t *testing.T, issuer *Issuer, client *http.Client, user string, params url.Values) url.Values {
	t.Helper()
	form := url.Values{"user": {user}}
	for name, values := range params {
		form[name] = values
	}
	resp, err := client.PostForm(issuer.URL+"authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return redirectQuery(t, resp)
}

func redirectQuery(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	location, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(location.String(), callback) {
		t.Fatalf("want a redirect to %s, got %d %q", callback, resp.StatusCode, resp.Header.Get("Location"))
	}
	return location.Query()
}

func postToken(t *testing.T, issuer *Issuer, client *http.Client, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := client.PostForm(issuer.URL+"oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func claimsOf(t *testing.T, issuer *Issuer, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return &issuer.key.PublicKey, nil }, jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Fatalf("%v", err)
	}
	return claims
}

func TestDiscoveryHasEveryRequiredField(t *testing.T) {
	issuer, client := authServer(t)
	resp, err := client.Get(issuer.URL + ".well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	// OpenID Connect Discovery 1.0 §3 REQUIRED fields.
	for _, field := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"} {
		if doc[field] == nil {
			t.Errorf("no %s", field)
		}
	}
	if doc["issuer"] != issuer.URL || doc["authorization_endpoint"] != issuer.URL+"authorize" {
		t.Errorf("%v", doc)
	}
}

// The flow auth0-spa-js runs: the login page, a code for the chosen user,
// the code exchanged with its verifier, then a refresh.
func TestSignInCodeExchangeAndRefresh(t *testing.T) {
	issuer, client := authServer(t)
	verifier, challenge := pkce()
	params := authorizeParams(challenge, nil)
	resp, err := client.Get(issuer.URL + "authorize?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Alice", "Bob", "Carol", `value="auth0|alice"`} {
		if resp.StatusCode != 200 || !strings.Contains(string(page), want) {
			t.Fatalf("the login page lacks %q: %d\n%s", want, resp.StatusCode, page)
		}
	}

	// Bob may not have write:user: it is dropped, as Auth0 with RBAC drops it.
	answer := signIn(t, issuer, client, "auth0|bob", params)
	if answer.Get("state") != "state-1" || answer.Get("code") == "" {
		t.Fatalf("answer %v", answer)
	}
	status, tokens := postToken(t, issuer, client, url.Values{"grant_type": {"authorization_code"}, "client_id": {spa},
		"code": {answer.Get("code")}, "code_verifier": {verifier}, "redirect_uri": {callback}})
	if status != 200 {
		t.Fatalf("%d %v", status, tokens)
	}
	access := claimsOf(t, issuer, tokens["access_token"].(string))
	if access["sub"] != "auth0|bob" || access["aud"] != audience || access["azp"] != spa || access["scope"] != "openid profile email read:user offline_access" {
		t.Errorf("access token %v", access)
	}
	if permissions, _ := access["permissions"].([]any); permissions == nil || len(permissions) != 0 {
		t.Errorf("bob's permissions claim %v, want []", access["permissions"])
	}
	id := claimsOf(t, issuer, tokens["id_token"].(string))
	if id["aud"] != spa || id["nonce"] != "nonce-1" || id["iss"] != issuer.URL || id["name"] != "Bob" {
		t.Errorf("ID token %v", id)
	}

	refresh := tokens["refresh_token"].(string)
	status, renewed := postToken(t, issuer, client, url.Values{"grant_type": {"refresh_token"}, "client_id": {spa}, "refresh_token": {refresh}, "redirect_uri": {callback}})
	if status != 200 || renewed["refresh_token"] == refresh || renewed["access_token"] == nil {
		t.Fatalf("refresh: %d %v", status, renewed)
	}
	if status, _ := postToken(t, issuer, client, url.Values{"grant_type": {"refresh_token"}, "client_id": {spa}, "refresh_token": {refresh}}); status == 200 {
		t.Error("a rotated refresh token was accepted again")
	}
}

// A silent renewal (prompt=none in a hidden iframe) gets login_required
// without a session, and a code with one, posted to the page's origin.
func TestPromptNone(t *testing.T) {
	issuer, client := authServer(t)
	_, challenge := pkce()
	silent := authorizeParams(challenge, func(p url.Values) { p.Set("prompt", "none") })
	resp, err := client.Get(issuer.URL + "authorize?" + silent.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if answer := redirectQuery(t, resp); answer.Get("error") != "login_required" || answer.Get("state") != "state-1" {
		t.Errorf("without a session: %v", answer)
	}

	signIn(t, issuer, client, "auth0|alice", authorizeParams(challenge, nil))
	silent.Set("response_mode", "web_message")
	resp, err = client.Get(issuer.URL + "authorize?" + silent.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"type":"authorization_response"`, `"code":"`, `"state":"state-1"`, `, "http://127.0.0.1:5173")`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the web_message page lacks %q:\n%s", want, page)
		}
	}
}

// Until the client and its redirect_uri are known, an error is a page: no
// redirect to an unregistered URI. After that, errors go back to the client
// as RFC 6749 §4.1.2.1 says.
func TestAuthorizeErrors(t *testing.T) {
	issuer, client := authServer(t)
	_, challenge := pkce()
	for name, c := range map[string]struct {
		change    func(url.Values)
		redirects bool
		error     string
	}{
		"unknown client":                {func(p url.Values) { p.Set("client_id", "nope") }, false, "invalid_request"},
		"a machine client":              {func(p url.Values) { p.Set("client_id", "dev-smoke-full") }, false, "invalid_request"},
		"unregistered redirect_uri":     {func(p url.Values) { p.Set("redirect_uri", "https://evil.example.com/") }, false, "invalid_request"},
		"redirect_uri with a path more": {func(p url.Values) { p.Set("redirect_uri", callback+"x") }, false, "invalid_request"},
		"response_type token":           {func(p url.Values) { p.Set("response_type", "token") }, true, "unsupported_response_type"},
		"no PKCE":                       {func(p url.Values) { p.Del("code_challenge") }, true, "invalid_request"},
		"PKCE plain":                    {func(p url.Values) { p.Set("code_challenge_method", "plain") }, true, "invalid_request"},
		"unknown audience":              {func(p url.Values) { p.Set("audience", "https://other.example.com") }, true, "access_denied"},
		"response_mode form_post":       {func(p url.Values) { p.Set("response_mode", "form_post") }, true, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := client.Get(issuer.URL + "authorize?" + authorizeParams(challenge, c.change).Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !c.redirects {
				if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(string(body), c.error) {
					t.Errorf("%d, Location %q: want a 400 page saying %s", resp.StatusCode, resp.Header.Get("Location"), c.error)
				}
				return
			}
			if answer := redirectQuery(t, resp); answer.Get("error") != c.error || answer.Get("state") != "state-1" || answer.Get("code") != "" {
				t.Errorf("answer %v, want error %s", answer, c.error)
			}
		})
	}
}

// Each way a code exchange can be wrong gets RFC 6749 §5.2's invalid_grant.
func TestCodeExchangeErrors(t *testing.T) {
	issuer, client := authServer(t)
	verifier, challenge := pkce()
	code := func() string {
		return signIn(t, issuer, client, "auth0|alice", authorizeParams(challenge, nil)).Get("code")
	}
	exchange := func(code string, change func(url.Values)) (int, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {callback}}
		if change != nil {
			change(form)
		}
		return postToken(t, issuer, client, form)
	}
	used := code()
	if status, _ := exchange(used, nil); status != 200 {
		t.Fatal("the first exchange failed")
	}
	expired := code()
	issuer.state.mu.Lock()
	issuer.state.codes[expired].expires = time.Now().Add(-time.Second)
	issuer.state.mu.Unlock()
	for name, c := range map[string]struct {
		code   string
		change func(url.Values)
	}{
		"wrong verifier":     {code(), func(f url.Values) { f.Set("code_verifier", "not-the-verifier") }},
		"reused code":        {used, nil},
		"expired code":       {expired, nil},
		"wrong client":       {code(), func(f url.Values) { f.Set("client_id", "other-spa") }},
		"other redirect_uri": {code(), func(f url.Values) { f.Set("redirect_uri", "http://localhost:5173/") }},
		"unknown code":       {"made-up", nil},
	} {
		if status, body := exchange(c.code, c.change); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%s: %d %v, want 400 invalid_grant", name, status, body)
		}
	}
	if status, body := postToken(t, issuer, client, url.Values{"grant_type": {"password"}}); status != 400 || body["error"] != "unsupported_grant_type" {
		t.Errorf("password grant: %d %v", status, body)
	}
}

// auth0-spa-js sends an Auth0-Client header, so every token request is
// preflighted: the answer allows it for the application's origins only.
func TestTokenEndpointCORS(t *testing.T) {
	issuer, client := authServer(t)
	for origin, allowed := range map[string]bool{"http://127.0.0.1:5173": true, "https://evil.example.com": false} {
		req, _ := http.NewRequest("OPTIONS", issuer.URL+"oauth/token", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "auth0-client,content-type")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("access-control-allow-origin") == origin && strings.Contains(resp.Header.Get("access-control-allow-headers"), "Auth0-Client")
		if got != allowed || resp.StatusCode != 204 {
			t.Errorf("%s: %d %v, allowed %v", origin, resp.StatusCode, resp.Header, allowed)
		}
	}
}

func TestClientCredentials(t *testing.T) {
	issuer, client := authServer(t)
	status, body := postToken(t, issuer, client, url.Values{"grant_type": {"client_credentials"}, "client_id": {"dev-smoke-full"}, "client_secret": {"dev-only-secret-full"}, "audience": {audience}})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	claims := claimsOf(t, issuer, body["access_token"].(string))
	// The client's grant, as dev-users.json gives it.
	i := slices.IndexFunc(issuer.Directory.Clients, func(c Client) bool { return c.ClientID == "dev-smoke-full" })
	if i < 0 {
		t.Fatal("dev-users.json has no client dev-smoke-full")
	}
	grant := issuer.Directory.Clients[i]
	if claims["sub"] != "dev-smoke-full@clients" || claims["scope"] != strings.Join(grant.Scopes, " ") || !slices.Equal(toStrings(claims["permissions"]), grant.Permissions) || len(grant.Scopes) == 0 {
		t.Errorf("claims %v, want the grant of dev-users.json: scopes %v, permissions %v", claims, grant.Scopes, grant.Permissions)
	}
	for name, c := range map[string]struct {
		form   url.Values
		status int
	}{
		"wrong secret":   {url.Values{"grant_type": {"client_credentials"}, "client_id": {"dev-smoke-full"}, "client_secret": {"nope"}, "audience": {audience}}, 401},
		"a SPA":          {url.Values{"grant_type": {"client_credentials"}, "client_id": {spa}, "audience": {audience}}, 401},
		"other audience": {url.Values{"grant_type": {"client_credentials"}, "client_id": {"dev-smoke-full"}, "client_secret": {"dev-only-secret-full"}, "audience": {"https://other"}}, 403},
	} {
		if status, body := postToken(t, issuer, client, c.form); status != c.status || body["error"] != "access_denied" {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, item := range v.([]any) {
		out = append(out, item.(string))
	}
	return out
}

func TestUserinfoAndLogout(t *testing.T) {
	issuer, client := authServer(t)
	verifier, challenge := pkce()
	code := signIn(t, issuer, client, "auth0|alice", authorizeParams(challenge, nil)).Get("code")
	_, tokens := postToken(t, issuer, client, url.Values{"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {callback}})
	req, _ := http.NewRequest("GET", issuer.URL+"userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["access_token"].(string))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var user map[string]string
	json.NewDecoder(resp.Body).Decode(&user)
	resp.Body.Close()
	if user["sub"] != "auth0|alice" || user["email"] != "alice@example.com" {
		t.Errorf("userinfo %v", user)
	}

	resp, _ = client.Get(issuer.URL + "v2/logout?" + url.Values{"client_id": {spa}, "returnTo": {"https://evil.example.com/"}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Errorf("a returnTo off the allow-list: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = client.Get(issuer.URL + "v2/logout?" + url.Values{"client_id": {spa}, "returnTo": {callback}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != callback {
		t.Errorf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The session is over: a silent renewal needs a new sign-in.
	resp, _ = client.Get(issuer.URL + "authorize?" + authorizeParams(challenge, func(p url.Values) { p.Set("prompt", "none") }).Encode())
	resp.Body.Close()
	if answer := redirectQuery(t, resp); answer.Get("error") != "login_required" {
		t.Errorf("after logout: %v", answer)
	}
}

// exchange trades a code for tokens.
func exchange(t *testing.T, issuer *Issuer, client *http.Client, code, verifier string) map[string]any {
	t.Helper()
	status, body := postToken(t, issuer, client, url.Values{"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {code}, "redirect_uri": {callback}, "code_verifier": {verifier}})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	return body
}

// Signing in to an organization, by ID or by name, as Auth0 does: the access
// token carries org_id, org_name when the tenant includes it, and only the
// permissions of the user's roles in that organization.
func TestSignInToAnOrganization(t *testing.T) {
	issuer, client := authServer(t)
	issuer.OrganizationName = true
	for _, c := range []struct{ user, organization, id, name string }{
		{"auth0|bob", "org_globex0000000002", "org_globex0000000002", "globex"},
		{"auth0|bob", "acme", "org_acme000000000001", "acme"},
	} {
		verifier, challenge := pkce()
		query := signIn(t, issuer, client, c.user, authorizeParams(challenge, func(p url.Values) { p.Set("organization", c.organization); p.Set("prompt", "login") }))
		body := exchange(t, issuer, client, query.Get("code"), verifier)
		claims := claimsOf(t, issuer, body["access_token"].(string))
		org, _ := issuer.Directory.organization(c.id, false)
		member, _ := org.member(c.user)
		if claims["org_id"] != c.id || claims["org_name"] != c.name || !slices.Equal(toStrings(claims["permissions"]), member.Permissions) {
			t.Errorf("%s in %s: claims %v, want org_id %s, org_name %s, permissions %v", c.user, c.organization, claims, c.id, c.name, member.Permissions)
		}
		if id := claimsOf(t, issuer, body["id_token"].(string)); id["org_id"] != c.id {
			t.Errorf("the ID token's org_id: %v", id["org_id"])
		}
	}
	issuer.OrganizationName = false
	_, challenge := pkce()
	if query := signIn(t, issuer, client, "auth0|alice", authorizeParams(challenge, func(p url.Values) { p.Set("organization", "acme"); p.Set("prompt", "login") })); query.Get("error") != "invalid_request" {
		t.Errorf("a name without the tenant's org_name setting: %v, want invalid_request", query)
	}
	verifier, challenge := pkce()
	query := signIn(t, issuer, client, "auth0|alice", authorizeParams(challenge, func(p url.Values) { p.Set("organization", "org_acme000000000001"); p.Set("prompt", "login") }))
	if claims := claimsOf(t, issuer, exchange(t, issuer, client, query.Get("code"), verifier)["access_token"].(string)); claims["org_id"] != "org_acme000000000001" || claims["org_name"] != nil {
		t.Errorf("without the tenant's org_name setting: %v", claims)
	}

	for name, c := range map[string]struct{ user, organization, want string }{
		"not a member":         {"auth0|alice", "org_globex0000000002", "access_denied"},
		"a member of none":     {"auth0|carol", "org_acme000000000001", "access_denied"},
		"unknown organization": {"auth0|alice", "org_nope000000000000", "invalid_request"},
	} {
		_, challenge := pkce()
		if query := signIn(t, issuer, client, c.user, authorizeParams(challenge, func(p url.Values) { p.Set("organization", c.organization); p.Set("prompt", "login") })); query.Get("error") != c.want || query.Get("code") != "" {
			t.Errorf("%s: %v, want error %s", name, query, c.want)
		}
	}
}

// A client that requires an organization asks the user to pick one of theirs
// when the request names none; the pick signs the user in to it.
func TestAClientThatRequiresAnOrganizationAsksToPickOne(t *testing.T) {
	issuer, client := authServer(t)
	i := slices.IndexFunc(issuer.Directory.Clients, func(c Client) bool { return c.ClientID == spa })
	issuer.Directory.Clients[i].OrganizationUsage = "require"
	_, challenge := pkce()
	form := url.Values{"user": {"auth0|bob"}}
	for name, values := range authorizeParams(challenge, nil) {
		form[name] = values
	}
	resp, err := client.PostForm(issuer.URL+"authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="organization" value="org_acme000000000001"`) || !strings.Contains(string(page), `value="org_globex0000000002"`) {
		t.Fatalf("want the organization picker with bob's two organizations, got %d:\n%s", resp.StatusCode, page)
	}
	verifier, challenge := pkce()
	query := signIn(t, issuer, client, "auth0|bob", authorizeParams(challenge, func(p url.Values) { p.Set("organization", "org_globex0000000002") }))
	if claims := claimsOf(t, issuer, exchange(t, issuer, client, query.Get("code"), verifier)["access_token"].(string)); claims["org_id"] != "org_globex0000000002" {
		t.Errorf("after the pick: %v", claims)
	}
	_, challenge = pkce()
	resp, err = client.Get(issuer.URL + "authorize?" + authorizeParams(challenge, func(p url.Values) { p.Set("prompt", "none") }).Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if query := redirectQuery(t, resp); query.Get("error") != "login_required" {
		t.Errorf("prompt=none without an organization: %v, want login_required", query)
	}
}

// The client-credentials grant takes organization, by ID or name, for the
// organizations the client's grant lists, as Auth0's does.
func TestClientCredentialsForAnOrganization(t *testing.T) {
	issuer, client := authServer(t)
	issuer.OrganizationName = true
	form := func(organization string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {"dev-smoke-full"}, "client_secret": {"dev-only-secret-full"}, "audience": {audience}, "organization": {organization}}
	}
	for _, organization := range []string{"org_globex0000000002", "globex"} {
		status, body := postToken(t, issuer, client, form(organization))
		if status != 200 {
			t.Fatalf("%s: %d %v", organization, status, body)
		}
		if claims := claimsOf(t, issuer, body["access_token"].(string)); claims["org_id"] != "org_globex0000000002" || claims["sub"] != "dev-smoke-full@clients" {
			t.Errorf("%s: claims %v", organization, claims)
		}
	}
	issuer.OrganizationName = false
	limited := url.Values{"grant_type": {"client_credentials"}, "client_id": {"dev-smoke-limited"}, "client_secret": {"dev-only-secret-limited"}, "audience": {audience}, "organization": {"org_acme000000000001"}}
	for name, f := range map[string]url.Values{"unknown organization": form("org_nope000000000000"), "an organization not granted": limited, "a name without the tenant's setting": form("globex")} {
		if status, body := postToken(t, issuer, client, f); status != 403 || body["error"] != "access_denied" {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
}

// dev-users.json's organizations are checked as Auth0 would refuse them.
func TestOrganizationsOfTheDirectoryAreChecked(t *testing.T) {
	for name, c := range map[string]struct{ json, want string }{
		"bad id":                        {`{"users":[],"clients":[],"organizations":[{"id":"acme","name":"acme","members":[]}]}`, "not org_ followed by letters and digits"},
		"name in capitals":              {`{"users":[],"clients":[],"organizations":[{"id":"org_a1","name":"Acme","members":[]}]}`, "lowercase"},
		"unknown member":                {`{"users":[],"clients":[],"organizations":[{"id":"org_a1","name":"acme","members":[{"sub":"auth0|x","permissions":[]}]}]}`, `member "auth0|x" is not one of the users`},
		"client's unknown organization": {`{"users":[],"clients":[{"clientId":"c","clientSecret":"s","organizations":["org_b2"]}],"organizations":[{"id":"org_a1","name":"acme","members":[]}]}`, `organization "org_b2" is not the id of one of the organizations`},
		"bad usage":                     {`{"users":[],"clients":[{"clientId":"c","organizationUsage":"required"}]}`, `organizationUsage "required" is not allow or require`},
	} {
		path := t.TempDir() + "/users.json"
		os.WriteFile(path, []byte(c.json), 0o644)
		if _, err := LoadDirectory(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
