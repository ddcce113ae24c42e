package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// StagesContextKey is the cdk.json context key that holds one entry per stage.
const StagesContextKey = apitemplate.StagesContextKey

// StageConfig is one entry under "stages" in cdk.json's context.
type StageConfig struct {
	Auth0 Auth0Config `json:"auth0"`
	// SelfHostedIssuer, instead of auth0, makes the stage its own token
	// issuer, with its signing keys in KMS.
	SelfHostedIssuer SelfHostedIssuerConfig `json:"selfHostedIssuer,omitempty"`
	Account          string                 `json:"account,omitempty"`
	Region           string                 `json:"region,omitempty"`
	Cors             CorsConfig             `json:"cors"`
	Throttle         ThrottleConfig         `json:"throttle"`
	LogRetentionDays int                    `json:"logRetentionDays"`
	Function         FunctionConfig         `json:"function"`
	// PermissionsAuthorizer is optional: its defaults suit most stages.
	PermissionsAuthorizer PermissionsAuthorizerConfig `json:"permissionsAuthorizer,omitempty"`
	// Web is optional: with an Auth0 SPA client ID, the stage serves the
	// page, on its own domain when web.domain is set.
	Web WebConfig `json:"web,omitempty"`
	// RemovalPolicy is what a deleted stack does with the stage's log groups
	// and KMS key: "retain" (the default, with termination protection on) or
	// "destroy".
	RemovalPolicy string `json:"removalPolicy,omitempty"`
	// Tags go on every resource of the stage, for cost allocation.
	Tags map[string]string `json:"tags,omitempty"`
	// Alarms are on in every stage; their thresholds have defaults.
	Alarms AlarmsConfig `json:"alarms,omitempty"`
	// Domain is optional: the stage's own address, which then is the only one.
	Domain DomainConfig `json:"domain,omitempty"`
	// DPoP is "required" for a stage whose every private route takes only
	// DPoP-bound tokens, each request with a fresh proof (docs/dpop.md).
	DPoP string `json:"dpop,omitempty"`
}

// RequiresDPoP tells whether every private route of the stage takes only
// DPoP-bound tokens with a proof.
func (c StageConfig) RequiresDPoP() bool { return c.DPoP == apitemplate.DPoPRequired }

// The removal policies a stage may choose.
const (
	RemovalRetain  = "retain"
	RemovalDestroy = "destroy"
)

// Retains tells whether a deleted stack keeps the stage's logs and key.
func (c StageConfig) Retains() bool { return c.RemovalPolicy != RemovalDestroy }

// PermissionsAuthorizerConfig tunes the Lambda authorizer of the routes that
// require permissions.
type PermissionsAuthorizerConfig struct {
	// ResultTTLSeconds is how long API Gateway caches an answer, per token and
	// route; nil means DefaultAuthorizerResultTTL, 0 turns caching off.
	ResultTTLSeconds *int `json:"resultTtlSeconds,omitempty"`
}

// ResultTTL is the authorizer's cache time in seconds.
func (c PermissionsAuthorizerConfig) ResultTTL() int {
	if c.ResultTTLSeconds == nil {
		return DefaultAuthorizerResultTTL
	}
	return *c.ResultTTLSeconds
}

// Audiences are the audiences the stage's tokens must carry (one of).
func (s Stage) Audiences() []string {
	if s.Config.SelfHostedIssuer.Enabled() {
		return []string{s.Config.SelfHostedIssuer.Audience}
	}
	return s.Config.Auth0.Audience
}

// ThrottleConfig is the stage's default route throttling.
type ThrottleConfig struct {
	RateLimit  float64 `json:"rateLimit"`
	BurstLimit int     `json:"burstLimit"`
}

// FunctionConfig sizes every Lambda function of the stage.
type FunctionConfig struct {
	MemoryMiB      int `json:"memoryMiB"`
	TimeoutSeconds int `json:"timeoutSeconds"`
	// ReservedConcurrency is optional, by function construct ID (see Functions).
	ReservedConcurrency map[string]int `json:"reservedConcurrency,omitempty"`
}

