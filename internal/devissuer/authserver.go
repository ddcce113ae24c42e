package devissuer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/dpop"
)

// What the authorization server hands out, and for how long. Codes live 60 s
// and are good once, as Auth0's.
const (
	codeLifetime        = 60 * time.Second
	AccessTokenLifetime = time.Hour
	sessionCookie       = "devissuer_session"
)

// The scopes of OpenID Connect itself, which every user may be granted.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// authState is the server's memory: codes, refresh tokens and sign-in sessions.
type authState struct {
	mu       sync.Mutex
	codes    map[string]*grant // by code
	refresh  map[string]*grant // by refresh token
	sessions map[string]string // session cookie value to sub
	// proofs are the DPoP proofs of token requests, until they are stale.
	proofs map[string]time.Time // by <jkt>#<jti>
}

// grant is what a code or a refresh token stands for.
type grant struct {
	clientID, redirectURI, codeChallenge string
	sub, audience, nonce                 string
	scopes                               []string
	// organization is the one the user signed in to; nil: none.
	organization *Organization
	// jkt binds the grant to a DPoP key: the one /authorize named in
	// dpop_jkt for a code, the one whose proof got a refresh token.
	jkt     string
	expires time.Time
}

// oauthError is an RFC 6749 error: §4.1.2.1 on a redirect, §5.2 from the token endpoint.
type oauthError struct {
	status      int
	code        string
	description string
}

func newOAuthError(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, description: fmt.Sprintf(format, args...)}
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("content-type", "application/json")
	w.Header().Set("cache-control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func (d *Issuer) directory() *Directory {
	if d.Directory == nil {
		return &Directory{}
	}
	return d.Directory
}

// authorize is /authorize: the authorization code flow with PKCE, as
// auth0-spa-js uses it. A GET shows the login page (or, with a session,
// answers at once); the login page POSTs back here with the chosen user.
// Until the client and its redirect_uri are known good, an error is a page,
// never a redirect.
func (d *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		errorPage(w, newOAuthError(http.StatusBadRequest, "invalid_request", "the request cannot be parsed"))
		return
	}
	params := r.Form
	client, ok := d.directory().client(params.Get("client_id"))
	if !ok || client.ClientSecret != "" {
		errorPage(w, newOAuthError(http.StatusBadRequest, "invalid_request", "unknown client_id %q: not a single-page application of dev-users.json", params.Get("client_id")))
		return
	}
	redirectURI := params.Get("redirect_uri")
	if !slices.Contains(client.CallbackURLs, redirectURI) {
		errorPage(w, newOAuthError(http.StatusBadRequest, "invalid_request", "redirect_uri %q is not an allowed callback URL of client %s", redirectURI, client.ClientID))
		return
	}
	mode := params.Get("response_mode")
	if mode == "" {
		mode = "query"
	}
	answer := func(values url.Values) { respond(w, r, mode, redirectURI, params.Get("state"), values) }
	fail := func(err *oauthError) { answer(url.Values{"error": {err.code}, "error_description": {err.description}}) }
	switch {
	case mode != "query" && mode != "web_message":
		mode = "query"
		fail(newOAuthError(0, "invalid_request", "response_mode %q is not supported: use query or web_message", params.Get("response_mode")))
		return
	case params.Get("response_type") != "code":
		fail(newOAuthError(0, "unsupported_response_type", "response_type must be code"))
		return
	case params.Get("code_challenge") == "" || params.Get("code_challenge_method") != "S256":
		fail(newOAuthError(0, "invalid_request", "PKCE is required: send code_challenge with code_challenge_method S256"))
		return
	case params.Get("audience") != "" && !slices.Contains(d.Audiences, params.Get("audience")):
		fail(newOAuthError(0, "access_denied", "Service not found: %s", params.Get("audience")))
		return
	}

	sub := ""
	if r.Method == http.MethodPost && params.Get("user") != "" {
		if _, known := d.directory().user(params.Get("user")); !known {
			fail(newOAuthError(0, "access_denied", "unknown user"))
			return
		}
		sub = params.Get("user")
		session := randomString()
		d.state.mu.Lock()
		if d.state.sessions == nil {
			d.state.sessions = map[string]string{}
		}
		d.state.sessions[session] = sub
		d.state.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: session, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	} else if cookie, err := r.Cookie(sessionCookie); err == nil && params.Get("prompt") != "login" {
		d.state.mu.Lock()
		sub = d.state.sessions[cookie.Value]
		d.state.mu.Unlock()
	}
	var organization *Organization
	if sub != "" && params.Get("organization") != "" {
		org, known := d.directory().organization(params.Get("organization"), d.OrganizationName)
		if !known {
			fail(newOAuthError(0, "invalid_request", "no organization %q in dev-users.json", params.Get("organization")))
			return
		}
		if _, member := org.member(sub); !member {
			fail(newOAuthError(0, "access_denied", "the user is not a member of the organization %s", org.Name))
			return
		}
		organization = org
	}
	switch {
	case sub == "" && params.Get("prompt") == "none":
		fail(newOAuthError(0, "login_required", "Login required"))
	case sub == "":
		d.loginPage(w, params)
	case organization == nil && client.OrganizationUsage == "require" && params.Get("prompt") == "none":
		fail(newOAuthError(0, "login_required", "the application requires an organization: sign in again and pick one"))
	case organization == nil && client.OrganizationUsage == "require":
		// Auth0's pre_login_prompt asks before the credentials; with no
		// credentials here, the user picks after choosing who they are.
		d.organizationPage(w, params, sub)
	default:
		answer(url.Values{"code": {d.newCode(client, redirectURI, sub, organization, params)}})
	}
}

