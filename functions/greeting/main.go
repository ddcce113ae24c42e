// Command greeting is the Lambda function behind the public route.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/auth0-http-api/cdk/functions/handlers"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	lambda.Start(handlers.Logged(logger, "greeting", handlers.Greeting))
}
