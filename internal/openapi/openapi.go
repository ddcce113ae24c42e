// Package openapi derives a stage's OpenAPI 3.1 document from its synthesized
// template: one operation per route, secured exactly as the stage's
// authorizers decide, with the issuer's sign-in flows, and every answer API
// Gateway and the functions give. It keeps no list of routes of its own.
package openapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v4"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// Version is the OpenAPI version of the documents.
const Version = "3.1.0"

// The security schemes' names, as operations and tools refer to them.
const (
	// OAuth2Scheme is the issuer's OAuth 2.0 flows: Auth0's, or the dev issuer's.
	OAuth2Scheme = "oauth2"
	// OpenIDConnectScheme points at the issuer's discovery document.
	OpenIDConnectScheme = "openIdConnect"
	// PermissionsExtension lists, on an operation checked by the permissions
	// authorizer, the Auth0 RBAC permissions the token must hold, any one of them.
	PermissionsExtension = "x-permissions"
	// OrganizationExtension, on an operation bound to the caller's Auth0
	// Organization, says which claim binds it and, unless any organization
	// will do, which path parameter must equal that claim.
	OrganizationExtension = "x-organization"
)

// OrganizationBinding is the value of OrganizationExtension.
type OrganizationBinding struct {
	// Claim is always "org_id": Auth0 says to authorize on the ID, never on
	// org_name.
	Claim string `json:"claim"`
	// PathParameter must equal the claim, byte for byte; "" when any
	// organization will do.
	PathParameter string `json:"pathParameter,omitempty"`
	// AnyOrganization: the token must be issued for an organization, any one.
	AnyOrganization bool `json:"anyOrganization,omitempty"`
}

// Options say what the template cannot: where the API and its issuer are.
type Options struct {
	Stage string
	// Servers are the API's addresses; the first is the default.
	Servers []Server
	// Issuer is the token issuer with its trailing slash, such as
	// https://tenant.eu.auth0.com/. For a stage that is its own issuer, it is
	// the stage's own URL, or "" before it is deployed: the discovery
	// document is then at the server's /.well-known/openid-configuration.
	Issuer string
	// SignIn says whether the issuer is an authorization server with
	// /authorize and /oauth/token (Auth0, the dev issuer). A stage that is its
	// own issuer mints tokens through KMS and only publishes its keys.
	SignIn bool
}

// TemplateOptions are what the template alone says: the issuer, which is ""
// for a stage that is its own issuer (its URL is known once deployed), and
// the custom domain, or the execute-api address with its variables.
func TemplateOptions(api *apitemplate.API, stage string) Options {
	opts := Options{Stage: stage, Issuer: api.Issuer, SignIn: api.Issuer != ""}
	if url := api.Outputs["ApiUrl"]; url != "" {
		opts.Servers = []Server{{URL: strings.TrimSuffix(url, "/"), Description: "Stage " + stage + ", on its custom domain"}}
		return opts
	}
	opts.Servers = []Server{{
		URL:         "https://{apiId}.execute-api.{region}.amazonaws.com",
		Description: "Stage " + stage + ": the ApiUrl output of `cdk deploy --outputs-file` gives both values",
		Variables: map[string]ServerVariable{
			"apiId":  {Default: "abcde12345", Description: "The HTTP API's ID"},
			"region": {Default: "us-east-1", Description: "The stack's region"},
		},
	}}
	return opts
}

// LocalOptions describe the local API at apiURL with the dev issuer at
// issuerURL, which signs every stage's tokens locally, its own issuer's too.
func LocalOptions(stage, apiURL, issuerURL string) Options {
	return Options{
		Stage:   stage,
		Servers: []Server{{URL: strings.TrimSuffix(apiURL, "/"), Description: "The local API: `apictl local --stage " + stage + " --dev-issuer`, or `make dev`"}},
		Issuer:  issuerURL,
		SignIn:  true,
	}
}

// Server is an OpenAPI Server Object.
type Server struct {
	URL         string                    `json:"url"`
	Description string                    `json:"description,omitempty"`
	Variables   map[string]ServerVariable `json:"variables,omitempty"`
}

