package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/auth0-http-api/cdk/internal/wire"
)

func loadEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var event events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &event); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return event
}

func echo(t *testing.T, event events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, wire.ClaimsEchoBody) {
	t.Helper()
	resp, err := ClaimsEcho(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	var body wire.ClaimsEchoBody
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("body is not JSON: %v\n%s", err, resp.Body)
		}
	}
	return resp, body
}

func TestClaimsEchoDecodesAPIGatewayClaims(t *testing.T) {
	event := loadEvent(t, "private-array-aud.json")
	resp, body := echo(t, event)
	if resp.StatusCode != 200 || resp.Headers["content-type"] != "application/json" {
		t.Fatalf("status %d, content-type %q", resp.StatusCode, resp.Headers["content-type"])
	}
	if body.RouteKey != "GET /private" || body.Sub != "auth0|654321" {
		t.Errorf("routeKey %q sub %q", body.RouteKey, body.Sub)
	}
	if !reflect.DeepEqual(body.Claims, event.RequestContext.Authorizer.JWT.Claims) {
		t.Errorf("claims are not echoed as API Gateway passed them:\n got %v\nwant %v", body.Claims, event.RequestContext.Authorizer.JWT.Claims)
	}
	wantDecoded := map[string]any{
		"aud":                                []any{"https://api.example.com", "https://example-prod.eu.auth0.com/userinfo"},
		"azp":                                "kbyuFDidLLm280LIwVFiazOqjO3ty8KH",
		"exp":                                "2025-01-01T01:00:00Z",
		"iat":                                "2024-12-31T01:00:00Z",
		"iss":                                "https://example-prod.eu.auth0.com/",
		"permissions":                        []any{"read:user", "write:user"},
		"scope":                              []any{"openid", "profile", "read:user"},
		"sub":                                "auth0|654321",
		"https://example.com/email_verified": "true",
	}
	if !reflect.DeepEqual(body.Decoded, wantDecoded) {
		t.Errorf("decoded claims:\n got %v\nwant %v", body.Decoded, wantDecoded)
	}
	// API Gateway sends null scopes on a route without authorization scopes.
	if body.Scopes != nil || !strings.Contains(resp.Body, `"scopes":null`) {
		t.Errorf("scopes should stay null, body: %s", resp.Body)
	}
}

func TestClaimsEchoPassesScopesAndSingleAudience(t *testing.T) {
	_, body := echo(t, loadEvent(t, "user-scoped.json"))
	if !reflect.DeepEqual(body.Scopes, []string{"read:user", "write:user"}) {
		t.Errorf("scopes %v", body.Scopes)
	}
	if !reflect.DeepEqual(body.Decoded["aud"], []any{"https://api.example.com"}) {
		t.Errorf("a single aud should decode to a one-entry list, got %v", body.Decoded["aud"])
	}
}

func TestClaimsEchoNeverEchoesTheToken(t *testing.T) {
	for _, name := range []string{"private-array-aud.json", "user-scoped.json"} {
		event := loadEvent(t, name)
		token := strings.TrimPrefix(event.Headers["authorization"], "Bearer ")
		resp, _ := echo(t, event)
		for _, part := range strings.Split(token, ".") {
			if strings.Contains(resp.Body, part) {
				t.Errorf("%s: the response holds part of the token: %s", name, resp.Body)
			}
		}
	}
}

