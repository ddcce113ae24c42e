package wiring

import (
	"fmt"
	"slices"
	"strings"
)

// GitHubDeploy is what cdk.json asks of the GitHubDeploy stack: GitHub
// Actions of Repository deploy from the environments named like the stages,
// into the stages' regions (Regions), through the CDK bootstrap roles.
type GitHubDeploy struct {
	Repository   string
	Environments []string
	Regions      []string
	Qualifier    string
}

const gitHubTokenIssuer = "token.actions.githubusercontent.com"

// GitHubPaths finds the deploy role of the GitHubDeploy stack: GitHub's OIDC
// token assumes it from each environment of the repository and nowhere else,
// and the role assumes the bootstrap roles and nothing else.
func GitHubPaths(t *Template, want GitHubDeploy) ([]Path, error) {
	b := &builder{stage: t.StackName, t: t}
	// AWS takes the token only through the provider of the role's own account,
	// whatever a trust policy names.
	provider := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", t.Env.Account, gitHubTokenIssuer)
	for _, id := range t.OfType("AWS::IAM::OIDCProvider") {
		clients, err := t.Strings(b.props(id)["ClientIdList"])
		if err != nil {
			return nil, fmt.Errorf("stack %s: OIDC provider %s: %w", t.StackName, label(id), err)
		}
		if !slices.Contains(clients, "sts.amazonaws.com") {
			return nil, fmt.Errorf("stack %s: OIDC provider %s lists the clients %v: STS refuses GitHub's tokens unless sts.amazonaws.com is one", t.StackName, label(id), clients)
		}
	}
	found := false
	for _, role := range t.OfType("AWS::IAM::Role") {
		trust, err := t.Resolve(b.props(role)["AssumeRolePolicyDocument"])
		if err != nil {
			return nil, fmt.Errorf("stack %s: role %s: %w", t.StackName, label(role), err)
		}
		trusted := false
		for _, s := range statements(trust) {
			principal, _ := s["Principal"].(map[string]any)
			for _, federated := range stringList(principal["Federated"]) {
				trusted = trusted || strings.HasSuffix(federated, ":oidc-provider/"+gitHubTokenIssuer)
			}
		}
		if !trusted {
			continue
		}
		found = true
		roleARN, _ := t.GetAtt(role, "Arn")
		trustPolicy := &Policy{Name: "the trust policy of role " + label(role), Document: trust}
		assume := func(aud, sub string) []Request {
			return []Request{{Principal: provider, Action: "sts:AssumeRoleWithWebIdentity", Resource: roleARN, ResourceAccount: t.Env.Account,
				Context: map[string]any{gitHubTokenIssuer + ":aud": aud, gitHubTokenIssuer + ":sub": sub}, ResourcePolicy: trustPolicy, Trust: true}}
		}
		repo := "repo:" + want.Repository
		for _, environment := range want.Environments {
			b.add(Path{Name: fmt.Sprintf("GitHub Actions of %s, environment %s → assumes role `%s`", want.Repository, environment, label(role)),
				Steps: assume("sts.amazonaws.com", repo+":environment:"+environment)})
		}
		owner, _, _ := strings.Cut(want.Repository, "/")
		first := "ci"
		if len(want.Environments) > 0 {
			first = want.Environments[0]
		}
		for _, n := range []struct{ name, why, aud, sub string }{
			{"another repository", "only this repository deploys", "sts.amazonaws.com", "repo:" + owner + "/another-repository:environment:" + first},
			{"a pull request", "a pull request's code must not reach AWS", "sts.amazonaws.com", repo + ":pull_request"},
			{"a branch outside an environment", "only the environments' protection rules gate a deploy", "sts.amazonaws.com", repo + ":ref:refs/heads/main"},
			{"an environment that is not a stage", "only the stages' environments deploy", "sts.amazonaws.com", repo + ":environment:sandbox"},
			{"a token for another audience", "a token minted for another service must not be replayed here", "https://github.com/" + owner, repo + ":environment:" + first},
		} {
			b.add(Path{Name: fmt.Sprintf("GitHub Actions, %s → assumes role `%s`", n.name, label(role)), Neighbour: true, Why: n.why, Steps: assume(n.aud, n.sub)})
		}
		if err := b.bootstrapRoles(role, want); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("stack %s has no role that GitHub's OIDC provider may assume", t.StackName)
	}
	return b.paths, nil
}

// bootstrapRoles: the deploy role assumes the CDK bootstrap roles of each
// region, whose trust policies (in the bootstrap stack, not here) trust the
// account, as `cdk bootstrap` writes them; and no other role of the account.
func (b *builder) bootstrapRoles(role string, want GitHubDeploy) error {
	account := b.t.Env.Account
	trustTheAccount := &Policy{Name: "the trust policy `cdk bootstrap` writes (the account may assume it)", Document: map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + account + ":root"}, "Action": "sts:AssumeRole",
			"Condition": map[string]any{"Null": map[string]any{"sts:ExternalId": "true"}}}}}}
	qualifier := want.Qualifier
	if qualifier == "" {
		qualifier = "hnb659fds"
	}
	regions := slices.Clone(want.Regions)
	for i, region := range regions {
		if region == "" {
			regions[i] = b.t.Env.Region // the CLI's region, as the stack's own
		}
	}
	slices.Sort(regions)
	for _, region := range slices.Compact(regions) {
		for _, kind := range []string{"deploy", "file-publishing", "image-publishing", "lookup"} {
			target := fmt.Sprintf("arn:aws:iam::%s:role/cdk-%s-%s-role-%s-%s", account, qualifier, kind, account, region)
			request, err := b.asRole(role, "sts:AssumeRole", target, trustTheAccount)
			if err != nil {
				return err
			}
			request.Trust = true
			b.add(Path{Name: fmt.Sprintf("role `%s` → assumes the bootstrap %s role in %s", label(role), kind, region), Steps: []Request{request}})
		}
	}
	other, err := b.asRole(role, "sts:AssumeRole", "arn:aws:iam::"+account+":role/OrganizationAccountAccessRole", trustTheAccount)
	if err != nil {
		return err
	}
	other.Trust = true
	b.add(Path{Name: fmt.Sprintf("role `%s` → assumes another role of the account", label(role)), Neighbour: true,
		Why: "the deploy role reaches AWS only through the bootstrap roles", Steps: []Request{other}})
	return nil
}
