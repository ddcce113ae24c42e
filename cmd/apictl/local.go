package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/livereload"
	"github.com/auth0-http-api/cdk/internal/localapi"
)

func runLocal(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("local", stderr)
	stage := flags.String("stage", "dev", "the stage to serve, as named in cdk.json")
	port := flags.Int("port", 3000, "the port to serve on 127.0.0.1 (0: any free port)")
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

	var dev *devissuer.Issuer
	if *useDevIssuer {
		if dev, err = p.devIssuer(*issuerPort, api.Audience); err != nil {
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	local, err := localapi.Start(ctx, localapi.Config{
		Root: p.root, API: api, Issuer: *issuer, Addr: "127.0.0.1:" + strconv.Itoa(*port),
		MaxProcesses: *maxProcesses, ClockSkew: *clockSkew,
		BuildDir:       filepath.Join(p.stateDir, "build", *stage),
		FunctionOutput: stderr, AccessLog: stderr,
	})
	if err != nil {
		fmt.Fprintln(stderr, "apictl local:", err)
		return 1
	}
	fmt.Fprintln(stdout, "listening on "+local.URL)
	if dev != nil {
		if err := printCurlLines(stdout, local.URL, api, dev); err != nil {
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
	fmt.Fprintln(log, "watching the module: a save reloads what it changed")
	watcher := &livereload.Watcher{Root: p.root, Stage: stage, Server: local, API: api, Log: log}
	if err := watcher.Run(ctx); err != nil {
		fmt.Fprintln(log, "watch:", err)
	}
}

// printCurlLines shows a public, a private, a scoped and a permission call,
// taken from the template's routes.
func printCurlLines(w io.Writer, base string, api *apitemplate.API, dev *devissuer.Issuer) error {
	var public, private, scoped, permission *apitemplate.Route
	for i := range api.Routes {
		r := &api.Routes[i]
		switch {
		case r.Public() && public == nil:
			public = r
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
	}{{"public", public}, {"private, any valid token", private}, {"scoped", scoped}, {"permission", permission}} {
		if call.route == nil {
			continue
		}
		curl := "curl -i"
		if call.route.Method != "GET" && call.route.Method != "ANY" {
			curl += " -X " + call.route.Method
		}
		if !call.route.Public() {
			request := devissuer.TokenRequest{Subject: "dev-user", Audience: api.Audience[0], TTL: time.Hour}
			granted := call.route.Requires()[:min(1, len(call.route.Requires()))]
			if call.route.AuthorizationType == apitemplate.AuthorizationCustom {
				request.Permissions = granted
			} else {
				request.Scopes = granted
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
		fmt.Fprintf(w, "# %s: %s\n%s %s%s\n", call.label, call.route.Key, curl, base, call.route.SamplePath())
	}
	return nil
}
