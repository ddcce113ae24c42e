package localapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/testsupport"
)

// rawRequest writes a request as given on a new connection to the local API
// and returns the status line, or "" when the server closed the connection.
func rawRequest(t *testing.T, request string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(suite.local.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(conn, request)
	status, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(status)
}

// Two Authorization headers make the token ambiguous: the request is refused.
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	echo := suite.functions[functionID(t, "./functions/claimsecho")]
	before := echo.Invocations()
	req, _ := http.NewRequest("GET", suite.local.URL+"/user", nil)
	req.Header.Add("Authorization", "Bearer "+token(t, "read:user"))
	req.Header.Add("Authorization", "Bearer "+token(t, "read:user"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || echo.Invocations() != before {
		t.Errorf("status %d, invocations +%d; want 401 and none", resp.StatusCode, echo.Invocations()-before)
	}
}

// The 10,240-byte limit counts the bytes as they arrive: whitespace padding,
// which HTTP parsing trims, counts too.
func TestHeaderLimitCountsWhitespacePadding(t *testing.T) {
	padding := strings.Repeat(" ", 16_000)
	status := rawRequest(t, "GET /public HTTP/1.1\r\nHost: local\r\nX-Padding:"+padding+"x"+padding+"\r\n\r\n")
	if !strings.Contains(status, "431") {
		t.Errorf("16 KB of padding: %q, want 431", status)
	}
	if status := rawRequest(t, "GET /public HTTP/1.1\r\nHost: local\r\nX-Padding: "+strings.Repeat("p", 9000)+"\r\n\r\n"); !strings.Contains(status, "200") {
		t.Errorf("9,000 bytes of headers: %q, want 200", status)
	}
}

// A body declared larger than the payload limit is refused at once, without
// reading it.
func TestOversizedBodyIsRefusedWithoutReadingIt(t *testing.T) {
	status := rawRequest(t, fmt.Sprintf("POST /user HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", token(t, "write:user"), MaxPayloadBytes+1))
	if !strings.Contains(status, "413") {
		t.Errorf("%q, want 413 before any body byte is sent", status)
	}
}

// A body that stops arriving gets an answer once the body read deadline passes.
func TestStalledBodyReadTimesOut(t *testing.T) {
	handler := handlerFor(t, suite.api, suite.issuer.URL)
	handler.bodyReadTimeout = 50 * time.Millisecond // the body never comes: any timeout gives the same answer
	server := httptest.NewServer(handler)
	defer server.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(server.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST /user HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\nonly part", token(t, "write:user"))
	status, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.Contains(status, "408") {
		t.Errorf("%q, want 408 after the body read deadline", status)
	}
}

// An event larger than Lambda's 6 MB invocation limit never reaches the function.
func TestEventOverLambdasLimitIs500(t *testing.T) {
	echo := suite.functions[functionID(t, "./functions/claimsecho")]
	before := echo.Invocations()
	req, _ := http.NewRequest("POST", suite.local.URL+"/user", bytes.NewReader(bytes.Repeat([]byte("a"), 7<<20)))
	req.Header.Set("Authorization", "Bearer "+token(t, "write:user"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || string(body) != `{"message":"Internal Server Error"}` || echo.Invocations() != before {
		t.Errorf("%d %s, invocations +%d; want 500 and none", resp.StatusCode, body, echo.Invocations()-before)
	}
}

func TestWrongAudienceGetsAWSDescription(t *testing.T) {
	resp := call(t, "GET", "/user", "Bearer "+signed(t, func(c jwt.MapClaims) { c["aud"] = "https://other.example.com" }))
	want := `Bearer scope="read:user" error="invalid_token" error_description="the token does not have a valid audience"`
	if got := resp.header.Get("www-authenticate"); got != want {
		t.Errorf("www-authenticate %q, want %q", got, want)
	}
}

func TestKeyFetchErrorsAreNotShownToCallers(t *testing.T) {
	closed := testsupport.FreeAddress(t)
	issuer := "http://" + closed + "/"
	server := httptest.NewServer(handlerFor(t, suite.api, issuer))
	defer server.Close()
	req, _ := http.NewRequest("GET", server.URL+"/private", nil)
	req.Header.Set("Authorization", "Bearer "+token(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	header := resp.Header.Get("www-authenticate")
	if resp.StatusCode != 401 || strings.Contains(header, closed) || strings.Contains(header, "dial") {
		t.Errorf("%d, www-authenticate %q: want 401 without the fetch's detail", resp.StatusCode, header)
	}
}

func TestWWWAuthenticateIsAQuotedString(t *testing.T) {
	got := wwwAuthenticate([]string{"read:user"}, fmt.Errorf(`a "quoted" \ reason`+"\r\nX-Injected: 1"))
	want := `Bearer scope="read:user" error="invalid_token" error_description="a \"quoted\" \\ reason  X-Injected: 1"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := wwwAuthenticate(nil, jwtauth.ErrNoToken); got != "Bearer" {
		t.Errorf("no token: %q", got)
	}
}

// API Gateway answers every preflight itself; one from an origin that is not
// allowed gets no CORS headers, and never reaches a route.
func TestPreflightFromAnOriginNotAllowed(t *testing.T) {
	req, _ := http.NewRequest("OPTIONS", suite.local.URL+"/user", nil)
	req.Header.Set("Origin", "https://evil.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("access-control-allow-origin") != "" || resp.Header.Get("access-control-allow-methods") != "" {
		t.Errorf("%d %v, want 204 without CORS headers", resp.StatusCode, resp.Header)
	}
}

// The local API reads tokens from headers only: a template whose identity
// source is anything else is refused when it loads, not served wrongly.
func TestIdentitySourceNotAHeaderIsRefused(t *testing.T) {
	api := *suite.api
	api.IdentitySource = []string{"$request.querystring.token"}
	_, err := Start(t.Context(), Config{Root: suite.root, API: &api, Addr: "127.0.0.1:0", BuildDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `identity source "$request.querystring.token"`) {
		t.Errorf("err %v", err)
	}
}

// A $default route in a template loads, and serves what no other route matches.
func TestDefaultRouteIsLoadedAndRoutedLast(t *testing.T) {
	template := `{"Resources":{
		"A":{"Type":"AWS::ApiGatewayV2::Authorizer","Properties":{"AuthorizerType":"JWT","IdentitySource":["$request.header.Authorization"],"JwtConfiguration":{"Issuer":"https://i/","Audience":["a"]}}},
		"R1":{"Type":"AWS::ApiGatewayV2::Route","Properties":{"RouteKey":"GET /pets"}},
		"R2":{"Type":"AWS::ApiGatewayV2::Route","Properties":{"RouteKey":"$default","AuthorizationType":"JWT"}}}}`
	api, err := apitemplate.Parse([]byte(template))
	if err != nil {
		t.Fatal(err)
	}
	router := NewRouter(api.Routes)
	for path, want := range map[string]string{"/pets": "GET /pets", "/other": "$default", "/": "$default"} {
		if route, _, ok := router.Match("GET", path); !ok || route.Key != want {
			t.Errorf("GET %s: %q, want %q", path, route.Key, want)
		}
	}
}
