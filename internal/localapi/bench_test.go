package localapi

import (
	"context"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/lambdaproc"
	"github.com/auth0-http-api/cdk/internal/testsupport"
)

// BenchmarkLocalAPI measures requests per second and latency percentiles
// through the local API on loopback, for a public route, a private (JWT,
// scoped) route and a permission route (the permissions authorizer, a Lambda
// function), with 8 concurrent clients. The routes take turns in blocks of
// 200 requests, so that a machine that speeds up or slows down during the run
// weighs on all alike.
func BenchmarkLocalAPI(b *testing.B) {
	const clients, block = 8, 200
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	type route struct {
		name, path, authorization string
		latencies                 []time.Duration
		elapsed                   time.Duration
	}
	permitted, err := suite.issuer.AccessToken(devissuer.TokenRequest{Subject: "bench", Audience: suite.api.Audience[0], Permissions: []string{"read:admin"}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	member, err := suite.issuer.AccessToken(devissuer.TokenRequest{Subject: "bench", Audience: suite.api.Audience[0], Organization: e2eOrganization, Permissions: []string{"write:projects"}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	routes := []*route{
		{name: "public", path: "/public"},
		{name: "private", path: "/user", authorization: "Bearer " + token(b, "read:user")},
		{name: "permission", path: "/admin", authorization: "Bearer " + permitted},
		// Bound to the caller's organization: the path differs per organization,
		// and is part of the authorizer's cache key.
		{name: "organization", path: "/orgs/" + e2eOrganization.ID + "/projects", authorization: "Bearer " + member},
	}
	var failed atomic.Int64
	b.ResetTimer()
	for done := 0; done < b.N; {
		r := routes[(done/block)%len(routes)]
		n := min(block, b.N-done)
		started := time.Now()
		latencies := sendBlock(client, clients, n, func(int) *http.Request {
			req, _ := http.NewRequest("GET", suite.local.URL+r.path, nil)
			if r.authorization != "" {
				req.Header.Set("Authorization", r.authorization)
			}
			return req
		}, &failed)
		r.elapsed += time.Since(started)
		r.latencies = append(r.latencies, latencies...)
		done += n
	}
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d requests failed", failed.Load(), b.N)
	}
	rate := map[string]float64{}
	for _, r := range routes {
		if len(r.latencies) == 0 {
			continue
		}
		name := r.name
		sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
		rate[name] = float64(len(r.latencies)) / r.elapsed.Seconds()
		b.ReportMetric(rate[name], name+"-req/s")
		b.ReportMetric(float64(r.latencies[len(r.latencies)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(r.latencies[len(r.latencies)*99/100].Microseconds()), name+"-p99-µs")
	}
	if rate["public"] > 0 && rate["private"] > 0 && rate["permission"] > 0 {
		b.ReportMetric(rate["private"]/rate["public"], "private/public")
		b.ReportMetric(rate["permission"]/rate["public"], "permission/public")
	}
	if rate["public"] > 0 && rate["organization"] > 0 {
		b.ReportMetric(rate["organization"]/rate["public"], "organization/public")
	}
}

// sendBlock sends n requests, request(i) the i-th, from clients concurrent
// clients, and returns each one's latency; one that fails or answers other
// than 200 counts in failed.
func sendBlock(client *http.Client, clients, n int, request func(i int) *http.Request, failed *atomic.Int64) []time.Duration {
	latencies := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				req := request(int(i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return latencies
}

// BenchmarkFunctionInit measures each function's cold start on this machine,
// the permissions authorizer's and the ci stage's well-known function's
// included: from starting its host build, with its environment as the local
// API gives it, to its first Runtime API "next" request.
func BenchmarkFunctionInit(b *testing.B) {
	type measured struct {
		binary string
		env    map[string]string
	}
	functions := map[string]measured{}
	for id, fn := range suite.api.Functions {
		if fn.GoPackage == "" {
			continue // the CDK's own functions, such as the page's deployment
		}
		functions[fn.GoPackage] = measured{filepath.Join(suite.tmp, "build", id, "bootstrap"), environment(fn, suite.issuer.URL, nil)}
	}
	stand := testsupport.StartKMS(b)
	ci, api := startSelfHosted(b, stand, testsupport.NewKMSKey(b, stand, "generation-1"))
	for id, fn := range api.Functions {
		if _, inDev := functions[fn.GoPackage]; !inDev && fn.GoPackage != "" {
			functions[fn.GoPackage] = measured{filepath.Join(suite.tmp, "ci-build", id, "bootstrap"), environment(fn, ci.cfg.Issuer, ci.cfg.FunctionEnvironment)}
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(functions)) {
		fn := functions[pkg]
		b.Run(strings.TrimPrefix(pkg, "./functions/"), func(b *testing.B) {
			durations := make([]time.Duration, 0, b.N)
			for range b.N {
				pool := lambdaproc.NewPool(lambdaproc.Function{Name: "init", Binary: fn.binary, Environment: fn.env, Timeout: time.Second})
				started := time.Now()
				if err := pool.Warm(context.Background()); err != nil {
					b.Fatal(err)
				}
				durations = append(durations, time.Since(started))
				pool.Close()
			}
			sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
			b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "median-ms")
		})
	}
}
