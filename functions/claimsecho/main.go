// Command claimsecho is the Lambda function behind the private routes: it echoes the JWT claims.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/auth0-http-api/cdk/functions/handlers"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	lambda.Start(handlers.Logged(logger, "claimsecho", handlers.ClaimsEcho))
}
