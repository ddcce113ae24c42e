package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// smokeToken is an access token and what the smoke check needs to know of it.
type smokeToken struct {
	raw     string
	sub     string
	iss     string        // the issuer, which the stage's metadata must name
	granted jwtauth.Token // its scopes and permissions, read without verifying it
	// key is the DPoP key the token is bound to, on a stage that requires
	// DPoP; nil for a bearer token.
	key *ecdsa.PrivateKey
}

// String shows at most the token's last 6 characters: output may land in CI logs.
func (t *smokeToken) String() string {
	organization := ""
	if t.granted.Organization != "" {
		organization = ", organization " + printable(t.granted.Organization)
	}
	return fmt.Sprintf("…%s (sub %s, scopes %q, permissions %q%s)", printable(t.raw[max(0, len(t.raw)-6):]), printable(t.sub),
		printable(strings.Join(t.granted.Scopes, " ")), printable(strings.Join(t.granted.Permissions, " ")), organization)
}

// smokeCheck is one request and the answer the template says it must get.
type smokeCheck struct {
	route  apitemplate.Route
	path   string
	name   string
	header string
	token  *smokeToken // the token sent, whose sub and scopes the echo must show
	want   int
	// metadata is the Protected Resource Metadata the answer must be, on
	// the route that serves it.
	metadata *wire.ProtectedResourceMetadata
	// proofKey, on a stage that requires DPoP, signs a fresh proof for the
	// request as it is sent. replay sends the request twice with one proof:
	// the first must pass, and the second answer is the one checked.
	proofKey *ecdsa.PrivateKey
	replay   bool
}

