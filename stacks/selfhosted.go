package stacks

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/auth0-http-api/cdk/functions/keyset"
	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// WellKnownPackage serves the discovery document and the key set of a stage
// that is its own token issuer.
const (
	WellKnownPackage     = "./functions/wellknown"
	wellKnownConstructID = "WellKnown"
)

// wellKnownRoutes are added to the route table of a stage that is its own
// issuer: public, as API Gateway's JWT authorizer fetches them unauthenticated.
var wellKnownRoutes = []Route{
	{Method: "GET", Path: wire.DiscoveryPath, Function: wellKnownConstructID, Public: true, Summary: "The stage's OpenID Connect discovery document, as its own token issuer"},
	{Method: "GET", Path: wire.KeySetPath, Function: wellKnownConstructID, Public: true, Summary: "The public keys that verify the stage's tokens (JWKS)"},
}

// functionPackage is the Go package of a function of the route table.
func functionPackage(name string) string {
	switch name {
	case wellKnownConstructID:
		return WellKnownPackage
	case resourceMetadataConstructID:
		return ResourceMetadataPackage
	}
	return Functions[name]
}

// newSelfHostedIssuer declares the signing keys of a stage that is its own
// issuer: one RSA_2048 SIGN_VERIFY KMS key per key generation, all published:
// the previous one, so that its tokens stay valid until they expire; the
// current one, which signs; and the next one, so that API Gateway, which may
// keep a key set for two hours, already holds it when a rotation makes it
// sign. Only the principals the stage names may sign, with the current key;
// the well-known function may read the public halves. A managed policy lets
// callers sign.
func newSelfHostedIssuer(stack awscdk.Stack, stage Stage, issuer string, wellKnown awslambda.Function) {
	config := stage.Config.SelfHostedIssuer
	generation := Threshold(config.KeyGeneration, 1)
	var keys []awskms.Key
	var signing awskms.Key
	for g := max(1, generation-1); g <= generation+1; g++ {
		signers := make([]awsiam.IPrincipal, len(config.Signers))
		for i, arn := range config.Signers {
			signers[i] = awsiam.NewArnPrincipal(jsii.String(arn))
		}
		statements := []awsiam.PolicyStatement{
			// The account administers the key, but may not sign with it: signing
			// is for the principals below, which the key policy names itself.
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("AccountAdministersButDoesNotSign"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
				Actions: jsii.Strings("kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
					"kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"),
				Resources: jsii.Strings("*"),
			}),
			// Only AWS services may create grants on the key (Control Tower CT.KMS.PR.3).
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("GrantsOnlyForAWSServices"),
				Effect:     awsiam.Effect_DENY,
				Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
				Actions:    jsii.Strings("kms:CreateGrant"),
				Resources:  jsii.Strings("*"),
				Conditions: &map[string]any{"BoolIfExists": map[string]any{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("WellKnownFunctionReadsThePublicKey"),
				Principals: &[]awsiam.IPrincipal{wellKnown.Role()},
				Actions:    jsii.Strings("kms:GetPublicKey"),
				Resources:  jsii.Strings("*"),
			}),
		}
		if g == generation {
			statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("OnlyTheStagesSignersSign"),
				Principals: &signers,
				Actions:    jsii.Strings("kms:Sign"),
				Resources:  jsii.Strings("*"),
				Conditions: &map[string]any{"StringEquals": map[string]any{"kms:SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"}},
			}))
		}
		key := awskms.NewKey(stack, jsii.String(fmt.Sprintf("IssuerKeyGeneration%d", g)), &awskms.KeyProps{
			Description: jsii.String(fmt.Sprintf("Signs the access tokens of the auth0-http-api stage %s, key generation %d", stage.Name, g)),
			KeySpec:     awskms.KeySpec_RSA_2048,
			KeyUsage:    awskms.KeyUsage_SIGN_VERIFY,
			Policy:      awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements}),
		})
		cdknag.NagSuppressions_AddResourceSuppressions(key, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-KMS5"),
			Reason: jsii.String("KMS cannot rotate an asymmetric key; this stage rotates by selfHostedIssuer.keyGeneration, which signs with the key published one deploy ahead and keeps the previous one published until tokens it signed have expired."),
		}}, nil)
		key.Grant(wellKnown, jsii.String("kms:GetPublicKey"))
		keys = append(keys, key)
		if g == generation {
			signing = key
		}
	}

	arns := make([]string, len(keys))
	for i, key := range keys {
		arns[i] = *key.KeyArn()
	}
	published, _ := json.Marshal(arns)
	wellKnown.AddEnvironment(jsii.String(keyset.KeyARNsVariable), jsii.String(string(published)), nil)
	wellKnown.AddEnvironment(jsii.String(apitemplate.AuthorizerIssuerVariable), jsii.String(issuer), nil)

	signerPolicy := awsiam.NewManagedPolicy(stack, jsii.String("SignerPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("May sign tokens for stage " + stage.Name + ": kms:Sign with its current issuer key"),
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings("kms:Sign"),
			Resources:  &[]*string{signing.KeyArn()},
			Conditions: &map[string]any{"StringEquals": map[string]any{"kms:SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"}},
		})},
	})
	awscdk.NewCfnOutput(stack, jsii.String("SignerPolicyArn"), &awscdk.CfnOutputProps{
		Value: signerPolicy.ManagedPolicyArn(), Description: jsii.String("May sign tokens for stage " + stage.Name + ": attach it to the principals of selfHostedIssuer.signers"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("IssuerKeyArn"), &awscdk.CfnOutputProps{
		Value: signing.KeyArn(), Description: jsii.String("The KMS key that signs the stage's tokens now"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TokenLifetimeSeconds"), &awscdk.CfnOutputProps{
		Value:       jsii.String(fmt.Sprint(60 * Threshold(config.TokenLifetimeMinutes, DefaultTokenLifetimeMinutes))),
		Description: jsii.String("How long the stage's tokens last"),
	})
}
