// Package kmsapi makes the one KMS call a Lambda function of this project
// needs, GetPublicKey
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html),
// through internal/awsjson, without the AWS SDK's KMS client, which would add
// 1.5 MB to the function.
package kmsapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/auth0-http-api/cdk/internal/awsjson"
)

// KeyID is the key ID of a KMS key ARN, its last part: the kid under which
// the stage's key set publishes the key, and that its tokens name.
func KeyID(keyARN string) string { return keyARN[strings.LastIndex(keyARN, "/")+1:] }

// Client calls KMS in one region with one set of credentials.
type Client awsjson.Client

// FromEnvironment is a client from what Lambda puts in a function's
// environment: the region and the role's credentials, and
// AWS_ENDPOINT_URL_KMS where a stand-in plays KMS.
func FromEnvironment() *Client { return (*Client)(awsjson.FromEnvironment(awsjson.KMS)) }

// Error is KMS's answer to a call it refused, such as AccessDeniedException.
type Error = awsjson.Error

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

// call sends one operation of KMS.
func (c *Client) call(ctx context.Context, operation string, in, out any) error {
	return (*awsjson.Client)(c).Call(ctx, awsjson.KMS, operation, in, out)
}
