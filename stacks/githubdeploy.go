package stacks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// GitHubDeployContextKey is the cdk.json context object that configures the
// GitHubDeploy stack: the AWS side of the delivery pipeline in .github/workflows.
const GitHubDeployContextKey = apitemplate.GitHubDeployContextKey

// GitHubDeployStackID is the stack's construct ID and name: deploy it once per
// account with `npx cdk deploy GitHubDeploy`.
const GitHubDeployStackID = "GitHubDeploy"

const (
	gitHubTokenIssuer = "token.actions.githubusercontent.com"
	// stsAudience is the audience aws-actions/configure-aws-credentials asks
	// GitHub to put in its token.
	stsAudience = "sts.amazonaws.com"
	// defaultBootstrapQualifier is the one `cdk bootstrap` uses unless told otherwise.
	defaultBootstrapQualifier = "hnb659fds"
	maxRoleNameLength         = 64
)

var (
	// GitHub's rules for an owner (39 characters) and a repository name (100).
	repositoryPattern      = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
	oidcProviderARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/` + regexp.QuoteMeta(gitHubTokenIssuer) + `$`)
	qualifierPattern       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,10}$`)
)

// GitHubDeployConfig is cdk.json's "githubDeploy" object.
type GitHubDeployConfig struct {
	// Repository is the GitHub repository, owner/name, whose workflows may deploy.
	Repository string `json:"repository"`
	// OIDCProviderARN names the account's GitHub OIDC provider when it has one
	// already: IAM holds one provider per URL and account.
	OIDCProviderARN string `json:"oidcProviderArn,omitempty"`
	// BootstrapQualifier is `cdk bootstrap --qualifier`, when not the default.
	BootstrapQualifier string `json:"bootstrapQualifier,omitempty"`
}

// GitHubDeploy is the validated configuration of the GitHubDeploy stack.
type GitHubDeploy struct {
	Config GitHubDeployConfig
	// Environments are the GitHub environments that may assume the role: one
	// per stage, named like it.
	Environments []string
	// Regions are the regions whose bootstrap roles the role may assume; ""
	// stands for the region the stack is deployed in.
	Regions  []string
	Warnings []string
}

// LoadGitHubDeploy reads the "githubDeploy" context object. It returns nil
// when there is none: the app then has no GitHubDeploy stack.
func LoadGitHubDeploy(context map[string]any, stages []Stage) (*GitHubDeploy, error) {
	raw, present := context[GitHubDeployContextKey]
	if !present {
		return nil, nil
	}
	if text, ok := raw.(string); ok { // as `-c githubDeploy='{...}'` passes it
		var parsed any
		if err := json.Unmarshal([]byte(text), &parsed); err != nil {
			return nil, fmt.Errorf("context %q: expected a JSON object: %v", GitHubDeployContextKey, err)
		}
		raw = parsed
	}
	object, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("context %q: expected an object with the repository, such as {\"repository\": \"my-org/my-api\"}, got %s", GitHubDeployContextKey, jsonKind(raw))
	}
	var problems []string
	fail := func(field, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s.%s: %s", GitHubDeployContextKey, field, fmt.Sprintf(format, args...)))
	}
	for _, unknown := range unknownKeys(object, reflect.TypeOf(GitHubDeployConfig{}), "") {
		fail(unknown, "unknown setting: expected repository, oidcProviderArn or bootstrapQualifier")
	}
	deploy := &GitHubDeploy{}
	encoded, _ := json.Marshal(object)
	if err := json.Unmarshal(encoded, &deploy.Config); err != nil {
		fail("(object)", "%v", err)
	}
	c := deploy.Config
	if !repositoryPattern.MatchString(c.Repository) {
		fail("repository", "%q is not a GitHub repository: expected owner/name, such as my-org/my-api", c.Repository)
	} else if owner, _, _ := strings.Cut(c.Repository, "/"); strings.HasPrefix(owner, placeholderLabel+"-") {
		deploy.Warnings = append(deploy.Warnings, fmt.Sprintf("%s.repository is still the shipped example %s: set it to your repository before you deploy the %s stack", GitHubDeployContextKey, c.Repository, GitHubDeployStackID))
	}
	if c.OIDCProviderARN != "" && !oidcProviderARNPattern.MatchString(c.OIDCProviderARN) {
		fail("oidcProviderArn", "%q is not the ARN of a GitHub OIDC provider: expected arn:aws:iam::<account>:oidc-provider/%s, or leave it out to create the provider", c.OIDCProviderARN, gitHubTokenIssuer)
	}
	if c.BootstrapQualifier != "" && !qualifierPattern.MatchString(c.BootstrapQualifier) {
		fail("bootstrapQualifier", "%q is not a bootstrap qualifier: expected up to 10 letters, digits, - or _, as given to `cdk bootstrap --qualifier`", c.BootstrapQualifier)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid %s configuration in cdk.json:\n  - %s", GitHubDeployContextKey, strings.Join(problems, "\n  - "))
	}
	for _, stage := range stages {
		deploy.Environments = append(deploy.Environments, stage.Name)
		if !slices.Contains(deploy.Regions, stage.Config.Region) {
			deploy.Regions = append(deploy.Regions, stage.Config.Region)
		}
	}
	slices.Sort(deploy.Regions)
	return deploy, nil
}

