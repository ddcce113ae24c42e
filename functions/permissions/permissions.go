// Package permissions is the logic of the permissions authorizer: the Lambda
// authorizer of the routes that require Auth0 RBAC permissions. It verifies
// the token with internal/jwtauth, the same checks as API Gateway's JWT
// authorizer and the local API, then requires one of the route's permissions
// in the token's "permissions" claim. docs/lambda-authorizer.md says how API
// Gateway calls it and what it does with the answer.
package permissions

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
)

// Authorizer decides on each request from the token and the route's permissions.
type Authorizer struct {
	verifier *jwtauth.Verifier
	// routes holds each route's permissions, by route key.
	routes map[string][]string
	logger *slog.Logger
}

// FromEnvironment reads the configuration that synth writes into the
// function's environment: the issuer, the audiences and the route permissions.
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
	var routes map[string][]string
	if err := json.Unmarshal([]byte(getenv(apitemplate.RoutePermissionsVariable)), &routes); err != nil {
		return nil, fmt.Errorf("%s must be a JSON object of route key to permissions: %v", apitemplate.RoutePermissionsVariable, err)
	}
	return New(&jwtauth.Verifier{Issuer: issuer, Audiences: audiences, Keys: &jwtauth.RemoteKeySet{Issuer: issuer}}, routes, logger), nil
}

// New decides with verifier for the routes' permissions.
func New(verifier *jwtauth.Verifier, routes map[string][]string, logger *slog.Logger) *Authorizer {
	return &Authorizer{verifier: verifier, routes: routes, logger: logger}
}

// Authorize answers API Gateway with a simple response. It never returns an
// error, which API Gateway would turn into a 500: a request it cannot decide
// is denied. The context gives the route's function the caller's sub,
// permissions and scope, never the token.
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
	required, known := a.routes[req.RouteKey]
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
	if !jwtauth.HoldsAny(token.Permissions, required) {
		deny(fmt.Sprintf("the token holds none of the route's permissions %v", required))
		return response, nil
	}
	a.logger.Info("allowed", attrs...)
	permissions := token.Permissions
	if permissions == nil {
		permissions = []string{}
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{
		IsAuthorized: true,
		Context: map[string]any{
			"sub":         token.Claims["sub"],
			"permissions": permissions,
			"scope":       token.Claims["scope"],
		},
	}, nil
}
