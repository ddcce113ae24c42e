// Package stacks holds the CDK code: the typed stage configuration and its
// validation, the route table, the API stack, the Go function construct and
// the default-deny check. It is the only package besides the app that links the
// CDK, so that tools and tests that need no CDK stay small.
package stacks

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/replay"
)

// APIStackProps configures one stage's API stack.
type APIStackProps struct {
	awscdk.StackProps
	Stage  Stage
	Routes []Route
}

// AccessLogFormat is the stage's JSON access log line. It names the route, the
// outcome, why the authorizer refused a request, and who made it.
var AccessLogFormat = map[string]string{
	"requestId":       "$context.requestId",
	"requestTime":     "$context.requestTime",
	"ip":              "$context.identity.sourceIp",
	"routeKey":        "$context.routeKey",
	"status":          "$context.status",
	"responseLatency": "$context.responseLatency",
	"integrationErr":  "$context.integrationErrorMessage",
	"authorizerError": "$context.authorizer.error",
	"sub":             "$context.authorizer.claims.sub",
}

// NewAPIStack declares the HTTP API of one stage: a JWT authorizer on the stage's
// Auth0 tenant as the default for every route, the routes of the route table, and
// the Go functions behind them.
func NewAPIStack(scope constructs.Construct, id string, props *APIStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	zone := hostedZone(stack, props.Stage.Config.Domain)
	var page *webPage
	if props.Stage.Config.Web.Auth0ClientID != "" {
		page = newWebPage(stack, props.Stage, zone)
	}
	api, issuer := newHTTPAPI(stack, props.Stage, page)
	logKey := newLogKey(stack, props.Stage.Name)
	functions := map[string]awslambda.Function{}
	routes := StageRoutes(props.Stage, props.Routes)
	integrations := newFunctions(stack, props.Stage, routes, logKey, functions, map[string]map[string]string{
		resourceMetadataConstructID: resourceMetadataEnvironment(props.Stage, *issuer, routes, page),
	})
	if props.Stage.Config.SelfHostedIssuer.Enabled() {
		newSelfHostedIssuer(stack, props.Stage, *issuer, functions[wellKnownConstructID])
	}
	addRoutes(api, routes, integrations, newPermissionsAuthorizer(stack, props.Stage, *issuer, routes, logKey, functions))
	stack.Node().AddValidation(&defaultDeny{scope: stack, routes: routes})
	var domain awsapigatewayv2.DomainName
	if props.Stage.Config.Domain.Name != "" {
		domain = newDomain(stack, props.Stage.Config.Domain, zone)
	}
	stage := newStage(stack, api, props.Stage.Config, logKey, domain)
	// The OpenAPI server is the same URL without its trailing slash. With a
	// custom domain, the execute-api endpoint is disabled and may not be read.
	var apiURL, serverURL *string
	if domain != nil {
		serverURL = jsii.String("https://" + props.Stage.Config.Domain.Name)
		apiURL = jsii.String(*serverURL + "/")
	} else {
		apiURL, serverURL = stage.Url(), api.ApiEndpoint()
	}
	addOutputs(stack, apiURL, *issuer, props.Stage)
	newMonitoring(stack, props.Stage, api, functions, logKey)
	keepOrDestroy(stack, props.Stage.Config)
	if page != nil {
		page.deploy(stack, props.Stage, apiURL, serverURL, routes, logKey)
		awscdk.NewCfnOutput(stack, jsii.String("WebUrl"), &awscdk.CfnOutputProps{
			Value: jsii.String(page.URL() + "/"), Description: jsii.String("The page that signs in with Auth0 and calls the API"),
		})
		awscdk.NewCfnOutput(stack, jsii.String("WebClientId"), &awscdk.CfnOutputProps{
			Value: jsii.String(props.Stage.Config.Web.Auth0ClientID), Description: jsii.String("The Auth0 single-page application the page signs in with"),
		})
	}
	return stack
}

// StageRoutes are the routes a stage serves: the route table's, its
// Protected Resource Metadata, and, for a stage that is its own issuer, its
// discovery document and key set. On a stage that requires DPoP, every
// private route is the Lambda authorizer's, which checks the proofs.
func StageRoutes(stage Stage, routes []Route) []Route {
	routes = append(slices.Clone(routes), resourceMetadataRoute)
	for i := range routes {
		routes[i].dpop = !routes[i].Public && stage.Config.RequiresDPoP()
	}
	if stage.Config.SelfHostedIssuer.Enabled() {
		routes = append(routes, wellKnownRoutes...)
	}
	return routes
}

