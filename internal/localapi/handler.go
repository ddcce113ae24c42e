// Package localapi emulates an API Gateway HTTP API on this machine, from a
// synthesized template: routing with HTTP API priority, the JWT authorizer
// (internal/jwtauth), the payload 2.0 event and response mapping, CORS, and
// API Gateway's status codes. The functions run as real processes
// (internal/lambdaproc). docs/jwt-authorizer.md says which behaviours AWS
// documents and which are this project's choice.
package localapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/lambdaproc"
)

// Quotas of an HTTP API that the local API enforces
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
// and Lambda's limit on a synchronous invocation's event
// (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html).
const (
	MaxHeaderBytes            = 10240    // request line plus headers
	MaxPayloadBytes           = 10 << 20 // request body
	MaxEventBytes             = 6 << 20
	DefaultIntegrationTimeout = 30 * time.Second
	// DefaultBodyReadTimeout bounds a body's arrival, so a slow sender cannot
	// hold a request open; AWS documents no figure (docs/jwt-authorizer.md).
	DefaultBodyReadTimeout = 10 * time.Second
)

// Invoker runs one invocation of a function: a lambdaproc.Pool.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// Handler answers requests as the HTTP API would: routing, the JWT
// authorizer, and the functions.
type Handler struct {
	api      *apitemplate.API
	router   *Router
	verifier *jwtauth.Verifier
	// authorizers emulate the template's Lambda authorizers.
	authorizers *lambdaAuthorizers
	// tokenHeader: the header that the authorizer's identity source names.
	tokenHeader string
	functions   map[string]Invoker // by the function's logical ID
	accessLog   io.Writer
	// integrationTimeout: past it API Gateway answers 503; a function that
	// times out before it answers 500.
	integrationTimeout time.Duration
	bodyReadTimeout    time.Duration
}

// NewHandler serves api with the given verifier and one invoker per function.
func NewHandler(api *apitemplate.API, verifier *jwtauth.Verifier, functions map[string]Invoker, accessLog io.Writer) (*Handler, error) {
	tokenHeader, err := identityHeader(api.IdentitySource)
	if err != nil {
		return nil, err
	}
	authorizers, err := newLambdaAuthorizers(api, functions)
	if err != nil {
		return nil, err
	}
	if accessLog == nil {
		accessLog = io.Discard
	}
	return &Handler{
		api: api, router: NewRouter(api.Routes), verifier: verifier, authorizers: authorizers, tokenHeader: tokenHeader, functions: functions, accessLog: accessLog,
		integrationTimeout: DefaultIntegrationTimeout, bodyReadTimeout: DefaultBodyReadTimeout,
	}, nil
}

// identityHeader is the header that the authorizer's identity source names.
// AWS also accepts query parameters; the local API reads headers only, and
// says so rather than read the wrong place.
func identityHeader(sources []string) (string, error) {
	switch {
	case len(sources) == 0:
		return "Authorization", nil // the JWT authorizer's default
	case len(sources) > 1:
		return "", fmt.Errorf("the authorizer has %d identity sources %q: the local API supports exactly one, a header", len(sources), sources)
	}
	name, ok := strings.CutPrefix(sources[0], "$request.header.")
	if !ok || name == "" {
		return "", fmt.Errorf("identity source %q is not a header: the local API reads tokens only from $request.header.<name>", sources[0])
	}
	return name, nil
}

