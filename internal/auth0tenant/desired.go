// Package auth0tenant keeps a stage's Auth0 tenant in step with its route
// table: it works out, from the synthesized template alone, the API, the
// page's application and the smoke check's applications the stage needs;
// compares them with the tenant through the Management API; and makes the
// changes. It never deletes an application, a grant or a scope unless asked
// to prune.
package auth0tenant

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/auth0/go-auth0/management"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// ManagementScopes are the Management API scopes apply needs; plan needs
// only the read: ones.
var ManagementScopes = []string{"read:resource_servers", "create:resource_servers", "update:resource_servers",
	"read:clients", "create:clients", "update:clients", "read:client_grants", "create:client_grants", "update:client_grants"}

// Desired is what a stage needs of its tenant.
type Desired struct {
	Stage string
	API   API
	// Page is the single-page application, nil when the stage serves no page.
	Page *Page
	// Smoke are the machine-to-machine applications of `apictl smoke`: the
	// first is granted every scope and permission, the second a subset.
	Smoke [2]Smoke
	// Organizations: a route is bound to the caller's Auth0 Organization, so
	// the page's application lets users sign in to one, and the first smoke
	// application's grant may get tokens for one (docs/organizations.md).
	Organizations bool
	// Resource is the resource identifier that the stage's Protected Resource
	// Metadata names (docs/resource-metadata.md), "" when it serves none.
	Resource string
}

// ResourceNote says when the metadata's resource is not the API's
// identifier, "" when it is: a client that found the API through its
// metadata asks for a token for the resource, which Auth0 then issues for no
// API of this stage.
func (d Desired) ResourceNote() string {
	if d.Resource == "" || d.Resource == d.API.Identifier {
		return ""
	}
	return fmt.Sprintf("the stage's Protected Resource Metadata names the resource %s, but the API's identifier is %s: a client that asks for a token for %s (RFC 8707's resource, or audience) gets none for this API; put %s first in auth0.audience (docs/resource-metadata.md)",
		d.Resource, d.API.Identifier, d.Resource, d.Resource)
}

// API is the Auth0 API (resource server) whose identifier is the audience.
type API struct {
	Name, Identifier string
	Scopes           []Scope // sorted by value
	// RBAC turns on RBAC and "add permissions in the access token": a route
	// requires permissions.
	RBAC bool
	// OfflineAccess lets the page ask for refresh tokens.
	OfflineAccess bool
	// DPoP requires DPoP-bound tokens of every client: the stage requires
	// DPoP (docs/dpop.md).
	DPoP bool
}

// Scope is one scope or permission of the API, described by the routes that
// require it.
type Scope struct{ Value, Description string }

// Page is the single-page application of the stage's page.
type Page struct {
	Name     string
	ClientID string // as the stage's template names it (web.auth0ClientId)
	// Origins are where the page runs: its deployed address, once known,
	// and the API's other CORS origins. Each is a web origin, and with a
	// trailing slash a callback and a logout URL, as the page asks for.
	Origins []string
}

// Smoke is one of the smoke check's applications and what it is granted.
type Smoke struct {
	Name   string
	Scopes []string
}

// Auth0's limits on an API's scopes: the Management API's schema for a
// scope's value and description, and the entity limit policy
// (https://auth0.com/docs/troubleshoot/customer-support/operational-policies/entity-limit-policy).
const (
	maxScopeValue       = 280
	maxScopeDescription = 500
	maxScopesPerAPI     = 1000
)

