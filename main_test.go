package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/internal/openapi"
	"github.com/auth0-http-api/cdk/internal/wire"
	"github.com/auth0-http-api/cdk/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ instead of comparing")

// runAppEnv makes the test binary run the CDK app itself, as `go run .` would
// for the CDK CLI, so that tests can check the app's exit status and output.
const runAppEnv = "AUTH0_HTTP_API_RUN_APP"

func TestMain(m *testing.M) {
	if os.Getenv(runAppEnv) == "1" {
		main()
		return
	}
	// Unit tests skip CDK's built-in CloudFormation validation, which costs
	// seconds per synth; CI's `cdk synth` keeps it on. The jsii runtime takes
	// its environment when the first jsii type registers, at package init,
	// before this runs: so the binary runs itself again with it set.
	if os.Getenv("CDK_VALIDATION") != "false" {
		if executable, err := os.Executable(); err == nil {
			err = syscall.Exec(executable, os.Args, append(os.Environ(), "CDK_VALIDATION=false"))
			fmt.Fprintf(os.Stderr, "running the tests with CDK validation on: %v\n", err)
		}
	}
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// cdkJSONContext is the context that cdk.json gives the app.
func cdkJSONContext(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct{ Context map[string]any }
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return cdkJSON.Context
}

// synth builds the app from a context as the CLI would pass it, without bundling
// the functions: the unit tests check the templates, not the binaries. It
// returns the API stacks by stage name, and the GitHubDeploy stack, if any.
func synth(context map[string]any) (map[string]awscdk.Stack, awscdk.Stack, error) {
	ctx := map[string]any{}
	for key, value := range context {
		// jsii wraps nested Go maps; pass objects as JSON text, as `cdk -c` does.
		if object, ok := value.(map[string]any); ok {
			encoded, _ := json.Marshal(object)
			value = string(encoded)
		}
		ctx[key] = value
	}
	ctx["aws:cdk:bundling-stacks"] = []any{}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	stages, deploy, err := loadApp(app)
	if err != nil {
		return nil, nil, err
	}
	apis := addStages(app, stages)
	if deploy == nil {
		return apis, nil, nil
	}
	return apis, addGitHubDeploy(app, *deploy), nil
}

// appRun is one run of the app as the CDK CLI runs it: what it printed, its
// exit status, and the stacks of the cloud assembly it wrote.
type appRun struct {
	Output string
	Exit   int
	dir    string // the cloud assembly
	stacks map[string]*stack
}

// stack is a stack of a cloud assembly, as its manifests describe it.
type stack struct {
	Path                  string // the construct path, such as Dev/Api
	TerminationProtection bool
	Template              []byte         // compact JSON
	Messages              []stackMessage // the annotations on its constructs
}

// stackMessage is an annotation on a construct, as the manifest records it.
type stackMessage struct{ Path, Type, Data string }

// runApp runs the app as the CDK CLI does, with the context in
// CDK_CONTEXT_JSON and without bundling, and reads the cloud assembly it
// wrote. A run depends on nothing but the app's sources and the context,
// so runs are kept under .local/test-app-runs/<sources>/<context>: a test
// suite whose sources did not change synthesizes nothing again, and a
// change to a source synthesizes each context anew. The assembly's asset
// folders, which no test reads, are not kept.
func runApp(t *testing.T, context map[string]any) *appRun {
	t.Helper()
	context = maps.Clone(context)
	context["aws:cdk:bundling-stacks"] = []any{}
	encoded, _ := json.Marshal(context)
	digest, err := sourcesDigest()
	if err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256(encoded)
	runs := filepath.Join(".local", "test-app-runs", digest[:24])
	dir := filepath.Join(runs, hex.EncodeToString(key[:12]))
	if run, err := readRun(dir); err == nil {
		return run
	}
	// The runs of other sources will not be read again: only the newest sources' are kept.
	others, _ := filepath.Glob(filepath.Join(filepath.Dir(runs), "*"))
	for _, other := range others {
		if other != runs {
			os.RemoveAll(other)
		}
	}
	if err := os.MkdirAll(runs, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(runs, "writing-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	outdir := filepath.Join(tmp, "cdk.out")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runAppEnv+"=1", "CDK_CONTEXT_JSON="+string(encoded), "CDK_OUTDIR="+outdir)
	output, err := cmd.CombinedOutput()
	run := &appRun{Output: string(output)}
	if exit, ok := err.(*exec.ExitError); ok {
		run.Exit = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	assets, _ := filepath.Glob(filepath.Join(outdir, "asset.*"))
	for _, asset := range assets {
		os.RemoveAll(asset)
	}
	result, _ := json.Marshal(run)
	if err := os.WriteFile(filepath.Join(tmp, "run.json"), result, 0o644); err != nil {
		t.Fatal(err)
	}
	renameErr := os.Rename(tmp, dir) // fails when a run beside this one kept it first
	if run, err = readRun(dir); err != nil {
		t.Fatal(errors.Join(renameErr, err))
	}
	return run
}

// readRun reads a kept run of the app, and its stacks.
func readRun(dir string) (*appRun, error) {
	data, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, err
	}
	run := &appRun{dir: filepath.Join(dir, "cdk.out"), stacks: map[string]*stack{}}
	if err := json.Unmarshal(data, run); err != nil {
		return nil, err
	}
	if run.Exit == 0 {
		return run, readAssembly(run.dir, run.stacks)
	}
	return run, nil
}

// metadataEntry is what the CDK recorded on a construct: an annotation, a logical ID…
type metadataEntry struct {
	Type string
	Data any
}

// readAssembly reads the stacks of a cloud assembly and of the assemblies
// nested in it (one per CDK Stage), by construct path.
func readAssembly(dir string, into map[string]*stack) error {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	var manifest struct {
		Artifacts map[string]struct {
			Type        string
			DisplayName string
			Properties  struct {
				TemplateFile          string
				TerminationProtection bool
				DirectoryName         string
			}
			Metadata               map[string][]metadataEntry
			AdditionalMetadataFile string // where the metadata is when it is not inline
		}
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return fmt.Errorf("%s: %v", dir, err)
	}
	for _, artifact := range manifest.Artifacts {
		switch artifact.Type {
		case "cdk:cloud-assembly":
			if err := readAssembly(filepath.Join(dir, artifact.Properties.DirectoryName), into); err != nil {
				return err
			}
		case "aws:cloudformation:stack":
			template, err := os.ReadFile(filepath.Join(dir, artifact.Properties.TemplateFile))
			if err != nil {
				return err
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, template); err != nil {
				return err
			}
			s := &stack{Path: artifact.DisplayName, TerminationProtection: artifact.Properties.TerminationProtection, Template: compact.Bytes()}
			metadata := artifact.Metadata
			if artifact.AdditionalMetadataFile != "" {
				data, err := os.ReadFile(filepath.Join(dir, artifact.AdditionalMetadataFile))
				if err == nil {
					err = json.Unmarshal(data, &metadata)
				}
				if err != nil {
					return err
				}
			}
			for path, entries := range metadata {
				for _, entry := range entries {
					s.Messages = append(s.Messages, stackMessage{Path: path, Type: entry.Type, Data: fmt.Sprint(entry.Data)})
				}
			}
			into[s.Path] = s
		}
	}
	return nil
}

// sourcesDigest is a digest of what a run of the app depends on besides
// its context: the Go files (but tests) of the module's packages that the
// app builds from, go.mod, go.sum, the pinned Node.js in package-lock.json,
// and the Go version. A change to apictl or a function's handler does not
// synthesize again; a change to stacks/ or to a package it imports does.
var sourcesDigest = sync.OnceValues(func() (string, error) {
	root, err := os.Getwd()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".").Output()
	if err != nil {
		return "", fmt.Errorf("go list -deps .: %w", err)
	}
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	files := []string{"go.mod", "go.sum", "package-lock.json"}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a dependency from the module cache, pinned by go.sum
		}
		goFiles, _ := filepath.Glob(filepath.Join(rel, "*.go"))
		for _, file := range goFiles {
			if !strings.HasSuffix(file, "_test.go") {
				files = append(files, file)
			}
		}
	}
	slices.Sort(files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", file, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
})

// stages are the API stacks of a run, by stage name, as cdk.json names them.
func (r *appRun) stages(t *testing.T) map[string]*stack {
	t.Helper()
	if r.Exit != 0 {
		t.Fatalf("the app exited with %d:\n%s", r.Exit, r.Output)
	}
	byName := map[string]*stack{}
	for name := range cdkJSONContext(t)[stacks.StagesContextKey].(map[string]any) {
		if s := r.stacks[apitemplate.StageID(name)+"/Api"]; s != nil {
			byName[name] = s
		}
	}
	return byName
}

// shipped is the app as cdk.json declares it, run once for all tests.
func shipped(t *testing.T) *appRun {
	t.Helper()
	return runApp(t, cdkJSONContext(t))
}

// shippedStacks are the shipped app's API stacks, by stage name.
func shippedStacks(t *testing.T) map[string]*stack {
	t.Helper()
	return shipped(t).stages(t)
}

func shippedStage(t *testing.T, name string) stacks.Stage {
	t.Helper()
	stages, err := stacks.LoadStages(cdkJSONContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, stage := range stages {
		if stage.Name == name {
			return stage
		}
	}
	t.Fatalf("no stage %q in cdk.json", name)
	return stacks.Stage{}
}

// cdkAssert runs CDK assertions, which panic on failure, and reports the
// failure through t so that the other tests still run.
func cdkAssert(t *testing.T, assertions func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%v", r)
		}
	}()
	assertions()
}

