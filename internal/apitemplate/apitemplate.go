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
)

// GoPackageMetadataKey is the CloudFormation metadata key on each function that
// names its Go package, so tools that read the template can build the same code.
// It lives here rather than in stacks, so that such tools do not link the CDK.
const GoPackageMetadataKey = "GoPackage"

// API is the HTTP API of one stage.
type API struct {
	// StackName is the CloudFormation stack's name, under which `cdk deploy
	// --outputs-file` writes the stack's outputs. Load sets it.
	StackName string

	Issuer         string
	Audience       []string
	IdentitySource []string
	Routes         []Route
	// Cors is the API's CORS configuration, or nil without one.
	Cors *Cors
	// Functions are keyed by their CloudFormation logical ID.
	Functions map[string]Function
}

// Cors is an HTTP API's CorsConfiguration.
type Cors struct {
	AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders []string
	AllowCredentials                                        bool
	MaxAge                                                  int
}

// Route is one route as the template declares it.
type Route struct {
	Key               string // "GET /user"
	Method            string
	Path              string
	AuthorizationType string // AuthorizationJWT or AuthorizationNone
	Scopes            []string
	Function          string // logical ID of the function behind the route
}

// DefaultRouteKey is the catch-all route, chosen when no other route matches
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html).
const DefaultRouteKey = "$default"

// The authorization types of an HTTP API route.
const (
	AuthorizationNone = "NONE"
	AuthorizationJWT  = "JWT"
)

// IsPublic tells whether a route's AuthorizationType lets anyone call it.
// CloudFormation's default, when the property is absent, is NONE.
func IsPublic(authorizationType string) bool {
	return authorizationType == "" || authorizationType == AuthorizationNone
}

// Public tells whether the route takes requests without any token.
func (r Route) Public() bool { return IsPublic(r.AuthorizationType) }

// Allows applies API Gateway's scope rule to a verified token's scopes: a
// route without scopes takes any valid token; otherwise the token must hold
// at least one of the route's scopes.
func (r Route) Allows(tokenScopes []string) bool {
	return len(r.Scopes) == 0 || slices.ContainsFunc(tokenScopes, func(s string) bool { return slices.Contains(r.Scopes, s) })
}

// SamplePath is a request path that the route matches: each {name} becomes
// "sample", and a greedy {name+} becomes "sample/path". The $default route
// takes any path.
func (r Route) SamplePath() string {
	if r.Key == DefaultRouteKey {
		return "/sample/path"
	}
	segments := strings.Split(r.Path, "/")
	for i, segment := range segments {
		switch {
		case strings.HasPrefix(segment, "{") && strings.HasSuffix(segment, "+}"):
			segments[i] = "sample/path"
		case strings.HasPrefix(segment, "{"):
			segments[i] = "sample"
		}
	}
	return strings.Join(segments, "/")
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
	}
	if err := json.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("not a CloudFormation template: %w", err)
	}
	api := &API{Functions: map[string]Function{}}
	integrations := map[string]string{} // integration logical ID -> function logical ID
	var authorizers int
	for id, r := range doc.Resources {
		switch r.Type {
		case "AWS::ApiGatewayV2::Authorizer":
			var p struct {
				AuthorizerType   string
				IdentitySource   []string
				JwtConfiguration struct {
					Issuer   string
					Audience []string
				}
			}
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				return nil, fmt.Errorf("authorizer %s: %w", id, err)
			}
			if p.AuthorizerType != AuthorizationJWT {
				return nil, fmt.Errorf("authorizer %s is of type %q: only JWT authorizers are supported", id, p.AuthorizerType)
			}
			authorizers++
			api.Issuer, api.Audience, api.IdentitySource = p.JwtConfiguration.Issuer, p.JwtConfiguration.Audience, p.IdentitySource
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
				Timeout     int
				MemorySize  int
				Environment struct{ Variables map[string]string }
			}
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				return nil, fmt.Errorf("function %s: %w", id, err)
			}
			pkg, _ := r.Metadata[GoPackageMetadataKey].(string)
			api.Functions[id] = Function{GoPackage: pkg, TimeoutSeconds: p.Timeout, MemoryMiB: p.MemorySize, Environment: p.Environment.Variables}
		}
	}
	if authorizers != 1 {
		return nil, fmt.Errorf("expected exactly one JWT authorizer in the template, found %d", authorizers)
	}
	for id, r := range doc.Resources {
		if r.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		var p struct {
			RouteKey            string
			AuthorizationType   string
			AuthorizationScopes []string
			Target              any
		}
		if err := json.Unmarshal(r.Properties, &p); err != nil {
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
		api.Routes = append(api.Routes, Route{
			Key: p.RouteKey, Method: method, Path: path, AuthorizationType: authType,
			Scopes: p.AuthorizationScopes, Function: integrations[targetIntegration(p.Target)],
		})
	}
	sort.Slice(api.Routes, func(i, j int) bool { return api.Routes[i].Key < api.Routes[j].Key })
	return api, nil
}

// AccessMatrix renders who may call each route, one line a route, so that a
// change of access shows as a one-line diff.
func (api *API) AccessMatrix() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# issuer %s, audience %s\n", api.Issuer, strings.Join(api.Audience, " "))
	fmt.Fprintf(&b, "%-24s %-6s %s\n", "# route", "auth", "scopes (any one of them)")
	for _, r := range api.Routes {
		scopes := strings.Join(r.Scopes, " ")
		switch {
		case r.Public():
			scopes = "- (public: no token)"
		case scopes == "":
			scopes = "- (any valid token)"
		}
		fmt.Fprintf(&b, "%-24s %-6s %s\n", r.Key, r.AuthorizationType, scopes)
	}
	return b.String()
}

// getAttTarget returns the logical ID X of {"Fn::GetAtt": [X, "Arn"]}.
func getAttTarget(v any) string {
	if m, ok := v.(map[string]any); ok {
		if parts, ok := m["Fn::GetAtt"].([]any); ok && len(parts) == 2 {
			id, _ := parts[0].(string)
			return id
		}
	}
	return ""
}

// targetIntegration returns the integration logical ID of a route target, which
// CDK writes as {"Fn::Join": ["", ["integrations/", {"Ref": X}]]}.
func targetIntegration(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	join, ok := m["Fn::Join"].([]any)
	if !ok || len(join) != 2 {
		return ""
	}
	parts, _ := join[1].([]any)
	for _, part := range parts {
		if ref, ok := part.(map[string]any); ok {
			if id, ok := ref["Ref"].(string); ok {
				return id
			}
		}
	}
	return ""
}
