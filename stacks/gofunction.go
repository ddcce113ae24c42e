package stacks

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/gobuild"
)

// GoFunctionProps configures a Go Lambda function.
type GoFunctionProps struct {
	// Package is the function's Go package relative to the module root, such as "./functions/greeting".
	Package        string
	MemoryMiB      int
	TimeoutSeconds int
	// ReservedConcurrency, when above 0, reserves that many concurrent executions.
	ReservedConcurrency int
	LogRetentionDays    int
	// LogKey encrypts the function's log group.
	LogKey      awskms.IKey
	Environment map[string]string
}

// NewGoFunction declares an arm64 Lambda function on provided.al2023, built from a
// Go package with the local Go toolchain, with its own log group and a role that
// may only write to that log group and to X-Ray.
func NewGoFunction(scope constructs.Construct, id string, props *GoFunctionProps) awslambda.Function {
	construct := constructs.NewConstruct(scope, jsii.String(id))

	logGroup := newLogGroup(construct, "Logs", props.LogRetentionDays, props.LogKey)

	// An explicit role instead of the default one, which would attach the AWS
	// managed AWSLambdaBasicExecutionRole policy (logs on every log group).
	role := awsiam.NewRole(construct, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(fmt.Sprintf("Runs %s: writes its own logs and traces, nothing else", props.Package)),
	})
	logGroup.GrantWrite(role)

	environment := map[string]*string{}
	for key, value := range props.Environment {
		environment[key] = jsii.String(value)
	}
	fn := awslambda.NewFunction(construct, jsii.String("Function"), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         goCode(props.Package),
		MemorySize:   jsii.Number(props.MemoryMiB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(props.TimeoutSeconds)),
		Role:         role,
		LogGroup:     logGroup,
		Tracing:      awslambda.Tracing_ACTIVE,
		Environment:  &environment,
	})
	if props.ReservedConcurrency > 0 {
		fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(props.ReservedConcurrency))
	}
	fn.Node().DefaultChild().(awslambda.CfnFunction).AddMetadata(jsii.String(apitemplate.GoPackageMetadataKey), props.Package)

	cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("Serverless-LambdaDLQ"),
		Reason: jsii.String("API Gateway invokes this function synchronously and returns its error to the caller; a dead-letter queue only receives failed asynchronous invocations, so it would never fire."),
	}}, nil)
	cdknag.NagSuppressions_AddResourceSuppressions(role.Node().FindChild(jsii.String("DefaultPolicy")), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{jsii.String("Resource::*")},
		Reason:    jsii.String("Only xray:PutTraceSegments and xray:PutTelemetryRecords, added by active tracing, use Resource *: X-Ray supports no resource-level permissions for them. Log writes are scoped to the function's own log group."),
	}}, jsii.Bool(true))
	return fn
}

// newLogGroup declares a log group with the stage's retention, encrypted with
// the stage's key, and named under the stack's prefix (logGroupPrefix) after
// its construct path, such as /Dev-Api/ClaimsEcho/Logs.
func newLogGroup(scope constructs.Construct, id string, retentionDays int, key awskms.IKey) awslogs.LogGroup {
	stack := awscdk.Stack_Of(scope)
	path := strings.TrimPrefix(*scope.Node().Path()+"/"+id, *stack.Node().Path()+"/")
	logGroup := awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{
		EncryptionKey: key,
		LogGroupName:  jsii.String(logGroupPrefix(stack) + path),
	})
	// The L2 takes a retention enum; cdk.json takes days, already checked against
	// CloudWatch's list, so set the CloudFormation property directly.
	logGroup.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(retentionDays))
	return logGroup
}

// logGroupPrefix starts the name of every log group of a stack. The log key
// lets CloudWatch Logs use it for these names only, not for every log group
// of the account: a generated name has no documented shape to match.
func logGroupPrefix(stack awscdk.Stack) string {
	return "/" + *stack.StackName() + "/"
}

// goCode bundles a Go package into a Lambda asset. The asset hash is taken from
// the built binary, which the reproducible build flags make depend on the code only.
func goCode(pkg string) awslambda.AssetCode {
	root, err := gobuild.ModuleRoot()
	if err != nil {
		panic(err)
	}
	return awslambda.Code_FromAsset(jsii.String(filepath.Join(root, pkg)), &awss3assets.AssetOptions{
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			// Required by the API but never pulled: the local bundler always builds.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("scratch")),
			Local: &localGoBuild{root: root, pkg: pkg},
		},
	})
}

// localGoBuild builds a Go package for Lambda with the local toolchain, without Docker.
type localGoBuild struct {
	root string
	pkg  string
}

// functionBuild is one go command that builds every function package of the
// route table, for the whole synth: it links them in parallel, and it runs in
// the background while the stages are declared, because the CDK bundles each
// asset synchronously, inside the function's constructor.
var functionBuild struct {
	once     sync.Once
	done     chan struct{}
	binaries map[string][]byte // by package
	err      error
}

// StartFunctionBuild starts building the function packages, unless this synth
// bundles nothing (the CLI's or the tests' aws:cdk:bundling-stacks is empty).
func StartFunctionBuild(app awscdk.App) {
	if selected, ok := app.Node().TryGetContext(jsii.String("aws:cdk:bundling-stacks")).([]any); ok && len(selected) == 0 {
		return
	}
	startFunctionBuild()
}

func startFunctionBuild() {
	functionBuild.once.Do(func() {
		functionBuild.done = make(chan struct{})
		go func() {
			defer close(functionBuild.done)
			root, err := gobuild.ModuleRoot()
			if err == nil {
				functionBuild.binaries, err = buildForLambda(root, append(slices.Sorted(maps.Values(Functions)), AuthorizerPackage, WellKnownPackage, ResourceMetadataPackage)...)
			}
			functionBuild.err = err
		}()
	})
}

// TryBundle is called by the CDK during synth. It never returns false, because
// the fallback would be a Docker build, which this project does not use.
func (b *localGoBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	startFunctionBuild()
	<-functionBuild.done
	binary, err := functionBuild.binaries[b.pkg], functionBuild.err
	if err == nil && binary == nil {
		// A package outside the Functions table: built on its own.
		var binaries map[string][]byte
		binaries, err = buildForLambda(b.root, b.pkg)
		binary = binaries[b.pkg]
	}
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(*outputDir, "bootstrap"), binary, 0o755); err != nil {
		panic(fmt.Errorf("writing the %s bootstrap: %w", b.pkg, err))
	}
	return jsii.Bool(true)
}

// buildForLambda cross-compiles Go packages for Lambda (linux, arm64) in one go
// command and returns each binary by package.
func buildForLambda(root string, pkgs ...string) (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "gofunction-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := gobuild.Build(context.Background(), root, dir, "linux", "arm64", pkgs...); err != nil {
		return nil, err
	}
	binaries := map[string][]byte{}
	for _, pkg := range pkgs {
		// go build -o <existing directory> names each binary after its package.
		if binaries[pkg], err = os.ReadFile(filepath.Join(dir, filepath.Base(pkg))); err != nil {
			return nil, err
		}
	}
	return binaries, nil
}