// jsiiKernel serializes the jsii calls of parallel tests: jsii-runtime-go's
// client writes a request to the kernel's pipe and reads its answer without a
// lock, so two goroutines at once read each other's answers (seen as "invalid
// character" panics). Sequential tests never overlap; a parallel one holds
// this while it asserts.
var jsiiKernel sync.Mutex

// stackTemplate is a stack's template for CDK's assertions.
func stackTemplate(t *testing.T, s *stack) assertions.Template {
	t.Helper()
	var template map[string]any
	if err := json.Unmarshal(s.Template, &template); err != nil {
		t.Fatal(err)
	}
	return assertions.Template_FromJSON(&template, nil)
}

var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// normalizeTemplate pretty-prints a template with sorted keys and replaces the
// values that change without a change of meaning: asset hashes, and CDK's
// compressed usage metadata.
func normalizeTemplate(t *testing.T, template []byte) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(template, &doc); err != nil {
		t.Fatal(err)
	}
	if resources, ok := doc["Resources"].(map[string]any); ok {
		if metadata, ok := resources["CDKMetadata"].(map[string]any); ok {
			metadata["Properties"] = "<CDK usage metadata>"
		}
	}
	pretty, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return assetHash.ReplaceAllString(string(pretty), "<asset hash>") + "\n"
}

