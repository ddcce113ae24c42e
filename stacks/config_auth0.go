package stacks

import (
	"fmt"
	"net/url"
	"strings"
)

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