// Stage is a validated stage: its name in cdk.json, its construct ID and its configuration.
type Stage struct {
	Name string
	ID   string
	// Issuer is the Auth0 issuer; "" for a self-hosted issuer, which is the
	// stage's API URL, known only in the stack.
	Issuer string
	Config StageConfig
	// Warnings are problems that do not stop synth, such as shipped placeholder values.
	Warnings []string
}

// Limits enforced on stage configuration. The quotas come from API Gateway and Lambda.
const (
	maxAudiences  = 50  // JWT authorizer audiences per authorizer
	maxTimeout    = 29  // seconds; an HTTP API integration times out at 30 s
	minMemoryMiB  = 128 // Lambda's lower bound
	maxMemoryMiB  = 10240
	maxRateLimit  = 10000 // the default account-level request rate
	maxBurstLimit = 5000  // the default account-level burst
	// API Gateway caches a Lambda authorizer's answer 300 s by default, and
	// at most 3600 s (docs/lambda-authorizer.md).
	DefaultAuthorizerResultTTL = 300
	maxAuthorizerResultTTL     = 3600
	auth0IssuerHost            = ".auth0.com"
	maxTags                    = 50
	maxReservedConcurrency     = 1000 // the default account quota; a higher quota is asked of AWS
	authorizerConstructID      = "PermissionsAuthorizer"
	placeholderLabel           = "example"
)

// LogRetentionDays are the values CloudWatch Logs accepts for retention.
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	stageNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	accountPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	// An Auth0 client ID is 32 letters and digits; an API identifier is usually a URI.
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	emailPattern    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	hostPattern     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
)

// LoadStages reads every stage from the CDK context: the "stages" object of cdk.json,
// then any "-c stages.<stage>.<field>=<value>" override from the command line.
// It returns the stages sorted by name, or one error that lists every problem found.
func LoadStages(context map[string]any) ([]Stage, error) {
	raw, err := stagesObject(context[StagesContextKey])
	if err != nil {
		return nil, err
	}
	if err := applyOverrides(raw, context); err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf(`cdk.json: context %q has no stages: add one, for example "dev", with its auth0 settings`, StagesContextKey)
	}

	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)

	var problems []string
	stages := make([]Stage, 0, len(names))
	for _, name := range names {
		stage, errs := parseStage(name, raw[name])
		problems = append(problems, errs...)
		stages = append(stages, stage)
	}
	if len(problems) > 0 {
		return nil, configError(problems)
	}
	return stages, nil
}

func configError(problems []string) error {
	return fmt.Errorf("invalid stage configuration (%d problem(s)):\n  - %s", len(problems), strings.Join(problems, "\n  - "))
}

