package wiring

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Policy is an IAM policy document with the name a report shows for it.
type Policy struct {
	Name     string `json:"name"`
	Document any    `json:"document"`
}

// Request is one call as AWS authorizes it: who asks, for what, on what, with
// which condition keys, and the policies AWS weighs.
type Request struct {
	Principal        string         `json:"principal"` // an ARN, a service principal, or Anonymous
	Action           string         `json:"action"`
	Resource         string         `json:"resource"`
	ResourceAccount  string         `json:"resourceAccount"`
	Context          map[string]any `json:"context"` // a string or a list of strings each
	IdentityPolicies []Policy       `json:"identityPolicies"`
	// ResourcePolicy is the resource's own policy, a key policy, or a role's
	// trust policy; nil when the resource has none.
	ResourcePolicy *Policy `json:"resourcePolicy,omitempty"`
	Trust          bool    `json:"trust"` // ResourcePolicy is a role's trust policy
	// BlockPublicAccess is S3's RestrictPublicBuckets of the bucket.
	BlockPublicAccess bool `json:"blockPublicAccess"`
}

// Anonymous is the principal of an unsigned request.
const Anonymous = "Anonymous"

// Path is one runtime path of a stage: the requests AWS authorizes when it is
// taken. A path is allowed when every request is. A neighbour is a path that
// must be refused, at least at one of its requests; Why says why.
type Path struct {
	Stage     string
	Name      string
	Neighbour bool
	Why       string
	Steps     []Request
}

// builder walks one template.
type builder struct {
	stage      string
	t          *Template
	signerARNs []string
	paths      []Path
}

func (b *builder) add(path Path) {
	path.Stage = b.stage
	b.paths = append(b.paths, path)
}

var (
	logicalIDHash = regexp.MustCompile(`[0-9A-F]{8}$`)
	accountID     = regexp.MustCompile(`^\d{12}$`)
)

// label is how a report names a resource: its construct's name, without the
// hash CDK appends to logical IDs.
func label(id string) string {
	if trimmed := logicalIDHash.ReplaceAllString(id, ""); trimmed != "" {
		return trimmed
	}
	return id
}

// StagePaths finds every runtime path of one stage's template, and the
// neighbours each must refuse. Signers are the principals that cdk.json's
// selfHostedIssuer.signers names: they sign with the key of the template's
// IssuerKeyArn output.
func StagePaths(stage string, t *Template, signers []string) ([]Path, error) {
	b := &builder{stage: stage, t: t, signerARNs: signers}
	for _, step := range []func() error{b.apiToFunctions, b.alarmsToTopics, b.logsToKeys, b.cloudFrontToBuckets, b.pageDeployments, b.keyReaders, b.signers, b.functionLogs, b.replayWriters} {
		if err := step(); err != nil {
			return nil, fmt.Errorf("stage %s: %w", stage, err)
		}
	}
	return b.paths, nil
}

func (b *builder) props(id string) map[string]any { return b.t.Resources[id].Properties }

// resourceID returns the logical ID a property refers to by Ref or GetAtt.
func resourceID(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if ref, ok := m["Ref"].(string); ok {
		return ref
	}
	if getAtt, ok := m["Fn::GetAtt"].([]any); ok && len(getAtt) == 2 {
		id, _ := getAtt[0].(string)
		return id
	}
	return ""
}

// byARN finds the resource of a type that an ARN names, "" when none does.
func (b *builder) byARN(resourceType, arn string) string {
	for _, id := range b.t.OfType(resourceType) {
		if own, _ := b.t.GetAtt(id, "Arn"); own == arn {
			return id
		}
	}
	return ""
}

// identityPolicies are the policies attached to a role of the template:
// inline, AWS::IAM::Policy, and managed policies of the template.
func (b *builder) identityPolicies(roleID string) ([]Policy, error) {
	role := b.props(roleID)
	var policies []Policy
	if inline, ok := role["Policies"].([]any); ok {
		for _, p := range inline {
			m, _ := p.(map[string]any)
			doc, err := b.t.Resolve(m["PolicyDocument"])
			if err != nil {
				return nil, err
			}
			name, _ := m["PolicyName"].(string)
			policies = append(policies, Policy{Name: "the inline policy " + name + " of role " + label(roleID), Document: doc})
		}
	}
	attachedTo := func(id string) bool {
		roles, _ := b.props(id)["Roles"].([]any)
		return slices.ContainsFunc(roles, func(r any) bool { return resourceID(r) == roleID })
	}
	for _, kind := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, id := range b.t.OfType(kind) {
			if !attachedTo(id) {
				continue
			}
			doc, err := b.t.Resolve(b.props(id)["PolicyDocument"])
			if err != nil {
				return nil, err
			}
			policies = append(policies, Policy{Name: "the policy " + label(id) + " of role " + label(roleID), Document: doc})
		}
	}
	managed, err := b.t.Strings(role["ManagedPolicyArns"])
	if err != nil {
		return nil, err
	}
	for _, arn := range managed {
		id := b.byARN("AWS::IAM::ManagedPolicy", arn)
		if id == "" {
			return nil, fmt.Errorf("role %s attaches the managed policy %s, whose text is not in the template: the check cannot prove what it allows; attach a policy of the stack instead", label(roleID), arn)
		}
		doc, err := b.t.Resolve(b.props(id)["PolicyDocument"])
		if err != nil {
			return nil, err
		}
		policies = append(policies, Policy{Name: "the managed policy " + label(id), Document: doc})
	}
	return policies, nil
}

