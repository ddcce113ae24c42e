// Package wiring proves at synth that every runtime path of a stage is
// allowed as AWS evaluates IAM: API Gateway invoking the functions, alarms
// publishing to their topic, CloudWatch Logs using the log key, CloudFront
// reading the page, the page's deployment, the signers, and GitHub assuming
// the deploy role. It finds the paths by walking the synthesized templates,
// pairs each with neighbours that must be refused, and has an IAM policy
// simulator decide every request (simulate.mjs).
package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// AssemblyPaths finds the paths of the named stages in a cloud assembly, and
// of the GitHubDeploy stack when the assembly has one.
func AssemblyPaths(root, cdkOut string, stages []string) ([]Path, error) {
	context, err := apitemplate.CDKJSONContext(root)
	if err != nil {
		return nil, err
	}
	var paths []Path
	var regions []string
	for _, stage := range stages {
		template, err := apitemplate.TemplatePath(cdkOut, stage)
		if err != nil {
			return nil, err
		}
		t, err := readTemplate(template)
		if err != nil {
			return nil, err
		}
		found, err := StagePaths(stage, t, signers(context, stage))
		if err != nil {
			return nil, err
		}
		paths = append(paths, found...)
		region := t.Env.Region
		if region == PlaceholderRegion && !t.Env.regionSet {
			region = "" // the CLI's region
		}
		regions = append(regions, region)
	}
	all, err := apitemplate.Stages(root)
	if err != nil {
		return nil, err
	}
	if _, asked := context[apitemplate.GitHubDeployContextKey]; !asked || !slices.Equal(all, stages) {
		return paths, nil // no deploy role, or one stage asked for: the role serves them all
	}
	t, err := readTemplate(filepath.Join(cdkOut, "GitHubDeploy.template.json"))
	if err != nil {
		return nil, fmt.Errorf("cdk.json asks for the GitHubDeploy stack, and its template cannot be read (run `make synth`): %w", err)
	}
	settings, _ := context[apitemplate.GitHubDeployContextKey].(map[string]any)
	repository, _ := settings["repository"].(string)
	qualifier, _ := settings["bootstrapQualifier"].(string)
	found, err := GitHubPaths(t, GitHubDeploy{Repository: repository, Environments: stages, Regions: regions, Qualifier: qualifier})
	return append(paths, found...), err
}

// signers are the principals cdk.json lets sign a stage's tokens.
func signers(context map[string]any, stage string) []string {
	stages, _ := context[apitemplate.StagesContextKey].(map[string]any)
	config, _ := stages[stage].(map[string]any)
	issuer, _ := config["selfHostedIssuer"].(map[string]any)
	return stringList(issuer["signers"])
}

// readTemplate reads a stack's template, and its name and environment from
// the manifest beside it.
func readTemplate(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	manifestData, err := os.ReadFile(filepath.Join(filepath.Dir(path), "manifest.json"))
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Artifacts map[string]struct {
			Type        string
			Environment string
			Properties  struct{ TemplateFile, StackName string }
		}
	}
	if err := json.Unmarshal(manifestData, &manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(filepath.Dir(path), "manifest.json"), err)
	}
	for id, artifact := range manifest.Artifacts {
		if artifact.Type != "aws:cloudformation:stack" || artifact.Properties.TemplateFile != filepath.Base(path) {
			continue
		}
		name := artifact.Properties.StackName
		if name == "" {
			name = id
		}
		env := Env{Account: PlaceholderAccount, Region: PlaceholderRegion}
		account, region, _ := strings.Cut(strings.TrimPrefix(artifact.Environment, "aws://"), "/")
		if account != "unknown-account" && account != "" {
			env.Account = account
		}
		if region != "unknown-region" && region != "" {
			env.Region, env.regionSet = region, true
		}
		return ParseTemplate(data, name, env)
	}
	return nil, fmt.Errorf("%s: the manifest beside it names no stack with this template", path)
}

// Verdict is the simulator's decision on one request.
type Verdict struct {
	Decision string   `json:"decision"` // Allowed, ImplicitlyDenied or ExplicitlyDenied
	Why      []string `json:"why"`
	Error    string   `json:"error"`
}

// Result is a path with the verdicts on its requests.
type Result struct {
	Path
	Verdicts []Verdict
}

// Allowed tells whether AWS lets the path through: every request allowed.
func (r Result) Allowed() bool {
	return !slices.ContainsFunc(r.Verdicts, func(v Verdict) bool { return v.Decision != "Allowed" })
}

// Holds tells whether the path is as it must be: allowed, or for a
// neighbour, refused.
func (r Result) Holds() bool { return r.Allowed() != r.Neighbour }

