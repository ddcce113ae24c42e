package openapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official OpenAPI 3.1 JSON Schema, as the npm package
// @seriousme/openapi-schema-validator ships it (package.json pins it; `npm ci`
// installs it). It describes every object of a document, and leaves the
// Schema Objects to the JSON Schema dialect they declare.
const (
	specSchemaFile = "node_modules/@seriousme/openapi-schema-validator/schemas/v3.1/schema.json"
	documentURL    = "urn:openapi:document" // where a document under test is registered
)

// validator checks a document against the OpenAPI 3.1 schema and its
// references, then the API's answers against the document.
type validator struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

// newValidator fails the test unless data is a valid OpenAPI 3.1 document
// whose every reference resolves.
func newValidator(t testing.TB, data []byte) *validator {
	t.Helper()
	v, err := parseDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// parseDocument checks a document against the OpenAPI 3.1 schema, and that
// every reference in it leads to something.
func parseDocument(data []byte) (*validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("the document is not JSON: %v", err)
	}
	spec, err := specSchema()
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(doc); err != nil {
		return nil, fmt.Errorf("the document is not valid OpenAPI 3.1:\n%v", err)
	}
	object, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not a JSON object")
	}
	v := &validator{doc: object, compiler: jsonschema.NewCompiler()}
	if err := v.compiler.AddResource(documentURL, doc); err != nil {
		return nil, err
	}
	var dangling []string
	for _, ref := range refs(doc) {
		if _, ok := v.resolve(ref); !ok {
			dangling = append(dangling, ref)
		}
	}
	if len(dangling) > 0 {
		return nil, fmt.Errorf("references that lead nowhere: %s", strings.Join(dangling, ", "))
	}
	return v, nil
}

// specSchema compiles the OpenAPI 3.1 schema from the file npm installs.
var specSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	path := filepath.Join(root, specSchemaFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%v: the OpenAPI 3.1 schema comes from npm: run `npm ci` (every make target does)", err)
	}
	defer f.Close()
	schema, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, schema); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	spec, err := c.Compile(path)
	if err != nil {
		return nil, fmt.Errorf("%s does not compile: %v", path, err)
	}
	return spec, nil
})

// refs lists every $ref in a decoded document.
func refs(node any) []string {
	var found []string
	switch node := node.(type) {
	case map[string]any:
		for key, value := range node {
			if ref, ok := value.(string); ok && key == "$ref" {
				found = append(found, ref)
			}
			found = append(found, refs(value)...)
		}
	case []any:
		for _, item := range node {
			found = append(found, refs(item)...)
		}
	}
	return found
}

// resolve follows a local reference ("#/components/...") to its object.
func (v *validator) resolve(ref string) (map[string]any, bool) {
	pointer, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var node any = v.doc
	for _, token := range strings.Split(pointer, "/") {
		object, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		node, ok = object[strings.NewReplacer("~1", "/", "~0", "~").Replace(token)]
		if !ok {
			return nil, false
		}
	}
	object, ok := node.(map[string]any)
	return object, ok
}

// deref follows an object's $ref, if it has one.
func (v *validator) deref(object map[string]any) map[string]any {
	if ref, ok := object["$ref"].(string); ok {
		target, _ := v.resolve(ref)
		return target
	}
	return object
}

// pointer is the JSON pointer of a path of keys.
func pointer(keys ...string) string {
	escaped := make([]string, len(keys))
	for i, key := range keys {
		escaped[i] = strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
	}
	return "#/" + strings.Join(escaped, "/")
}

// check validates a JSON value against the schema at a pointer of the document.
func (v *validator) check(at string, value any) error {
	schema, err := v.compiler.Compile(documentURL + at)
	if err != nil {
		return fmt.Errorf("the schema at %s does not compile: %v", at, err)
	}
	return schema.Validate(value)
}

