// Package kmsjwt mints access tokens for a stage with its own token issuer:
// RS256 JWTs signed by the stage's KMS key through kms:Sign, so that the
// private key never leaves KMS. A service imports it; `apictl token --kms`
// and `apictl smoke` use it too.
package kmsjwt

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/auth0-http-api/cdk/internal/kmsapi"
)

// SignAPI is the one KMS call the signer makes: *kms.Client has it.
type SignAPI interface {
	Sign(ctx context.Context, params *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
}

// Signer mints tokens of one issuer for one audience with one KMS key.
type Signer struct {
	KMS      SignAPI
	KeyARN   string // the newest generation's key
	Issuer   string // the stage's API URL, with its trailing slash
	Audience string
	Lifetime time.Duration
	Now      func() time.Time // nil: time.Now
}

// Grant is what a minted token says of its holder.
type Grant struct {
	Subject string
	Scopes  []string
	// Permissions are Auth0-style RBAC permissions, for routes that require
	// them; nil leaves the claim out.
	Permissions []string
	// Organization is the org_id, as Auth0 writes it for a token issued for
	// an organization; "" leaves the claim out.
	Organization string
	// Confirmation binds the token to a DPoP key: its RFC 7638 thumbprint
	// becomes cnf.jkt (RFC 9449 §6.1); "" mints a bearer token.
	Confirmation string
}

// Mint signs a token for grant: iss, aud, sub, scope, permissions, org_id,
// iat, exp and a random jti.
func (s *Signer) Mint(ctx context.Context, grant Grant) (string, error) {
	// The key set names each key by its key ID; an alias would give a kid
	// that no published key has, and every token would be refused.
	if !strings.Contains(s.KeyARN, ":key/") {
		return "", fmt.Errorf("KeyARN %q: expected a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (the stack output IssuerKeyArn), not an alias or a bare key ID", s.KeyARN)
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := map[string]any{
		"iss": s.Issuer, "aud": s.Audience, "sub": grant.Subject,
		"iat": now.Unix(), "exp": now.Add(s.Lifetime).Unix(), "jti": hex.EncodeToString(jti),
	}
	if len(grant.Scopes) > 0 {
		claims["scope"] = strings.Join(grant.Scopes, " ")
	}
	if grant.Permissions != nil {
		claims["permissions"] = grant.Permissions
	}
	if grant.Organization != "" {
		claims["org_id"] = grant.Organization
	}
	if grant.Confirmation != "" {
		claims["cnf"] = map[string]string{"jkt": grant.Confirmation}
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kmsapi.KeyID(s.KeyARN)})
	payload, _ := json.Marshal(claims)
	signingInput := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	// KMS signs a digest of at most 4 KB of message; the token's digest is 32 bytes.
	digest := sha256.Sum256([]byte(signingInput))
	out, err := s.KMS.Sign(ctx, &kms.SignInput{
		KeyId: &s.KeyARN, Message: digest[:], MessageType: types.MessageTypeDigest,
		SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDeniedException" {
		return "", fmt.Errorf("kms:Sign was denied on %s: this principal needs the stage's signer policy (stack output SignerPolicyArn) and to be named in selfHostedIssuer.signers: %w", s.KeyARN, err)
	}
	if err != nil {
		return "", fmt.Errorf("kms:Sign on %s: %w", s.KeyARN, err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(out.Signature), nil
}
