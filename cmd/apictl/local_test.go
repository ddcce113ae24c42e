package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/dpop"
	"github.com/auth0-http-api/cdk/internal/testsupport"
	"github.com/auth0-http-api/cdk/internal/wire"
)

// buildApictl builds this command for the tests that run it as a user would.
// go run links it once into the Go build cache and -exec copies it out;
// go build -o would link it again for every test.
func buildApictl(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "apictl")
	if out, err := exec.Command("go", "run", "-exec", "cp", ".", binary).CombinedOutput(); err != nil {
		t.Fatalf("go run -exec cp: %v\n%s", err, out)
	}
	return binary
}

// goldenCloudAssembly lays out the golden templates of the dev and ci stages
// as a cdk.out, newer than the sources.
func goldenCloudAssembly(t *testing.T) string {
	t.Helper()
	cdkOut := filepath.Join(t.TempDir(), "cdk.out")
	for _, stage := range []string{"dev", "ci", "prod"} {
		template, err := os.ReadFile(filepath.Join("..", "..", "testdata", stage+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		id := apitemplate.StageID(stage)
		dir := filepath.Join(cdkOut, "assembly-"+id)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, id+"Api.template.json"), template, 0o644)
		os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"artifacts":{"`+id+`Api":{"type":"aws:cloudformation:stack","properties":{"templateFile":"`+id+`Api.template.json","stackName":"`+id+`-Api"}}}}`), 0o644)
	}
	os.WriteFile(filepath.Join(cdkOut, "manifest.json"), []byte("{}"), 0o644)
	return cdkOut
}

// localRun is the built `apictl local --dev-issuer`, serving a stage of the
// golden cloud assembly on free ports.
type localRun struct {
	apictl, cdkOut, state string
	port, issuerPort      int
	cmd                   *exec.Cmd
	stdout                *bufio.Scanner // after the "listening on" line
}

// startLocal starts it for stage, and waits until it listens.
func startLocal(t *testing.T, stage string) *localRun {
	t.Helper()
	r := &localRun{apictl: buildApictl(t), cdkOut: goldenCloudAssembly(t), state: t.TempDir(), port: testsupport.FreePort(t), issuerPort: testsupport.FreePort(t)}
	r.cmd = exec.Command(r.apictl, "local", "--stage", stage, "--cdk-out", r.cdkOut, "--state-dir", r.state,
		"--dev-issuer", "--issuer-port", fmt.Sprint(r.issuerPort), "--port", fmt.Sprint(r.port))
	stdout, _ := r.cmd.StdoutPipe()
	r.cmd.Stderr = io.Discard
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil { // the test has not stopped it itself
			r.cmd.Process.Signal(os.Interrupt)
			r.cmd.Wait()
		}
	})
	r.stdout = bufio.NewScanner(stdout)
	if !r.stdout.Scan() || r.stdout.Text() != fmt.Sprintf("listening on http://127.0.0.1:%d", r.port) {
		t.Fatalf("first line %q", r.stdout.Text())
	}
	return r
}

func TestLocalWithDevIssuerServesStopsAndLeavesNoProcess(t *testing.T) {
	t.Parallel() // apictl runs as a process of its own
	r := startLocal(t, "dev")
	apictl, state, port, issuerPort, cmd, lines := r.apictl, r.state, r.port, r.issuerPort, r.cmd, r.stdout
	printed := make(chan string)
	go func() {
		defer close(printed)
		for lines.Scan() {
			printed <- lines.Text()
		}
	}()
	publicCurl := fmt.Sprintf("curl -i http://127.0.0.1:%d/public", port)
	deadline := time.After(time.Minute) // only an apictl local that never prints it reaches this
	for seen := false; !seen; {
		select {
		case line, open := <-printed:
			if !open {
				t.Fatalf("apictl local stopped without a curl line for the public route")
			}
			seen = strings.Contains(line, publicCurl)
		case <-deadline:
			t.Fatalf("apictl local printed no curl line for the public route in a minute")
		}
	}
	go func() {
		for range printed {
		}
	}()

	out, err := exec.Command(apictl, "token", "--state-dir", state, "--issuer-port", fmt.Sprint(issuerPort),
		"--aud", "https://dev.api.example.com", "--scope", "read:user", "--sub", "cli-user").Output()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/user", port), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(out)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var echo struct{ Sub string }
	json.NewDecoder(resp.Body).Decode(&echo)
	resp.Body.Close()
	if resp.StatusCode != 200 || echo.Sub != "cli-user" {
		t.Errorf("GET /user with an `apictl token`: %d, sub %q", resp.StatusCode, echo.Sub)
	}

	children := childProcesses(t, cmd.Process.Pid)
	if len(children) == 0 {
		t.Fatal("no function processes found")
	}
	cmd.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("apictl local after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("apictl local did not stop within 10 s of Ctrl-C")
	}
	for _, pid := range children {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("function process %d outlived apictl", pid)
		}
	}
}

// A stage that is its own issuer is served with the dev issuer: its real
// well-known function publishes the dev issuer's key, read from the KMS
// stand-in that plays the stage's key, and the dev issuer's tokens pass.
func TestLocalServesAStageThatIsItsOwnIssuerWithTheDevIssuer(t *testing.T) {
	t.Parallel() // apictl runs as a process of its own
	r := startLocal(t, "ci")
	go func() {
		for r.stdout.Scan() {
		}
	}()
	port, state := r.port, r.state

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/.well-known/jwks.json", port))
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []struct{ Kid string } }
	json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	key, err := devissuer.LoadOrCreateKey(filepath.Join(state, "dev-issuer", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if want := devissuer.New("", key).KeyID(); resp.StatusCode != 200 || len(set.Keys) != 1 || set.Keys[0].Kid != want {
		t.Errorf("GET /.well-known/jwks.json: %d, keys %+v; want the dev issuer's kid %s", resp.StatusCode, set.Keys, want)
	}

	out, err := exec.Command(r.apictl, "token", "--stage", "ci", "--cdk-out", r.cdkOut, "--state-dir", state,
		"--issuer-port", fmt.Sprint(r.issuerPort), "--scope", "read:user").Output()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/user", port), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(out)))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /user with an `apictl token --stage ci`: %d", resp.StatusCode)
	}
}

func TestLocalAsksForTheDevIssuerForAStageThatIsItsOwnIssuer(t *testing.T) {
	var out, errOut strings.Builder
	code := run([]string{"local", "--stage", "ci", "--cdk-out", goldenCloudAssembly(t), "--state-dir", t.TempDir()}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), `stage "ci" is its own token issuer, with its key in KMS: serve it with --dev-issuer`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// childProcesses lists a process's children from /proc.
func childProcesses(t *testing.T, pid int) []int {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var children []int
	for _, task := range tasks {
		data, _ := os.ReadFile(task)
		for _, field := range strings.Fields(string(data)) {
			var child int
			fmt.Sscan(field, &child)
			children = append(children, child)
		}
	}
	return children
}

func TestLocalRefusesAPlainHTTPIssuerOffLoopback(t *testing.T) {
	var out, errOut strings.Builder
	code := run([]string{"local", "--cdk-out", goldenCloudAssembly(t), "--state-dir", t.TempDir(), "--issuer", "http://issuer.example.com/"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `issuer "http://issuer.example.com/" must be https, or http on a loopback address`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestLocalNamesAMissingStage(t *testing.T) {
	var out, errOut strings.Builder
	code := run([]string{"local", "--stage", "qa", "--cdk-out", goldenCloudAssembly(t), "--state-dir", t.TempDir()}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `stage "qa": expected one template`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// The curl lines call a path that the route matches, also for {id} routes.
func TestCurlLinesUseAPathTheRouteMatches(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	api := &apitemplate.API{Audience: []string{"https://api.example.com"}, Routes: []apitemplate.Route{
		{Key: "GET " + wire.ProtectedResourceMetadataPath, Method: "GET", Path: wire.ProtectedResourceMetadataPath, AuthorizationType: apitemplate.AuthorizationNone},
		{Key: "GET /pets/{id}", Method: "GET", Path: "/pets/{id}", AuthorizationType: apitemplate.AuthorizationNone},
		{Key: "DELETE /pets/{id}", Method: "DELETE", Path: "/pets/{id}", AuthorizationType: apitemplate.AuthorizationJWT, Scopes: []string{"delete:pets"}},
		{Key: "GET /orgs/{orgId}/pets/{id}", Method: "GET", Path: "/orgs/{orgId}/pets/{id}", AuthorizationType: apitemplate.AuthorizationCustom, Organization: "{orgId}"},
	}}
	dev := devissuer.New("http://127.0.0.1:8765/", key)
	dev.Directory = &devissuer.Directory{Organizations: []devissuer.Organization{{ID: "org_acme000000000001", Name: "acme"}}}
	var out strings.Builder
	if err := printCurlLines(&out, "http://127.0.0.1:3000", "dev", api, dev); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# public: GET /pets/{id}\ncurl -i http://127.0.0.1:3000/pets/sample\n",
		"# how to get a token (RFC 9728): GET /.well-known/oauth-protected-resource\ncurl -i http://127.0.0.1:3000/.well-known/oauth-protected-resource\n", "curl -i -X DELETE -H \"Authorization: Bearer ",
		"# organization acme: GET /orgs/{orgId}/pets/{id}\n", " http://127.0.0.1:3000/orgs/org_acme000000000001/pets/sample\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "curl") && strings.Contains(line, "{") {
			t.Errorf("a curl line calls the route pattern itself: %s", line)
		}
	}
	// On a stage that requires DPoP, a private route's line makes a bound
	// token and a proof; a public route's is still a plain curl.
	api.LambdaAuthorizers = map[string]apitemplate.LambdaAuthorizer{"Permissions": {Function: "Authorizer"}}
	api.Functions = map[string]apitemplate.Function{"Authorizer": {Environment: map[string]string{apitemplate.DPoPVariable: apitemplate.DPoPRequired}}}
	out.Reset()
	if err := printCurlLines(&out, "http://127.0.0.1:3000", "dev", api, dev); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"curl -i http://127.0.0.1:3000/pets/sample\n",
		"go run ./cmd/apictl token --dpop .local/dpop-key.pem --stage dev --method DELETE --url http://127.0.0.1:3000/pets/sample\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Bearer") {
		t.Errorf("a bearer curl line on a stage that requires DPoP:\n%s", out.String())
	}
}

// apictl token --dpop binds the token to a key it keeps in a file (made the
// first time, readable by its owner only), and prints a curl line with a
// proof for the request, which the authorizer's checks accept.
func TestTokenWithDPoP(t *testing.T) {
	cdkOut, state := goldenCloudAssembly(t), t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "dpop.pem")
	token := func() (string, string) {
		var out, errOut strings.Builder
		if code := run([]string{"token", "--dpop", keyFile, "--url", "http://127.0.0.1:3000/user", "--scope", "read:user", "--cdk-out", cdkOut, "--state-dir", state}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "curl -i -X GET -H \"Authorization: DPoP "+lines[0]+"\" -H \"DPoP: ") || !strings.HasSuffix(lines[1], "\" http://127.0.0.1:3000/user") {
			t.Fatalf("output:\n%s", out.String())
		}
		proof := strings.TrimSuffix(strings.SplitN(lines[1], "DPoP: ", 2)[1], "\" http://127.0.0.1:3000/user")
		return lines[0], proof
	}
	tok, proof := token()
	key, err := loadDPoPKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(keyFile); info.Mode().Perm() != 0o600 {
		t.Errorf("the key file's mode is %v, want 0600", info.Mode().Perm())
	}
	checked, err := dpop.Check(proof, dpop.Request{Method: "GET", URL: "http://127.0.0.1:3000/user", AccessToken: tok}, time.Now())
	if err != nil {
		t.Fatalf("the printed proof: %v", err)
	}
	jkt, _ := dpop.Thumbprint(&key.PublicKey)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var claims struct{ Cnf struct{ Jkt string } }
	json.Unmarshal(payload, &claims)
	if claims.Cnf.Jkt != jkt || checked.Thumbprint != jkt {
		t.Errorf("cnf.jkt %q and the proof's key %q, want the file's key %q", claims.Cnf.Jkt, checked.Thumbprint, jkt)
	}
	if _, second := token(); second == proof {
		t.Error("the same proof twice: each must be new")
	}
	if reread, _ := loadDPoPKey(keyFile); !reread.Equal(key) {
		t.Error("the key file was made again")
	}
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	var out, errOut strings.Builder
	if code := run([]string{"token", "--dpop", keyFile, "--cdk-out", cdkOut, "--state-dir", state}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not a PEM file") {
		t.Errorf("a bad key file: exit %d, %s", code, errOut.String())
	}
	if code := run([]string{"token", "--dpop", keyFile, "--kms", "--stage", "ci"}, &out, &errOut); code != 2 {
		t.Errorf("--dpop with --kms: exit %d", code)
	}
}
