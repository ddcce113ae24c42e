package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/dpop"
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
	dev, err := p.devIssuer(*port, api)
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
	dpopKeyFile := flags.String("dpop", "", "bind the token to the DPoP key in this PEM file (ECDSA P-256, made there when missing), and print a curl line with a proof for --method and --url")
	method := flags.String("method", "GET", "with --dpop: the method of the request the proof is for")
	requestURL := flags.String("url", "http://127.0.0.1:3000/private", "with --dpop: the URL of the request the proof is for")
	if flags.Parse(args) != nil {
		return 2
	}
	if *dpopKeyFile != "" && *withKMS {
		fmt.Fprintln(stderr, "apictl token: --dpop binds the dev issuer's tokens; a stage's KMS key mints bearer tokens only")
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
	request := devissuer.TokenRequest{Subject: *sub, Scopes: strings.Fields(*scope), Permissions: strings.Fields(*permissions), TTL: *ttl}
	var key *ecdsa.PrivateKey
	if *dpopKeyFile != "" {
		var err error
		if key, err = loadDPoPKey(*dpopKeyFile); err != nil {
			fmt.Fprintln(stderr, "apictl token:", err)
			return 1
		}
		request.Confirmation, _ = dpop.Thumbprint(&key.PublicKey)
	}
	tok, err := mintToken(p, *stage, *aud, request, *issuerPort, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "apictl token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	if key != nil {
		proof, err := dpop.NewProof(key, *method, *requestURL, tok, time.Now())
		if err != nil {
			fmt.Fprintln(stderr, "apictl token:", err)
			return 1
		}
		// The proof is good once, for a minute: run the line again for another.
		fmt.Fprintf(stdout, "curl -i -X %s -H \"Authorization: DPoP %s\" -H \"DPoP: %s\" %s\n", *method, tok, proof, *requestURL)
	}
	return 0
}

// loadDPoPKey reads the ECDSA P-256 key of a PEM file (PKCS #8), or makes
// one and writes it there, readable by its owner only, when the file is
// missing: a client keeps its DPoP key for as long as its tokens live.
func loadDPoPKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("--dpop %s: %w", path, err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--dpop %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("--dpop %s: not a PEM file: give an ECDSA P-256 private key (PKCS #8), or a path where none is, to make one", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	key, ok := parsed.(*ecdsa.PrivateKey)
	if err != nil || !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("--dpop %s: expected an ECDSA P-256 private key in PKCS #8 (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)", path)
	}
	return key, nil
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
