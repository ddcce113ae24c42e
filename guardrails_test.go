package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/auth0-http-api/cdk/stacks"
)

// validStage is a stage that passes every rule; each case below breaks one.
func validStage() map[string]any {
	return map[string]any{
		"auth0":            map[string]any{"domain": "acme.eu.auth0.com", "audience": []any{"https://api.acme.test"}},
		"cors":             map[string]any{"allowOrigins": []any{"https://app.acme.test"}},
		"throttle":         map[string]any{"rateLimit": 50.0, "burstLimit": 100.0},
		"logRetentionDays": 30.0,
		"function":         map[string]any{"memoryMiB": 256.0, "timeoutSeconds": 10.0},
	}
}

// set changes one dotted field of a stage built by validStage.
func set(stage map[string]any, path string, value any) map[string]any {
	steps := strings.Split(path, ".")
	node := stage
	for _, step := range steps[:len(steps)-1] {
		node = node[step].(map[string]any)
	}
	if value == nil {
		delete(node, steps[len(steps)-1])
	} else {
		node[steps[len(steps)-1]] = value
	}
	return stage
}

func load(stages map[string]any) ([]stacks.Stage, error) {
	return stacks.LoadStages(map[string]any{stacks.StagesContextKey: stages})
}

func TestIssuerIsDerivedWithTrailingSlash(t *testing.T) {
	cases := map[string]struct{ auth0 map[string]any }{
		"https://acme.eu.auth0.com/": {map[string]any{"domain": "acme.eu.auth0.com"}},
		"https://acme.us.auth0.com/": {map[string]any{"domain": "https://acme.us.auth0.com/"}},
		"https://acme.au.auth0.com/": {map[string]any{"domain": "acme.au.auth0.com/"}},
		"https://login.acme.test/":   {map[string]any{"issuer": "https://login.acme.test/"}},
		// A non-Auth0 issuer is used exactly as written: Cognito's, for one, has no trailing slash.
		"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc": {map[string]any{"issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"}},
	}
	for want, c := range cases {
		stage := validStage()
		c.auth0["audience"] = []any{"https://api.acme.test"}
		stage["auth0"] = c.auth0
		stages, err := load(map[string]any{"dev": stage})
		if err != nil {
			t.Errorf("%v: %v", c.auth0, err)
			continue
		}
		if stages[0].Issuer != want {
			t.Errorf("%v: issuer %q, want %q", c.auth0, stages[0].Issuer, want)
		}
	}
}