// newCode stores what the code grants: the requested scopes the user may
// have, as Auth0 with RBAC drops the others.
func (d *Issuer) newCode(client *Client, redirectURI, sub string, organization *Organization, params url.Values) string {
	user, _ := d.directory().user(sub)
	var scopes []string
	for _, scope := range strings.Fields(params.Get("scope")) {
		if slices.Contains(oidcScopes, scope) || slices.Contains(user.Scopes, scope) {
			scopes = append(scopes, scope)
		}
	}
	code := randomString()
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	if d.state.codes == nil {
		d.state.codes = map[string]*grant{}
	}
	d.state.codes[code] = &grant{
		clientID: client.ClientID, redirectURI: redirectURI, codeChallenge: params.Get("code_challenge"),
		sub: sub, audience: params.Get("audience"), nonce: params.Get("nonce"), scopes: scopes,
		organization: organization, jkt: params.Get("dpop_jkt"), expires: time.Now().Add(codeLifetime),
	}
	return code
}

// respond answers the client at its redirect_uri: a redirect with the values
// in the query, or, for response_mode=web_message, a page that posts them to
// the opener, only to the redirect_uri's origin.
func respond(w http.ResponseWriter, r *http.Request, mode, redirectURI, state string, values url.Values) {
	if state != "" {
		values.Set("state", state)
	}
	if mode == "web_message" {
		target, _ := url.Parse(redirectURI)
		response := map[string]string{}
		for name := range values {
			response[name] = values.Get(name)
		}
		message, _ := json.Marshal(map[string]any{"type": "authorization_response", "response": response})
		origin, _ := json.Marshal(target.Scheme + "://" + target.Host)
		w.Header().Set("content-type", "text/html; charset=utf-8")
		w.Header().Set("cache-control", "no-store")
		// json.Marshal escapes <, > and &, so the values cannot end the script.
		fmt.Fprintf(w, "<!doctype html><title>dev issuer</title><script>(window.opener||window.parent).postMessage(%s, %s)</script>", message, origin)
		return
	}
	target, _ := url.Parse(redirectURI)
	query := target.Query()
	for name := range values {
		query.Set(name, values.Get(name))
	}
	target.RawQuery = query.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// pageStyle is the look of the dev issuer's pages.
const pageStyle = `<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}button{display:block;width:100%;margin:.5rem 0;padding:.8rem;font-size:1rem;text-align:left;border:1px solid #8c959f;border-radius:.4rem;background:#f6f8fa;cursor:pointer}
button:hover,button:focus{background:#ddf4ff;outline:2px solid #0969da}small{color:#57606a}
</style>`

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: dev issuer</title>
` + pageStyle + `</head><body>
<h1>Sign in to the dev issuer</h1>
<p>A local stand-in for Auth0's Universal Login. Choose a user from <code>dev-users.json</code>:</p>
<form method="post" action="authorize">
{{range $name, $values := .Params}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">{{end}}{{end}}
{{range .Users}}<button type="submit" name="user" value="{{.Sub}}">{{.Name}} <small>{{.Email}}: scopes {{if .Scopes}}{{range .Scopes}}{{.}} {{end}}{{else}}none{{end}}; permissions {{if .Permissions}}{{range .Permissions}}{{.}} {{end}}{{else}}none{{end}}</small></button>
{{end}}</form></body></html>`))

func (d *Issuer) loginPage(w http.ResponseWriter, params url.Values) {
	formPage(w, loginTemplate, params, "user", map[string]any{"Users": d.directory().Users})
}

// formPage writes a page whose form posts the request's params back to
// /authorize, but for the one field that the page asks for.
func formPage(w http.ResponseWriter, page *template.Template, params url.Values, asked string, data map[string]any) {
	w.Header().Set("content-type", "text/html; charset=utf-8")
	w.Header().Set("cache-control", "no-store")
	hidden := url.Values{}
	for name, values := range params {
		if name != asked {
			hidden[name] = values
		}
	}
	data["Params"] = hidden
	page.Execute(w, data)
}

var organizationTemplate = template.Must(template.New("organization").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pick an organization: dev issuer</title>
` + pageStyle + `</head><body>
<h1>Pick an organization</h1>
{{if .Organizations}}<p>This application signs you in to one of your organizations:</p>
<form method="post" action="authorize">
{{range $name, $values := .Params}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">{{end}}{{end}}
{{range .Organizations}}<button type="submit" name="organization" value="{{.ID}}">{{.Name}} <small>{{.ID}}</small></button>
{{end}}</form>{{else}}<p>This application requires an organization, and you are a member of none in <code>dev-users.json</code>.</p>{{end}}
</body></html>`))