// Evaluate has the simulator decide every request of the paths, in one run.
func Evaluate(ctx context.Context, root string, paths []Path) ([]Result, error) {
	var requests []Request
	for _, p := range paths {
		requests = append(requests, p.Steps...)
	}
	verdicts, err := simulate(ctx, root, requests)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(paths))
	next := 0
	for i, p := range paths {
		results[i] = Result{Path: p, Verdicts: verdicts[next : next+len(p.Steps)]}
		next += len(p.Steps)
		for j, v := range results[i].Verdicts {
			if v.Error != "" {
				return nil, fmt.Errorf("stage %s, %s: the simulator refused the request itself: %s\n%s", p.Stage, p.Name, v.Error, describe(p.Steps[j]))
			}
		}
	}
	return results, nil
}

// SimulatorPackage is the npm package of the IAM policy simulator.
const SimulatorPackage = "@cloud-copilot/iam-simulate"

func simulate(ctx context.Context, root string, requests []Request) ([]Verdict, error) {
	if _, err := os.Stat(filepath.Join(root, "node_modules", SimulatorPackage)); err != nil {
		return nil, fmt.Errorf("the IAM policy simulator %s is not installed: run `npm ci` at the module root", SimulatorPackage)
	}
	input, err := json.Marshal(requests)
	if err != nil {
		return nil, err
	}
	node := filepath.Join(root, "node_modules", ".bin", "node")
	if _, err := os.Stat(node); err != nil {
		node = "node"
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "internal", "wiring", "simulate.mjs"))
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	output, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("the IAM policy simulator failed: %v\n%s", err, stderr.String())
	}
	var verdicts []Verdict
	if err := json.Unmarshal(output, &verdicts); err != nil || len(verdicts) != len(requests) {
		return nil, fmt.Errorf("the IAM policy simulator answered %d verdicts for %d requests (%v)", len(verdicts), len(requests), err)
	}
	return verdicts, nil
}

// describe writes a request in plain words: who calls what on what, with
// which keys.
func describe(r Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    request: %s calls %s on %s\n", r.Principal, r.Action, r.Resource)
	if len(r.Context) > 0 {
		keys := make([]string, 0, len(r.Context))
		for k := range r.Context {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var pairs []string
		for _, k := range keys {
			value, _ := json.Marshal(r.Context[k])
			pairs = append(pairs, k+"="+string(value))
		}
		fmt.Fprintf(&b, "    with the keys: %s\n", strings.Join(pairs, ", "))
	}
	var weighed []string
	for _, p := range r.IdentityPolicies {
		weighed = append(weighed, p.Name)
	}
	if r.ResourcePolicy != nil {
		weighed = append(weighed, r.ResourcePolicy.Name)
	}
	if len(weighed) == 0 {
		weighed = append(weighed, "no policy at all")
	}
	fmt.Fprintf(&b, "    policies weighed: %s\n", strings.Join(weighed, "; "))
	return b.String()
}

// Failure explains a path that does not hold: the stage, the path, and for
// each request that decided it, the request and which policy decided.
func (r Result) Failure() string {
	var b strings.Builder
	if r.Neighbour {
		fmt.Fprintf(&b, "stage %s: %s is ALLOWED, and must be refused: %s\n", r.Stage, r.Name, r.Why)
	} else {
		fmt.Fprintf(&b, "stage %s: %s is REFUSED, and must be allowed\n", r.Stage, r.Name)
	}
	for i, v := range r.Verdicts {
		if r.Neighbour == (v.Decision != "Allowed") {
			continue // not a request that decided the failure
		}
		b.WriteString(describe(r.Steps[i]))
		fmt.Fprintf(&b, "    decision: %s\n", v.Decision)
		for _, why := range v.Why {
			fmt.Fprintf(&b, "      - %s\n", why)
		}
	}
	return b.String()
}

// Report writes every path with its outcome, a stage at a time, then the
// failures in full. It returns how many paths do not hold.
func Report(w io.Writer, results []Result) int {
	failed := 0
	stage := ""
	for _, r := range results {
		if r.Stage != stage {
			stage = r.Stage
			fmt.Fprintf(w, "\n%s\n", stage)
		}
		outcome := "allowed"
		if !r.Allowed() {
			outcome = "refused"
		}
		note := ""
		if r.Neighbour {
			note = " (must be refused: " + r.Why + ")"
		}
		mark := "  "
		if !r.Holds() {
			mark, failed = "✗ ", failed+1
		}
		fmt.Fprintf(w, "%s%-8s %s%s\n", mark, outcome, r.Name, note)
	}
	for _, r := range results {
		if !r.Holds() {
			fmt.Fprintf(w, "\nFAIL %s", r.Failure())
		}
	}
	fmt.Fprintf(w, "\nwiring: %d paths, %d must be allowed and %d refused; %d do not hold\n", len(results),
		len(results)-countNeighbours(results), countNeighbours(results), failed)
	return failed
}

func countNeighbours(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Neighbour {
			n++
		}
	}
	return n
}