// matchPath finds the document's path template that a request path matches,
// and the values of its parameters.
func (v *validator) matchPath(path string) (string, map[string]string, bool) {
	paths, _ := v.doc["paths"].(map[string]any)
	segments := strings.Split(path, "/")
	for template := range paths {
		want := strings.Split(template, "/")
		if len(want) != len(segments) {
			continue
		}
		values := map[string]string{}
		matched := true
		for i, segment := range want {
			if name, ok := strings.CutPrefix(segment, "{"); ok && strings.HasSuffix(name, "}") {
				values[strings.TrimSuffix(name, "}")] = segments[i]
			} else if segment != segments[i] {
				matched = false
				break
			}
		}
		if matched {
			return template, values, true
		}
	}
	return "", nil, false
}

var statusRange = regexp.MustCompile(`^[1-5]XX$`)

// checkExchange validates a request and its answer against the document: the
// operation exists and its path parameters fit their schemas; the status is
// one the operation lists (exactly, as a range such as 5XX, or default);
// every required header is there and fits its schema; and the body has a
// media type the response lists and fits its schema.
func (v *validator) checkExchange(req *http.Request, resp *http.Response, body []byte) []string {
	template, values, ok := v.matchPath(req.URL.Path)
	if !ok {
		return []string{fmt.Sprintf("no path of the document matches %s", req.URL.Path)}
	}
	method := strings.ToLower(req.Method)
	operation, ok := v.doc["paths"].(map[string]any)[template].(map[string]any)[method].(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s has no %s operation", template, method)}
	}
	var problems []string
	parameters, _ := operation["parameters"].([]any)
	for i, p := range parameters {
		parameter := v.deref(p.(map[string]any))
		name, _ := parameter["name"].(string)
		if parameter["in"] != "path" {
			continue
		}
		if err := v.check(pointer("paths", template, method, "parameters", strconv.Itoa(i), "schema"), values[name]); err != nil {
			problems = append(problems, fmt.Sprintf("path parameter %s=%q: %v", name, values[name], err))
		}
	}
	responses, _ := operation["responses"].(map[string]any)
	code := strconv.Itoa(resp.StatusCode)
	key := code
	if _, ok := responses[key]; !ok {
		key = code[:1] + "XX"
		if _, ok := responses[key]; !ok || !statusRange.MatchString(key) {
			key = "default"
		}
	}
	listed, ok := responses[key].(map[string]any)
	if !ok {
		return append(problems, fmt.Sprintf("%s %s does not list the status %d", method, template, resp.StatusCode))
	}
	at := []string{"paths", template, method, "responses", key}
	if ref, ok := listed["$ref"].(string); ok {
		at = strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	}
	response := v.deref(listed)
	headers, _ := response["headers"].(map[string]any)
	for _, name := range slices.Sorted(mapKeys(headers)) {
		header := v.deref(headers[name].(map[string]any))
		values, present := resp.Header[http.CanonicalHeaderKey(name)]
		if !present {
			if header["required"] == true {
				problems = append(problems, fmt.Sprintf("the required header %s is missing", name))
			}
			continue
		}
		for _, value := range values {
			if err := v.check(pointer(append(at, "headers", name, "schema")...), value); err != nil {
				problems = append(problems, fmt.Sprintf("header %s: %q: %v", name, value, err))
			}
		}
	}
	content, _ := response["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			problems = append(problems, fmt.Sprintf("the response %s lists no body, but there is one", key))
		}
		return problems
	}
	mediaType, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		return append(problems, fmt.Sprintf("Content-Type %q: %v", resp.Header.Get("Content-Type"), err))
	}
	if _, ok := content[mediaType]; !ok {
		return append(problems, fmt.Sprintf("the media type %s is not one the response lists (%s)", mediaType, strings.Join(slices.Sorted(mapKeys(content)), ", ")))
	}
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return append(problems, fmt.Sprintf("the body is not JSON: %v", err))
	}
	if err := v.check(pointer(append(at, "content", mediaType, "schema")...), value); err != nil {
		problems = append(problems, fmt.Sprintf("the body: %v", err))
	}
	return problems
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// The checks above must refuse what is wrong, or the contract test proves
// nothing: each case breaks one thing of a valid document or answer.
func TestValidatorRefusesWhatIsWrong(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "api", "openapi.dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, data)
	answer := func(status int, headers map[string]string) *http.Response {
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		for k, value := range headers {
			resp.Header.Set(k, value)
		}
		return resp
	}
	get := func(path string) *http.Request { r, _ := http.NewRequest("GET", "http://api.test"+path, nil); return r }
	jsonType := map[string]string{"Content-Type": "application/json"}
	unauthorized := map[string]string{"Content-Type": "application/json", "WWW-Authenticate": "Bearer"}
	greeting := `{"message":"hi","routeKey":"GET /public"}`
	claims := `{"routeKey":"GET /private","sub":"s","claims":{},"decoded":{},"scopes":null}`
	cases := []struct {
		name    string
		req     *http.Request
		resp    *http.Response
		body    string
		problem string // "" when the exchange is valid
	}{
		{"a valid public answer", get("/public"), answer(200, jsonType), greeting, ""},
		{"a valid 401", get("/private"), answer(401, unauthorized), `{"message":"Unauthorized"}`, ""},
		{"a valid 503 through 5XX", get("/private"), answer(503, jsonType), `{"message":"Service Unavailable"}`, ""},
		{"a path the document lacks", get("/nowhere"), answer(200, jsonType), greeting, "no path of the document matches /nowhere"},
		{"a status the operation lacks", get("/public"), answer(418, jsonType), greeting, "does not list the status 418"},
		{"a required header missing", get("/private"), answer(401, jsonType), `{"message":"Unauthorized"}`, "the required header www-authenticate is missing"},
		{"a header against its pattern", get("/private"), answer(401, map[string]string{"Content-Type": "application/json", "WWW-Authenticate": "Basic"}), `{"message":"x"}`, "header www-authenticate"},
		{"a body missing a required field", get("/private"), answer(200, jsonType), `{"sub":"s"}`, "the body"},
		{"a body field of the wrong type", get("/private"), answer(200, jsonType), strings.Replace(claims, `"sub":"s"`, `"sub":5`, 1), "the body"},
		{"another media type", get("/public"), answer(200, map[string]string{"Content-Type": "text/plain"}), greeting, "the media type text/plain"},
		{"a body that is not JSON", get("/public"), answer(200, jsonType), "hi", "not JSON"},
		{"a path parameter", get("/user/42"), answer(401, unauthorized), `{"message":"Unauthorized"}`, ""},
	}
	for _, c := range cases {
		problems := v.checkExchange(c.req, c.resp, []byte(c.body))
		joined := strings.Join(problems, "; ")
		switch {
		case c.problem == "" && len(problems) > 0:
			t.Errorf("%s: refused: %s", c.name, joined)
		case c.problem != "" && !strings.Contains(joined, c.problem):
			t.Errorf("%s: problems %q, want one with %q", c.name, joined, c.problem)
		}
	}

	broken := []struct {
		name   string
		break_ func(doc map[string]any)
		want   string
	}{
		{"a wrong OpenAPI version", func(d map[string]any) { d["openapi"] = "3.0.3" }, "not valid OpenAPI 3.1"},
		{"no info", func(d map[string]any) { delete(d, "info") }, "not valid OpenAPI 3.1"},
		{"a path without its leading slash", func(d map[string]any) {
			paths := d["paths"].(map[string]any)
			paths["public"] = paths["/public"]
		}, "not valid OpenAPI 3.1"},
		{"a security scheme of no known type", func(d map[string]any) {
			d["components"].(map[string]any)["securitySchemes"].(map[string]any)["oauth2"].(map[string]any)["type"] = "password"
		}, "not valid OpenAPI 3.1"},
		{"a reference to nothing", func(d map[string]any) {
			d["paths"].(map[string]any)["/public"].(map[string]any)["get"].(map[string]any)["responses"].(map[string]any)["429"] = map[string]any{"$ref": "#/components/responses/Nothing"}
		}, "#/components/responses/Nothing"},
	}
	for _, c := range broken {
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		c.break_(doc)
		encoded, _ := json.Marshal(doc)
		if _, err := parseDocument(encoded); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
