package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/kmsjwt"
)

// kmsSigner mints tokens for a deployed stage that is its own issuer, with
// the operator's AWS credentials (the SDK's usual chain, and
// AWS_ENDPOINT_URL_KMS where a stand-in plays KMS) and the stack's outputs:
// the issuer, the key and the lifetime.
func kmsSigner(ctx context.Context, outputs map[string]string, api *apitemplate.API) (*kmsjwt.Signer, error) {
	seconds, err := strconv.Atoi(outputs["TokenLifetimeSeconds"])
	if outputs["IssuerKeyArn"] == "" || outputs["Issuer"] == "" || err != nil {
		return nil, fmt.Errorf("the stack's outputs lack IssuerKeyArn, Issuer or TokenLifetimeSeconds: is the stage its own issuer (selfHostedIssuer), deployed with --outputs-file?")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS credentials: %w", err)
	}
	return &kmsjwt.Signer{KMS: kms.NewFromConfig(cfg), KeyARN: outputs["IssuerKeyArn"], Issuer: outputs["Issuer"], Audience: api.Audience[0], Lifetime: time.Duration(seconds) * time.Second}, nil
}

// kmsSmokeTokens mints the smoke check's two tokens: one holding every scope
// and permission the routes require, and one with only the first scope.
func kmsSmokeTokens(client *http.Client, outputs map[string]string, api *apitemplate.API, key *ecdsa.PrivateKey) (full, limited *smokeToken, organizations []*smokeToken, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), client.Timeout)
	defer cancel()
	signer, err := kmsSigner(ctx, outputs, api)
	if err != nil {
		return nil, nil, nil, err
	}
	var scopes, permissions []string
	for _, route := range api.Routes {
		scopes = append(scopes, route.Scopes...)
		permissions = append(permissions, route.Permissions...)
	}
	slices.Sort(scopes)
	scopes, permissions = slices.Compact(scopes), slices.Compact(slices.Sorted(slices.Values(permissions)))
	var jkt string
	if key != nil {
		jkt, _ = dpop.Thumbprint(&key.PublicKey)
	}
	mint := func(grant kmsjwt.Grant) (*smokeToken, error) {
		grant.Confirmation = jkt
		raw, err := signer.Mint(ctx, grant)
		if err != nil {
			return nil, err
		}
		return smokeTokenFrom(client, raw, "", "", "", "", "", key)
	}
	if full, err = mint(kmsjwt.Grant{Subject: "apictl-smoke", Scopes: scopes, Permissions: permissions}); err != nil {
		return nil, nil, nil, err
	}
	if limited, err = mint(kmsjwt.Grant{Subject: "apictl-smoke", Scopes: scopes[:min(1, len(scopes))], Permissions: []string{}}); err != nil {
		return nil, nil, nil, err
	}
	// The stage is its own issuer, with no Auth0 Organizations behind it:
	// two made-up organizations show that each reaches only its own paths.
	for _, organization := range smokeOrganizations {
		token, err := mint(kmsjwt.Grant{Subject: "apictl-smoke", Scopes: scopes, Permissions: permissions, Organization: organization})
		if err != nil {
			return nil, nil, nil, err
		}
		organizations = append(organizations, token)
	}
	return full, limited, organizations, nil
}

// smokeOrganizations are the org_id values of the tokens that smoke mints
// for a stage that is its own issuer.
var smokeOrganizations = []string{"org_smokeA", "org_smokeB"}
