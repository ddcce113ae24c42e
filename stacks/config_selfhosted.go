package stacks

import (
	"fmt"
	"regexp"
	"strings"
)

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

// Enabled tells whether the stage is its own issuer.
func (c SelfHostedIssuerConfig) Enabled() bool { return c.Audience != "" || len(c.Signers) > 0 }

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
