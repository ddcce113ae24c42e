package kmsjwt_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/kmsstandin"
	"github.com/auth0-http-api/cdk/internal/testsupport"
	"github.com/auth0-http-api/cdk/kmsjwt"
)

// client is the AWS SDK's KMS client, pointed at the stand-in through its
// endpoint setting.
func client(stand *kmsstandin.KMS) *kms.Client {
	return kms.New(kms.Options{
		Region: kmsstandin.Region, BaseEndpoint: aws.String(stand.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSTANDIN", "secret", ""),
	})
}

func publicKey(t *testing.T, c *kms.Client, arn string) *rsa.PublicKey {
	t.Helper()
	out, err := c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: &arn})
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key.(*rsa.PublicKey)
}

func TestAMintedTokenVerifiesAsTheAuthorizerChecksIt(t *testing.T) {
	stand := testsupport.StartKMS(t)
	arn := testsupport.NewKMSKey(t, stand, "key-1")
	c := client(stand)
	signer := &kmsjwt.Signer{KMS: c, KeyARN: arn, Issuer: "https://abc.execute-api.us-east-1.amazonaws.com/", Audience: "https://ci.api.example.com", Lifetime: 15 * time.Minute}
	token, err := signer.Mint(context.Background(), kmsjwt.Grant{Subject: "ci-smoke", Scopes: []string{"read:user", "write:user"}, Permissions: []string{"read:admin"}, Organization: "org_1"})
	if err != nil {
		t.Fatal(err)
	}
	verifier := &jwtauth.Verifier{Issuer: signer.Issuer, Audiences: []string{signer.Audience}, Keys: jwtauth.StaticKeys{"key-1": {Public: publicKey(t, c, arn), Algorithm: "RS256"}}}
	got, err := verifier.Verify("Bearer " + token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Claims["sub"] != "ci-smoke" || strings.Join(got.Scopes, " ") != "read:user write:user" || strings.Join(got.Permissions, " ") != "read:admin" || got.Organization != "org_1" || len(got.Claims["jti"]) != 32 {
		t.Errorf("claims %v scopes %v permissions %v", got.Claims, got.Scopes, got.Permissions)
	}
	if exp, iat := got.Claims["exp"], got.Claims["iat"]; exp == "" || iat == "" {
		t.Errorf("exp %q iat %q", exp, iat)
	}
}

// A caller that may not sign learns which permission it lacks and how to get it.
func TestASignDenialSaysWhatIsMissing(t *testing.T) {
	stand := testsupport.StartKMS(t)
	arn := testsupport.NewKMSKey(t, stand, "key-1")
	stand.Deny("Sign")
	signer := &kmsjwt.Signer{KMS: client(stand), KeyARN: arn, Issuer: "https://x/", Audience: "a", Lifetime: time.Minute}
	_, err := signer.Mint(context.Background(), kmsjwt.Grant{Subject: "s"})
	if err == nil || !strings.Contains(err.Error(), "kms:Sign was denied on "+arn) || !strings.Contains(err.Error(), "SignerPolicyArn") || !strings.Contains(err.Error(), "selfHostedIssuer.signers") {
		t.Errorf("%v", err)
	}
}

// An alias would sign tokens under a kid that no published key has.
func TestMintRefusesAnAlias(t *testing.T) {
	for _, keyARN := range []string{"arn:aws:kms:us-east-1:111122223333:alias/ci-issuer", "alias/ci-issuer", "1234abcd-12ab-34cd-56ef-1234567890ab"} {
		signer := &kmsjwt.Signer{KMS: fixedSignature{}, KeyARN: keyARN, Issuer: "https://x/", Audience: "a", Lifetime: time.Minute}
		if _, err := signer.Mint(context.Background(), kmsjwt.Grant{Subject: "s"}); err == nil || !strings.Contains(err.Error(), "expected a KMS key ARN") {
			t.Errorf("%s: %v", keyARN, err)
		}
	}
}

// fixedSignature answers Sign at once, so that a benchmark measures the
// minting around the KMS call.
type fixedSignature struct{}

func (fixedSignature) Sign(context.Context, *kms.SignInput, ...func(*kms.Options)) (*kms.SignOutput, error) {
	return &kms.SignOutput{Signature: make([]byte, 256)}, nil
}

// BenchmarkMint is the cost of a token, excluding the KMS call.
func BenchmarkMint(b *testing.B) {
	signer := &kmsjwt.Signer{KMS: fixedSignature{}, KeyARN: kmsstandin.ARN("key-1"), Issuer: "https://abc.execute-api.us-east-1.amazonaws.com/", Audience: "https://ci.api.example.com", Lifetime: 15 * time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signer.Mint(context.Background(), kmsjwt.Grant{Subject: "ci-smoke", Scopes: []string{"read:user", "write:user"}, Permissions: []string{"read:admin"}, Organization: "org_1"}); err != nil {
			b.Fatal(err)
		}
	}
}
