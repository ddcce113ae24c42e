package localapi

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/kmsstandin"
	"github.com/auth0-http-api/cdk/internal/testsupport"
	"github.com/auth0-http-api/cdk/kmsjwt"
)

// startSelfHosted serves the ci stage, which is its own issuer, on a known
// port, so that its issuer, its own URL, is known before it starts. Its
// well-known function reads the published keys from the KMS stand-in.
func startSelfHosted(t testing.TB, stand *kmsstandin.KMS, published ...string) (*Server, *apitemplate.API) {
	t.Helper()
	api, err := goldenAPI("ci")
	if err != nil {
		t.Fatal(err)
	}
	port := testsupport.FreePort(t)
	env := stand.Env()
	arns, _ := json.Marshal(published)
	env["KEY_ARNS"] = string(arns)
	local, err := Start(context.Background(), Config{
		Root: suite.root, API: api, Issuer: "http://127.0.0.1:" + strconv.Itoa(port) + "/", Addr: "127.0.0.1:" + strconv.Itoa(port), MaxProcesses: 2,
		BuildDir: filepath.Join(suite.tmp, "ci-build"), FunctionEnvironment: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(local.Close)
	return local, api
}

// mint signs a token for the ci stage with a key of the stand-in, as a
// service with kmsjwt does.
func mint(t *testing.T, stand *kmsstandin.KMS, local *Server, api *apitemplate.API, keyARN string, scopes ...string) string {
	t.Helper()
	client := kms.New(kms.Options{Region: kmsstandin.Region, BaseEndpoint: aws.String(stand.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	signer := &kmsjwt.Signer{KMS: client, KeyARN: keyARN, Issuer: local.URL + "/", Audience: api.Audience[0], Lifetime: 15 * time.Minute}
	token, err := signer.Mint(context.Background(), kmsjwt.Grant{Subject: "ci-smoke", Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + token
}

// A token minted through KMS is verified by the local API, which reads the
// key set from the stage's own well-known function, as API Gateway would.
func TestASelfHostedStageVerifiesTokensMintedThroughKMS(t *testing.T) {
	stand := testsupport.StartKMS(t)
	key := testsupport.NewKMSKey(t, stand, "generation-1")
	local, api := startSelfHosted(t, stand, key)
	discovery := callAt(t, local.URL, "GET", "/.well-known/openid-configuration", "")
	if discovery.status != 200 || !strings.Contains(string(discovery.body), `"issuer":"`+local.URL+`/"`) {
		t.Fatalf("discovery: %d %s", discovery.status, discovery.body)
	}
	if set := callAt(t, local.URL, "GET", "/.well-known/jwks.json", ""); set.status != 200 || !strings.Contains(string(set.body), `"kid":"generation-1"`) {
		t.Fatalf("key set: %d %s", set.status, set.body)
	}
	if resp := callAt(t, local.URL, "GET", "/user", mint(t, stand, local, api, key, "read:user")); resp.status != 200 || !strings.Contains(string(resp.body), `"sub":"ci-smoke"`) {
		t.Errorf("GET /user with a minted read:user token: %d %s", resp.status, resp.body)
	}
	if resp := callAt(t, local.URL, "POST", "/user", mint(t, stand, local, api, key, "read:user")); resp.status != 403 {
		t.Errorf("POST /user without write:user: %d", resp.status)
	}
}

// After a rotation both published keys verify; a key no longer published does not.
func TestASelfHostedStageRotatesItsKeys(t *testing.T) {
	stand := testsupport.StartKMS(t)
	first, second, third := testsupport.NewKMSKey(t, stand, "generation-1"), testsupport.NewKMSKey(t, stand, "generation-2"), testsupport.NewKMSKey(t, stand, "generation-3")
	local, api := startSelfHosted(t, stand, first, second)
	for name, key := range map[string]string{"previous": first, "current": second} {
		if resp := callAt(t, local.URL, "GET", "/private", mint(t, stand, local, api, key)); resp.status != 200 {
			t.Errorf("a token of the %s key: %d %s", name, resp.status, resp.body)
		}
	}
	rotated, api := startSelfHosted(t, stand, second, third)
	if resp := callAt(t, rotated.URL, "GET", "/private", mint(t, stand, rotated, api, first)); resp.status != 401 {
		t.Errorf("a token of the removed key: %d, want 401", resp.status)
	}
	if resp := callAt(t, rotated.URL, "GET", "/private", mint(t, stand, rotated, api, third)); resp.status != 200 {
		t.Errorf("a token of the new key: %d %s", resp.status, resp.body)
	}
}
