// Command wellknown serves the OpenID discovery document and the key set of
// a stage with its own token issuer. Wiring only; the logic is in
// functions/keyset.
package main

import (
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/auth0-http-api/cdk/functions/keyset"
	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/kmsapi"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	var keyARNs []string
	if err := json.Unmarshal([]byte(os.Getenv(keyset.KeyARNsVariable)), &keyARNs); err != nil || len(keyARNs) == 0 {
		logger.Error("configuration", "error", keyset.KeyARNsVariable+" must be a JSON list of KMS key ARNs")
		os.Exit(1)
	}
	handler := &keyset.Handler{KMS: kmsapi.FromEnvironment(), Issuer: os.Getenv(apitemplate.AuthorizerIssuerVariable), KeyARNs: keyARNs}
	lambda.Start(handler.Serve)
}