// DeployRoleName is the deploy role's name: fixed, so that a self-hosted
// issuer stage can name it among its signers before the role's stack exists.
func (d GitHubDeploy) DeployRoleName() string {
	_, repo, _ := strings.Cut(d.Config.Repository, "/")
	return truncate("github-deploy-"+repo, maxRoleNameLength)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// NewGitHubDeployStack declares what the workflows in .github/workflows need
// in an account: GitHub's OIDC provider, and a role that only a workflow job
// of this repository running in one of the stages' environments may assume,
// and that may do one thing: assume the CDK bootstrap roles of this account,
// which deploy. It holds no other permission, so a stolen session can deploy
// what CloudFormation's execution role allows, and nothing outside the CDK's
// own path.
func NewGitHubDeployStack(scope constructs.Construct, deploy GitHubDeploy, props *awscdk.StackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(GitHubDeployStackID), props)

	var providerARN *string
	if deploy.Config.OIDCProviderARN != "" {
		providerARN = jsii.String(deploy.Config.OIDCProviderARN)
	} else {
		provider := awsiam.NewOidcProviderNative(stack, jsii.String("GitHubOidcProvider"), &awsiam.OidcProviderNativeProps{
			Url:       jsii.String("https://" + gitHubTokenIssuer),
			ClientIds: jsii.Strings(stsAudience),
		})
		providerARN = provider.OidcProviderArn()
	}

	// GitHub's token names the job's environment in sub; a job without one,
	// or of another repository, or of a fork's pull request, gets another sub.
	subjects := make([]string, len(deploy.Environments))
	for i, environment := range deploy.Environments {
		subjects[i] = fmt.Sprintf("repo:%s:environment:%s", deploy.Config.Repository, environment)
	}
	role := awsiam.NewRole(stack, jsii.String("DeployRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(deploy.DeployRoleName()),
		Description: jsii.String("Deploys the stages of " + deploy.Config.Repository + " from its GitHub Actions environments, through the CDK bootstrap roles"),
		AssumedBy: awsiam.NewWebIdentityPrincipal(providerARN, &map[string]any{
			"StringEquals": map[string]any{
				gitHubTokenIssuer + ":aud": stsAudience,
				gitHubTokenIssuer + ":sub": subjects,
			},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})

	qualifier := deploy.Config.BootstrapQualifier
	if qualifier == "" {
		qualifier = defaultBootstrapQualifier
	}
	var bootstrapRoles []*string
	for _, region := range deploy.Regions {
		if region == "" {
			region = *awscdk.Aws_REGION()
		}
		for _, kind := range []string{"deploy", "file-publishing", "image-publishing", "lookup"} {
			bootstrapRoles = append(bootstrapRoles, jsii.String(fmt.Sprintf("arn:%s:iam::%s:role/cdk-%s-%s-role-%s-%s",
				*awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(), qualifier, kind, *awscdk.Aws_ACCOUNT_ID(), region)))
		}
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("AssumeTheCdkBootstrapRoles"),
		Actions:   jsii.Strings("sts:AssumeRole"),
		Resources: &bootstrapRoles,
	}))

	awscdk.NewCfnOutput(stack, jsii.String("DeployRoleArn"), &awscdk.CfnOutputProps{
		Value:       role.RoleArn(),
		Description: jsii.String("Set it as the AWS_DEPLOY_ROLE_ARN variable of each GitHub environment whose stage is in this account"),
	})
	return stack
}