// newHTTPAPI declares the API with the stage's JWT authorizer as every
// route's default. The stage's page, when it has one, is a CORS origin.
// It returns the API and the issuer its JWT authorizer accepts: the Auth0
// tenant's, or, for a stage that is its own issuer, the API's own URL.
func newHTTPAPI(stack awscdk.Stack, stage Stage, page *webPage) (awsapigatewayv2.HttpApi, *string) {
	origins := stage.Config.Cors.AllowOrigins
	if page != nil && !slices.Contains(origins, page.URL()) {
		origins = append(slices.Clone(origins), page.URL())
	}
	issuer := jsii.String(stage.Issuer)
	ownURL := &apiURL{}
	switch {
	case stage.Issuer != "":
	case stage.Config.Domain.Name != "":
		issuer = jsii.String("https://" + stage.Config.Domain.Name + "/")
	default:
		// The authorizer is made before the API whose URL it names: the URL
		// is filled in when the template is written.
		issuer = awscdk.Lazy_String(ownURL, nil)
	}
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("Auth0"), issuer,
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
			AuthorizerName: jsii.String("auth0"),
			JwtAudience:    jsii.Strings(stage.Audiences()...),
			IdentitySource: jsii.Strings("$request.header.Authorization"),
		})
	ownURL.api = awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String("auth0-http-api-" + stage.Name),
		Description: jsii.String("Auth0-protected HTTP API, stage " + stage.Name),
		// Every route gets the JWT authorizer unless the route table declares it public.
		DefaultAuthorizer: authorizer,
		// The stage below replaces the implicit one, which has no logs or throttling.
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      corsPreflight(origins, stage.Config.RequiresDPoP()),
		// With a custom domain, the execute-api address is closed: clients come
		// through the domain, its TLS policy and its logs, or not at all.
		DisableExecuteApiEndpoint: jsii.Bool(stage.Config.Domain.Name != ""),
	})
	return ownURL.api, issuer
}

// apiURL produces an API's execute-api URL, once the API exists.
type apiURL struct{ api awsapigatewayv2.HttpApi }

func (u *apiURL) Produce() *string {
	return jsii.String("https://" + *u.api.ApiId() + ".execute-api." + *awscdk.Aws_REGION() + "." + *awscdk.Aws_URL_SUFFIX() + "/")
}

// newLogKey declares the stage's customer-managed key for every log group: the
// access log holds caller IPs and subjects, the function logs hold request metadata.
func newLogKey(stack awscdk.Stack, stageName string) awskms.Key {
	logKey := awskms.NewKey(stack, jsii.String("LogKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the CloudWatch log groups of the auth0-http-api stage " + stageName),
		EnableKeyRotation: jsii.Bool(true),
	})
	logKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsForTheStacksLogGroups"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*awscdk.Aws_REGION()+".amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"ArnLike": map[string]any{
				"kms:EncryptionContext:aws:logs:arn": "arn:" + *awscdk.Aws_PARTITION() + ":logs:" + *awscdk.Aws_REGION() + ":" + *awscdk.Aws_ACCOUNT_ID() + ":log-group:" + logGroupPrefix(stack) + "*",
			},
		},
	}), nil)
	// Only AWS services may create grants on the key (Control Tower CT.KMS.PR.3).
	logKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("GrantsOnlyForAWSServices"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("kms:CreateGrant"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"BoolIfExists": map[string]any{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"},
		},
	}), nil)
	return logKey
}

