package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// hostedZone is the stage's Route 53 zone, or nil when it names none. The
// API's domain and the page's both write their records in it.
func hostedZone(scope constructs.Construct, config DomainConfig) awsroute53.IHostedZone {
	if config.HostedZoneID == "" {
		return nil
	}
	return awsroute53.HostedZone_FromHostedZoneAttributes(scope, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String(config.HostedZoneID), ZoneName: jsii.String(config.HostedZoneName),
	})
}

// newDomain declares the stage's custom domain: a regional API Gateway
// domain name with the TLS 1.2 security policy, on the given certificate or
// on one ACM issues with DNS validation in the zone, and, with a zone, A and
// AAAA alias records to it.
func newDomain(scope constructs.Construct, config DomainConfig, zone awsroute53.IHostedZone) awsapigatewayv2.DomainName {
	var certificate awscertificatemanager.ICertificate
	if config.CertificateARN != "" {
		certificate = awscertificatemanager.Certificate_FromCertificateArn(scope, jsii.String("Certificate"), jsii.String(config.CertificateARN))
	} else {
		certificate = awscertificatemanager.NewCertificate(scope, jsii.String("Certificate"), &awscertificatemanager.CertificateProps{
			DomainName: jsii.String(config.Name),
			Validation: awscertificatemanager.CertificateValidation_FromDns(zone),
		})
	}
	domain := awsapigatewayv2.NewDomainName(scope, jsii.String("DomainName"), &awsapigatewayv2.DomainNameProps{
		DomainName:     jsii.String(config.Name),
		Certificate:    certificate,
		SecurityPolicy: awsapigatewayv2.SecurityPolicy_TLS_1_2,
	})
	if zone != nil {
		target := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewApiGatewayv2DomainProperties(domain.RegionalDomainName(), domain.RegionalHostedZoneId()))
		awsroute53.NewARecord(scope, jsii.String("AliasA"), &awsroute53.ARecordProps{Zone: zone, RecordName: jsii.String(config.Name), Target: target})
		awsroute53.NewAaaaRecord(scope, jsii.String("AliasAAAA"), &awsroute53.AaaaRecordProps{Zone: zone, RecordName: jsii.String(config.Name), Target: target})
	}
	return domain
}
