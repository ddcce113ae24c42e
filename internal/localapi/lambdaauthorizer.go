package localapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// lambdaAuthorizers emulate the template's Lambda REQUEST authorizers with
// payload format 2.0 and simple responses
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html,
// docs/lambda-authorizer.md): an identity source missing is 401 without
// invoking the function, isAuthorized false is 403, a failed, late or malformed
// answer is 500, and answers are cached by the identity sources' values for the
// authorizer's TTL.
type lambdaAuthorizers struct {
	api       *apitemplate.API
	functions map[string]Invoker
	now       func() time.Time

	mu    sync.Mutex
	cache map[string]authorizerAnswer // by authorizer and identity sources' values
}

type authorizerAnswer struct {
	allowed bool
	context map[string]any
	expires time.Time
}

// maxCachedAnswers bounds the memory that cached authorizer answers take.
const maxCachedAnswers = 10_000

// LambdaAuthorizerTimeout is how long API Gateway waits for a Lambda
// authorizer's answer; a later one is a 500
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
const LambdaAuthorizerTimeout = 10 * time.Second

func newLambdaAuthorizers(api *apitemplate.API, functions map[string]Invoker) (*lambdaAuthorizers, error) {
	for id, authorizer := range api.LambdaAuthorizers {
		for _, source := range authorizer.IdentitySource {
			if _, isHeader := strings.CutPrefix(source, "$request.header."); !isHeader && source != "$context.routeKey" && source != "$context.path" {
				return nil, fmt.Errorf("Lambda authorizer %s: identity source %q is not supported by the local API: use $request.header.<name>, $context.routeKey or $context.path", id, source)
			}
		}
	}
	return &lambdaAuthorizers{api: api, functions: functions, now: time.Now, cache: map[string]authorizerAnswer{}}, nil
}

// authorize runs the route's authorizer. It returns the context to pass to the
// function, and http.StatusOK, or the status API Gateway answers and why.
func (a *lambdaAuthorizers) authorize(r *http.Request, route apitemplate.Route, params map[string]string, requestID string) (map[string]any, int, string) {
	authorizer := a.api.LambdaAuthorizers[route.Authorizer]
	identity, missing := identityValues(authorizer.IdentitySource, r, route)
	if missing != "" {
		return nil, http.StatusUnauthorized, "identity source " + missing + " is missing"
	}
	key := route.Authorizer + "\x00" + strings.Join(identity, "\x00")
	if answer, ok := a.cached(key); ok {
		return answer.result()
	}
	function, ok := a.functions[authorizer.Function]
	if !ok {
		return nil, http.StatusInternalServerError, "the authorizer's function is not running"
	}
	event, _ := json.Marshal(authorizerEvent(r, route, params, requestID, identity))
	payload, err := function.Invoke(r.Context(), event)
	if err != nil {
		return nil, http.StatusInternalServerError, "the authorizer failed: " + err.Error()
	}
	answer, err := parseSimpleResponse(payload)
	if err != nil {
		return nil, http.StatusInternalServerError, "the authorizer's answer is invalid: " + err.Error()
	}
	if authorizer.ResultTTLSeconds > 0 {
		answer.expires = a.now().Add(time.Duration(authorizer.ResultTTLSeconds) * time.Second)
		a.store(key, answer)
	}
	return answer.result()
}

func (answer authorizerAnswer) result() (map[string]any, int, string) {
	if !answer.allowed {
		return nil, http.StatusForbidden, "the authorizer denied the request"
	}
	if answer.context == nil {
		answer.context = map[string]any{}
	}
	return answer.context, http.StatusOK, ""
}

func (a *lambdaAuthorizers) cached(key string) (authorizerAnswer, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	answer, ok := a.cache[key]
	if ok && !a.now().Before(answer.expires) {
		delete(a.cache, key)
		return authorizerAnswer{}, false
	}
	return answer, ok
}

func (a *lambdaAuthorizers) store(key string, answer authorizerAnswer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCachedAnswers {
		a.cache = map[string]authorizerAnswer{}
	}
	a.cache[key] = answer
}

// identityValues reads each identity source of the request. It names the
// first one that is missing or empty, if any.
func identityValues(sources []string, r *http.Request, route apitemplate.Route) ([]string, string) {
	values := make([]string, 0, len(sources))
	for _, source := range sources {
		var value string
		if name, isHeader := strings.CutPrefix(source, "$request.header."); isHeader {
			value = strings.Join(r.Header.Values(name), ",")
		} else if source == "$context.routeKey" {
			value = route.Key
		} else if source == "$context.path" {
			value = r.URL.EscapedPath()
		}
		if value == "" {
			return nil, source
		}
		values = append(values, value)
	}
	return values, ""
}

// authorizerEventV2 is the payload format 2.0 event of a REQUEST authorizer.
type authorizerEventV2 struct {
	Version               string            `json:"version"`
	Type                  string            `json:"type"`
	RouteArn              string            `json:"routeArn"`
	IdentitySource        []string          `json:"identitySource"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
}

func authorizerEvent(r *http.Request, route apitemplate.Route, params map[string]string, requestID string, identity []string) authorizerEventV2 {
	e := buildEvent(r, route, params, nil, requestID)
	method, path, _ := strings.Cut(route.Key, " ")
	return authorizerEventV2{
		Version: "2.0", Type: "REQUEST",
		RouteArn:       fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s", "us-east-1", e.RequestContext.AccountID, e.RequestContext.APIID, e.RequestContext.Stage, method, path),
		IdentitySource: identity, RouteKey: e.RouteKey, RawPath: e.RawPath, RawQueryString: e.RawQueryString,
		Cookies: e.Cookies, Headers: e.Headers, QueryStringParameters: e.QueryStringParameters,
		RequestContext: e.RequestContext, PathParameters: e.PathParameters,
	}
}

// parseSimpleResponse reads {"isAuthorized": bool, "context": {...}}: a
// missing or non-boolean isAuthorized, or a context that is not an object, is
// an invalid answer.
func parseSimpleResponse(payload []byte) (authorizerAnswer, error) {
	var response struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	decoder := json.NewDecoder(bytes.NewReader(payload))
	decoder.UseNumber()
	if err := decoder.Decode(&response); err != nil {
		return authorizerAnswer{}, err
	}
	if response.IsAuthorized == nil {
		return authorizerAnswer{}, fmt.Errorf("no boolean isAuthorized")
	}
	return authorizerAnswer{allowed: *response.IsAuthorized, context: response.Context}, nil
}