// ServerVariable is an OpenAPI Server Variable Object.
type ServerVariable struct {
	Default     string `json:"default"`
	Description string `json:"description,omitempty"`
}

// Document is an OpenAPI 3.1 document, in the order its fields are written.
type Document struct {
	OpenAPI    string                           `json:"openapi"`
	Info       Info                             `json:"info"`
	Servers    []Server                         `json:"servers"`
	Paths      map[string]map[string]*Operation `json:"paths"`
	Components Components                       `json:"components"`
}

// Info is the OpenAPI Info Object.
type Info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

// Operation is the OpenAPI Operation Object of one route and method.
type Operation struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	Parameters  []Parameter           `json:"parameters,omitempty"`
	Security    []map[string][]string `json:"security"`
	Permissions []string              `json:"x-permissions,omitempty"`
	// Organization is OrganizationExtension's value.
	Organization *OrganizationBinding `json:"x-organization,omitempty"`
	Responses    map[string]Response  `json:"responses"`
}

// Parameter is a path parameter.
type Parameter struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
	Schema      Schema `json:"schema"`
	Example     string `json:"example"`
}

// Response is an OpenAPI Response Object, or a reference to one.
type Response struct {
	Ref         string               `json:"$ref,omitempty"`
	Description string               `json:"description,omitempty"`
	Headers     map[string]Header    `json:"headers,omitempty"`
	Content     map[string]MediaType `json:"content,omitempty"`
}

// Header is an OpenAPI Header Object.
type Header struct {
	Description string `json:"description"`
	Required    bool   `json:"required,omitempty"`
	Schema      Schema `json:"schema"`
}

// MediaType holds a body's schema.
type MediaType struct {
	Schema Schema `json:"schema"`
}

// Schema is the part of JSON Schema (draft 2020-12, OpenAPI 3.1's) that the
// documents use.
type Schema struct {
	Ref                  string            `json:"$ref,omitempty"`
	Type                 any               `json:"type,omitempty"` // a name, or a list of names
	Description          string            `json:"description,omitempty"`
	Properties           map[string]Schema `json:"properties,omitempty"`
	Required             []string          `json:"required,omitempty"`
	Items                *Schema           `json:"items,omitempty"`
	AdditionalProperties any               `json:"additionalProperties,omitempty"` // a *Schema, or false
	Pattern              string            `json:"pattern,omitempty"`
}

// Components holds the schemas, responses and security schemes.
type Components struct {
	Schemas         map[string]Schema         `json:"schemas"`
	Responses       map[string]Response       `json:"responses"`
	SecuritySchemes map[string]SecurityScheme `json:"securitySchemes"`
}

// SecurityScheme is an OpenAPI Security Scheme Object.
type SecurityScheme struct {
	Type             string      `json:"type"`
	Description      string      `json:"description"`
	Flows            *OAuthFlows `json:"flows,omitempty"`
	OpenIDConnectURL string      `json:"openIdConnectUrl,omitempty"`
}

// OAuthFlows are the OAuth 2.0 flows a client can get a token with.
type OAuthFlows struct {
	AuthorizationCode *OAuthFlow `json:"authorizationCode,omitempty"`
	ClientCredentials *OAuthFlow `json:"clientCredentials,omitempty"`
}

// OAuthFlow is one OAuth 2.0 flow.
type OAuthFlow struct {
	AuthorizationURL string            `json:"authorizationUrl,omitempty"`
	TokenURL         string            `json:"tokenUrl"`
	Scopes           map[string]string `json:"scopes"`
}

// The body of every answer API Gateway gives itself.
const errorSchema = "Error"

// methods are the HTTP methods an OpenAPI Path Item holds; an ANY route
// answers each of them.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

