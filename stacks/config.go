package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
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
	// Web is optional: with an Auth0 SPA client ID, the stage serves the page.
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
}

// DomainConfig gives the stage a custom domain: a certificate by ARN, or a
// Route 53 zone in which one is issued (DNS validation) and the alias
// records are written, or both.
type DomainConfig struct {
	Name           string `json:"name,omitempty"`
	CertificateARN string `json:"certificateArn,omitempty"`
	HostedZoneID   string `json:"hostedZoneId,omitempty"`
	HostedZoneName string `json:"hostedZoneName,omitempty"`
}

// The removal policies a stage may choose.
const (
	RemovalRetain  = "retain"
	RemovalDestroy = "destroy"
)

// Retains tells whether a deleted stack keeps the stage's logs and key.
func (c StageConfig) Retains() bool { return c.RemovalPolicy != RemovalDestroy }

// AlarmsConfig sets the stage's alarm thresholds, each over 5 minutes, and
// who is told. A threshold left out takes its default.
type AlarmsConfig struct {
	// Email, when set, is subscribed to the stage's alarm topic.
	Email string `json:"email,omitempty"`
	// ServerErrors: the API's 5xx answers (default 5).
	ServerErrors *int `json:"serverErrors,omitempty"`
	// ClientErrorPercent: the share of 4xx answers, which jumps when the
	// authorizer no longer matches the tenant (default 25).
	ClientErrorPercent *float64 `json:"clientErrorPercent,omitempty"`
	// IntegrationLatencyP99Ms: the functions' p99 latency as API Gateway sees it (default 3000).
	IntegrationLatencyP99Ms *int `json:"integrationLatencyP99Ms,omitempty"`
	// FunctionErrors and FunctionThrottles: per function (default 1 each).
	FunctionErrors    *int `json:"functionErrors,omitempty"`
	FunctionThrottles *int `json:"functionThrottles,omitempty"`
}

// Threshold is value, or def when it was left out.
func Threshold[T int | float64](value *T, def T) T {
	if value == nil {
		return def
	}
	return *value
}

// WebConfig turns on the stage's page, signed in with an Auth0 single-page
// application of the stage's tenant.
type WebConfig struct {
	Auth0ClientID string `json:"auth0ClientId,omitempty"`
}

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

// Auth0Config names the token issuer and the audience the JWT authorizer accepts.
type Auth0Config struct {
	// Domain is the Auth0 tenant domain; the issuer is derived from it.
	Domain string `json:"domain,omitempty"`
	// Issuer is an explicit issuer URL, for an Auth0 custom domain or another
	// OpenID Connect provider. It is used exactly as written.
	Issuer string `json:"issuer,omitempty"`
	// Audience holds the Auth0 API identifiers, not application client IDs.
	Audience []string `json:"audience"`
}

// SelfHostedIssuerConfig is a stage's own token issuer: the issuer is the
// stage's API URL, which serves the discovery document and the key set.
type SelfHostedIssuerConfig struct {
	Audience string `json:"audience"`
	// TokenLifetimeMinutes: how long minted tokens last (default 15, at most 1440).
	TokenLifetimeMinutes *int `json:"tokenLifetimeMinutes,omitempty"`
	// KeyGeneration: raising it makes the next key, published a deploy
	// ahead, sign; the previous one stays published, so tokens it signed stay
	// valid (default 1).
	KeyGeneration *int `json:"keyGeneration,omitempty"`
	// Signers are the IAM principals (ARNs) the key policy allows kms:Sign.
	Signers []string `json:"signers"`
}

// Audiences are the audiences the stage's tokens must carry (one of).
func (s Stage) Audiences() []string {
	if s.Config.SelfHostedIssuer.Enabled() {
		return []string{s.Config.SelfHostedIssuer.Audience}
	}
	return s.Config.Auth0.Audience
}

// Enabled tells whether the stage is its own issuer.
func (c SelfHostedIssuerConfig) Enabled() bool { return c.Audience != "" || len(c.Signers) > 0 }

