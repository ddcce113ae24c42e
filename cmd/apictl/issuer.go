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
	"strings"
	"syscall"
	"time"

	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/kmsjwt"
)

func runIssuer(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("issuer", stderr)
	port := flags.Int("port", DefaultIssuerPort, "the port to serve on 127.0.0.1")
	stage := flags.String("stage", "dev", "the stage whose audiences the issuer grants tokens for")
	if flags.Parse(args) != nil {
		return 2
	}
	api, err := p.load(*stage, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "apictl issuer:", err)
		return 1
	}
	dev, err := p.devIssuer(*port, api.Audience)
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
	permissions := flags.String("permissions", "", `space-separated Auth0 RBAC permissions, such as "read:admin"`)
	sub := flags.String("sub", "dev-user", "the token's subject")
	aud := flags.String("aud", "", "the audience (default: the stage's first audience, from the template)")
	ttl := flags.Duration("ttl", time.Hour, "how long the token is valid")
	issuerPort := flags.Int("issuer-port", DefaultIssuerPort, "the dev issuer's port, which is part of the token's issuer")
	withKMS := flags.Bool("kms", false, "mint for a deployed stage that is its own issuer, signed by its KMS key with your AWS credentials")
	outputs := flags.String("outputs", "cdk-outputs.json", "with --kms: the outputs file that `cdk deploy --outputs-file` wrote")
	if flags.Parse(args) != nil {
		return 2
	}
	if *withKMS {
		var conflicting []string
		flags.Visit(func(f *flag.Flag) {
			if f.Name == "aud" || f.Name == "ttl" || f.Name == "issuer-port" {
				conflicting = append(conflicting, "--"+f.Name)
			}
		})
		if len(conflicting) > 0 {
			fmt.Fprintf(stderr, "apictl token: --kms takes the audience and the lifetime from the stage's outputs; drop %s\n", strings.Join(conflicting, ", "))
			return 2
		}
		tok, err := mintWithKMS(p, *stage, *outputs, *sub, strings.Fields(*scope), strings.Fields(*permissions), stderr)
		if err != nil {
			fmt.Fprintln(stderr, "apictl token:", err)
			return 1
		}
		fmt.Fprintln(stdout, tok)
		return 0
	}
	if *ttl <= 0 {
		fmt.Fprintln(stderr, "apictl token: --ttl must be positive")
		return 2
	}
	tok, err := mintToken(p, *stage, *aud, devissuer.TokenRequest{Subject: *sub, Scopes: strings.Fields(*scope), Permissions: strings.Fields(*permissions), TTL: *ttl}, *issuerPort, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "apictl token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// mintWithKMS signs a token for a deployed stage that is its own issuer.
func mintWithKMS(p *project, stage, outputs, sub string, scopes, permissions []string, log io.Writer) (string, error) {
	api, err := p.load(stage, log)
	if err != nil {
		return "", err
	}
	outs, err := stackOutputs(outputs, stage, api.StackName)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	signer, err := kmsSigner(ctx, outs, api)
	if err != nil {
		return "", err
	}
	return signer.Mint(ctx, kmsjwt.Grant{Subject: sub, Scopes: scopes, Permissions: permissions})
}

// mintToken signs a dev token; without an audience it takes the stage's first one from the template.
func mintToken(p *project, stage, aud string, req devissuer.TokenRequest, issuerPort int, log io.Writer) (string, error) {
	if aud == "" {
		api, err := p.load(stage, log)
		if err != nil {
			return "", err
		}
		aud = api.Audience[0]
	} else if err := p.resolve(); err != nil {
		return "", err
	}
	dev, err := p.devIssuer(issuerPort, nil)
	if err != nil {
		return "", err
	}
	req.Audience = aud
	return dev.AccessToken(req)
}
