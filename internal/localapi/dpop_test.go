package localapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/internal/dynamostandin"
	"github.com/auth0-http-api/cdk/internal/replay"
)

// dpopAPI is a stage that requires DPoP, as its template says it: a route
// behind the real permissions authorizer, told to require DPoP, with the DPoP
// header among its identity sources and no cache, and a public route.
func dpopAPI() *apitemplate.API {
	audience := suite.api.Audience[0]
	audiences, _ := json.Marshal([]string{audience})
	return &apitemplate.API{
		Issuer: suite.issuer.URL, Audience: []string{audience},
		Routes: []apitemplate.Route{
			{Key: "GET /user", Method: "GET", Path: "/user", AuthorizationType: apitemplate.AuthorizationCustom, Scopes: []string{"read:user"}, Authorizer: "Permissions", Function: "Echo"},
			{Key: "GET /public", Method: "GET", Path: "/public", AuthorizationType: apitemplate.AuthorizationNone, Function: "Greeting"},
		},
		LambdaAuthorizers: map[string]apitemplate.LambdaAuthorizer{"Permissions": {
			Function:       "Authorizer",
			IdentitySource: []string{"$request.header.Authorization", "$context.routeKey", "$context.path", "$request.header.DPoP"},
		}},
		Functions: map[string]apitemplate.Function{
			"Authorizer": {GoPackage: "./functions/authorizer", TimeoutSeconds: 10, MemoryMiB: 128, Environment: map[string]string{
				apitemplate.AuthorizerIssuerVariable: "https://tenant.example.com/", apitemplate.AuthorizerAudienceVariable: string(audiences),
				apitemplate.RouteRulesVariable: `{"GET /user":{"scopes":["read:user"]}}`,
				apitemplate.DPoPVariable:       apitemplate.DPoPRequired, apitemplate.APISchemeVariable: "https",
				// The template's is a reference to the table, which reads as "".
				apitemplate.ReplayTableVariable: "",
			}},
			"Echo":     {GoPackage: "./functions/claimsecho", TimeoutSeconds: 10, MemoryMiB: 128},
			"Greeting": {GoPackage: "./functions/greeting", TimeoutSeconds: 10, MemoryMiB: 128},
		},
	}
}

