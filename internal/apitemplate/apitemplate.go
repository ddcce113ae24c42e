// Package apitemplate reads the HTTP API that a synthesized CloudFormation
// template declares: its JWT authorizer, its routes and the functions behind
// them, and what each route means (who may call it, a path to call it on).
// Tools read the API from here instead of keeping a copy of the route table.
// It links no CDK: it reads JSON, and synthesizes by running the app.
package apitemplate

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// GoPackageMetadataKey is the CloudFormation metadata key on each function that
// names its Go package, so tools that read the template can build the same code.
// It lives here rather than in stacks, so that such tools do not link the CDK.
const GoPackageMetadataKey = "GoPackage"

// SummaryMetadataKey is the CloudFormation metadata key on each route that
// holds the route table's summary of it.
const SummaryMetadataKey = "Summary"

// API is the HTTP API of one stage.
type API struct {
	// StackName is the CloudFormation stack's name, under which `cdk deploy
	// --outputs-file` writes the stack's outputs. Load sets it.
	StackName string

	// The JWT authorizer's issuer, audiences and identity source.
	Issuer         string
	Audience       []string
	IdentitySource []string
	// LambdaAuthorizers are keyed by their CloudFormation logical ID.
	LambdaAuthorizers map[string]LambdaAuthorizer
	Routes            []Route
	// Cors is the API's CORS configuration, or nil without one.
	Cors *Cors
	// Functions are keyed by their CloudFormation logical ID.
	Functions map[string]Function
	// Outputs are the stack's outputs, by name; one resolved only at deploy,
	// such as the page's address, reads as "".
	Outputs map[string]string
}

// Cors is an HTTP API's CorsConfiguration.
type Cors struct {
	// AllowOrigins holds the origins written out: one resolved only at
	// deploy, such as a deployed page's CloudFront address, is left out.
	AllowOrigins                              literalStrings
	AllowMethods, AllowHeaders, ExposeHeaders []string
	AllowCredentials                          bool
	MaxAge                                    int
}

// literalString reads a string, or a CloudFormation intrinsic, which is
// resolved only at deploy time and reads as "".
type literalString string

func (l *literalString) UnmarshalJSON(data []byte) error {
	var value any
	if err := json.Unmarshal(data, &value); err != nil {
		return err
	}
	s, _ := value.(string)
	*l = literalString(s)
	return nil
}

// literalStrings reads a list of strings and CloudFormation intrinsics,
// keeping the strings.
type literalStrings []string

func (l *literalStrings) UnmarshalJSON(data []byte) error {
	var values []any
	if err := json.Unmarshal(data, &values); err != nil {
		return err
	}
	*l = nil
	for _, value := range values {
		if s, ok := value.(string); ok {
			*l = append(*l, s)
		}
	}
	return nil
}

// LambdaAuthorizer is a REQUEST authorizer backed by a Lambda function, with
// payload format 2.0 and simple responses.
type LambdaAuthorizer struct {
	Function         string   // logical ID of its function
	IdentitySource   []string // such as $request.header.Authorization and $context.routeKey
	ResultTTLSeconds int      // 0: answers are not cached
}

// Route is one route as the template declares it.
type Route struct {
	Key               string // "GET /user"
	Method            string
	Path              string
	Summary           string // the route table's words for what it does
	AuthorizationType string // AuthorizationNone, AuthorizationJWT or AuthorizationCustom
	Scopes            []string
	// Permissions are what the Lambda authorizer requires of a CUSTOM route,
	// read, with the route's Scopes and Organization, from its function's
	// RouteRulesVariable.
	Permissions []string
	// Organization binds a CUSTOM route to the token's org_id (RouteRule).
	Organization string
	Authorizer   string // logical ID of the Lambda authorizer of a CUSTOM route
	Function     string // logical ID of the function behind the route
}

