// Command resourcemetadata serves a stage's OAuth Protected Resource Metadata
// (RFC 9728) at /.well-known/oauth-protected-resource. Wiring only; the
// logic is in functions/handlers.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/auth0-http-api/cdk/functions/handlers"
	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	serve, err := handlers.ProtectedResourceMetadata(os.Getenv(apitemplate.ResourceMetadataVariable),
		os.Getenv(apitemplate.AuthorizerIssuerVariable), os.Getenv(apitemplate.ResourceDocumentationVariable))
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(handlers.Logged(logger, "resourcemetadata", serve))
}
