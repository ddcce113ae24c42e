package wiring

import (
	"strings"
	"testing"
)

func TestIntrinsicsResolveAsCloudFormationWould(t *testing.T) {
	tmpl, err := ParseTemplate([]byte(`{"Resources": {
		"FnA1B2C3D4": {"Type": "AWS::Lambda::Function", "Properties": {}},
		"NamedFnA1B2C3D4": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "named"}},
		"TopicA1B2C3D4": {"Type": "AWS::SNS::Topic", "Properties": {}},
		"LogsA1B2C3D4": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/Dev-Api/Fn/Logs"}},
		"BucketA1B2C3D4": {"Type": "AWS::S3::Bucket", "Properties": {}}
	}}`), "Dev-Api", Env{Account: "123456789012", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   any
		want string
	}{
		{map[string]any{"Fn::GetAtt": []any{"FnA1B2C3D4", "Arn"}}, "arn:aws:lambda:eu-west-1:123456789012:function:Dev-Api-FnA1B2C3D4"},
		{map[string]any{"Fn::GetAtt": []any{"NamedFnA1B2C3D4", "Arn"}}, "arn:aws:lambda:eu-west-1:123456789012:function:named"},
		{map[string]any{"Ref": "TopicA1B2C3D4"}, "arn:aws:sns:eu-west-1:123456789012:Dev-Api-TopicA1B2C3D4"},
		{map[string]any{"Fn::GetAtt": []any{"LogsA1B2C3D4", "Arn"}}, "arn:aws:logs:eu-west-1:123456789012:log-group:/Dev-Api/Fn/Logs:*"},
		{map[string]any{"Ref": "BucketA1B2C3D4"}, "dev-api-bucketa1b2c3d4"},
		{map[string]any{"Fn::Sub": "cdk-${AWS::AccountId}-${AWS::Region}-${FnA1B2C3D4.Arn}"}, "cdk-123456789012-eu-west-1-arn:aws:lambda:eu-west-1:123456789012:function:Dev-Api-FnA1B2C3D4"},
		{map[string]any{"Fn::Join": []any{":", []any{"a", map[string]any{"Ref": "AWS::Partition"}, map[string]any{"Ref": "AWS::StackName"}}}}, "a:aws:Dev-Api"},
		{map[string]any{"Fn::Select": []any{1.0, map[string]any{"Fn::Split": []any{"/", "x/y/z"}}}}, "y"},
	} {
		if got, err := tmpl.String(c.in); err != nil || got != c.want {
			t.Errorf("%v: got %q (%v), want %q", c.in, got, err, c.want)
		}
	}
	if _, err := tmpl.String(map[string]any{"Ref": "Missing"}); err == nil || !strings.Contains(err.Error(), "Ref Missing: no such resource or pseudo parameter in stack Dev-Api") {
		t.Errorf("an unknown Ref: %v", err)
	}
}

// A role that attaches a managed policy whose text is not in the template
// cannot be proven: the check says so rather than guessing.
func TestAManagedPolicyOutsideTheTemplateIsAnError(t *testing.T) {
	tmpl, err := ParseTemplate([]byte(`{"Resources": {
		"RoleA1B2C3D4": {"Type": "AWS::IAM::Role", "Properties": {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]}},
		"FnA1B2C3D4": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["RoleA1B2C3D4", "Arn"]}, "LoggingConfig": {"LogGroup": {"Ref": "LogsA1B2C3D4"}}}},
		"LogsA1B2C3D4": {"Type": "AWS::Logs::LogGroup", "Properties": {}}
	}}`), "Dev-Api", Env{Account: "123456789012", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = StagePaths("dev", tmpl, nil)
	if err == nil || !strings.Contains(err.Error(), "stage dev: role Role attaches the managed policy arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole, whose text is not in the template") {
		t.Errorf("got %v", err)
	}
}

// A path the check cannot follow is an error, never a path left out.
func TestAPathThatCannotBeFollowedIsAnError(t *testing.T) {
	for _, c := range []struct{ resources, want string }{
		{`"AlarmA1B2C3D4": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmActions": ["arn:aws:sns:eu-west-1:123456789012:ops"]}}`,
			"alarm Alarm notifies arn:aws:sns:eu-west-1:123456789012:ops, a topic outside the stack"},
		{`"ApiA1B2C3D4": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
		  "IntA1B2C3D4": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {"IntegrationType": "AWS_PROXY", "IntegrationUri": "arn:aws:lambda:eu-west-1:123456789012:function:elsewhere"}},
		  "RouteA1B2C3D4": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "ApiA1B2C3D4"}, "RouteKey": "GET /x", "Target": "integrations/inta1b2c3d4"}}`,
			"route Route: its Lambda integration's URI arn:aws:lambda:eu-west-1:123456789012:function:elsewhere is not the ARN of a function of the stack"},
	} {
		tmpl, err := ParseTemplate([]byte(`{"Resources": {`+c.resources+`}}`), "Dev-Api", Env{Account: "123456789012", Region: "eu-west-1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := StagePaths("dev", tmpl, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
