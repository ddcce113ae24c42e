package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/wiring"
)

// Every runtime path of every stage, and of the GitHubDeploy stack, is
// allowed as AWS evaluates IAM, and every neighbour refused.
func TestEveryRuntimePathHolds(t *testing.T) {
	t.Parallel()
	run := shipped(t)
	stages, err := apitemplate.Stages(".")
	if err != nil {
		t.Fatal(err)
	}
	paths, err := wiring.AssemblyPaths(".", run.dir, stages)
	if err != nil {
		t.Fatal(err)
	}
	results, err := wiring.Evaluate(context.Background(), ".", paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Holds() {
			t.Error(r.Failure())
		}
	}
	// Each kind of path is found where the stages have its resources: a
	// walk that stops finding one would otherwise pass unnoticed.
	found := map[string]int{}
	for _, r := range results {
		for kind := range leastPaths {
			if !r.Neighbour && strings.HasPrefix(r.Stage+": "+r.Name, kind) {
				found[kind]++
			}
		}
	}
	for kind, least := range leastPaths {
		if found[kind] < least {
			t.Errorf("%s: %d paths found, want at least %d", kind, found[kind], least)
		}
	}
}

// leastPaths are, by stage and kind, how many paths the walk must find in
// the shipped app.
var leastPaths = map[string]int{
	"dev: API Gateway route":             5,
	"dev: API Gateway Lambda authorizer": 1,
	"dev: CloudWatch alarm":              9,
	"dev: CloudWatch Logs → key":         5,
	"dev: CloudFront distribution":       1,
	"dev: page deployment":               2,
	"dev: function":                      4,
	"prod: CloudWatch alarm":             9,
	"ci: function":                       6, // the logs, and the well-known function reading both keys
	"prod: function `PermissionsAuthorizerFunction` → records a proof": 1, // a stage that requires DPoP
	"ci: signer":                      1,
	"GitHubDeploy: GitHub Actions of": 3,
	"GitHubDeploy: role":              4,
}

