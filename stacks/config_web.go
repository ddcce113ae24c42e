package stacks

import (
	"fmt"
	"net/url"
	"strings"
)

// WebConfig turns on the stage's page, signed in with an Auth0 single-page
// application of the stage's tenant.
type WebConfig struct {
	Auth0ClientID string `json:"auth0ClientId,omitempty"`
	// Domain is the page's own host name, such as app.example.com. CloudFront
	// then serves the page on its certificate with TLSv1.2_2021 at least,
	// instead of on its default *.cloudfront.net certificate, which still
	// accepts TLS 1.0. A stage with a domain of its own must set it.
	Domain string `json:"domain,omitempty"`
	// CertificateARN is an ACM certificate for Domain in us-east-1, the only
	// region CloudFront takes certificates from. Without it, a stage in
	// us-east-1 with a Route 53 zone has one issued in the zone.
	CertificateARN string `json:"certificateArn,omitempty"`
}

// CloudFrontCertificateRegion is the one region whose ACM certificates
// CloudFront can serve.
const CloudFrontCertificateRegion = "us-east-1"

// CorsConfig lists the browser origins allowed to call the API.
type CorsConfig struct {
	AllowOrigins []string `json:"allowOrigins"`
}

func validOrigin(origin string) bool {
	if origin == "*" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// validateWeb checks the page's settings: its client ID, and its own domain
// and certificate. A stage with a domain of its own (domain.name) must give
// its page one too, so that no such stage serves its page on CloudFront's
// default certificate.
func validateWeb(c StageConfig, fail func(field, format string, args ...any)) {
	w := c.Web
	if id := w.Auth0ClientID; id != "" && !clientIDPattern.MatchString(id) {
		fail("web.auth0ClientId", "%q is not an Auth0 client ID: expected the 32 letters and digits of the single-page application's Client ID (Auth0 dashboard, Applications > your SPA > Settings), or leave web out for no page", id)
	}
	zone := c.Domain.HostedZoneName
	example := "app.example.com"
	if zone != "" {
		example = "app." + zone
	}
	if w.Domain == "" {
		switch {
		case w.CertificateARN != "":
			fail("web.certificateArn", "goes with web.domain: set web.domain to the host name the certificate is for, such as %s, or leave web.certificateArn out", example)
		case w.Auth0ClientID != "" && c.Domain.Name != "":
			fail("web.domain", "missing: the stage has a domain of its own (domain.name %q), so its page must have one too, or CloudFront serves the page on its default *.cloudfront.net certificate, which still accepts TLS 1.0: set web.domain to the page's host name, such as %s (%s)", c.Domain.Name, example, webCertificateHint(c))
		}
		return
	}
	if w.Auth0ClientID == "" {
		fail("web.domain", "%q names the page's host, but the stage serves no page: set web.auth0ClientId as well, or leave web.domain out", w.Domain)
	}
	if !hostPattern.MatchString(w.Domain) {
		fail("web.domain", "%q is not a domain name: expected the page's host alone, such as %s", w.Domain, example)
		return
	}
	if strings.EqualFold(w.Domain, c.Domain.Name) {
		fail("web.domain", "%q is the API's domain too (domain.name): the page and the API each need a host name of their own, such as %s and %s", w.Domain, example, c.Domain.Name)
	}
	if zone != "" && w.Domain != zone && !strings.HasSuffix(w.Domain, "."+zone) {
		fail("web.domain", "%q is not in the zone %q: the page's alias records and its certificate's validation go in that zone", w.Domain, zone)
	}
	if w.CertificateARN != "" {
		if !certificateARNPattern.MatchString(w.CertificateARN) {
			fail("web.certificateArn", "%q is not an ACM certificate ARN: expected arn:aws:acm:%s:<account>:certificate/<id>", w.CertificateARN, CloudFrontCertificateRegion)
		} else if region := strings.Split(w.CertificateARN, ":")[3]; region != CloudFrontCertificateRegion {
			fail("web.certificateArn", "%q is in %s, but CloudFront takes certificates from %s only: request one there, with `%s`, validate it (its CNAME record goes in your DNS), and set its ARN here", w.CertificateARN, region, CloudFrontCertificateRegion, requestCertificateCommand(w.Domain))
		}
		return
	}
	switch {
	case c.Domain.HostedZoneID == "":
		fail("web.certificateArn", "missing: the page's domain %q needs an ACM certificate in %s, and the stage has no Route 53 zone (domain.hostedZoneId) to have one issued in: request one with `%s`, validate it (its CNAME record goes in your DNS), and set its ARN here", w.Domain, CloudFrontCertificateRegion, requestCertificateCommand(w.Domain))
	case c.Region != CloudFrontCertificateRegion:
		where := "in " + c.Region
		if c.Region == "" {
			where = "environment-agnostic (no region set)"
		}
		fail("web.certificateArn", "missing: the page's domain %q needs an ACM certificate in %s, the only region CloudFront takes certificates from, and the stage's stack is %s, so it cannot issue one: request it with `%s`, add the CNAME record it asks for to the zone %s, and set its ARN here (a stage whose region is %s has one issued in its zone instead)", w.Domain, CloudFrontCertificateRegion, where, requestCertificateCommand(w.Domain), zone, CloudFrontCertificateRegion)
	}
}

// webCertificateHint says what else web.domain needs in this stage.
func webCertificateHint(c StageConfig) string {
	if c.Domain.HostedZoneID != "" && c.Region == CloudFrontCertificateRegion {
		return "the stage is in " + CloudFrontCertificateRegion + ", so the certificate is issued in its zone"
	}
	return "and web.certificateArn, an ACM certificate for it in " + CloudFrontCertificateRegion + ", which `aws acm request-certificate --region " + CloudFrontCertificateRegion + " --domain-name <web.domain> --validation-method DNS` requests"
}

// requestCertificateCommand is the AWS CLI command that requests the page's
// certificate where CloudFront can use it.
func requestCertificateCommand(domain string) string {
	return fmt.Sprintf("aws acm request-certificate --region %s --domain-name %s --validation-method DNS", CloudFrontCertificateRegion, domain)
}
