package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/localapi"
)

// DefaultIssuerPort is where the dev issuer listens, so that tokens minted by
// `apictl token` match the issuer a running `apictl local --dev-issuer` uses.
const DefaultIssuerPort = 8765

// project holds what every command that reads a stage needs.
type project struct {
	root, cdkOut, stateDir string
}

// newFlags starts a command's flags with the ones every stage-reading command takes.
func newFlags(command string, stderr io.Writer) (*flag.FlagSet, *project) {
	flags := flag.NewFlagSet(command, flag.ContinueOnError)
	flags.SetOutput(stderr)
	p := &project{}
	flags.StringVar(&p.cdkOut, "cdk-out", "cdk.out", "the cloud assembly to read; synthesized first when missing or older than the sources")
	flags.StringVar(&p.stateDir, "state-dir", ".local", "where the dev issuer's key and the host builds live (git-ignored)")
	return flags, p
}

// resolve finds the module root and makes the directories absolute under it.
func (p *project) resolve() error {
	root, err := gobuild.ModuleRoot()
	if err != nil {
		return err
	}
	p.root = root
	for _, dir := range []*string{&p.cdkOut, &p.stateDir} {
		if !filepath.IsAbs(*dir) {
			*dir = filepath.Join(root, *dir)
		}
	}
	return nil
}

// load reads a stage's API from the template, synthesizing first when the
// template is missing or stale.
func (p *project) load(stage string, log io.Writer) (*apitemplate.API, error) {
	if err := p.resolve(); err != nil {
		return nil, err
	}
	if localapi.NeedsSynth(p.root, p.cdkOut) {
		fmt.Fprintf(log, "synthesizing into %s (missing or older than the sources)...\n", p.cdkOut)
		if err := localapi.Synthesize(p.root, p.cdkOut, log); err != nil {
			return nil, err
		}
	}
	return apitemplate.Load(p.cdkOut, stage)
}

func (p *project) devIssuer(port int) (*localapi.DevIssuer, error) {
	key, err := localapi.LoadOrCreateKey(filepath.Join(p.stateDir, "dev-issuer", "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("dev issuer key: %w", err)
	}
	return localapi.NewDevIssuer(fmt.Sprintf("http://127.0.0.1:%d/", port), key), nil
}

func runLocal(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("local", stderr)
	stage := flags.String("stage", "dev", "the stage to serve, as named in cdk.json")
	port := flags.Int("port", 3000, "the port to serve on 127.0.0.1 (0: any free port)")
	issuer := flags.String("issuer", "", "replace the template's issuer: https, or http on a loopback address")
	useDevIssuer := flags.Bool("dev-issuer", false, "start the built-in dev issuer and accept its tokens")
	issuerPort := flags.Int("issuer-port", DefaultIssuerPort, "the dev issuer's port")
	maxProcesses := flags.Int("max-processes", 10, "the most processes each function may run at once")
	clockSkew := flags.Duration("clock-skew", 0, "tolerate this much clock difference on exp, nbf and iat (AWS documents none)")
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

	var dev *localapi.DevIssuer
	if *useDevIssuer {
		if dev, err = p.devIssuer(*issuerPort); err != nil {
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
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping: killing the function processes")
	local.Close()
	return 0
}

// printCurlLines shows a public, a private and a scoped call, taken from the template's routes.
func printCurlLines(w io.Writer, base string, api *apitemplate.API, dev *localapi.DevIssuer) error {
	var public, private, scoped *apitemplate.Route
	for i := range api.Routes {
		r := &api.Routes[i]
		switch {
		case r.AuthorizationType == "NONE" && public == nil:
			public = r
		case r.AuthorizationType == "JWT" && len(r.Scopes) == 0 && private == nil:
			private = r
		case r.AuthorizationType == "JWT" && len(r.Scopes) > 0 && scoped == nil:
			scoped = r
		}
	}
	fmt.Fprintln(w, "\nTry it (dev tokens, valid for 1 hour):")
	for _, call := range []struct {
		label string
		route *apitemplate.Route
	}{{"public", public}, {"private, any valid token", private}, {"scoped", scoped}} {
		if call.route == nil {
			continue
		}
		curl := "curl -i"
		if call.route.Method != "GET" && call.route.Method != "ANY" {
			curl += " -X " + call.route.Method
		}
		if call.route.AuthorizationType == "JWT" {
			tok, err := dev.AccessToken(localapi.TokenRequest{Subject: "dev-user", Audience: api.Audience[0], Scopes: call.route.Scopes[:min(1, len(call.route.Scopes))], TTL: time.Hour})
			if err != nil {
				return err
			}
			curl += ` -H "Authorization: Bearer ` + tok + `"`
			if len(call.route.Scopes) > 0 {
				call.label += " (" + call.route.Scopes[0] + ")"
			}
		}
		fmt.Fprintf(w, "# %s: %s\n%s %s%s\n", call.label, call.route.Key, curl, base, strings.ReplaceAll(call.route.Path, "{proxy+}", "any/path"))
	}
	return nil
}

func runIssuer(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("issuer", stderr)
	port := flags.Int("port", DefaultIssuerPort, "the port to serve on 127.0.0.1")
	if flags.Parse(args) != nil {
		return 2
	}
	if err := p.resolve(); err != nil {
		fmt.Fprintln(stderr, "apictl issuer:", err)
		return 1
	}
	dev, err := p.devIssuer(*port)
	if err != nil {
		fmt.Fprintln(stderr, "apictl issuer:", err)
		return 1
	}
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(stderr, "apictl issuer:", err)
		return 1
	}
	fmt.Fprintf(stdout, "dev issuer %s serving %s.well-known/openid-configuration (key id %s)\n", dev.URL, dev.URL, dev.KeyID())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	server := &http.Server{Handler: dev, ReadHeaderTimeout: 10 * time.Second}
	go server.Serve(listener)
	<-ctx.Done()
	server.Close()
	return 0
}

func runToken(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("token", stderr)
	stage := flags.String("stage", "dev", "the stage whose audience the token is for")
	scope := flags.String("scope", "", `space-separated scopes, such as "read:user write:user"`)
	sub := flags.String("sub", "dev-user", "the token's subject")
	aud := flags.String("aud", "", "the audience (default: the stage's first audience, from the template)")
	ttl := flags.Duration("ttl", time.Hour, "how long the token is valid")
	issuerPort := flags.Int("issuer-port", DefaultIssuerPort, "the dev issuer's port, which is part of the token's issuer")
	if flags.Parse(args) != nil {
		return 2
	}
	if *ttl <= 0 {
		fmt.Fprintln(stderr, "apictl token: --ttl must be positive")
		return 2
	}
	tok, err := mintToken(p, *stage, *aud, localapi.TokenRequest{Subject: *sub, Scopes: strings.Fields(*scope), TTL: *ttl}, *issuerPort, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "apictl token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// mintToken signs a dev token; without an audience it takes the stage's first one from the template.
func mintToken(p *project, stage, aud string, req localapi.TokenRequest, issuerPort int, log io.Writer) (string, error) {
	if aud == "" {
		api, err := p.load(stage, log)
		if err != nil {
			return "", err
		}
		aud = api.Audience[0]
	} else if err := p.resolve(); err != nil {
		return "", err
	}
	dev, err := p.devIssuer(issuerPort)
	if err != nil {
		return "", err
	}
	req.Audience = aud
	return dev.AccessToken(req)
}