// compareGolden compares got with a file under testdata/, or rewrites the file
// with -update. A mismatch prints a line diff.
func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	compareFile(t, filepath.Join("testdata", name), got)
}

// compareFile compares got with a committed file, or rewrites it with -update.
func compareFile(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `make update-snapshots` to create it", err)
	}
	if string(want) != got {
		t.Errorf("%s is out of date (- golden, + now):\n%s\nIf the change is intended, run `make update-snapshots` and review the diff before committing.",
			path, lineDiff(strings.Split(string(want), "\n"), strings.Split(got, "\n")))
	}
}

// lineDiff renders the changed lines between a and b, with two lines of
// context, from a longest-common-subsequence table (golden files are small).
func lineDiff(a, b []string) string {
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		mark byte
		text string
	}
	var lines []line
	for i, j := 0, 0; i < len(a) || j < len(b); {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, line{' ', a[i]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			lines = append(lines, line{'+', b[j]})
			j++
		default:
			lines = append(lines, line{'-', a[i]})
			i++
		}
	}
	const context = 2
	var out strings.Builder
	lastShown := -1
	for k, l := range lines {
		near := false
		for d := max(0, k-context); d <= min(len(lines)-1, k+context); d++ {
			near = near || lines[d].mark != ' '
		}
		if !near {
			continue
		}
		if lastShown >= 0 && k > lastShown+1 {
			out.WriteString("  ...\n")
		}
		fmt.Fprintf(&out, "%c %s\n", l.mark, l.text)
		lastShown = k
	}
	return out.String()
}

func TestSnapshots(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		t.Run(name, func(t *testing.T) {
			template := stack.Template
			compareGolden(t, name+".template.json", normalizeTemplate(t, template))
			api, err := apitemplate.Parse(template)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, name+".access-matrix.txt", api.AccessMatrix())
			// The committed OpenAPI document is what `apictl openapi --stage <stage>` writes.
			doc, err := openapi.New(api, openapi.TemplateOptions(api, name))
			if err != nil {
				t.Fatal(err)
			}
			compareFile(t, filepath.Join("api", "openapi."+name+".json"), string(doc.JSON()))
		})
	}
}

// The deployed page's openapi.json derives from the route table before the
// template exists; it must say what `apictl openapi` reads from the template.
func TestPageOpenAPIDocumentIsTheTemplates(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		stage := shippedStage(t, name)
		if stage.Issuer == "" {
			continue // a stage that is its own issuer has no page
		}
		t.Run(name, func(t *testing.T) {
			fromTemplate, err := apitemplate.Parse(stack.Template)
			if err != nil {
				t.Fatal(err)
			}
			opts := openapi.TemplateOptions(fromTemplate, name)
			want, err := openapi.New(fromTemplate, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := openapi.New(stacks.TemplateAPI(stage, stacks.StageRoutes(stage, stacks.Routes)), opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := lineDiff(strings.Split(string(want.JSON()), "\n"), strings.Split(string(got.JSON()), "\n")); string(want.JSON()) != string(got.JSON()) {
				t.Errorf("the page's document differs from the template's (- template, + page):\n%s", diff)
			}
		})
	}
}

func TestEveryStageInCDKJSONIsSynthesized(t *testing.T) {
	stages, ok := cdkJSONContext(t)[stacks.StagesContextKey].(map[string]any)
	if !ok || len(stages) == 0 {
		t.Fatal("cdk.json declares no stages")
	}
	apps := shippedStacks(t)
	for name := range stages {
		stack, ok := apps[name]
		if !ok {
			t.Errorf("stage %q of cdk.json has no stack", name)
			continue
		}
		if got, want := stack.Path, apitemplate.StageID(name)+"/Api"; got != want {
			t.Errorf("stage %q: stack path %q, want %q (deployed with npx cdk deploy '%s/*')", name, got, want, apitemplate.StageID(name))
		}
	}
}

func TestAuthorizer(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		stage := shippedStage(t, name)
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			cdkAssert(t, func() {
				// A stage that is its own issuer names its own URL, resolved at deploy time.
				var issuer any = stage.Issuer
				if stage.Issuer == "" {
					issuer = map[string]any{"Fn::Join": assertions.Match_AnyValue()}
				}
				if stage.Config.RequiresDPoP() {
					// Every private route is the permissions authorizer's: no JWT authorizer.
					template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(1))
				} else {
					// The JWT authorizer, and the permissions authorizer.
					template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(2))
					template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
						"AuthorizerType": "JWT",
						"IdentitySource": []any{"$request.header.Authorization"},
						"JwtConfiguration": map[string]any{
							"Issuer":   issuer,
							"Audience": stage.Audiences(),
						},
					})
				}
				template.HasOutput(jsii.String("Issuer"), map[string]any{"Value": issuer})
				template.HasOutput(jsii.String("Audience"), map[string]any{"Value": strings.Join(stage.Audiences(), ",")})
				template.HasOutput(jsii.String("ApiUrl"), map[string]any{"Value": assertions.Match_AnyValue()})
			})
			if stage.Issuer != "" && (!strings.HasPrefix(stage.Issuer, "https://") || !strings.HasSuffix(stage.Issuer, "/")) {
				t.Errorf("issuer %q: Auth0 issuers are https://<domain>/ with the trailing slash", stage.Issuer)
			}
		})
	}
}

