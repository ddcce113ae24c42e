package apitemplate

import (
	"slices"
	"strings"
)

// PageConfig is the web page's config.json: one build of the page serves
// every stage, and reads at load which tenant to sign in with and which API
// to call. Its routes come from the stage's OpenAPI document, openapi.json.
type PageConfig struct {
	Stage    string `json:"stage"`
	Domain   string `json:"domain"` // the tenant's domain, or the dev issuer's URL
	ClientID string `json:"clientId"`
	Audience string `json:"audience"`
	APIURL   string `json:"apiUrl"`
	// Scope is what sign-in requests: OpenID Connect's scopes, offline_access
	// for refresh tokens, and every scope the routes use.
	Scope string `json:"scope"`
	// DPoP: the stage requires DPoP-bound tokens, so the page signs in with
	// a key of its own and sends a proof with each call (docs/dpop.md).
	DPoP bool `json:"dpop"`
}

// NewPageConfig derives the page's configuration from the stage's API:
// sign-in asks for every scope of its routes, for its first audience, with
// DPoP when it requires it.
func NewPageConfig(stage string, api *API, domain, clientID, apiURL string) PageConfig {
	config := PageConfig{Stage: stage, Domain: domain, ClientID: clientID, Audience: api.Audience[0], APIURL: apiURL, DPoP: api.RequiresDPoP()}
	scopes := []string{"openid", "profile", "email", "offline_access"}
	for _, route := range api.Routes {
		for _, scope := range route.Scopes {
			if !slices.Contains(scopes, scope) {
				scopes = append(scopes, scope)
			}
		}
	}
	config.Scope = strings.Join(scopes, " ")
	return config
}

// PageCSP is the page's Content-Security-Policy: its own files, and
// connections to the tenant and the API only. The silent sign-in renewal runs
// in a hidden iframe of the tenant, and Auth0's SPA library keeps refresh
// tokens in a Web Worker it starts from a blob: URL.
func PageCSP(tenant, api string) string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"worker-src 'self' blob:",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src 'self' " + tenant + " " + api,
		"frame-src " + tenant,
		"frame-ancestors 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"object-src 'none'",
	}, "; ")
}
