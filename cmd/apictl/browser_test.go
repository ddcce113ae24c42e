package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// browserRun is what web/e2e/signin.mjs reports: each run of calls, by a
// user signed in to an organization or to none, with the organization its
// paths named.
type browserRun struct {
	Runs []struct {
		Name, User, Organization, PathOrganization string
		Statuses                                   map[string]int
		Explanations                               map[string]string
		Paths                                      map[string]string
	}
	TokenShown            bool
	SignInToFirstAnswerMs int
	// Binding is what the DPoP stage's page says the token is bound to.
	Binding string
}

// TestSignInInChromium runs the local loop (the page, the dev issuer, the
// local API) and signs in in Debian's Chromium through Auth0's SPA library,
// as alice and then bob, calling every route: each status must be what the
// access matrix says for the user's grants. Then alice signs in on prod's,
// which requires DPoP: the library's key, bound tokens and proofs.
func TestSignInInChromium(t *testing.T) {
	t.Parallel() // the browser and Vite run as processes of their own
	chromium := orDefault(os.Getenv("CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is not installed at %s, and this test signs in in a real browser: install Debian's package with `sudo apt-get update && sudo apt-get install -y chromium` (.ci/run does), or set CHROMIUM to a Chromium binary", chromium)
	}
	root, err := gobuild.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core is not installed: run `npm ci` at the module root")
	}
	webDir := t.TempDir()
	build := exec.Command(filepath.Join(bin, "vite"), "build", "web", "--outDir", webDir, "--emptyOutDir", "--logLevel", "warn")
	build.Dir, build.Env = root, append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, out)
	}

	cdkOut := goldenCloudAssembly(t)
	p := &project{cdkOut: cdkOut, stateDir: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stack, err := startDev(ctx, p, devOptions{stage: "dev", webDir: webDir, log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	dpopStack, err := startDev(ctx, p, devOptions{stage: "prod", webDir: webDir, log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer dpopStack.Close()

	// The metadata names the dev issuer, and the page's OpenAPI document.
	var metadata wire.ProtectedResourceMetadata
	if resp, err := http.Get(stack.APIURL + strings.TrimPrefix(wire.ProtectedResourceMetadataPath, "/")); err != nil {
		t.Fatal(err)
	} else if err := json.NewDecoder(resp.Body).Decode(&metadata); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the metadata: %d, %v", resp.StatusCode, err)
	}
	if !slices.Equal(metadata.AuthorizationServers, []string{stack.IssuerURL}) || metadata.ResourceDocumentation != stack.PageURL+"openapi.json" {
		t.Errorf("the metadata names %q and documentation %q, want the dev issuer %s and %sopenapi.json", metadata.AuthorizationServers, metadata.ResourceDocumentation, stack.IssuerURL, stack.PageURL)
	}

	screenshot := os.Getenv("SCREENSHOT") // make screenshot sets it
	browser := exec.Command(filepath.Join(bin, "node"), filepath.Join("web", "e2e", "signin.mjs"))
	browser.Dir = root
	browser.Env = append(os.Environ(), "PAGE_URL="+stack.PageURL, "DPOP_PAGE_URL="+dpopStack.PageURL, "CHROMIUM="+chromium, "SCREENSHOT="+screenshot)
	browser.Stderr = os.Stderr
	out, err := browser.Output()
	if err != nil {
		t.Fatalf("the browser run failed: %v\n%s", err, out)
	}
	var run browserRun
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("sign-in to the first API answer: %d ms", run.SignInToFirstAnswerMs)

	devAPI, err := apitemplate.Load(cdkOut, "dev")
	if err != nil {
		t.Fatal(err)
	}
	prodAPI, err := apitemplate.Load(cdkOut, "prod")
	if err != nil || !prodAPI.RequiresDPoP() {
		t.Fatalf("prod: %v, or it does not require DPoP", err)
	}
	directory, err := devissuer.LoadDirectory(filepath.Join(root, "dev-users.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Runs) != 5 {
		t.Fatalf("want 5 runs of calls, got %d: %s", len(run.Runs), out)
	}
	for _, r := range run.Runs {
		api, stage := devAPI, "dev"
		if r.Name == "alice, DPoP" {
			api, stage = prodAPI, "prod"
		}
		requested := strings.Fields(apitemplate.NewPageConfig(stage, api, "", "", "").Scope)
		i := slices.IndexFunc(directory.Users, func(u devissuer.User) bool { return u.Name == r.User })
		if i < 0 {
			t.Fatalf("%s: no user %s in dev-users.json", r.Name, r.User)
		}
		user := directory.Users[i]
		// What the user's token holds: the requested scopes the user may have,
		// and the user's permissions, or, signed in to an organization, its
		// org_id and the permissions of the user's roles there.
		token := &jwtauth.Token{Permissions: user.Permissions}
		if r.Organization != "" {
			o := slices.IndexFunc(directory.Organizations, func(o devissuer.Organization) bool { return o.Name == r.Organization })
			m := slices.IndexFunc(directory.Organizations[o].Members, func(m devissuer.Member) bool { return m.Sub == user.Sub })
			token.Organization, token.Permissions = directory.Organizations[o].ID, directory.Organizations[o].Members[m].Permissions
		}
		for _, scope := range requested {
			if slices.Contains(user.Scopes, scope) {
				token.Scopes = append(token.Scopes, scope)
			}
		}
		for _, route := range api.Routes {
			if _, called := r.Statuses[route.Key]; !called && r.Name == "alice in acme, on globex's paths" && route.Organization == "" {
				continue // that run calls only the organization's routes
			}
			path := route.SamplePath()
			if route.Organization != "" && r.PathOrganization != "" {
				path = route.PathFor(r.PathOrganization)
			}
			if r.Paths[route.Key] != path {
				t.Errorf("%s, %s: the page called %s, want %s", r.Name, route.Key, r.Paths[route.Key], path)
			}
			want := 403
			if route.Public() || route.Allows(token, path) {
				want = 200
			}
			if r.Statuses[route.Key] != want {
				t.Errorf("%s, %s %s: %d in the browser, the access matrix says %d (%s)", r.Name, route.Method, path, r.Statuses[route.Key], want, r.Explanations[route.Key])
			}
		}
	}
	if run.TokenShown {
		t.Error("the page showed a raw token")
	}
	if !strings.HasPrefix(run.Binding, "this browser's DPoP key (cnf.jkt ") {
		t.Errorf("on prod, the token is bound to %q, want this browser's DPoP key", run.Binding)
	}
	if dpop := run.Runs[4]; dpop.Statuses["GET /user"] != 200 || dpop.Statuses["GET /admin"] != 200 {
		t.Errorf("alice on prod, with DPoP: GET /user %d, GET /admin %d, want 200 and 200", dpop.Statuses["GET /user"], dpop.Statuses["GET /admin"])
	}
	alice, aliceInAcme, onGlobex, bob := run.Runs[0], run.Runs[1], run.Runs[2], run.Runs[3]
	if bob.Statuses["POST /orgs/{orgId}/projects"] != 200 || aliceInAcme.Statuses["GET /admin"] != 403 {
		t.Errorf("bob in globex creates a project there (%d, want 200); alice in acme holds only acme's permissions, so GET /admin is %d, want 403",
			bob.Statuses["POST /orgs/{orgId}/projects"], aliceInAcme.Statuses["GET /admin"])
	}
	projects := "GET /orgs/{orgId}/projects"
	if aliceInAcme.Statuses[projects] != 200 || onGlobex.Statuses[projects] != 403 {
		t.Errorf("alice in acme: %d on acme's projects, %d on globex's; want 200 and 403", aliceInAcme.Statuses[projects], onGlobex.Statuses[projects])
	}
	if why := onGlobex.Explanations[projects]; !strings.Contains(why, "a member of one organization never reaches another's data") {
		t.Errorf("alice on globex's path, explanation: %q", why)
	}
	if why := alice.Explanations[projects]; !strings.Contains(why, "your token is for none. Sign in to one of your organizations") {
		t.Errorf("alice in no organization, explanation: %q", why)
	}
	if why := bob.Explanations["POST /user"]; !strings.Contains(why, "403: your token has no scope write:user; ask an admin to grant it") {
		t.Errorf("bob's POST /user explanation: %q", why)
	}
}

func orDefault(value, fallback string) string {
	if value != "" {
		return value
	}
	return fallback
}