// newFunctions declares each function the routes use into functions, with
// the stage's name and what environments gives it in its environment, and
// returns their Lambda integrations.
func newFunctions(stack awscdk.Stack, stage Stage, routes []Route, logKey awskms.IKey, functions map[string]awslambda.Function, environments map[string]map[string]string) map[string]awsapigatewayv2integrations.HttpLambdaIntegration {
	config := stage.Config
	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	for _, name := range functionsUsed(routes) {
		environment := map[string]string{"STAGE": stage.Name}
		maps.Copy(environment, environments[name])
		fn := NewGoFunction(stack, name, &GoFunctionProps{
			Package:             functionPackage(name),
			MemoryMiB:           config.Function.MemoryMiB,
			TimeoutSeconds:      config.Function.TimeoutSeconds,
			ReservedConcurrency: config.Function.ReservedConcurrency[name],
			LogRetentionDays:    config.LogRetentionDays,
			LogKey:              logKey,
			Environment:         environment,
		})
		functions[name] = fn
		integrations[name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(name+"Integration"), fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}
	return integrations
}

// lambdaAuthorizerTimeoutSeconds is how long API Gateway waits for a Lambda
// authorizer (docs/lambda-authorizer.md): the function may not run longer.
const lambdaAuthorizerTimeoutSeconds = 10

// newPermissionsAuthorizer declares the Lambda authorizer of the routes that
// require permissions or are bound to the caller's organization, or returns
// nil when none does. Its function learns each route's rule from one
// environment variable, derived from the route table here.
func newPermissionsAuthorizer(stack awscdk.Stack, stage Stage, issuer string, routes []Route, logKey awskms.IKey, functions map[string]awslambda.Function) awsapigatewayv2authorizers.HttpLambdaAuthorizer {
	rules := map[string]apitemplate.RouteRule{}
	for _, route := range routes {
		if route.NeedsLambdaAuthorizer() {
			rules[route.Key()] = route.asTemplate().Rule()
		}
	}
	if len(rules) == 0 {
		return nil
	}
	routeRules, _ := json.Marshal(rules)
	audience, _ := json.Marshal(stage.Audiences())
	environment := map[string]string{
		"STAGE":                                stage.Name,
		apitemplate.AuthorizerIssuerVariable:   issuer,
		apitemplate.AuthorizerAudienceVariable: string(audience),
		apitemplate.RouteRulesVariable:         string(routeRules),
	}
	// API Gateway caches an answer by the identity sources' values. With the
	// route key among them, an answer for one route is never reused on
	// another; with the request path, one for an organization's path never
	// on another organization's (docs/lambda-authorizer.md §5).
	identitySource := []string{"$request.header.Authorization", "$context.routeKey", "$context.path"}
	ttl := stage.Config.PermissionsAuthorizer.ResultTTL()
	var replayTable awsdynamodb.Table
	if stage.Config.RequiresDPoP() {
		replayTable = newReplayTable(stack)
		environment[apitemplate.DPoPVariable] = apitemplate.DPoPRequired
		environment[apitemplate.ReplayTableVariable] = *replayTable.TableName()
		environment[apitemplate.APISchemeVariable] = "https"
		// A request without a proof gets API Gateway's 401, without a call;
		// and every proof is new, so no answer is ever cached (docs/dpop.md).
		identitySource = append(identitySource, "$request.header.DPoP")
		ttl = 0
	}
	fn := NewGoFunction(stack, authorizerConstructID, &GoFunctionProps{
		Package:             AuthorizerPackage,
		MemoryMiB:           stage.Config.Function.MemoryMiB,
		TimeoutSeconds:      min(stage.Config.Function.TimeoutSeconds, lambdaAuthorizerTimeoutSeconds),
		ReservedConcurrency: stage.Config.Function.ReservedConcurrency[authorizerConstructID],
		LogRetentionDays:    stage.Config.LogRetentionDays,
		LogKey:              logKey,
		Environment:         environment,
	})
	if replayTable != nil {
		// It writes proofs, and nothing else: no read, no delete.
		replayTable.Grant(fn, jsii.String("dynamodb:PutItem"))
	}
	functions[authorizerConstructID] = fn
	return awsapigatewayv2authorizers.NewHttpLambdaAuthorizer(jsii.String("Permissions"), fn, &awsapigatewayv2authorizers.HttpLambdaAuthorizerProps{
		AuthorizerName:  jsii.String("permissions"),
		IdentitySource:  jsii.Strings(identitySource...),
		ResponseTypes:   &[]awsapigatewayv2authorizers.HttpLambdaResponseType{awsapigatewayv2authorizers.HttpLambdaResponseType_SIMPLE},
		ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(ttl)),
	})
}

