package openapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/localapi"
	"github.com/auth0-http-api/cdk/internal/openapi"
)

// TestContract runs the local API with the dev issuer on the dev stage's
// template and, for every operation of its document, sends a request with a
// token that holds what the document asks, one that lacks it, and none.
// Each answer must be the one the authorizers give, and must validate
// against the document: status, headers and body.
func TestContract(t *testing.T) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	// The dev snapshot is what the stage synthesizes to: TestSnapshots keeps it so.
	template, err := os.ReadFile(filepath.Join(absRoot, "testdata", "dev.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	api, err := apitemplate.Parse(template)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var issuer *devissuer.Issuer
	issuerServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuer.ServeHTTP(w, r) }))
	defer issuerServer.Close()
	issuer = devissuer.New(issuerServer.URL+"/", key)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	local, err := localapi.Start(ctx, localapi.Config{
		Root: absRoot, API: api, Issuer: issuer.URL, Addr: "127.0.0.1:0", MaxProcesses: 4, BuildDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()

	doc, err := openapi.New(api, openapi.LocalOptions("dev", local.URL, issuer.URL))
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, doc.JSON())
	mintFor := func(organization *devissuer.Organization, audience string, scopes, permissions []string) string {
		signed, err := issuer.AccessToken(devissuer.TokenRequest{Subject: "contract", Audience: audience, Scopes: scopes, Permissions: permissions, Organization: organization, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	mint := func(audience string, scopes, permissions []string) string {
		return mintFor(nil, audience, scopes, permissions)
	}
	own := &devissuer.Organization{ID: "org_contract00000001", Name: "contract"}
	other := &devissuer.Organization{ID: "org_contract00000002", Name: "other"}
	audience := api.Audience[0]
	kinds := map[string]int{}
	for path, item := range doc.Paths {
		for method, op := range item {
			target := path
			for _, p := range op.Parameters {
				target = strings.ReplaceAll(target, "{"+p.Name+"}", p.Example)
			}
			type call struct {
				name  string
				token string
				want  int
			}
			var calls []call
			switch {
			case op.Organization != nil:
				kinds["organization"]++
				target = strings.ReplaceAll(path, "{"+op.Organization.PathParameter+"}", own.ID)
				for _, p := range op.Parameters {
					target = strings.ReplaceAll(target, "{"+p.Name+"}", p.Example)
				}
				held := slices.Clone(op.Permissions)
				calls = append(calls,
					call{"a member of the path's organization", mintFor(own, audience, allScopes(doc), held), http.StatusOK},
					call{"a member of another organization", mintFor(other, audience, allScopes(doc), held), http.StatusForbidden},
					call{"a token of no organization", mint(audience, allScopes(doc), held), http.StatusForbidden},
					call{"no token", "", http.StatusUnauthorized})
			case len(op.Security) == 0:
				kinds["public"]++
				calls = append(calls, call{"no token", "", http.StatusOK})
			case len(op.Permissions) > 0:
				kinds["permissions"]++
				for _, permission := range op.Permissions {
					calls = append(calls, call{"permission " + permission, mint(audience, nil, []string{permission}), http.StatusOK})
				}
				calls = append(calls, call{"no permission", mint(audience, allScopes(doc), nil), http.StatusForbidden}, call{"no token", "", http.StatusUnauthorized})
			default:
				var scopes []string
				for _, requirement := range op.Security {
					for _, held := range requirement {
						scopes = append(scopes, held...)
						calls = append(calls, call{"scopes " + strings.Join(held, " "), mint(audience, held, nil), http.StatusOK})
					}
				}
				if len(scopes) > 0 {
					kinds["scopes"]++
					calls = append(calls, call{"none of the scopes", mint(audience, []string{"unrelated:scope"}, nil), http.StatusForbidden})
				} else {
					kinds["any token"]++
					calls = append(calls, call{"a token for another API", mint("https://other.example.com", nil, nil), http.StatusUnauthorized})
				}
				calls = append(calls, call{"no token", "", http.StatusUnauthorized})
			}
			if strings.Contains(path, "{") {
				kinds["path parameter"]++
			}
			for _, c := range calls {
				t.Run(strings.ToUpper(method)+" "+path+", "+c.name, func(t *testing.T) {
					req, _ := http.NewRequest(strings.ToUpper(method), local.URL+target, nil)
					if c.token != "" {
						req.Header.Set("Authorization", "Bearer "+c.token)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != c.want {
						t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
					}
					if problems := v.checkExchange(req, resp, body); len(problems) > 0 {
						for _, p := range problems {
							t.Error(p)
						}
						t.Errorf("the answer: %d %v %s", resp.StatusCode, resp.Header, body)
					}
				})
			}
		}
	}
	for _, kind := range []string{"public", "any token", "scopes", "permissions", "organization", "path parameter"} {
		if kinds[kind] == 0 {
			t.Errorf("the dev stage has no %s operation: the contract test covers every kind", kind)
		}
	}
}

// allScopes is every scope the document's operations name: a token with all
// of them still lacks any permission.
func allScopes(doc *openapi.Document) []string {
	var scopes []string
	for _, item := range doc.Paths {
		for _, op := range item {
			for _, requirement := range op.Security {
				for _, held := range requirement {
					scopes = append(scopes, held...)
				}
			}
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}