// The local API serves a stage that requires DPoP with the real authorizer,
// whose replay table a DynamoDB stand-in plays: a bound token with a fresh
// proof for the local URL passes, once; the same proof again, a bearer
// token, a proof for the https URL of AWS, and a request without a proof
// are refused as API Gateway refuses them.
// startDPoP serves dpopAPI, its replay table played by a DynamoDB stand-in,
// and returns a client's key and a token bound to it.
func startDPoP(tb testing.TB, maxProcesses int) (*Server, *dynamostandin.DynamoDB, *ecdsa.PrivateKey, string) {
	tb.Helper()
	stand := dynamostandin.New()
	standServer := httptest.NewServer(stand)
	tb.Cleanup(standServer.Close)
	stand.URL = standServer.URL
	stand.AddTable("replay", replay.KeyAttribute)
	env := stand.Env()
	env[apitemplate.ReplayTableVariable] = "replay"
	local, err := Start(context.Background(), Config{
		Root: suite.root, API: dpopAPI(), Issuer: suite.issuer.URL, Addr: "127.0.0.1:0", MaxProcesses: maxProcesses,
		BuildDir: tb.TempDir(), FunctionEnvironment: env,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(local.Close)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, _ := dpop.Thumbprint(&key.PublicKey)
	bound, err := suite.issuer.AccessToken(devissuer.TokenRequest{Subject: "dpop-user", Audience: suite.api.Audience[0], Scopes: []string{"read:user"}, Confirmation: jkt, TTL: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	return local, stand, key, bound
}

func TestAStageThatRequiresDPoPLocally(t *testing.T) {
	t.Parallel()
	local, stand, key, bound := startDPoP(t, 2)
	call := func(authorization, proof string) response {
		return callWith(t, local.URL, "GET", "/user", map[string]string{"Authorization": authorization, "DPoP": proof})
	}
	proof, _ := dpop.NewProof(key, "GET", local.URL+"/user", bound, time.Now())
	if resp := call("DPoP "+bound, proof); resp.status != 200 || !strings.Contains(string(resp.body), `"sub":"dpop-user"`) {
		t.Fatalf("a bound token with its proof: %d %s", resp.status, resp.body)
	}
	if resp := call("DPoP "+bound, proof); resp.status != 403 || string(resp.body) != `{"message":"Forbidden"}` {
		t.Errorf("the same proof again: %d %s, want 403", resp.status, resp.body)
	}
	fresh := func(url string) string {
		p, _ := dpop.NewProof(key, "GET", url, bound, time.Now())
		return p
	}
	if resp := call("Bearer "+bound, fresh(local.URL+"/user")); resp.status != 403 {
		t.Errorf("the bound token as Bearer: %d, want 403", resp.status)
	}
	onAWS := strings.Replace(local.URL, "http://", "https://", 1) + "/user"
	if resp := call("DPoP "+bound, fresh(onAWS)); resp.status != 403 {
		t.Errorf("a proof for %s: %d, want 403", onAWS, resp.status)
	}
	if resp := call("DPoP "+bound, ""); resp.status != 401 || string(resp.body) != `{"message":"Unauthorized"}` {
		t.Errorf("no proof: %d %s, want API Gateway's 401", resp.status, resp.body)
	}
	if resp := callAt(t, local.URL, "GET", "/public", ""); resp.status != 200 {
		t.Errorf("the public route: %d", resp.status)
	}
	if puts := stand.Puts(); puts != 1 {
		t.Errorf("%d proofs recorded, want the one accepted", puts)
	}
}

// BenchmarkLocalAPIDPoP measures the local API's throughput on a route of a
// stage that requires DPoP (the permissions authorizer checks each proof and
// records it in the DynamoDB stand-in; nothing cached) beside the dev stage's
// JWT route, with 8 concurrent clients, in turns of 200 requests. Each
// request's proof is made before its turn's clock starts.
func BenchmarkLocalAPIDPoP(b *testing.B) {
	const clients, block = 8, 200
	local, _, key, bound := startDPoP(b, 8)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	jwt := "Bearer " + token(b, "read:user")
	elapsed := map[string]time.Duration{}
	requests := map[string]int{}
	var failed atomic.Int64
	b.ResetTimer()
	for done, turn := 0, 0; done < b.N; turn++ {
		n := min(block, b.N-done)
		name, base := "jwt", suite.local.URL
		headers := make([]map[string]string, n)
		b.StopTimer()
		for i := range headers {
			headers[i] = map[string]string{"Authorization": jwt}
			if turn%2 == 1 {
				name, base = "dpop", local.URL
				proof, _ := dpop.NewProof(key, "GET", local.URL+"/user", bound, time.Now())
				headers[i] = map[string]string{"Authorization": "DPoP " + bound, "DPoP": proof}
			}
		}
		b.StartTimer()
		started := time.Now()
		sendBlock(client, clients, n, func(i int) *http.Request {
			req, _ := http.NewRequest("GET", base+"/user", nil)
			for header, value := range headers[i] {
				req.Header.Set(header, value)
			}
			return req
		}, &failed)
		elapsed[name] += time.Since(started)
		requests[name] += n
		done += n
	}
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d requests failed", failed.Load(), b.N)
	}
	if requests["jwt"] > 0 && requests["dpop"] > 0 {
		jwtRate, dpopRate := float64(requests["jwt"])/elapsed["jwt"].Seconds(), float64(requests["dpop"])/elapsed["dpop"].Seconds()
		b.ReportMetric(jwtRate, "jwt-req/s")
		b.ReportMetric(dpopRate, "dpop-req/s")
		b.ReportMetric(dpopRate/jwtRate, "dpop/jwt")
	}
}