// The environment of the permissions authorizer's function, written at synth:
// the JWT issuer and audiences it accepts (the audiences as a JSON list), and
// each route's rule (a JSON object of route key to RouteRule).
const (
	AuthorizerIssuerVariable   = "ISSUER"
	AuthorizerAudienceVariable = "AUDIENCE"
	RouteRulesVariable         = "ROUTE_RULES"
)

// The environment of the permissions authorizer of a stage that requires
// DPoP (docs/dpop.md): DPoPVariable is DPoPRequired, the DynamoDB table that
// records each proof's jti, and the scheme of the API's URL, which a proof's
// htu names: "https" on AWS, "http" on the local API, which sets it.
const (
	DPoPVariable        = "DPOP"
	DPoPRequired        = "required"
	ReplayTableVariable = "DPOP_REPLAY_TABLE"
	APISchemeVariable   = "API_SCHEME"
)

// RequiresDPoP tells whether the stage requires DPoP: its Lambda
// authorizer's function is told so.
func (a *API) RequiresDPoP() bool {
	for _, authorizer := range a.LambdaAuthorizers {
		if a.Functions[authorizer.Function].Environment[DPoPVariable] == DPoPRequired {
			return true
		}
	}
	return false
}

// The environment of the function that serves the stage's Protected Resource
// Metadata (RFC 9728), written at synth: the document derived from the route
// table, as JSON, without the authorization server, which is the function's
// AuthorizerIssuerVariable; and the URL of the API's documentation, when the
// stage has a page.
const (
	ResourceMetadataVariable      = "PROTECTED_RESOURCE_METADATA"
	ResourceDocumentationVariable = "RESOURCE_DOCUMENTATION"
)

// ResourceMetadata is the Protected Resource Metadata that the template's
// metadata function serves, as far as the template says it: the function
// adds the issuer it is given as the authorization server, and its
// documentation is "" when the template resolves it only at deploy. It is nil
// when no function serves one.
func (a *API) ResourceMetadata() (*wire.ProtectedResourceMetadata, error) {
	for id, fn := range a.Functions {
		encoded, ok := fn.Environment[ResourceMetadataVariable]
		if !ok {
			continue
		}
		var document wire.ProtectedResourceMetadata
		if err := json.Unmarshal([]byte(encoded), &document); err != nil || document.Resource == "" {
			return nil, fmt.Errorf("function %s: %s is not Protected Resource Metadata with a resource: %q", id, ResourceMetadataVariable, encoded)
		}
		document.ResourceDocumentation = fn.Environment[ResourceDocumentationVariable]
		return &document, nil
	}
	return nil, nil
}

// DefaultRouteKey is the catch-all route, chosen when no other route matches
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html).
const DefaultRouteKey = "$default"

// The authorization types of an HTTP API route. CUSTOM is a Lambda authorizer.
const (
	AuthorizationNone   = "NONE"
	AuthorizationJWT    = "JWT"
	AuthorizationCustom = "CUSTOM"
)

// IsPublic tells whether a route's AuthorizationType lets anyone call it.
// CloudFormation's default, when the property is absent, is NONE.
func IsPublic(authorizationType string) bool {
	return authorizationType == "" || authorizationType == AuthorizationNone
}

// Public tells whether the route takes requests without any token.
func (r Route) Public() bool { return IsPublic(r.AuthorizationType) }

// Allows tells whether a verified token may call the route on path: on a JWT
// route it must hold one of the route's scopes, on a CUSTOM route it must
// pass the route's rule (RouteRule.Refusal), and a route that requires
// nothing takes any valid token.
func (r Route) Allows(token *jwtauth.Token, path string) bool {
	if r.AuthorizationType == AuthorizationCustom {
		return r.Rule().Refusal(token, r.Path, path, nil) == ""
	}
	return jwtauth.HoldsAny(token.Scopes, r.Scopes)
}

// Rule is what the Lambda authorizer of a CUSTOM route requires.
func (r Route) Rule() RouteRule {
	return RouteRule{Scopes: r.Scopes, Permissions: r.Permissions, Organization: r.Organization}
}

