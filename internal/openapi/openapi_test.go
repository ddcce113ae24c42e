package openapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/openapi"
)

const root = "../.."

// sample is an API with a route of every kind: public, any valid token,
// scopes, permissions, a path parameter, a greedy path and ANY.
func sample() *apitemplate.API {
	return &apitemplate.API{
		Issuer: "https://acme.eu.auth0.com/", Audience: []string{"https://api.acme.test"},
		Functions: map[string]apitemplate.Function{"G": {GoPackage: "./functions/greeting"}, "E": {GoPackage: "./functions/claimsecho"}},
		Routes: []apitemplate.Route{
			{Key: "ANY /files/{proxy+}", Method: "ANY", Path: "/files/{proxy+}", Summary: "Files", AuthorizationType: "JWT", Scopes: []string{"read:files"}, Function: "E"},
			{Key: "GET /admin", Method: "GET", Path: "/admin", Summary: "Admin", AuthorizationType: "CUSTOM", Permissions: []string{"read:admin", "root"}, Function: "E"},
			{Key: "GET /private", Method: "GET", Path: "/private", Summary: "Private", AuthorizationType: "JWT", Function: "E"},
			{Key: "GET /public", Method: "GET", Path: "/public", Summary: "Public", AuthorizationType: "NONE", Function: "G"},
			{Key: "GET /user/{id}", Method: "GET", Path: "/user/{id}", Summary: "A user", AuthorizationType: "JWT", Scopes: []string{"read:user", "admin"}, Function: "E"},
		},
	}
}

func sampleOptions() openapi.Options {
	return openapi.Options{Stage: "qa", Issuer: "https://acme.eu.auth0.com/", SignIn: true, Servers: []openapi.Server{{URL: "https://api.acme.test"}}}
}