// goFunctions is how many Go functions a stage has: one per function its
// routes name, and the permissions authorizer.
func goFunctions(stage stacks.Stage) int {
	functions := map[string]bool{}
	for _, route := range stacks.StageRoutes(stage, stacks.Routes) {
		functions[route.Function] = true
	}
	return len(functions) + 1
}

// Every stage serves its Protected Resource Metadata on a public route, from
// a document derived from the route table: its resource, every scope the
// routes use, the issuer as its authorization server, and the page's OpenAPI
// document, when it has a page.
func TestEveryStageServesItsResourceMetadata(t *testing.T) {
	var scopes []string
	for _, route := range stacks.Routes {
		scopes = append(scopes, route.Scopes...)
	}
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	documentation := map[string]string{
		"dev":  "", // on CloudFront's own domain: known at deploy, so unread here
		"prod": "https://app.example.com/openapi.json",
	}
	for name, stack := range shippedStacks(t) {
		stage := shippedStage(t, name)
		t.Run(name, func(t *testing.T) {
			api, err := apitemplate.Parse(stack.Template)
			if err != nil {
				t.Fatal(err)
			}
			route := api.Routes[slices.IndexFunc(api.Routes, func(r apitemplate.Route) bool { return r.Path == wire.ProtectedResourceMetadataPath })]
			if route.Method != "GET" || !route.Public() {
				t.Errorf("the metadata's route %s is %s, want a public GET", route.Key, route.AuthorizationType)
			}
			function := api.Functions[route.Function]
			if function.GoPackage != stacks.ResourceMetadataPackage {
				t.Errorf("served by %s", function.GoPackage)
			}
			metadata, err := api.ResourceMetadata()
			if err != nil || metadata == nil {
				t.Fatalf("no metadata: %v", err)
			}
			want := wire.ProtectedResourceMetadata{Resource: stage.Resource(), ScopesSupported: scopes, BearerMethodsSupported: []string{"header"}, ResourceName: "Auth0-protected HTTP API, stage " + name, ResourceDocumentation: documentation[name]}
			if stage.Config.RequiresDPoP() {
				want.DPoPSigningAlgValuesSupported, want.DPoPBoundAccessTokensRequired = dpop.Algorithms, true
			}
			if !reflect.DeepEqual(*metadata, want) {
				t.Errorf("metadata %+v, want %+v", *metadata, want)
			}
			// A stage that is its own issuer learns its URL at deploy.
			if issuer := function.Environment[apitemplate.AuthorizerIssuerVariable]; issuer != stage.Issuer {
				t.Errorf("authorization server %q, want the issuer %q", issuer, stage.Issuer)
			}
			if got := function.Environment[apitemplate.ResourceDocumentationVariable]; got != documentation[name] {
				t.Errorf("documentation %q, want %q", got, documentation[name])
			}
		})
	}
	if resource := shippedStage(t, "prod").Resource(); resource != "https://api.example.com" {
		t.Errorf("prod's resource %s, want its custom domain's URL", resource)
	}
}

func TestRoutesFollowTheRouteTable(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		stage := shippedStage(t, name)
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			cdkAssert(t, func() {
				template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(len(stacks.StageRoutes(stage, stacks.Routes))))
				for _, route := range stacks.StageRoutes(stage, stacks.Routes) {
					want := map[string]any{
						"RouteKey":            route.Key(),
						"AuthorizationType":   "JWT",
						"AuthorizerId":        assertions.Match_AnyValue(),
						"AuthorizationScopes": route.Scopes,
					}
					if route.Public {
						want["AuthorizationType"] = "NONE"
						want["AuthorizerId"] = assertions.Match_Absent()
					}
					if route.NeedsLambdaAuthorizer() {
						// The Lambda authorizer checks the route's scopes from its rules.
						want["AuthorizationType"] = "CUSTOM"
						want["AuthorizationScopes"] = assertions.Match_Absent()
					}
					if len(route.Scopes) == 0 {
						// A route without authorization type must carry no scopes at all,
						// or API Gateway rejects the deployment.
						want["AuthorizationScopes"] = assertions.Match_Absent()
					}
					template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), want)
				}
			})
		})
	}
}