// ServeHTTP answers one request as API Gateway would.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	requestID := newRequestID()
	w.Header().Set("apigw-requestid", requestID)
	status, routeKey, authError := h.serve(w, r, requestID)
	fmt.Fprintf(h.accessLog, `{"requestId":%q,"routeKey":%q,"status":%d,"responseLatency":%d,"authorizerError":%q}`+"\n",
		requestID, routeKey, status, time.Since(started).Milliseconds(), authError)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, requestID string) (status int, routeKey, authError string) {
	// Oversized headers never get here: Server counts them as they arrive.
	// A body declared too large is refused before it is read or any token checked.
	if r.ContentLength > MaxPayloadBytes {
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), "-", ""
	}
	h.corsHeaders(w, r)
	if h.api.Cors != nil && r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		// API Gateway answers preflights itself, before routes and authorizers;
		// one from an origin not allowed gets no CORS headers.
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, "preflight", ""
	}
	route, params, ok := h.router.Match(r.Method, r.URL.Path)
	if !ok {
		return writeMessage(w, http.StatusNotFound, "Not Found"), "-", ""
	}
	var token *jwtauth.Token
	var lambdaContext map[string]any
	switch route.AuthorizationType {
	case apitemplate.AuthorizationCustom:
		var status int
		var reason string
		if lambdaContext, status, reason = h.authorizers.authorize(r, route, params, requestID); status != http.StatusOK {
			return writeMessage(w, status, http.StatusText(status)), route.Key, reason
		}
	case apitemplate.AuthorizationJWT:
		var err error
		token, err = h.verify(r)
		if err != nil {
			w.Header().Set("www-authenticate", wwwAuthenticate(route.Scopes, err))
			reason := jwtauth.Detail(err) // the log gets the whole story; the caller does not
			if errors.Is(err, jwtauth.ErrNoToken) {
				reason = ""
			}
			return writeMessage(w, http.StatusUnauthorized, "Unauthorized"), route.Key, reason
		}
		if !route.Allows(token, r.URL.EscapedPath()) {
			return writeMessage(w, http.StatusForbidden, "Forbidden"), route.Key, "insufficient scope"
		}
	}
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.bodyReadTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	switch {
	case len(body) > MaxPayloadBytes:
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), route.Key, ""
	case err != nil:
		return writeMessage(w, http.StatusRequestTimeout, "Request Timeout"), route.Key, ""
	}
	function, ok := h.functions[route.Function]
	if !ok {
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), route.Key, ""
	}
	e := buildEvent(r, route, params, body, requestID)
	switch {
	case token != nil:
		e.RequestContext.Authorizer = &eventAuthorizer{JWT: &eventJWT{Claims: token.Claims}}
		if len(route.Scopes) > 0 {
			e.RequestContext.Authorizer.JWT.Scopes = token.Scopes
		}
	case lambdaContext != nil:
		e.RequestContext.Authorizer = &eventAuthorizer{Lambda: lambdaContext}
	}
	event, _ := json.Marshal(e)
	if len(event) > MaxEventBytes {
		// Lambda refuses such an invocation, and API Gateway answers 500.
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), route.Key, ""
	}
	payload, err := function.Invoke(r.Context(), event)
	switch {
	case errors.Is(err, lambdaproc.ErrFunctionTimeout) && time.Duration(h.api.Functions[route.Function].TimeoutSeconds)*time.Second >= h.integrationTimeout:
		return writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable"), route.Key, ""
	case err != nil:
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), route.Key, ""
	}
	return writeFunctionResponse(w, payload, h.api.Cors != nil), route.Key, ""
}

// verify checks the request's token. Two values of the token header make it
// ambiguous, so they are refused before any check.
func (h *Handler) verify(r *http.Request) (*jwtauth.Token, error) {
	values := r.Header.Values(h.tokenHeader)
	if len(values) > 1 {
		return nil, fmt.Errorf("the request has %d %s headers", len(values), h.tokenHeader)
	}
	return h.verifier.Verify(r.Header.Get(h.tokenHeader))
}

// corsHeaders adds the API's CORS headers when the request's origin is allowed.
func (h *Handler) corsHeaders(w http.ResponseWriter, r *http.Request) {
	cors, origin := h.api.Cors, r.Header.Get("Origin")
	if cors == nil || origin == "" || !(slices.Contains(cors.AllowOrigins, origin) || slices.Contains(cors.AllowOrigins, "*")) {
		return
	}
	header := w.Header()
	header.Set("access-control-allow-origin", origin)
	header.Add("vary", "origin")
	if cors.AllowCredentials {
		header.Set("access-control-allow-credentials", "true")
	}
	if len(cors.ExposeHeaders) > 0 {
		header.Set("access-control-expose-headers", strings.Join(cors.ExposeHeaders, ","))
	}
	if r.Method == http.MethodOptions {
		header.Set("access-control-allow-methods", strings.Join(cors.AllowMethods, ","))
		header.Set("access-control-allow-headers", strings.Join(cors.AllowHeaders, ","))
		if cors.MaxAge > 0 {
			header.Set("access-control-max-age", strconv.Itoa(cors.MaxAge))
		}
	}
}

// wwwAuthenticate is the header API Gateway sends with a 401: bare without a
// token, with the route's scopes and the reason otherwise.
func wwwAuthenticate(routeScopes []string, err error) string {
	if errors.Is(err, jwtauth.ErrNoToken) {
		return "Bearer"
	}
	return fmt.Sprintf(`Bearer scope=%s error="invalid_token" error_description=%s`, quotedString(strings.Join(routeScopes, " ")), quotedString(err.Error()))
}

// quotedString writes s as an RFC 9110 §5.6.4 quoted-string: '"' and '\' are
// escaped, and a control character, which a header cannot carry, becomes a space.
func quotedString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func writeMessage(w http.ResponseWriter, status int, message string) int {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, message)
	return status
}