// parseStage decodes and validates one stage, returning every problem found.
func parseStage(name string, raw any) (Stage, []string) {
	stage := Stage{Name: name, ID: apitemplate.StageID(name)}
	var problems []string
	fail := func(field, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("stage %q: %s: %s", name, field, fmt.Sprintf(format, args...)))
	}

	if !stageNamePattern.MatchString(name) {
		fail("name", "%q is not a valid stage name: use lower-case letters and digits, starting with a letter (it becomes the CDK Stage %q)", name, stage.ID)
	}
	object, ok := raw.(map[string]any)
	if !ok {
		fail("(stage)", "expected an object of settings, got %s", jsonKind(raw))
		return stage, problems
	}
	for _, unknown := range unknownKeys(object, reflect.TypeOf(StageConfig{}), "") {
		fail(unknown, "unknown setting: check its spelling against the settings in docs/stages.md")
	}
	encoded, _ := json.Marshal(object)
	decoder := json.NewDecoder(bytes.NewReader(encoded))
	if err := decoder.Decode(&stage.Config); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			fail(typeErr.Field, "expected %s, got a JSON %s", goKind(typeErr.Type), typeErr.Value)
		} else {
			fail("(stage)", "%v", err)
		}
		return stage, problems
	}

	c := stage.Config
	_, selfHosted := object["selfHostedIssuer"]
	if selfHosted {
		validateSelfHostedIssuer(c, fail)
	} else {
		stage.Issuer = validateIssuer(c.Auth0, fail)
		stage.Warnings = append(stage.Warnings, validateAudience(name, c.Auth0.Audience, fail)...)
	}
	if len(stage.Audiences()) > 0 {
		if warning := resourceWarning(stage); warning != "" {
			stage.Warnings = append(stage.Warnings, warning)
		}
	}
	if !selfHosted && isPlaceholder(c.Auth0) {
		stage.Warnings = append(stage.Warnings, fmt.Sprintf("stage %q still has the shipped example Auth0 settings (issuer %s): set auth0.domain and auth0.audience to your tenant before you deploy", name, stage.Issuer))
	}
	for _, signer := range c.SelfHostedIssuer.Signers {
		// 123456789012 is the account of AWS's documentation examples; KMS
		// refuses a key policy that names a principal that does not exist.
		if strings.Contains(signer, ":123456789012:") {
			stage.Warnings = append(stage.Warnings, fmt.Sprintf("stage %q still has the shipped example signer %s: set selfHostedIssuer.signers to the roles that mint its tokens before you deploy", name, signer))
		}
	}
	if arn := c.Web.CertificateARN; strings.Contains(arn, ":123456789012:") {
		stage.Warnings = append(stage.Warnings, fmt.Sprintf("stage %q still has the shipped example page certificate %s: set web.certificateArn to your ACM certificate for %s in %s before you deploy", name, arn, c.Web.Domain, CloudFrontCertificateRegion))
	}
	if c.Account != "" && !accountPattern.MatchString(c.Account) {
		fail("account", "%q is not an AWS account ID: expected 12 digits, or leave it out for an environment-agnostic stack", c.Account)
	}
	if c.Region != "" && !regionPattern.MatchString(c.Region) {
		fail("region", "%q is not an AWS region: expected a name like eu-west-1, or leave it out", c.Region)
	}
	for i, origin := range c.Cors.AllowOrigins {
		if !validOrigin(origin) {
			fail(fmt.Sprintf("cors.allowOrigins[%d]", i), "%q is not an origin: expected scheme://host[:port] with no path, such as https://app.example.com, or *", origin)
		}
	}
	if c.Throttle.RateLimit <= 0 || c.Throttle.RateLimit > maxRateLimit {
		fail("throttle.rateLimit", "%v is out of range: expected requests per second above 0 and at most %d", c.Throttle.RateLimit, maxRateLimit)
	}
	if c.Throttle.BurstLimit < 1 || c.Throttle.BurstLimit > maxBurstLimit {
		fail("throttle.burstLimit", "%d is out of range: expected 1 to %d requests", c.Throttle.BurstLimit, maxBurstLimit)
	}
	if !slices.Contains(LogRetentionDays, c.LogRetentionDays) {
		fail("logRetentionDays", "%d is not a retention CloudWatch Logs accepts: expected one of %v", c.LogRetentionDays, LogRetentionDays)
	}
	if c.Function.MemoryMiB < minMemoryMiB || c.Function.MemoryMiB > maxMemoryMiB {
		fail("function.memoryMiB", "%d is out of range: expected %d to %d", c.Function.MemoryMiB, minMemoryMiB, maxMemoryMiB)
	}
	validateWeb(c, fail)
	if c.RemovalPolicy != "" && c.RemovalPolicy != RemovalRetain && c.RemovalPolicy != RemovalDestroy {
		fail("removalPolicy", "%q is not a removal policy: expected %q (keep the logs and the key when the stack is deleted, with termination protection) or %q", c.RemovalPolicy, RemovalRetain, RemovalDestroy)
	}
	validateDomain(c.Domain, fail)
	validateTags(c.Tags, fail)
	validateAlarms(c.Alarms, fail)
	for _, function := range slices.Sorted(maps.Keys(c.Function.ReservedConcurrency)) {
		reserved := c.Function.ReservedConcurrency[function]
		field := "function.reservedConcurrency." + function
		switch {
		case !slices.Contains(slices.Collect(maps.Keys(Functions)), function) && function != authorizerConstructID:
			fail(field, "%q is not a function of the stage: expected one of %v", function, append(slices.Sorted(maps.Keys(Functions)), authorizerConstructID))
		case reserved < 1 || reserved > maxReservedConcurrency:
			fail(field, "%d is out of range: expected 1 to %d", reserved, maxReservedConcurrency)
		default:
			stage.Warnings = append(stage.Warnings, fmt.Sprintf("stage %q: %s reserves %d concurrent executions: they come out of the account's regional concurrency quota (1,000 by default), of which Lambda keeps 100 unreserved for all other functions, and the function is throttled beyond %d", name, field, reserved, reserved))
		}
	}
	if c.DPoP != "" && !c.RequiresDPoP() {
		fail("dpop", "%q is not a DPoP setting: expected %q, or leave it out for bearer tokens", c.DPoP, apitemplate.DPoPRequired)
	}
	if c.RequiresDPoP() && c.PermissionsAuthorizer.ResultTTL() != 0 && c.PermissionsAuthorizer.ResultTTLSeconds != nil {
		fail("permissionsAuthorizer.resultTtlSeconds", "%d: with dpop %q every request brings a new proof, so the authorizer's answers are never cached; leave it out", c.PermissionsAuthorizer.ResultTTL(), apitemplate.DPoPRequired)
	}
	if ttl := c.PermissionsAuthorizer.ResultTTL(); ttl < 0 || ttl > maxAuthorizerResultTTL {
		fail("permissionsAuthorizer.resultTtlSeconds", "%d is out of range: expected 0 (no caching) to %d seconds; leave it out for %d", ttl, maxAuthorizerResultTTL, DefaultAuthorizerResultTTL)
	}
	if c.Function.TimeoutSeconds < 1 || c.Function.TimeoutSeconds > maxTimeout {
		fail("function.timeoutSeconds", "%d is out of range: expected 1 to %d seconds, because an HTTP API gives up on its integration after 30 s", c.Function.TimeoutSeconds, maxTimeout)
	}
	return stage, problems
}

var tagKeyPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)

// validateTags applies AWS's tagging rules: at most 50 tags, keys of 1 to 128
// characters that do not start with "aws:", values of at most 256.
func validateTags(tags map[string]string, fail func(field, format string, args ...any)) {
	if len(tags) > maxTags {
		fail("tags", "has %d tags: AWS allows at most %d per resource", len(tags), maxTags)
	}
	for _, key := range slices.Sorted(maps.Keys(tags)) {
		switch {
		case !tagKeyPattern.MatchString(key):
			fail("tags", "key %q is not a tag key: expected 1 to 128 letters, digits, spaces or _ . : / = + - @", key)
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			fail("tags."+key, "keys starting with aws: are reserved by AWS: choose another key")
		case len(tags[key]) > 256:
			fail("tags."+key, "the value has %d characters: AWS allows at most 256", len(tags[key]))
		}
	}
}

// unknownKeys lists the dotted paths of keys in object that typ has no JSON field for.
func unknownKeys(object map[string]any, typ reflect.Type, prefix string) []string {
	fields := map[string]reflect.Type{}
	for i := 0; i < typ.NumField(); i++ {
		tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields[tag] = typ.Field(i).Type
	}
	var unknown []string
	keys := make([]string, 0, len(object))
	for key := range object {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		fieldType, ok := fields[key]
		if !ok {
			unknown = append(unknown, prefix+key)
			continue
		}
		if nested, isObject := object[key].(map[string]any); isObject && fieldType.Kind() == reflect.Struct {
			unknown = append(unknown, unknownKeys(nested, fieldType, prefix+key+".")...)
		}
	}
	return unknown
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "an object"
	default:
		return t.String()
	}
}
