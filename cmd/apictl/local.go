package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/auth0-http-api/cdk/functions/keyset"
	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/dynamostandin"
	"github.com/auth0-http-api/cdk/internal/kmsstandin"
	"github.com/auth0-http-api/cdk/internal/livereload"
	"github.com/auth0-http-api/cdk/internal/localapi"
	"github.com/auth0-http-api/cdk/internal/replay"
	"github.com/auth0-http-api/cdk/internal/wire"
)

func runLocal(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("local", stderr)
	stage := flags.String("stage", "dev", "the stage to serve, as named in cdk.json")
	port := flags.Int("port", DefaultAPIPort, "the port to serve on 127.0.0.1 (0: any free port)")
	issuer := flags.String("issuer", "", "replace the template's issuer: https, or http on a loopback address")
	useDevIssuer := flags.Bool("dev-issuer", false, "start the built-in dev issuer and accept its tokens")
	issuerPort := flags.Int("issuer-port", DefaultIssuerPort, "the dev issuer's port")
	maxProcesses := flags.Int("max-processes", 10, "the most processes each function may run at once")
	clockSkew := flags.Duration("clock-skew", 0, "tolerate this much clock difference on exp, nbf and iat (AWS documents none)")
	watch := flags.Bool("watch", false, "reload when the code, the route table or cdk.json changes: rebuild what changed, keep the last good version on an error")
	if flags.Parse(args) != nil {
		return 2
	}
	if *issuer != "" && *useDevIssuer {
		fmt.Fprintln(stderr, "apictl local: give --issuer or --dev-issuer, not both")
		return 2
	}
	api, err := p.load(*stage, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "apictl local:", err)
		return 1
	}

	ownIssuer := isOwnIssuer(api)
	if ownIssuer && !*useDevIssuer {
		fmt.Fprintf(stderr, "apictl local: stage %q is its own token issuer, with its key in KMS: serve it with --dev-issuer, whose key a KMS stand-in on loopback then plays\n", *stage)
		return 2
	}
	var dev *devissuer.Issuer
	if *useDevIssuer {
		if dev, err = p.devIssuer(*issuerPort, api); err != nil {
			fmt.Fprintln(stderr, "apictl local:", err)
			return 1
		}
		listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *issuerPort))
		if err != nil {
			fmt.Fprintf(stderr, "apictl local: the dev issuer cannot listen: %v (is `apictl issuer` already running? then use --issuer %s)\n", err, dev.URL)
			return 1
		}
		go http.Serve(listener, dev)
		*issuer = dev.URL
	}
	functionEnvironment := map[string]string{}
	if ownIssuer {
		kms, err := standInKMS(p, dev)
		if err != nil {
			fmt.Fprintln(stderr, "apictl local:", err)
			return 1
		}
		maps.Copy(functionEnvironment, kms)
	}
	if api.RequiresDPoP() {
		dynamo, err := standInReplayTable()
		if err != nil {
			fmt.Fprintln(stderr, "apictl local:", err)
			return 1
		}
		maps.Copy(functionEnvironment, dynamo)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	local, err := localapi.Start(ctx, localapi.Config{
		Root: p.root, API: api, Issuer: *issuer, Addr: "127.0.0.1:" + strconv.Itoa(*port),
		MaxProcesses: *maxProcesses, ClockSkew: *clockSkew,
		BuildDir:       filepath.Join(p.stateDir, "build", *stage),
		FunctionOutput: stderr, AccessLog: stderr, FunctionEnvironment: functionEnvironment,
	})
	if err != nil {
		fmt.Fprintln(stderr, "apictl local:", err)
		return 1
	}
	fmt.Fprintln(stdout, "listening on "+local.URL)
	if dev != nil {
		if err := printCurlLines(stdout, local.URL, *stage, api, dev); err != nil {
			fmt.Fprintln(stderr, "apictl local:", err)
		}
	}
	if *watch {
		go watchAndReload(ctx, p, *stage, local, api, stdout)
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping: killing the function processes")
	local.Close()
	return 0
}

// watchAndReload reloads local as the module changes, until ctx ends.
func watchAndReload(ctx context.Context, p *project, stage string, local *localapi.Server, api *apitemplate.API, log io.Writer) {
	watcher := &livereload.Watcher{Root: p.root, Stage: stage, Server: local, API: api, Log: log}
	if err := watcher.Run(ctx); err != nil {
		fmt.Fprintln(log, "watch:", err)
	}
}

// printCurlLines shows the Protected Resource Metadata, a public, a private, a scoped, a permission and an
// organization's call, taken from the template's routes; the organization's
// is made by a token of dev-users.json's first organization, on its path.
func printCurlLines(w io.Writer, base, stage string, api *apitemplate.API, dev *devissuer.Issuer) error {
	var metadata, public, private, scoped, permission, organization *apitemplate.Route
	for i := range api.Routes {
		r := &api.Routes[i]
		switch {
		case r.Path == wire.ProtectedResourceMetadataPath:
			metadata = r
		case strings.HasPrefix(r.Path, "/.well-known/"):
		case r.Public() && public == nil:
			public = r
		case strings.HasPrefix(r.Organization, "{"):
			if organization == nil && dev.Directory != nil && len(dev.Directory.Organizations) > 0 {
				organization = r
			}
		case r.AuthorizationType == apitemplate.AuthorizationCustom:
			if permission == nil {
				permission = r
			}
		case !r.Public() && len(r.Scopes) == 0 && private == nil:
			private = r
		case !r.Public() && len(r.Scopes) > 0 && scoped == nil:
			scoped = r
		}
	}
	fmt.Fprintln(w, "\nTry it (dev tokens, valid for 1 hour):")
	for _, call := range []struct {
		label string
		route *apitemplate.Route
	}{{"how to get a token (RFC 9728)", metadata}, {"public", public}, {"private, any valid token", private}, {"scoped", scoped}, {"permission", permission}, {"organization", organization}} {
		if call.route == nil {
			continue
		}
		path := call.route.SamplePath()
		if !call.route.Public() && api.RequiresDPoP() {
			// A bearer token is refused here: the line that makes a bound
			// token and a fresh proof, each good once, for a minute.
			fmt.Fprintf(w, "# %s: %s (DPoP: run it for a token and a curl line with a fresh proof)\ngo run ./cmd/apictl token --dpop .local/dpop-key.pem --stage %s --method %s --url %s%s\n",
				call.label, call.route.Key, stage, call.route.Method, base, path)
			continue
		}
		curl := "curl -i"
		if call.route.Method != "GET" && call.route.Method != "ANY" {
			curl += " -X " + call.route.Method
		}
		if !call.route.Public() {
			request := devissuer.TokenRequest{Subject: "dev-user", Audience: api.Audience[0], TTL: time.Hour}
			granted := call.route.Requires()[:min(1, len(call.route.Requires()))]
			if len(call.route.Permissions) > 0 {
				request.Permissions = granted
			} else {
				request.Scopes = granted
			}
			if call.route == organization {
				request.Organization = &dev.Directory.Organizations[0]
				path = call.route.PathFor(request.Organization.ID)
				call.label += " " + request.Organization.Name
			}
			tok, err := dev.AccessToken(request)
			if err != nil {
				return err
			}
			curl += ` -H "Authorization: Bearer ` + tok + `"`
			if len(granted) > 0 {
				call.label += " (" + granted[0] + ")"
			}
		}
		fmt.Fprintf(w, "# %s: %s\n%s %s%s\n", call.label, call.route.Key, curl, base, path)
	}
	return nil
}

// isOwnIssuer tells whether the stage is its own token issuer: its
// well-known function is given the stage's key ARNs.
func isOwnIssuer(api *apitemplate.API) bool {
	for _, fn := range api.Functions {
		if _, ok := fn.Environment[keyset.KeyARNsVariable]; ok {
			return true
		}
	}
	return false
}

// localReplayTable is the name of the DPoP replay table locally: the
// template names the stage's by a reference, resolved at deploy.
const localReplayTable = "dpop-replay"

// standInReplayTable plays the DPoP replay table of a stage that requires
// DPoP: a DynamoDB stand-in on loopback holds it. It returns the functions'
// environment that points the authorizer at it.
func standInReplayTable() (map[string]string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the DynamoDB stand-in cannot listen: %w", err)
	}
	stand := dynamostandin.New()
	stand.URL = "http://" + listener.Addr().String()
	stand.AddTable(localReplayTable, replay.KeyAttribute)
	go http.Serve(listener, stand)
	env := stand.Env()
	env[apitemplate.ReplayTableVariable] = localReplayTable
	return env, nil
}

// standInKMS plays the KMS key of a stage that is its own issuer. Locally the
// dev issuer signs, so a KMS stand-in on loopback holds the dev issuer's key
// under its kid, and the real well-known function publishes the key set that
// the local API verifies with. It returns the functions' environment that
// points the AWS SDK at the stand-in.
func standInKMS(p *project, dev *devissuer.Issuer) (map[string]string, error) {
	key, err := p.devIssuerKey()
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the KMS stand-in cannot listen: %w", err)
	}
	stand := kmsstandin.New()
	stand.URL = "http://" + listener.Addr().String()
	go http.Serve(listener, stand)
	published, _ := json.Marshal([]string{stand.AddKey(dev.KeyID(), key)})
	env := stand.Env()
	env[keyset.KeyARNsVariable] = string(published)
	return env, nil
}