// organizationPage asks a signed-in user to pick one of their organizations,
// for a client whose organizationUsage is require.
func (d *Issuer) organizationPage(w http.ResponseWriter, params url.Values, sub string) {
	withUser := maps.Clone(params)
	withUser.Set("user", sub)
	formPage(w, organizationTemplate, withUser, "organization", map[string]any{"Organizations": d.directory().organizationsOf(sub)})
}

func errorPage(w http.ResponseWriter, err *oauthError) {
	w.Header().Set("content-type", "text/html; charset=utf-8")
	w.WriteHeader(err.status)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>%s</p>", template.HTMLEscapeString(err.code), template.HTMLEscapeString(err.code), template.HTMLEscapeString(err.description))
}

// token is /oauth/token: the authorization code (with its PKCE verifier),
// refresh token and client credentials grants, with Auth0's CORS answers
// for the single-page applications' origins.
func (d *Issuer) token(w http.ResponseWriter, r *http.Request) {
	d.cors(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "use POST"})
		return
	}
	params, err := tokenParams(r)
	var body map[string]any
	var failure *oauthError
	var jkt string
	if err != nil {
		failure = newOAuthError(http.StatusBadRequest, "invalid_request", "the request body cannot be parsed")
	} else if jkt, failure = d.tokenProof(r); failure == nil {
		switch params.Get("grant_type") {
		case "authorization_code":
			body, failure = d.exchangeCode(params, jkt)
		case "refresh_token":
			body, failure = d.refreshGrant(params, jkt)
		case "client_credentials":
			body, failure = d.clientCredentials(r, params, jkt)
		default:
			failure = newOAuthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type %q is not supported", params.Get("grant_type"))
		}
	}
	if failure != nil {
		writeJSON(w, failure.status, map[string]string{"error": failure.code, "error_description": failure.description})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// maxProofs bounds the proofs the token endpoint remembers, each for a minute.
const maxProofs = 10_000

// tokenProof checks the DPoP proof of a token request, if there is one, as
// Auth0 does (RFC 9449 §5): one proof, for POST to this endpoint, without
// ath, and accepted once. It returns the proof key's thumbprint, to which
// the tokens are then bound; "" without a proof, which RequireDPoP refuses.
func (d *Issuer) tokenProof(r *http.Request) (string, *oauthError) {
	header := strings.Join(r.Header.Values("DPoP"), ",")
	if header == "" {
		if d.RequireDPoP {
			return "", newOAuthError(http.StatusBadRequest, "invalid_request", "the API requires DPoP-bound tokens: send a DPoP proof")
		}
		return "", nil
	}
	proof, err := dpop.Check(header, dpop.Request{Method: http.MethodPost, URL: d.URL + "oauth/token"}, time.Now())
	if err != nil {
		return "", newOAuthError(http.StatusBadRequest, "invalid_dpop_proof", "%s", err.Error())
	}
	now := time.Now()
	d.state.mu.Lock()
	defer d.state.mu.Unlock()
	if d.state.proofs == nil {
		d.state.proofs = map[string]time.Time{}
	}
	if len(d.state.proofs) >= maxProofs {
		for seen, expires := range d.state.proofs {
			if !now.Before(expires) {
				delete(d.state.proofs, seen)
			}
		}
		// Forgetting live proofs would let one be replayed: refuse instead.
		if len(d.state.proofs) >= maxProofs {
			return "", newOAuthError(http.StatusServiceUnavailable, "temporarily_unavailable", "too many DPoP proofs in the last minute")
		}
	}
	key := proof.Thumbprint + "#" + proof.JTI
	if expires, seen := d.state.proofs[key]; seen && now.Before(expires) {
		return "", newOAuthError(http.StatusBadRequest, "invalid_dpop_proof", "the DPoP proof was used before")
	}
	d.state.proofs[key] = proof.IssuedAt.Add(dpop.MaxAge + dpop.MaxSkew)
	return proof.Thumbprint, nil
}

// tokenParams reads a form body, or a JSON one as auth0-spa-js sends with useFormData false.
func tokenParams(r *http.Request) (url.Values, error) {
	if strings.HasPrefix(r.Header.Get("content-type"), "application/json") {
		var fields map[string]string
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10)).Decode(&fields); err != nil {
			return nil, err
		}
		values := url.Values{}
		for name, value := range fields {
			values.Set(name, value)
		}
		return values, nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	return r.Form, r.ParseForm()
}

