package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

func openAPI(t *testing.T, cdkOut string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"openapi", "--cdk-out", cdkOut, "--state-dir", t.TempDir()}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// The command writes what is committed under api/, from the same template.
func TestOpenAPIWritesTheCommittedDocument(t *testing.T) {
	cdkOut := goldenCloudAssembly(t)
	for _, stage := range []string{"dev", "ci"} {
		want, err := os.ReadFile(filepath.Join("..", "..", "api", "openapi."+stage+".json"))
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut := openAPI(t, cdkOut, "--stage", stage)
		if code != 0 || out != string(want) {
			t.Errorf("stage %s: exit %d, %s; the output differs from api/openapi.%s.json: %v", stage, code, errOut, stage, out != string(want))
		}
	}
	file := filepath.Join(t.TempDir(), "dev.yaml")
	if code, _, errOut := openAPI(t, cdkOut, "--stage", "dev", "--format", "yaml", "--out", file); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if written, _ := os.ReadFile(file); !strings.HasPrefix(string(written), "openapi: 3.1.0\n") {
		t.Errorf("--format yaml --out wrote %.80q", written)
	}
}

func TestOpenAPIServers(t *testing.T) {
	cdkOut := goldenCloudAssembly(t)
	outputs := filepath.Join(t.TempDir(), "cdk-outputs.json")
	os.WriteFile(outputs, []byte(`{"Dev-Api":{"ApiUrl":"https://a1b2c3.execute-api.eu-west-1.amazonaws.com/"},"Ci-Api":{"ApiUrl":"https://ci.example.net/","Issuer":"https://ci.example.net/"}}`), 0o644)
	cases := map[string]struct {
		args []string
		want []string
	}{
		"deployed": {[]string{"--stage", "dev", "--outputs", outputs}, []string{`"url": "https://a1b2c3.execute-api.eu-west-1.amazonaws.com"`}},
		"deployed, its own issuer": {[]string{"--stage", "ci", "--outputs", outputs},
			[]string{`"url": "https://ci.example.net"`, `"openIdConnectUrl": "https://ci.example.net/.well-known/openid-configuration"`}},
		"local": {[]string{"--stage", "ci", "--local", "--port", "4000", "--issuer-port", "9999"},
			[]string{`"url": "http://127.0.0.1:4000"`, `"authorizationUrl": "http://127.0.0.1:9999/authorize"`, `"tokenUrl": "http://127.0.0.1:9999/oauth/token"`}},
	}
	for name, c := range cases {
		code, out, errOut := openAPI(t, cdkOut, c.args...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", name, code, errOut)
		}
		for _, want := range c.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the document lacks %s", name, want)
			}
		}
	}
}

func TestOpenAPIRefusesBadInput(t *testing.T) {
	cdkOut := goldenCloudAssembly(t)
	// As a synth of some stages only leaves it: prod is in cdk.json, not in the assembly.
	os.RemoveAll(filepath.Join(cdkOut, "assembly-"+apitemplate.StageID("prod")))
	onlyProd := filepath.Join(t.TempDir(), "cdk-outputs.json")
	os.WriteFile(onlyProd, []byte(`{"Prod-Api":{"ApiUrl":"https://api.example.com/"}}`), 0o644)
	cases := map[string]struct {
		args []string
		code int
		want string
	}{
		"unknown stage":             {[]string{"--stage", "qa"}, 1, `unknown stage "qa": cdk.json declares ci, dev, prod`},
		"outputs without stage":     {[]string{"--stage", "dev", "--outputs", onlyProd}, 1, "has no ApiUrl for stack Dev-Api (stage dev)"},
		"missing outputs file":      {[]string{"--stage", "dev", "--outputs", filepath.Join(t.TempDir(), "none.json")}, 1, "deploy with `npx cdk deploy 'Dev/*' --outputs-file"},
		"unknown format":            {[]string{"--stage", "dev", "--format", "xml"}, 2, `--format "xml": expected json or yaml`},
		"local and outputs":         {[]string{"--stage", "dev", "--local", "--outputs", onlyProd}, 2, "give --local or --outputs, not both"},
		"stage not in the assembly": {[]string{"--stage", "prod"}, 1, `stage "prod": expected one template`},
	}
	for name, c := range cases {
		code, out, errOut := openAPI(t, cdkOut, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q), stdout %d bytes", name, code, c.code, errOut, c.want, len(out))
		}
		if strings.Contains(errOut, "--url") {
			t.Errorf("%s: stderr %q offers --url, which apictl openapi does not have", name, errOut)
		}
	}
}

// The page's generated files are made at each request, so that the page
// follows the route table while --watch reloads the local API.
func TestPageServesItsGeneratedFilesAsTheyAreNow(t *testing.T) {
	version := 0
	handler := pageHandler(t.TempDir(), map[string]func() ([]byte, error){
		"/openapi.json": func() ([]byte, error) { version++; return []byte(fmt.Sprintf(`{"version":%d}`, version)), nil },
	}, "default-src 'self'")
	for want := 1; want <= 2; want++ {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
		if got := rec.Body.String(); got != fmt.Sprintf(`{"version":%d}`, want) || rec.Header().Get("cache-control") != "no-store" {
			t.Errorf("request %d: %s (cache-control %q)", want, got, rec.Header().Get("cache-control"))
		}
	}
}
