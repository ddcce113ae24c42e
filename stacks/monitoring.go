package stacks

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The alarm thresholds a stage gets when its configuration says nothing.
const (
	defaultServerErrors            = 5
	defaultClientErrorPercent      = 25.0
	defaultIntegrationLatencyP99Ms = 3000
	defaultFunctionErrors          = 1
	defaultFunctionThrottles       = 1
)

// newMonitoring declares the stage's alarms, the encrypted topic they notify,
// and a dashboard of the same metrics, so that someone is told when the API
// breaks and an operator sees how it behaves without log queries.
func newMonitoring(stack awscdk.Stack, stage Stage, api awsapigatewayv2.HttpApi, functions map[string]awslambda.Function, key awskms.Key) {
	// Made here, not in a package variable: a jsii call at package init starts
	// the jsii runtime before main or TestMain can set its environment.
	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	thresholds := stage.Config.Alarms
	// CloudWatch publishes to the encrypted topic with the stage key.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToTheAlarmTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("auth0-http-api " + stage.Name + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if thresholds.Email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(thresholds.Email), nil))
		cdknag.NagSuppressions_AddResourceSuppressions(topic, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("Serverless-SNSRedrivePolicy"),
			Reason: jsii.String("The only subscription is an email address from cdk.json; SNS retries email deliveries itself, and a dead-letter queue of undelivered alarm emails would need its own alarm to be noticed. The alarms stay visible on the stage's dashboard."),
		}}, jsii.Bool(true))
	}
	notify := awscloudwatchactions.NewSnsAction(topic)
	var alarmARNs []*string
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64, periods float64) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description + " (stage " + stage.Name + ")"),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(periods),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(notify)
		a.AddOkAction(notify)
		alarmARNs = append(alarmARNs, a.AlarmArn())
	}

	requests := api.MetricCount(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")})
	clientErrors := api.MetricClientError(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")})
	serverErrors := api.MetricServerError(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")})
	integrationP99 := api.MetricIntegrationLatency(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("p99")})
	latencyP99 := api.MetricLatency(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("p99")})
	clientErrorPercent := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("IF(requests > 0, 100 * clientErrors / requests, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"requests": requests, "clientErrors": clientErrors},
		Label:        jsii.String("4xx %"),
		Period:       fiveMinutes,
	})

	alarm("ServerErrorsAlarm", "The API answered 5xx", serverErrors, float64(Threshold(thresholds.ServerErrors, defaultServerErrors)), 1)
	alarm("ClientErrorRateAlarm", "A large share of requests got 4xx: after a tenant change, check the authorizer's issuer and audience", clientErrorPercent, Threshold(thresholds.ClientErrorPercent, defaultClientErrorPercent), 2)
	alarm("IntegrationLatencyAlarm", "The functions' p99 latency as API Gateway sees it, in ms", integrationP99, float64(Threshold(thresholds.IntegrationLatencyP99Ms, defaultIntegrationLatencyP99Ms)), 3)
	names := slices.Sorted(maps.Keys(functions))
	var functionErrors, functionDurations []awscloudwatch.IMetric
	for _, name := range names {
		fn := functions[name]
		errors := fn.MetricErrors(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum"), Label: jsii.String(name)})
		alarm(name+"ErrorsAlarm", name+" failed", errors, float64(Threshold(thresholds.FunctionErrors, defaultFunctionErrors)), 1)
		alarm(name+"ThrottlesAlarm", name+" was throttled", fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}), float64(Threshold(thresholds.FunctionThrottles, defaultFunctionThrottles)), 1)
		functionErrors = append(functionErrors, errors)
		functionDurations = append(functionDurations, fn.MetricDuration(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("p99"), Label: jsii.String(name)}))
	}

	// A topic policy replaces SNS's default one, which let the account's
	// principals publish; enforceSSL wrote one. Without this statement every
	// alarm goes to ALARM and its notification is refused, recorded only in
	// the alarm's history. Only this stage's alarms, of this account, publish.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("TheStagesAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnEquals":    map[string]any{"aws:SourceArn": alarmARNs},
		},
	}))

	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6)})
	}
	dashboard := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String("auth0-http-api-" + stage.Name),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{graph("Requests", requests), graph("4xx and 5xx", clientErrors, serverErrors)},
			{graph("Latency p99 (ms)", latencyP99, integrationP99), graph("4xx share (%)", clientErrorPercent)},
			{graph("Function errors", functionErrors...), graph("Function duration p99 (ms)", functionDurations...)},
		},
	})
	awscdk.NewCfnOutput(stack, jsii.String("DashboardUrl"), &awscdk.CfnOutputProps{
		Value:       jsii.String("https://console.aws.amazon.com/cloudwatch/home?region=" + *awscdk.Aws_REGION() + "#dashboards:name=" + *dashboard.DashboardName()),
		Description: jsii.String("The stage's CloudWatch dashboard"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value: topic.TopicArn(), Description: jsii.String("The SNS topic the stage's alarms notify: subscribe your on-call tool to it"),
	})
}

// keepOrDestroy applies the stage's removal policy to its log groups and KMS
// key, and its tags to every resource.
func keepOrDestroy(stack awscdk.Stack, config StageConfig) {
	policy := awscdk.RemovalPolicy_RETAIN
	if !config.Retains() {
		policy = awscdk.RemovalPolicy_DESTROY
	}
	awscdk.RemovalPolicies_Of(stack).Apply(policy, &awscdk.RemovalPolicyProps{ApplyToResourceTypes: jsii.Strings("AWS::Logs::LogGroup", "AWS::KMS::Key")})
	for _, name := range slices.Sorted(maps.Keys(config.Tags)) {
		awscdk.Tags_Of(stack).Add(jsii.String(name), jsii.String(config.Tags[name]), &awscdk.TagProps{
			// CloudFormation takes no Tags on a dashboard, though the CDK offers them.
			ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard"),
		})
	}
}
