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
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/awsjson"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/replay"
)

// Authorizer decides on each request from the token and the route's rule.
type Authorizer struct {
	verifier *jwtauth.Verifier
	// routes holds each route's rule and path template, by route key.
	routes map[string]route
	logger *slog.Logger
	// dpop, when set, requires every token to be DPoP-bound and sent with
	// a fresh proof (docs/dpop.md).
	dpop *DPoP
}

// DPoP is what the authorizer needs to check proofs: the store that
// accepts each proof once, the scheme of the API's URL, and the clock.
type DPoP struct {
	Replay interface {
		Once(ctx context.Context, key string, expires time.Time) (bool, error)
	}
	Scheme string           // "https" on AWS
	Now    func() time.Time // nil: time.Now
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
	a, err := New(&jwtauth.Verifier{Issuer: issuer, Audiences: audiences, Keys: &jwtauth.RemoteKeySet{Issuer: issuer}}, rules, logger)
	if err != nil {
		return nil, err
	}
	switch getenv(apitemplate.DPoPVariable) {
	case "":
	case apitemplate.DPoPRequired:
		table, scheme := getenv(apitemplate.ReplayTableVariable), getenv(apitemplate.APISchemeVariable)
		if table == "" || (scheme != "https" && scheme != "http") {
			return nil, fmt.Errorf("with %s=%s, %s must name the replay table and %s be https or http", apitemplate.DPoPVariable, apitemplate.DPoPRequired, apitemplate.ReplayTableVariable, apitemplate.APISchemeVariable)
		}
		a.dpop = &DPoP{Replay: &replay.Store{Client: awsjson.FromEnvironment(awsjson.DynamoDB), Table: table}, Scheme: scheme}
	default:
		return nil, fmt.Errorf("%s must be %q or unset", apitemplate.DPoPVariable, apitemplate.DPoPRequired)
	}
	return a, nil
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
func (a *Authorizer) Authorize(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (response events.APIGatewayV2CustomAuthorizerSimpleResponse, _ error) {
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
	authorization := req.Headers["authorization"]
	scheme, accessToken, _ := strings.Cut(authorization, " ")
	if a.dpop != nil && strings.EqualFold(scheme, "DPoP") {
		authorization = accessToken
	}
	token, err := a.verifier.Verify(authorization)
	if err != nil {
		deny(jwtauth.Detail(err))
		return response, nil
	}
	var proof *dpop.Proof
	if a.dpop != nil {
		if proof, err = a.dpop.check(req, scheme, accessToken, token); err != nil {
			deny(err.Error())
			return response, nil
		}
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
	// Last, so that a request refused anyway costs no write: the proof is
	// accepted once, by this instance or any other, until it is stale.
	if proof != nil {
		fresh, err := a.dpop.Replay.Once(ctx, proof.Thumbprint+"#"+proof.JTI, proof.IssuedAt.Add(dpop.MaxAge+dpop.MaxSkew))
		switch {
		case err != nil:
			deny("the replay store cannot record the proof, so it is refused: " + err.Error())
			return response, nil
		case !fresh:
			deny("the DPoP proof was used before (jti): a replay")
			return response, nil
		}
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

// check refuses what RFC 9449 §7.1 and §4.3 refuse on a stage that requires
// DPoP: a token sent as Bearer, a token bound to no key, and a proof that is
// not for this request, this token and the token's key. The request's URL
// is the API's scheme, the domain API Gateway was called on, and the raw
// path, as the client called it.
func (d *DPoP) check(req events.APIGatewayV2CustomAuthorizerV2Request, scheme, accessToken string, token *jwtauth.Token) (*dpop.Proof, error) {
	switch {
	case !strings.EqualFold(scheme, "DPoP") && token.Confirmation != "":
		return nil, errors.New("a DPoP-bound token sent as Bearer (RFC 9449 §7.2)")
	case !strings.EqualFold(scheme, "DPoP"):
		return nil, errors.New("a bearer token, on a stage that requires DPoP")
	case token.Confirmation == "":
		return nil, errors.New("the token is bound to no key (no cnf.jkt), on a stage that requires DPoP")
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	proof, err := dpop.Check(req.Headers["dpop"], dpop.Request{
		Method: req.RequestContext.HTTP.Method, URL: dpop.RequestURL(d.Scheme, req.RequestContext.DomainName, req.RawPath), AccessToken: accessToken,
	}, now())
	if err != nil {
		return nil, err
	}
	if proof.Thumbprint != token.Confirmation {
		return nil, errors.New("the DPoP proof is signed by another key than the token's (cnf.jkt)")
	}
	return proof, nil
}
