package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"

	"github.com/auth0-http-api/cdk/internal/auth0tenant"
)

// The Management API client's credentials: a machine-to-machine application
// authorized for the tenant's Management API.
const (
	mgmtClientIDVariable     = "AUTH0_MGMT_CLIENT_ID"
	mgmtClientSecretVariable = "AUTH0_MGMT_CLIENT_SECRET"
	// maxRetries bounds the retries of a 429, each after the wait Auth0
	// asks for (at most 10 s), and of a failed connection.
	maxRetries = 2
)

// retryWait is how long apictl waits before a retry; tests shorten it.
var retryWait = auth0tenant.RetryWait

// runAuth0 is `apictl auth0 plan|apply`: keep a stage's tenant in step with
// its route table, read from the synthesized template.
func runAuth0(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "plan" && args[0] != "apply") {
		fmt.Fprintln(stderr, "usage: apictl auth0 plan|apply --stage <stage> [flags]\n  plan: show how the tenant differs from what the stage needs (exit 0 in step, 2 with drift)\n  apply: make the changes")
		return 2
	}
	action := args[0]
	flags, p := newFlags("auth0 "+action, stderr)
	stage := flags.String("stage", "dev", "the stage, as named in cdk.json")
	outputs := flags.String("outputs", "cdk-outputs.json", "the outputs file `cdk deploy --outputs-file` wrote: the deployed page's address (optional)")
	limited := flags.String("limited-scopes", "", "space-separated scopes of the limited smoke application (default: the routes' first scope)")
	tenantDomain := flags.String("tenant-domain", "", "the tenant's domain, where its Management API is (default: the issuer's host, when it is *.auth0.com)")
	prune := flags.Bool("prune", false, "also remove the API's scopes and the smoke applications' grant scopes that no route needs any more (the page's URLs are only ever added)")
	timeout := flags.Duration("timeout", time.Minute, "the time limit of the whole command")
	if flags.Parse(args[1:]) != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "apictl auth0 %s: %v\n", action, err)
		return 1
	}
	api, err := p.load(*stage, stderr)
	if err != nil {
		return fail(err)
	}
	webURL := ""
	if outs, err := stackOutputs(*outputs, *stage, api.StackName); err == nil {
		webURL = outs["WebUrl"]
	}
	var limitedScopes []string
	if *limited != "" {
		limitedScopes = strings.Fields(*limited)
	}
	want, err := auth0tenant.Want(*stage, api, webURL, limitedScopes)
	if err != nil {
		return fail(err)
	}
	domain, loopback, err := managementDomain(*stage, api.Issuer, *tenantDomain)
	if err != nil {
		return fail(err)
	}
	id, secret := os.Getenv(mgmtClientIDVariable), os.Getenv(mgmtClientSecretVariable)
	if id == "" || secret == "" {
		return fail(fmt.Errorf("set %s and %s: a machine-to-machine application authorized for the Management API of %s (docs/auth0.md lists the scopes it needs)", mgmtClientIDVariable, mgmtClientSecretVariable, domain))
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	// The token requests and the Management API calls retry alike.
	retrying := &http.Client{Transport: &auth0tenant.Retrying{MaxRetries: maxRetries, Wait: retryWait}}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, retrying)
	options := []management.Option{management.WithClient(retrying), management.WithNoRetries()}
	if loopback {
		options = append(options, management.WithInsecure()) // before the credentials, which it would replace
	}
	options = append(options, management.WithClientCredentials(ctx, id, secret), management.WithUserAgent("apictl"))
	m, err := management.New(domain, options...)
	if err != nil {
		return fail(err)
	}
	changes, err := auth0tenant.Plan(ctx, m, want)
	if err != nil {
		return fail(explainManagementError(err, domain))
	}
	fmt.Fprintf(stdout, "stage %s, tenant %s, API %s\n", *stage, domain, want.API.Identifier)
	if webURL == "" && want.Page != nil {
		fmt.Fprintf(stdout, "(the deployed page's address is not known: %s has no WebUrl for the stage; run again after `cdk deploy --outputs-file`)\n", *outputs)
	}
	auth0tenant.Print(stdout, changes, *prune)
	if note := want.ResourceNote(); note != "" {
		fmt.Fprintln(stdout, "note:", note)
	}
	if note := want.ByHand(); note != "" {
		fmt.Fprintln(stdout, "by hand, not checked:", note)
	}
	drift := auth0tenant.Drift(changes, *prune)
	if action == "plan" {
		if !drift {
			fmt.Fprintln(stdout, "in step: nothing to do")
			return 0
		}
		fmt.Fprintf(stdout, "drift: run `apictl auth0 apply --stage %s%s`\n", *stage, map[bool]string{true: " --prune"}[*prune])
		return 2
	}
	if !drift {
		fmt.Fprintln(stdout, "in step: nothing to do")
		return 0
	}
	created, err := auth0tenant.Apply(ctx, m, changes, *prune, stdout)
	if path, werr := writeSmokeCredentials(p.stateDir, want, created); werr != nil {
		fmt.Fprintf(stderr, "apictl auth0 apply: the created applications' secrets could not be saved: %v\n", werr)
	} else if path != "" {
		fmt.Fprintf(stdout, "wrote the new smoke applications' credentials to %s (mode 0600); `set -a; . %s; set +a` before `apictl smoke`\n", path, path)
	}
	if err != nil {
		return fail(explainManagementError(err, domain))
	}
	if page, ok := created[wantPageName(want)]; ok {
		fmt.Fprintf(stdout, "set stages.%s.web.auth0ClientId to %s in cdk.json: it is the page's new application\n", *stage, page.ClientID)
	}
	for _, change := range changes {
		if change.Manual() {
			fmt.Fprintln(stdout, "to do by hand: "+strings.TrimPrefix(change.Summary, "! "))
		}
	}
	return 0
}

