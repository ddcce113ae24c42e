// Package wire holds what the functions put on the wire and what the OpenAPI
// document describes: the JSON bodies of their answers and the well-known
// paths a stage serves. Both sides import it, so the document
// cannot drift from the answers; it imports nothing of the project.
package wire

// The well-known paths of a stage that is its own token issuer, relative to
// the issuer URL.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	KeySetPath    = "/.well-known/jwks.json"
)

// ProtectedResourceMetadataPath is where every stage serves its OAuth
// Protected Resource Metadata (RFC 9728 §3), for a resource identifier
// without a path.
const ProtectedResourceMetadataPath = "/.well-known/oauth-protected-resource"

// ProtectedResourceMetadata is the RFC 9728 §2 document: what a client needs
// to get a token for the API. A field left empty is left out, as §2 asks of
// parameters without a value.
type ProtectedResourceMetadata struct {
	// Resource is the API's identifier, the Auth0 API's: a client compares it
	// with the URL it derived this document's location from (§3.3).
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	ScopesSupported      []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported is ["header"]: API Gateway reads the token from
	// the Authorization header only.
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
	ResourceDocumentation  string   `json:"resource_documentation,omitempty"`
	// The DPoP proofs' algorithms accepted, and whether every token must be
	// DPoP-bound (RFC 9728 §2), on a stage that requires DPoP.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	DPoPBoundAccessTokensRequired bool     `json:"dpop_bound_access_tokens_required,omitempty"`
}

// GreetingBody is the public route's answer.
type GreetingBody struct {
	Message  string `json:"message"`
	RouteKey string `json:"routeKey"`
}

// ClaimsEchoBody is what the claims echo returns on a route behind the JWT
// authorizer.
type ClaimsEchoBody struct {
	RouteKey string `json:"routeKey"`
	Sub      string `json:"sub"`
	// Claims are exactly as API Gateway passed them: every value a string.
	Claims map[string]string `json:"claims"`
	// Decoded turns the stringified claims back into lists and times.
	Decoded map[string]any `json:"decoded"`
	// Scopes is null on routes without authorization scopes, as API Gateway sends it.
	Scopes []string `json:"scopes"`
}

// PermissionsEchoBody is what the claims echo returns on a route behind the
// permissions authorizer: what that authorizer's context holds.
type PermissionsEchoBody struct {
	RouteKey    string   `json:"routeKey"`
	Sub         string   `json:"sub"`
	Permissions []string `json:"permissions"`
	Scope       string   `json:"scope"`
	// Organization is the token's org_id on a route bound to the caller's
	// organization (docs/organizations.md), and absent elsewhere.
	Organization string `json:"org_id,omitempty"`
}
