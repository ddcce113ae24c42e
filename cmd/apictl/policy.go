package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// waiver excuses one guard rule for the resources of one type, in the listed
// stages or in all of them. Its reason is printed with every finding it covers.
type waiver struct {
	Rule         string   `json:"rule"`
	ResourceType string   `json:"resourceType"`
	Stages       []string `json:"stages,omitempty"`
	Reason       string   `json:"reason"`
	used         bool
}

// finding is one resource that one guard rule found non-compliant.
type finding struct {
	stage, rule, resource, resourceType string
	waiver                              *waiver
}

func runPolicy(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("policy", stderr)
	waiversPath := flags.String("waivers", "cfn-guard-waivers.json", "the documented waivers")
	guardPackage := flags.String("guard-package", "node_modules/@cdklabs/cdk-validator-cfnguard", "the npm package that ships cfn-guard and the Control Tower rules")
	if flags.Parse(args) != nil {
		return 2
	}
	err := p.resolve(waiversPath, guardPackage)
	var stages []string
	if err == nil {
		stages, err = apitemplate.Stages(p.root)
	}
	var findings []finding
	var waivers []*waiver
	if err == nil {
		findings, waivers, err = checkPolicy(p.cdkOut, stages, *waiversPath, *guardPackage)
	}
	if err != nil {
		fmt.Fprintln(stderr, "apictl policy:", err)
		return 1
	}

	failed := 0
	table := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "STAGE\tRULE\tRESOURCE\tRESULT")
	for _, f := range findings {
		result := "FAIL: fix it, or waive it in " + *waiversPath + " with the reason"
		if f.waiver != nil {
			result = fmt.Sprintf("waived (#%d)", slices.Index(waivers, f.waiver)+1)
		} else {
			failed++
		}
		fmt.Fprintf(table, "%s\t%s\t%s (%s)\t%s\n", f.stage, f.rule, f.resource, f.resourceType, result)
	}
	table.Flush()
	fmt.Fprintf(stdout, "\nwaivers (%s):\n", *waiversPath)
	for i, w := range waivers {
		fmt.Fprintf(stdout, "#%d %s on %s: %s\n", i+1, w.Rule, w.ResourceType, w.Reason)
		if !w.used {
			failed++
			fmt.Fprintf(stdout, "   FAIL: this waiver matched nothing: remove it\n")
		}
	}
	fmt.Fprintf(stdout, "policy: %d finding(s), %d waived, %d failure(s)\n", len(findings), len(findings)-countUnwaived(findings), failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func countUnwaived(findings []finding) int {
	n := 0
	for _, f := range findings {
		if f.waiver == nil {
			n++
		}
	}
	return n
}

// checkPolicy runs cfn-guard over each stage's template, and each stack's
// outside a stage, and applies the waivers. A stage without a template is an
// error: synth must cover them all.
func checkPolicy(cdkOut string, stages []string, waiversPath, guardPackage string) ([]finding, []*waiver, error) {
	waivers, err := loadWaivers(waiversPath)
	if err != nil {
		return nil, nil, err
	}
	binary, err := guardBinary(guardPackage)
	if err != nil {
		return nil, nil, err
	}
	rules := filepath.Join(guardPackage, "rules", "control-tower", "cfn-guard")
	templates := map[string]string{}
	for _, stage := range stages {
		template, err := apitemplate.TemplatePath(cdkOut, stage)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (run `make synth` first)", err)
		}
		templates[stage] = template
	}
	// The stacks outside a stage, such as GitHubDeploy, are checked too,
	// under their stack name.
	outside, _ := filepath.Glob(filepath.Join(cdkOut, "*.template.json"))
	for _, template := range outside {
		templates[strings.TrimSuffix(filepath.Base(template), ".template.json")] = template
	}
	// One cfn-guard run over every template: loading the rules is most of
	// the cost of a run (about a second here).
	args := []string{"validate", "--rules", rules, "--structured", "--show-summary", "none", "--output-format", "json"}
	stageOf := map[string]string{} // absolute template path -> stage
	for stage, template := range templates {
		absolute, err := filepath.Abs(template)
		if err != nil {
			return nil, nil, err
		}
		stageOf[absolute] = stage
		args = append(args, "--data", absolute)
	}
	output, err := exec.Command(binary, args...).Output()
	// cfn-guard exits 19 when rules fail; anything else but 0 is a broken run.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 19) {
		return nil, nil, fmt.Errorf("%s over %s: %v\n%s", binary, cdkOut, err, stderrOf(err))
	}
	var reports []json.RawMessage
	if err := json.Unmarshal(output, &reports); err != nil {
		return nil, nil, fmt.Errorf("cfn-guard's report is not the expected JSON: %w", err)
	}
	var findings []finding
	for _, report := range reports {
		var named struct{ Name string }
		_ = json.Unmarshal(report, &named)
		stage, known := stageOf[named.Name]
		if !known {
			return nil, nil, fmt.Errorf("cfn-guard reported on %q, which is none of the templates it was given", named.Name)
		}
		delete(stageOf, named.Name)
		types, err := resourceTypes(named.Name)
		if err != nil {
			return nil, nil, err
		}
		stageFindings, err := guardFindings(stage, []byte("["+string(report)+"]"), types)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", named.Name, err)
		}
		findings = append(findings, stageFindings...)
	}
	if len(stageOf) > 0 {
		return nil, nil, fmt.Errorf("cfn-guard gave no report on %s", strings.Join(slices.Sorted(maps.Keys(stageOf)), ", "))
	}
	sortFindings(findings)
	applyWaivers(findings, waivers)
	return findings, waivers, nil
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}