func TestStageHasThrottlingAndAccessLogs(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		config := shippedStage(t, name).Config
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			cdkAssert(t, func() {
				template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Stage"), jsii.Number(1))
				template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
					"StageName":  "$default",
					"AutoDeploy": true,
					"DefaultRouteSettings": map[string]any{
						"ThrottlingRateLimit":  config.Throttle.RateLimit,
						"ThrottlingBurstLimit": config.Throttle.BurstLimit,
					},
					"AccessLogSettings": map[string]any{
						"DestinationArn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^AccessLogs")), "Arn"}},
					},
				})
				template.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": config.LogRetentionDays})
			})

			stages := *stackTemplate(t, stack).FindResources(jsii.String("AWS::ApiGatewayV2::Stage"), nil)
			for _, resource := range stages {
				format := (*resource)["Properties"].(map[string]any)["AccessLogSettings"].(map[string]any)["Format"].(string)
				var fields map[string]string
				if err := json.Unmarshal([]byte(format), &fields); err != nil {
					t.Fatalf("access log format is not JSON: %v\n%s", err, format)
				}
				for field, variable := range map[string]string{
					"requestId": "$context.requestId", "routeKey": "$context.routeKey", "status": "$context.status",
					"responseLatency": "$context.responseLatency", "authorizerError": "$context.authorizer.error",
					"sub": "$context.authorizer.claims.sub",
				} {
					if fields[field] != variable {
						t.Errorf("access log field %q = %q, want %q", field, fields[field], variable)
					}
				}
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		config := shippedStage(t, name).Config
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			// The route functions and the permissions authorizer: the project's
			// Go functions, beside aws-cdk-lib's own BucketDeployment function.
			functions := *template.FindResources(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Metadata": map[string]any{apitemplate.GoPackageMetadataKey: assertions.Match_AnyValue()},
			})
			if want := goFunctions(shippedStage(t, name)); len(functions) != want {
				t.Errorf("%d Go functions, want %d", len(functions), want)
			}
			for id, resource := range functions {
				properties := (*resource)["Properties"].(map[string]any)
				want := map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": float64(config.Function.MemoryMiB)}
				for property, value := range want {
					if properties[property] != value {
						t.Errorf("%s: %s %v, want %v", id, property, properties[property], value)
					}
				}
				if fmt.Sprint(properties["Architectures"]) != "[arm64]" || fmt.Sprint(properties["TracingConfig"]) != "map[Mode:Active]" || properties["LoggingConfig"] == nil {
					t.Errorf("%s: %v", id, properties)
				}
				if timeout := properties["Timeout"].(float64); timeout > float64(config.Function.TimeoutSeconds) {
					t.Errorf("%s: timeout %v over the stage's %d s", id, timeout, config.Function.TimeoutSeconds)
				}
			}
			cdkAssert(t, func() {
				// Least privilege: no AWS managed policy on any role.
				template.AllResourcesProperties(jsii.String("AWS::IAM::Role"), map[string]any{"ManagedPolicyArns": assertions.Match_Absent()})
				for _, pkg := range append(slices.Collect(maps.Values(stacks.Functions)), stacks.AuthorizerPackage) { // and, self-hosted, the well-known function
					template.HasResource(jsii.String("AWS::Lambda::Function"), map[string]any{
						"Metadata": map[string]any{apitemplate.GoPackageMetadataKey: pkg},
					})
				}
			})
		})
	}
}

// The permissions authorizer: a Lambda REQUEST authorizer with simple
// responses, whose answers are cached per token, route AND path, and whose
// function learns each route's rule (permissions, scopes, organization) from
// the route table.
func TestPermissionsAuthorizer(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		stage := shippedStage(t, name)
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			// Without the route key, an answer cached for one route would be
			// reused for another route with the same token; without the path,
			// one organization's answer on another organization's path. With
			// DPoP, a request without a proof is refused before the call, and
			// nothing is cached.
			identitySources, ttl := []any{"$request.header.Authorization", "$context.routeKey", "$context.path"}, stage.Config.PermissionsAuthorizer.ResultTTL()
			if stage.Config.RequiresDPoP() {
				identitySources, ttl = append(identitySources, "$request.header.DPoP"), 0
			}
			cdkAssert(t, func() {
				template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
					"AuthorizerType":                 "REQUEST",
					"AuthorizerPayloadFormatVersion": "2.0",
					"EnableSimpleResponses":          true,
					"AuthorizerResultTtlInSeconds":   ttl,
					"IdentitySource":                 identitySources,
				})
			})
			api, err := apitemplate.Parse(stack.Template)
			if err != nil {
				t.Fatal(err)
			}
			var checked int
			var bound int
			for _, route := range stacks.StageRoutes(stage, stacks.Routes) {
				if !route.NeedsLambdaAuthorizer() {
					continue
				}
				checked++
				if route.Organization != "" {
					bound++
				}
				i := slices.IndexFunc(api.Routes, func(r apitemplate.Route) bool { return r.Key == route.Key() })
				if i < 0 || !slices.Equal(api.Routes[i].Permissions, route.Permissions) || !slices.Equal(api.Routes[i].Scopes, route.Scopes) ||
					api.Routes[i].Organization != route.Organization || api.Routes[i].AuthorizationType != apitemplate.AuthorizationCustom {
					t.Errorf("route %s: the template says %+v, the route table says permissions %v, scopes %v, organization %q", route.Key(), api.Routes[i], route.Permissions, route.Scopes, route.Organization)
					continue
				}
				authorizer := api.LambdaAuthorizers[api.Routes[i].Authorizer]
				if fn := api.Functions[authorizer.Function]; fn.GoPackage != stacks.AuthorizerPackage || fn.TimeoutSeconds > 10 ||
					fn.Environment[apitemplate.AuthorizerIssuerVariable] != stage.Issuer { // "" for a self-hosted issuer: resolved at deploy
					t.Errorf("the authorizer's function: %+v", fn)
				}
			}
			if checked == 0 || bound == 0 {
				t.Errorf("the route table has %d routes for the Lambda authorizer, %d of them bound to an organization: it must ship both kinds", checked, bound)
			}
		})
	}
}

func TestContextOverridesAStageField(t *testing.T) {
	t.Parallel() // a run of the app of its own
	context := cdkJSONContext(t)
	context["stages.dev.auth0.domain"] = "acme-dev.eu.auth0.com"
	context["stages.dev.auth0.audience"] = `["https://api.acme.test","https://other.acme.test"]`
	api, err := apitemplate.Parse(runApp(t, context).stages(t)["dev"].Template)
	if err != nil {
		t.Fatal(err)
	}
	if api.Issuer != "https://acme-dev.eu.auth0.com/" {
		t.Errorf("issuer %q, want the overridden tenant with its trailing slash", api.Issuer)
	}
	if got := fmt.Sprint(api.Audience); got != "[https://api.acme.test https://other.acme.test]" {
		t.Errorf("audience %s, want the overridden list", got)
	}
}