// cors allows the single-page applications' web origins, and the Auth0-Client
// header that auth0-spa-js sends, which makes every token request preflighted.
func (d *Issuer) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	for _, client := range d.directory().Clients {
		if origin != "" && slices.Contains(client.WebOrigins, origin) {
			w.Header().Set("access-control-allow-origin", origin)
			w.Header().Set("access-control-allow-methods", "POST")
			w.Header().Set("access-control-allow-headers", "Auth0-Client, Content-Type, DPoP")
			w.Header().Set("access-control-max-age", "86400")
			w.Header().Add("vary", "origin")
			return
		}
	}
}

func (d *Issuer) exchangeCode(params url.Values, jkt string) (map[string]any, *oauthError) {
	d.state.mu.Lock()
	g, ok := d.state.codes[params.Get("code")]
	delete(d.state.codes, params.Get("code")) // good once, whatever happens next
	d.state.mu.Unlock()
	switch {
	case !ok:
		return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", "Invalid authorization code: unknown or already used")
	case time.Now().After(g.expires):
		return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", "Invalid authorization code: expired")
	case g.clientID != params.Get("client_id"):
		return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", "the authorization code was issued to another client")
	case g.redirectURI != params.Get("redirect_uri"):
		return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the one the code was issued for")
	case g.jkt != "" && g.jkt != jkt:
		// RFC 9449 §10: a code bound by dpop_jkt is exchanged with that key only.
		return nil, newOAuthError(http.StatusBadRequest, "invalid_dpop_proof", "the DPoP proof's key is not the one the authorization request named (dpop_jkt)")
	}
	sum := sha256.Sum256([]byte(params.Get("code_verifier")))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.codeChallenge)) != 1 {
		return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", "Failed to verify code verifier")
	}
	bound := *g
	bound.jkt = jkt
	return d.userTokens(&bound)
}

