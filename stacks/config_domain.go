package stacks

import (
	"regexp"
	"strings"
)

// DomainConfig gives the stage a custom domain: a certificate by ARN, or a
// Route 53 zone in which one is issued (DNS validation) and the alias
// records are written, or both.
type DomainConfig struct {
	Name           string `json:"name,omitempty"`
	CertificateARN string `json:"certificateArn,omitempty"`
	HostedZoneID   string `json:"hostedZoneId,omitempty"`
	HostedZoneName string `json:"hostedZoneName,omitempty"`
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