// A stage with an Auth0 SPA client ID serves the page: a private, encrypted,
// TLS-only bucket behind CloudFront with origin access control, HSTS and a
// strict CSP, the single-page fallback, the page's URL among the API's CORS
// origins, and config.json deployed with the API's URL.
func TestWebPage(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		stage := shippedStage(t, name)
		if stage.Config.Web.Auth0ClientID == "" {
			if stage.Issuer != "" {
				t.Errorf("stage %s: the shipped stages with an Auth0 tenant enable the page", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			cdkAssert(t, func() {
				template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
					"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
					"BucketEncryption":               assertions.Match_AnyValue(),
				})
				template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
					"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
						"Action": "s3:*", "Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
						"Principal": assertions.Match_AnyValue(), "Resource": assertions.Match_AnyValue(),
					}})},
				})
				template.ResourceCountIs(jsii.String("AWS::CloudFront::OriginAccessControl"), jsii.Number(1))
				template.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
					"DistributionConfig": map[string]any{
						"DefaultRootObject":    "index.html",
						"DefaultCacheBehavior": map[string]any{"ViewerProtocolPolicy": "redirect-to-https", "ResponseHeadersPolicyId": assertions.Match_AnyValue()},
						"CustomErrorResponses": []any{
							map[string]any{"ErrorCode": 403, "ResponseCode": 200, "ResponsePagePath": "/index.html", "ErrorCachingMinTTL": 0},
							map[string]any{"ErrorCode": 404, "ResponseCode": 200, "ResponsePagePath": "/index.html", "ErrorCachingMinTTL": 0},
						},
					},
				})
				template.HasResourceProperties(jsii.String("AWS::CloudFront::ResponseHeadersPolicy"), map[string]any{
					"ResponseHeadersPolicyConfig": map[string]any{"SecurityHeadersConfig": map[string]any{
						"StrictTransportSecurity": map[string]any{"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": true, "Override": true},
						"ContentSecurityPolicy":   map[string]any{"ContentSecurityPolicy": assertions.Match_AnyValue(), "Override": true},
					}},
				})
				// The page's origin: CloudFront's, or its own domain's, known at synth.
				var origin any = map[string]any{
					"Fn::Join": []any{"", []any{"https://", map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^WebDistribution")), "DomainName"}}}},
				}
				var webURL any = assertions.Match_AnyValue()
				if stage.Config.Web.Domain != "" {
					origin, webURL = "https://"+stage.Config.Web.Domain, "https://"+stage.Config.Web.Domain+"/"
				}
				template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
					"CorsConfiguration": map[string]any{"AllowOrigins": assertions.Match_ArrayWith(&[]any{origin})},
				})
				template.HasOutput(jsii.String("WebUrl"), map[string]any{"Value": webURL})
				template.ResourceCountIs(jsii.String("Custom::CDKBucketDeployment"), jsii.Number(1))
			})
			// On its own domain, the page's origin is the only one the API
			// allows for it, once, even when cors.allowOrigins lists it too.
			if domain := stage.Config.Web.Domain; domain != "" {
				for _, api := range *template.FindResources(jsii.String("AWS::ApiGatewayV2::Api"), nil) {
					origins, _ := json.Marshal((*api)["Properties"].(map[string]any)["CorsConfiguration"].(map[string]any)["AllowOrigins"])
					if n := strings.Count(string(origins), `"https://`+domain+`"`); n != 1 || strings.Contains(string(origins), "WebDistribution") {
						t.Errorf("CORS origins %s: want https://%s once, and not CloudFront's address", origins, domain)
					}
				}
			}
			// The CSP names the tenant; the deployment writes the page and
			// config.json, whose API URL is resolved at deploy time.
			data := string(stack.Template)
			wants := []string{"connect-src 'self' " + strings.TrimSuffix(stage.Issuer, "/"), "frame-ancestors 'none'", "worker-src 'self' blob:"}
			if stage.Config.Domain.Name != "" {
				// The API's URL is known at synth: the CSP names it exactly.
				wants = append(wants, "connect-src 'self' "+strings.TrimSuffix(stage.Issuer, "/")+" https://"+stage.Config.Domain.Name+";")
			} else {
				wants = append(wants, `marker:0xbaba:0`, `.execute-api.`)
			}
			for _, want := range wants {
				if !strings.Contains(data, want) {
					t.Errorf("the template lacks %s", want)
				}
			}
		})
	}
}

