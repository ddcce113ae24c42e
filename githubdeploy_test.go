package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/auth0-http-api/cdk/stacks"
)

// gitHubDeploy is the GitHubDeploy stack of a run of the app.
func gitHubDeploy(t *testing.T, run *appRun) *stack {
	t.Helper()
	deploy := run.stacks[stacks.GitHubDeployStackID]
	if deploy == nil {
		t.Fatalf("the app has no %s stack: is there a %q object in the context?\n%s", stacks.GitHubDeployStackID, stacks.GitHubDeployContextKey, run.Output)
	}
	return deploy
}

func shippedGitHubDeploy(t *testing.T) assertions.Template {
	t.Helper()
	return stackTemplate(t, gitHubDeploy(t, shipped(t)))
}

func TestSnapshotsGitHubDeploy(t *testing.T) {
	compareGolden(t, "github-deploy.template.json", normalizeTemplate(t, gitHubDeploy(t, shipped(t)).Template))
}

// Only jobs of the configured repository running in a stage's environment
// may assume the role, and it may only assume the CDK bootstrap roles.
func TestGitHubDeployRoleIsLimitedToTheRepositoryAndTheBootstrapRoles(t *testing.T) {
	template := shippedGitHubDeploy(t)
	stages, err := stacks.LoadStages(cdkJSONContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var subjects []any
	for _, stage := range stages {
		subjects = append(subjects, "repo:example-org/auth0-http-api:environment:"+stage.Name)
	}
	cdkAssert(t, func() {
		template.ResourceCountIs(jsii.String("AWS::IAM::OIDCProvider"), jsii.Number(1))
		template.HasResourceProperties(jsii.String("AWS::IAM::OIDCProvider"), map[string]any{
			"Url": "https://token.actions.githubusercontent.com", "ClientIdList": []any{"sts.amazonaws.com"},
		})
		template.ResourceCountIs(jsii.String("AWS::IAM::Role"), jsii.Number(1))
		template.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"RoleName":           "github-deploy-auth0-http-api",
			"MaxSessionDuration": 3600,
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
				"Action": "sts:AssumeRoleWithWebIdentity",
				"Effect": "Allow",
				"Condition": map[string]any{"StringEquals": map[string]any{
					"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
					"token.actions.githubusercontent.com:sub": subjects,
				}},
				"Principal": map[string]any{"Federated": assertions.Match_AnyValue()},
			}}},
		})
		template.ResourceCountIs(jsii.String("AWS::IAM::ManagedPolicy"), jsii.Number(0))
	})
	// The one policy allows sts:AssumeRole on cdk-<qualifier>-*-role-<account>-<region>, nothing else.
	for _, policy := range *template.FindResources(jsii.String("AWS::IAM::Policy"), nil) {
		statements := (*policy)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)
		if len(statements) != 1 {
			t.Fatalf("the deploy role has %d statements, want 1: %v", len(statements), statements)
		}
		statement := statements[0].(map[string]any)
		if statement["Action"] != "sts:AssumeRole" || statement["Effect"] != "Allow" {
			t.Errorf("the deploy role's statement is %v, want Allow sts:AssumeRole", statement)
		}
		resources := statement["Resources"]
		if resources == nil {
			resources = statement["Resource"]
		}
		roles := resources.([]any)
		// Two regions: the stack's own, for the environment-agnostic stages, and prod's eu-west-1.
		if len(roles) != 8 {
			t.Errorf("the deploy role may assume %d roles, want the 4 bootstrap roles of 2 regions", len(roles))
		}
		for _, role := range roles {
			arn := flattenJoin(role)
			if strings.Contains(arn, "*") || !strings.Contains(arn, ":role/cdk-hnb659fds-") {
				t.Errorf("the deploy role may assume %s: only the CDK bootstrap roles, named exactly", arn)
			}
		}
	}
}

// flattenJoin renders an Fn::Join of strings and Refs as text, such as
// arn:${AWS::Partition}:iam::${AWS::AccountId}:role/….
func flattenJoin(value any) string {
	join, ok := value.(map[string]any)["Fn::Join"].([]any)
	if !ok {
		s, _ := value.(string)
		return s
	}
	var out strings.Builder
	for _, part := range join[1].([]any) {
		switch p := part.(type) {
		case string:
			out.WriteString(p)
		case map[string]any:
			out.WriteString("${" + p["Ref"].(string) + "}")
		}
	}
	return out.String()
}

func TestGitHubDeployUsesAnExistingProvider(t *testing.T) {
	t.Parallel() // a run of the app of its own
	context := cdkJSONContext(t)
	context[stacks.GitHubDeployContextKey] = map[string]any{
		"repository":         "acme/api",
		"oidcProviderArn":    "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
		"bootstrapQualifier": "acme1",
	}
	run := runApp(t, context)
	jsiiKernel.Lock()
	defer jsiiKernel.Unlock()
	template := stackTemplate(t, gitHubDeploy(t, run))
	cdkAssert(t, func() {
		template.ResourceCountIs(jsii.String("AWS::IAM::OIDCProvider"), jsii.Number(0))
		template.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"RoleName": "github-deploy-api",
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{assertions.Match_ObjectLike(&map[string]any{
				"Principal": map[string]any{"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
			})}},
		})
	})
	for _, policy := range *template.FindResources(jsii.String("AWS::IAM::Policy"), nil) {
		for _, role := range (*policy)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)["Resource"].([]any) {
			if arn := flattenJoin(role); !strings.Contains(arn, ":role/cdk-acme1-") {
				t.Errorf("with bootstrapQualifier acme1, the role may assume %s", arn)
			}
		}
	}
}

func TestGitHubDeployConfigErrors(t *testing.T) {
	stages, err := stacks.LoadStages(cdkJSONContext(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		value any
		want  string
	}{
		"not an object":       {[]any{"acme/api"}, `context "githubDeploy": expected an object with the repository`},
		"repository missing":  {map[string]any{}, `githubDeploy.repository: "" is not a GitHub repository: expected owner/name`},
		"repository URL":      {map[string]any{"repository": "https://github.com/acme/api"}, `githubDeploy.repository: "https://github.com/acme/api" is not a GitHub repository`},
		"unknown setting":     {map[string]any{"repository": "acme/api", "branch": "main"}, `githubDeploy.branch: unknown setting`},
		"provider of another": {map[string]any{"repository": "acme/api", "oidcProviderArn": "arn:aws:iam::111122223333:oidc-provider/accounts.google.com"}, `githubDeploy.oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/accounts.google.com" is not the ARN of a GitHub OIDC provider`},
		"long qualifier":      {map[string]any{"repository": "acme/api", "bootstrapQualifier": "much-too-long"}, `githubDeploy.bootstrapQualifier: "much-too-long" is not a bootstrap qualifier`},
		"bad JSON from -c":    {`{"repository":`, `context "githubDeploy": expected a JSON object`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := stacks.LoadGitHubDeploy(map[string]any{stacks.GitHubDeployContextKey: c.value}, stages)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
	deploy, err := stacks.LoadGitHubDeploy(map[string]any{}, stages)
	if deploy != nil || err != nil {
		t.Errorf("without githubDeploy in cdk.json: got %v, %v; want no stack and no error", deploy, err)
	}
	deploy, err = stacks.LoadGitHubDeploy(map[string]any{stacks.GitHubDeployContextKey: `{"repository":"acme/api"}`}, stages)
	if err != nil || deploy.Config.Repository != "acme/api" || len(deploy.Warnings) != 0 {
		t.Errorf("-c githubDeploy='{\"repository\":\"acme/api\"}': got %+v, %v", deploy, err)
	}
}