// newReplayTable declares the table in which the authorizer records each
// DPoP proof it accepts, so that no instance accepts it again: on demand,
// encrypted, and each item deleted by DynamoDB's TTL once its proof is
// stale. Point-in-time recovery is on, as the policy checks ask: the table
// holds a few kilobytes at most, so it costs next to nothing. A proof is
// stale after a minute, so the table is not kept when the stack goes.
func newReplayTable(stack awscdk.Stack) awsdynamodb.Table {
	return awsdynamodb.NewTable(stack, jsii.String("DPoPReplay"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(replay.KeyAttribute), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:                       awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute:              jsii.String(replay.ExpiresAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		RemovalPolicy:                    awscdk.RemovalPolicy_DESTROY,
	})
}

// addRoutes adds the route table's routes. Public ones get no authorizer, and
// their cdk-nag finding is suppressed with the reason; routes that require
// permissions or an organization get the permissions authorizer.
func addRoutes(api awsapigatewayv2.HttpApi, routes []Route, integrations map[string]awsapigatewayv2integrations.HttpLambdaIntegration, permissions awsapigatewayv2authorizers.HttpLambdaAuthorizer) {
	for _, route := range routes {
		options := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(route.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(route.Method)},
			Integration: integrations[route.Function],
			// Always an explicit list, so no route inherits scopes from elsewhere.
			AuthorizationScopes: jsii.Strings(route.Scopes...),
		}
		switch {
		case route.Public:
			options.Authorizer = awsapigatewayv2.NewHttpNoneAuthorizer()
		case route.NeedsLambdaAuthorizer():
			// Only a JWT authorizer reads a route's scopes: the Lambda
			// authorizer checks them from its rules.
			options.Authorizer, options.AuthorizationScopes = permissions, jsii.Strings()
		}
		for _, added := range *api.AddRoutes(options) {
			added.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String(apitemplate.SummaryMetadataKey), route.Summary)
			if route.Public {
				cdknag.NagSuppressions_AddResourceSuppressions(added.Node().DefaultChild(), &[]*cdknag.NagPackSuppression{{
					Id:     jsii.String("AwsSolutions-APIG4"),
					Reason: jsii.String("The route table (stacks/routes.go) declares " + route.Key() + " public on purpose: it serves non-sensitive content to anyone. The default-deny check fails synth for any unauthenticated route not declared there."),
				}}, nil)
			}
		}
	}
}

// newStage declares the "$default" stage with throttling and a JSON access log.
// newStage declares the "$default" stage with throttling and a JSON access
// log, mapped to the custom domain when the stage has one.
func newStage(stack awscdk.Stack, api awsapigatewayv2.HttpApi, config StageConfig, logKey awskms.IKey, domain awsapigatewayv2.DomainName) awsapigatewayv2.HttpStage {
	accessLogs := newLogGroup(stack, "AccessLogs", config.LogRetentionDays, logKey)
	var mapping *awsapigatewayv2.DomainMappingOptions
	if domain != nil {
		mapping = &awsapigatewayv2.DomainMappingOptions{DomainName: domain}
	}
	stage := awsapigatewayv2.NewHttpStage(stack, jsii.String("Stage"), &awsapigatewayv2.HttpStageProps{
		DomainMapping: mapping,
		HttpApi:       api,
		// "$default" serves the routes at the root of the URL, exactly as the route table writes them.
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(config.Throttle.RateLimit),
			BurstLimit: jsii.Number(config.Throttle.BurstLimit),
		},
	})
	logFormat, _ := json.Marshal(AccessLogFormat)
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(string(logFormat)),
	})
	return stage
}

// addOutputs declares what tools and people need after a deploy.
func addOutputs(stack awscdk.Stack, apiURL *string, issuer string, config Stage) {
	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value: apiURL, Description: jsii.String("The API's base URL: the custom domain's, when the stage has one"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("Issuer"), &awscdk.CfnOutputProps{
		Value: jsii.String(issuer), Description: jsii.String("The JWT issuer the authorizer accepts"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("Audience"), &awscdk.CfnOutputProps{
		Value: jsii.String(strings.Join(config.Audiences(), ",")), Description: jsii.String("The JWT audiences the authorizer accepts, comma-separated"),
	})
}

// corsPreflight lets the origins call the API with a token, and, on a stage
// that requires DPoP, with its proof.
func corsPreflight(origins []string, dpop bool) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		return nil
	}
	headers := []string{"authorization", "content-type"}
	if dpop {
		headers = append(headers, "dpop")
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_ANY},
		AllowHeaders: jsii.Strings(headers...),
		MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
	}
}

// functionsUsed lists the functions the routes need, in a stable order.
func functionsUsed(routes []Route) []string {
	seen := map[string]bool{}
	var names []string
	for _, route := range routes {
		if !seen[route.Function] {
			seen[route.Function] = true
			names = append(names, route.Function)
		}
	}
	sort.Strings(names)
	return names
}
