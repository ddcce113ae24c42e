package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/openapi"
)

// webPage is the stage's page: a private bucket behind CloudFront.
type webPage struct {
	bucket       awss3.Bucket
	distribution awscloudfront.Distribution
	domain       string // the page's own host name; "" on CloudFront's
}

// URL is the page's address, which the API's CORS origins include: its own
// domain's when it has one, CloudFront's otherwise.
func (p *webPage) URL() string {
	if p.domain != "" {
		return "https://" + p.domain
	}
	return "https://" + *p.distribution.DistributionDomainName()
}

// newWebPage declares the bucket and the distribution that serve the page.
// The CSP lets the page talk only to the tenant and to API Gateway in the
// stage's region: naming the API itself would make a dependency cycle, since
// the API's CORS origins name the distribution. With web.domain, the
// distribution answers on that name with its certificate and TLSv1.2_2021
// at least, and, with a zone, A and AAAA alias records point the name at it.
func newWebPage(stack awscdk.Stack, stage Stage, zone awsroute53.IHostedZone) *webPage {
	bucket := awss3.NewBucket(stack, jsii.String("WebBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		// Old versions of the page's files are kept a while, for a rollback,
		// then expire; an interrupted upload does not linger.
		LifecycleRules: &[]*awss3.LifecycleRule{{
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The bucket holds only the page's public build output, written by the deployment; readers come through CloudFront, whose requests the browser and the API's access log already show. Server access logs would need a second bucket and record nothing a reviewer needs."),
	}}, nil)

	api := "https://*.execute-api." + *awscdk.Aws_REGION() + ".amazonaws.com"
	if stage.Config.Domain.Name != "" {
		api = "https://" + stage.Config.Domain.Name // known before deploy: no cycle
	}
	csp := apitemplate.PageCSP(strings.TrimSuffix(stage.Issuer, "/"), api)
	headers := awscloudfront.NewResponseHeadersPolicy(stack, jsii.String("WebHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("The page of stage " + stage.Name + ": HSTS and a strict CSP"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(730)), IncludeSubdomains: jsii.Bool(true), Override: jsii.Bool(true),
			},
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{ContentSecurityPolicy: jsii.String(csp), Override: jsii.Bool(true)},
			ContentTypeOptions:    &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions:          &awscloudfront.ResponseHeadersFrameOptions{FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true)},
			ReferrerPolicy:        &awscloudfront.ResponseHeadersReferrerPolicy{ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN, Override: jsii.Bool(true)},
		},
	})
	// A path the bucket does not have is a route of the single-page app: S3
	// answers 403 through the origin access control, and the page handles it.
	fallback := func(status float64) *awscloudfront.ErrorResponse {
		return &awscloudfront.ErrorResponse{HttpStatus: jsii.Number(status), ResponseHttpStatus: jsii.Number(200), ResponsePagePath: jsii.String("/index.html"), Ttl: awscdk.Duration_Seconds(jsii.Number(0))}
	}
	props := &awscloudfront.DistributionProps{
		Comment:           jsii.String("auth0-http-api page, stage " + stage.Name),
		DefaultRootObject: jsii.String("index.html"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			ResponseHeadersPolicy: headers,
		},
		ErrorResponses: &[]*awscloudfront.ErrorResponse{fallback(403), fallback(404)},
		HttpVersion:    awscloudfront.HttpVersion_HTTP2_AND_3,
	}
	web := stage.Config.Web
	if web.Domain != "" {
		props.DomainNames = jsii.Strings(web.Domain)
		props.Certificate = webCertificate(stack, stage, zone)
		props.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
		props.SslSupportMethod = awscloudfront.SSLMethod_SNI
	}
	distribution := awscloudfront.NewDistribution(stack, jsii.String("WebDistribution"), props)
	suppressions := []*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-CFR1"), Reason: jsii.String("No geo restriction: the page is for the API's users wherever they are, and the API decides access by token. A restriction would be a per-stage business choice, not a default.")},
		{Id: jsii.String("AwsSolutions-CFR2"), Reason: jsii.String("No WAF web ACL: the page is static files, and the API it calls has its own throttling and authorizer. A web ACL costs about US$5 a month plus US$1 per rule and US$0.60 per million requests per stage; add one where the page draws abuse.")},
		{Id: jsii.String("AwsSolutions-CFR3"), Reason: jsii.String("No CloudFront access log: it needs a bucket with ACLs enabled and holds only fetches of public static files; the API's own access log records every call that matters.")},
	}
	if web.Domain == "" {
		// Only a stage without a domain of its own gets here: config
		// validation requires web.domain of every stage with domain.name.
		suppressions = append(suppressions, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-CFR4"), Reason: jsii.String("This stage has no domain of its own (no domain.name, so no web.domain), and its page is served on CloudFront's *.cloudfront.net certificate, whose security policy CloudFront fixes (the rule reads it as TLSv1) and no setting changes. A stage with a domain must set web.domain, which serves the page with TLSv1.2_2021.")})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(distribution, &suppressions, nil)
	if web.Domain != "" && zone != nil {
		target := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewCloudFrontTarget(distribution))
		awsroute53.NewARecord(stack, jsii.String("WebAliasA"), &awsroute53.ARecordProps{Zone: zone, RecordName: jsii.String(web.Domain), Target: target})
		awsroute53.NewAaaaRecord(stack, jsii.String("WebAliasAAAA"), &awsroute53.AaaaRecordProps{Zone: zone, RecordName: jsii.String(web.Domain), Target: target})
	}
	return &webPage{bucket: bucket, distribution: distribution, domain: web.Domain}
}