// Want works out what the stage needs from its template (api), the address
// of its deployed page when known (webURL), and the scopes to grant the
// limited smoke application (nil: the first scope of the routes).
func Want(stage string, api *apitemplate.API, webURL string, limited []string) (Desired, error) {
	if api.Issuer == "" {
		return Desired{}, fmt.Errorf("stage %s is its own token issuer (selfHostedIssuer), not an Auth0 tenant: there is no tenant to keep in step", stage)
	}
	if len(api.Audience) == 0 {
		return Desired{}, fmt.Errorf("stage %s: the template's JWT authorizer has no audience", stage)
	}
	name := "auth0-http-api " + stage
	want := Desired{Stage: stage, API: API{Name: name, Identifier: api.Audience[0], DPoP: api.RequiresDPoP()}}
	metadata, err := api.ResourceMetadata()
	if err != nil {
		return Desired{}, fmt.Errorf("stage %s: %w", stage, err)
	}
	if metadata != nil {
		want.Resource = metadata.Resource
	}

	requiredBy := map[string][]string{}
	for _, route := range api.Routes {
		for _, value := range slices.Concat(route.Scopes, route.Permissions) {
			requiredBy[value] = append(requiredBy[value], route.Key)
		}
		want.API.RBAC = want.API.RBAC || len(route.Permissions) > 0
		want.Organizations = want.Organizations || route.Organization != ""
	}
	var problems []string
	for _, value := range slices.Sorted(maps.Keys(requiredBy)) {
		description := "Required by " + strings.Join(requiredBy[value], ", ")
		if len(description) > maxScopeDescription {
			description = description[:maxScopeDescription-1] + "…"
		}
		if len(value) > maxScopeValue || strings.IndexFunc(value, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
			problems = append(problems, fmt.Sprintf("%q (required by %s): an Auth0 API's scope is 1 to %d printable ASCII characters without spaces; rename it in stacks/routes.go", value, strings.Join(requiredBy[value], ", "), maxScopeValue))
		}
		want.API.Scopes = append(want.API.Scopes, Scope{Value: value, Description: description})
	}
	if len(want.API.Scopes) > maxScopesPerAPI {
		problems = append(problems, fmt.Sprintf("the routes use %d scopes and permissions: an Auth0 API holds at most %d", len(want.API.Scopes), maxScopesPerAPI))
	}
	if len(problems) > 0 {
		return Desired{}, fmt.Errorf("stage %s: the route table has scopes the tenant's API cannot hold:\n  - %s", stage, strings.Join(problems, "\n  - "))
	}

	if clientID, hasPage := api.Outputs["WebClientId"]; hasPage {
		want.API.OfflineAccess = true // the page signs in with refresh tokens
		page := &Page{Name: name + " page", ClientID: clientID}
		if webURL != "" {
			page.Origins = append(page.Origins, strings.TrimSuffix(webURL, "/"))
		}
		if api.Cors != nil {
			for _, origin := range api.Cors.AllowOrigins {
				if origin != "*" && !slices.Contains(page.Origins, origin) {
					page.Origins = append(page.Origins, origin)
				}
			}
		}
		want.Page = page
	}

	all := make([]string, len(want.API.Scopes))
	for i, scope := range want.API.Scopes {
		all[i] = scope.Value
	}
	if limited == nil {
		limited = all[:min(1, len(all))]
	}
	for _, scope := range limited {
		if !slices.Contains(all, scope) {
			return Desired{}, fmt.Errorf("stage %s: limited scope %q is required by no route: choose among %s", stage, scope, strings.Join(all, " "))
		}
	}
	want.Smoke = [2]Smoke{{Name: name + " smoke", Scopes: all}, {Name: name + " smoke limited", Scopes: slices.Sorted(slices.Values(limited))}}
	return want, nil
}

// client is the page's application as the tenant should hold it: no
// secret, the authorization code and refresh token grants, rotating refresh
// tokens, and its origins as web origins, callbacks and logout URLs.
func (p *Page) client() *management.Client {
	var callbacks []string
	for _, origin := range p.Origins {
		callbacks = append(callbacks, origin+"/")
	}
	return &management.Client{
		Name: &p.Name, AppType: ptr("spa"), TokenEndpointAuthMethod: ptr("none"), OIDCConformant: ptr(true),
		GrantTypes: &[]string{"authorization_code", "refresh_token"},
		Callbacks:  &callbacks, AllowedLogoutURLs: &callbacks, WebOrigins: ptr(slices.Clone(p.Origins)),
		RefreshToken: &management.ClientRefreshToken{RotationType: ptr("rotating"), ExpirationType: ptr("expiring")},
	}
}

func ptr[T any](v T) *T { return &v }

// ByHand says what the tenant needs that apply does not make: which of the
// tenant's organizations are this API's customers, their members and their
// roles, is the team's to say. "" when nothing is.
func (d Desired) ByHand() string {
	if !d.Organizations {
		return ""
	}
	return fmt.Sprintf("routes are bound to the caller's organization: in each customer organization, add its members and assign their roles; "+
		"associate the grant of %q with two organizations for `apictl smoke --organizations` (docs/organizations.md#the-auth0-side)", d.Smoke[0].Name)
}
