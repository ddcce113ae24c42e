package auth0tenant

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
)

// MaxRetryWait bounds the wait before a retry, whatever Auth0 asks.
const MaxRetryWait = 10 * time.Second

// Retrying is an http.RoundTripper that sends a request again when the
// tenant answers 429 Too Many Requests, after the Retry-After it sends, or
// when the connection fails, after 1 s, then 2 s: at most MaxRetries times.
// It replaces the SDK's retries, whose waits cannot be shortened, so that
// tests inject short ones through Wait.
type Retrying struct {
	Base       http.RoundTripper // nil: http.DefaultTransport
	MaxRetries int
	// Wait says how long to wait before retry number attempt (0 for the
	// first); resp is nil after a failed connection. nil: RetryWait.
	Wait func(attempt int, resp *http.Response) time.Duration
}

// RoundTrip sends req, and again as the rules above say.
func (r *Retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	base, wait := r.Base, r.Wait
	if base == nil {
		base = http.DefaultTransport
	}
	if wait == nil {
		wait = RetryWait
	}
	for attempt := 0; ; attempt++ {
		resp, err := base.RoundTrip(req)
		var opErr *net.OpError
		retry := (err == nil && resp.StatusCode == http.StatusTooManyRequests) || errors.As(err, &opErr)
		if !retry || attempt == r.MaxRetries || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		delay := wait(attempt, resp)
		if resp != nil {
			resp.Body.Close()
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
}

// RetryWait is the wait Auth0 asks for in Retry-After (seconds, or an HTTP
// date), at most MaxRetryWait; without one, 1 s doubled at each attempt.
func RetryWait(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		value := resp.Header.Get("Retry-After")
		if seconds, err := strconv.Atoi(value); err == nil && seconds >= 0 {
			return min(time.Duration(seconds)*time.Second, MaxRetryWait)
		}
		if date, err := http.ParseTime(value); err == nil {
			return min(max(time.Until(date), 0), MaxRetryWait)
		}
	}
	return min(time.Second<<attempt, MaxRetryWait)
}
