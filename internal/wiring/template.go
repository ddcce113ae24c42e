package wiring

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Env is where a stack deploys: the values of its pseudo parameters.
type Env struct {
	Account, Region string
	regionSet       bool // the manifest names the region, rather than the CLI's
}

// PlaceholderAccount and PlaceholderRegion stand for a stack whose
// environment is left to the CLI at deploy time ("aws://unknown-account/...").
// Every ARN of that stack then names them alike, so the paths still meet.
const (
	PlaceholderAccount = "111111111111"
	PlaceholderRegion  = "us-east-1"
)

// OtherAccount is the account of the neighbours from outside the stage.
const OtherAccount = "999999999999"

// Template is one stack's CloudFormation template, with the intrinsic
// functions resolved as CloudFormation would resolve them in Env. Physical
// names that CloudFormation generates are written as StackName-LogicalID:
// real ones differ, but both sides of every path resolve to the same one.
type Template struct {
	StackName string
	Env       Env
	Resources map[string]Resource
	Outputs   map[string]struct{ Value any }
}

// Resource is one resource of a template, its properties as written.
type Resource struct {
	Type       string
	Properties map[string]any
}

// ParseTemplate reads a template's JSON.
func ParseTemplate(data []byte, stackName string, env Env) (*Template, error) {
	t := &Template{StackName: stackName, Env: env}
	if err := json.Unmarshal(data, t); err != nil {
		return nil, fmt.Errorf("stack %s: not a CloudFormation template: %w", stackName, err)
	}
	return t, nil
}