// New derives the stage's document from its API.
func New(api *apitemplate.API, opts Options) (*Document, error) {
	if len(api.Audience) == 0 {
		return nil, fmt.Errorf("stage %s: the template's authorizer has no audience", opts.Stage)
	}
	if len(opts.Servers) == 0 {
		return nil, fmt.Errorf("stage %s: no server address for the document", opts.Stage)
	}
	doc := &Document{
		OpenAPI: Version,
		Servers: opts.Servers,
		Paths:   map[string]map[string]*Operation{},
		Components: Components{
			Schemas:         map[string]Schema{errorSchema: {Type: "object", Description: "What API Gateway answers when it refuses a request or its integration fails.", Properties: map[string]Schema{"message": {Type: "string"}}, Required: []string{"message"}}},
			Responses:       commonResponses(),
			SecuritySchemes: map[string]SecurityScheme{},
		},
	}
	scopes := map[string][]string{} // scope → the routes that require it
	var skipped []string
	for _, route := range api.Routes {
		if route.Key == apitemplate.DefaultRouteKey {
			skipped = append(skipped, route.Key)
			continue
		}
		schema, name := bodySchema(api, route)
		if name == "" {
			return nil, fmt.Errorf("stage %s: route %s: its function %s runs %s, whose answer internal/openapi does not know: add it to bodySchema", opts.Stage, route.Key, route.Function, api.Functions[route.Function].GoPackage)
		}
		doc.Components.Schemas[name] = schema
		for _, method := range routeMethods(route.Method) {
			op := operation(route, method, name, opts, api.RequiresDPoP())
			path := openAPIPath(route.Path)
			if doc.Paths[path] == nil {
				doc.Paths[path] = map[string]*Operation{}
			}
			doc.Paths[path][method] = op
		}
		for _, scope := range route.Scopes {
			scopes[scope] = append(scopes[scope], route.Key)
		}
	}
	scopeText := map[string]string{}
	for scope, routes := range scopes {
		scopeText[scope] = "Required by " + strings.Join(routes, ", ")
	}
	audience := api.Audience[0]
	if opts.SignIn {
		doc.Components.SecuritySchemes[OAuth2Scheme] = SecurityScheme{
			Type: "oauth2",
			Description: fmt.Sprintf("Access tokens from %s. Every token request must carry the audience parameter audience=%s: "+
				"in Swagger UI, under the additional query string parameters; in Postman, under Advanced options, Token request. "+
				"Without it, Auth0 returns a token that is not for this API, and every private route refuses it (401, or 403 from the Lambda authorizer).", opts.Issuer, audience),
			Flows: &OAuthFlows{
				AuthorizationCode: &OAuthFlow{AuthorizationURL: opts.Issuer + "authorize", TokenURL: opts.Issuer + "oauth/token", Scopes: scopeText},
				ClientCredentials: &OAuthFlow{TokenURL: opts.Issuer + "oauth/token", Scopes: scopeText},
			},
		}
	}
	discovery := opts.Issuer + ".well-known/openid-configuration"
	if opts.Issuer == "" {
		discovery = wire.DiscoveryPath // relative to the server: the stage's own URL is known once deployed
	}
	doc.Components.SecuritySchemes[OpenIDConnectScheme] = SecurityScheme{
		Type:             "openIdConnect",
		Description:      "The issuer's OpenID Connect discovery document: its endpoints and the keys that verify its tokens.",
		OpenIDConnectURL: discovery,
	}
	doc.Info = Info{
		Title:       "auth0-http-api, stage " + opts.Stage,
		Version:     accessVersion(api),
		Description: description(api, opts, skipped),
	}
	return doc, nil
}

// requirementScheme is the scheme operations name in their requirements.
func requirementScheme(opts Options) string {
	if opts.SignIn {
		return OAuth2Scheme
	}
	return OpenIDConnectScheme
}

// accessVersion changes whenever who may call what changes: the first 12
// hex digits of the access matrix's SHA-256.
func accessVersion(api *apitemplate.API) string {
	sum := sha256.Sum256([]byte(api.AccessMatrix()))
	return "access-" + hex.EncodeToString(sum[:6])
}