func wantPageName(want auth0tenant.Desired) string {
	if want.Page == nil {
		return ""
	}
	return want.Page.Name
}

// managementDomain is where the tenant's Management API is: the given
// domain, or the issuer's host when it is an Auth0 domain. A custom domain
// serves sign-in but not the Management API. Plain HTTP is for a stand-in on
// loopback only.
func managementDomain(stage, issuer, given string) (domain string, loopback bool, err error) {
	if given == "" {
		u, err := url.Parse(issuer)
		if err != nil || !strings.HasSuffix(u.Hostname(), ".auth0.com") {
			return "", false, fmt.Errorf("stage %s: its issuer %s is not an *.auth0.com tenant domain (an Auth0 custom domain?): give --tenant-domain <tenant>.<region>.auth0.com, where the tenant's Management API is", stage, issuer)
		}
		return u.Host, false, nil
	}
	host, _, splitErr := net.SplitHostPort(given)
	if splitErr != nil {
		host = given
	}
	if strings.Contains(given, "/") || (strings.Contains(given, ":") && splitErr != nil) {
		return "", false, fmt.Errorf("--tenant-domain %q: expected a host name such as acme.eu.auth0.com, without scheme or path", given)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return given, true, nil
	}
	return given, false, nil
}

// explainManagementError says what a Management API failure means and how
// to fix it, with Auth0's own words.
func explainManagementError(err error, domain string) error {
	var apiErr management.Error
	var tokenErr *oauth2.RetrieveError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Status() == 403:
		if _, scope, ok := strings.Cut(apiErr.Error(), "expected any of: "); ok {
			return fmt.Errorf("the Management API application (%s) lacks the scope %s: authorize it in the Auth0 dashboard under Applications > APIs > Auth0 Management API > Machine To Machine Applications (Auth0 said: %v)", mgmtClientIDVariable, scope, err)
		}
		return fmt.Errorf("the Management API refused (Auth0 said: %v)", err)
	case errors.As(err, &apiErr) && apiErr.Status() == 429:
		return fmt.Errorf("the tenant's rate limit held through %d retries that waited as Auth0 asked: try again in a minute (Auth0 said: %v)", maxRetries, err)
	case errors.As(err, &tokenErr):
		return fmt.Errorf("%s refused %s/%s (Auth0 said: %s %s)", domain, mgmtClientIDVariable, mgmtClientSecretVariable, tokenErr.ErrorCode, tokenErr.ErrorDescription)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return fmt.Errorf("the tenant's Management API at %s did not answer in time (--timeout): %v", domain, err)
	case errors.As(err, new(*net.OpError)):
		return fmt.Errorf("cannot reach the tenant's Management API at %s: %v", domain, err)
	}
	return err
}

// writeSmokeCredentials saves the credentials of the smoke applications just
// created, as the environment `apictl smoke` reads, to a file only its owner
// may read. It keeps what the file already holds. It returns the file's path,
// or "" when nothing was created.
func writeSmokeCredentials(stateDir string, want auth0tenant.Desired, created map[string]auth0tenant.Credentials) (string, error) {
	variables := map[string]string{}
	for i, prefix := range []string{"AUTH0_", "AUTH0_LIMITED_"} {
		if c, ok := created[want.Smoke[i].Name]; ok {
			variables[prefix+"CLIENT_ID"], variables[prefix+"CLIENT_SECRET"] = c.ClientID, c.ClientSecret
		}
	}
	if len(variables) == 0 {
		return "", nil
	}
	path := filepath.Join(stateDir, "auth0", want.Stage+".env")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if existing, err := os.Open(path); err == nil {
		lines := bufio.NewScanner(existing)
		for lines.Scan() {
			if name, value, ok := strings.Cut(lines.Text(), "="); ok {
				if _, replaced := variables[name]; !replaced {
					variables[name] = value
				}
			}
		}
		existing.Close()
	}
	var content strings.Builder
	for _, name := range slices.Sorted(maps.Keys(variables)) {
		fmt.Fprintf(&content, "%s=%s\n", name, variables[name])
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	defer file.Close()
	if err := file.Chmod(0o600); err != nil { // a file that existed keeps its mode otherwise
		return "", err
	}
	_, err = file.WriteString(content.String())
	return path, err
}
