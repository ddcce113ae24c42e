package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/stacks"
)

// A stage with "dpop": "required" puts every private route behind the
// Lambda authorizer, which checks the proofs: the DPoP header is one of its
// identity sources, so a request without one is API Gateway's 401; nothing
// is cached; each proof is recorded in an on-demand, encrypted table with a
// TTL, which the authorizer may only write to; and the metadata says tokens
// must be DPoP-bound.
func TestAStageThatRequiresDPoP(t *testing.T) {
	prod := shippedStacks(t)["prod"] // the shipped prod requires DPoP
	api, err := apitemplate.Parse(prod.Template)
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range api.Routes {
		if !route.Public() && route.AuthorizationType != apitemplate.AuthorizationCustom {
			t.Errorf("%s is %s, want the Lambda authorizer's (CUSTOM)", route.Key, route.AuthorizationType)
		}
	}
	if len(api.LambdaAuthorizers) != 1 {
		t.Fatalf("%d Lambda authorizers", len(api.LambdaAuthorizers))
	}
	for _, authorizer := range api.LambdaAuthorizers {
		if !slices.Contains(authorizer.IdentitySource, "$request.header.DPoP") || authorizer.ResultTTLSeconds != 0 {
			t.Errorf("identity sources %v, cache %d s: want the DPoP header among them, and no cache", authorizer.IdentitySource, authorizer.ResultTTLSeconds)
		}
		env := api.Functions[authorizer.Function].Environment
		if env[apitemplate.DPoPVariable] != apitemplate.DPoPRequired || env[apitemplate.APISchemeVariable] != "https" {
			t.Errorf("the authorizer's environment %v", env)
		}
		rules, _ := apitemplate.ParseRouteRules(env[apitemplate.RouteRulesVariable])
		if rule, ok := rules["GET /user"]; !ok || !slices.Equal(rule.Scopes, []string{"read:user"}) {
			t.Errorf("GET /user's rule %+v: the authorizer checks the scopes the JWT authorizer would have", rule)
		}
	}
	template := stackTemplate(t, prod)
	// The page, and any browser client, may send the proof.
	template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
		"CorsConfiguration": assertions.Match_ObjectLike(&map[string]any{"AllowHeaders": []any{"authorization", "content-type", "dpop"}}),
	})
	template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
	template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"BillingMode":                      "PAY_PER_REQUEST",
		"KeySchema":                        []any{map[string]any{"AttributeName": "id", "KeyType": "HASH"}},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires", "Enabled": true},
	})
	template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
			apitemplate.ReplayTableVariable: map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^DPoPReplay"))},
		})},
	})
	// The authorizer's role writes items to that table, and does nothing else with DynamoDB.
	var doc map[string]any
	json.Unmarshal(prod.Template, &doc)
	var dynamoActions []string
	for _, resource := range doc["Resources"].(map[string]any) {
		r := resource.(map[string]any)
		if r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		for _, statement := range r["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := statement.(map[string]any)
			actions, _ := s["Action"].([]any)
			if action, ok := s["Action"].(string); ok {
				actions = []any{action}
			}
			for _, action := range actions {
				if strings.HasPrefix(action.(string), "dynamodb:") {
					dynamoActions = append(dynamoActions, action.(string))
					if resourceJSON, _ := json.Marshal(s["Resource"]); !strings.Contains(string(resourceJSON), "DPoPReplay") || strings.Contains(string(resourceJSON), "*") {
						t.Errorf("%s on %s, want the replay table only", action, resourceJSON)
					}
				}
			}
		}
	}
	if !slices.Equal(dynamoActions, []string{"dynamodb:PutItem"}) {
		t.Errorf("DynamoDB actions granted: %v, want dynamodb:PutItem alone", dynamoActions)
	}
	metadata, err := api.ResourceMetadata()
	if err != nil || metadata == nil || !metadata.DPoPBoundAccessTokensRequired || !slices.Equal(metadata.DPoPSigningAlgValuesSupported, dpop.Algorithms) {
		t.Errorf("metadata %+v, %v: want DPoP-bound tokens required, with the accepted algorithms", metadata, err)
	}
	// Of the shipped stages, prod requires DPoP: only its template has a table.
	for name, stack := range shippedStacks(t) {
		if has := strings.Contains(string(stack.Template), "AWS::DynamoDB::Table"); has != shippedStage(t, name).Config.RequiresDPoP() {
			t.Errorf("stage %s: a DPoP replay table %t, dpop %q", name, has, shippedStage(t, name).Config.DPoP)
		}
	}
	if !shippedStage(t, "prod").Config.RequiresDPoP() {
		t.Error("the shipped prod does not require DPoP")
	}
}

func TestDPoPSettingsThatAreRefused(t *testing.T) {
	for name, c := range map[string]struct {
		stage map[string]any
		want  string
	}{
		"another value": {set(validStage(), "dpop", "optional"), `stage "dev": dpop: "optional" is not a DPoP setting: expected "required", or leave it out for bearer tokens`},
		"a cache": {set(set(validStage(), "dpop", "required"), "permissionsAuthorizer", map[string]any{"resultTtlSeconds": 60.0}),
			`stage "dev": permissionsAuthorizer.resultTtlSeconds: 60: with dpop "required" every request brings a new proof, so the authorizer's answers are never cached; leave it out`},
	} {
		if _, err := load(map[string]any{"dev": c.stage}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	stages, err := load(map[string]any{"dev": set(set(validStage(), "dpop", "required"), "permissionsAuthorizer", map[string]any{"resultTtlSeconds": 0.0})})
	if err != nil || !stages[0].Config.RequiresDPoP() {
		t.Errorf("dpop with the cache off: %v", err)
	}
	if routes := stacks.StageRoutes(stages[0], stacks.Routes); !slices.ContainsFunc(routes, func(r stacks.Route) bool { return r.Path == "/private" && r.NeedsLambdaAuthorizer() }) {
		t.Error("GET /private is not the Lambda authorizer's on a stage that requires DPoP")
	}
}
