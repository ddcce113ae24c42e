package stacks

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// Route is one entry of the API's route table.
type Route struct {
	Method string // GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY
	Path   string // starts with "/", may hold {name} segments and a final {proxy+}
	// Summary says in a few words what the route does: the OpenAPI
	// document's summary of its operation.
	Summary string
	// Function names the Lambda function behind the route: a key of Functions.
	Function string
	// Public routes take no token at all. Every other route needs a valid JWT.
	Public bool
	// Scopes: the token must hold at least one of them in its "scope" claim,
	// checked by API Gateway's JWT authorizer. Empty on a private route means
	// any valid token will do.
	Scopes []string
	// Permissions: the token must hold at least one of them in its Auth0 RBAC
	// "permissions" claim, checked by the permissions authorizer (a Lambda
	// function). A route has Scopes or Permissions, never both.
	Permissions []string
	// Organization binds the route to the caller's Auth0 Organization, the
	// token's org_id (docs/organizations.md). OrgFromPath("orgId"): the path's
	// {orgId} segment must equal it exactly. AnyOrganization: the token must
	// carry one, of any organization. Such a route is checked by the Lambda
	// authorizer, which checks its Scopes or Permissions too: API Gateway's
	// JWT authorizer cannot read org_id.
	Organization string

	// dpop is set by StageRoutes on every private route of a stage that
	// requires DPoP: the Lambda authorizer checks the proof.
	dpop bool
}

// AnyOrganization binds a route to no organization in particular: the token
// must have been issued for one.
const AnyOrganization = apitemplate.AnyOrganization

// OrgFromPath binds a route to the organization its path parameter names.
func OrgFromPath(parameter string) string { return "{" + parameter + "}" }

// NeedsLambdaAuthorizer tells whether the route is checked by the Lambda
// authorizer rather than by API Gateway's JWT authorizer: it requires
// permissions or an organization, or its stage requires DPoP.
func (r Route) NeedsLambdaAuthorizer() bool {
	return !r.Public && (len(r.Permissions) > 0 || r.Organization != "" || r.dpop)
}

// Key is the route key as API Gateway writes it, such as "GET /user".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Functions maps each function's construct ID to its Go package, relative to the module root.
var Functions = map[string]string{
	"Greeting":   "./functions/greeting",
	"ClaimsEcho": "./functions/claimsecho",
}

// AuthorizerPackage is the permissions authorizer's Go package: the Lambda
// authorizer of every route that requires permissions.
const AuthorizerPackage = "./functions/authorizer"

// Routes is the route table: the only place routes are declared. The stack, the
// tests and the access matrix are all derived from it.
var Routes = []Route{
	{Method: "GET", Path: "/public", Function: "Greeting", Public: true, Summary: "Greet anyone, without a token"},
	{Method: "GET", Path: "/private", Function: "ClaimsEcho", Summary: "Echo the claims of any valid token"},
	{Method: "GET", Path: "/user", Function: "ClaimsEcho", Scopes: []string{"read:user"}, Summary: "Read the user: echo the token's claims"},
	{Method: "POST", Path: "/user", Function: "ClaimsEcho", Scopes: []string{"write:user"}, Summary: "Write the user: echo the token's claims"},
	{Method: "GET", Path: "/user/{id}", Function: "ClaimsEcho", Scopes: []string{"read:user"}, Summary: "Read a user by ID: echo the token's claims"},
	{Method: "GET", Path: "/admin", Function: "ClaimsEcho", Permissions: []string{"read:admin"}, Summary: "Administer: echo the token's permissions"},
	{Method: "GET", Path: "/orgs/{orgId}/projects", Function: "ClaimsEcho", Organization: OrgFromPath("orgId"), Summary: "List an organization's projects: members of that organization only"},
	{Method: "POST", Path: "/orgs/{orgId}/projects", Function: "ClaimsEcho", Organization: OrgFromPath("orgId"), Permissions: []string{"write:projects"}, Summary: "Create a project in an organization: members holding write:projects there"},
}

// maxSummaryLength keeps a summary a summary: OpenAPI tools show it on one line.
const maxSummaryLength = 120

const maxScopesPerRoute = 10 // API Gateway's quota for authorization scopes on a route

var routeMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}