func description(api *apitemplate.API, opts Options, skipped []string) string {
	var b strings.Builder
	issuer := opts.Issuer
	if issuer == "" {
		issuer = "the stage itself (its URL, once deployed)"
	}
	fmt.Fprintf(&b, "The HTTP API of stage %s, derived from its synthesized CloudFormation template. Tokens come from %s, for the audience %s.\n\n", opts.Stage, issuer, strings.Join(api.Audience, ", "))
	b.WriteString("Security reads as the authorizers decide. OpenAPI joins the entries of a security array with OR, and the scopes inside one entry with AND; " +
		"so an operation that lists one entry per scope takes a token with any one of them, as API Gateway's JWT authorizer does. " +
		"An operation with security [] is public. An operation with " + PermissionsExtension + " is checked by the permissions authorizer (a Lambda function): " +
		"its token must hold one of those Auth0 RBAC permissions in its permissions claim. An operation with " + OrganizationExtension + " is bound to the caller's Auth0 Organization, checked by the same authorizer: " +
		"the token's org_id must equal the named path parameter exactly, or, with anyOrganization, the token must be issued for an organization.\n\n")
	if opts.SignIn {
		fmt.Fprintf(&b, "To get a token, use the %s scheme's flows with audience=%s.", OAuth2Scheme, api.Audience[0])
	} else {
		b.WriteString("The stage is its own token issuer: its tokens are minted through AWS KMS (`apictl token --kms`, or the kmsjwt package), and the discovery document lists only its keys.")
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "\n\nNot described: %s, which takes every request no other route matches.", strings.Join(skipped, ", "))
	}
	return b.String()
}

func routeMethods(method string) []string {
	if method == "ANY" {
		return methods
	}
	return []string{strings.ToLower(method)}
}

// openAPIPath writes a greedy {proxy+} as {proxy}: OpenAPI has no greedy
// parameter; the parameter's description says it spans segments.
func openAPIPath(path string) string {
	return strings.ReplaceAll(path, "+}", "}")
}

// operationID is the method and the path's words, such as getUserById for
// GET /user/{id}.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(method)
	upper := true
	for _, segment := range strings.Split(path, "/") {
		if strings.HasPrefix(segment, "{") {
			b.WriteString("By")
			upper = true
		}
		for _, c := range segment {
			if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
				upper = true
				continue
			}
			if upper {
				c = unicode.ToUpper(c)
				upper = false
			}
			b.WriteRune(c)
		}
		upper = true
	}
	return b.String()
}

