package stacks

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// ResourceMetadataPackage serves every stage's OAuth Protected Resource
// Metadata (RFC 9728, docs/resource-metadata.md).
const (
	ResourceMetadataPackage     = "./functions/resourcemetadata"
	resourceMetadataConstructID = "ResourceMetadata"
)

// resourceMetadataRoute is added to every stage's route table: public, since
// a client reads it before it has a token, to learn how to get one.
var resourceMetadataRoute = Route{
	Method: "GET", Path: wire.ProtectedResourceMetadataPath, Function: resourceMetadataConstructID, Public: true,
	Summary: "How to get a token for this API: its OAuth Protected Resource Metadata (RFC 9728)",
}

// Resource is the stage's resource identifier, the `resource` of its
// metadata: the audience that is the API's URL, with a custom domain, or
// else its first audience. Tokens carry it as their audience, so it is the
// Auth0 API's identifier.
func (s Stage) Resource() string {
	audiences := s.Audiences()
	if s.Config.Domain.Name != "" {
		if i := slices.IndexFunc(audiences, func(a string) bool { return namesHost(a, s.Config.Domain.Name) }); i >= 0 {
			return audiences[i]
		}
	}
	return audiences[0]
}

// namesHost tells whether identifier is https://host, with or without a
// final slash: the URL from which RFC 9728 §3.1 puts the metadata at
// https://host/.well-known/oauth-protected-resource.
func namesHost(identifier, host string) bool {
	u, err := url.Parse(identifier)
	return err == nil && u.Scheme == "https" && strings.EqualFold(u.Host, host) && (u.Path == "" || u.Path == "/") &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// resourceWarning says why clients that find the API by its URL will refuse
// its metadata: RFC 9728 §3.3 makes a client compare `resource` with the URL
// it derived the metadata's location from, and the API answers only at its
// custom domain, or at an execute-api URL that no audience names before the
// deploy. It is "" when they match.
func resourceWarning(s Stage) string {
	resource := s.Resource()
	field := "auth0.audience"
	if s.Config.SelfHostedIssuer.Enabled() {
		field = "selfHostedIssuer.audience"
	}
	if s.Config.Domain.Name != "" {
		if namesHost(resource, s.Config.Domain.Name) {
			return ""
		}
		return fmt.Sprintf("stage %q: no audience in %s is the API's URL https://%s, so a client that finds the API by its URL refuses its Protected Resource Metadata, whose resource is %s (RFC 9728 §3.3): add https://%s to %s, and make it the Auth0 API's identifier",
			s.Name, field, s.Config.Domain.Name, resource, s.Config.Domain.Name, field)
	}
	fix := "give the stage a custom domain (domain.name) and an audience that is its URL, such as https://api.example.com"
	if u, err := url.Parse(resource); err == nil && u.Scheme == "https" && u.Host != "" && (u.Path == "" || u.Path == "/") {
		fix = "give the stage the custom domain its resource names (domain.name " + u.Hostname() + ")"
	}
	return fmt.Sprintf("stage %q: the API has no custom domain, so it answers at an execute-api URL, which its resource %s (%s) cannot be: a client that finds the API by its URL refuses its Protected Resource Metadata (RFC 9728 §3.3). Clients told the resource itself are not affected. To serve such clients, %s",
		s.Name, resource, field, fix)
}

// resourceMetadataEnvironment is the metadata function's environment: the
// document derived from the routes, the issuer as its authorization server,
// and the page's copy of the OpenAPI document as its documentation.
func resourceMetadataEnvironment(stage Stage, issuer string, routes []Route, page *webPage) map[string]string {
	var scopes []string
	for _, route := range routes {
		for _, scope := range route.Scopes {
			if !slices.Contains(scopes, scope) {
				scopes = append(scopes, scope)
			}
		}
	}
	slices.Sort(scopes)
	metadata := wire.ProtectedResourceMetadata{
		Resource:               stage.Resource(),
		ScopesSupported:        scopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "Auth0-protected HTTP API, stage " + stage.Name,
	}
	if stage.Config.RequiresDPoP() {
		metadata.DPoPSigningAlgValuesSupported, metadata.DPoPBoundAccessTokensRequired = dpop.Algorithms, true
	}
	document, _ := json.Marshal(metadata)
	environment := map[string]string{
		apitemplate.ResourceMetadataVariable: string(document),
		apitemplate.AuthorizerIssuerVariable: issuer,
	}
	if page != nil {
		environment[apitemplate.ResourceDocumentationVariable] = page.URL() + "/openapi.json"
	}
	return environment
}
