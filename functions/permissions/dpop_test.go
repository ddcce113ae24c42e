package permissions

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/auth0-http-api/cdk/internal/dpop"
)

// memoryReplay is a replay store in memory: DynamoDB's is
// internal/replay's, tested against the stand-in there.
type memoryReplay struct {
	mu   sync.Mutex
	seen map[string]bool
	err  error
}

func (m *memoryReplay) Once(_ context.Context, key string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if m.seen[key] {
		return false, nil
	}
	m.seen[key] = true
	return true, nil
}

// dpopClient is a client's DPoP key, and a token bound to it.
type dpopClient struct {
	key   *ecdsa.PrivateKey
	token string
}

func newDPoPClient(t testing.TB, change func(jwt.MapClaims)) dpopClient {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, _ := dpop.Thumbprint(&k.PublicKey)
	return dpopClient{key: k, token: token(t, func(c jwt.MapClaims) {
		c["cnf"] = map[string]any{"jkt": jkt}
		if change != nil {
			change(c)
		}
	})}
}

const apiDomain = "api.example.com"

// dpopRequest is a request on the API's domain with the client's token
// under scheme and a proof made for method and url.
func (c dpopClient) request(t testing.TB, routeKey, scheme, method, url string) events.APIGatewayV2CustomAuthorizerV2Request {
	t.Helper()
	req := request(routeKey, scheme+" "+c.token)
	req.RequestContext.DomainName = apiDomain
	req.RequestContext.HTTP.Method = strings.Fields(routeKey)[0]
	proof, err := dpop.NewProof(c.key, method, url, c.token, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req.Headers["dpop"] = proof
	return req
}

func dpopAuthorizer(log *bytes.Buffer, store *memoryReplay) *Authorizer {
	a := newAuthorizer(log)
	a.dpop = &DPoP{Replay: store, Scheme: "https"}
	return a
}

// A bound token with a good proof passes; the same proof again is a replay.
func TestDPoPAllowsABoundTokenWithItsProofOnce(t *testing.T) {
	var log bytes.Buffer
	store := &memoryReplay{seen: map[string]bool{}}
	a := dpopAuthorizer(&log, store)
	client := newDPoPClient(t, nil)
	req := client.request(t, "GET /admin", "DPoP", "GET", "https://"+apiDomain+"/admin")
	if response, _ := a.Authorize(context.Background(), req); !response.IsAuthorized {
		t.Fatalf("a good proof was refused:\n%s", log.String())
	}
	if response, _ := a.Authorize(context.Background(), req); response.IsAuthorized || !strings.Contains(log.String(), "used before (jti): a replay") {
		t.Errorf("the replayed proof: %+v\n%s", response, log.String())
	}
	// The scheme is case-insensitive (RFC 9110 §11.1).
	if response, _ := a.Authorize(context.Background(), client.request(t, "GET /admin", "dpop", "GET", "https://"+apiDomain+"/admin")); !response.IsAuthorized {
		t.Errorf("scheme dpop refused:\n%s", log.String())
	}
}

// Each refusal of a DPoP stage, with the reason its log line gives, which
// holds neither the token nor the proof.
func TestDPoPRefusals(t *testing.T) {
	client := newDPoPClient(t, nil)
	other := newDPoPClient(t, nil)
	bearer := dpopClient{key: client.key, token: token(t, nil)}
	url := "https://" + apiDomain + "/admin"
	withProofOf := func(req events.APIGatewayV2CustomAuthorizerV2Request, proof string) events.APIGatewayV2CustomAuthorizerV2Request {
		req.Headers["dpop"] = proof
		return req
	}
	otherKeysProof := other.request(t, "GET /admin", "DPoP", "GET", url).Headers["dpop"]
	// API Gateway hands the authorizer the path decoded: "/admin%23x" as "/admin#x".
	decodedHash := client.request(t, "GET /admin", "DPoP", "GET", url)
	decodedHash.RawPath = "/admin#x"
	stale, _ := dpop.NewProof(client.key, "GET", url, client.token, time.Now().Add(-2*time.Minute))
	for name, c := range map[string]struct {
		req  events.APIGatewayV2CustomAuthorizerV2Request
		want string
	}{
		"a bound token sent as Bearer":      {client.request(t, "GET /admin", "Bearer", "GET", url), "a DPoP-bound token sent as Bearer"},
		"a bearer token":                    {bearer.request(t, "GET /admin", "Bearer", "GET", url), "a bearer token, on a stage that requires DPoP"},
		"a bearer token under DPoP":         {bearer.request(t, "GET /admin", "DPoP", "GET", url), "bound to no key (no cnf.jkt)"},
		"no proof":                          {withProofOf(client.request(t, "GET /admin", "DPoP", "GET", url), ""), "no DPoP proof"},
		"two DPoP headers":                  {withProofOf(client.request(t, "GET /admin", "DPoP", "GET", url), otherKeysProof+","+otherKeysProof), "more than one DPoP header"},
		"another key's proof":               {withProofOf(client.request(t, "GET /admin", "DPoP", "GET", url), otherKeysProof), "another access token (ath)"},
		"a proof for another URL":           {client.request(t, "GET /admin", "DPoP", "GET", "https://"+apiDomain+"/user"), "another URL (htu)"},
		"a proof for another host":          {client.request(t, "GET /admin", "DPoP", "GET", "https://evil.example.com/admin"), "another URL (htu)"},
		"a proof for another method":        {client.request(t, "GET /admin", "DPoP", "POST", url), "another method (htm)"},
		"a proof for /admin, on /admin%23x": {decodedHash, "another URL (htu)"},
		"a stale proof":                     {withProofOf(client.request(t, "GET /admin", "DPoP", "GET", url), stale), "stale"},
		"a token of another key's client":   {withProofOf(other.request(t, "GET /admin", "DPoP", "GET", url), func() string { p, _ := dpop.NewProof(client.key, "GET", url, other.token, time.Now()); return p }()), "signed by another key than the token's (cnf.jkt)"},
		"the route's permission missing":    {newDPoPClient(t, func(c jwt.MapClaims) { c["permissions"] = []string{} }).request(t, "GET /admin", "DPoP", "GET", url), "read:admin"},
		"an expired token":                  {newDPoPClient(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }).request(t, "GET /admin", "DPoP", "GET", url), "expired"},
	} {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			store := &memoryReplay{seen: map[string]bool{}}
			response, err := dpopAuthorizer(&log, store).Authorize(context.Background(), c.req)
			if err != nil || response.IsAuthorized {
				t.Fatalf("%+v %v", response, err)
			}
			if !strings.Contains(log.String(), c.want) {
				t.Errorf("log %s, want %q", log.String(), c.want)
			}
			token := strings.Fields(c.req.Headers["authorization"])[1]
			for _, secret := range []string{token, c.req.Headers["dpop"]} {
				if len(secret) > 10 && strings.Contains(log.String(), secret[len(secret)-10:]) {
					t.Errorf("the log holds the token or the proof: %s", log.String())
				}
			}
			if len(store.seen) != 0 {
				t.Errorf("a refused request recorded its proof: %v", store.seen)
			}
		})
	}
}