// event is the Lambda payload format 2.0 as API Gateway builds it. It is its
// own type because aws-lambda-go omits null scopes, which API Gateway sends.
type event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string           `json:"accountId"`
	APIID        string           `json:"apiId"`
	Authorizer   *eventAuthorizer `json:"authorizer,omitempty"`
	DomainName   string           `json:"domainName"`
	DomainPrefix string           `json:"domainPrefix"`
	HTTP         struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		Protocol  string `json:"protocol"`
		SourceIP  string `json:"sourceIp"`
		UserAgent string `json:"userAgent"`
	} `json:"http"`
	RequestID string `json:"requestId"`
	RouteKey  string `json:"routeKey"`
	Stage     string `json:"stage"`
	Time      string `json:"time"`
	TimeEpoch int64  `json:"timeEpoch"`
}

// eventAuthorizer is what the route's authorizer passes on: the JWT
// authorizer's claims and scopes, or a Lambda authorizer's context.
type eventAuthorizer struct {
	JWT    *eventJWT      `json:"jwt,omitempty"`
	Lambda map[string]any `json:"lambda,omitempty"`
}

type eventJWT struct {
	Claims map[string]string `json:"claims"`
	Scopes []string          `json:"scopes"` // null on routes without authorization scopes
}

// buildEvent is the request as payload 2.0, without the authorizer's part.
func buildEvent(r *http.Request, route apitemplate.Route, params map[string]string, body []byte, requestID string) event {
	now := time.Now()
	e := event{
		Version: "2.0", RouteKey: route.Key, RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{}, PathParameters: params,
	}
	if len(params) == 0 {
		e.PathParameters = nil
	}
	for name, values := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			for _, value := range values {
				e.Cookies = append(e.Cookies, strings.Split(value, "; ")...)
			}
			continue
		}
		e.Headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	e.Headers["host"] = r.Host
	if query := r.URL.Query(); len(query) > 0 {
		e.QueryStringParameters = map[string]string{}
		for name, values := range query {
			e.QueryStringParameters[name] = strings.Join(values, ",")
		}
	}
	if utf8.Valid(body) {
		e.Body = string(body)
	} else {
		e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}

	c := &e.RequestContext
	c.AccountID, c.APIID, c.Stage = "000000000000", "local", "$default"
	c.DomainName = r.Host
	c.DomainPrefix, _, _ = strings.Cut(r.Host, ".")
	c.HTTP.Method, c.HTTP.Path, c.HTTP.Protocol, c.HTTP.UserAgent = r.Method, r.URL.Path, r.Proto, r.UserAgent()
	c.HTTP.SourceIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	c.RequestID, c.RouteKey = requestID, route.Key
	c.Time, c.TimeEpoch = now.UTC().Format("02/Jan/2006:15:04:05 -0700"), now.UnixMilli()
	return e
}

// writeFunctionResponse maps a payload 2.0 response: an object with statusCode
// is a full response; any other valid JSON is a 200 JSON body; anything else is
// an invalid response, which API Gateway answers with 500.
// With CORS configured on the API, the function's own CORS headers are
// dropped, as API Gateway drops them.
func writeFunctionResponse(w http.ResponseWriter, payload []byte, apiHasCORS bool) int {
	var resp struct {
		StatusCode      json.RawMessage   `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	err := json.Unmarshal(payload, &resp)
	if err != nil {
		// Not a well-formed response object: valid JSON of another shape is a
		// body, unless it is an object that names a statusCode.
		var fields map[string]json.RawMessage
		if !json.Valid(payload) || (json.Unmarshal(payload, &fields) == nil && fields["statusCode"] != nil) {
			return writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		}
	}
	if resp.StatusCode == nil {
		w.Header().Set("content-type", "application/json")
		w.Write(payload)
		return http.StatusOK
	}
	status, err := strconv.Atoi(string(resp.StatusCode))
	if err != nil || status < 100 || status > 599 {
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		}
		body = decoded
	}
	for name, value := range resp.Headers {
		if apiHasCORS && strings.HasPrefix(strings.ToLower(name), "access-control-") {
			continue
		}
		w.Header().Set(name, value)
	}
	for _, cookie := range resp.Cookies {
		w.Header().Add("set-cookie", cookie)
	}
	w.WriteHeader(status)
	io.Copy(w, bytes.NewReader(body))
	return status
}

func newRequestID() string {
	id := make([]byte, 8)
	rand.Read(id)
	return hex.EncodeToString(id)
}
