package main

import (
	"context"
	"encoding/json"
	"io"
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
)

// browserRun is what web/e2e/signin.mjs reports.
type browserRun struct {
	Users map[string]struct {
		Statuses     map[string]int
		Explanations map[string]string
		TokenShown   bool
	}
	SignInToFirstAnswerMs int
}

// TestSignInInChromium runs the local loop (the page, the dev issuer, the
// local API) and signs in in Debian's Chromium through Auth0's SPA library,
// as alice and then bob, calling every route: each status must be what the
// access matrix says for the user's grants.
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

	screenshot := os.Getenv("SCREENSHOT") // make screenshot sets it
	browser := exec.Command(filepath.Join(bin, "node"), filepath.Join("web", "e2e", "signin.mjs"))
	browser.Dir = root
	browser.Env = append(os.Environ(), "PAGE_URL="+stack.PageURL, "CHROMIUM="+chromium, "SCREENSHOT="+screenshot)
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

	api, err := apitemplate.Load(cdkOut, "dev")
	if err != nil {
		t.Fatal(err)
	}
	directory, err := devissuer.LoadDirectory(filepath.Join(root, "dev-users.json"))
	if err != nil {
		t.Fatal(err)
	}
	requested := strings.Fields(apitemplate.NewPageConfig("dev", api.Routes, "", "", "", "").Scope)
	for _, user := range directory.Users[:2] { // alice, then bob
		name := strings.ToLower(user.Name)
		got, ran := run.Users[name]
		if !ran {
			t.Fatalf("no run for %s: %s", name, out)
		}
		// What the user's token holds: the requested scopes the user may have,
		// and the user's permissions.
		token := &jwtauth.Token{Permissions: user.Permissions}
		for _, scope := range requested {
			if slices.Contains(user.Scopes, scope) {
				token.Scopes = append(token.Scopes, scope)
			}
		}
		for _, route := range api.Routes {
			want := 403
			if route.Public() || route.Allows(token, route.SamplePath()) {
				want = 200
			}
			if got.Statuses[route.Key] != want {
				t.Errorf("%s, %s: %d in the browser, the access matrix says %d (%s)", name, route.Key, got.Statuses[route.Key], want, got.Explanations[route.Key])
			}
		}
		if got.TokenShown {
			t.Errorf("the page showed %s's raw token", name)
		}
	}
	if why := run.Users["bob"].Explanations["POST /user"]; !strings.Contains(why, "403: your token has no scope write:user; ask an admin to grant it") {
		t.Errorf("bob's POST /user explanation: %q", why)
	}
}

func orDefault(value, fallback string) string {
	if value != "" {
		return value
	}
	return fallback
}