// lambdaPolicy is a function's resource-based policy as Lambda writes it from
// the stack's AWS::Lambda::Permission resources.
func (b *builder) lambdaPolicy(functionID string) (*Policy, error) {
	arn, _ := b.t.GetAtt(functionID, "Arn")
	name, _ := b.t.Ref(functionID)
	var statements []any
	for _, id := range b.t.OfType("AWS::Lambda::Permission") {
		p := b.props(id)
		target, err := b.t.String(p["FunctionName"])
		if err != nil {
			return nil, fmt.Errorf("permission %s: %w", label(id), err)
		}
		if target != arn && target != name {
			continue
		}
		action, _ := b.t.String(p["Action"])
		principal, _ := b.t.String(p["Principal"])
		statement := map[string]any{"Sid": id, "Effect": "Allow", "Action": action, "Resource": arn}
		if strings.HasSuffix(principal, ".amazonaws.com") {
			statement["Principal"] = map[string]any{"Service": principal}
		} else if accountID.MatchString(principal) {
			statement["Principal"] = map[string]any{"AWS": "arn:aws:iam::" + principal + ":root"}
		} else {
			statement["Principal"] = map[string]any{"AWS": principal}
		}
		conditions := map[string]any{}
		if v, ok := p["SourceArn"]; ok {
			sourceARN, err := b.t.String(v)
			if err != nil {
				return nil, fmt.Errorf("permission %s: %w", label(id), err)
			}
			conditions["ArnLike"] = map[string]any{"AWS:SourceArn": sourceARN}
		}
		if v, ok := p["SourceAccount"]; ok {
			account, err := b.t.String(v)
			if err != nil {
				return nil, fmt.Errorf("permission %s: %w", label(id), err)
			}
			conditions["StringEquals"] = map[string]any{"AWS:SourceAccount": account}
		}
		if len(conditions) > 0 {
			statement["Condition"] = conditions
		}
		statements = append(statements, statement)
	}
	if len(statements) == 0 {
		return nil, nil
	}
	return &Policy{Name: "the resource-based policy of function " + label(functionID), Document: map[string]any{"Version": "2012-10-17", "Statement": statements}}, nil
}

