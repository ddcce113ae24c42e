// Command faulty is a Lambda function for the local API's fault tests: the
// request path picks how it misbehaves.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (any, error) {
	switch req.RawPath {
	case "/panic":
		panic("faulty: asked to panic")
	case "/error":
		return nil, errors.New("faulty: asked to fail")
	case "/exit":
		os.Exit(3)
	case "/sleep":
		time.Sleep(time.Hour)
	case "/invalid":
		return map[string]any{"statusCode": "not a number"}, nil
	case "/bare":
		return map[string]string{"hello": "world"}, nil
	case "/slow":
		// Says it started, then answers once the test creates the file that
		// FAULTY_RELEASE names: the test acts while this request is in flight.
		fmt.Fprintln(os.Stderr, "faulty: slow request started")
		for {
			if _, err := os.Stat(os.Getenv("FAULTY_RELEASE")); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"content-type": "text/plain"},
		Body:       fmt.Sprintf("pid %d", os.Getpid()),
	}, nil
}

func main() {
	if os.Getenv("FAULTY_EXIT_AT_START") != "" {
		os.Exit(3) // dies before it takes any event
	}
	lambda.Start(handle)
}