// Each kind of broken wiring is caught, and named so that someone who has
// never read IAM's evaluation logic knows what to fix: one mutation of a
// synthesized template per kind of path, all decided in one simulator run.
func TestBrokenWiringIsCaught(t *testing.T) {
	t.Parallel()
	run := shipped(t)
	template := func(stage string) map[string]any {
		s := run.stages(t)[stage]
		var doc map[string]any
		if err := json.Unmarshal(s.Template, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	deployTemplate := func() map[string]any {
		var doc map[string]any
		if err := json.Unmarshal(run.stacks["GitHubDeploy"].Template, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	env := wiring.Env{Account: "123456789012", Region: "eu-west-1"}
	deploy := wiring.GitHubDeploy{Repository: "example-org/auth0-http-api", Environments: []string{"ci", "dev", "prod"}, Regions: []string{"eu-west-1"}}
	cases := []struct {
		name   string
		stage  string // "" for the GitHubDeploy stack
		mutate func(t *testing.T, resources map[string]any)
		// fails is the path that must then not hold, and want what its
		// failure must say.
		fails string
		want  []string
	}{
		{"the topic policy forgets CloudWatch", "dev", func(t *testing.T, r map[string]any) {
			removeStatement(t, r, "AlarmTopicPolicy", "PolicyDocument", "TheStagesAlarmsPublish")
		}, "CloudWatch alarm `ServerErrorsAlarm` → SNS topic `AlarmTopic` is REFUSED", []string{
			"request: cloudwatch.amazonaws.com calls sns:Publish on arn:aws:sns:eu-west-1:123456789012:",
			"aws:SourceArn=\"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:",
			"no statement of the access policy of topic AlarmTopic allows sns:Publish",
		}},
		{"the key forgets CloudWatch", "dev", func(t *testing.T, r map[string]any) {
			removeStatement(t, r, "LogKey", "KeyPolicy", "CloudWatchAlarmsPublishToTheAlarmTopic")
		}, "CloudWatch alarm `ServerErrorsAlarm` → SNS topic `AlarmTopic` is REFUSED", []string{
			"calls kms:GenerateDataKey on arn:aws:kms:eu-west-1:123456789012:key/",
			"no statement of the key policy of key LogKey allows kms:GenerateDataKey",
		}},
		{"the topic takes any account's alarms", "dev", func(t *testing.T, r map[string]any) {
			delete(statement(t, r, "AlarmTopicPolicy", "PolicyDocument", "TheStagesAlarmsPublish"), "Condition")
		}, "CloudWatch alarm `ServerErrorsAlarm` → SNS topic `AlarmTopic`, from an alarm of another account is ALLOWED", []string{"allowed by statement TheStagesAlarmsPublish"}},
		{"the topic policy is one statement, open to any account", "dev", func(t *testing.T, r map[string]any) {
			only := statement(t, r, "AlarmTopicPolicy", "PolicyDocument", "TheStagesAlarmsPublish")
			delete(only, "Condition")
			resource(t, r, "AlarmTopicPolicy")["PolicyDocument"].(map[string]any)["Statement"] = only // an object, not a list
		}, "CloudWatch alarm `ServerErrorsAlarm` → SNS topic `AlarmTopic`, from an alarm of another account is ALLOWED", []string{"allowed by statement TheStagesAlarmsPublish"}},
		{"the log key serves every log group", "dev", func(t *testing.T, r map[string]any) {
			statement(t, r, "LogKey", "KeyPolicy", "CloudWatchLogsForTheStacksLogGroups")["Condition"] = map[string]any{
				"ArnLike": map[string]any{"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:123456789012:log-group:*"}}
		}, "CloudWatch Logs → key `LogKey`, kms:GenerateDataKey for a log group outside the stage is ALLOWED", []string{
			"kms:EncryptionContext:aws:logs:arn=\"arn:aws:logs:eu-west-1:123456789012:log-group:some-other-log-group\"",
			"allowed by statement CloudWatchLogsForTheStacksLogGroups of the key policy of key LogKey",
		}},
		{"a permission names another API", "dev", func(t *testing.T, r map[string]any) {
			props := resource(t, r, "HttpApiGETpublicGreetingIntegrationPermission")
			props["SourceArn"] = "arn:aws:execute-api:eu-west-1:123456789012:otherapi/*/*/public"
		}, "API Gateway route `GET /public` → function `GreetingFunction` is REFUSED", []string{
			"calls lambda:InvokeFunction",
			"statement HttpApiGETpublicGreetingIntegrationPermission",
			"does not apply: ArnLike AWS:SourceArn [\"arn:aws:execute-api:eu-west-1:123456789012:otherapi/*/*/public\"]",
		}},
		{"the bucket lets any distribution read", "dev", func(t *testing.T, r map[string]any) {
			doc := resource(t, r, "WebBucketPolicy")["PolicyDocument"].(map[string]any)
			for _, s := range doc["Statement"].([]any) {
				if s.(map[string]any)["Effect"] == "Allow" {
					delete(s.(map[string]any), "Condition")
				}
			}
		}, "another CloudFront distribution → S3 bucket `WebBucket` is ALLOWED", []string{"s3:GetObject"}},
		{"the page's deployment invalidates every distribution", "dev", func(t *testing.T, r map[string]any) {
			removeStatement(t, r, "WebDeploymentRoleDefaultPolicy", "PolicyDocument", "InvalidatesOnlyThePagesDistribution")
		}, "page deployment `WebDeploymentCustomResource256MiB` → invalidates another CloudFront distribution is ALLOWED", []string{"calls cloudfront:CreateInvalidation on arn:aws:cloudfront::123456789012:distribution/EOTHERDISTRIBUTION"}},
		{"a function writes every log group", "dev", func(t *testing.T, r map[string]any) {
			doc := resource(t, r, "ClaimsEchoRoleDefaultPolicy")["PolicyDocument"].(map[string]any)
			doc["Statement"].([]any)[0].(map[string]any)["Resource"] = "*"
		}, "function `ClaimsEchoFunction` → writes log group `GreetingLogs` is ALLOWED", []string{"calls logs:PutLogEvents"}},
		{"the well-known function may sign", "ci", func(t *testing.T, r map[string]any) {
			statement(t, r, "IssuerKeyGeneration1", "KeyPolicy", "WellKnownFunctionReadsThePublicKey")["Action"] = []any{"kms:GetPublicKey", "kms:Sign"}
			doc := resource(t, r, "WellKnownRoleDefaultPolicy")["PolicyDocument"].(map[string]any)
			doc["Statement"] = append(doc["Statement"].([]any), map[string]any{"Effect": "Allow", "Action": "kms:Sign", "Resource": "*"})
		}, "function `WellKnownFunction` → signs with key `IssuerKeyGeneration1` is ALLOWED", []string{"a function that publishes keys must not be able to mint tokens"}},
		{"the signer is forgotten", "ci", func(t *testing.T, r map[string]any) {
			removeStatement(t, r, "IssuerKeyGeneration1", "KeyPolicy", "OnlyTheStagesSignersSign")
			resource(t, r, "SignerPolicy")["PolicyDocument"] = map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "kms:Sign", "Resource": "arn:aws:kms:eu-west-1:123456789012:key/issuerkeygeneration1"}}}
		}, "signer `arn:aws:iam::123456789012:role/github-deploy-auth0-http-api` → signs with key `IssuerKeyGeneration1` is REFUSED", []string{
			"no statement of the key policy of key IssuerKeyGeneration1 allows kms:Sign",
		}},
		{"the authorizer may not record proofs", "prod", func(t *testing.T, r map[string]any) {
			doc := resource(t, r, "PermissionsAuthorizerRoleDefaultPolicy")["PolicyDocument"].(map[string]any)
			doc["Statement"] = slices.DeleteFunc(doc["Statement"].([]any), func(s any) bool { return s.(map[string]any)["Action"] == "dynamodb:PutItem" })
		}, "function `PermissionsAuthorizerFunction` → records a proof in table `DPoPReplay` is REFUSED", []string{"calls dynamodb:PutItem on arn:aws:dynamodb:eu-west-1:123456789012:table/"}},
		{"the authorizer may delete proofs", "prod", func(t *testing.T, r map[string]any) {
			doc := resource(t, r, "PermissionsAuthorizerRoleDefaultPolicy")["PolicyDocument"].(map[string]any)
			doc["Statement"] = append(doc["Statement"].([]any), map[string]any{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
		}, "function `PermissionsAuthorizerFunction` → deletes from table `DPoPReplay` is ALLOWED", []string{"a deleted proof could be replayed"}},
		{"pull requests may deploy", "", func(t *testing.T, r map[string]any) {
			trust := resource(t, r, "DeployRole")["AssumeRolePolicyDocument"].(map[string]any)
			trust["Statement"].([]any)[0].(map[string]any)["Condition"] = map[string]any{"StringLike": map[string]any{
				"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:example-org/auth0-http-api:*"}}
		}, "GitHub Actions, a pull request → assumes role `DeployRole` is ALLOWED", []string{
			"token.actions.githubusercontent.com:sub=\"repo:example-org/auth0-http-api:pull_request\"",
			"allowed by statement 1 of the trust policy of role DeployRole",
		}},
		{"any audience may deploy", "", func(t *testing.T, r map[string]any) {
			trust := resource(t, r, "DeployRole")["AssumeRolePolicyDocument"].(map[string]any)
			delete(trust["Statement"].([]any)[0].(map[string]any)["Condition"].(map[string]any)["StringEquals"].(map[string]any), "token.actions.githubusercontent.com:aud")
		}, "GitHub Actions, a token for another audience → assumes role `DeployRole` is ALLOWED", nil},
		{"the deploy role assumes any role", "", func(t *testing.T, r map[string]any) {
			doc := resource(t, r, "DeployRoleDefaultPolicy")["PolicyDocument"].(map[string]any)
			doc["Statement"].([]any)[0].(map[string]any)["Resource"] = "*"
		}, "role `DeployRole` → assumes another role of the account is ALLOWED", []string{"OrganizationAccountAccessRole"}},
	}
	var paths []wiring.Path
	for _, c := range cases {
		var doc map[string]any
		if c.stage == "" {
			doc = deployTemplate()
		} else {
			doc = template(c.stage)
		}
		c.mutate(t, doc["Resources"].(map[string]any))
		data, _ := json.Marshal(doc)
		stackName := "GitHubDeploy"
		if c.stage != "" {
			stackName = apitemplate.StageID(c.stage) + "-Api"
		}
		parsed, err := wiring.ParseTemplate(data, stackName, env)
		if err != nil {
			t.Fatal(err)
		}
		var found []wiring.Path
		if c.stage == "" {
			found, err = wiring.GitHubPaths(parsed, deploy)
		} else {
			var signers []string
			if c.stage == "ci" {
				signers = []string{"arn:aws:iam::123456789012:role/github-deploy-auth0-http-api"}
			}
			found, err = wiring.StagePaths(c.stage, parsed, signers)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, p := range found {
			if strings.HasPrefix(c.fails, p.Name+" is ") { // the path the case breaks, decided alone
				p.Stage = c.name // which case a result belongs to
				paths = append(paths, p)
			}
		}
	}
	results, err := wiring.Evaluate(context.Background(), ".", paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var failures []string
		for _, r := range results {
			if r.Stage == c.name && !r.Holds() {
				failures = append(failures, r.Failure())
			}
		}
		all := strings.Join(failures, "\n")
		if !strings.Contains(all, c.fails) {
			t.Errorf("%s: the check did not report %q; it reported:\n%s", c.name, c.fails, all)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(all, want) {
				t.Errorf("%s: the failure does not say %q:\n%s", c.name, want, all)
			}
		}
	}
}

// resource is the properties of the one resource whose logical ID starts
// with prefix followed by CDK's 8-character hash.
func resource(t *testing.T, resources map[string]any, prefix string) map[string]any {
	t.Helper()
	var found map[string]any
	for id, r := range resources {
		if strings.HasPrefix(id, prefix) && len(id) == len(prefix)+8 {
			if found != nil {
				t.Fatalf("more than one resource %s…", prefix)
			}
			found = r.(map[string]any)["Properties"].(map[string]any)
		}
	}
	if found == nil {
		t.Fatalf("no resource %s… in the template", prefix)
	}
	return found
}

// statement is the statement with the Sid in a resource's policy document.
func statement(t *testing.T, resources map[string]any, prefix, document, sid string) map[string]any {
	t.Helper()
	for _, s := range resource(t, resources, prefix)[document].(map[string]any)["Statement"].([]any) {
		if s.(map[string]any)["Sid"] == sid {
			return s.(map[string]any)
		}
	}
	t.Fatalf("no statement %s in the %s of %s…", sid, document, prefix)
	return nil
}

func removeStatement(t *testing.T, resources map[string]any, prefix, document, sid string) {
	t.Helper()
	statement(t, resources, prefix, document, sid) // fails when it is not there
	doc := resource(t, resources, prefix)[document].(map[string]any)
	var kept []any
	for _, s := range doc["Statement"].([]any) {
		if s.(map[string]any)["Sid"] != sid {
			kept = append(kept, s)
		}
	}
	doc["Statement"] = kept
}
