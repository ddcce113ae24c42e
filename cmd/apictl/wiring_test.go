package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWiringListsEveryPathOfAStage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"wiring", "--stage", "dev", "--cdk-out", goldenCloudAssembly(t)}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"\ndev\n",
		"  allowed  CloudWatch alarm `ServerErrorsAlarm` → SNS topic `AlarmTopic`\n",
		"  refused  CloudWatch alarm `ServerErrorsAlarm` → SNS topic `AlarmTopic`, from an alarm of another account (must be refused: ",
		"  allowed  API Gateway route `GET /public` → function `GreetingFunction`\n",
		"must be allowed and ",
		"refused; 0 do not hold\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "GitHubDeploy") {
		t.Errorf("one stage asked for, and the report has the GitHubDeploy stack's paths:\n%s", stdout.String())
	}
}

func TestWiringRefusesAnUnknownStage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"wiring", "--stage", "qa", "--cdk-out", goldenCloudAssembly(t)}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := `apictl wiring: no stage "qa" in cdk.json: expected one of [ci dev prod]`; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
}