// apiToFunctions: API Gateway invokes each route's function and each Lambda
// authorizer, as the API of this stage and account.
func (b *builder) apiToFunctions() error {
	stages := map[string][]string{} // API ID -> its stage names
	for _, id := range b.t.OfType("AWS::ApiGatewayV2::Stage") {
		api := resourceID(b.props(id)["ApiId"])
		stage, _ := b.props(id)["StageName"].(string)
		stages[api] = append(stages[api], stage)
	}
	invoke := func(name, functionID, sourceARN, otherAPIARN, otherAccountARN string) error {
		functionARN, _ := b.t.GetAtt(functionID, "Arn")
		policy, err := b.lambdaPolicy(functionID)
		if err != nil {
			return err
		}
		request := func(source, account string) Request {
			return Request{Principal: "apigateway.amazonaws.com", Action: "lambda:InvokeFunction", Resource: functionARN, ResourceAccount: b.t.Env.Account,
				Context: map[string]any{"aws:SourceArn": source, "aws:SourceAccount": account}, ResourcePolicy: policy}
		}
		b.add(Path{Name: name, Steps: []Request{request(sourceARN, b.t.Env.Account)}})
		b.add(Path{Name: name + ", from another API", Neighbour: true, Why: "only this stage's API may invoke the function", Steps: []Request{request(otherAPIARN, b.t.Env.Account)}})
		b.add(Path{Name: name + ", from an API of another account", Neighbour: true, Why: "only this account's API may invoke the function", Steps: []Request{request(otherAccountARN, OtherAccount)}})
		return nil
	}
	executeAPI := func(account, rest string) string {
		return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s", b.t.Env.Region, account, rest)
	}
	for _, id := range b.t.OfType("AWS::ApiGatewayV2::Route") {
		p := b.props(id)
		target, err := b.t.String(p["Target"])
		if err != nil {
			return fmt.Errorf("route %s: %w", label(id), err)
		}
		integrationRef, ok := strings.CutPrefix(target, "integrations/")
		if !ok {
			continue
		}
		integration := ""
		for _, candidate := range b.t.OfType("AWS::ApiGatewayV2::Integration") {
			if ref, _ := b.t.Ref(candidate); ref == integrationRef {
				integration = candidate
			}
		}
		if integration == "" {
			return fmt.Errorf("route %s targets %s, an integration not in the stack", label(id), target)
		}
		if b.props(integration)["IntegrationType"] != "AWS_PROXY" {
			continue // an HTTP integration: no IAM on the way
		}
		uri, err := b.t.String(b.props(integration)["IntegrationUri"])
		if err != nil {
			return fmt.Errorf("route %s: integration: %w", label(id), err)
		}
		function := b.byARN("AWS::Lambda::Function", uri)
		if function == "" {
			return fmt.Errorf("route %s: its Lambda integration's URI %s is not the ARN of a function of the stack: the check cannot read its permissions", label(id), uri)
		}
		routeKey, _ := p["RouteKey"].(string)
		method, resourcePath, _ := strings.Cut(routeKey, " ")
		apiID := resourceID(p["ApiId"])
		api, _ := b.t.Ref(apiID)
		if len(stages[apiID]) == 0 {
			return fmt.Errorf("route %s: its API has no stage in the stack, so no execute-api ARN to invoke from", label(id))
		}
		for _, stage := range stages[apiID] {
			rest := fmt.Sprintf("%s/%s%s", stage, method, resourcePath)
			if err := invoke(fmt.Sprintf("API Gateway route `%s` → function `%s`", routeKey, label(function)), function,
				executeAPI(b.t.Env.Account, api+"/"+rest), executeAPI(b.t.Env.Account, "otherapi00/"+rest), executeAPI(OtherAccount, api+"/"+rest)); err != nil {
				return err
			}
		}
	}
	for _, id := range b.t.OfType("AWS::ApiGatewayV2::Authorizer") {
		p := b.props(id)
		if p["AuthorizerType"] != "REQUEST" {
			continue
		}
		uri, err := b.t.String(p["AuthorizerUri"])
		if err != nil {
			return fmt.Errorf("authorizer %s: %w", label(id), err)
		}
		_, functionARN, _ := strings.Cut(uri, "/functions/")
		function := b.byARN("AWS::Lambda::Function", strings.TrimSuffix(functionARN, "/invocations"))
		if function == "" {
			return fmt.Errorf("authorizer %s: its URI %s names no function of the stack", label(id), uri)
		}
		api, _ := b.t.Ref(resourceID(p["ApiId"]))
		authorizer, _ := b.t.Ref(id)
		rest := "/authorizers/" + authorizer
		if err := invoke(fmt.Sprintf("API Gateway Lambda authorizer `%s` → function `%s`", label(id), label(function)), function,
			executeAPI(b.t.Env.Account, api+rest), executeAPI(b.t.Env.Account, "otherapi00"+rest), executeAPI(OtherAccount, api+rest)); err != nil {
			return err
		}
	}
	return nil
}

// keyPolicy is the policy of a key of the stack.
func (b *builder) keyPolicy(keyID string) (*Policy, error) {
	doc, err := b.t.Resolve(b.props(keyID)["KeyPolicy"])
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", label(keyID), err)
	}
	return &Policy{Name: "the key policy of key " + label(keyID), Document: doc}, nil
}

// encryptionKey is the key of the stack that a resource's property names, by
// ARN or ID, with its ARN and policy: a key outside the stack is an error,
// since its policy cannot be read.
func (b *builder) encryptionKey(owner, property string) (key, arn string, policy *Policy, err error) {
	kind := b.t.Resources[owner].Type
	named, err := b.t.String(b.props(owner)[property])
	if err != nil {
		return "", "", nil, fmt.Errorf("%s %s: %s: %w", kind, label(owner), property, err)
	}
	if key = b.keyByARN(named); key == "" {
		return "", "", nil, fmt.Errorf("%s %s is encrypted with %s, a key outside the stack: the check cannot read its key policy", kind, label(owner), named)
	}
	arn, _ = b.t.GetAtt(key, "Arn")
	policy, err = b.keyPolicy(key)
	return key, arn, policy, err
}

func (b *builder) keyByARN(arn string) string {
	for _, id := range b.t.OfType("AWS::KMS::Key") {
		if own, _ := b.t.GetAtt(id, "Arn"); own == arn || strings.HasSuffix(own, "/"+arn) { // an ARN, or a key ID
			return id
		}
	}
	return ""
}

