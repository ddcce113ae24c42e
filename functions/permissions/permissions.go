// Package permissions is the logic of the permissions authorizer: the Lambda
// authorizer of the routes that require Auth0 RBAC permissions or are bound
// to the caller's Auth0 Organization. It verifies the token with
// internal/jwtauth, the same checks as API Gateway's JWT authorizer and the
// local API, then applies the route's rule (apitemplate.RouteRule): one of
// its scopes or permissions, and the organization. docs/lambda-authorizer.md
// says how API Gateway calls it and what it does with the answer, and
// docs/organizations.md what the organization binding refuses.
package permissions

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
)

// Authorizer decides on each request from the token and the route's rule.
type Authorizer struct {
	verifier *jwtauth.Verifier
	// routes holds each route's rule and path template, by route key.
	routes map[string]route
	logger *slog.Logger
}

type route struct {
	rule apitemplate.RouteRule
	path string
}

// FromEnvironment reads the configuration that synth writes into the
// function's environment: the issuer, the audiences and the route rules.
// The key set is fetched on first use and kept across invocations.
func FromEnvironment(getenv func(string) string, logger *slog.Logger) (*Authorizer, error) {
	issuer := getenv(apitemplate.AuthorizerIssuerVariable)
	if err := jwtauth.CheckIssuerURL(apitemplate.AuthorizerIssuerVariable, issuer); err != nil {
		return nil, err
	}
	var audiences []string
	if err := json.Unmarshal([]byte(getenv(apitemplate.AuthorizerAudienceVariable)), &audiences); err != nil || len(audiences) == 0 {
		return nil, fmt.Errorf("%s must be a JSON list of the accepted audiences", apitemplate.AuthorizerAudienceVariable)
	}
	rules, err := apitemplate.ParseRouteRules(getenv(apitemplate.RouteRulesVariable))
	if err != nil {
		return nil, err
	}
	return New(&jwtauth.Verifier{Issuer: issuer, Audiences: audiences, Keys: &jwtauth.RemoteKeySet{Issuer: issuer}}, rules, logger)
}

// New decides with verifier for the routes' rules, by route key.
func New(verifier *jwtauth.Verifier, rules map[string]apitemplate.RouteRule, logger *slog.Logger) (*Authorizer, error) {
	routes := map[string]route{}
	for key, rule := range rules {
		_, path, ok := strings.Cut(key, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("%s: route key %q is not METHOD /path", apitemplate.RouteRulesVariable, key)
		}
		routes[key] = route{rule: rule, path: path}
	}
	return &Authorizer{verifier: verifier, routes: routes, logger: logger}, nil
}

// Authorize answers API Gateway with a simple response. It never returns an
// error, which API Gateway would turn into a 500: a request it cannot decide
// is denied. The context gives the route's function the caller's sub,
// permissions, scope and org_id, never the token.
func (a *Authorizer) Authorize(_ context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (response events.APIGatewayV2CustomAuthorizerSimpleResponse, _ error) {
	attrs := []any{"requestId", req.RequestContext.RequestID, "routeKey", req.RouteKey}
	deny := func(reason string) {
		response = events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
		a.logger.Info("denied", append(attrs, "reason", reason)...)
	}
	defer func() {
		if recovered := recover(); recovered != nil {
			deny(fmt.Sprint("panic: ", recovered))
		}
	}()
	route, known := a.routes[req.RouteKey]
	if !known {
		deny("the route is not one of the routes this authorizer knows")
		return response, nil
	}
	token, err := a.verifier.Verify(req.Headers["authorization"])
	if err != nil {
		deny(jwtauth.Detail(err))
		return response, nil
	}
	attrs = append(attrs, "sub", token.Claims["sub"])
	if token.Organization != "" {
		attrs = append(attrs, "org_id", token.Organization)
	}
	// A refusal names the path parameter, never the path's text: that is
	// the caller's.
	if why := route.rule.Refusal(token, route.path, req.RawPath, req.PathParameters); why != "" {
		deny(why)
		return response, nil
	}
	a.logger.Info("allowed", attrs...)
	permissions := token.Permissions
	if permissions == nil {
		permissions = []string{}
	}
	context := map[string]any{"sub": token.Claims["sub"], "permissions": permissions, "scope": token.Claims["scope"]}
	if token.Organization != "" {
		context["org_id"] = token.Organization
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: context}, nil
}