func TestSecurityReadsAsTheAuthorizersDecide(t *testing.T) {
	doc, err := openapi.New(sample(), sampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	security := func(path, method string) string {
		encoded, _ := json.Marshal(doc.Paths[path][method].Security)
		return string(encoded)
	}
	cases := map[string]struct{ path, method, want string }{
		"public: no requirement at all":            {"/public", "get", `[]`},
		"any valid token: the scheme, no scope":    {"/private", "get", `[{"oauth2":[]}]`},
		"any one scope: one requirement per scope": {"/user/{id}", "get", `[{"oauth2":["read:user"]},{"oauth2":["admin"]}]`},
		"permissions: a token, and x-permissions":  {"/admin", "get", `[{"oauth2":[]}]`},
		"ANY: every method, the same requirements": {"/files/{proxy}", "delete", `[{"oauth2":["read:files"]}]`},
	}
	for name, c := range cases {
		if got := security(c.path, c.method); got != c.want {
			t.Errorf("%s: %s %s security %s, want %s", name, c.method, c.path, got, c.want)
		}
	}
	if got := doc.Paths["/admin"]["get"].Permissions; !reflect.DeepEqual(got, []string{"read:admin", "root"}) {
		t.Errorf("x-permissions %v", got)
	}
	if len(doc.Paths["/files/{proxy}"]) != 7 {
		t.Errorf("ANY /files/{proxy+} became %d operations, want one per method (7)", len(doc.Paths["/files/{proxy}"]))
	}
	greedy := doc.Paths["/files/{proxy}"]["get"].Parameters
	if len(greedy) != 1 || greedy[0].Name != "proxy" || !strings.Contains(greedy[0].Description, "slashes included") {
		t.Errorf("the greedy parameter: %+v", greedy)
	}
	if id := doc.Paths["/user/{id}"]["get"]; id.OperationID != "getUserById" || len(id.Parameters) != 1 || id.Parameters[0].In != "path" || !id.Parameters[0].Required {
		t.Errorf("GET /user/{id}: operationId %q, parameters %+v", id.OperationID, id.Parameters)
	}
	for path, item := range doc.Paths {
		for method, op := range item {
			_, has401 := op.Responses["401"]
			if has401 == (path == "/public") {
				t.Errorf("%s %s: 401 documented %v", method, path, has401)
			}
			for _, status := range []string{"200", "413", "429", "5XX"} {
				if _, ok := op.Responses[status]; !ok {
					t.Errorf("%s %s has no %s answer", method, path, status)
				}
			}
		}
	}
	flows := doc.Components.SecuritySchemes[openapi.OAuth2Scheme].Flows
	if flows.AuthorizationCode.AuthorizationURL != "https://acme.eu.auth0.com/authorize" || flows.ClientCredentials.TokenURL != "https://acme.eu.auth0.com/oauth/token" {
		t.Errorf("flows %+v %+v", flows.AuthorizationCode, flows.ClientCredentials)
	}
	if want := map[string]string{"read:files": "Required by ANY /files/{proxy+}", "read:user": "Required by GET /user/{id}", "admin": "Required by GET /user/{id}"}; !reflect.DeepEqual(flows.AuthorizationCode.Scopes, want) {
		t.Errorf("scopes %v, want %v", flows.AuthorizationCode.Scopes, want)
	}
	if !strings.Contains(doc.Components.SecuritySchemes[openapi.OAuth2Scheme].Description, "audience=https://api.acme.test") {
		t.Error("the oauth2 scheme does not say which audience a token request needs")
	}
	if got := doc.Components.SecuritySchemes[openapi.OpenIDConnectScheme].OpenIDConnectURL; got != "https://acme.eu.auth0.com/.well-known/openid-configuration" {
		t.Errorf("openIdConnectUrl %s", got)
	}
	newValidator(t, doc.JSON())
}

func TestAStageThatIsItsOwnIssuerDescribesItsIssuer(t *testing.T) {
	api := sample()
	api.Issuer = ""
	opts := sampleOptions()
	opts.Issuer, opts.SignIn = "", false
	doc, err := openapi.New(api, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Components.SecuritySchemes[openapi.OAuth2Scheme]; ok {
		t.Error("a stage that is its own issuer has no authorization server, but the document offers OAuth flows")
	}
	if got := doc.Components.SecuritySchemes[openapi.OpenIDConnectScheme].OpenIDConnectURL; got != "/.well-known/openid-configuration" {
		t.Errorf("openIdConnectUrl %q, want the stage's own, relative to the server", got)
	}
	if encoded, _ := json.Marshal(doc.Paths["/user/{id}"]["get"].Security); string(encoded) != `[{"openIdConnect":["read:user"]},{"openIdConnect":["admin"]}]` {
		t.Errorf("security %s", encoded)
	}
	newValidator(t, doc.JSON())
}

func TestAFunctionWithoutAKnownAnswerIsAnError(t *testing.T) {
	api := sample()
	api.Functions["E"] = apitemplate.Function{GoPackage: "./functions/unknown"}
	_, err := openapi.New(api, sampleOptions())
	if err == nil || !strings.Contains(err.Error(), "stage qa: route ANY /files/{proxy+}: its function E runs ./functions/unknown, whose answer internal/openapi does not know") {
		t.Errorf("got %v", err)
	}
}

// The committed documents are valid OpenAPI 3.1, and their YAML form says
// the same as their JSON.
func TestShippedDocumentsAreValidOpenAPI31(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(root, "api", "openapi.*.json"))
	if len(files) == 0 {
		t.Fatal("no api/openapi.<stage>.json: run `make update-snapshots`")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			newValidator(t, data)
			var doc openapi.Document
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			var fromJSON, fromYAML any
			json.Unmarshal(data, &fromJSON)
			if err := yaml.Unmarshal(doc.YAML(), &fromYAML); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(fromJSON), normalize(fromYAML)) {
				t.Error("the YAML form differs from the JSON")
			}
		})
	}
}

// normalize makes JSON and YAML decodings comparable: numbers as float64.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			v[k] = normalize(item)
		}
	case []any:
		for i, item := range v {
			v[i] = normalize(item)
		}
	case int:
		return float64(v)
	}
	return v
}