// OfType lists the logical IDs of the resources of one type, sorted.
func (t *Template) OfType(resourceType string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == resourceType {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// String resolves a property value that must be a single string.
func (t *Template) String(v any) (string, error) {
	resolved, err := t.Resolve(v)
	if err != nil {
		return "", err
	}
	s, ok := resolved.(string)
	if !ok {
		return "", fmt.Errorf("expected a string, got %v", resolved)
	}
	return s, nil
}

// Strings resolves a property value that is a string or a list of strings.
func (t *Template) Strings(v any) ([]string, error) {
	resolved, err := t.Resolve(v)
	if err != nil || resolved == nil {
		return nil, err
	}
	switch r := resolved.(type) {
	case string:
		return []string{r}, nil
	case []any:
		var out []string
		for _, item := range r {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("expected a list of strings, got %v", resolved)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a string or a list of strings, got %v", resolved)
}

// Resolve evaluates the intrinsic functions in v: Ref, Fn::GetAtt, Fn::Join,
// Fn::Sub, Fn::Select and Fn::Split, recursively through maps and lists.
func (t *Template) Resolve(v any) (any, error) {
	switch value := v.(type) {
	case []any:
		out := make([]any, len(value))
		for i, item := range value {
			r, err := t.Resolve(item)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		if len(value) == 1 {
			for fn, arg := range value {
				if r, ok, err := t.intrinsic(fn, arg); ok {
					return r, err
				}
			}
		}
		out := make(map[string]any, len(value))
		for k, item := range value {
			r, err := t.Resolve(item)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (t *Template) intrinsic(fn string, arg any) (any, bool, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		r, err := t.Ref(name)
		return r, true, err
	case "Fn::GetAtt":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, true, fmt.Errorf("Fn::GetAtt %v: expected [resource, attribute]", arg)
		}
		id, _ := parts[0].(string)
		attribute, _ := parts[1].(string)
		r, err := t.GetAtt(id, attribute)
		return r, true, err
	case "Fn::Join":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, true, fmt.Errorf("Fn::Join %v: expected [separator, list]", arg)
		}
		separator, _ := parts[0].(string)
		items, err := t.Strings(parts[1])
		return strings.Join(items, separator), true, err
	case "Fn::Sub":
		format, ok := arg.(string)
		if !ok {
			return nil, true, fmt.Errorf("Fn::Sub with variables is not supported: %v", arg)
		}
		r, err := t.sub(format)
		return r, true, err
	case "Fn::Select":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, true, fmt.Errorf("Fn::Select %v: expected [index, list]", arg)
		}
		index, err := t.Resolve(parts[0])
		if err != nil {
			return nil, true, err
		}
		var i int
		switch n := index.(type) {
		case float64:
			i = int(n)
		case string:
			fmt.Sscan(n, &i)
		}
		items, err := t.Strings(parts[1])
		if err != nil || i < 0 || i >= len(items) {
			return nil, true, fmt.Errorf("Fn::Select %v: index out of range (%v)", arg, err)
		}
		return items[i], true, nil
	case "Fn::Split":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return nil, true, fmt.Errorf("Fn::Split %v: expected [separator, string]", arg)
		}
		separator, _ := parts[0].(string)
		s, err := t.String(parts[1])
		var out []any
		for _, item := range strings.Split(s, separator) {
			out = append(out, item)
		}
		return out, true, err
	}
	return nil, false, nil
}

func (t *Template) sub(format string) (string, error) {
	var out strings.Builder
	for {
		start := strings.Index(format, "${")
		if start < 0 {
			out.WriteString(format)
			return out.String(), nil
		}
		end := strings.Index(format[start:], "}")
		if end < 0 {
			return "", fmt.Errorf("Fn::Sub %q: unclosed ${", format)
		}
		out.WriteString(format[:start])
		name := format[start+2 : start+end]
		var value string
		var err error
		if id, attribute, ok := strings.Cut(name, "."); ok {
			value, err = t.GetAtt(id, attribute)
		} else {
			value, err = t.Ref(name)
		}
		if err != nil {
			return "", err
		}
		out.WriteString(value)
		format = format[start+end+1:]
	}
}

func (t *Template) arn(service, region, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, t.Env.Account, resource)
}

// name is a resource's physical name: the named property when the template
// sets it, else what stands for CloudFormation's generated name.
func (t *Template) name(id, property string) (string, error) {
	r := t.Resources[id]
	if v, ok := r.Properties[property]; ok {
		return t.String(v)
	}
	return t.StackName + "-" + id, nil
}

// Ref resolves a pseudo parameter or a resource's Ref value.
func (t *Template) Ref(name string) (string, error) {
	switch name {
	case "AWS::AccountId":
		return t.Env.Account, nil
	case "AWS::Region":
		return t.Env.Region, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return t.StackName, nil
	}
	r, ok := t.Resources[name]
	if !ok {
		return "", fmt.Errorf("Ref %s: no such resource or pseudo parameter in stack %s", name, t.StackName)
	}
	switch r.Type {
	case "AWS::Lambda::Function":
		return t.name(name, "FunctionName")
	case "AWS::IAM::Role":
		return t.name(name, "RoleName")
	case "AWS::Logs::LogGroup":
		return t.name(name, "LogGroupName")
	case "AWS::CloudWatch::Alarm":
		return t.name(name, "AlarmName")
	case "AWS::S3::Bucket":
		bucket, err := t.name(name, "BucketName")
		return strings.ToLower(bucket), err
	case "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy", "AWS::IAM::OIDCProvider":
		return t.GetAtt(name, "Arn")
	case "AWS::DynamoDB::Table":
		return t.name(name, "TableName")
	}
	// API, authorizer, integration, key and distribution IDs, and the like.
	return strings.ToLower(name), nil
}

// GetAtt resolves the attributes the paths read: ARNs, and the few names
// other resources are wired by.
func (t *Template) GetAtt(id, attribute string) (string, error) {
	r, ok := t.Resources[id]
	if !ok {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: no such resource in stack %s", id, attribute, t.StackName)
	}
	ref := func() string { s, _ := t.Ref(id); return s }
	region := t.Env.Region
	switch r.Type + "." + attribute {
	case "AWS::Lambda::Function.Arn":
		return t.arn("lambda", region, "function:"+ref()), nil
	case "AWS::IAM::Role.Arn":
		return fmt.Sprintf("arn:aws:iam::%s:role/%s", t.Env.Account, ref()), nil
	case "AWS::IAM::ManagedPolicy.Arn", "AWS::IAM::ManagedPolicy.PolicyArn":
		name, err := t.name(id, "ManagedPolicyName")
		return fmt.Sprintf("arn:aws:iam::%s:policy/%s", t.Env.Account, name), err
	case "AWS::IAM::OIDCProvider.Arn":
		url, err := t.String(r.Properties["Url"])
		return fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", t.Env.Account, strings.TrimPrefix(url, "https://")), err
	case "AWS::KMS::Key.Arn":
		return t.arn("kms", region, "key/"+ref()), nil
	case "AWS::KMS::Key.KeyId":
		return ref(), nil
	case "AWS::Logs::LogGroup.Arn":
		return t.arn("logs", region, "log-group:"+ref()+":*"), nil
	case "AWS::SNS::Topic.Arn", "AWS::SNS::Topic.TopicArn":
		name, err := t.name(id, "TopicName")
		return t.arn("sns", region, name), err
	case "AWS::SNS::Topic.TopicName":
		return t.name(id, "TopicName")
	case "AWS::CloudWatch::Alarm.Arn":
		return t.arn("cloudwatch", region, "alarm:"+ref()), nil
	case "AWS::DynamoDB::Table.Arn":
		return t.arn("dynamodb", region, "table/"+ref()), nil
	case "AWS::S3::Bucket.Arn":
		return "arn:aws:s3:::" + ref(), nil
	case "AWS::S3::Bucket.RegionalDomainName":
		return ref() + ".s3." + region + ".amazonaws.com", nil
	case "AWS::S3::Bucket.DomainName":
		return ref() + ".s3.amazonaws.com", nil
	case "AWS::CloudFront::Distribution.Id", "AWS::CloudFront::OriginAccessControl.Id":
		return ref(), nil
	case "AWS::CloudFront::Distribution.DomainName":
		return ref() + ".cloudfront.net", nil
	case "AWS::ApiGatewayV2::Api.ApiEndpoint":
		return "https://" + ref() + ".execute-api." + region + ".amazonaws.com", nil
	case "AWS::ApiGatewayV2::Api.ApiId":
		return ref(), nil
	}
	// Attributes no path reads, such as a domain name's regional endpoint.
	return strings.ToLower(id + "." + attribute), nil
}

// DistributionARN is a CloudFront distribution's ARN, which CloudFormation
// does not return as an attribute: global, so without a region.
func (t *Template) DistributionARN(distributionID string) string {
	return fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", t.Env.Account, distributionID)
}
