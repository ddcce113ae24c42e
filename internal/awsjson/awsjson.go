// Package awsjson calls AWS services over their JSON protocol: a POST of
// JSON to the service's regional endpoint, the operation named by its
// X-Amz-Target header, signed with Signature Version 4. The functions make
// their few AWS calls (KMS GetPublicKey, DynamoDB PutItem) with it instead of
// the AWS SDK's clients, each of which would add megabytes to a function.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
)

// Service is an AWS service of the JSON protocol: its signing name, the
// prefix of its operations' X-Amz-Target, and its protocol version's
// Content-Type.
type Service struct {
	SigningName, TargetPrefix, ContentType string
}

// The services the functions call
// (https://docs.aws.amazon.com/kms/latest/APIReference/CommonParameters.html,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html).
var (
	KMS      = Service{SigningName: "kms", TargetPrefix: "TrentService.", ContentType: "application/x-amz-json-1.1"}
	DynamoDB = Service{SigningName: "dynamodb", TargetPrefix: "DynamoDB_20120810.", ContentType: "application/x-amz-json-1.0"}
)

// Client calls one service's endpoint in one region with one set of credentials.
type Client struct {
	Endpoint    string // such as https://kms.eu-west-1.amazonaws.com
	Region      string
	Credentials credentials.Credentials
	HTTP        *http.Client // nil: http.DefaultClient
}

// FromEnvironment is a client of service from what Lambda puts in a
// function's environment: the region and the role's credentials. The
// endpoint is AWS_ENDPOINT_URL_<SERVICE> where a stand-in plays the service,
// as the AWS SDKs read it, or else the service's regional endpoint.
func FromEnvironment(service Service) *Client {
	region := os.Getenv("AWS_REGION")
	endpoint := os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(service.SigningName))
	if endpoint == "" {
		endpoint = "https://" + service.SigningName + "." + region + ".amazonaws.com"
	}
	return &Client{Endpoint: endpoint, Region: region, Credentials: credentials.Credentials{
		AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
	}}
}

// Error is a service's answer to a call it refused, such as
// AccessDeniedException or ConditionalCheckFailedException.
type Error struct {
	Type, Message string
	Status        int
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message) }

// Call sends one operation of service with in as its JSON body, and decodes
// the answer into out. A refusal is an *Error.
func (c *Client) Call(ctx context.Context, service Service, operation string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", service.ContentType)
	req.Header.Set("X-Amz-Target", service.TargetPrefix+operation)
	hash := sha256.Sum256(body)
	if err := sigv4.New().SignRequest(&sigv4.SignRequestInput{
		Request: req, PayloadHash: hash[:], Credentials: c.Credentials, Service: service.SigningName, Region: c.Region,
	}); err != nil {
		return err
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var failure struct {
			Type    string `json:"__type"`
			Message string // "message" or "Message": encoding/json matches either
		}
		json.Unmarshal(data, &failure)
		return &Error{Type: failure.Type[strings.LastIndex(failure.Type, "#")+1:], Message: failure.Message, Status: resp.StatusCode}
	}
	return json.Unmarshal(data, out)
}