// A replay store that fails refuses the request: fail closed.
func TestDPoPFailsClosedWhenTheReplayStoreFails(t *testing.T) {
	var log bytes.Buffer
	a := dpopAuthorizer(&log, &memoryReplay{err: errors.New("AccessDeniedException (HTTP 400): not authorized")})
	client := newDPoPClient(t, nil)
	if response, _ := a.Authorize(context.Background(), client.request(t, "GET /admin", "DPoP", "GET", "https://"+apiDomain+"/admin")); response.IsAuthorized ||
		!strings.Contains(log.String(), "the replay store cannot record the proof") {
		t.Errorf("%+v\n%s", response, log.String())
	}
}

// The configuration: DPoP needs its table and the API's scheme.
func TestDPoPConfiguration(t *testing.T) {
	env := map[string]string{"ISSUER": issuer, "AUDIENCE": `["` + audience + `"]`, "ROUTE_RULES": `{"GET /admin":{"permissions":["read:admin"]}}`}
	getenv := func(extra map[string]string) func(string) string {
		return func(name string) string {
			if v, ok := extra[name]; ok {
				return v
			}
			return env[name]
		}
	}
	var log bytes.Buffer
	logger := newAuthorizer(&log).logger
	if a, err := FromEnvironment(getenv(map[string]string{"DPOP": "required", "DPOP_REPLAY_TABLE": "t", "API_SCHEME": "https"}), logger); err != nil || a.dpop == nil || a.dpop.Scheme != "https" {
		t.Errorf("%v", err)
	}
	if a, err := FromEnvironment(getenv(nil), logger); err != nil || a.dpop != nil {
		t.Errorf("without DPOP: %v", err)
	}
	for name, extra := range map[string]map[string]string{
		"no table":       {"DPOP": "required", "API_SCHEME": "https"},
		"no scheme":      {"DPOP": "required", "DPOP_REPLAY_TABLE": "t"},
		"another value":  {"DPOP": "optional", "DPOP_REPLAY_TABLE": "t", "API_SCHEME": "https"},
		"another scheme": {"DPOP": "required", "DPOP_REPLAY_TABLE": "t", "API_SCHEME": "ftp"},
	} {
		if _, err := FromEnvironment(getenv(extra), logger); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkAuthorizeDPoP is the decision on a stage that requires DPoP for a
// client that sends its token again with a new proof, the key cached and the
// replay store in memory: the proof's verification is what DPoP adds to
// BenchmarkAuthorize. Making each proof is outside the timer.
func BenchmarkAuthorizeDPoP(b *testing.B) {
	var log bytes.Buffer
	a := dpopAuthorizer(&log, &memoryReplay{seen: map[string]bool{}})
	a.logger = slog.New(slog.DiscardHandler)
	client := newDPoPClient(b, nil)
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		req := client.request(b, "GET /admin", "DPoP", "GET", "https://"+apiDomain+"/admin")
		b.StartTimer()
		if response, _ := a.Authorize(context.Background(), req); !response.IsAuthorized {
			b.Fatal("denied")
		}
	}
}