// webCertificate is the certificate of the page's domain, which CloudFront
// takes from us-east-1 only: the one web.certificateArn names, or, in a
// stack in us-east-1 with a zone, one ACM issues with DNS validation in it.
// Config validation requires the ARN everywhere else.
func webCertificate(stack awscdk.Stack, stage Stage, zone awsroute53.IHostedZone) awscertificatemanager.ICertificate {
	web := stage.Config.Web
	if web.CertificateARN != "" {
		return awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("WebCertificate"), jsii.String(web.CertificateARN))
	}
	if zone == nil || stage.Config.Region != CloudFrontCertificateRegion {
		panic(fmt.Errorf("stage %q: web.certificateArn: missing: the page's domain %s needs an ACM certificate in %s, which only a stage in %s with a Route 53 zone can issue itself: set web.certificateArn", stage.Name, web.Domain, CloudFrontCertificateRegion, CloudFrontCertificateRegion))
	}
	return awscertificatemanager.NewCertificate(stack, jsii.String("WebCertificate"), &awscertificatemanager.CertificateProps{
		DomainName: jsii.String(web.Domain),
		Validation: awscertificatemanager.CertificateValidation_FromDns(zone),
	})
}

// deploy uploads the page, built at synth, the stage's config.json and its
// OpenAPI document, whose API URL is resolved at deploy time, then
// invalidates CloudFront's copy.
func (p *webPage) deploy(stack awscdk.Stack, stage Stage, apiURL, serverURL *string, routes []Route, logKey awskms.IKey) {
	root, err := gobuild.ModuleRoot()
	if err != nil {
		panic(err)
	}
	api := TemplateAPI(stage, routes)
	configObject := jsonObject(apitemplate.NewPageConfig(stage.Name, api, strings.TrimSuffix(stage.Issuer, "/"), stage.Config.Web.Auth0ClientID, *apiURL))
	doc, err := openapi.New(api, pageDocumentOptions(stage, *serverURL))
	if err != nil {
		panic(err)
	}
	docObject := jsonObject(doc)

	// Its own log group and role, instead of the defaults: a log group without
	// retention or encryption, and a role with the AWS managed basic policy.
	logGroup := newLogGroup(stack, "WebDeploymentLogs", stage.Config.LogRetentionDays, logKey)
	role := awsiam.NewRole(stack, jsii.String("WebDeploymentRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Copies the page of stage " + stage.Name + " into its bucket during deploys: its own logs, the bucket, the invalidation"),
	})
	logGroup.GrantWrite(role)
	deployment := awss3deployment.NewBucketDeployment(stack, jsii.String("WebDeployment"), &awss3deployment.BucketDeploymentProps{
		Role:              role,
		LogGroup:          logGroup,
		DestinationBucket: p.bucket,
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(filepath.Join(root, "web")), &awss3assets.AssetOptions{
				AssetHashType: awscdk.AssetHashType_OUTPUT,
				Bundling: &awscdk.BundlingOptions{
					// Required by the API but never pulled: the local bundler always builds.
					Image: awscdk.DockerImage_FromRegistry(jsii.String("scratch")),
					Local: &localWebBuild{root: root},
				},
			}),
			awss3deployment.Source_JsonData(jsii.String("config.json"), configObject, nil),
			awss3deployment.Source_JsonData(jsii.String("openapi.json"), docObject, nil),
		},
		Distribution:      p.distribution,
		DistributionPaths: jsii.Strings("/*"),
		MemoryLimit:       jsii.Number(256),
	})
	// BucketDeployment grants the invalidation actions on every distribution of
	// the account (Resource "*"); a deploy of this page may flush only its own.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:          jsii.String("InvalidatesOnlyThePagesDistribution"),
		Effect:       awsiam.Effect_DENY,
		Actions:      jsii.Strings("cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"),
		NotResources: &[]*string{p.distribution.DistributionArn()},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, bucketDeploymentSuppressions, jsii.Bool(true))
	// The deployment's function is a singleton of the stack, not a child of
	// the deployment: its suppressions go on the stack's child that holds it.
	for _, child := range *stack.Node().Children() {
		if strings.HasPrefix(*child.Node().Id(), "Custom::CDKBucketDeployment") {
			cdknag.NagSuppressions_AddResourceSuppressions(child, bucketDeploymentSuppressions, jsii.Bool(true))
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(deployment, bucketDeploymentSuppressions, jsii.Bool(true))
}

// bucketDeploymentSuppressions are the findings on aws-cdk-lib's own
// BucketDeployment function, which runs only while CloudFormation deploys.
var bucketDeploymentSuppressions = &[]*cdknag.NagPackSuppression{
	{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("aws-cdk-lib's BucketDeployment grants its function object actions on the CDK asset bucket and on this page's bucket (bucket/*), and CloudFront invalidation on * (an explicit Deny, InvalidatesOnlyThePagesDistribution, narrows that to the page's own distribution, which make wiring proves): it copies, prunes and invalidates every object of the page.")},
	{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("The runtime of aws-cdk-lib's BucketDeployment function is chosen by aws-cdk-lib, which moves it forward with its releases.")},
	{Id: jsii.String("Serverless-LambdaLatestVersion"), Reason: jsii.String("The runtime of aws-cdk-lib's BucketDeployment function is chosen by aws-cdk-lib, which moves it forward with its releases.")},
	{Id: jsii.String("Serverless-LambdaDLQ"), Reason: jsii.String("CloudFormation calls the BucketDeployment function and waits for its answer; a failure fails and rolls back the deploy, so a dead-letter queue would hold nothing to act on.")},
	{Id: jsii.String("Serverless-LambdaTracing"), Reason: jsii.String("aws-cdk-lib's BucketDeployment function runs only during deploys, and its log shows each copy; tracing it would add cost and no insight into the API.")},
	{Id: jsii.String("Serverless-LambdaDefaultMemorySize"), Reason: jsii.String("The memory is set, through BucketDeployment's memoryLimit (256 MiB), on a function whose construct the rule does not see as the project's own.")},
	{Id: jsii.String("Serverless-LambdaDefaultTimeout"), Reason: jsii.String("aws-cdk-lib sets the BucketDeployment function's timeout (15 minutes) for large copies.")},
}

// asTemplate is the route as the synthesized template declares it.
func (r Route) asTemplate() apitemplate.Route {
	route := apitemplate.Route{Key: r.Key(), Method: r.Method, Path: r.Path, Summary: r.Summary, AuthorizationType: apitemplate.AuthorizationJWT, Scopes: r.Scopes, Permissions: r.Permissions, Organization: r.Organization, Function: r.Function}
	switch {
	case r.Public:
		route.AuthorizationType = apitemplate.AuthorizationNone
	case r.NeedsLambdaAuthorizer():
		route.AuthorizationType = apitemplate.AuthorizationCustom
	}
	return route
}

// TemplateAPI is the API as the stage's template will say it, from the route
// table, in the template's order: what the page's OpenAPI document derives
// from, so that it equals `apictl openapi`'s but for the server.
func TemplateAPI(stage Stage, routes []Route) *apitemplate.API {
	api := &apitemplate.API{Issuer: stage.Issuer, Audience: stage.Audiences(), Functions: map[string]apitemplate.Function{}}
	for _, route := range routes {
		api.Routes = append(api.Routes, route.asTemplate())
		api.Functions[route.Function] = apitemplate.Function{GoPackage: functionPackage(route.Function)}
	}
	if stage.Config.RequiresDPoP() {
		// As the template's authorizer will be told.
		api.LambdaAuthorizers = map[string]apitemplate.LambdaAuthorizer{authorizerConstructID: {Function: authorizerConstructID}}
		api.Functions[authorizerConstructID] = apitemplate.Function{GoPackage: AuthorizerPackage, Environment: map[string]string{apitemplate.DPoPVariable: apitemplate.DPoPRequired}}
	}
	slices.SortFunc(api.Routes, func(a, b apitemplate.Route) int { return strings.Compare(a.Key, b.Key) })
	return api
}

// pageDocumentOptions are the deployed page's OpenAPI document's: the
// stage's address, resolved at deploy, and its Auth0 tenant.
func pageDocumentOptions(stage Stage, serverURL string) openapi.Options {
	return openapi.Options{
		Stage:   stage.Name,
		Servers: []openapi.Server{{URL: serverURL, Description: "Stage " + stage.Name}},
		Issuer:  stage.Issuer,
		SignIn:  true,
	}
}

// jsonObject is value as the JSON object S3 deployment data takes.
func jsonObject(value any) map[string]any {
	var object map[string]any
	encoded, _ := json.Marshal(value)
	json.Unmarshal(encoded, &object)
	return object
}

// localWebBuild builds the page with the project's pinned Vite, without Docker.
type localWebBuild struct{ root string }

// TryBundle is called by the CDK during synth. Vite's output names carry
// content hashes, so the same sources give the same asset.
func (b *localWebBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	bin := filepath.Join(b.root, "node_modules", ".bin")
	cmd := exec.Command(filepath.Join(bin, "vite"), "build", "web", "--outDir", *outputDir, "--emptyOutDir", "--logLevel", "warn")
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		panic(fmt.Errorf("building the page (web/) failed: %v: run `npm ci` first\n%s", err, out))
	}
	return jsii.Bool(true)
}
