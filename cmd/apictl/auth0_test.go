package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/auth0standin"
	"github.com/auth0-http-api/cdk/internal/auth0tenant"
	"github.com/auth0-http-api/cdk/internal/testsupport"
)

// The tests wait a millisecond before a retry, where apictl waits as long as
// Auth0 asks; askedWaits records what it would have waited.
var askedWaits struct {
	sync.Mutex
	list []time.Duration
}

func init() {
	retryWait = func(attempt int, resp *http.Response) time.Duration {
		askedWaits.Lock()
		defer askedWaits.Unlock()
		askedWaits.list = append(askedWaits.list, auth0tenant.RetryWait(attempt, resp))
		return time.Millisecond
	}
}

// auth0 runs `apictl auth0` against tenant with the Management API client's
// credentials in the environment.
func auth0(t *testing.T, cdkOut, state, domain string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv(mgmtClientIDVariable, "mgmt")
	t.Setenv(mgmtClientSecretVariable, "mgmt-secret")
	var out, errOut strings.Builder
	args = append(args, "--cdk-out", cdkOut, "--state-dir", state, "--tenant-domain", domain, "--outputs", filepath.Join(state, "none.json"))
	code := run(append([]string{"auth0"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// plan, apply, apply again, plan: drift, changes made, nothing to do, in step.
// The smoke applications' secrets go to a file only its owner can read,
// never to the output.
func TestAuth0PlanApplyIsIdempotent(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", auth0tenant.ManagementScopes...)
	cdkOut, state := goldenCloudAssembly(t), t.TempDir()
	code, out, errOut := auth0(t, cdkOut, state, tenant.Domain, "plan", "--stage", "dev")
	if code != 2 || !strings.Contains(out, "+ API https://dev.api.example.com: create") || !strings.Contains(out, "drift: run `apictl auth0 apply --stage dev`") {
		t.Fatalf("plan on an empty tenant: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = auth0(t, cdkOut, state, tenant.Domain, "apply", "--stage", "dev")
	credentials := filepath.Join(state, "auth0", "dev.env")
	if code != 0 || !strings.Contains(out, "done: + API https://dev.api.example.com") || !strings.Contains(out, "wrote the new smoke applications' credentials to "+credentials) {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	info, err := os.Stat(credentials)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v", err, info.Mode())
	}
	saved, _ := os.ReadFile(credentials)
	tenant.Mu.Lock()
	for _, client := range tenant.Clients {
		if secret, _ := client["client_secret"].(string); secret != "" {
			if !strings.Contains(string(saved), "="+secret+"\n") {
				t.Errorf("the secret of %v is not in the credentials file", client["name"])
			}
			if strings.Contains(out+errOut, secret) {
				t.Errorf("the secret of %v was printed", client["name"])
			}
		}
	}
	pageID := tenant.Clients[0]["client_id"].(string)
	tenant.Mu.Unlock()
	for _, variable := range []string{"AUTH0_CLIENT_ID=", "AUTH0_CLIENT_SECRET=", "AUTH0_LIMITED_CLIENT_ID=", "AUTH0_LIMITED_CLIENT_SECRET="} {
		if !strings.Contains(string(saved), variable) {
			t.Errorf("credentials file lacks %s", variable)
		}
	}
	if !strings.Contains(out, "set stages.dev.web.auth0ClientId to "+pageID+" in cdk.json") {
		t.Errorf("apply does not say which client ID the page now has:\n%s", out)
	}

	// The user sets the page's client ID in cdk.json and synthesizes.
	template := filepath.Join(cdkOut, "assembly-Dev", "DevApi.template.json")
	data, _ := os.ReadFile(template)
	os.WriteFile(template, []byte(strings.ReplaceAll(string(data), "EXAMPLEdevSpaClientIdReplaceMe00", pageID)), 0o644)
	tenant.Mu.Lock()
	clear(tenant.Requests)
	tenant.Mu.Unlock()
	code, out, errOut = auth0(t, cdkOut, state, tenant.Domain, "apply", "--stage", "dev")
	if code != 0 || !strings.HasSuffix(out, "in step: nothing to do\n") || strings.Contains(out, "done:") {
		t.Errorf("a second apply: exit %d\n%s\n%s", code, out, errOut)
	}
	tenant.Mu.Lock()
	for request := range tenant.Requests {
		if !strings.HasPrefix(request, "GET ") {
			t.Errorf("a second apply wrote: %s", request)
		}
	}
	if len(tenant.Requests) == 0 {
		t.Error("the second apply read nothing")
	}
	tenant.Mu.Unlock()
	if code, out, _ := auth0(t, cdkOut, state, tenant.Domain, "plan", "--stage", "dev"); code != 0 || !strings.Contains(out, "in step") {
		t.Errorf("plan after apply: exit %d\n%s", code, out)
	}
}

// A 429 is retried after the Retry-After Auth0 sends, a few times at most.
func TestAuth0HonoursRateLimits(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", auth0tenant.ManagementScopes...)
	cdkOut, state := goldenCloudAssembly(t), t.TempDir()
	tenant.RateLimit(1)
	askedWaits.Lock()
	askedWaits.list = nil
	askedWaits.Unlock()
	if code, out, errOut := auth0(t, cdkOut, state, tenant.Domain, "plan", "--stage", "dev"); code != 2 {
		t.Errorf("one 429, then answers: exit %d\n%s\n%s", code, out, errOut)
	}
	askedWaits.Lock()
	if len(askedWaits.list) != 1 || askedWaits.list[0] != time.Second {
		t.Errorf("before the retry of a 429 with Retry-After: 1, apictl would wait %v, want [1s]", askedWaits.list)
	}
	askedWaits.Unlock()
	tenant.RateLimit(3)
	code, _, errOut := auth0(t, cdkOut, state, tenant.Domain, "plan", "--stage", "dev")
	if code != 1 || !strings.Contains(errOut, "the tenant's rate limit held through 2 retries") || !strings.Contains(errOut, "Global limit has been reached") {
		t.Errorf("429 four times: exit %d, %s", code, errOut)
	}
}

func TestAuth0ErrorsAreClear(t *testing.T) {
	cdkOut, state := goldenCloudAssembly(t), t.TempDir()
	readOnly := auth0standin.Start(t, "mgmt", "mgmt-secret", "read:resource_servers", "read:clients", "read:client_grants")
	noClients := auth0standin.Start(t, "mgmt", "mgmt-secret", "read:resource_servers")
	otherSecret := auth0standin.Start(t, "mgmt", "other-secret", auth0tenant.ManagementScopes...)
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hanging.Close() })
	closedDomain := testsupport.FreeAddress(t)

	cases := []struct {
		name   string
		domain string
		args   []string
		wants  string
	}{
		{"wrong credentials", otherSecret.Domain, []string{"plan"}, "refused AUTH0_MGMT_CLIENT_ID/AUTH0_MGMT_CLIENT_SECRET (Auth0 said: access_denied Unauthorized)"},
		{"a scope missing to read", noClients.Domain, []string{"plan"}, "the Management API application (AUTH0_MGMT_CLIENT_ID) lacks the scope read:clients"},
		{"a scope missing to write", readOnly.Domain, []string{"apply"}, "lacks the scope create:resource_servers"},
		{"tenant unreachable", closedDomain, []string{"plan"}, "cannot reach the tenant's Management API at " + closedDomain},
		{"tenant too slow", strings.TrimPrefix(hanging.URL, "http://"), []string{"plan", "--timeout", "50ms"}, "did not answer in time (--timeout)"},
		{"its own issuer", readOnly.Domain, []string{"plan", "--stage", "ci"}, "stage ci is its own token issuer (selfHostedIssuer), not an Auth0 tenant"},
		{"a domain with a scheme", "https://acme.eu.auth0.com", []string{"plan"}, `--tenant-domain "https://acme.eu.auth0.com": expected a host name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := auth0(t, cdkOut, state, c.domain, append([]string{c.args[0], "--stage", "dev"}, c.args[1:]...)...)
			if code != 1 || !strings.Contains(errOut, c.wants) {
				t.Errorf("exit %d, want 1 and %q\nstdout: %s\nstderr: %s", code, c.wants, out, errOut)
			}
		})
	}

	t.Setenv(mgmtClientIDVariable, "")
	var out, errOut strings.Builder
	if code := run([]string{"auth0", "plan", "--cdk-out", cdkOut, "--state-dir", state, "--tenant-domain", readOnly.Domain}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "set AUTH0_MGMT_CLIENT_ID and AUTH0_MGMT_CLIENT_SECRET") {
		t.Errorf("no credentials: exit %d, %s", code, errOut.String())
	}
}

// The Management API is on the tenant's Auth0 domain, not on a custom
// domain the issuer may use.
func TestAuth0NeedsTheTenantDomainBehindACustomDomain(t *testing.T) {
	if domain, loopback, err := managementDomain("dev", "https://acme-dev.eu.auth0.com/", ""); domain != "acme-dev.eu.auth0.com" || loopback || err != nil {
		t.Errorf("an Auth0 issuer: %q %t %v", domain, loopback, err)
	}
	if _, _, err := managementDomain("prod", "https://login.acme.com/", ""); err == nil || !strings.Contains(err.Error(), "stage prod: its issuer https://login.acme.com/ is not an *.auth0.com tenant domain (an Auth0 custom domain?): give --tenant-domain") {
		t.Errorf("a custom domain: %v", err)
	}
	if domain, loopback, err := managementDomain("prod", "https://login.acme.com/", "acme.eu.auth0.com"); domain != "acme.eu.auth0.com" || loopback || err != nil {
		t.Errorf("--tenant-domain: %q %t %v", domain, loopback, err)
	}
}