// ValidateRoutes checks a route table against API Gateway's rules and this
// project's own: it returns every problem found, each naming the route.
func ValidateRoutes(routes []Route, functions map[string]string) []string {
	var problems []string
	fail := func(r Route, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("route %q: %s", r.Key(), fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for _, r := range routes {
		if !slices.Contains(routeMethods, r.Method) {
			fail(r, "method %q is not one of %v", r.Method, routeMethods)
		}
		if problem := pathProblem(r.Path); problem != "" {
			fail(r, "path %s", problem)
		}
		if seen[r.Key()] {
			fail(r, "declared twice: route keys must be unique")
		}
		seen[r.Key()] = true
		if r.Summary == "" || len(r.Summary) > maxSummaryLength || strings.ContainsAny(r.Summary, "\n\r") {
			fail(r, "summary %q: say what the route does in one line of 1 to %d characters; it is the OpenAPI operation's summary", r.Summary, maxSummaryLength)
		}
		if _, ok := functions[r.Function]; !ok {
			fail(r, "function %q is not in the Functions table", r.Function)
		}
		if r.Public && len(r.Scopes) > 0 {
			fail(r, "is public but has scopes %v: API Gateway rejects scopes on a route without authorizer at deploy time; drop the scopes or make the route private", r.Scopes)
		}
		if r.Public && len(r.Permissions) > 0 {
			fail(r, "is public but has permissions %v: a public route has no authorizer to check them; drop the permissions or make the route private", r.Permissions)
		}
		if len(r.Scopes) > 0 && len(r.Permissions) > 0 {
			fail(r, "has both scopes %v and permissions %v: scopes are checked by the JWT authorizer, permissions by the permissions authorizer, and a route has one authorizer; keep one list", r.Scopes, r.Permissions)
		}
		if len(r.Scopes) > maxScopesPerRoute {
			fail(r, "has %d scopes: API Gateway allows at most %d per route", len(r.Scopes), maxScopesPerRoute)
		}
		for _, scope := range r.Scopes {
			if !validClaimValue(scope) {
				fail(r, "scope %q must be non-empty printable ASCII without spaces: tokens list scopes separated by spaces", scope)
			}
		}
		for _, permission := range r.Permissions {
			if !validClaimValue(permission) {
				fail(r, "permission %q must be non-empty printable ASCII without spaces, as Auth0 permissions are", permission)
			}
		}
		if problem := organizationProblem(r); problem != "" {
			fail(r, "%s", problem)
		}
	}
	return problems
}

// organizationProblem describes what is wrong with a route's organization
// binding, or returns "".
func organizationProblem(r Route) string {
	switch {
	case r.Organization == "":
		return ""
	case r.Public:
		return fmt.Sprintf("is public but bound to the caller's organization (%s): a public route has no token to read org_id from; drop Organization or make the route private", r.Organization)
	case r.Organization == AnyOrganization:
		return ""
	}
	name, isParameter := strings.CutPrefix(r.Organization, "{")
	name, closed := strings.CutSuffix(name, "}")
	if !isParameter || !closed || name == "" || strings.HasSuffix(name, "+") {
		return fmt.Sprintf("organization %q: write OrgFromPath(\"name\") for a path parameter {name}, or AnyOrganization", r.Organization)
	}
	if !slices.Contains(strings.Split(r.Path, "/"), r.Organization) {
		return fmt.Sprintf("is bound to the organization in path parameter %s, but its path %s has no segment %s: add it to the path, as in /orgs/%s/projects", r.Organization, r.Path, r.Organization, r.Organization)
	}
	if strings.HasSuffix(r.Path, "+}") {
		// HTTP APIs decode the path: an encoded slash in the organization's
		// segment would reach the function as part of a greedy parameter's
		// match, and share a cached answer with the path it decodes to.
		return fmt.Sprintf("is bound to the organization in %s and ends in a greedy parameter: a route bound to an organization has a fixed number of segments; list its sub-paths as routes of their own", r.Organization)
	}
	return ""
}

func validClaimValue(value string) bool {
	return value != "" && strings.IndexFunc(value, func(c rune) bool { return c <= ' ' || c > '~' }) < 0
}

// pathProblem describes what is wrong with a route path, or returns "".
func pathProblem(path string) string {
	if !strings.HasPrefix(path, "/") {
		return fmt.Sprintf("%q must start with /", path)
	}
	if path == "/" {
		return ""
	}
	if strings.HasSuffix(path, "/") {
		return fmt.Sprintf("%q must not end with /", path)
	}
	segments := strings.Split(path[1:], "/")
	for i, segment := range segments {
		switch {
		case segment == "":
			return fmt.Sprintf("%q has an empty segment", path)
		case strings.HasSuffix(segment, "+}") && i != len(segments)-1:
			return fmt.Sprintf("%q has greedy %s before its last segment: {name+} may only end a path", path, segment)
		case strings.HasPrefix(segment, "{") != strings.HasSuffix(segment, "}"):
			return fmt.Sprintf("%q has an unbalanced parameter %q: write {name}", path, segment)
		case strings.HasPrefix(segment, "{"):
			name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(segment, "{"), "}"), "+")
			if name == "" || strings.IndexFunc(name, func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '_' }) >= 0 {
				return fmt.Sprintf("%q has a bad parameter name in %q", path, segment)
			}
		case strings.ContainsAny(segment, "{}+ "):
			return fmt.Sprintf("%q has a stray character in %q", path, segment)
		}
	}
	return ""
}