// alarmsToTopics: CloudWatch publishes each alarm's state changes to its
// SNS topics, through the topic's key when it has one.
func (b *builder) alarmsToTopics() error {
	for _, alarm := range b.t.OfType("AWS::CloudWatch::Alarm") {
		p := b.props(alarm)
		var actions []string
		for _, field := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
			arns, err := b.t.Strings(p[field])
			if err != nil {
				return fmt.Errorf("alarm %s: %s: %w", label(alarm), field, err)
			}
			for _, arn := range arns {
				if !slices.Contains(actions, arn) {
					actions = append(actions, arn)
				}
			}
		}
		alarmARN, _ := b.t.GetAtt(alarm, "Arn")
		otherAlarm := strings.Replace(alarmARN, ":"+b.t.Env.Account+":", ":"+OtherAccount+":", 1)
		for _, topicARN := range actions {
			topic := b.byARN("AWS::SNS::Topic", topicARN)
			if topic == "" {
				if strings.HasPrefix(topicARN, "arn:aws:sns:") {
					return fmt.Errorf("alarm %s notifies %s, a topic outside the stack: the check cannot read its policy", label(alarm), topicARN)
				}
				continue // an action of another kind, such as Auto Scaling's
			}
			steps := func(source, account string) ([]Request, error) {
				// SNS's own default policy reads aws:SourceOwner, which it sets
				// to the publishing account.
				context := map[string]any{"aws:SourceArn": source, "aws:SourceAccount": account, "aws:SourceOwner": account, "aws:SecureTransport": "true"}
				policy, err := b.topicPolicy(topic)
				if err != nil {
					return nil, err
				}
				steps := []Request{{Principal: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: topicARN, ResourceAccount: b.t.Env.Account, Context: context, ResourcePolicy: policy}}
				if _, ok := b.props(topic)["KmsMasterKeyId"]; ok {
					_, resolvedKey, keyPolicy, err := b.encryptionKey(topic, "KmsMasterKeyId")
					if err != nil {
						return nil, err
					}
					// No AWS page says which source keys CloudWatch sends to
					// KMS through SNS, so the key's part is decided without any:
					// a key policy that needs them fails here.
					for _, action := range []string{"kms:GenerateDataKey", "kms:Decrypt"} {
						steps = append(steps, Request{Principal: "cloudwatch.amazonaws.com", Action: action, Resource: resolvedKey, ResourceAccount: b.t.Env.Account, Context: map[string]any{}, ResourcePolicy: keyPolicy})
					}
				}
				return steps, nil
			}
			name := fmt.Sprintf("CloudWatch alarm `%s` → SNS topic `%s`", label(alarm), label(topic))
			allowed, err := steps(alarmARN, b.t.Env.Account)
			if err != nil {
				return err
			}
			refused, err := steps(otherAlarm, OtherAccount)
			if err != nil {
				return err
			}
			b.add(Path{Name: name, Steps: allowed})
			b.add(Path{Name: name + ", from an alarm of another account", Neighbour: true, Why: "another account's alarms must not publish to this stage's topic", Steps: refused})
		}
	}
	return nil
}

// topicPolicy is the union of the stack's topic policies for one topic; a
// topic without one keeps SNS's default policy, which only the owner account
// passes.
func (b *builder) topicPolicy(topic string) (*Policy, error) {
	var list []any
	for _, id := range b.t.OfType("AWS::SNS::TopicPolicy") {
		p := b.props(id)
		topics, _ := p["Topics"].([]any)
		if !slices.ContainsFunc(topics, func(t any) bool { return resourceID(t) == topic }) {
			continue
		}
		doc, err := b.t.Resolve(p["PolicyDocument"])
		if err != nil {
			return nil, fmt.Errorf("topic policy %s: %w", label(id), err)
		}
		for _, statement := range statements(doc) {
			list = append(list, statement)
		}
	}
	if list == nil {
		arn, _ := b.t.GetAtt(topic, "Arn")
		return &Policy{Name: "the default access policy of topic " + label(topic), Document: map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": []any{"sns:Publish", "sns:Subscribe", "sns:Receive"}, "Resource": arn,
			"Condition": map[string]any{"StringEquals": map[string]any{"AWS:SourceOwner": b.t.Env.Account}},
		}}}}, nil
	}
	return &Policy{Name: "the access policy of topic " + label(topic), Document: map[string]any{"Version": "2012-10-17", "Statement": list}}, nil
}

