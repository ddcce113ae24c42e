// Command authorizer is the permissions authorizer: the Lambda authorizer of
// the routes that require Auth0 RBAC permissions. Wiring only; the logic is
// in functions/permissions.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/auth0-http-api/cdk/functions/permissions"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	authorizer, err := permissions.FromEnvironment(os.Getenv, logger)
	if err != nil {
		// Lambda reports a failed init, and API Gateway answers 500: fail closed.
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(authorizer.Authorize)
}