// AuthLabel is who checks the route, as the access matrix writes it: NONE,
// JWT (API Gateway's JWT authorizer) or LAMBDA (a Lambda authorizer).
func (r Route) AuthLabel() string {
	switch {
	case r.Public():
		return AuthorizationNone
	case r.AuthorizationType == AuthorizationCustom:
		return "LAMBDA"
	}
	return r.AuthorizationType
}

// Requires is what the route asks of a token, any one of them: its
// permissions, when it has some, its scopes otherwise.
func (r Route) Requires() []string {
	if len(r.Permissions) > 0 {
		return r.Permissions
	}
	return r.Scopes
}

// What SamplePath puts for a path parameter: one segment, or the rest of the
// path for a greedy one.
const (
	SampleSegment = "sample"
	SampleRest    = "sample/path"
)

// SamplePath is a request path that the route matches: each {name} becomes
// SampleSegment, and a greedy {name+} becomes SampleRest. The $default route
// takes any path.
func (r Route) SamplePath() string {
	if r.Key == DefaultRouteKey {
		return "/" + SampleRest
	}
	segments := strings.Split(r.Path, "/")
	for i, segment := range segments {
		switch {
		case strings.HasPrefix(segment, "{") && strings.HasSuffix(segment, "+}"):
			segments[i] = SampleRest
		case strings.HasPrefix(segment, "{"):
			segments[i] = SampleSegment
		}
	}
	return strings.Join(segments, "/")
}

// PathFor is SamplePath with the organization's ID in the path parameter that
// binds the route to the caller's organization.
func (r Route) PathFor(organization string) string {
	path := r.SamplePath()
	if strings.HasPrefix(r.Organization, "{") {
		segments := strings.Split(r.Path, "/")
		sample := strings.Split(path, "/")
		if i := slices.Index(segments, r.Organization); i >= 0 && i < len(sample) {
			sample[i] = organization
		}
		path = strings.Join(sample, "/")
	}
	return path
}

// Function is a Lambda function as the template declares it.
type Function struct {
	GoPackage      string
	TimeoutSeconds int
	MemoryMiB      int
	Environment    map[string]string
}

type resource struct {
	Type       string          `json:"Type"`
	Properties json.RawMessage `json:"Properties"`
	Metadata   map[string]any  `json:"Metadata"`
}

