package localapi

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLocalAPI measures requests per second and latency percentiles
// through the local API on loopback, for a public and a private (JWT, scoped)
// route in the same run, with 8 concurrent clients.
func BenchmarkLocalAPI(b *testing.B) {
	for _, c := range []struct{ name, path, authorization string }{
		{"public", "/public", ""},
		{"private", "/user", "Bearer " + token(b, "read:user")},
	} {
		b.Run(c.name, func(b *testing.B) {
			const clients = 8
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			latencies := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			started := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						req, _ := http.NewRequest("GET", suite.local.URL+c.path, nil)
						if c.authorization != "" {
							req.Header.Set("Authorization", c.authorization)
						}
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
			elapsed := time.Since(started)
			b.StopTimer()
			if failed.Load() > 0 {
				b.Fatalf("%d of %d requests failed", failed.Load(), b.N)
			}
			sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(latencies[b.N/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(latencies[b.N*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkAuthorize is the JWT check's cost per request with the keys cached,
// for a client that sends its token again, as clients do until it expires.
func BenchmarkAuthorize(b *testing.B) {
	a := &Authorizer{Issuer: suite.issuer.URL, Audiences: suite.api.Audience, Keys: suite.local.Keys}
	header := "Bearer " + token(b, "read:user")
	if d := a.Authorize(header, []string{"read:user"}); d.Status != http.StatusOK {
		b.Fatalf("the benchmark token is refused: %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		a.Authorize(header, []string{"read:user"})
	}
}

// BenchmarkAuthorizeFirstSight is the check of a token never seen before:
// what every new token pays once, RS256 verification included.
func BenchmarkAuthorizeFirstSight(b *testing.B) {
	a := &Authorizer{Issuer: suite.issuer.URL, Audiences: suite.api.Audience, Keys: suite.local.Keys}
	header := "Bearer " + token(b, "read:user")
	b.ReportAllocs()
	for b.Loop() {
		a.verified = nil // forget the token, so each check is a first sight
		if d := a.Authorize(header, []string{"read:user"}); d.Status != http.StatusOK {
			b.Fatal(d)
		}
	}
}

// BenchmarkAuthorizeThousandsOfScopes: a scope claim with 1,500 entries is still cheap.
func BenchmarkAuthorizeThousandsOfScopes(b *testing.B) {
	a := &Authorizer{Issuer: suite.issuer.URL, Audiences: suite.api.Audience, Keys: suite.local.Keys}
	header := "Bearer " + token(b, append(strings.Fields(strings.Repeat("x:y ", 1500)), "read:user")...)
	b.ReportAllocs()
	for b.Loop() {
		if d := a.Authorize(header, []string{"read:user"}); d.Status != http.StatusOK {
			b.Fatal(d)
		}
	}
}

// BenchmarkFunctionInit measures a function's cold start on this machine: from
// starting the claims echo's host build to its first Runtime API "next" request.
func BenchmarkFunctionInit(b *testing.B) {
	binary := filepath.Join(suite.tmp, "build", functionID(b, "./functions/claimsecho"), "bootstrap")
	durations := make([]time.Duration, 0, b.N)
	for range b.N {
		pool := NewPool(Function{Name: "init", Binary: binary, Timeout: time.Second})
		started := time.Now()
		if err := pool.Warm(context.Background()); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(started))
		pool.Close()
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "median-ms")
}