func operation(route apitemplate.Route, method, body string, opts Options, dpopRequired bool) *Operation {
	op := &Operation{
		OperationID: operationID(method, openAPIPath(route.Path)),
		Summary:     route.Summary,
		Responses:   map[string]Response{},
	}
	if op.Summary == "" {
		op.Summary = route.Key
	}
	for _, segment := range strings.Split(route.Path, "/") {
		if !strings.HasPrefix(segment, "{") {
			continue
		}
		name := strings.TrimSuffix(strings.Trim(segment, "{}"), "+")
		// The examples are SamplePath's, so that the page and smoke call the same paths.
		parameter := Parameter{Name: name, In: "path", Required: true, Schema: Schema{Type: "string"}, Example: apitemplate.SampleSegment,
			Description: "One path segment."}
		if segment == route.Organization {
			parameter.Description = "The caller's Auth0 Organization ID: it must equal the token's org_id exactly, case included, or the authorizer refuses with 403."
		}
		if strings.HasSuffix(segment, "+}") {
			parameter.Description = "Greedy (API Gateway's {" + name + "+}): the rest of the path, slashes included, such as " + apitemplate.SampleRest + "."
			parameter.Example = apitemplate.SampleRest
		}
		op.Parameters = append(op.Parameters, parameter)
	}

	op.Responses["200"] = Response{Description: "The function's answer.", Content: map[string]MediaType{"application/json": {Schema: Schema{Ref: "#/components/schemas/" + body}}}}
	scheme := requirementScheme(opts)
	switch {
	case route.Public():
		op.Security = []map[string][]string{}
		op.Description = "Public: no token needed."
	case route.AuthorizationType == apitemplate.AuthorizationCustom:
		op.Security = []map[string][]string{{scheme: {}}}
		var rules []string
		if len(route.Permissions) > 0 {
			op.Permissions = slices.Clone(route.Permissions)
			rules = append(rules, fmt.Sprintf("the token must hold one of these Auth0 RBAC permissions in its permissions claim: %s (listed in %s). "+
				"Permissions come from the roles and grants in Auth0, not from the scope a client asks for, so they are not OAuth scopes here", strings.Join(route.Permissions, ", "), PermissionsExtension))
		}
		if len(route.Scopes) > 0 {
			op.Security = nil
			for _, scope := range route.Scopes {
				op.Security = append(op.Security, map[string][]string{scheme: {scope}})
			}
			rules = append(rules, "the token must hold one of these scopes: "+strings.Join(route.Scopes, ", "))
		}
		switch route.Organization {
		case "":
		case apitemplate.AnyOrganization:
			op.Organization = &OrganizationBinding{Claim: "org_id", AnyOrganization: true}
			rules = append(rules, "the token must be issued for an Auth0 Organization, any one (its org_id claim)")
		default:
			name := strings.Trim(route.Organization, "{}")
			op.Organization = &OrganizationBinding{Claim: "org_id", PathParameter: name}
			rules = append(rules, fmt.Sprintf("the token's org_id must equal the path parameter %s (%s): a member of one organization is refused on another's paths", name, OrganizationExtension))
		}
		if len(rules) == 0 {
			rules = append(rules, "any valid token")
		}
		op.Description = "Checked by the permissions authorizer (a Lambda function): " + strings.Join(rules, "; and ") + ". "
		if dpopRequired {
			op.Description += "The stage requires DPoP (RFC 9449): send a DPoP-bound token as `Authorization: DPoP <token>`, with a new `DPoP` proof for each request; a request without a proof is answered 401, and nothing is cached."
		} else {
			op.Description += "API Gateway caches the authorizer's answer per token, route and path."
		}
		op.Responses["401"] = Response{Ref: "#/components/responses/NoToken"}
		op.Responses["403"] = Response{Ref: "#/components/responses/Forbidden"}
	case len(route.Scopes) == 0:
		op.Security = []map[string][]string{{scheme: {}}}
		op.Description = "Any valid access token for the API."
		op.Responses["401"] = Response{Ref: "#/components/responses/Unauthorized"}
	default:
		for _, scope := range route.Scopes {
			op.Security = append(op.Security, map[string][]string{scheme: {scope}})
		}
		op.Description = "The token must hold one of these scopes: " + strings.Join(route.Scopes, ", ") + " (one security requirement each: any one of them will do)."
		op.Responses["401"] = Response{Ref: "#/components/responses/Unauthorized"}
		op.Responses["403"] = Response{Ref: "#/components/responses/Forbidden"}
	}
	op.Responses["413"] = Response{Ref: "#/components/responses/PayloadTooLarge"}
	op.Responses["429"] = Response{Ref: "#/components/responses/TooManyRequests"}
	op.Responses["5XX"] = Response{Ref: "#/components/responses/ServerError"}
	return op
}

// bodySchema is the JSON Schema of a route's 200 answer, and its name among
// the components, from the Go type its function encodes.
func bodySchema(api *apitemplate.API, route apitemplate.Route) (Schema, string) {
	switch api.Functions[route.Function].GoPackage {
	case "./functions/greeting":
		return schemaOf(reflect.TypeFor[wire.GreetingBody](), "The greeting of a public route."), "Greeting"
	case "./functions/claimsecho":
		if route.AuthorizationType == apitemplate.AuthorizationCustom {
			return schemaOf(reflect.TypeFor[wire.PermissionsEchoBody](), "What the permissions authorizer passed on: the token's subject, permissions, scope and, on a route bound to the caller's organization, org_id."), "PermissionsEcho"
		}
		return schemaOf(reflect.TypeFor[wire.ClaimsEchoBody](), "The claims API Gateway's JWT authorizer passed on, as strings (claims) and decoded (decoded)."), "ClaimsEcho"
	case "./functions/resourcemetadata":
		return schemaOf(reflect.TypeFor[wire.ProtectedResourceMetadata](), "The stage's OAuth Protected Resource Metadata (RFC 9728): the resource identifier to ask tokens for, the authorization server that issues them, and the scopes the routes use."), "ProtectedResourceMetadata"
	case "./functions/wellknown":
		if route.Path == wire.KeySetPath {
			return Schema{Type: "object", Description: "The stage's public keys (RFC 7517 JWK Set).", Properties: map[string]Schema{"keys": {Type: "array", Items: &Schema{Type: "object"}}}, Required: []string{"keys"}}, "KeySet"
		}
		return Schema{Type: "object", Description: "The stage's OpenID Connect discovery document.", Properties: map[string]Schema{"issuer": {Type: "string"}, "jwks_uri": {Type: "string"}}, Required: []string{"issuer", "jwks_uri"}}, "Discovery"
	}
	return Schema{}, ""
}

