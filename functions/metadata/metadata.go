// Package metadata is the logic of the function that serves a stage's OAuth
// Protected Resource Metadata (RFC 9728): one document, the same for every
// caller. It imports nothing of the other functions, so that their edits do
// not rebuild it.
package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auth0-http-api/cdk/internal/wire"
)

// Handler answers the document that the stack derived from the route table
// (metadataJSON), naming issuer as the authorization server, and
// documentation, when given, as the resource's documentation. The local API
// gives the issuer it trusts, and the page it serves, in their place. Any
// caller may read and cache the answer; an odd request gets it too.
func Handler(metadataJSON, issuer, documentation string) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	var document wire.ProtectedResourceMetadata
	if err := json.Unmarshal([]byte(metadataJSON), &document); err != nil || document.Resource == "" {
		return nil, fmt.Errorf("the metadata must be a JSON object with a resource (RFC 9728 §2), got %q", metadataJSON)
	}
	if issuer == "" {
		return nil, errors.New("no issuer: the metadata names the authorization server that issues the API's tokens")
	}
	document.AuthorizationServers = []string{issuer}
	if documentation != "" {
		document.ResourceDocumentation = documentation
	}
	body, _ := json.Marshal(document)
	// The same for every caller until the next deploy.
	headers := map[string]string{"content-type": "application/json", "cache-control": "public, max-age=300"}
	return func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: maps.Clone(headers), Body: string(body)}, nil
	}, nil
}
