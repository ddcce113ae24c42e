// Command resourcemetadata serves a stage's OAuth Protected Resource Metadata
// (RFC 9728) at /.well-known/oauth-protected-resource. Wiring only; the
// logic is in functions/metadata. It writes no line per request: the answer
// is one constant document, and the API's access log records each call.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/auth0-http-api/cdk/functions/metadata"
	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

func main() {
	serve, err := metadata.Handler(os.Getenv(apitemplate.ResourceMetadataVariable),
		os.Getenv(apitemplate.AuthorizerIssuerVariable), os.Getenv(apitemplate.ResourceDocumentationVariable))
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(serve)
}