// schemaOf writes a Go type as JSON Schema the way encoding/json writes its
// values: a nil slice or map as null.
func schemaOf(t reflect.Type, description string) Schema {
	switch t.Kind() {
	case reflect.String:
		return Schema{Type: "string", Description: description}
	case reflect.Bool:
		return Schema{Type: "boolean", Description: description}
	case reflect.Slice:
		items := schemaOf(t.Elem(), "")
		return Schema{Type: []string{"array", "null"}, Items: &items, Description: description}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return Schema{Type: []string{"object", "null"}, Description: description}
		}
		values := schemaOf(t.Elem(), "")
		return Schema{Type: []string{"object", "null"}, AdditionalProperties: &values, Description: description}
	case reflect.Struct:
		s := Schema{Type: "object", Description: description, Properties: map[string]Schema{}}
		for i := range t.NumField() {
			name, options, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			s.Properties[name] = schemaOf(t.Field(i).Type, "")
			if options != "omitempty" {
				s.Required = append(s.Required, name)
			}
		}
		return s
	}
	return Schema{}
}

// commonResponses are the answers API Gateway gives itself, as the local API
// reproduces them (docs/jwt-authorizer.md, docs/lambda-authorizer.md).
func commonResponses() map[string]Response {
	errorBody := map[string]MediaType{"application/json": {Schema: Schema{Ref: "#/components/schemas/" + errorSchema}}}
	return map[string]Response{
		"Unauthorized": {
			Description: "API Gateway's JWT authorizer refused the token, or there was none: {\"message\":\"Unauthorized\"}.",
			Headers: map[string]Header{"www-authenticate": {
				Description: "Bearer, alone when the request had no token; otherwise with the route's scopes, error=\"invalid_token\" and why, such as Bearer scope=\"read:user\" error=\"invalid_token\" error_description=\"the token has expired\".",
				Required:    true,
				Schema:      Schema{Type: "string", Pattern: "^Bearer( .*)?$"},
			}},
			Content: errorBody,
		},
		"NoToken":         {Description: "The request had no Authorization header, so the permissions authorizer was not called: {\"message\":\"Unauthorized\"}.", Content: errorBody},
		"Forbidden":       {Description: "The token is valid but holds none of the scopes or permissions the route requires, or the permissions authorizer refused it: {\"message\":\"Forbidden\"}.", Content: errorBody},
		"NotFound":        {Description: "No route matches the method and path: {\"message\":\"Not Found\"}.", Content: errorBody},
		"PayloadTooLarge": {Description: "The request body is over 10 MB, API Gateway's limit: {\"message\":\"Request Entity Too Large\"}.", Content: errorBody},
		"TooManyRequests": {Description: "The stage's throttling limit: {\"message\":\"Too Many Requests\"}.", Content: errorBody},
		"ServerError": {
			Description: "500 {\"message\":\"Internal Server Error\"} when the function or the permissions authorizer fails or answers in an invalid shape; 503 {\"message\":\"Service Unavailable\"} when the function outlasts the 30 s integration timeout.",
			Content:     errorBody,
		},
	}
}

// JSON writes the document as indented JSON.
func (d *Document) JSON() []byte {
	encoded, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic(err) // only strings, lists and maps of them: it cannot fail
	}
	return append(encoded, '\n')
}

// YAML writes the document as YAML, in the JSON's order.
func (d *Document) YAML() []byte {
	var node yaml.Node
	if err := yaml.Unmarshal(d.JSON(), &node); err != nil {
		panic(err) // JSON is YAML
	}
	blockStyle(&node)
	encoded, err := yaml.Marshal(&node)
	if err != nil {
		panic(err)
	}
	return encoded
}

// blockStyle drops the JSON flow style the parser kept: YAML's own block
// style, with strings quoted only where YAML needs it.
func blockStyle(node *yaml.Node) {
	node.Style = 0
	for _, child := range node.Content {
		blockStyle(child)
	}
}
