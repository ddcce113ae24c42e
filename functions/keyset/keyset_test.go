package keyset

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auth0-http-api/cdk/internal/kmsapi"
	"github.com/auth0-http-api/cdk/internal/kmsstandin"
	"github.com/auth0-http-api/cdk/internal/testsupport"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// countingKMS counts GetPublicKey calls.
type countingKMS struct {
	*kmsapi.Client
	calls atomic.Int64
}

func (c *countingKMS) GetPublicKey(ctx context.Context, keyID string) ([]byte, error) {
	c.calls.Add(1)
	return c.Client.GetPublicKey(ctx, keyID)
}

// standInClient is the function's KMS client, pointed at the stand-in as
// the local API points it, through its environment.
func standInClient(t testing.TB, stand *kmsstandin.KMS) *kmsapi.Client {
	t.Helper()
	for name, value := range stand.Env() {
		t.Setenv(name, value)
	}
	return kmsapi.FromEnvironment()
}

func newHandler(t *testing.T, stand *kmsstandin.KMS, arns ...string) (*Handler, *countingKMS) {
	t.Helper()
	c := &countingKMS{Client: standInClient(t, stand)}
	return &Handler{KMS: c, Issuer: "https://abc.execute-api.us-east-1.amazonaws.com/", KeyARNs: arns}, c
}

func get(t *testing.T, h *Handler, path string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := h.Serve(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: path})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestDiscoveryNamesTheIssuerAndItsKeySet(t *testing.T) {
	stand := testsupport.StartKMS(t)
	h, _ := newHandler(t, stand, testsupport.NewKMSKey(t, stand, "k1"))
	resp := get(t, h, wire.DiscoveryPath)
	var doc map[string]any
	json.Unmarshal([]byte(resp.Body), &doc)
	if resp.StatusCode != 200 || doc["issuer"] != h.Issuer || doc["jwks_uri"] != h.Issuer+".well-known/jwks.json" || resp.Headers["cache-control"] == "" {
		t.Errorf("%d %s %v", resp.StatusCode, resp.Body, resp.Headers)
	}
}

// Every published key is a JWK under its key ID, read from KMS once.
func TestTheKeySetPublishesEveryKeyOnce(t *testing.T) {
	stand := testsupport.StartKMS(t)
	h, counter := newHandler(t, stand, testsupport.NewKMSKey(t, stand, "k1"), testsupport.NewKMSKey(t, stand, "k2"))
	for range 3 {
		resp := get(t, h, wire.KeySetPath)
		var set struct{ Keys []map[string]string }
		json.Unmarshal([]byte(resp.Body), &set)
		if resp.StatusCode != 200 || len(set.Keys) != 2 || set.Keys[0]["kid"] != "k1" || set.Keys[1]["kid"] != "k2" || set.Keys[0]["alg"] != "RS256" || set.Keys[0]["use"] != "sig" || set.Keys[0]["n"] == "" {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
	if calls := counter.calls.Load(); calls != 2 {
		t.Errorf("%d GetPublicKey calls for 2 keys and 3 requests, want 2", calls)
	}
}

// When KMS refuses, the caller gets 503 without the detail, which goes to the log.
func TestAKMSFailureIsA503WithoutDetail(t *testing.T) {
	stand := testsupport.StartKMS(t)
	arn := testsupport.NewKMSKey(t, stand, "k1")
	stand.Deny("GetPublicKey")
	h, _ := newHandler(t, stand, arn)
	resp := get(t, h, wire.KeySetPath)
	if resp.StatusCode != 503 || strings.Contains(resp.Body, "arn:") || strings.Contains(resp.Body, "AccessDenied") {
		t.Errorf("%d %s", resp.StatusCode, resp.Body)
	}
}

// BenchmarkKeySetWarm is the key set's answer once the keys are read.
func BenchmarkKeySetWarm(b *testing.B) {
	stand := testsupport.StartKMS(b)
	c := standInClient(b, stand)
	h := &Handler{KMS: c, Issuer: "https://x/", KeyARNs: []string{testsupport.NewKMSKey(b, stand, "k1"), testsupport.NewKMSKey(b, stand, "k2")}}
	request := events.APIGatewayV2HTTPRequest{RawPath: wire.KeySetPath}
	h.Serve(context.Background(), request)
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h.Serve(context.Background(), request); resp.StatusCode != 200 {
			b.Fatal(resp.Body)
		}
	}
}