func TestClaimsEchoWithoutAuthorizerContextAnswersClearly(t *testing.T) {
	cases := map[string]events.APIGatewayV2HTTPRequest{
		"public event":     loadEvent(t, "public.json"),
		"empty event":      {},
		"jwt without data": {RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{}}}},
	}
	for name, event := range cases {
		t.Run(name, func(t *testing.T) {
			resp, _ := echo(t, event)
			if resp.StatusCode != 500 || !strings.Contains(resp.Body, "JWT authorizer") {
				t.Errorf("want a 500 that names the missing authorizer, got %d %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

func TestDecodeClaimKeepsOddValues(t *testing.T) {
	cases := []struct {
		name, value string
		want        any
	}{
		{"exp", "not-a-number", "not-a-number"},
		{"exp", "1.5", "1.5"},
		{"custom", "[]", []string{}},
		{"custom", "[", "["},
		{"scope", "", []string{}},
		{"aud", "", []string{""}},
	}
	for _, c := range cases {
		got := decodeClaim(c.name, c.value)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("decodeClaim(%q, %q) = %#v, want %#v", c.name, c.value, got, c.want)
		}
	}
}

func TestGreeting(t *testing.T) {
	resp, err := Greeting(context.Background(), loadEvent(t, "public.json"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, err %v", resp.StatusCode, err)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body["message"] == "" || body["routeKey"] != "GET /public" {
		t.Errorf("body %s (%v)", resp.Body, err)
	}
}

func TestLoggedWritesOneJSONLineWithoutHeaders(t *testing.T) {
	var out bytes.Buffer
	handler := Logged(slog.New(slog.NewJSONHandler(&out, nil)), "claimsecho", ClaimsEcho)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
	event := loadEvent(t, "private-array-aud.json")
	if _, err := handler(ctx, event); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("log is not one JSON line: %v\n%s", err, out.String())
	}
	if line["requestId"] != "JKJaXmPLvHcESHA=" || line["awsRequestId"] != "lambda-req-1" || line["status"] != float64(200) {
		t.Errorf("log line lacks request ids or status: %s", out.String())
	}
	if strings.Contains(out.String(), "eyJ") {
		t.Errorf("log holds a token: %s", out.String())
	}
}

func TestLoggedTurnsAPanicIntoA500(t *testing.T) {
	var out bytes.Buffer
	handler := Logged(slog.New(slog.NewJSONHandler(&out, nil)), "boom", func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		panic("boom")
	})
	resp, err := handler(context.Background(), events.APIGatewayV2HTTPRequest{})
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("status %d, err %v", resp.StatusCode, err)
	}
	if !strings.Contains(out.String(), `"level":"ERROR"`) {
		t.Errorf("panic not logged: %s", out.String())
	}
}

func BenchmarkClaimsEcho(b *testing.B) {
	event := loadEvent(b, "private-array-aud.json")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ClaimsEcho(ctx, event); err != nil {
			b.Fatal(err)
		}
	}
}

// A route behind the permissions authorizer gets the authorizer's context,
// not JWT claims: the echo shows its sub, permissions and scope.
func TestClaimsEchoShowsThePermissionsAuthorizersContext(t *testing.T) {
	resp, err := ClaimsEcho(context.Background(), loadEvent(t, "admin-permissions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var body wire.PermissionsEchoBody
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	want := wire.PermissionsEchoBody{RouteKey: "GET /admin", Sub: "auth0|654321", Permissions: []string{"read:admin", "read:reports"}, Scope: "openid profile"}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("got %+v, want %+v", body, want)
	}
	if strings.Contains(resp.Body, "eyJ") {
		t.Error("the echo holds the token")
	}
}

func TestClaimsEchoRefusesALambdaContextWithoutSub(t *testing.T) {
	event := loadEvent(t, "admin-permissions.json")
	delete(event.RequestContext.Authorizer.Lambda, "sub")
	resp, err := ClaimsEcho(context.Background(), event)
	if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, "no sub") {
		t.Errorf("%d %s %v", resp.StatusCode, resp.Body, err)
	}
}

func TestClaimsEchoReadsPermissionsGivenAsAString(t *testing.T) {
	for _, given := range []string{"[read:admin read:reports]", "read:admin read:reports"} {
		event := loadEvent(t, "admin-permissions.json")
		event.RequestContext.Authorizer.Lambda["permissions"] = given
		resp, _ := ClaimsEcho(context.Background(), event)
		var body wire.PermissionsEchoBody
		json.Unmarshal([]byte(resp.Body), &body)
		if !reflect.DeepEqual(body.Permissions, []string{"read:admin", "read:reports"}) {
			t.Errorf("%q: %s", given, resp.Body)
		}
	}
}