// logsToKeys: CloudWatch Logs encrypts and decrypts each encrypted log group
// with its key, naming the log group in the encryption context.
func (b *builder) logsToKeys() error {
	service := "logs." + b.t.Env.Region + ".amazonaws.com"
	var keys []string // those whose neighbour is added
	for _, group := range b.t.OfType("AWS::Logs::LogGroup") {
		if _, ok := b.props(group)["KmsKeyId"]; !ok {
			continue
		}
		key, keyARN, policy, err := b.encryptionKey(group, "KmsKeyId")
		if err != nil {
			return err
		}
		name, _ := b.t.Ref(group)
		steps := func(groupName string) []Request {
			context := map[string]any{"kms:EncryptionContext:aws:logs:arn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", b.t.Env.Region, b.t.Env.Account, groupName)}
			var steps []Request
			for _, action := range []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"} {
				steps = append(steps, Request{Principal: service, Action: action, Resource: keyARN, ResourceAccount: b.t.Env.Account, Context: context, ResourcePolicy: policy})
			}
			return steps
		}
		b.add(Path{Name: fmt.Sprintf("CloudWatch Logs → key `%s`, for log group `%s`", label(key), label(group)), Steps: steps(name)})
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
			// One neighbour per action: each must be refused on its own.
			for _, step := range steps("some-other-log-group") {
				b.add(Path{Name: fmt.Sprintf("CloudWatch Logs → key `%s`, %s for a log group outside the stage", label(key), step.Action), Neighbour: true,
					Why: "another stage's or team's log group must not use this stage's key", Steps: []Request{step}})
			}
		}
	}
	return nil
}

// cloudFrontToBuckets: each distribution reads its S3 origins through Origin
// Access Control.
func (b *builder) cloudFrontToBuckets() error {
	for _, distribution := range b.t.OfType("AWS::CloudFront::Distribution") {
		config, _ := b.props(distribution)["DistributionConfig"].(map[string]any)
		origins, _ := config["Origins"].([]any)
		distributionID, _ := b.t.Ref(distribution)
		for _, o := range origins {
			origin, _ := o.(map[string]any)
			if _, ok := origin["OriginAccessControlId"]; !ok {
				continue
			}
			domain, err := b.t.String(origin["DomainName"])
			if err != nil {
				return fmt.Errorf("distribution %s: origin: %w", label(distribution), err)
			}
			bucket := ""
			for _, id := range b.t.OfType("AWS::S3::Bucket") {
				regional, _ := b.t.GetAtt(id, "RegionalDomainName")
				global, _ := b.t.GetAtt(id, "DomainName")
				if domain == regional || domain == global {
					bucket = id
				}
			}
			if bucket == "" {
				return fmt.Errorf("distribution %s reads %s through Origin Access Control, not a bucket of the stack: the check cannot read its policy", label(distribution), domain)
			}
			read := func(principal, sourceARN string) ([]Request, error) {
				request, err := b.bucketRequest(bucket, principal, "s3:GetObject", "/index.html")
				if principal != Anonymous {
					request.Context["aws:SourceArn"] = sourceARN
					request.Context["aws:SourceAccount"] = b.t.Env.Account
				}
				return []Request{request}, err
			}
			name := fmt.Sprintf("CloudFront distribution `%s` → S3 bucket `%s`", label(distribution), label(bucket))
			allowed, err := read("cloudfront.amazonaws.com", b.t.DistributionARN(distributionID))
			if err != nil {
				return err
			}
			other, _ := read("cloudfront.amazonaws.com", b.t.DistributionARN("EOTHERDISTRIBUTION"))
			anonymous, _ := read(Anonymous, "")
			b.add(Path{Name: name, Steps: allowed})
			b.add(Path{Name: fmt.Sprintf("another CloudFront distribution → S3 bucket `%s`", label(bucket)), Neighbour: true, Why: "only the stage's distribution may read the page's files", Steps: other})
			b.add(Path{Name: fmt.Sprintf("an anonymous reader → S3 bucket `%s`", label(bucket)), Neighbour: true, Why: "the bucket is private: readers go through CloudFront", Steps: anonymous})
		}
	}
	return nil
}

// bucketRequest is a request on an object (or the bucket, for an empty key)
// of a bucket of the stack, with its bucket policy and its Block Public
// Access setting.
func (b *builder) bucketRequest(bucket, principal, action, key string) (Request, error) {
	arn, _ := b.t.GetAtt(bucket, "Arn")
	request := Request{Principal: principal, Action: action, Resource: arn + key, ResourceAccount: b.t.Env.Account, Context: map[string]any{"aws:SecureTransport": "true"}}
	if block, ok := b.props(bucket)["PublicAccessBlockConfiguration"].(map[string]any); ok {
		request.BlockPublicAccess = block["RestrictPublicBuckets"] == true
	}
	for _, id := range b.t.OfType("AWS::S3::BucketPolicy") {
		if resourceID(b.props(id)["Bucket"]) != bucket {
			continue
		}
		doc, err := b.t.Resolve(b.props(id)["PolicyDocument"])
		if err != nil {
			return request, fmt.Errorf("bucket policy %s: %w", label(id), err)
		}
		request.ResourcePolicy = &Policy{Name: "the bucket policy of bucket " + label(bucket), Document: doc}
	}
	return request, nil
}

