// Package keyset is the logic of the well-known function of a stage with its
// own token issuer: it answers the OpenID discovery document and the key set,
// whose keys it reads from KMS with GetPublicKey and keeps, since a KMS key's
// public half never changes.
package keyset

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auth0-http-api/cdk/internal/kmsapi"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// The environment synth writes for it. The paths it answers are wire's.
const (
	// KeyARNsVariable holds the published keys' ARNs as a JSON list.
	KeyARNsVariable = "KEY_ARNS"
	// cacheControl lets clients and the JWT authorizer keep the answers a while.
	cacheControl = "public, max-age=300"
)

// PublicKeyAPI is the one KMS call it makes: *kmsapi.Client has it.
type PublicKeyAPI interface {
	GetPublicKey(ctx context.Context, keyID string) ([]byte, error)
}

// Handler answers the well-known routes.
type Handler struct {
	KMS     PublicKeyAPI
	Issuer  string
	KeyARNs []string

	mu   sync.Mutex
	jwks []byte // the key set, once read
}

// Serve answers one request of the well-known routes.
func (h *Handler) Serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch req.RawPath {
	case wire.DiscoveryPath:
		body, _ := json.Marshal(map[string]any{
			"issuer":                                h.Issuer,
			"jwks_uri":                              h.Issuer + strings.TrimPrefix(wire.KeySetPath, "/"),
			"response_types_supported":              []string{"token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
		return answer(http.StatusOK, body), nil
	case wire.KeySetPath:
		jwks, err := h.keySet(ctx)
		if err != nil {
			// The detail is for the log; the caller learns only that it failed.
			line, _ := json.Marshal(map[string]string{"level": "ERROR", "msg": "reading the public keys from KMS", "error": err.Error()})
			fmt.Println(string(line))
			return answer(http.StatusServiceUnavailable, []byte(`{"message":"the key set cannot be read now"}`)), nil
		}
		return answer(http.StatusOK, jwks), nil
	}
	return answer(http.StatusNotFound, []byte(`{"message":"Not Found"}`)), nil
}

// keySet reads every published key once, and keeps the answer.
func (h *Handler) keySet(ctx context.Context) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.jwks != nil {
		return h.jwks, nil
	}
	keys := make([]map[string]string, 0, len(h.KeyARNs))
	for _, arn := range h.KeyARNs {
		der, err := h.KMS.GetPublicKey(ctx, arn)
		if err != nil {
			return nil, fmt.Errorf("kms:GetPublicKey on %s: %w", arn, err)
		}
		parsed, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("%s: the public key does not parse: %w", arn, err)
		}
		public, ok := parsed.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: a %T, not an RSA public key", arn, parsed)
		}
		keys = append(keys, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kmsapi.KeyID(arn),
			"n": base64.RawURLEncoding.EncodeToString(public.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(public.E)).Bytes()),
		})
	}
	h.jwks, _ = json.Marshal(map[string]any{"keys": keys})
	return h.jwks, nil
}

func answer(status int, body []byte) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"content-type": "application/json"}
	if status == http.StatusOK {
		headers["cache-control"] = cacheControl
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: string(body)}
}