// Parse reads the API from a template's JSON.
func Parse(template []byte) (*API, error) {
	var doc struct {
		Resources map[string]resource `json:"Resources"`
		Outputs   map[string]struct {
			Value literalString
		} `json:"Outputs"`
	}
	if err := json.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("not a CloudFormation template: %w", err)
	}
	api := &API{Functions: map[string]Function{}, LambdaAuthorizers: map[string]LambdaAuthorizer{}, Outputs: map[string]string{}}
	for name, output := range doc.Outputs {
		api.Outputs[name] = string(output.Value)
	}
	integrations := map[string]string{} // integration logical ID -> function logical ID
	var authorizers int
	for id, r := range doc.Resources {
		switch r.Type {
		case "AWS::ApiGatewayV2::Authorizer":
			var p struct {
				AuthorizerType               string
				IdentitySource               []string
				AuthorizerUri                any
				AuthorizerResultTtlInSeconds int
				JwtConfiguration             struct {
					Issuer   literalString // the API's own URL, for a stage that is its own issuer
					Audience []string
				}
			}
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				return nil, fmt.Errorf("authorizer %s: %w", id, err)
			}
			if p.AuthorizerType == "REQUEST" {
				api.LambdaAuthorizers[id] = LambdaAuthorizer{Function: getAttTarget(p.AuthorizerUri), IdentitySource: p.IdentitySource, ResultTTLSeconds: p.AuthorizerResultTtlInSeconds}
				continue
			}
			if p.AuthorizerType != AuthorizationJWT {
				return nil, fmt.Errorf("authorizer %s is of type %q: only JWT and Lambda (REQUEST) authorizers are supported", id, p.AuthorizerType)
			}
			authorizers++
			api.Issuer, api.Audience, api.IdentitySource = string(p.JwtConfiguration.Issuer), p.JwtConfiguration.Audience, p.IdentitySource
		case "AWS::ApiGatewayV2::Api":
			var p struct{ CorsConfiguration *Cors }
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				return nil, fmt.Errorf("API %s: %w", id, err)
			}
			api.Cors = p.CorsConfiguration
		case "AWS::ApiGatewayV2::Integration":
			var p struct{ IntegrationUri any }
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				return nil, fmt.Errorf("integration %s: %w", id, err)
			}
			integrations[id] = getAttTarget(p.IntegrationUri)
		case "AWS::Lambda::Function":
			var p struct {
				Timeout    int
				MemorySize int
				// A value resolved at deploy time, such as the API's own URL, reads as "".
				Environment struct{ Variables map[string]literalString }
			}
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				return nil, fmt.Errorf("function %s: %w", id, err)
			}
			pkg, _ := r.Metadata[GoPackageMetadataKey].(string)
			var environment map[string]string
			for name, value := range p.Environment.Variables {
				if environment == nil {
					environment = map[string]string{}
				}
				environment[name] = string(value)
			}
			api.Functions[id] = Function{GoPackage: pkg, TimeoutSeconds: p.Timeout, MemoryMiB: p.MemorySize, Environment: environment}
		}
	}
	switch {
	case authorizers == 0 && len(api.LambdaAuthorizers) == 1:
		// A stage that requires DPoP: every private route is the Lambda
		// authorizer's, and it names the issuer and the audiences.
		for _, authorizer := range api.LambdaAuthorizers {
			environment := api.Functions[authorizer.Function].Environment
			api.Issuer = environment[AuthorizerIssuerVariable]
			if err := json.Unmarshal([]byte(environment[AuthorizerAudienceVariable]), &api.Audience); err != nil {
				return nil, fmt.Errorf("the Lambda authorizer's function has no %s list: %w", AuthorizerAudienceVariable, err)
			}
		}
	case authorizers != 1:
		return nil, fmt.Errorf("expected exactly one JWT authorizer in the template, or none beside one Lambda authorizer, found %d", authorizers)
	}
	for id, r := range doc.Resources {
		if r.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		var p struct {
			RouteKey            string
			AuthorizationType   string
			AuthorizationScopes []string
			AuthorizerId        any
			Target              any
		}
		err := json.Unmarshal(r.Properties, &p)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", id, err)
		}
		method, path, ok := strings.Cut(p.RouteKey, " ")
		if p.RouteKey == DefaultRouteKey {
			// It takes every method and path that no other route matches.
			method, path, ok = "ANY", "", true
		}
		if !ok {
			return nil, fmt.Errorf("route %s: route key %q is not METHOD /path or %s", id, p.RouteKey, DefaultRouteKey)
		}
		authType := p.AuthorizationType
		if IsPublic(authType) {
			authType = AuthorizationNone
		}
		summary, _ := r.Metadata[SummaryMetadataKey].(string)
		route := Route{
			Key: p.RouteKey, Method: method, Path: path, Summary: summary, AuthorizationType: authType,
			Scopes: p.AuthorizationScopes, Function: integrations[refTarget(p.Target)],
		}
		if authType == AuthorizationCustom {
			route.Authorizer = refTarget(p.AuthorizerId)
			authorizer, ok := api.LambdaAuthorizers[route.Authorizer]
			if !ok {
				return nil, fmt.Errorf("route %s (%s) is CUSTOM but names no Lambda authorizer of the template", id, p.RouteKey)
			}
			rule, err := routeRule(api.Functions[authorizer.Function], p.RouteKey)
			if err != nil {
				return nil, fmt.Errorf("route %s (%s): %w", id, p.RouteKey, err)
			}
			route.Scopes, route.Permissions, route.Organization = rule.Scopes, rule.Permissions, rule.Organization
		}
		api.Routes = append(api.Routes, route)
	}
	sort.Slice(api.Routes, func(i, j int) bool { return api.Routes[i].Key < api.Routes[j].Key })
	return api, nil
}

