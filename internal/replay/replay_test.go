package replay

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/aws-http-auth/credentials"

	"github.com/auth0-http-api/cdk/internal/awsjson"
	"github.com/auth0-http-api/cdk/internal/dynamostandin"
)

func store(t testing.TB) (*Store, *dynamostandin.DynamoDB, *time.Time) {
	t.Helper()
	stand := dynamostandin.New()
	server := httptest.NewServer(stand)
	t.Cleanup(server.Close)
	stand.URL = server.URL
	stand.AddTable("replay", KeyAttribute)
	now := time.Unix(1_800_000_000, 0)
	client := &awsjson.Client{Endpoint: stand.URL, Region: dynamostandin.Region, Credentials: credentials.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}}
	return &Store{Client: client, Table: "replay", Now: func() time.Time { return now }}, stand, &now
}

// A key is accepted once until it expires, and again after: the condition
// refuses a recorded key whether or not DynamoDB has deleted it yet.
func TestAKeyIsAcceptedOnceUntilItExpires(t *testing.T) {
	s, stand, now := store(t)
	ctx := context.Background()
	expires := now.Add(65 * time.Second)
	for i, want := range []bool{true, false, false} {
		if fresh, err := s.Once(ctx, "jkt#jti", expires); err != nil || fresh != want {
			t.Fatalf("call %d: %v, %v; want %v", i+1, fresh, err, want)
		}
	}
	if fresh, err := s.Once(ctx, "jkt#other", expires); err != nil || !fresh {
		t.Errorf("another key: %v, %v", fresh, err)
	}
	*now = expires.Add(time.Second)
	if fresh, err := s.Once(ctx, "jkt#jti", now.Add(65*time.Second)); err != nil || !fresh {
		t.Errorf("after it expired: %v, %v", fresh, err)
	}
	if stand.Puts() != 3 {
		t.Errorf("%d items written, want 3", stand.Puts())
	}
}

// A store that cannot write fails closed: the error, never "fresh".
func TestAFailedWriteIsAnError(t *testing.T) {
	s, stand, now := store(t)
	s.Table = "missing"
	if fresh, err := s.Once(context.Background(), "k", now.Add(time.Minute)); fresh || err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("missing table: %v, %v", fresh, err)
	}
	s.Table = "replay"
	stand.Deny()
	if fresh, err := s.Once(context.Background(), "k", now.Add(time.Minute)); fresh || err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("denied: %v, %v", fresh, err)
	}
	s.Client.Endpoint = "http://127.0.0.1:1"
	if fresh, err := s.Once(context.Background(), "k", now.Add(time.Minute)); fresh || err == nil {
		t.Errorf("unreachable: %v, %v", fresh, err)
	}
}

// BenchmarkOnce is one proof recorded in the stand-in over loopback: a
// signed PutItem and its answer, which is what the authorizer's write costs
// here; DynamoDB's own latency comes on top on AWS.
func BenchmarkOnce(b *testing.B) {
	s, _, now := store(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if fresh, err := s.Once(ctx, "jkt#"+strconv.Itoa(i), now.Add(time.Minute)); err != nil || !fresh {
			b.Fatal(fresh, err)
		}
	}
}