func (d *Issuer) refreshGrant(params url.Values, jkt string) (map[string]any, *oauthError) {
	d.state.mu.Lock()
	g, ok := d.state.refresh[params.Get("refresh_token")]
	if ok && g.jkt != jkt {
		// A public client's refresh token is bound to its DPoP key (RFC 9449
		// §5): without the key it is refused, and left to its holder.
		d.state.mu.Unlock()
		return nil, newOAuthError(http.StatusBadRequest, "invalid_dpop_proof", "the refresh token is bound to another DPoP key, or to none")
	}
	delete(d.state.refresh, params.Get("refresh_token")) // rotated: the old one is spent
	d.state.mu.Unlock()
	if !ok || g.clientID != params.Get("client_id") {
		return nil, newOAuthError(http.StatusForbidden, "invalid_grant", "Unknown or invalid refresh token.")
	}
	refreshed := *g
	refreshed.nonce = ""
	return d.userTokens(&refreshed)
}

// userTokens mints a signed-in user's access token (the granted scopes and
// the user's permissions) and ID token, and a refresh token with offline_access.
func (d *Issuer) userTokens(g *grant) (map[string]any, *oauthError) {
	user, ok := d.directory().user(g.sub)
	if !ok {
		return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", "the user no longer exists")
	}
	permissions := user.Permissions
	if g.organization != nil {
		// Auth0: the permissions reflect only the roles held within the
		// active organization.
		member, ok := g.organization.member(user.Sub)
		if !ok {
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", "the user is no longer a member of the organization")
		}
		permissions = member.Permissions
	}
	if permissions == nil {
		permissions = []string{}
	}
	access, err := d.AccessToken(TokenRequest{Subject: user.Sub, Audience: g.audience, ClientID: g.clientID, Scopes: g.scopes, Permissions: permissions, Organization: g.organization, Confirmation: g.jkt, TTL: AccessTokenLifetime})
	if err != nil {
		return nil, newOAuthError(http.StatusInternalServerError, "server_error", "%v", err)
	}
	now := time.Now()
	idClaims := jwt.MapClaims{"iss": d.URL, "sub": user.Sub, "aud": g.clientID, "iat": now.Unix(), "exp": now.Add(AccessTokenLifetime).Unix(), "name": user.Name, "email": user.Email}
	if g.nonce != "" {
		idClaims["nonce"] = g.nonce
	}
	if g.organization != nil {
		idClaims["org_id"] = g.organization.ID
		if d.OrganizationName {
			idClaims["org_name"] = g.organization.Name
		}
	}
	id, err := d.Sign(idClaims)
	if err != nil {
		return nil, newOAuthError(http.StatusInternalServerError, "server_error", "%v", err)
	}
	body := map[string]any{"access_token": access, "id_token": id, "token_type": tokenType(g.jkt), "expires_in": int(AccessTokenLifetime.Seconds()), "scope": strings.Join(g.scopes, " ")}
	if slices.Contains(g.scopes, "offline_access") {
		refresh := randomString()
		d.state.mu.Lock()
		if d.state.refresh == nil {
			d.state.refresh = map[string]*grant{}
		}
		d.state.refresh[refresh] = g
		d.state.mu.Unlock()
		body["refresh_token"] = refresh
	}
	return body, nil
}