// routeRule reads what a route requires from its authorizer function's
// RouteRulesVariable.
func routeRule(authorizer Function, routeKey string) (RouteRule, error) {
	rules, err := ParseRouteRules(authorizer.Environment[RouteRulesVariable])
	if err != nil {
		return RouteRule{}, fmt.Errorf("its authorizer function's %w", err)
	}
	rule, ok := rules[routeKey]
	if !ok {
		return RouteRule{}, fmt.Errorf("its authorizer function's %s does not name it", RouteRulesVariable)
	}
	return rule, nil
}

// ParseRouteRules reads a RouteRulesVariable's value.
func ParseRouteRules(value string) (map[string]RouteRule, error) {
	var rules map[string]RouteRule
	decoder := json.NewDecoder(strings.NewReader(value))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&rules); err != nil || rules == nil {
		return nil, fmt.Errorf("%s is not a JSON object of route key to rule (scopes, permissions, organization): %v", RouteRulesVariable, err)
	}
	return rules, nil
}

// AccessMatrix renders who may call each route, one line a route, so that a
// change of access shows as a one-line diff.
func (api *API) AccessMatrix() string {
	var b strings.Builder
	issuer := api.Issuer
	if issuer == "" {
		issuer = "the API's own URL (a stage that is its own issuer; known at deploy)"
	}
	fmt.Fprintf(&b, "# issuer %s, audience %s\n", issuer, strings.Join(api.Audience, " "))
	fmt.Fprintf(&b, "%-24s %-6s %s\n", "# route", "auth", "requires (any one of them)")
	for _, r := range api.Routes {
		requires := "scopes " + strings.Join(r.Scopes, " ")
		switch {
		case r.Public():
			requires = "- (public: no token)"
		case len(r.Permissions) > 0:
			requires = "permissions " + strings.Join(r.Permissions, " ")
		case len(r.Scopes) == 0:
			requires = "- (any valid token)"
		}
		switch r.Organization {
		case "":
		case AnyOrganization:
			requires += ", in any organization"
		default:
			requires += ", in the organization " + r.Organization + " names"
		}
		fmt.Fprintf(&b, "%-24s %-6s %s\n", r.Key, r.AuthLabel(), requires)
	}
	return b.String()
}

// getAttTarget returns the logical ID X of the first {"Fn::GetAtt": [X, …]}
// in v, which may sit inside an Fn::Join, as in an authorizer's URI.
func getAttTarget(v any) string {
	return findIntrinsic(v, func(m map[string]any) string {
		parts, _ := m["Fn::GetAtt"].([]any)
		if len(parts) == 0 {
			return ""
		}
		id, _ := parts[0].(string)
		return id
	})
}

// refTarget returns the logical ID X of the first {"Ref": X} in v: a route's
// authorizer, or the integration of a target that CDK writes as
// {"Fn::Join": ["", ["integrations/", {"Ref": X}]]}.
func refTarget(v any) string {
	return findIntrinsic(v, func(m map[string]any) string {
		id, _ := m["Ref"].(string)
		return id
	})
}

// findIntrinsic walks v depth first and returns the first non-empty answer of
// match on an object.
func findIntrinsic(v any, match func(map[string]any) string) string {
	switch v := v.(type) {
	case map[string]any:
		if found := match(v); found != "" {
			return found
		}
		for _, inner := range v {
			if found := findIntrinsic(inner, match); found != "" {
				return found
			}
		}
	case []any:
		for _, inner := range v {
			if found := findIntrinsic(inner, match); found != "" {
				return found
			}
		}
	}
	return ""
}
