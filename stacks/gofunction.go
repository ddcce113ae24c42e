package stacks

import (
	"fmt"
	"os"
	"path/filepath"
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

	"github.com/auth0-http-api/cdk/internal/gobuild"
)

// GoPackageMetadataKey is the CloudFormation metadata key on each function that
// names its Go package, so tools that read the template can build the same code.
const GoPackageMetadataKey = "GoPackage"

// GoFunctionProps configures a Go Lambda function.
type GoFunctionProps struct {
	// Package is the function's Go package relative to the module root, such as "./functions/greeting".
	Package          string
	MemoryMiB        int
	TimeoutSeconds   int
	LogRetentionDays int
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
		Code:         goCode(construct, props.Package),
		MemorySize:   jsii.Number(props.MemoryMiB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(props.TimeoutSeconds)),
		Role:         role,
		LogGroup:     logGroup,
		Tracing:      awslambda.Tracing_ACTIVE,
		Environment:  &environment,
	})
	fn.Node().DefaultChild().(awslambda.CfnFunction).AddMetadata(jsii.String(GoPackageMetadataKey), props.Package)

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

// newLogGroup declares a log group with the stage's retention, encrypted with the stage's key.
func newLogGroup(scope constructs.Construct, id string, retentionDays int, key awskms.IKey) awslogs.LogGroup {
	logGroup := awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{EncryptionKey: key})
	// The L2 takes a retention enum; cdk.json takes days, already checked against
	// CloudWatch's list, so set the CloudFormation property directly.
	logGroup.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(retentionDays))
	return logGroup
}

// goCode bundles a Go package into a Lambda asset. The asset hash is taken from
// the built binary, which the reproducible build flags make depend on the code only.
func goCode(scope constructs.Construct, pkg string) awslambda.AssetCode {
	root, err := gobuild.ModuleRoot()
	if err != nil {
		panic(err)
	}
	if *awscdk.Stack_Of(scope).BundlingRequired() {
		// Compile now, in the background, so that the build overlaps the rest of
		// the synth instead of running when the CDK asks for the bundle.
		startBuild(root, pkg)
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

// builds holds one build per Go package, so that a synth of many stages
// compiles every function once.
var builds sync.Map // package -> *build

type build struct {
	done   chan struct{}
	binary []byte
	err    error
}

// startBuild starts the package's build, or returns the one already started.
func startBuild(root, pkg string) *build {
	b := &build{done: make(chan struct{})}
	if started, loaded := builds.LoadOrStore(pkg, b); loaded {
		return started.(*build)
	}
	go func() {
		defer close(b.done)
		b.binary, b.err = buildForLambda(root, pkg)
	}()
	return b
}

// TryBundle is called by the CDK during synth. It never returns false, because
// the fallback would be a Docker build, which this project does not use.
func (b *localGoBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	built := startBuild(b.root, b.pkg)
	<-built.done
	if built.err != nil {
		panic(built.err)
	}
	if err := os.WriteFile(filepath.Join(*outputDir, "bootstrap"), built.binary, 0o755); err != nil {
		panic(fmt.Errorf("writing the %s bootstrap: %w", b.pkg, err))
	}
	return jsii.Bool(true)
}

// buildForLambda cross-compiles a Go package for Lambda (linux, arm64) and returns the binary.
func buildForLambda(root, pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "gofunction-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	output := filepath.Join(dir, "bootstrap")
	if err := gobuild.Build(root, pkg, output, "linux", "arm64"); err != nil {
		return nil, err
	}
	return os.ReadFile(output)
}
