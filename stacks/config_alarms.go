package stacks

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
