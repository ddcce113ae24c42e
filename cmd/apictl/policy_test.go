package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The report is cfn-guard's real output for the dev stage, trimmed of its
// compliant rules; the template is the dev snapshot, whose logical IDs match.
func devFindings(t *testing.T) []finding {
	t.Helper()
	report, err := os.ReadFile("testdata/cfn-guard-dev-report.json")
	if err != nil {
		t.Fatal(err)
	}
	types, err := resourceTypes(filepath.Join("..", "..", "testdata", "dev.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	findings, err := guardFindings("dev", report, types)
	if err != nil {
		t.Fatal(err)
	}
	return findings
}

func TestGuardFindingsNameRuleAndResource(t *testing.T) {
	findings := devFindings(t)
	want := map[string]string{
		"api_gw_v2_authorization_type_configured_check HttpApiGETpublic3FB86B72": "AWS::ApiGatewayV2::Route",
		"cloudwatch_log_group_retention_period_check AccessLogs8B620ECA":         "AWS::Logs::LogGroup",
		"lambda_inside_vpc_check GreetingFunction10CB808C":                       "AWS::Lambda::Function",
	}
	got := map[string]string{}
	for _, f := range findings {
		got[f.rule+" "+f.resource] = f.resourceType
	}
	for key, resourceType := range want {
		if got[key] != resourceType {
			t.Errorf("finding %q: type %q, want %q (all: %v)", key, got[key], resourceType, got)
		}
	}
	if len(findings) != 10 {
		t.Errorf("%d findings, want the 10 of the report", len(findings))
	}
}

func TestShippedWaiversCoverDevAndStayStageSpecific(t *testing.T) {
	waivers, err := loadWaivers(filepath.Join("..", "..", "cfn-guard-waivers.json"))
	if err != nil {
		t.Fatal(err)
	}
	findings := devFindings(t)
	applyWaivers(findings, waivers)
	for _, f := range findings {
		if f.waiver == nil {
			t.Errorf("dev finding %s on %s is not waived", f.rule, f.resource)
		}
	}
	// The short-retention waiver is for dev only: the same finding in another stage fails.
	qa := []finding{{stage: "qa", rule: "cloudwatch_log_group_retention_period_check", resource: "AccessLogs", resourceType: "AWS::Logs::LogGroup"}}
	applyWaivers(qa, waivers)
	if qa[0].waiver != nil {
		t.Error("the dev-only retention waiver covered stage qa")
	}
	// A rule nobody waived fails.
	other := []finding{{stage: "dev", rule: "kms_create_grant_aws_service_check", resource: "LogKey", resourceType: "AWS::KMS::Key"}}
	applyWaivers(other, waivers)
	if other[0].waiver != nil {
		t.Error("an unwaived rule was waived")
	}
}

func TestWaiversNeedAReason(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waivers.json")
	for name, content := range map[string]string{
		"no reason":     `{"waivers":[{"rule":"r","resourceType":"AWS::Lambda::Function"}]}`,
		"thin reason":   `{"waivers":[{"rule":"r","resourceType":"AWS::Lambda::Function","reason":"not needed"}]}`,
		"unknown field": `{"waivers":[{"rule":"r","resourceType":"T","reason":"a b c d e f g h","ruleset":"x"}]}`,
	} {
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := loadWaivers(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPolicyReportsFailuresAndUnusedWaivers(t *testing.T) {
	waivers := []*waiver{
		{Rule: "lambda_inside_vpc_check", ResourceType: "AWS::Lambda::Function", Reason: "r"},
		{Rule: "no_such_rule", ResourceType: "AWS::Lambda::Function", Reason: "r"},
	}
	findings := devFindings(t)
	applyWaivers(findings, waivers)
	if !waivers[0].used || waivers[1].used {
		t.Errorf("used flags: %v %v", waivers[0].used, waivers[1].used)
	}
	if n := countUnwaived(findings); n != 8 {
		t.Errorf("%d unwaived findings, want 8", n)
	}
}

func TestHelpListsCommands(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "policy") {
		t.Errorf("help: exit %d, output %q", code, out.String())
	}
	if code := run([]string{"nope"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut.String())
	}
}

// A stack outside any stage, such as GitHubDeploy, is checked under its name
// with the real cfn-guard, next to the stages, in the same run.
func TestPolicyChecksStacksOutsideAStage(t *testing.T) {
	t.Parallel() // cfn-guard runs as a process of its own
	cdkOut := t.TempDir()
	logGroup := `{"Resources":{"Logs":{"Type":"AWS::Logs::LogGroup","Properties":{}}}}`
	for path, content := range map[string]string{
		"assembly-Dev/DevApi.template.json": logGroup,
		"Outside.template.json":             logGroup,
		"waivers.json":                      `{"waivers":[]}`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(cdkOut, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cdkOut, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	guard := filepath.Join("..", "..", "node_modules", "@cdklabs", "cdk-validator-cfnguard")
	if _, err := os.Stat(guard); err != nil {
		t.Fatalf("cfn-guard's npm package is missing at %s: run `npm ci` (make does it)", guard)
	}
	findings, _, err := checkPolicy(cdkOut, []string{"dev"}, filepath.Join(cdkOut, "waivers.json"), guard)
	if err != nil {
		t.Fatal(err)
	}
	// Both templates go to one cfn-guard run; each finding is the right stack's.
	found := map[string]bool{}
	for _, f := range findings {
		found[f.stage+" "+f.rule+" "+f.resource] = true
	}
	if !found["Outside cloudwatch_log_group_encrypted_check Logs"] {
		t.Errorf("an unencrypted log group in a stack outside a stage gave no finding: %+v", findings)
	}
	if !found["dev cloudwatch_log_group_encrypted_check Logs"] {
		t.Errorf("an unencrypted log group in the dev stage gave no finding: %+v", findings)
	}
}
