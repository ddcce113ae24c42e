package auth0tenant

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/testsupport"
)

func TestRetryingWaitsAsAuth0AsksThenGivesUp(t *testing.T) {
	var limited atomic.Int32
	var bodies []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(body))
		if limited.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer server.Close()
	var waits []time.Duration
	client := &http.Client{Transport: &Retrying{MaxRetries: 2, Wait: func(attempt int, resp *http.Response) time.Duration {
		waits = append(waits, RetryWait(attempt, resp))
		return 0
	}}}

	limited.Store(2)
	resp, err := client.Post(server.URL, "text/plain", strings.NewReader("the body"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("two 429s, then an answer: %v %v", resp, err)
	}
	if strings.Join(bodies, "|") != "the body|the body|the body" {
		t.Errorf("the body sent each time: %q", bodies)
	}
	if len(waits) != 2 || waits[0] != 3*time.Second || waits[1] != 3*time.Second {
		t.Errorf("waits %v, want the 3 s of Retry-After twice", waits)
	}

	limited.Store(3)
	bodies = nil
	if resp, err := client.Post(server.URL, "text/plain", strings.NewReader("x")); err != nil || resp.StatusCode != 429 || len(bodies) != 3 {
		t.Errorf("three 429s with two retries: %v %v after %d requests, want the 429 after 3", resp, err, len(bodies))
	}

	closed := testsupport.FreeAddress(t)
	waits = nil
	if _, err := client.Get("http://" + closed); err == nil || len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Errorf("a refused connection: %v after waits %v, want an error after 1 s and 2 s", err, waits)
	}
}

func TestRetryWaitIsBounded(t *testing.T) {
	answer := func(retryAfter string) *http.Response {
		return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {retryAfter}}}
	}
	for _, c := range []struct {
		resp *http.Response
		want time.Duration
	}{
		{answer("0"), 0},
		{answer("7"), 7 * time.Second},
		{answer("3600"), MaxRetryWait},
		{answer(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)), MaxRetryWait},
		{answer(time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)), 0},
		{answer("soon"), time.Second},
		{nil, time.Second},
	} {
		if got := RetryWait(0, c.resp); got != c.want {
			t.Errorf("%v: %s, want %s", c.resp, got, c.want)
		}
	}
	if got := RetryWait(5, nil); got != MaxRetryWait {
		t.Errorf("the sixth wait without Retry-After: %s, want %s", got, MaxRetryWait)
	}
}