func TestBadStageConfigIsRefusedWithStageFieldAndFix(t *testing.T) {
	cases := []struct {
		name  string
		stage map[string]any
		want  string
	}{
		{"domain missing", set(validStage(), "auth0.domain", nil), `stage "dev": auth0.domain: missing: set it to your Auth0 tenant domain`},
		{"domain and issuer", set(validStage(), "auth0.issuer", "https://login.acme.test/"), `stage "dev": auth0.issuer: set together with auth0.domain`},
		{"domain with http", set(validStage(), "auth0.domain", "http://tenant.auth0.com"), `stage "dev": auth0.domain: "http://tenant.auth0.com" starts with http://, but Auth0 issuers are always https: write the tenant's host alone`},
		{"domain with a path", set(validStage(), "auth0.domain", "tenant.auth0.com/api"), `auth0.domain: "tenant.auth0.com/api" is not a domain name: expected the tenant's host alone, without a path`},
		{"domain not a host", set(validStage(), "auth0.domain", "acme eu auth0"), `auth0.domain: "acme eu auth0" is not a domain name`},
		{"issuer not https", set(set(validStage(), "auth0.domain", nil), "auth0.issuer", "http://login.acme.test/"), `auth0.issuer: "http://login.acme.test/" is not an https URL`},
		{"auth0 issuer without slash", set(set(validStage(), "auth0.domain", nil), "auth0.issuer", "https://acme.eu.auth0.com"), `lacks the trailing slash`},
		{"no audience", set(validStage(), "auth0.audience", []any{}), `auth0.audience: has 0 entries: expected 1 to 50`},
		{"too many audiences", set(validStage(), "auth0.audience", manyAudiences(51)), `auth0.audience: has 51 entries: expected 1 to 50`},
		{"empty audience", set(validStage(), "auth0.audience", []any{"https://a.test", " "}), `auth0.audience[1]: is empty`},
		{"duplicate audience", set(validStage(), "auth0.audience", []any{"https://a.test", "https://a.test"}), `auth0.audience[1]: "https://a.test" is listed twice`},
		{"unknown key", set(validStage(), "throtle", map[string]any{}), `stage "dev": throtle: unknown setting`},
		{"unknown nested key", set(validStage(), "auth0.domian", "x"), `stage "dev": auth0.domian: unknown setting`},
		{"wrong type", set(validStage(), "throttle.rateLimit", "fast"), `stage "dev": throttle.rateLimit: expected a number, got a JSON string`},
		{"rate zero", set(validStage(), "throttle.rateLimit", 0.0), `throttle.rateLimit: 0 is out of range`},
		{"burst too high", set(validStage(), "throttle.burstLimit", 5001.0), `throttle.burstLimit: 5001 is out of range`},
		{"retention not allowed", set(validStage(), "logRetentionDays", 8.0), `logRetentionDays: 8 is not a retention CloudWatch Logs accepts`},
		{"memory too low", set(validStage(), "function.memoryMiB", 64.0), `function.memoryMiB: 64 is out of range: expected 128 to 10240`},
		{"timeout over HTTP API limit", set(validStage(), "function.timeoutSeconds", 30.0), `function.timeoutSeconds: 30 is out of range: expected 1 to 29 seconds`},
		{"bad account", set(validStage(), "account", "12345"), `account: "12345" is not an AWS account ID`},
		{"bad region", set(validStage(), "region", "Europe"), `region: "Europe" is not an AWS region`},
		{"origin with path", set(validStage(), "cors.allowOrigins", []any{"https://app.acme.test/login"}), `cors.allowOrigins[0]: "https://app.acme.test/login" is not an origin`},
		{"stage not an object", nil, `stage "dev": (stage): expected an object of settings, got null`},
		{"web client ID not one", set(validStage(), "web", map[string]any{"auth0ClientId": "https://app.acme.test"}), `stage "dev": web.auth0ClientId: "https://app.acme.test" is not an Auth0 client ID: expected the 32 letters and digits`},
		{"removal policy unknown", set(validStage(), "removalPolicy", "snapshot"), `stage "dev": removalPolicy: "snapshot" is not a removal policy: expected "retain"`},
		{"tag key reserved", set(validStage(), "tags", map[string]any{"aws:owner": "me"}), `stage "dev": tags.aws:owner: keys starting with aws: are reserved by AWS`},
		{"tag key bad", set(validStage(), "tags", map[string]any{"a|b": "x"}), `stage "dev": tags: key "a|b" is not a tag key`},
		{"tag value too long", set(validStage(), "tags", map[string]any{"k": strings.Repeat("v", 257)}), `stage "dev": tags.k: the value has 257 characters: AWS allows at most 256`},
		{"tag value not a string", set(validStage(), "tags", map[string]any{"k": 5.0}), `stage "dev": tags: expected a string, got a JSON number`},
		{"alarm email bad", set(validStage(), "alarms", map[string]any{"email": "ops"}), `stage "dev": alarms.email: "ops" is not an email address`},
		{"alarm threshold zero", set(validStage(), "alarms", map[string]any{"serverErrors": 0.0}), `stage "dev": alarms.serverErrors: 0 is out of range: expected a threshold of 1 or more`},
		{"alarm percent over 100", set(validStage(), "alarms", map[string]any{"clientErrorPercent": 150.0}), `stage "dev": alarms.clientErrorPercent: 150 is out of range`},
		{"alarm unknown key", set(validStage(), "alarms", map[string]any{"latency": 1.0}), `stage "dev": alarms.latency: unknown setting`},
		{"reserved concurrency unknown function", set(validStage(), "function.reservedConcurrency", map[string]any{"Nope": 5.0}), `stage "dev": function.reservedConcurrency.Nope: "Nope" is not a function of the stage`},
		{"reserved concurrency zero", set(validStage(), "function.reservedConcurrency", map[string]any{"Greeting": 0.0}), `stage "dev": function.reservedConcurrency.Greeting: 0 is out of range: expected 1 to 1000`},
		{"domain not a host", set(validStage(), "domain", map[string]any{"name": "https://api.acme.test", "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"}), `stage "dev": domain.name: "https://api.acme.test" is not a domain name`},
		{"domain without certificate", set(validStage(), "domain", map[string]any{"name": "api.acme.test"}), `stage "dev": domain: names no certificate: set domain.certificateArn`},
		{"domain certificate bad", set(validStage(), "domain", map[string]any{"name": "api.acme.test", "certificateArn": "abc"}), `stage "dev": domain.certificateArn: "abc" is not an ACM certificate ARN`},
		{"domain zone without name", set(validStage(), "domain", map[string]any{"name": "api.acme.test", "hostedZoneId": "Z123"}), `stage "dev": domain.hostedZoneName: goes with domain.hostedZoneId`},
		{"domain zone bad", set(validStage(), "domain", map[string]any{"name": "api.acme.test", "hostedZoneId": "123", "hostedZoneName": "acme.test"}), `stage "dev": domain.hostedZoneId: "123" is not a Route 53 hosted zone ID`},
		{"domain outside zone", set(validStage(), "domain", map[string]any{"name": "api.other.test", "hostedZoneId": "Z123", "hostedZoneName": "acme.test"}), `stage "dev": domain.name: "api.other.test" is not in the zone "acme.test"`},
		{"page without its domain in a stage with one", pageOnDomain("eu-west-1", map[string]any{"domain": nil}),
			`stage "dev": web.domain: missing: the stage has a domain of its own (domain.name "api.acme.test"), so its page must have one too, or CloudFront serves the page on its default *.cloudfront.net certificate, which still accepts TLS 1.0: set web.domain to the page's host name, such as app.acme.test (and web.certificateArn, an ACM certificate for it in us-east-1`},
		{"page certificate missing outside us-east-1", pageOnDomain("eu-west-1", nil),
			`stage "dev": web.certificateArn: missing: the page's domain "app.acme.test" needs an ACM certificate in us-east-1, the only region CloudFront takes certificates from, and the stage's stack is in eu-west-1, so it cannot issue one: request it with ` + "`aws acm request-certificate --region us-east-1 --domain-name app.acme.test --validation-method DNS`" + `, add the CNAME record it asks for to the zone acme.test, and set its ARN here`},
		{"page certificate missing without a region", pageOnDomain("", nil),
			`stage "dev": web.certificateArn: missing: the page's domain "app.acme.test" needs an ACM certificate in us-east-1, the only region CloudFront takes certificates from, and the stage's stack is environment-agnostic (no region set), so it cannot issue one`},
		{"page certificate missing without a zone", set(set(validStage(), "region", "us-east-1"), "web", map[string]any{"auth0ClientId": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH", "domain": "app.acme.test"}),
			`stage "dev": web.certificateArn: missing: the page's domain "app.acme.test" needs an ACM certificate in us-east-1, and the stage has no Route 53 zone (domain.hostedZoneId) to have one issued in: request one with ` + "`aws acm request-certificate --region us-east-1 --domain-name app.acme.test --validation-method DNS`"},
		{"page certificate in another region", pageOnDomain("eu-west-1", map[string]any{"certificateArn": "arn:aws:acm:eu-west-1:210987654321:certificate/abc"}),
			`stage "dev": web.certificateArn: "arn:aws:acm:eu-west-1:210987654321:certificate/abc" is in eu-west-1, but CloudFront takes certificates from us-east-1 only: request one there, with ` + "`aws acm request-certificate --region us-east-1 --domain-name app.acme.test --validation-method DNS`"},
		{"page certificate not an ARN", pageOnDomain("eu-west-1", map[string]any{"certificateArn": "app-cert"}),
			`stage "dev": web.certificateArn: "app-cert" is not an ACM certificate ARN: expected arn:aws:acm:us-east-1:<account>:certificate/<id>`},
		{"page certificate without its domain", set(validStage(), "web", map[string]any{"auth0ClientId": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH", "certificateArn": usEast1Certificate}),
			`stage "dev": web.certificateArn: goes with web.domain`},
		{"page domain without a page", set(validStage(), "web", map[string]any{"domain": "app.acme.test", "certificateArn": usEast1Certificate}),
			`stage "dev": web.domain: "app.acme.test" names the page's host, but the stage serves no page: set web.auth0ClientId as well`},
		{"page domain not a host", pageOnDomain("eu-west-1", map[string]any{"domain": "https://app.acme.test", "certificateArn": usEast1Certificate}),
			`stage "dev": web.domain: "https://app.acme.test" is not a domain name`},
		{"page domain is the API's", pageOnDomain("eu-west-1", map[string]any{"domain": "api.acme.test", "certificateArn": usEast1Certificate}),
			`stage "dev": web.domain: "api.acme.test" is the API's domain too (domain.name)`},
		{"page domain outside the zone", pageOnDomain("eu-west-1", map[string]any{"domain": "app.other.test", "certificateArn": usEast1Certificate}),
			`stage "dev": web.domain: "app.other.test" is not in the zone "acme.test"`},
		{"both issuers", set(validStage(), "selfHostedIssuer", map[string]any{"audience": "https://api.acme.test", "signers": []any{"arn:aws:iam::210987654321:role/ci"}}), `stage "dev": auth0: set together with selfHostedIssuer: a stage has one token issuer`},
		{"self-hosted lifetime too long", selfHosted(map[string]any{"tokenLifetimeMinutes": 1441.0}), `stage "dev": selfHostedIssuer.tokenLifetimeMinutes: 1441 is out of range: expected 1 to 1440 minutes (24 hours)`},
		{"self-hosted lifetime zero", selfHosted(map[string]any{"tokenLifetimeMinutes": 0.0}), `stage "dev": selfHostedIssuer.tokenLifetimeMinutes: 0 is out of range`},
		{"self-hosted generation zero", selfHosted(map[string]any{"keyGeneration": 0.0}), `stage "dev": selfHostedIssuer.keyGeneration: 0 is out of range`},
		{"self-hosted without audience", selfHosted(map[string]any{"audience": ""}), `stage "dev": selfHostedIssuer.audience: missing`},
		{"self-hosted without signers", selfHosted(map[string]any{"signers": []any{}}), `stage "dev": selfHostedIssuer.signers: missing: list the IAM principals`},
		{"self-hosted signer not an ARN", selfHosted(map[string]any{"signers": []any{"ci-role"}}), `stage "dev": selfHostedIssuer.signers[0]: "ci-role" is not an IAM principal ARN`},
		{"self-hosted with the page", set(selfHosted(nil), "web", map[string]any{"auth0ClientId": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH"}), `stage "dev": web: needs auth0`},
		{"authorizer cache too long", set(validStage(), "permissionsAuthorizer", map[string]any{"resultTtlSeconds": 3601.0}), `stage "dev": permissionsAuthorizer.resultTtlSeconds: 3601 is out of range: expected 0 (no caching) to 3600 seconds`},
		{"authorizer cache negative", set(validStage(), "permissionsAuthorizer", map[string]any{"resultTtlSeconds": -1.0}), `permissionsAuthorizer.resultTtlSeconds: -1 is out of range`},
		{"authorizer cache unknown key", set(validStage(), "permissionsAuthorizer", map[string]any{"ttl": 5.0}), `stage "dev": permissionsAuthorizer.ttl: unknown setting`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stage any = c.stage
			if c.stage == nil {
				stage = nil
			}
			_, err := load(map[string]any{"dev": stage})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("want an error containing %q, got: %v", c.want, err)
			}
		})
	}
}

// usEast1Certificate is an ACM certificate where CloudFront takes them.
const usEast1Certificate = "arn:aws:acm:us-east-1:210987654321:certificate/0a1b2c3d-0000-4000-8000-000000000000"

// pageOnDomain is a stage in region with a Route 53 zone, the API on
// api.acme.test and the page on app.acme.test, with change's web fields (nil
// removes one). Without a certificate, it is valid in us-east-1 only.
func pageOnDomain(region string, change map[string]any) map[string]any {
	stage := validStage()
	if region != "" {
		stage["region"] = region
	}
	stage["domain"] = map[string]any{"name": "api.acme.test", "hostedZoneId": "Z123", "hostedZoneName": "acme.test"}
	web := map[string]any{"auth0ClientId": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH", "domain": "app.acme.test"}
	for field, value := range change {
		if value == nil {
			delete(web, field)
		} else {
			web[field] = value
		}
	}
	stage["web"] = web
	return stage
}

// The page's own domain is valid with a certificate in us-east-1, in any
// region, with or without a zone; or, in a us-east-1 stack with a zone,
// without one (it is issued there). A page without a domain stays valid in
// a stage that has none either.
func TestPageDomainsThatAreValid(t *testing.T) {
	noZone := set(validStage(), "domain", map[string]any{"name": "api.acme.test", "certificateArn": "arn:aws:acm:eu-west-1:210987654321:certificate/abc"})
	noZone["web"] = map[string]any{"auth0ClientId": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH", "domain": "app.acme.test", "certificateArn": usEast1Certificate}
	for name, stage := range map[string]map[string]any{
		"certificate by ARN":           pageOnDomain("eu-west-1", map[string]any{"certificateArn": usEast1Certificate}),
		"certificate by ARN, agnostic": pageOnDomain("", map[string]any{"certificateArn": usEast1Certificate}),
		"issued in us-east-1":          pageOnDomain("us-east-1", nil),
		"no zone":                      noZone,
		"no domain at all":             set(validStage(), "web", map[string]any{"auth0ClientId": "kbyuFDidLLm280LIwVFiazOqjO3ty8KH"}),
	} {
		stages, err := load(map[string]any{"dev": stage})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if warnings := exceptResourceWarning(stages[0].Warnings); len(warnings) != 0 {
			t.Errorf("%s: warnings %q", name, warnings)
		}
	}
}

// exceptResourceWarning drops the warning that a stage without a custom
// domain gets about its Protected Resource Metadata, which
// TestResourceMetadataWarnings tests, from a stage's warnings.
func exceptResourceWarning(warnings []string) []string {
	return slices.DeleteFunc(slices.Clone(warnings), func(w string) bool { return strings.Contains(w, "refuses its Protected Resource Metadata") })
}

// A stage whose page domain, page certificate or lack of them would leave
// the page unsafe stops the real app, as `cdk synth` runs it, with the
// stage, the field and the fix, and no template: one run for three stages.
func TestPageCertificateProblemsFailSynth(t *testing.T) {
	t.Parallel() // a run of the app of its own
	context := cdkJSONContext(t)
	stages := context[stacks.StagesContextKey].(map[string]any)
	// qa: prod's settings without the page's domain and certificate.
	qa := map[string]any{}
	encoded, _ := json.Marshal(stages["prod"])
	json.Unmarshal(encoded, &qa)
	delete(qa["web"].(map[string]any), "domain")
	delete(qa["web"].(map[string]any), "certificateArn")
	stages["qa"] = qa
	// prod: the certificate in the stack's region; dev: a zone and a page
	// domain, and no certificate, in an environment-agnostic stack.
	context["stages.prod.web.certificateArn"] = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
	context["stages.dev.domain"] = `{"name":"api.dev.example.com","hostedZoneId":"Z0EXAMPLE0000000000000","hostedZoneName":"example.com"}`
	context["stages.dev.web.domain"] = "app.dev.example.com"
	run := runApp(t, context)
	if run.Exit != 1 {
		t.Fatalf("want exit status 1, got %d\n%s", run.Exit, run.Output)
	}
	for _, want := range []string{
		`stage "prod": web.certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" is in eu-west-1, but CloudFront takes certificates from us-east-1 only: request one there, with ` + "`aws acm request-certificate --region us-east-1 --domain-name app.example.com --validation-method DNS`",
		`stage "dev": web.certificateArn: missing: the page's domain "app.dev.example.com" needs an ACM certificate in us-east-1, the only region CloudFront takes certificates from, and the stage's stack is environment-agnostic (no region set), so it cannot issue one: request it with ` + "`aws acm request-certificate --region us-east-1 --domain-name app.dev.example.com --validation-method DNS`",
		`stage "qa": web.domain: missing: the stage has a domain of its own (domain.name "api.example.com"), so its page must have one too, or CloudFront serves the page on its default *.cloudfront.net certificate, which still accepts TLS 1.0`,
	} {
		if !strings.Contains(run.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, run.Output)
		}
	}
	if strings.Contains(run.Output, "goroutine ") {
		t.Errorf("output holds a stack trace:\n%s", run.Output)
	}
	if templates, _ := filepath.Glob(filepath.Join(run.dir, "*", "*.template.json")); len(templates) > 0 {
		t.Errorf("templates were written: %v", templates)
	}
}

// cfn-guard's rules on a distribution's certificate and TLS policy are
// waived only for the stages named, whose page is on CloudFront's default
// certificate: never for every stage, nor for one whose page has its own
// domain, such as prod.
func TestDefaultCertificateWaiversSkipPagesOnTheirOwnDomain(t *testing.T) {
	data, err := os.ReadFile("cfn-guard-waivers.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Waivers []struct {
			Rule   string
			Stages []string
		}
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	for _, waiver := range file.Waivers {
		switch waiver.Rule {
		case "cloudfront_custom_ssl_certificate_check", "cloudfront_security_policy_check", "cloudfront_sni_enabled_check":
		default:
			continue
		}
		if len(waiver.Stages) == 0 {
			t.Errorf("%s is waived for every stage: list the stages whose page is on CloudFront's default certificate", waiver.Rule)
		}
		for _, name := range waiver.Stages {
			if web := shippedStage(t, name).Config.Web; web.Domain != "" {
				t.Errorf("%s is waived for stage %s, whose page is on its own domain %s", waiver.Rule, name, web.Domain)
			}
		}
	}
}

// selfHosted is a valid stage that is its own issuer, with change's fields.
func selfHosted(change map[string]any) map[string]any {
	stage := validStage()
	delete(stage, "auth0")
	issuer := map[string]any{"audience": "https://api.acme.test", "signers": []any{"arn:aws:iam::210987654321:role/ci"}}
	for field, value := range change {
		issuer[field] = value
	}
	stage["selfHostedIssuer"] = issuer
	return stage
}

func TestASelfHostedStageIsValid(t *testing.T) {
	stages, err := load(map[string]any{"ci": selfHosted(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if stages[0].Issuer != "" || stages[0].Audiences()[0] != "https://api.acme.test" || len(exceptResourceWarning(stages[0].Warnings)) != 0 {
		t.Errorf("%+v", stages[0])
	}
}

func manyAudiences(n int) []any {
	list := make([]any, n)
	for i := range list {
		list[i] = fmt.Sprintf("https://api%d.acme.test", i)
	}
	return list
}

func TestBadStageNameIsRefused(t *testing.T) {
	_, err := load(map[string]any{"Dev_1": validStage()})
	if err == nil || !strings.Contains(err.Error(), `stage "Dev_1": name: "Dev_1" is not a valid stage name`) {
		t.Errorf("got %v", err)
	}
}

func TestAllProblemsAreReportedTogether(t *testing.T) {
	bad := set(set(validStage(), "function.timeoutSeconds", 40.0), "auth0.domain", nil)
	_, err := load(map[string]any{"dev": bad, "prod": set(validStage(), "logRetentionDays", 2.0)})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"3 problem(s)", `stage "dev": auth0.domain`, `stage "dev": function.timeoutSeconds`, `stage "prod": logRetentionDays`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestMissingStagesAreRefused(t *testing.T) {
	for name, context := range map[string]map[string]any{
		"no stages key": {},
		"empty stages":  {stacks.StagesContextKey: map[string]any{}},
		"not JSON":      {stacks.StagesContextKey: "{dev"},
	} {
		if _, err := stacks.LoadStages(context); err == nil || !strings.Contains(err.Error(), "stages") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// A stage's resource identifier is the audience that is its API's URL; a
// client that found the API by its URL refuses metadata naming another
// (RFC 9728 §3.3), and synth says so, naming the stage, the field and the fix.
func TestResourceMetadataWarnings(t *testing.T) {
	domain := map[string]any{"name": "api.acme.test", "certificateArn": "arn:aws:acm:eu-west-1:210987654321:certificate/abc"}
	cases := map[string]struct {
		stage    map[string]any
		resource string
		warning  string // "" for none
	}{
		"the audience is the domain's URL":        {set(validStage(), "domain", domain), "https://api.acme.test", ""},
		"with a final slash":                      {set(set(validStage(), "domain", domain), "auth0.audience", []any{"https://api.acme.test/"}), "https://api.acme.test/", ""},
		"the second audience is the domain's URL": {set(set(validStage(), "domain", domain), "auth0.audience", []any{"urn:acme:api", "https://API.acme.test"}), "https://API.acme.test", ""},
		"no audience is the domain's URL": {set(set(validStage(), "domain", domain), "auth0.audience", []any{"https://api.acme.test/v1"}), "https://api.acme.test/v1",
			`stage "dev": no audience in auth0.audience is the API's URL https://api.acme.test, so a client that finds the API by its URL refuses its Protected Resource Metadata, whose resource is https://api.acme.test/v1 (RFC 9728 §3.3): add https://api.acme.test to auth0.audience, and make it the Auth0 API's identifier`},
		"no custom domain": {validStage(), "https://api.acme.test",
			`stage "dev": the API has no custom domain, so it answers at an execute-api URL, which its resource https://api.acme.test (auth0.audience) cannot be: a client that finds the API by its URL refuses its Protected Resource Metadata (RFC 9728 §3.3). Clients told the resource itself are not affected. To serve such clients, give the stage the custom domain its resource names (domain.name api.acme.test)`},
		"no custom domain, an audience that is no URL": {set(validStage(), "auth0.audience", []any{"urn:acme:api"}), "urn:acme:api",
			"give the stage a custom domain (domain.name) and an audience that is its URL, such as https://api.example.com"},
		"its own issuer, no custom domain": {selfHosted(nil), "https://api.acme.test", "(selfHostedIssuer.audience) cannot be"},
	}
	for name, c := range cases {
		stages, err := load(map[string]any{"dev": c.stage})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := stages[0].Resource(); got != c.resource {
			t.Errorf("%s: resource %q, want %q", name, got, c.resource)
		}
		warnings := strings.Join(stages[0].Warnings, "\n")
		if c.warning == "" && strings.Contains(warnings, "Protected Resource Metadata") || c.warning != "" && !strings.Contains(warnings, c.warning) {
			t.Errorf("%s: warnings %q, want %q", name, warnings, c.warning)
		}
	}
}

func TestWarnings(t *testing.T) {
	clientID := set(validStage(), "auth0.audience", []any{"kbyuFDidLLm280LIwVFiazOqjO3ty8KH"})
	placeholder := set(validStage(), "auth0.domain", "example-dev.us.auth0.com")
	onItsDomain := set(validStage(), "domain", map[string]any{"name": "api.acme.test", "certificateArn": "arn:aws:acm:eu-west-1:210987654321:certificate/abc"})
	stages, err := load(map[string]any{"a": clientID, "b": placeholder, "c": onItsDomain})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(stages[0].Warnings, "\n"); !strings.Contains(w, "looks like an Auth0 application client ID: the audience must be the API identifier") {
		t.Errorf("client-ID audience: warnings %q", w)
	}
	if w := strings.Join(stages[1].Warnings, "\n"); !strings.Contains(w, `stage "b" still has the shipped example Auth0 settings`) {
		t.Errorf("placeholder: warnings %q", w)
	}
	if len(stages[2].Warnings) != 0 {
		t.Errorf("a real-looking stage got warnings: %q", stages[2].Warnings)
	}
	// The shipped prod's page certificate is an example, in AWS's documentation account.
	stages, err = load(map[string]any{"prod": pageOnDomain("eu-west-1", map[string]any{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"})})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(stages[0].Warnings, "\n"); !strings.Contains(w, `stage "prod" still has the shipped example page certificate arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012: set web.certificateArn to your ACM certificate for app.acme.test in us-east-1 before you deploy`) {
		t.Errorf("example page certificate: warnings %q", w)
	}
}

// The CLI prints the app's stderr on every synth and deploy, so a warning
// printed there reaches the user, once per stage.
func TestShippedPlaceholdersWarnAtSynth(t *testing.T) {
	run := shipped(t)
	output := run.Output
	if run.Exit != 0 {
		t.Fatalf("exit status %d:\n%s", run.Exit, output)
	}
	for name := range run.stages(t) {
		want := fmt.Sprintf("warning: stage %q still has the shipped example Auth0 settings", name)
		if shippedStage(t, name).Issuer == "" { // its own issuer: its signers are the example
			want = fmt.Sprintf("warning: stage %q still has the shipped example signer", name)
		}
		if n := strings.Count(output, want); n != 1 {
			t.Errorf("stage %s: %d placeholder warnings on stderr, want 1:\n%s", name, n, output)
		}
	}
}

func TestClientIDAudienceWarnsAtSynthNamingStageAndField(t *testing.T) {
	t.Parallel() // a run of the app of its own
	context := cdkJSONContext(t)
	context["stages.prod.auth0.audience"] = `["kbyuFDidLLm280LIwVFiazOqjO3ty8KH"]`
	run := runApp(t, context)
	output, exit := run.Output, run.Exit
	want := `warning: stage "prod": auth0.audience[0] "kbyuFDidLLm280LIwVFiazOqjO3ty8KH" looks like an Auth0 application client ID`
	if exit != 0 || strings.Count(output, want) != 1 {
		t.Errorf("exit %d, want 0 and one line %q:\n%s", exit, want, output)
	}
}

func TestBadRouteTablesAreRefused(t *testing.T) {
	ok := stacks.Route{Method: "GET", Path: "/ok", Function: "Greeting", Summary: "A route"}
	with := func(change func(*stacks.Route)) []stacks.Route {
		r := ok
		change(&r)
		return []stacks.Route{ok, r}
	}
	cases := []struct {
		name   string
		routes []stacks.Route
		want   string
	}{
		{"duplicate key", []stacks.Route{ok, ok}, `route "GET /ok": declared twice`},
		{"public with scopes", with(func(r *stacks.Route) { r.Path, r.Public, r.Scopes = "/p", true, []string{"read:user"} }), `route "GET /p": is public but has scopes`},
		{"too many scopes", with(func(r *stacks.Route) { r.Path, r.Scopes = "/s", strings.Fields("a b c d e f g h i j k") }), `has 11 scopes: API Gateway allows at most 10`},
		{"scope with space", with(func(r *stacks.Route) { r.Path, r.Scopes = "/s", []string{"read user"} }), `scope "read user" must be non-empty printable ASCII without spaces`},
		{"empty scope", with(func(r *stacks.Route) { r.Path, r.Scopes = "/s", []string{""} }), `scope "" must be non-empty`},
		{"no leading slash", with(func(r *stacks.Route) { r.Path = "users" }), `path "users" must start with /`},
		{"trailing slash", with(func(r *stacks.Route) { r.Path = "/users/" }), `path "/users/" must not end with /`},
		{"greedy not last", with(func(r *stacks.Route) { r.Path = "/{proxy+}/x" }), `greedy {proxy+} before its last segment`},
		{"unbalanced parameter", with(func(r *stacks.Route) { r.Path = "/{id" }), `unbalanced parameter`},
		{"empty segment", with(func(r *stacks.Route) { r.Path = "/users//x" }), `path "/users//x" has an empty segment`},
		{"bad parameter name", with(func(r *stacks.Route) { r.Path = "/users/{user-id}" }), `has a bad parameter name in "{user-id}"`},
		{"stray character", with(func(r *stacks.Route) { r.Path = "/users/a+b" }), `has a stray character in "a+b"`},
		{"bad method", with(func(r *stacks.Route) { r.Method = "FETCH" }), `method "FETCH" is not one of`},
		{"unknown function", with(func(r *stacks.Route) { r.Path, r.Function = "/f", "Nope" }), `function "Nope" is not in the Functions table`},
		{"public with permissions", with(func(r *stacks.Route) { r.Path, r.Public, r.Permissions = "/p", true, []string{"read:admin"} }),
			`route "GET /p": is public but has permissions [read:admin]: a public route has no authorizer to check them`},
		{"scopes and permissions", with(func(r *stacks.Route) {
			r.Path, r.Scopes, r.Permissions = "/b", []string{"read:user"}, []string{"read:admin"}
		}),
			`route "GET /b": has both scopes [read:user] and permissions [read:admin]`},
		{"permission with space", with(func(r *stacks.Route) { r.Path, r.Permissions = "/s", []string{"read admin"} }), `permission "read admin" must be non-empty printable ASCII without spaces`},
		{"no summary", with(func(r *stacks.Route) { r.Path, r.Summary = "/s", "" }), `route "GET /s": summary "": say what the route does in one line`},
		{"two-line summary", with(func(r *stacks.Route) { r.Path, r.Summary = "/s", "Reads\nthe user" }), `summary "Reads\nthe user": say what the route does in one line`},
		{"organization not in the path", with(func(r *stacks.Route) { r.Path, r.Organization = "/projects", stacks.OrgFromPath("orgId") }),
			`route "GET /projects": is bound to the organization in path parameter {orgId}, but its path /projects has no segment {orgId}: add it to the path`},
		{"organization with a greedy parameter after it", with(func(r *stacks.Route) {
			r.Path, r.Organization = "/orgs/{orgId}/files/{key+}", stacks.OrgFromPath("orgId")
		}),
			`is bound to the organization in {orgId} and ends in a greedy parameter`},
		{"organization a greedy parameter", with(func(r *stacks.Route) { r.Path, r.Organization = "/orgs/{orgId+}", "{orgId+}" }), `organization "{orgId+}": write OrgFromPath("name")`},
		{"organization neither parameter nor any", with(func(r *stacks.Route) { r.Path, r.Organization = "/orgs/{orgId}", "orgId" }), `organization "orgId": write OrgFromPath("name") for a path parameter {name}, or AnyOrganization`},
		{"public and bound to an organization", with(func(r *stacks.Route) {
			r.Path, r.Public, r.Organization = "/orgs/{orgId}", true, stacks.OrgFromPath("orgId")
		}),
			`route "GET /orgs/{orgId}": is public but bound to the caller's organization ({orgId})`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problems := strings.Join(stacks.ValidateRoutes(c.routes, stacks.Functions), "\n")
			if !strings.Contains(problems, c.want) {
				t.Errorf("want a problem containing %q, got %q", c.want, problems)
			}
		})
	}
	if problems := stacks.ValidateRoutes(stacks.Routes, stacks.Functions); len(problems) > 0 {
		t.Errorf("the shipped route table has problems: %q", problems)
	}
	good := []stacks.Route{{Method: "ANY", Path: "/items/{id}/{proxy+}", Function: "Greeting", Summary: "Anything under an item"}, {Method: "GET", Path: "/", Function: "Greeting", Public: true, Summary: "The root"},
		{Method: "GET", Path: "/me/organization", Function: "Greeting", Organization: stacks.AnyOrganization, Summary: "The caller's organization"},
		{Method: "GET", Path: "/orgs/{orgId}/files/{key}", Function: "Greeting", Organization: stacks.OrgFromPath("orgId"), Scopes: []string{"read:files"}, Summary: "An organization's file"}}
	if problems := stacks.ValidateRoutes(good, stacks.Functions); len(problems) > 0 {
		t.Errorf("valid routes refused: %q", problems)
	}
}

// synthError synthesizes the app that holds stack and returns the failure, if any.
func synthError(stack awscdk.Stack) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	stack.Node().Root().(awscdk.App).Synth(nil)
	return nil
}

func TestDefaultDenyRefusesUndeclaredUnauthenticatedRoutes(t *testing.T) {
	cases := map[string]struct {
		addRoute func(stack awscdk.Stack, api awsapigatewayv2.HttpApi)
		want     string
	}{
		"L2 route with the none authorizer": {func(stack awscdk.Stack, api awsapigatewayv2.HttpApi) {
			fn := stack.Node().FindChild(jsii.String("Greeting")).Node().FindChild(jsii.String("Function")).(awslambda.Function)
			api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path:        jsii.String("/sneaky"),
				Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
				Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Sneaky"), fn, nil),
				Authorizer:  awsapigatewayv2.NewHttpNoneAuthorizer(),
			})
		}, `default deny: route "GET /sneaky"`},
		"L1 route without authorization type": {func(stack awscdk.Stack, api awsapigatewayv2.HttpApi) {
			awsapigatewayv2.NewCfnRoute(stack, jsii.String("Raw"), &awsapigatewayv2.CfnRouteProps{ApiId: api.ApiId(), RouteKey: jsii.String("GET /raw")})
		}, `default deny: route "GET /raw"`},
		"L1 JWT route without authorizer id": {func(stack awscdk.Stack, api awsapigatewayv2.HttpApi) {
			awsapigatewayv2.NewCfnRoute(stack, jsii.String("Half"), &awsapigatewayv2.CfnRouteProps{ApiId: api.ApiId(), RouteKey: jsii.String("GET /half"), AuthorizationType: jsii.String("JWT")})
		}, `route "GET /half" (Dev/Api/Half) is of type JWT but names no authorizer`},
		"an organization's route given the JWT authorizer": {func(stack awscdk.Stack, api awsapigatewayv2.HttpApi) {
			var key string
			for _, route := range stacks.Routes {
				if route.Organization != "" {
					key = route.Key()
				}
			}
			for _, node := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
				if route, ok := node.(awsapigatewayv2.CfnRoute); ok && *route.RouteKey() == key {
					route.SetAuthorizationType(jsii.String("JWT"))
				}
			}
		}, `organization binding: route "POST /orgs/{orgId}/projects" (Dev/Api/HttpApi/POST--orgs--{orgId}--projects/Resource) is bound to the caller's organization in the route table (stacks/routes.go), but its authorization type is "JWT", which cannot read org_id`},
	}
	// One synthesis of the dev stage alone with all three routes: default
	// deny reports every route it refuses.
	context := cdkJSONContext(t)
	context[stacks.StagesContextKey] = map[string]any{"dev": context[stacks.StagesContextKey].(map[string]any)["dev"]}
	delete(context, stacks.GitHubDeployContextKey)
	apps, _, err := synth(context)
	if err != nil {
		t.Fatal(err)
	}
	stack := apps["dev"]
	for _, c := range cases {
		c.addRoute(stack, stack.Node().FindChild(jsii.String("HttpApi")).(awsapigatewayv2.HttpApi))
	}
	refusal := synthError(stack)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if refusal == nil || !strings.Contains(refusal.Error(), c.want) {
				t.Errorf("want synth to fail with %q, got %v", c.want, refusal)
			}
		})
	}
}

// nagFindings are cdk-nag's errors and warnings on a stack, as its cloud
// assembly records them.
func nagFindings(s *stack) []string {
	var findings []string
	for _, m := range s.Messages {
		if m.Type != "aws:cdk:error" && m.Type != "aws:cdk:warning" {
			continue
		}
		if strings.Contains(m.Data, "AwsSolutions-") || strings.Contains(m.Data, "Serverless-") {
			findings = append(findings, m.Path+": "+m.Data)
		}
	}
	return findings
}

func TestCdkNagFindsNothingUnsuppressed(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		if findings := nagFindings(stack); len(findings) > 0 {
			t.Errorf("stage %s: cdk-nag findings:\n%s", name, strings.Join(findings, "\n"))
		}
	}
}

// cdk-nag checks every stack of the app, each stage's and those outside a
// stage: its reports, which the app writes beside the templates, list each
// function and role of each stack under the rules that apply to it, whether
// compliant or suppressed. A stack the aspects missed has no rows.
func TestCdkNagChecksEveryStack(t *testing.T) {
	run := shipped(t)
	checked := map[string]bool{} // "<rule> <construct path>"
	reports, _ := filepath.Glob(filepath.Join(run.dir, "*-NagReport.csv"))
	for _, report := range reports {
		file, err := os.Open(report)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(file).ReadAll()
		file.Close()
		if err != nil {
			t.Fatalf("%s: %v", report, err)
		}
		for _, row := range rows[1:] { // Rule ID, Resource ID, Compliance, …
			checked[row[0]+" "+row[1]] = true
		}
	}
	rulesFor := map[string][]string{
		"AWS::Lambda::Function": {"Serverless-LambdaTracing", "Serverless-LambdaDLQ"},
		"AWS::IAM::Role":        {"AwsSolutions-IAM4", "AwsSolutions-IAM5"},
	}
	for name, s := range run.stacks {
		paths := map[string]string{} // logical ID -> construct path
		for _, m := range s.Messages {
			if m.Type == "aws:cdk:logicalId" {
				paths[m.Data] = strings.TrimPrefix(m.Path, "/")
			}
		}
		var template struct {
			Resources map[string]struct{ Type string }
		}
		if err := json.Unmarshal(s.Template, &template); err != nil {
			t.Fatal(err)
		}
		covered := 0
		for id, resource := range template.Resources {
			for _, rule := range rulesFor[resource.Type] {
				covered++
				if !checked[rule+" "+paths[id]] {
					t.Errorf("stack %s: cdk-nag did not check %s (%s) against %s", name, id, paths[id], rule)
				}
			}
		}
		if covered == 0 {
			t.Errorf("stack %s has no function or role, so this test cannot tell whether cdk-nag checked it", name)
		}
	}
}

// A cdk-nag finding fails the synth: addPolicyChecks on a stage with a
// function of CDK's defaults (managed policy, default memory, no tracing, no
// dead-letter queue). With the recommended flag
// @aws-cdk/core:annotationsInValidationReport, the errors land in the
// validation report.
func TestCdkNagFindingsFailTheSynth(t *testing.T) {
	context := map[string]any{}
	for key, value := range cdkJSONContext(t) {
		if strings.HasPrefix(key, "@aws-cdk") {
			context[key] = value
		}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &context})
	stage := awscdk.NewStage(app, jsii.String("Careless"), nil)
	addPolicyChecks(stage)
	stack := awscdk.NewStack(stage, jsii.String("Api"), nil)
	awslambda.NewFunction(stack, jsii.String("Careless"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String("x")),
	})
	if err := synthError(stack); err == nil {
		t.Fatal("synth accepted a function that breaks cdk-nag rules")
	}
	data, err := os.ReadFile(filepath.Join(*app.Outdir(), "validation-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		PluginReports []struct {
			Violations []struct {
				Description         string
				ViolatingConstructs []struct{ ConstructPath string }
			}
		}
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{} // "<rule> <construct path>"
	for _, plugin := range report.PluginReports {
		for _, violation := range plugin.Violations {
			rule, _, _ := strings.Cut(violation.Description, ":")
			rule, _, _ = strings.Cut(rule, "[")
			for _, construct := range violation.ViolatingConstructs {
				found[rule+" "+construct.ConstructPath] = true
			}
		}
	}
	for _, finding := range []string{
		"AwsSolutions-IAM4 Careless/Api/Careless/ServiceRole/Resource",
		"Serverless-LambdaDefaultMemorySize Careless/Api/Careless/Resource",
		"Serverless-LambdaTracing Careless/Api/Careless/Resource",
		"Serverless-LambdaDLQ Careless/Api/Careless/Resource",
	} {
		if !found[finding] {
			t.Errorf("cdk-nag did not report %s", finding)
		}
	}
}

func TestEverySuppressionHasAReason(t *testing.T) {
	for name, stack := range shippedStacks(t) {
		var template struct {
			Resources map[string]struct {
				Metadata struct {
					CdkNag struct {
						RulesToSuppress []struct{ ID, Reason string } `json:"rules_to_suppress"`
					} `json:"cdk_nag"`
				}
			}
		}
		if err := json.Unmarshal(stack.Template, &template); err != nil {
			t.Fatal(err)
		}
		var count int
		for id, resource := range template.Resources {
			for _, rule := range resource.Metadata.CdkNag.RulesToSuppress {
				count++
				if len(strings.Fields(rule.Reason)) < 10 {
					t.Errorf("stage %s: %s suppresses %s with too thin a reason: %q", name, id, rule.ID, rule.Reason)
				}
			}
		}
		if count == 0 {
			t.Errorf("stage %s: no suppression metadata found; the test would prove nothing", name)
		}
	}
}

// TestBadConfigFailsSynthWithoutTemplate runs the app as the CDK CLI does, with
// the context in CDK_CONTEXT_JSON, and checks that a bad -c override stops it
// with the message and a non-zero exit, leaving no template behind.
func TestBadConfigFailsSynthWithoutTemplate(t *testing.T) {
	t.Parallel() // a run of the app of its own
	context := cdkJSONContext(t)
	context["stages.prod.auth0.domain"] = ""
	context["stages.prod.function.timeoutSeconds"] = "45"
	run := runApp(t, context)
	output, exit, outdir := run.Output, run.Exit, run.dir
	if exit != 1 {
		t.Fatalf("want exit status 1, got %d\n%s", exit, output)
	}
	for _, want := range []string{`stage "prod": auth0.domain: missing`, `stage "prod": function.timeoutSeconds: 45 is out of range`} {
		if !strings.Contains(string(output), want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if strings.Contains(string(output), "goroutine ") {
		t.Errorf("output holds a stack trace:\n%s", output)
	}
	if templates, _ := filepath.Glob(filepath.Join(outdir, "*", "*.template.json")); len(templates) > 0 {
		t.Errorf("templates were written: %v", templates)
	}
}

func TestPermissionsAuthorizerCacheDefaultsTo300AndCanBeOff(t *testing.T) {
	off := set(validStage(), "permissionsAuthorizer", map[string]any{"resultTtlSeconds": 0.0})
	stages, err := load(map[string]any{"a": validStage(), "b": off})
	if err != nil {
		t.Fatal(err)
	}
	if got := stages[0].Config.PermissionsAuthorizer.ResultTTL(); got != 300 {
		t.Errorf("left out: %d, want 300", got)
	}
	if got := stages[1].Config.PermissionsAuthorizer.ResultTTL(); got != 0 {
		t.Errorf("0: %d, want 0 (no caching)", got)
	}
}

func TestReservedConcurrencyWarnsAboutTheAccountQuota(t *testing.T) {
	stages, err := load(map[string]any{"dev": set(validStage(), "function.reservedConcurrency", map[string]any{"ClaimsEcho": 20.0})})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(stages[0].Warnings, "\n"); !strings.Contains(w, `stage "dev": function.reservedConcurrency.ClaimsEcho reserves 20 concurrent executions: they come out of the account's regional concurrency quota`) {
		t.Errorf("warnings %q", w)
	}
}
