// Package handlers holds the logic of the Lambda functions behind the HTTP API.
// Each handler takes an API Gateway payload 2.0 event and returns the response,
// so it is tested without Lambda.
package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/auth0-http-api/cdk/internal/wire"
)

// Handler is the shape of every function's logic.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Greeting answers the public route.
func Greeting(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return jsonResponse(http.StatusOK, wire.GreetingBody{
		Message:  "Hello! This route is public: no token needed.",
		RouteKey: req.RequestContext.RouteKey,
	}), nil
}

// ClaimsEcho returns what the route's authorizer passed to the function: the
// JWT authorizer's claims, or the permissions authorizer's context. The
// request's headers, and so the token, are never part of the answer.
func ClaimsEcho(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	authorizer := req.RequestContext.Authorizer
	if authorizer != nil && authorizer.Lambda != nil {
		return permissionsEcho(req.RequestContext.RouteKey, authorizer.Lambda), nil
	}
	if authorizer == nil || authorizer.JWT == nil || len(authorizer.JWT.Claims) == 0 {
		return jsonResponse(http.StatusInternalServerError, map[string]string{
			"message": "no JWT claims in the request: this function must sit behind the JWT authorizer (check the route table)",
		}), nil
	}
	claims := authorizer.JWT.Claims
	decoded := make(map[string]any, len(claims))
	for name, value := range claims {
		decoded[name] = decodeClaim(name, value)
	}
	return jsonResponse(http.StatusOK, wire.ClaimsEchoBody{
		RouteKey: req.RequestContext.RouteKey,
		Sub:      claims["sub"],
		Claims:   claims,
		Decoded:  decoded,
		Scopes:   authorizer.JWT.Scopes,
	}), nil
}

// permissionsEcho reads the permissions authorizer's context, whose values
// arrive as JSON: a string sub, scope and org_id, and a list of permissions.
func permissionsEcho(routeKey string, lambdaContext map[string]any) events.APIGatewayV2HTTPResponse {
	sub, _ := lambdaContext["sub"].(string)
	scope, _ := lambdaContext["scope"].(string)
	organization, _ := lambdaContext["org_id"].(string)
	permissions := []string{}
	switch list := lambdaContext["permissions"].(type) {
	case []any:
		for _, item := range list {
			if permission, ok := item.(string); ok {
				permissions = append(permissions, permission)
			}
		}
	case string:
		// AWS documents JSON context values, but not how a list reaches the
		// function: a stringified one is read as the JWT authorizer writes lists.
		if bracketed, ok := bracketedList(list); ok {
			permissions = bracketed
		} else {
			permissions = append(permissions, strings.Fields(list)...)
		}
	}
	if sub == "" {
		return jsonResponse(http.StatusInternalServerError, map[string]string{
			"message": "the authorizer's context has no sub: this function expects the permissions authorizer (check the route table)",
		})
	}
	return jsonResponse(http.StatusOK, wire.PermissionsEchoBody{RouteKey: routeKey, Sub: sub, Permissions: permissions, Scope: scope, Organization: organization})
}

// decodeClaim undoes API Gateway's stringification of one claim: arrays arrive
// as "[a b]", numbers and booleans as their text.
func decodeClaim(name, value string) any {
	switch name {
	case "scope":
		return strings.Fields(value)
	case "aud":
		if list, ok := bracketedList(value); ok {
			return list
		}
		return []string{value}
	case "exp", "iat", "nbf", "auth_time":
		if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
			return time.Unix(seconds, 0).UTC().Format(time.RFC3339)
		}
		return value
	}
	if list, ok := bracketedList(value); ok {
		return list
	}
	return value
}

func bracketedList(value string) ([]string, bool) {
	if len(value) < 2 || value[0] != '[' || value[len(value)-1] != ']' {
		return nil, false
	}
	return append([]string{}, strings.Fields(value[1:len(value)-1])...), true
}

func jsonResponse(status int, body any) events.APIGatewayV2HTTPResponse {
	encoded, err := json.Marshal(body)
	if err != nil {
		status, encoded = http.StatusInternalServerError, []byte(`{"message":"could not encode the response"}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"content-type": "application/json",
			// Answers can hold a caller's claims: no shared cache may keep them.
			"cache-control": "no-store",
		},
		Body: string(encoded),
	}
}

// Logged wraps a handler so that each invocation writes one structured JSON log
// line with the request IDs, the route and the status, and so that a panic
// becomes a 500 answer instead of a crashed runtime. It logs no header, so never
// the token.
func Logged(logger *slog.Logger, function string, next Handler) Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
		started := time.Now()
		attrs := []any{
			"function", function,
			"requestId", req.RequestContext.RequestID,
			"routeKey", req.RequestContext.RouteKey,
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			attrs = append(attrs, "awsRequestId", lc.AwsRequestID)
		}
		defer func() {
			if recovered := recover(); recovered != nil {
				logger.Error("handler panicked", append(attrs, "panic", fmt.Sprint(recovered))...)
				resp, err = jsonResponse(http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"}), nil
				return
			}
			logger.Info("request", append(attrs, "status", resp.StatusCode, "durationMs", time.Since(started).Milliseconds())...)
		}()
		return next(ctx, req)
	}
}
