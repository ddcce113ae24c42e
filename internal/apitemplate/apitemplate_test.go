package apitemplate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/jwtauth"
)

// devTemplate is the dev stage's golden template: what a synth of the shipped
// route table writes.
func devTemplate(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dev.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseReadsAuthorizerRoutesAndFunctions(t *testing.T) {
	api, err := Parse(devTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	if api.Issuer == "" || len(api.Audience) == 0 || !slices.Equal(api.IdentitySource, []string{"$request.header.Authorization"}) {
		t.Errorf("authorizer: issuer %q audience %v identity source %v", api.Issuer, api.Audience, api.IdentitySource)
	}
	var keys []string
	for _, r := range api.Routes {
		keys = append(keys, r.Key)
		if api.Functions[r.Function].GoPackage == "" {
			t.Errorf("route %s: function %q has no Go package", r.Key, r.Function)
		}
		if r.Summary == "" {
			t.Errorf("route %s: no summary read from its %s metadata", r.Key, SummaryMetadataKey)
		}
	}
	// The routes this test reads; a route added to the table adds to them.
	for _, want := range []string{"GET /admin", "GET /orgs/{orgId}/projects", "GET /private", "GET /public", "GET /user", "GET /user/{id}", "POST /orgs/{orgId}/projects", "POST /user"} {
		if !slices.Contains(keys, want) {
			t.Errorf("routes %v lack %s", keys, want)
		}
	}
	if !slices.IsSorted(keys) {
		t.Errorf("routes %v are not sorted by key", keys)
	}
	admin := api.Routes[slices.Index(keys, "GET /admin")]
	authorizer, ok := api.LambdaAuthorizers[admin.Authorizer]
	if admin.AuthorizationType != AuthorizationCustom || !slices.Equal(admin.Permissions, []string{"read:admin"}) || !ok {
		t.Fatalf("GET /admin: %+v", admin)
	}
	if authorizer.ResultTTLSeconds != 300 || !slices.Equal(authorizer.IdentitySource, []string{"$request.header.Authorization", "$context.routeKey", "$context.path"}) ||
		api.Functions[authorizer.Function].GoPackage != "./functions/authorizer" {
		t.Errorf("the permissions authorizer: %+v, function %+v", authorizer, api.Functions[authorizer.Function])
	}
	projects := api.Routes[slices.Index(keys, "POST /orgs/{orgId}/projects")]
	if projects.AuthorizationType != AuthorizationCustom || projects.Organization != "{orgId}" || !slices.Equal(projects.Permissions, []string{"write:projects"}) {
		t.Errorf("POST /orgs/{orgId}/projects: %+v, want CUSTOM, bound to {orgId}, with write:projects", projects)
	}
	if api.Cors == nil || len(api.Cors.AllowOrigins) == 0 {
		t.Errorf("CORS: %+v", api.Cors)
	}
	// The page's address is known only once deployed; the client ID is written out.
	if webURL, listed := api.Outputs["WebUrl"]; !listed || webURL != "" || api.Outputs["WebClientId"] == "" || api.Outputs["Issuer"] != api.Issuer {
		t.Errorf("outputs %v", api.Outputs)
	}
}

func TestAccessMatrixMatchesTheGoldenFile(t *testing.T) {
	api, err := Parse(devTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dev.access-matrix.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := api.AccessMatrix(); got != string(want) {
		t.Errorf("access matrix:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseRefusesTemplatesItCannotServe(t *testing.T) {
	for name, template := range map[string]string{
		"not JSON":          `{`,
		"no authorizer":     `{"Resources":{}}`,
		"Lambda authorizer": `{"Resources":{"A":{"Type":"AWS::ApiGatewayV2::Authorizer","Properties":{"AuthorizerType":"REQUEST"}}}}`,
		"bad route key":     `{"Resources":{"A":{"Type":"AWS::ApiGatewayV2::Authorizer","Properties":{"AuthorizerType":"JWT"}},"R":{"Type":"AWS::ApiGatewayV2::Route","Properties":{"RouteKey":"GET"}}}}`,
	} {
		if _, err := Parse([]byte(template)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRouteMeaning(t *testing.T) {
	public := Route{AuthorizationType: AuthorizationNone, Path: "/public"}
	anyToken := Route{AuthorizationType: AuthorizationJWT, Path: "/private"}
	scoped := Route{AuthorizationType: AuthorizationJWT, Path: "/user", Scopes: []string{"read:user", "admin"}}
	if !public.Public() || anyToken.Public() || !IsPublic("") {
		t.Error("Public: NONE and an absent type are public, JWT is not")
	}
	cases := []struct {
		route  Route
		scopes []string
		want   bool
	}{
		{anyToken, nil, true},
		{scoped, nil, false},
		{scoped, []string{"openid", "admin"}, true},
		{scoped, []string{"read:use", "READ:USER", "read:user2"}, false},
	}
	for _, c := range cases {
		if got := c.route.Allows(&jwtauth.Token{Scopes: c.scopes}, c.route.Path); got != c.want {
			t.Errorf("%s with %q: %v, want %v", c.route.Path, c.scopes, got, c.want)
		}
	}
	permission := Route{AuthorizationType: AuthorizationCustom, Scopes: nil, Permissions: []string{"read:admin"}}
	if permission.Allows(&jwtauth.Token{Scopes: []string{"read:admin"}}, "/admin") || !permission.Allows(&jwtauth.Token{Permissions: []string{"x", "read:admin"}}, "/admin") {
		t.Error("a permission route is decided by the token's permissions, never its scopes")
	}
	if scoped.Allows(&jwtauth.Token{Permissions: []string{"admin"}}, "/user") {
		t.Error("a scoped route is decided by the token's scopes, never its permissions")
	}
	for path, want := range map[string]string{
		"/user":                "/user",
		"/users/{id}":          "/users/sample",
		"/users/{id}/posts":    "/users/sample/posts",
		"/files/{proxy+}":      "/files/sample/path",
		"/{proxy+}":            "/sample/path",
		"/a/{b}/c/{d}/{tail+}": "/a/sample/c/sample/sample/path",
	} {
		if got := (Route{Path: path}).SamplePath(); got != want {
			t.Errorf("SamplePath(%s) = %s, want %s", path, got, want)
		}
	}
}

// cloudAssembly lays out the dev golden template as cdk.out does.
func cloudAssembly(t *testing.T) string {
	t.Helper()
	cdkOut := filepath.Join(t.TempDir(), "cdk.out")
	dir := filepath.Join(cdkOut, "assembly-Dev")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "DevApi.template.json"), devTemplate(t), 0o644)
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"artifacts":{"DevApi":{"type":"aws:cloudformation:stack","properties":{"stackName":"Dev-Api"}}}}`), 0o644)
	os.WriteFile(filepath.Join(cdkOut, "manifest.json"), []byte(`{}`), 0o644)
	return cdkOut
}

func TestLoadFindsTheStageAndItsStackName(t *testing.T) {
	cdkOut := cloudAssembly(t)
	api, err := Load(cdkOut, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if api.StackName != "Dev-Api" {
		t.Errorf("stack name %q", api.StackName)
	}
	if _, err := Load(cdkOut, "qa"); err == nil {
		t.Error("a stage without a template loaded")
	}
}

func TestStageIDAndStages(t *testing.T) {
	if StageID("dev") != "Dev" || StageID("prod2") != "Prod2" {
		t.Error("StageID capitalizes the first letter")
	}
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cdk.json"), []byte(`{"context":{"stages":{"prod":{},"dev":{}}}}`), 0o644)
	if stages, err := Stages(root); err != nil || !slices.Equal(stages, []string{"dev", "prod"}) {
		t.Errorf("Stages: %v %v", stages, err)
	}
	os.WriteFile(filepath.Join(root, "cdk.json"), []byte(`{"context":{}}`), 0o644)
	if _, err := Stages(root); err == nil {
		t.Error("a cdk.json without stages was accepted")
	}
}

func TestStaleWhenASourceIsNewerThanTheAssembly(t *testing.T) {
	root := t.TempDir()
	cdkOut := filepath.Join(root, "cdk.out")
	if !Stale(root, cdkOut) {
		t.Error("a missing assembly is not stale")
	}
	os.MkdirAll(cdkOut, 0o755)
	os.WriteFile(filepath.Join(cdkOut, "manifest.json"), []byte(`{}`), 0o644)
	source := filepath.Join(root, "main.go")
	os.WriteFile(source, []byte("package main\n"), 0o644)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(source, past, past)
	if Stale(root, cdkOut) {
		t.Error("an assembly newer than every source is stale")
	}
	os.Chtimes(source, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if !Stale(root, cdkOut) {
		t.Error("an edited source did not make the assembly stale")
	}
}

// BenchmarkAllowsThousandsOfScopes: the scope rule over a token with 1,500
// scopes, the worst case of the security checklist, stays cheap.
func BenchmarkAllowsThousandsOfScopes(b *testing.B) {
	route := Route{AuthorizationType: AuthorizationJWT, Scopes: []string{"read:user"}}
	token := &jwtauth.Token{Scopes: append(strings.Fields(strings.Repeat("x:y ", 1500)), "read:user")}
	b.ReportAllocs()
	for b.Loop() {
		if !route.Allows(token, "/user") {
			b.Fatal("refused")
		}
	}
}
