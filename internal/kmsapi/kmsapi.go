// Package kmsapi makes the one KMS call a Lambda function of this project
// needs, GetPublicKey, over KMS's JSON protocol
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html)
// signed with Signature Version 4, without the AWS SDK's KMS client, which
// would add 1.5 MB to the function.
package kmsapi

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

// KeyID is the key ID of a KMS key ARN, its last part: the kid under which
// the stage's key set publishes the key, and that its tokens name.
func KeyID(keyARN string) string { return keyARN[strings.LastIndex(keyARN, "/")+1:] }

// Client calls KMS in one region with one set of credentials.
type Client struct {
	Endpoint    string // such as https://kms.eu-west-1.amazonaws.com
	Region      string
	Credentials credentials.Credentials
	HTTP        *http.Client // nil: http.DefaultClient
}

// FromEnvironment is a client from what Lambda puts in a function's
// environment: the region and the role's credentials, and
// AWS_ENDPOINT_URL_KMS where a stand-in plays KMS.
func FromEnvironment() *Client {
	region := os.Getenv("AWS_REGION")
	endpoint := os.Getenv("AWS_ENDPOINT_URL_KMS")
	if endpoint == "" {
		endpoint = "https://kms." + region + ".amazonaws.com"
	}
	return &Client{Endpoint: endpoint, Region: region, Credentials: credentials.Credentials{
		AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
	}}
}

// Error is KMS's answer to a call it refused, such as AccessDeniedException.
type Error struct {
	Type, Message string
	Status        int
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message) }

// GetPublicKey returns the DER-encoded public key (SubjectPublicKeyInfo) of
// the key keyID, an ARN or a key ID.
func (c *Client) GetPublicKey(ctx context.Context, keyID string) ([]byte, error) {
	var out struct{ PublicKey []byte }
	if err := c.call(ctx, "GetPublicKey", map[string]string{"KeyId": keyID}, &out); err != nil {
		return nil, err
	}
	if len(out.PublicKey) == 0 {
		return nil, fmt.Errorf("kms:GetPublicKey on %s answered no public key", keyID)
	}
	return out.PublicKey, nil
}

// call sends one operation: a signed POST of JSON with its X-Amz-Target.
func (c *Client) call(ctx context.Context, operation string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+operation)
	hash := sha256.Sum256(body)
	if err := sigv4.New().SignRequest(&sigv4.SignRequestInput{
		Request: req, PayloadHash: hash[:], Credentials: c.Credentials, Service: "kms", Region: c.Region,
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