// clientCredentials answers a machine-to-machine client as Auth0 does,
// errors included: its scopes and permissions, for an audience it names, and
// for an organization, by ID or name, among those its grant lists.
// tokenType is "DPoP" for a token bound to a key, as Auth0 answers and
// auth0-spa-js reads it (case included), and "Bearer" otherwise.
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

func (d *Issuer) clientCredentials(r *http.Request, params url.Values, jkt string) (map[string]any, *oauthError) {
	id, secret := params.Get("client_id"), params.Get("client_secret")
	if basicID, basicSecret, ok := r.BasicAuth(); ok {
		id, secret = basicID, basicSecret
	}
	client, ok := d.directory().client(id)
	if !ok || client.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(client.ClientSecret)) != 1 {
		return nil, newOAuthError(http.StatusUnauthorized, "access_denied", "Unauthorized")
	}
	audience := params.Get("audience")
	if !slices.Contains(d.Audiences, audience) {
		return nil, newOAuthError(http.StatusForbidden, "access_denied", "Service not enabled within domain: %s", audience)
	}
	var organization *Organization
	if requested := params.Get("organization"); requested != "" {
		org, known := d.directory().organization(requested, d.OrganizationName)
		if !known || !slices.Contains(client.Organizations, org.ID) {
			return nil, newOAuthError(http.StatusForbidden, "access_denied", "the client is not allowed to access the organization %q", requested)
		}
		organization = org
	}
	permissions := client.Permissions
	if permissions == nil {
		permissions = []string{}
	}
	access, err := d.AccessToken(TokenRequest{Subject: client.ClientID + "@clients", Audience: audience, ClientID: client.ClientID, Scopes: client.Scopes, Permissions: permissions, Organization: organization, Confirmation: jkt, TTL: AccessTokenLifetime})
	if err != nil {
		return nil, newOAuthError(http.StatusInternalServerError, "server_error", "%v", err)
	}
	return map[string]any{"access_token": access, "token_type": tokenType(jkt), "expires_in": int(AccessTokenLifetime.Seconds()), "scope": strings.Join(client.Scopes, " ")}, nil
}

// userinfo is /userinfo: the signed-in user's profile, for an access token
// this issuer signed.
func (d *Issuer) userinfo(w http.ResponseWriter, r *http.Request) {
	d.cors(w, r)
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &d.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(d.URL), jwt.WithExpirationRequired())
	sub, _ := claims["sub"].(string)
	user, known := d.directory().user(sub)
	if err != nil || !known {
		w.Header().Set("www-authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "a valid access token of a user of this issuer is required"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"sub": user.Sub, "name": user.Name, "email": user.Email})
}

// logout is /v2/logout: it ends the session and returns to returnTo, when
// that is one of the client's logout URLs.
func (d *Issuer) logout(w http.ResponseWriter, r *http.Request) {
	if cookie, err := r.Cookie(sessionCookie); err == nil {
		d.state.mu.Lock()
		delete(d.state.sessions, cookie.Value)
		d.state.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	returnTo := r.URL.Query().Get("returnTo")
	if returnTo == "" {
		fmt.Fprint(w, "<!doctype html><title>Signed out</title><p>Signed out of the dev issuer.</p>")
		return
	}
	client, ok := d.directory().client(r.URL.Query().Get("client_id"))
	if !ok || !slices.Contains(client.LogoutURLs, returnTo) {
		errorPage(w, newOAuthError(http.StatusBadRequest, "invalid_request", "returnTo %q is not an allowed logout URL of client %q", returnTo, r.URL.Query().Get("client_id")))
		return
	}
	http.Redirect(w, r, returnTo, http.StatusFound)
}
