package metadata

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// The metadata answers the stack's document with the issuer it was given as
// the authorization server, to any request, and may be cached; a function
// configured without a resource or an issuer does not start.
func TestProtectedResourceMetadata(t *testing.T) {
	metadata := `{"resource":"https://api.example.com","scopes_supported":["read:user"],"bearer_methods_supported":["header"]}`
	serve, err := Handler(metadata, "https://tenant.example.com/", "https://app.example.com/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	// An odd request, with a token and a query, gets the same answer.
	resp, err := serve(context.Background(), events.APIGatewayV2HTTPRequest{RawQueryString: "x=%zz", Headers: map[string]string{"authorization": "Bearer secret-token"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if resp.Headers["content-type"] != "application/json" || resp.Headers["cache-control"] != "public, max-age=300" {
		t.Errorf("headers %v", resp.Headers)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resource": "https://api.example.com", "authorization_servers": []any{"https://tenant.example.com/"},
		"scopes_supported": []any{"read:user"}, "bearer_methods_supported": []any{"header"},
		"resource_documentation": "https://app.example.com/openapi.json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("document %s, want %v", resp.Body, want)
	}
	if strings.Contains(resp.Body, "secret-token") {
		t.Error("the answer echoes the caller's token")
	}
	// Without documentation, the field is left out, as RFC 9728 §2 asks.
	serve, _ = Handler(metadata, "https://tenant.example.com/", "")
	if resp, _ := serve(context.Background(), events.APIGatewayV2HTTPRequest{}); strings.Contains(resp.Body, "resource_documentation") {
		t.Errorf("empty documentation written: %s", resp.Body)
	}
	for name, c := range map[string][2]string{
		"no resource": {`{"scopes_supported":["a"]}`, "https://tenant.example.com/"},
		"not JSON":    {`resource`, "https://tenant.example.com/"},
		"no issuer":   {metadata, ""},
	} {
		if _, err := Handler(c[0], c[1], ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