func loadWaivers(path string) ([]*waiver, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct{ Waivers []*waiver }
	decoder := json.NewDecoder(strings.NewReader(string(data)))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, w := range file.Waivers {
		if w.Rule == "" || w.ResourceType == "" || len(strings.Fields(w.Reason)) < 8 {
			return nil, fmt.Errorf("%s: waiver %d needs a rule, a resourceType and a reason a reviewer would accept (8 words or more)", path, i)
		}
	}
	return file.Waivers, nil
}

// guardBinary finds the cfn-guard executable that the npm package ships for this machine.
func guardBinary(pkg string) (string, error) {
	system := map[string]string{"linux": "ubuntu", "darwin": "macos"}[runtime.GOOS]
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	binary := filepath.Join(pkg, "bin", system, arch, "cfn-guard")
	if _, err := os.Stat(binary); err != nil {
		return "", fmt.Errorf("cfn-guard not found at %s: run `npm ci` (it comes with @cdklabs/cdk-validator-cfnguard)", binary)
	}
	return binary, nil
}

func resourceTypes(template string) (map[string]string, error) {
	data, err := os.ReadFile(template)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Resources map[string]struct{ Type string }
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", template, err)
	}
	types := map[string]string{}
	for id, r := range doc.Resources {
		types[id] = r.Type
	}
	return types, nil
}

var resourcePath = regexp.MustCompile(`/Resources/([A-Za-z0-9]+)`)

// guardFindings reads cfn-guard's structured JSON report: one finding for each
// resource that each non-compliant rule names.
func guardFindings(stage string, output []byte, types map[string]string) ([]finding, error) {
	var reports []struct {
		NotCompliant []map[string]json.RawMessage `json:"not_compliant"`
	}
	if err := json.Unmarshal(output, &reports); err != nil {
		return nil, fmt.Errorf("cfn-guard's report is not the expected JSON: %w", err)
	}
	var findings []finding
	for _, report := range reports {
		for _, entry := range report.NotCompliant {
			for _, body := range entry {
				var named struct{ Name string }
				_ = json.Unmarshal(body, &named)
				resources := map[string]bool{}
				for _, match := range resourcePath.FindAllStringSubmatch(string(body), -1) {
					resources[match[1]] = true
				}
				if len(resources) == 0 {
					resources["(template)"] = true
				}
				for resource := range resources {
					findings = append(findings, finding{stage: stage, rule: named.Name, resource: resource, resourceType: types[resource]})
				}
			}
		}
	}
	sortFindings(findings)
	return findings, nil
}

func sortFindings(findings []finding) {
	sort.Slice(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		return a.stage+a.rule+a.resource < b.stage+b.rule+b.resource
	})
}

func applyWaivers(findings []finding, waivers []*waiver) {
	for i := range findings {
		f := &findings[i]
		for _, w := range waivers {
			if w.Rule == f.rule && w.ResourceType == f.resourceType && (len(w.Stages) == 0 || slices.Contains(w.Stages, f.stage)) {
				f.waiver, w.used = w, true
				break
			}
		}
	}
}