// A stage with a domain of its own serves its page on web.domain: CloudFront
// answers on that name with its us-east-1 certificate, SNI and TLSv1.2_2021,
// A and AAAA alias records in the stage's zone point at it, and cdk-nag's
// default-certificate finding (CFR4) is not suppressed. A stage without a
// domain keeps CloudFront's address, and only it has that suppression.
func TestWebPageOnItsOwnDomain(t *testing.T) {
	onDomain := 0
	for name, stack := range shippedStacks(t) {
		config := shippedStage(t, name).Config
		if config.Web.Auth0ClientID == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			web := config.Web
			if web.Domain == "" {
				if config.Domain.Name != "" {
					t.Errorf("stage %s has domain.name %q and a page without web.domain: synth must refuse it", name, config.Domain.Name)
				}
				cdkAssert(t, func() {
					template.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
						"DistributionConfig": map[string]any{"Aliases": assertions.Match_Absent(), "ViewerCertificate": assertions.Match_Absent()},
					})
				})
				if !distributionSuppresses(t, stack, "AwsSolutions-CFR4") {
					t.Error("the page on CloudFront's default certificate lacks its AwsSolutions-CFR4 suppression and reason")
				}
				return
			}
			onDomain++
			if !strings.HasPrefix(web.CertificateARN, "arn:aws:acm:us-east-1:") {
				t.Errorf("web.certificateArn %q: CloudFront takes certificates from us-east-1 only", web.CertificateARN)
			}
			cdkAssert(t, func() {
				template.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
					"DistributionConfig": map[string]any{
						"Aliases": []any{web.Domain},
						"ViewerCertificate": map[string]any{
							"AcmCertificateArn":      web.CertificateARN,
							"MinimumProtocolVersion": "TLSv1.2_2021",
							"SslSupportMethod":       "sni-only",
						},
					},
				})
				for _, recordType := range []string{"A", "AAAA"} {
					template.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), map[string]any{
						"Name": web.Domain + ".", "Type": recordType, "HostedZoneId": config.Domain.HostedZoneID,
						"AliasTarget": map[string]any{
							"DNSName":      map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^WebDistribution")), "DomainName"}},
							"HostedZoneId": assertions.Match_AnyValue(),
						},
					})
				}
			})
			if distributionSuppresses(t, stack, "AwsSolutions-CFR4") {
				t.Error("the page on its own domain still suppresses AwsSolutions-CFR4: cdk-nag must check its TLS policy")
			}
		})
	}
	if onDomain == 0 {
		t.Error("no shipped stage serves its page on its own domain: prod ships an example, so that the tests and snapshots cover it")
	}
}

// distributionSuppresses tells whether the page's distribution suppresses a cdk-nag rule.
func distributionSuppresses(t *testing.T, s *stack, rule string) bool {
	t.Helper()
	var template struct {
		Resources map[string]struct {
			Type     string
			Metadata struct {
				CdkNag struct {
					RulesToSuppress []struct{ ID string } `json:"rules_to_suppress"`
				} `json:"cdk_nag"`
			}
		}
	}
	if err := json.Unmarshal(s.Template, &template); err != nil {
		t.Fatal(err)
	}
	for _, resource := range template.Resources {
		if resource.Type != "AWS::CloudFront::Distribution" {
			continue
		}
		for _, suppressed := range resource.Metadata.CdkNag.RulesToSuppress {
			if suppressed.ID == rule {
				return true
			}
		}
	}
	return false
}

// A stage in us-east-1 with a Route 53 zone needs no web.certificateArn: the
// page's certificate is issued in the stack, with DNS validation in the zone.
func TestWebPageCertificateIssuedInUSEast1(t *testing.T) {
	t.Parallel() // a run of the app of its own
	context := cdkJSONContext(t)
	prod := context[stacks.StagesContextKey].(map[string]any)["prod"].(map[string]any)
	prod["region"] = "us-east-1"
	delete(prod["web"].(map[string]any), "certificateArn")
	context[stacks.StagesContextKey] = map[string]any{"prod": prod}
	delete(context, stacks.GitHubDeployContextKey)
	config := shippedStage(t, "prod").Config
	run := runApp(t, context)
	jsiiKernel.Lock()
	defer jsiiKernel.Unlock()
	template := stackTemplate(t, run.stages(t)["prod"])
	cdkAssert(t, func() {
		template.HasResourceProperties(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{
			"DomainName":              config.Web.Domain,
			"ValidationMethod":        "DNS",
			"DomainValidationOptions": []any{map[string]any{"DomainName": config.Web.Domain, "HostedZoneId": config.Domain.HostedZoneID}},
		})
		template.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
			"DistributionConfig": map[string]any{
				"Aliases": []any{config.Web.Domain},
				"ViewerCertificate": map[string]any{
					"AcmCertificateArn":      map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^WebCertificate"))},
					"MinimumProtocolVersion": "TLSv1.2_2021",
					"SslSupportMethod":       "sni-only",
				},
			},
		})
	})
}

