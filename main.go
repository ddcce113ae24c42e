// Command auth0-http-api is the CDK app: one CDK Stage per stage declared in
// cdk.json, each holding the stage's Auth0-protected HTTP API stack.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/auth0-http-api/cdk/stacks"
)

func main() {
	os.Exit(run(os.Stderr))
}

// run synthesizes the app and returns the exit status. A stage's warnings go
// to stderr: the CDK CLI shows the app's stderr on synth and deploy, whereas
// it prints the stacks' warning annotations only for the stacks selected.
func run(stderr io.Writer) int {
	// The route table is checked before the CDK starts its runtime, so that
	// a wrong edit is refused at once, as live reload shows it.
	if err := routeTableError(); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer closeJSII()
	app := awscdk.NewApp(nil)
	stages, deploy, err := loadApp(app)
	if err == nil {
		for _, stage := range stages {
			for _, warning := range stage.Warnings {
				fmt.Fprintln(stderr, "warning:", warning)
			}
		}
		if deploy != nil {
			for _, warning := range deploy.Warnings {
				fmt.Fprintln(stderr, "warning:", warning)
			}
		}
		err = synthesize(app, func() {
			addStages(app, stages)
			if deploy != nil {
				addGitHubDeploy(app, *deploy)
			}
		})
	}
	if err != nil {
		// No template is written: the CLI reports the app's exit status.
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// closeJSII stops the jsii runtime's node process. jsii-runtime-go v1.139.0
// waits for that process twice at once (internal/kernel/process/process.go,
// the goroutine at line 181 and Close at line 287): whichever wait loses gets
// ECHILD and prints "Runtime process exited abnormally: waitid: no child
// processes", in about a third of the runs, although node exited cleanly.
// The app has written all it has to say by then, so stderr is closed first.
func closeJSII() {
	if devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stderr = devNull
	}
	jsii.Close()
}

// synthesize declares the stacks and writes the cloud assembly. The CDK
// reports failed validations, such as the default-deny check, by throwing, and
// a construct refuses what it cannot build by panicking: both arrive here as
// a panic, which becomes a plain error message instead of a stack trace.
func synthesize(app awscdk.App, declare func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	declare()
	app.Synth(nil)
	return nil
}

// loadApp reads and validates the stages of the app's context, the route
// table and the GitHubDeploy stack's settings, which are nil when cdk.json has none.
func loadApp(app awscdk.App) ([]stacks.Stage, *stacks.GitHubDeploy, error) {
	context, _ := app.Node().GetAllContext(nil).(map[string]any)
	stages, err := stacks.LoadStages(context)
	if err := errors.Join(err, routeTableError()); err != nil {
		return nil, nil, err
	}
	deploy, err := stacks.LoadGitHubDeploy(context, stages)
	return stages, deploy, err
}

// routeTableError is every problem of the route table, as one error; nil
// when it has none.
func routeTableError() error {
	if problems := stacks.ValidateRoutes(stacks.Routes, stacks.Functions); len(problems) > 0 {
		return fmt.Errorf("invalid route table in stacks/routes.go:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// addStages adds every stage to the app and returns their API stacks, keyed by
// stage name.
func addStages(app awscdk.App, stages []stacks.Stage) map[string]awscdk.Stack {

	// Compile the functions while the stages are declared, not when the first
	// function's asset is bundled.
	stacks.StartFunctionBuild(app)

	apis := map[string]awscdk.Stack{}
	for _, stage := range stages {
		cdkStage := awscdk.NewStage(app, jsii.String(stage.ID), &awscdk.StageProps{
			Env: environment(stage.Config),
		})
		addPolicyChecks(cdkStage)
		apis[stage.Name] = stacks.NewAPIStack(cdkStage, "Api", &stacks.APIStackProps{
			StackProps: awscdk.StackProps{
				Description: jsii.String("Auth0-protected HTTP API (stage " + stage.Name + ")"),
				// A stage that keeps its data on deletion is not deleted by mistake either.
				TerminationProtection: jsii.Bool(stage.Config.Retains()),
			},
			Stage:  stage,
			Routes: stacks.Routes,
		})
	}
	return apis
}

// addPolicyChecks runs policy as code on every synth: a finding fails `cdk
// synth` as an error annotation, and each accepted exception is suppressed
// next to its resource. Aspects on the App would not reach into a Stage, so
// each stage and each stack outside one gets them.
func addPolicyChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	awscdk.Aspects_Of(scope).Add(cdknag.NewServerlessChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// addGitHubDeploy adds the stack that lets the GitHub Actions workflows deploy
// the stages: `npx cdk deploy GitHubDeploy`, once per account.
func addGitHubDeploy(app awscdk.App, deploy stacks.GitHubDeploy) awscdk.Stack {
	stack := stacks.NewGitHubDeployStack(app, deploy, &awscdk.StackProps{
		Description: jsii.String("GitHub Actions OIDC deploy role of " + deploy.Config.Repository),
	})
	addPolicyChecks(stack)
	return stack
}

// environment pins the stage to an account and region when cdk.json names them;
// otherwise the stack is environment-agnostic.
func environment(config stacks.StageConfig) *awscdk.Environment {
	if config.Account == "" && config.Region == "" {
		return nil
	}
	env := &awscdk.Environment{}
	if config.Account != "" {
		env.Account = jsii.String(config.Account)
	}
	if config.Region != "" {
		env.Region = jsii.String(config.Region)
	}
	return env
}
