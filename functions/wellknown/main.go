// Command wellknown serves the OpenID discovery document and the key set of
// a stage with its own token issuer. Wiring only; the logic is in
// functions/keyset.
package main

import (
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/auth0-http-api/cdk/functions/keyset"
	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	var keyARNs []string
	if err := json.Unmarshal([]byte(os.Getenv(keyset.KeyARNsVariable)), &keyARNs); err != nil || len(keyARNs) == 0 {
		logger.Error("configuration", "error", keyset.KeyARNsVariable+" must be a JSON list of KMS key ARNs")
		os.Exit(1)
	}
	handler := &keyset.Handler{KMS: kmsFromEnvironment(), Issuer: os.Getenv(apitemplate.AuthorizerIssuerVariable), KeyARNs: keyARNs}
	lambda.Start(handler.Serve)
}

// kmsFromEnvironment is a KMS client from what Lambda puts in the
// environment: the role's credentials and the region, and
// AWS_ENDPOINT_URL_KMS when a stand-in plays KMS. The SDK's config package
// would find the same, and add 2 MB of providers a function never uses.
func kmsFromEnvironment() *kms.Client {
	return kms.New(kms.Options{
		Region: os.Getenv("AWS_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))),
		BaseEndpoint: endpoint(os.Getenv("AWS_ENDPOINT_URL_KMS")),
	})
}

func endpoint(url string) *string {
	if url == "" {
		return nil
	}
	return &url
}