// Each stage has its alarms, notifying an encrypted topic, and a dashboard of
// the same metrics; its logs and key are kept or destroyed as configured, with
// termination protection where they are kept; and its tags are on every
// resource that takes tags.
func TestProductionReadiness(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		config := shippedStage(t, name).Config
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			functions := goFunctions(shippedStage(t, name))
			cdkAssert(t, func() {
				// 5xx, 4xx share, p99 integration latency, and errors and throttles per function.
				template.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(3+2*functions))
				template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"MetricName": "5xx", "Namespace": "AWS/ApiGateway", "Threshold": stacks.Threshold(config.Alarms.ServerErrors, 5),
					"AlarmActions": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^AlarmTopic"))}},
				})
				template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Threshold": stacks.Threshold(config.Alarms.ClientErrorPercent, 25), "Metrics": assertions.Match_AnyValue(),
				})
				template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{"MetricName": "IntegrationLatency", "ExtendedStatistic": "p99"})
				template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{"MetricName": "Throttles", "Namespace": "AWS/Lambda"})
				template.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{"KmsMasterKeyId": assertions.Match_AnyValue()})
				template.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
				template.HasOutput(jsii.String("DashboardUrl"), map[string]any{"Value": assertions.Match_AnyValue()})
				if config.Alarms.Email != "" {
					template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": config.Alarms.Email})
				}
				policy := "Retain"
				if !config.Retains() {
					policy = "Delete"
				}
				template.AllResources(jsii.String("AWS::Logs::LogGroup"), map[string]any{"DeletionPolicy": policy})
				template.AllResources(jsii.String("AWS::KMS::Key"), map[string]any{"DeletionPolicy": policy})
				if len(config.Tags) > 0 {
					for _, resourceType := range []string{"AWS::Lambda::Function", "AWS::KMS::Key", "AWS::SNS::Topic", "AWS::IAM::Role"} {
						template.AllResourcesProperties(jsii.String(resourceType), map[string]any{"Tags": assertions.Match_AnyValue()})
					}
				}
			})
			if got := stack.TerminationProtection; got != config.Retains() {
				t.Errorf("termination protection %v, want %v (it goes with retaining the stage's data)", got, config.Retains())
			}
			data := string(stack.Template)
			for key, value := range config.Tags {
				if !strings.Contains(data, `{"Key":"`+key+`","Value":"`+value+`"}`) {
					t.Errorf("tag %s=%s is on no resource", key, value)
				}
			}
		})
	}
	if stages := cdkJSONContext(t)[stacks.StagesContextKey].(map[string]any); stages["dev"].(map[string]any)["removalPolicy"] != "destroy" || stages["prod"].(map[string]any)["removalPolicy"] != "retain" {
		t.Error("the shipped dev destroys its data, and prod retains it")
	}
}

// A stage with a custom domain is reached through it only: a regional domain
// name with TLS 1.2, mapped to the stage, alias records in the zone, the
// execute-api endpoint disabled, and ApiUrl the domain's.
func TestCustomDomain(t *testing.T) {
	withDomain := 0
	for name, stack := range shippedStacks(t) {
		domain := shippedStage(t, name).Config.Domain
		t.Run(name, func(t *testing.T) {
			template := stackTemplate(t, stack)
			cdkAssert(t, func() {
				template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"DisableExecuteApiEndpoint": domain.Name != ""})
				if domain.Name == "" {
					template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::DomainName"), jsii.Number(0))
					return
				}
				template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), map[string]any{
					"DomainName":               domain.Name,
					"DomainNameConfigurations": []any{map[string]any{"EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2", "CertificateArn": assertions.Match_AnyValue()}},
				})
				template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::ApiMapping"), jsii.Number(1))
				if domain.CertificateARN == "" {
					template.HasResourceProperties(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{"DomainName": domain.Name, "ValidationMethod": "DNS"})
				}
				if domain.HostedZoneID != "" {
					for _, recordType := range []string{"A", "AAAA"} {
						template.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), map[string]any{"Name": domain.Name + ".", "Type": recordType, "HostedZoneId": domain.HostedZoneID, "AliasTarget": assertions.Match_AnyValue()})
					}
				}
				template.HasOutput(jsii.String("ApiUrl"), map[string]any{"Value": "https://" + domain.Name + "/"})
			})
		})
		if domain.Name != "" {
			withDomain++
		}
	}
	if withDomain == 0 {
		t.Error("no shipped stage has a custom domain: prod ships an example, so that the snapshots cover it")
	}
}

// A stage that is its own issuer publishes the previous, the current and the
// next key generation; only the current one may sign, and it is the one the
// outputs name, so that a rotation makes sign a key that was already published.
func TestSelfHostedIssuerPublishesTheNextKeyAheadOfSigning(t *testing.T) {
	t.Parallel() // a run of the app of its own
	context := cdkJSONContext(t)
	context["stages.ci.selfHostedIssuer.keyGeneration"] = "2"
	var template struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
		Outputs map[string]struct{ Value any }
	}
	if err := json.Unmarshal(runApp(t, context).stages(t)["ci"].Template, &template); err != nil {
		t.Fatal(err)
	}
	generation := map[string]string{} // logical ID -> "generation N"
	var signers []string
	for id, r := range template.Resources {
		description, _ := r.Properties["Description"].(string)
		if r.Type != "AWS::KMS::Key" || !strings.Contains(description, "key generation") {
			continue
		}
		generation[id] = description[strings.LastIndex(description, "key generation"):]
		policy, _ := json.Marshal(r.Properties["KeyPolicy"])
		if strings.Contains(string(policy), `"kms:Sign"`) {
			signers = append(signers, generation[id])
		}
	}
	if got := slices.Sorted(maps.Values(generation)); fmt.Sprint(got) != "[key generation 1 key generation 2 key generation 3]" {
		t.Errorf("issuer keys %v, want generations 1, 2 and 3", got)
	}
	if fmt.Sprint(signers) != "[key generation 2]" {
		t.Errorf("keys whose policy allows kms:Sign: %v, want only generation 2", signers)
	}
	signing, _ := json.Marshal(template.Outputs["IssuerKeyArn"].Value)
	published := ""
	for _, r := range template.Resources {
		if variables, ok := r.Properties["Environment"].(map[string]any); ok {
			if arns, ok := variables["Variables"].(map[string]any)["KEY_ARNS"]; ok {
				raw, _ := json.Marshal(arns)
				published = string(raw)
			}
		}
	}
	for id, g := range generation {
		if !strings.Contains(published, id) {
			t.Errorf("%s (%s) is not published in KEY_ARNS: %s", id, g, published)
		}
		if strings.Contains(string(signing), id) != (g == "key generation 2") {
			t.Errorf("IssuerKeyArn is %s; want generation 2's key", signing)
		}
	}
}