// roleOfFunction is the logical ID of a function's role in the stack.
func (b *builder) roleOfFunction(function string) (string, error) {
	role := resourceID(b.props(function)["Role"])
	if b.t.Resources[role].Type != "AWS::IAM::Role" {
		return "", fmt.Errorf("function %s: its role is not a role of the stack", label(function))
	}
	return role, nil
}

// asRole is a request made by a role of the stack, with its identity policies.
func (b *builder) asRole(role, action, resource string, resourcePolicy *Policy) (Request, error) {
	policies, err := b.identityPolicies(role)
	arn, _ := b.t.GetAtt(role, "Arn")
	return Request{Principal: arn, Action: action, Resource: resource, ResourceAccount: b.t.Env.Account,
		Context: map[string]any{"aws:SecureTransport": "true"}, IdentityPolicies: policies, ResourcePolicy: resourcePolicy}, err
}

// pageDeployments: each BucketDeployment copies the page into its bucket and
// invalidates its own distribution, and no other.
func (b *builder) pageDeployments() error {
	for _, id := range b.t.OfType("Custom::CDKBucketDeployment") {
		p := b.props(id)
		handlerARN, err := b.t.String(p["ServiceToken"])
		if err != nil {
			return fmt.Errorf("page deployment %s: %w", label(id), err)
		}
		function := b.byARN("AWS::Lambda::Function", handlerARN)
		if function == "" {
			return fmt.Errorf("page deployment %s: its handler %s is not a function of the stack", label(id), handlerARN)
		}
		role, err := b.roleOfFunction(function)
		if err != nil {
			return err
		}
		bucket := resourceID(p["DestinationBucketName"])
		name := fmt.Sprintf("page deployment `%s` → S3 bucket `%s`", label(id), label(bucket))
		roleARN, _ := b.t.GetAtt(role, "Arn")
		policies, err := b.identityPolicies(role)
		if err != nil {
			return err
		}
		var steps []Request
		for _, action := range []string{"s3:PutObject", "s3:DeleteObject", "s3:ListBucket"} {
			key := "/index.html"
			if action == "s3:ListBucket" {
				key = ""
			}
			request, err := b.bucketRequest(bucket, roleARN, action, key)
			if err != nil {
				return err
			}
			request.IdentityPolicies = policies
			steps = append(steps, request)
		}
		b.add(Path{Name: name, Steps: steps})
		if _, ok := p["DistributionId"]; !ok {
			continue
		}
		distributionID, err := b.t.String(p["DistributionId"])
		if err != nil {
			return fmt.Errorf("page deployment %s: DistributionId: %w", label(id), err)
		}
		var invalidation, other []Request
		for _, action := range []string{"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"} {
			own, err := b.asRole(role, action, b.t.DistributionARN(distributionID), nil)
			if err != nil {
				return err
			}
			invalidation = append(invalidation, own)
		}
		otherRequest, _ := b.asRole(role, "cloudfront:CreateInvalidation", b.t.DistributionARN("EOTHERDISTRIBUTION"), nil)
		other = append(other, otherRequest)
		distribution := ""
		for _, d := range b.t.OfType("AWS::CloudFront::Distribution") {
			if ref, _ := b.t.Ref(d); ref == distributionID {
				distribution = d
			}
		}
		b.add(Path{Name: fmt.Sprintf("page deployment `%s` → invalidates CloudFront distribution `%s`", label(id), label(distribution)), Steps: invalidation})
		b.add(Path{Name: fmt.Sprintf("page deployment `%s` → invalidates another CloudFront distribution", label(id)), Neighbour: true,
			Why: "a deploy of this page must not flush another site's cache", Steps: other})
	}
	return nil
}

// signingKeys are the stack's asymmetric signing keys.
func (b *builder) signingKeys() []string {
	var keys []string
	for _, id := range b.t.OfType("AWS::KMS::Key") {
		if b.props(id)["KeyUsage"] == "SIGN_VERIFY" {
			keys = append(keys, id)
		}
	}
	return keys
}

// environment is a function's environment variables, resolved.
func (b *builder) environment(function string) (map[string]any, error) {
	env, _ := b.props(function)["Environment"].(map[string]any)
	variables, err := b.t.Resolve(env["Variables"])
	if err != nil {
		return nil, fmt.Errorf("function %s: environment: %w", label(function), err)
	}
	values, _ := variables.(map[string]any)
	return values, nil
}