func runSmoke(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("smoke", stderr)
	stage := flags.String("stage", "dev", "the deployed stage, as named in cdk.json")
	outputs := flags.String("outputs", "cdk-outputs.json", "the outputs file that `cdk deploy --outputs-file` wrote")
	apiURL := flags.String("url", "", "the API's base URL, instead of reading it from --outputs")
	tokenURL := flags.String("token-url", "", "the OAuth token endpoint (default: <issuer>oauth/token; set it for an Auth0 custom domain)")
	fullToken := flags.String("token", "", "an access token holding the routes' scopes, instead of AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET")
	limitedToken := flags.String("limited-token", "", "an access token with fewer scopes, instead of AUTH0_LIMITED_CLIENT_ID/AUTH0_LIMITED_CLIENT_SECRET")
	organizations := flags.String("organizations", os.Getenv("SMOKE_ORGANIZATIONS"), "two Auth0 organization IDs, comma-separated, for which the full client gets a token each: each must reach its own organization's routes and be refused on the other's (default $SMOKE_ORGANIZATIONS)")
	timeout := flags.Duration("timeout", 5*time.Second, "the time limit of each network call")
	dpopKeyFile := flags.String("dpop-key", "", "on a stage that requires DPoP: the key that --token and --limited-token are bound to, as `apictl token --dpop` keeps it")
	if flags.Parse(args) != nil {
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "apictl smoke: --timeout must be positive, such as 5s: every network call has a time limit")
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "apictl smoke:", err)
		return 1
	}
	api, err := p.load(*stage, stderr)
	if err != nil {
		return fail(err)
	}
	outs, outputsErr := stackOutputs(*outputs, *stage, api.StackName)
	if *apiURL == "" {
		if outputsErr != nil {
			return fail(fmt.Errorf("%w, or pass --url", outputsErr))
		}
		if *apiURL, err = deployedURL(outs, *outputs, *stage, api.StackName); err != nil {
			return fail(err)
		}
	}
	client := &http.Client{
		Timeout:   *timeout,
		Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: *timeout}).DialContext},
		// A redirect could carry the client secret, or a token, to another host.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return fmt.Errorf("%s answered with a redirect to %s, which smoke does not follow", via[0].URL, printable(req.URL.String()))
		},
	}

	// On a stage that requires DPoP, every token smoke gets is bound to a key
	// of this run, or, for the tokens given, to --dpop-key's.
	var key *ecdsa.PrivateKey
	if api.RequiresDPoP() {
		switch {
		case *dpopKeyFile != "":
			key, err = loadDPoPKey(*dpopKeyFile)
		case *fullToken != "" || *limitedToken != "":
			err = errors.New("the stage requires DPoP: give --dpop-key, the key that --token and --limited-token are bound to")
		default:
			key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		if err != nil {
			return fail(err)
		}
	}
	var full, limited *smokeToken
	var orgTokens []*smokeToken
	if keyARN := outs["IssuerKeyArn"]; keyARN != "" && *fullToken == "" && os.Getenv("AUTH0_CLIENT_ID") == "" {
		// The stage is its own issuer: it mints its tokens through KMS, one
		// with everything the routes require, one with less, and one for
		// each of two organizations.
		if full, limited, orgTokens, err = kmsSmokeTokens(client, outs, api, key); err != nil {
			return fail(err)
		}
	} else {
		if *tokenURL == "" && *fullToken == "" && api.Issuer == "" {
			return fail(fmt.Errorf("stage %s is its own token issuer: smoke mints its tokens through KMS with the outputs file's IssuerKeyArn (unset AUTH0_CLIENT_ID, and give --outputs), or pass --token and --limited-token", *stage))
		}
		if *tokenURL == "" {
			*tokenURL = api.Issuer + "oauth/token"
		}
		// The client secret is sent to this URL: in clear text only on this machine.
		if err := jwtauth.CheckIssuerURL("--token-url", *tokenURL); err != nil {
			return fail(err)
		}
		if full, err = smokeTokenFrom(client, *fullToken, "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", *tokenURL, api.Audience[0], "", key); err != nil {
			return fail(err)
		}
		if full == nil {
			return fail(errors.New("no token: set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (a machine-to-machine application authorized for the API), or pass --token"))
		}
		if limited, err = smokeTokenFrom(client, *limitedToken, "AUTH0_LIMITED_CLIENT_ID", "AUTH0_LIMITED_CLIENT_SECRET", *tokenURL, api.Audience[0], "", key); err != nil {
			return fail(err)
		}
		if *organizations != "" {
			ids := strings.Split(*organizations, ",")
			if len(ids) != 2 || ids[0] == "" || ids[1] == "" || ids[0] == ids[1] {
				return fail(fmt.Errorf("--organizations %q: give two different organization IDs, comma-separated, such as org_abc,org_def", printable(*organizations)))
			}
			if os.Getenv("AUTH0_CLIENT_ID") == "" {
				return fail(errors.New("--organizations needs AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET: smoke asks Auth0 for a token of that client for each organization"))
			}
			for _, id := range ids {
				token, err := smokeTokenFrom(client, "", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", *tokenURL, api.Audience[0], id, key)
				if err != nil {
					return fail(fmt.Errorf("organization %s: %w", printable(id), err))
				}
				// The checks build each organization's paths from its token's
				// org_id: a token of another organization, or of none, would
				// make them prove nothing.
				if token.granted.Organization != id {
					return fail(fmt.Errorf("organization %s: the token's org_id is %q: give organization IDs (org_…), not names, and check that the grant of AUTH0_CLIENT_ID is associated with the organization", printable(id), printable(token.granted.Organization)))
				}
				orgTokens = append(orgTokens, token)
			}
		}
	}
	fmt.Fprintf(stdout, "stage %s at %s\nfull token %s\n", *stage, *apiURL, full)
	if limited != nil {
		fmt.Fprintf(stdout, "limited token %s\n", limited)
	} else {
		fmt.Fprintln(stdout, "no limited token: the 403 checks are skipped (set AUTH0_LIMITED_CLIENT_ID/SECRET or --limited-token)")
	}
	for _, token := range orgTokens {
		fmt.Fprintf(stdout, "organization token %s\n", token)
	}
	if len(orgTokens) == 0 && slices.ContainsFunc(api.Routes, func(r apitemplate.Route) bool { return r.Organization != "" }) {
		fmt.Fprintln(stdout, "no organization tokens: the checks that each organization reaches only its own routes are skipped (set --organizations org_A,org_B)")
	}

	metadata, err := expectedMetadata(api, full, outs)
	if err != nil {
		return fail(err)
	}
	if metadata != nil && strings.TrimSuffix(metadata.Resource, "/") != strings.TrimSuffix(*apiURL, "/") {
		fmt.Fprintf(stdout, "note: the API's URL %s is not its resource %s, so a client that finds the API by its URL refuses its metadata (RFC 9728 §3.3; docs/resource-metadata.md)\n", *apiURL, metadata.Resource)
	}

	table := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "\nROUTE\tCASE\tEXPECTED\tGOT\tRESULT")
	passed, failed := 0, 0
	for _, check := range planSmoke(api, full, limited, orgTokens, metadata) {
		got, problem, err := check.run(client, strings.TrimSuffix(*apiURL, "/"))
		if err != nil {
			table.Flush()
			return fail(fmt.Errorf("cannot reach the API at %s: %v", *apiURL, err))
		}
		result := "ok"
		if problem != "" {
			result = "FAIL: " + problem
			failed++
		} else {
			passed++
		}
		fmt.Fprintf(table, "%s\t%s\t%d\t%d\t%s\n", check.route.Method+" "+check.path, check.name, check.want, got, result)
	}
	table.Flush()
	fmt.Fprintf(stdout, "\nsmoke %s: %d checks, %d passed, %d failed\n", *stage, passed+failed, passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// expectedMetadata is the Protected Resource Metadata the stage must serve:
// the template's, naming as its authorization server the issuer of the
// tokens the API accepts, and the deployed page's OpenAPI document when the
// stage has a page. It is nil when the template serves none.
func expectedMetadata(api *apitemplate.API, full *smokeToken, outputs map[string]string) (*wire.ProtectedResourceMetadata, error) {
	metadata, err := api.ResourceMetadata()
	if metadata == nil || err != nil {
		return nil, err
	}
	metadata.AuthorizationServers = []string{full.iss}
	if metadata.ResourceDocumentation == "" && outputs["WebUrl"] != "" {
		// On CloudFront's own domain, known at deploy.
		metadata.ResourceDocumentation = outputs["WebUrl"] + "openapi.json"
	}
	return metadata, nil
}

// planSmoke derives every check from the synthesized template's routes. On a
// route bound to the caller's organization, each organization's token must
// reach its own organization's path and be refused on the other's. The
// metadata's route must answer metadata.
func planSmoke(api *apitemplate.API, full, limited *smokeToken, organizations []*smokeToken, metadata *wire.ProtectedResourceMetadata) []smokeCheck {
	var checks []smokeCheck
	// with sends token as the stage takes it: under DPoP with a proof of its
	// key, on a stage that requires DPoP, or as a bearer token.
	with := func(check smokeCheck, token *smokeToken) smokeCheck {
		if token.key != nil {
			check.header, check.proofKey = "DPoP "+token.raw, token.key
		} else {
			check.header = "Bearer " + token.raw
		}
		return check
	}
	dpopChecked := false
	for _, route := range api.Routes {
		sample := route.SamplePath()
		if route.Public() {
			check := smokeCheck{route: route, path: sample, name: "no token", want: 200}
			if route.Path == wire.ProtectedResourceMetadataPath {
				check.name, check.metadata = "no token, the template's metadata", metadata
			}
			checks = append(checks, check)
			continue
		}
		// A Lambda authorizer that refuses a token answers isAuthorized false,
		// which API Gateway turns into 403; the JWT authorizer answers 401.
		refused := 401
		if route.AuthorizationType == apitemplate.AuthorizationCustom {
			refused = 403
		}
		checks = append(checks,
			smokeCheck{route: route, path: sample, name: "no token", want: 401},
			with(smokeCheck{route: route, path: sample, name: "malformed token", want: refused}, &smokeToken{raw: "not.a.jwt", key: full.key}))
		if full.key != nil && !dpopChecked && route.Organization == "" && route.Allows(&full.granted, sample) {
			// What DPoP refuses, on the first route the full token passes:
			// a proof used twice, the bound token as a bearer token, and a
			// request without a proof, which API Gateway answers itself.
			dpopChecked = true
			own := with(smokeCheck{route: route, path: sample, want: 403}, full)
			replayed, bearer, proofless := own, own, own
			replayed.name, replayed.replay = "DPoP, the same proof again", true
			bearer.name, bearer.header = "DPoP, the bound token as Bearer", "Bearer "+full.raw
			proofless.name, proofless.proofKey, proofless.want = "DPoP, no proof", nil, 401
			checks = append(checks, replayed, bearer, proofless)
		}
		if route.Organization != "" {
			checks = append(checks, with(smokeCheck{route: route, path: sample, name: "full token, no organization", want: 403}, full))
			for i, token := range organizations {
				own, other := token.granted.Organization, organizations[(i+1)%len(organizations)].granted.Organization
				check := with(smokeCheck{route: route, path: route.PathFor(own), name: "organization " + own + ", its own", want: 403}, token)
				if route.Allows(&token.granted, check.path) {
					check.token, check.want = token, 200
				}
				checks = append(checks, check,
					with(smokeCheck{route: route, path: route.PathFor(other), name: "organization " + own + ", on " + other + "'s", want: 403}, token))
			}
			continue
		}
		name := "full token"
		if len(route.Requires()) > 0 {
			name = "full token, needs one of " + strings.Join(route.Requires(), " ")
		}
		checks = append(checks, with(smokeCheck{route: route, path: sample, name: name, token: full, want: 200}, full))
		if limited != nil && len(route.Requires()) > 0 {
			check := with(smokeCheck{route: route, path: sample, name: "limited token", want: 403}, limited)
			if route.Allows(&limited.granted, sample) {
				check.token, check.want = limited, 200
			}
			checks = append(checks, check)
		}
	}
	return checks
}

// run sends the check's request. It returns the status, what is wrong with the
// answer (empty when right), or an error when the API cannot be reached.
func (c smokeCheck) run(client *http.Client, base string) (int, string, error) {
	method := c.route.Method
	if method == "ANY" {
		method = "GET"
	}
	var proof string
	if c.proofKey != nil {
		_, token, _ := strings.Cut(c.header, " ")
		proof, _ = dpop.NewProof(c.proofKey, method, base+c.path, token, time.Now())
	}
	send := func() (*http.Response, []byte, error) {
		req, _ := http.NewRequest(method, base+c.path, nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, body, nil
	}
	if c.replay {
		first, _, err := send()
		if err != nil {
			return 0, "", err
		}
		if first.StatusCode != http.StatusOK {
			return first.StatusCode, fmt.Sprintf("the proof's first use answered %d, want 200: nothing to replay", first.StatusCode), nil
		}
	}
	resp, body, err := send()
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != c.want {
		return resp.StatusCode, fmt.Sprintf("answered %d, the template says %d", resp.StatusCode, c.want), nil
	}
	if c.want == 200 && c.token != nil {
		return resp.StatusCode, c.checkEcho(body), nil
	}
	if c.want == 200 && c.metadata != nil {
		return resp.StatusCode, c.checkMetadata(body), nil
	}
	return resp.StatusCode, "", nil
}

// checkMetadata compares the served Protected Resource Metadata with the
// expected, field by field.
func (c smokeCheck) checkMetadata(body []byte) string {
	var got wire.ProtectedResourceMetadata
	if err := json.Unmarshal(body, &got); err != nil {
		return "the metadata is not a JSON object: " + printable(err.Error())
	}
	want := c.metadata
	switch {
	case got.Resource != want.Resource:
		return fmt.Sprintf("resource %q, the template's is %q", printable(got.Resource), want.Resource)
	case !slices.Equal(got.AuthorizationServers, want.AuthorizationServers):
		return fmt.Sprintf("authorization_servers %q, want the tokens' issuer %q", got.AuthorizationServers, want.AuthorizationServers)
	case !slices.Equal(got.ScopesSupported, want.ScopesSupported):
		return fmt.Sprintf("scopes_supported %q, the routes use %q", got.ScopesSupported, want.ScopesSupported)
	case !slices.Equal(got.BearerMethodsSupported, want.BearerMethodsSupported):
		return fmt.Sprintf("bearer_methods_supported %q, want %q", got.BearerMethodsSupported, want.BearerMethodsSupported)
	case got.ResourceDocumentation != want.ResourceDocumentation:
		return fmt.Sprintf("resource_documentation %q, want %q", printable(got.ResourceDocumentation), want.ResourceDocumentation)
	case got.DPoPBoundAccessTokensRequired != want.DPoPBoundAccessTokensRequired || !slices.Equal(got.DPoPSigningAlgValuesSupported, want.DPoPSigningAlgValuesSupported):
		return fmt.Sprintf("dpop_bound_access_tokens_required %t with algorithms %q, the template's are %t with %q", got.DPoPBoundAccessTokensRequired, got.DPoPSigningAlgValuesSupported, want.DPoPBoundAccessTokensRequired, want.DPoPSigningAlgValuesSupported)
	}
	return ""
}

// checkEcho compares the claims echo with the token that was sent.
func (c smokeCheck) checkEcho(body []byte) string {
	var echo struct {
		Sub          *string
		Scopes       []string
		Permissions  []string
		Organization string `json:"org_id"`
	}
	if json.Unmarshal(body, &echo) != nil || echo.Sub == nil {
		return "" // not the claims echo: the status is all there is to check
	}
	if *echo.Sub != c.token.sub {
		return fmt.Sprintf("echoed sub %q, the token's is %q", *echo.Sub, c.token.sub)
	}
	granted := c.token.granted
	switch {
	case c.route.AuthorizationType == apitemplate.AuthorizationCustom:
		if !slices.Equal(sorted(echo.Permissions), sorted(granted.Permissions)) {
			return fmt.Sprintf("echoed permissions %q, the token's are %q", echo.Permissions, granted.Permissions)
		}
		if echo.Organization != granted.Organization {
			return fmt.Sprintf("echoed org_id %q, the token's is %q", printable(echo.Organization), granted.Organization)
		}
	case len(c.route.Scopes) == 0 && echo.Scopes != nil:
		return fmt.Sprintf("echoed scopes %q on a route without scopes, want null", echo.Scopes)
	case len(c.route.Scopes) > 0 && !slices.Equal(sorted(echo.Scopes), sorted(granted.Scopes)):
		return fmt.Sprintf("echoed scopes %q, the token's are %q", echo.Scopes, granted.Scopes)
	}
	return ""
}

func sorted(list []string) []string {
	list = slices.Clone(list)
	slices.Sort(list)
	return list
}

// stackOutputs reads the outputs of the stage's stack from the file that
// `cdk deploy --outputs-file` wrote.
func stackOutputs(path, stage, stack string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%v: deploy with `npx cdk deploy '%s/*' --outputs-file %s`", err, apitemplate.StageID(stage), path)
	}
	var outputs map[string]map[string]string
	if err := json.Unmarshal(data, &outputs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return outputs[stack], nil
}

// deployedURL is the stage's ApiUrl in the outputs that `cdk deploy
// --outputs-file` wrote to path.
func deployedURL(outputs map[string]string, path, stage, stack string) (string, error) {
	if outputs["ApiUrl"] == "" {
		return "", fmt.Errorf("%s has no ApiUrl for stack %s (stage %s): was the stage deployed with `npx cdk deploy '%s/*' --outputs-file %s`?", path, stack, stage, apitemplate.StageID(stage), path)
	}
	return outputs["ApiUrl"], nil
}

// smokeTokenFrom takes the given token, or gets one from the client-credentials
// grant when the environment names a client, for organization unless it is "";
// it returns nil when neither is set.
func smokeTokenFrom(client *http.Client, given, idVar, secretVar, tokenURL, audience, organization string, key *ecdsa.PrivateKey) (*smokeToken, error) {
	raw := given
	if raw == "" {
		id, secret := os.Getenv(idVar), os.Getenv(secretVar)
		if id == "" && secret == "" {
			return nil, nil
		}
		if id == "" || secret == "" {
			return nil, fmt.Errorf("set both %s and %s", idVar, secretVar)
		}
		var err error
		if raw, err = clientCredentials(client, tokenURL, id, secret, audience, organization, key); err != nil {
			return nil, fmt.Errorf("%s: %w", idVar, err)
		}
	}
	parts := strings.Split(raw, ".")
	var claims struct {
		Iss          string   `json:"iss"`
		Sub          string   `json:"sub"`
		Scope        string   `json:"scope"`
		Permissions  []string `json:"permissions"`
		Organization string   `json:"org_id"`
	}
	if len(parts) != 3 {
		return nil, errors.New("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return nil, errors.New("the token's claims cannot be read")
	}
	return &smokeToken{raw: raw, sub: claims.Sub, iss: claims.Iss, key: key, granted: jwtauth.Token{Scopes: strings.Fields(claims.Scope), Permissions: claims.Permissions, Organization: claims.Organization}}, nil
}

// printable is remote text fit for a terminal: control characters, which
// could move the cursor or retitle the window, become spaces, and it is cut
// at 300 characters.
func printable(text string) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text)
	if runes := []rune(text); len(runes) > 300 {
		text = string(runes[:300]) + "…"
	}
	return text
}

// clientCredentials asks Auth0 for an access token for audience, issued for
// organization unless it is "", and bound to key with a DPoP proof unless it
// is nil.
func clientCredentials(client *http.Client, tokenURL, id, secret, audience, organization string, key *ecdsa.PrivateKey) (string, error) {
	fields := map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": audience}
	if organization != "" {
		fields["organization"] = organization
	}
	body, _ := json.Marshal(fields)
	request, _ := http.NewRequest(http.MethodPost, tokenURL, bytes.NewReader(body))
	request.Header.Set("Content-Type", "application/json")
	if key != nil {
		proof, err := dpop.NewProof(key, http.MethodPost, tokenURL, "", time.Now())
		if err != nil {
			return "", err
		}
		request.Header.Set("DPoP", proof)
	}
	resp, err := client.Do(request)
	if err != nil {
		return "", fmt.Errorf("cannot reach the token endpoint %s: %v", tokenURL, err)
	}
	defer resp.Body.Close()
	var answer struct {
		AccessToken      string `json:"access_token"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	answerBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	json.Unmarshal(answerBody, &answer)
	if resp.StatusCode != http.StatusOK || answer.AccessToken == "" {
		return "", fmt.Errorf("the token endpoint %s refused the client credentials (%d): %s: %s", tokenURL, resp.StatusCode, printable(answer.Error), printable(answer.ErrorDescription))
	}
	return answer.AccessToken, nil
}
