package apitemplate

import (
	"fmt"
	"strings"

	"github.com/auth0-http-api/cdk/internal/jwtauth"
)

// RouteRule is what the Lambda authorizer requires of a route's token. Synth
// writes each route's rule into the authorizer function's RouteRulesVariable,
// and tools read it back from there.
type RouteRule struct {
	// Scopes and Permissions: the token must hold one of them, when listed.
	Scopes      []string `json:"scopes,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	// Organization binds the route to the token's org_id: "{name}", the path
	// parameter that must equal it, or AnyOrganization; "" binds nothing.
	Organization string `json:"organization,omitempty"`
}

// AnyOrganization is the binding of a route that takes a token of any
// organization, but not one issued for none.
const AnyOrganization = "*"

// Refusal says why the rule refuses a verified token on rawPath, the request's
// path, which the route whose path template is routePath matched; "" when it
// allows it. The organization's segment must equal org_id byte for byte:
// another case, a path with an empty segment (a doubled or trailing slash) or
// with another number of segments than the route's is refused, and so is a
// percent-encoding where the path arrives undecoded, as in the local API. So
// is a request whose pathParameters, when given, name another value: that
// value is what the function reads, and HTTP APIs decode it, so that "%2F" in
// it is a slash (docs/organizations.md).
func (rule RouteRule) Refusal(token *jwtauth.Token, routePath, rawPath string, pathParameters map[string]string) string {
	switch {
	case !jwtauth.HoldsAny(token.Scopes, rule.Scopes):
		return fmt.Sprintf("the token holds none of the route's scopes %v", rule.Scopes)
	case !jwtauth.HoldsAny(token.Permissions, rule.Permissions):
		return fmt.Sprintf("the token holds none of the route's permissions %v", rule.Permissions)
	case rule.Organization == "":
		return ""
	case token.Organization == "":
		return "the route is bound to the caller's organization, and the token has no org_id string: sign in to an organization"
	case rule.Organization == AnyOrganization:
		return ""
	}
	segment, problem := pathSegment(routePath, rawPath, rule.Organization)
	if problem != "" {
		return problem
	}
	if segment != token.Organization {
		return fmt.Sprintf("the path's %s is not the token's org_id: a token reaches its own organization's routes only", rule.Organization)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(rule.Organization, "{"), "}")
	if value, given := pathParameters[name]; pathParameters != nil && (!given || value != token.Organization) {
		return fmt.Sprintf("the path parameter %s the function receives is not the token's org_id", name)
	}
	return ""
}

// pathSegment is the segment of rawPath at the place of parameter in
// routePath. The segments before it must be the route's own, and rawPath may
// have no empty segment.
func pathSegment(routePath, rawPath, parameter string) (string, string) {
	route := strings.Split(routePath, "/")
	raw := strings.Split(rawPath, "/")
	for i, segment := range raw[1:] {
		if segment == "" {
			return "", fmt.Sprintf("the path has an empty segment at %d (a doubled or trailing slash): it is not the route's canonical path", i+1)
		}
	}
	// A route bound to an organization has no greedy parameter (synth refuses
	// one), so a path of another length is one whose parameter held a slash.
	if len(raw) != len(route) {
		return "", "the path does not have the route's number of segments (a slash inside a path parameter?)"
	}
	for i, segment := range route {
		switch {
		case segment == parameter:
			return raw[i], ""
		case segment != raw[i] && !strings.HasPrefix(segment, "{"):
			return "", "the path does not follow the route's literal segments"
		}
	}
	return "", fmt.Sprintf("the route's path has no %s segment", parameter)
}