// keyReaders: a function whose environment names a signing key reads its
// public key, and may not sign with it.
func (b *builder) keyReaders() error {
	for _, function := range b.t.OfType("AWS::Lambda::Function") {
		values, err := b.environment(function)
		if err != nil {
			return err
		}
		for _, key := range b.signingKeys() {
			keyARN, _ := b.t.GetAtt(key, "Arn")
			names := false
			for _, v := range values {
				if s, _ := v.(string); strings.Contains(s, keyARN) {
					names = true
				}
			}
			if !names {
				continue
			}
			role, err := b.roleOfFunction(function)
			if err != nil {
				return err
			}
			policy, err := b.keyPolicy(key)
			if err != nil {
				return err
			}
			read, err := b.asRole(role, "kms:GetPublicKey", keyARN, policy)
			if err != nil {
				return err
			}
			sign, _ := b.asRole(role, "kms:Sign", keyARN, policy)
			sign.Context["kms:SigningAlgorithm"] = SigningAlgorithm
			sign.Context["kms:MessageType"] = "DIGEST"
			b.add(Path{Name: fmt.Sprintf("function `%s` → reads the public key of key `%s`", label(function), label(key)), Steps: []Request{read}})
			b.add(Path{Name: fmt.Sprintf("function `%s` → signs with key `%s`", label(function), label(key)), Neighbour: true,
				Why: "a function that publishes keys must not be able to mint tokens", Steps: []Request{sign}})
		}
	}
	return nil
}

// replayWriters: the function whose environment names a DynamoDB table, the
// permissions authorizer of a stage that requires DPoP, records proofs in
// it, and may neither read nor delete them; no other function may write
// there.
func (b *builder) replayWriters() error {
	for _, table := range b.t.OfType("AWS::DynamoDB::Table") {
		name, _ := b.t.Ref(table)
		tableARN, _ := b.t.GetAtt(table, "Arn")
		for _, function := range b.t.OfType("AWS::Lambda::Function") {
			values, err := b.environment(function)
			if err != nil {
				return err
			}
			writes := false
			for _, v := range values {
				if s, _ := v.(string); s == name {
					writes = true
				}
			}
			role, err := b.roleOfFunction(function)
			if err != nil {
				return err
			}
			put, err := b.asRole(role, "dynamodb:PutItem", tableARN, nil)
			if err != nil {
				return err
			}
			if !writes {
				b.add(Path{Name: fmt.Sprintf("function `%s` → writes table `%s`", label(function), label(table)), Neighbour: true,
					Why: "only the authorizer records proofs", Steps: []Request{put}})
				continue
			}
			read, _ := b.asRole(role, "dynamodb:GetItem", tableARN, nil)
			remove, _ := b.asRole(role, "dynamodb:DeleteItem", tableARN, nil)
			b.add(Path{Name: fmt.Sprintf("function `%s` → records a proof in table `%s`", label(function), label(table)), Steps: []Request{put}})
			b.add(Path{Name: fmt.Sprintf("function `%s` → reads table `%s`", label(function), label(table)), Neighbour: true,
				Why: "the authorizer needs no read: its conditional write decides", Steps: []Request{read}})
			b.add(Path{Name: fmt.Sprintf("function `%s` → deletes from table `%s`", label(function), label(table)), Neighbour: true,
				Why: "a deleted proof could be replayed", Steps: []Request{remove}})
		}
	}
	return nil
}

// SigningAlgorithm is the KMS algorithm of the tokens' RS256 signatures.
const SigningAlgorithm = "RSASSA_PKCS1_V1_5_SHA_256"

// IssuerKeyOutput is the output that names the key a stage signs with now.
const IssuerKeyOutput = "IssuerKeyArn"