// CorsConfig lists the browser origins allowed to call the API.
type CorsConfig struct {
	AllowOrigins []string `json:"allowOrigins"`
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

// stagesObject accepts the stages as cdk.json holds them (an object) or as a
// JSON string, which is what "-c stages='{...}'" passes.
func stagesObject(value any) (map[string]any, error) {
	switch v := value.(type) {
	case nil:
		return nil, fmt.Errorf(`cdk.json: context %q is missing: declare your stages there (see README "Stages")`, StagesContextKey)
	case map[string]any:
		return v, nil
	case string:
		var parsed map[string]any
		if err := json.Unmarshal([]byte(v), &parsed); err != nil {
			return nil, fmt.Errorf("context %q: expected a JSON object of stages: %v", StagesContextKey, err)
		}
		return parsed, nil
	default:
		return nil, fmt.Errorf("context %q: expected an object of stages, got %s", StagesContextKey, jsonKind(v))
	}
}

// applyOverrides sets "stages.<stage>.<field path>" context values into the raw
// stages. A value that parses as JSON is used as JSON (numbers, lists); any other
// value is a string.
func applyOverrides(stages map[string]any, context map[string]any) error {
	prefix := StagesContextKey + "."
	keys := make([]string, 0)
	for key := range context {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		path := strings.Split(strings.TrimPrefix(key, prefix), ".")
		if len(path) < 2 || slices.Contains(path, "") {
			return fmt.Errorf("context override %q: expected stages.<stage>.<field>, for example stages.dev.auth0.domain", key)
		}
		value := context[key]
		if s, ok := value.(string); ok {
			var parsed any
			if json.Unmarshal([]byte(s), &parsed) == nil {
				value = parsed
			}
		}
		node := stages
		for i, step := range path[:len(path)-1] {
			next, ok := node[step].(map[string]any)
			if !ok {
				if node[step] != nil {
					return fmt.Errorf("context override %q: %s is not an object", key, strings.Join(path[:i+1], "."))
				}
				next = map[string]any{}
				node[step] = next
			}
			node = next
		}
		node[path[len(path)-1]] = value
	}
	return nil
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
		fail(unknown, "unknown setting: check its spelling against the README's list of stage settings")
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
	if id := c.Web.Auth0ClientID; id != "" && !clientIDPattern.MatchString(id) {
		fail("web.auth0ClientId", "%q is not an Auth0 client ID: expected the 32 letters and digits of the single-page application's Client ID (Auth0 dashboard, Applications > your SPA > Settings), or leave web out for no page", id)
	}
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

var (
	certificateARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$`)
	hostedZoneIDPattern   = regexp.MustCompile(`^Z[A-Z0-9]{1,32}$`)
)

func validateDomain(d DomainConfig, fail func(field, format string, args ...any)) {
	if d == (DomainConfig{}) {
		return
	}
	if !hostPattern.MatchString(d.Name) {
		fail("domain.name", "%q is not a domain name: expected the API's host, such as api.example.com", d.Name)
	}
	if d.CertificateARN == "" && d.HostedZoneID == "" {
		fail("domain", "names no certificate: set domain.certificateArn (an ACM certificate in the stage's region), or domain.hostedZoneId and domain.hostedZoneName to have one issued in that Route 53 zone")
	}
	if d.CertificateARN != "" && !certificateARNPattern.MatchString(d.CertificateARN) {
		fail("domain.certificateArn", "%q is not an ACM certificate ARN: expected arn:aws:acm:<region>:<account>:certificate/<id>", d.CertificateARN)
	}
	if d.HostedZoneID != "" && !hostedZoneIDPattern.MatchString(d.HostedZoneID) {
		fail("domain.hostedZoneId", "%q is not a Route 53 hosted zone ID: expected Z and letters and digits, as the Route 53 console shows it", d.HostedZoneID)
	}
	if (d.HostedZoneID == "") != (d.HostedZoneName == "") {
		fail("domain.hostedZoneName", "goes with domain.hostedZoneId: set both (the zone's ID and its name, such as example.com), or neither")
	}
	if d.HostedZoneName != "" && d.Name != d.HostedZoneName && !strings.HasSuffix(d.Name, "."+d.HostedZoneName) {
		fail("domain.name", "%q is not in the zone %q: the alias records and the certificate's validation go in that zone", d.Name, d.HostedZoneName)
	}
}

func validateAlarms(a AlarmsConfig, fail func(field, format string, args ...any)) {
	if a.Email != "" && !emailPattern.MatchString(a.Email) {
		fail("alarms.email", "%q is not an email address: expected name@example.com, or leave it out", a.Email)
	}
	for field, value := range map[string]*int{"alarms.serverErrors": a.ServerErrors, "alarms.integrationLatencyP99Ms": a.IntegrationLatencyP99Ms, "alarms.functionErrors": a.FunctionErrors, "alarms.functionThrottles": a.FunctionThrottles} {
		if value != nil && *value < 1 {
			fail(field, "%d is out of range: expected a threshold of 1 or more, or leave it out for the default", *value)
		}
	}
	if p := a.ClientErrorPercent; p != nil && (*p <= 0 || *p > 100) {
		fail("alarms.clientErrorPercent", "%v is out of range: expected a percentage above 0 and at most 100", *p)
	}
}

// The self-hosted issuer's limits.
const (
	DefaultTokenLifetimeMinutes = 15
	maxTokenLifetimeMinutes     = 24 * 60
)

var principalARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(root|(role|user)/[\w+=,.@/-]+)$`)

func validateSelfHostedIssuer(c StageConfig, fail func(field, format string, args ...any)) {
	s := c.SelfHostedIssuer
	if c.Auth0.Domain != "" || c.Auth0.Issuer != "" || len(c.Auth0.Audience) > 0 {
		fail("auth0", "set together with selfHostedIssuer: a stage has one token issuer: keep auth0 (an Auth0 tenant) or selfHostedIssuer (the stage's own, with its keys in KMS)")
	}
	if c.Web.Auth0ClientID != "" {
		fail("web", "needs auth0: the page signs in through an Auth0 single-page application, which a self-hosted issuer does not have: leave web out")
	}
	if strings.TrimSpace(s.Audience) == "" {
		fail("selfHostedIssuer.audience", "missing: set the API identifier tokens must carry in aud, such as https://api.example.com")
	}
	if m := Threshold(s.TokenLifetimeMinutes, DefaultTokenLifetimeMinutes); m < 1 || m > maxTokenLifetimeMinutes {
		fail("selfHostedIssuer.tokenLifetimeMinutes", "%d is out of range: expected 1 to %d minutes (24 hours); leave it out for %d", m, maxTokenLifetimeMinutes, DefaultTokenLifetimeMinutes)
	}
	if g := Threshold(s.KeyGeneration, 1); g < 1 {
		fail("selfHostedIssuer.keyGeneration", "%d is out of range: expected 1 or more; raise it by one to rotate the signing key", g)
	}
	if len(s.Signers) == 0 {
		fail("selfHostedIssuer.signers", "missing: list the IAM principals (role ARNs) that may sign tokens, such as arn:aws:iam::123456789012:role/ci-smoke")
	}
	for i, signer := range s.Signers {
		if !principalARNPattern.MatchString(signer) {
			fail(fmt.Sprintf("selfHostedIssuer.signers[%d]", i), "%q is not an IAM principal ARN: expected arn:aws:iam::<account>:role/<name>", signer)
		}
	}
}

// validateIssuer returns the issuer the JWT authorizer must match exactly.
func validateIssuer(auth0 Auth0Config, fail func(field, format string, args ...any)) string {
	switch {
	case auth0.Domain == "" && auth0.Issuer == "":
		fail("auth0.domain", "missing: set it to your Auth0 tenant domain, such as your-tenant.eu.auth0.com (or set auth0.issuer for another provider)")
		return ""
	case auth0.Domain != "" && auth0.Issuer != "":
		fail("auth0.issuer", "set together with auth0.domain: keep only one, domain for an Auth0 tenant, issuer for a custom domain or another provider")
		return ""
	case auth0.Domain != "":
		if scheme, _, found := strings.Cut(auth0.Domain, "://"); found && scheme != "https" {
			fail("auth0.domain", "%q starts with %s://, but Auth0 issuers are always https: write the tenant's host alone, such as your-tenant.eu.auth0.com, and the app derives https://<domain>/", auth0.Domain, scheme)
			return ""
		}
		host := strings.TrimSuffix(strings.TrimPrefix(auth0.Domain, "https://"), "/")
		if !hostPattern.MatchString(host) {
			fail("auth0.domain", "%q is not a domain name: expected the tenant's host alone, without a path, port or spaces, such as your-tenant.eu.auth0.com", auth0.Domain)
			return ""
		}
		// Auth0 issues tokens whose "iss" is the tenant URL with a trailing slash,
		// and the authorizer compares it exactly.
		return "https://" + strings.ToLower(host) + "/"
	}
	u, err := url.Parse(auth0.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		fail("auth0.issuer", "%q is not an https URL: expected something like https://login.example.com/ with no query or fragment", auth0.Issuer)
		return ""
	}
	if strings.HasSuffix(u.Hostname(), auth0IssuerHost) && !strings.HasSuffix(auth0.Issuer, "/") {
		fail("auth0.issuer", "%q lacks the trailing slash: Auth0 tokens carry %q, and the authorizer compares issuers exactly", auth0.Issuer, auth0.Issuer+"/")
	}
	return auth0.Issuer
}

// validateAudience returns warnings; errors go through fail.
func validateAudience(stage string, audience []string, fail func(field, format string, args ...any)) []string {
	var warnings []string
	if len(audience) == 0 || len(audience) > maxAudiences {
		fail("auth0.audience", "has %d entries: expected 1 to %d Auth0 API identifiers (Auth0 dashboard, Applications > APIs > Identifier), such as [\"https://api.example.com\"]", len(audience), maxAudiences)
	}
	seen := map[string]bool{}
	for i, entry := range audience {
		field := fmt.Sprintf("auth0.audience[%d]", i)
		switch {
		case strings.TrimSpace(entry) == "":
			fail(field, "is empty: expected an Auth0 API identifier, such as https://api.example.com")
		case strings.TrimSpace(entry) != entry:
			fail(field, "%q has leading or trailing spaces: tokens carry the identifier exactly", entry)
		case seen[entry]:
			fail(field, "%q is listed twice: remove the duplicate", entry)
		case clientIDPattern.MatchString(entry):
			warnings = append(warnings, fmt.Sprintf("stage %q: %s %q looks like an Auth0 application client ID: the audience must be the API identifier (Auth0 dashboard, Applications > APIs > Identifier), or every token gets 401", stage, field, entry))
		}
		seen[entry] = true
	}
	return warnings
}

// isPlaceholder tells whether the Auth0 settings are still the shipped examples:
// an "example-…" tenant or an audience under a reserved example domain (RFC 2606).
func isPlaceholder(auth0 Auth0Config) bool {
	if strings.HasPrefix(strings.TrimPrefix(auth0.Domain, "https://"), placeholderLabel+"-") {
		return true
	}
	for _, entry := range auth0.Audience {
		if u, err := url.Parse(entry); err == nil {
			host := u.Hostname()
			for _, tld := range []string{".com", ".net", ".org"} {
				if host == placeholderLabel+tld || strings.HasSuffix(host, "."+placeholderLabel+tld) {
					return true
				}
			}
		}
	}
	return false
}

func validOrigin(origin string) bool {
	if origin == "*" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
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
