package auth0tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/auth0/go-auth0/management"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/auth0standin"
)

const webURL = "https://d111111abcdef8.cloudfront.net/"

// stage loads a template that synth wrote from the shipped route table, kept
// in this package's testdata as it was on 2026-12-03: the plans below are
// written for its scopes and permissions, so a route added to the table
// does not change what they expect.
func stage(t *testing.T, name string) *apitemplate.API {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	api, err := apitemplate.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func connect(t *testing.T, tenant *auth0standin.Tenant) *management.Management {
	t.Helper()
	m, err := management.New(tenant.Domain, management.WithInsecure(), management.WithClientCredentials(context.Background(), "mgmt", "mgmt-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func want(t *testing.T, api *apitemplate.API) Desired {
	t.Helper()
	desired, err := Want("dev", api, webURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return desired
}

func plan(t *testing.T, m *management.Management, desired Desired) []Change {
	t.Helper()
	changes, err := Plan(context.Background(), m, desired)
	if err != nil {
		t.Fatal(err)
	}
	return changes
}

func summaries(changes []Change) string {
	var lines []string
	for _, c := range changes {
		lines = append(lines, c.Summary)
		for _, d := range c.Details {
			lines = append(lines, "    "+d)
		}
	}
	return strings.Join(lines, "\n")
}

// setUp applies the stage to an empty tenant, then sets the page's new client
// ID in the template, as a user sets it in cdk.json and synthesizes, and
// returns what the stage then needs.
func setUp(t *testing.T, m *management.Management, api *apitemplate.API) Desired {
	t.Helper()
	created := apply(t, m, plan(t, m, want(t, api)), false)
	api.Outputs["WebClientId"] = created["auth0-http-api dev page"].ClientID
	return want(t, api)
}

func apply(t *testing.T, m *management.Management, changes []Change, prune bool) map[string]Credentials {
	t.Helper()
	created, err := Apply(context.Background(), m, changes, prune, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func TestPlanOnAnEmptyTenantCreatesEverything(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	changes := plan(t, connect(t, tenant), want(t, stage(t, "dev")))
	got := summaries(changes)
	for _, line := range []string{
		"+ API https://dev.api.example.com: create (RS256, 3 scopes, RBAC with permissions in the token, offline access)",
		"    + scope read:admin (Required by GET /admin)",
		"    + scope write:user (Required by POST /user)",
		`+ application "auth0-http-api dev page": create (single-page application; then set stages.dev.web.auth0ClientId to its client ID)`,
		`+ application "auth0-http-api dev smoke": create (machine to machine, for ` + "`apictl smoke`)",
		`+ grant "auth0-http-api dev smoke" → https://dev.api.example.com: read:admin read:user write:user`,
		`+ grant "auth0-http-api dev smoke limited" → https://dev.api.example.com: read:admin`,
	} {
		if !strings.Contains(got, line) {
			t.Errorf("plan lacks %q:\n%s", line, got)
		}
	}
	if !Drift(changes, false) {
		t.Error("an empty tenant is not in step")
	}
}

// Apply makes the tenant what the stage needs, and a plan after it finds
// nothing to do.
func TestApplyThenPlanFindsNoDrift(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	m := connect(t, tenant)
	api := stage(t, "dev")
	created := apply(t, m, plan(t, m, want(t, api)), false)
	if again := summaries(plan(t, m, want(t, api))); !strings.Contains(again, "! stage dev names web.auth0ClientId EXAMPLEdevSpaClientIdReplaceMe00, but its page application \"auth0-http-api dev page\" is "+created["auth0-http-api dev page"].ClientID) {
		t.Errorf("until cdk.json names the new page application, the plan says so:\n%s", again)
	}
	api.Outputs["WebClientId"] = created["auth0-http-api dev page"].ClientID
	desired := want(t, api)

	tenant.Mu.Lock()
	resourceServer := tenant.ResourceServers[0]
	page := tenant.Clients[slices.IndexFunc(tenant.Clients, func(c auth0standin.Object) bool { return c["app_type"] == "spa" })]
	state := fmt.Sprint(resourceServer, page)
	tenant.Mu.Unlock()
	for _, want := range []string{"identifier:https://dev.api.example.com", "signing_alg:RS256", "enforce_policies:true", "token_dialect:access_token_authz",
		"allow_offline_access:true", "map[description:Required by GET /admin value:read:admin]",
		"callbacks:[https://d111111abcdef8.cloudfront.net/ http://127.0.0.1:5173/ http://localhost:5173/]", "token_endpoint_auth_method:none",
		"grant_types:[authorization_code refresh_token]", "rotation_type:rotating", "web_origins:[https://d111111abcdef8.cloudfront.net http://127.0.0.1:5173 http://localhost:5173]"} {
		if !strings.Contains(state, want) {
			t.Errorf("tenant lacks %s:\n%s", want, tenant.Sprint())
		}
	}
	if page["client_secret"] != nil {
		t.Error("the page's application has a secret")
	}
	if c := created["auth0-http-api dev smoke"]; c.ClientID == "" || c.ClientSecret == "" || created["auth0-http-api dev page"].ClientID == "" {
		t.Errorf("created %v", created)
	}
	if again := plan(t, m, desired); len(again) != 0 {
		t.Errorf("a plan after apply:\n%s", summaries(again))
	}
}

func TestAPermissionRemovedByHandIsDrift(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	m := connect(t, tenant)
	desired := setUp(t, m, stage(t, "dev"))

	tenant.Mu.Lock()
	api := tenant.ResourceServers[0]
	api["scopes"] = slices.DeleteFunc(slices.Clone(api["scopes"].([]any)), func(s any) bool { return s.(map[string]any)["value"] == "read:admin" })
	tenant.Mu.Unlock()

	changes := plan(t, m, desired)
	if got := summaries(changes); got != "~ API https://dev.api.example.com: update\n    + scope read:admin (Required by GET /admin)" {
		t.Errorf("plan:\n%s", got)
	}
	apply(t, m, changes, false)
	if again := plan(t, m, desired); len(again) != 0 {
		t.Errorf("after apply:\n%s", summaries(again))
	}
}

// A route added to the route table reaches the template, and from it the
// plan: a new scope of the API and of the full smoke grant.
func TestARouteAddedIsAPlannedScope(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	m := connect(t, tenant)
	api := stage(t, "dev")
	setUp(t, m, api)

	api.Routes = append(api.Routes, apitemplate.Route{Key: "DELETE /user", Method: "DELETE", Path: "/user", AuthorizationType: apitemplate.AuthorizationJWT, Scopes: []string{"delete:user"}})
	got := summaries(plan(t, m, want(t, api)))
	for _, line := range []string{"    + scope delete:user (Required by DELETE /user)", `~ grant "auth0-http-api dev smoke" → https://dev.api.example.com: + delete:user`} {
		if !strings.Contains(got, line) {
			t.Errorf("plan lacks %q:\n%s", line, got)
		}
	}
}

// What no route needs any more is shown, but removed only with prune.
func TestPruneRemovesWhatNoRouteNeedsOnlyWhenAsked(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	m := connect(t, tenant)
	desired := setUp(t, m, stage(t, "dev"))
	tenant.Mu.Lock()
	api := tenant.ResourceServers[0]
	api["scopes"] = append(slices.Clone(api["scopes"].([]any)), map[string]any{"value": "old:report", "description": "gone"})
	for _, grant := range tenant.ClientGrants {
		grant["scope"] = append(slices.Clone(grant["scope"].([]any)), "old:report")
	}
	tenant.Mu.Unlock()

	changes := plan(t, m, desired)
	got := summaries(changes)
	if !strings.Contains(got, "- API https://dev.api.example.com: remove 1 scopes\n    - scope old:report (required by no route)") ||
		!strings.Contains(got, `- grant "auth0-http-api dev smoke" → https://dev.api.example.com: - old:report`) {
		t.Errorf("plan:\n%s", got)
	}
	if Drift(changes, false) || !Drift(changes, true) {
		t.Error("what only a prune removes is drift only with --prune")
	}
	apply(t, m, changes, false)
	if !strings.Contains(tenant.Sprint(), "old:report") {
		t.Fatal("apply without --prune removed a scope")
	}
	apply(t, m, changes, true)
	if strings.Contains(tenant.Sprint(), "old:report") {
		t.Errorf("apply --prune left old:report:\n%s", tenant.Sprint())
	}
	if again := plan(t, m, desired); len(again) != 0 {
		t.Errorf("after prune:\n%s", summaries(again))
	}
}

// The page's application is found by the client ID cdk.json names, among
// many pages of applications, and brought in step rather than created.
func TestThePagesApplicationIsFoundAcrossPagesAndUpdated(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	api := stage(t, "dev")
	tenant.Mu.Lock()
	for i := range 250 {
		tenant.Clients = append(tenant.Clients, auth0standin.Object{"client_id": fmt.Sprintf("other%03d", i), "name": fmt.Sprintf("other %d", i), "app_type": "regular_web"})
	}
	tenant.Clients = append(tenant.Clients, auth0standin.Object{"client_id": api.Outputs["WebClientId"], "name": "My page", "app_type": "spa",
		"token_endpoint_auth_method": "none", "grant_types": []any{"authorization_code"}, "callbacks": []any{"http://127.0.0.1:5173/"}})
	tenant.Mu.Unlock()

	got := summaries(plan(t, connect(t, tenant), want(t, api)))
	if strings.Contains(got, "+ application \"auth0-http-api dev page\"") || !strings.Contains(got, `~ application "My page" (`+api.Outputs["WebClientId"]+`): update`) ||
		!strings.Contains(got, "+ callbacks https://d111111abcdef8.cloudfront.net/ http://localhost:5173/") || !strings.Contains(got, "grant types [authorization_code] → [authorization_code refresh_token]") {
		t.Errorf("plan:\n%s", got)
	}
}

func TestScopesTheTenantCannotHoldAreRefused(t *testing.T) {
	api := stage(t, "dev")
	long := strings.Repeat("s", 281)
	api.Routes = append(api.Routes, apitemplate.Route{Key: "GET /long", Scopes: []string{long}})
	if _, err := Want("dev", api, "", nil); err == nil || !strings.Contains(err.Error(), "(required by GET /long): an Auth0 API's scope is 1 to 280 printable ASCII characters") {
		t.Errorf("a 281-character scope: %v", err)
	}
	api = stage(t, "dev")
	for i := range 1000 {
		api.Routes = append(api.Routes, apitemplate.Route{Key: fmt.Sprintf("GET /r%d", i), Scopes: []string{fmt.Sprintf("read:r%d", i)}})
	}
	if _, err := Want("dev", api, "", nil); err == nil || !strings.Contains(err.Error(), "the routes use 1003 scopes and permissions: an Auth0 API holds at most 1000") {
		t.Errorf("1003 scopes: %v", err)
	}
}

func TestAStageThatIsItsOwnIssuerIsRefused(t *testing.T) {
	if _, err := Want("ci", stage(t, "ci"), "", nil); err == nil || !strings.Contains(err.Error(), "stage ci is its own token issuer (selfHostedIssuer), not an Auth0 tenant") {
		t.Errorf("%v", err)
	}
}

func TestALimitedScopeNoRouteRequiresIsRefused(t *testing.T) {
	if _, err := Want("dev", stage(t, "dev"), "", []string{"read:nothing"}); err == nil || !strings.Contains(err.Error(), `limited scope "read:nothing" is required by no route: choose among read:admin read:user write:user`) {
		t.Errorf("%v", err)
	}
}

// A stage that requires DPoP makes the API require DPoP-bound tokens of
// every client, as Auth0's proof_of_possession says it; a plan after the
// apply is in step, and a tenant that let it go gets it back.
func TestADPoPStageRequiresProofOfPossession(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	m := connect(t, tenant)
	api := stage(t, "dev")
	for _, authorizer := range api.LambdaAuthorizers {
		api.Functions[authorizer.Function].Environment[apitemplate.DPoPVariable] = apitemplate.DPoPRequired
	}
	if got := summaries(plan(t, m, want(t, api))); !strings.Contains(got, "+ API https://dev.api.example.com: create (RS256, 3 scopes, RBAC with permissions in the token, offline access, DPoP required)") {
		t.Errorf("plan:\n%s", got)
	}
	apply(t, m, plan(t, m, want(t, api)), false)
	pop := func() any {
		tenant.Mu.Lock()
		defer tenant.Mu.Unlock()
		return tenant.ResourceServers[0]["proof_of_possession"]
	}
	if got, _ := json.Marshal(pop()); string(got) != `{"mechanism":"dpop","required":true,"required_for":"all_clients"}` {
		t.Errorf("proof_of_possession %s", got)
	}
	if got := summaries(plan(t, m, want(t, api))); strings.Contains(got, "~ API") {
		t.Errorf("after the apply, the API still differs:\n%s", got)
	}
	tenant.Mu.Lock()
	delete(tenant.ResourceServers[0], "proof_of_possession")
	tenant.Mu.Unlock()
	if got := summaries(plan(t, m, want(t, api))); !strings.Contains(got, `proof of possession "", required false for "" → DPoP, required for all clients (the stage requires DPoP)`) {
		t.Errorf("a tenant without it:\n%s", got)
	}
}

// The plan says when the metadata's resource is not the API's identifier:
// the API the plan keeps would not be the one clients ask tokens for.
func TestTheResourceIsTheAPIsIdentifier(t *testing.T) {
	api := stage(t, "dev")
	if desired := want(t, api); desired.Resource != "" || desired.ResourceNote() != "" {
		t.Errorf("a template without metadata: resource %q, note %q", desired.Resource, desired.ResourceNote())
	}
	api.Functions["ResourceMetadata"] = apitemplate.Function{Environment: map[string]string{apitemplate.ResourceMetadataVariable: `{"resource":"https://dev.api.example.com"}`}}
	if desired := want(t, api); desired.Resource != "https://dev.api.example.com" || desired.ResourceNote() != "" {
		t.Errorf("resource %q, note %q: the shipped dev names its audience", desired.Resource, desired.ResourceNote())
	}
	api.Audience = append([]string{"urn:example:other"}, api.Audience...)
	if note := want(t, api).ResourceNote(); !strings.Contains(note, "names the resource https://dev.api.example.com, but the API's identifier is urn:example:other") ||
		!strings.Contains(note, "put https://dev.api.example.com first in auth0.audience") {
		t.Errorf("note %q", note)
	}
}

// A route bound to the caller's organization makes the page's application
// let users sign in to one, and the full smoke application's grant get
// tokens for one; "require", set by hand, is kept. Which organizations are
// customers stays by hand, and the plan says so without calling it drift.
func TestOrganizationRoutesSetTheApplicationsOrganizationUsage(t *testing.T) {
	tenant := auth0standin.Start(t, "mgmt", "mgmt-secret", ManagementScopes...)
	m := connect(t, tenant)
	api := stage(t, "dev")
	if want(t, api).Organizations || want(t, api).ByHand() != "" {
		t.Fatal("a template without organization routes asks for organizations")
	}
	api.Routes[slices.IndexFunc(api.Routes, func(r apitemplate.Route) bool { return r.Key == "GET /admin" })].Organization = apitemplate.AnyOrganization
	created := apply(t, m, plan(t, m, want(t, api)), false)
	api.Outputs["WebClientId"] = created["auth0-http-api dev page"].ClientID
	desired := want(t, api)
	if !desired.Organizations || !strings.Contains(desired.ByHand(), "associate the grant of \"auth0-http-api dev smoke\" with two organizations") {
		t.Errorf("organizations %v, by hand %q", desired.Organizations, desired.ByHand())
	}
	usage := func() (page, full, limited any) {
		tenant.Mu.Lock()
		defer tenant.Mu.Unlock()
		page = tenant.Clients[slices.IndexFunc(tenant.Clients, func(c auth0standin.Object) bool { return c["app_type"] == "spa" })]["organization_usage"]
		grantOf := func(name string) any {
			id := created[name].ClientID
			return tenant.ClientGrants[slices.IndexFunc(tenant.ClientGrants, func(g auth0standin.Object) bool { return g["client_id"] == id })]["organization_usage"]
		}
		return page, grantOf("auth0-http-api dev smoke"), grantOf("auth0-http-api dev smoke limited")
	}
	if page, full, limited := usage(); page != "allow" || full != "allow" || limited != nil {
		t.Errorf("organization usage: page %v, smoke %v, limited %v; want allow, allow, unset", page, full, limited)
	}
	if again := plan(t, m, desired); len(again) != 0 {
		t.Errorf("a plan after apply:\n%s", summaries(again))
	}

	tenant.Mu.Lock()
	for _, c := range tenant.Clients {
		if c["app_type"] == "spa" {
			c["organization_usage"] = "require"
		}
	}
	for _, g := range tenant.ClientGrants {
		g["organization_usage"] = "deny"
	}
	tenant.Mu.Unlock()
	changes := plan(t, m, desired)
	if got := summaries(changes); strings.Contains(got, "application") || !strings.Contains(got, `~ grant "auth0-http-api dev smoke" → https://dev.api.example.com: organization usage "deny" → "allow"`) ||
		strings.Contains(got, "smoke limited") {
		t.Errorf("the page's require is kept, the smoke grant's deny is drift:\n%s", got)
	}
	apply(t, m, changes, false)
	if page, full, _ := usage(); page != "require" || full != "allow" {
		t.Errorf("after apply: page %v, smoke %v", page, full)
	}
}