// signers: each named signer signs with the current key, through the stage's
// signer policy when the stack has one, and with no other key. Any other
// principal, even one that may do anything in the account, and every
// function of the stage, is refused every signing key.
func (b *builder) signers() error {
	keys := b.signingKeys()
	current := ""
	if len(b.signerARNs) > 0 {
		output, ok := b.t.Outputs[IssuerKeyOutput]
		if !ok {
			return fmt.Errorf("selfHostedIssuer.signers names signers, and the template has no %s output naming the key they sign with", IssuerKeyOutput)
		}
		arn, err := b.t.String(output.Value)
		if err != nil {
			return fmt.Errorf("output %s: %w", IssuerKeyOutput, err)
		}
		if current = b.keyByARN(arn); current == "" {
			return fmt.Errorf("output %s names %s, not a key of the stack", IssuerKeyOutput, arn)
		}
	}
	signerPolicies, err := b.signerPolicies()
	if err != nil {
		return err
	}
	for _, key := range keys {
		policy, err := b.keyPolicy(key)
		if err != nil {
			return err
		}
		keyARN, _ := b.t.GetAtt(key, "Arn")
		sign := func(principal string, identity []Policy) Request {
			return Request{Principal: principal, Action: "kms:Sign", Resource: keyARN, ResourceAccount: b.t.Env.Account,
				Context: map[string]any{"kms:SigningAlgorithm": SigningAlgorithm, "kms:MessageType": "DIGEST"}, IdentityPolicies: identity, ResourcePolicy: policy}
		}
		for _, signer := range b.signerARNs {
			name := fmt.Sprintf("signer `%s` → signs with key `%s`", signer, label(key))
			if key == current {
				b.add(Path{Name: name, Steps: []Request{sign(signer, signerPolicies)}})
			} else {
				b.add(Path{Name: name, Neighbour: true, Why: "signers sign with the current key generation only", Steps: []Request{sign(signer, signerPolicies)}})
			}
		}
		administrator := fmt.Sprintf("arn:aws:iam::%s:role/Administrator", b.t.Env.Account)
		b.add(Path{Name: fmt.Sprintf("another principal of the account → signs with key `%s`", label(key)), Neighbour: true,
			Why: "only the named signers mint tokens, even where IAM allows an administrator everything",
			Steps: []Request{sign(administrator, []Policy{{Name: "an administrator's policy", Document: map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}}}}})}})
		for _, function := range b.t.OfType("AWS::Lambda::Function") {
			role, err := b.roleOfFunction(function)
			if err != nil {
				return err
			}
			policies, err := b.identityPolicies(role)
			if err != nil {
				return err
			}
			arn, _ := b.t.GetAtt(role, "Arn")
			b.add(Path{Name: fmt.Sprintf("function `%s` → signs with key `%s`", label(function), label(key)), Neighbour: true,
				Why: "no function of the stage mints tokens", Steps: []Request{sign(arn, policies)}})
		}
	}
	return nil
}

// signerPolicies are the stack's managed policies that grant kms:Sign: what
// the operating guide has each signer attach.
func (b *builder) signerPolicies() ([]Policy, error) {
	var policies []Policy
	for _, id := range b.t.OfType("AWS::IAM::ManagedPolicy") {
		doc, err := b.t.Resolve(b.props(id)["PolicyDocument"])
		if err != nil {
			return nil, err
		}
		for _, s := range statements(doc) {
			if slices.Contains(stringList(s["Action"]), "kms:Sign") {
				policies = append(policies, Policy{Name: "the signer policy " + label(id), Document: doc})
				break
			}
		}
	}
	return policies, nil
}

func statements(doc any) []map[string]any {
	m, _ := doc.(map[string]any)
	var out []map[string]any
	switch s := m["Statement"].(type) {
	case map[string]any:
		out = append(out, s)
	case []any:
		for _, item := range s {
			if statement, ok := item.(map[string]any); ok {
				out = append(out, statement)
			}
		}
	}
	return out
}

func stringList(v any) []string {
	switch s := v.(type) {
	case string:
		return []string{s}
	case []any:
		var out []string
		for _, item := range s {
			if str, ok := item.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// functionLogs: each function writes its own log group, and no other.
func (b *builder) functionLogs() error {
	groups := b.t.OfType("AWS::Logs::LogGroup")
	for _, function := range b.t.OfType("AWS::Lambda::Function") {
		logging, _ := b.props(function)["LoggingConfig"].(map[string]any)
		own := resourceID(logging["LogGroup"])
		if own == "" {
			continue
		}
		role, err := b.roleOfFunction(function)
		if err != nil {
			return err
		}
		write := func(group string) ([]Request, error) {
			name, _ := b.t.Ref(group)
			groupARN := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", b.t.Env.Region, b.t.Env.Account, name)
			// Logs authorizes both calls on the stream's ARN.
			stream := groupARN + ":log-stream:2026/12/03/[$LATEST]0123456789abcdef"
			create, err := b.asRole(role, "logs:CreateLogStream", stream, nil)
			if err != nil {
				return nil, err
			}
			put, _ := b.asRole(role, "logs:PutLogEvents", stream, nil)
			return []Request{create, put}, nil
		}
		steps, err := write(own)
		if err != nil {
			return err
		}
		b.add(Path{Name: fmt.Sprintf("function `%s` → writes its log group `%s`", label(function), label(own)), Steps: steps})
		for _, other := range groups {
			if other == own {
				continue
			}
			steps, _ := write(other)
			b.add(Path{Name: fmt.Sprintf("function `%s` → writes log group `%s`", label(function), label(other)), Neighbour: true,
				Why: "a function writes only its own logs", Steps: steps[1:]})
		}
	}
	return nil
}
