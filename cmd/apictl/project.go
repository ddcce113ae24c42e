package main

import (
	"context"
	"crypto/rsa"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/gobuild"
)

// DefaultIssuerPort is where the dev issuer listens, so that tokens minted by
// `apictl token` match the issuer a running `apictl local --dev-issuer` uses.
const DefaultIssuerPort = 8765

// DefaultAPIPort is where the local API listens, for `apictl local`, `apictl
// dev` and the document `apictl openapi --local` writes.
const DefaultAPIPort = 3000

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

// resolve finds the module root and makes the project's paths, and any other
// given, absolute under it.
func (p *project) resolve(paths ...*string) error {
	root, err := gobuild.ModuleRoot()
	if err != nil {
		return err
	}
	p.root = root
	for _, dir := range append([]*string{&p.cdkOut, &p.stateDir}, paths...) {
		if !filepath.IsAbs(*dir) {
			*dir = filepath.Join(root, *dir)
		}
	}
	return nil
}

// load reads a stage's API from the template, synthesizing first when the
// template is missing or stale.
func (p *project) load(stage string, log io.Writer) (*apitemplate.API, error) {
	if err := p.synthesized(log); err != nil {
		return nil, err
	}
	return apitemplate.Load(p.cdkOut, stage)
}

// synthesized resolves the project's paths and synthesizes the cloud
// assembly when it is missing or older than the sources.
func (p *project) synthesized(log io.Writer) error {
	if err := p.resolve(); err != nil {
		return err
	}
	if !apitemplate.Stale(p.root, p.cdkOut) {
		return nil
	}
	fmt.Fprintf(log, "synthesizing into %s (missing or older than the sources)...\n", p.cdkOut)
	return apitemplate.Synthesize(context.Background(), p.root, p.cdkOut, "", log)
}

// devIssuer is the dev issuer on port, with its key from the state
// directory, the users, clients and organizations of dev-users.json, and the
// stage's audiences as the APIs it issues tokens for.
func (p *project) devIssuer(port int, api *apitemplate.API) (*devissuer.Issuer, error) {
	key, err := p.devIssuerKey()
	if err != nil {
		return nil, err
	}
	directory, err := devissuer.LoadDirectory(filepath.Join(p.root, "dev-users.json"))
	if err != nil {
		return nil, fmt.Errorf("dev issuer users: %w", err)
	}
	dev := devissuer.New(fmt.Sprintf("http://127.0.0.1:%d/", port), key)
	dev.Directory = directory
	if api != nil {
		// Tokens for the stage's audiences, bound to a DPoP key where it
		// requires one, as its Auth0 API would give them.
		dev.Audiences, dev.RequireDPoP = api.Audience, api.RequiresDPoP()
	}
	// As a tenant with allow_organization_name_in_authentication_api on: the
	// page's organization box takes a name, and tokens show it as org_name.
	dev.OrganizationName = true
	return dev, nil
}

// devIssuerKey is the dev issuer's key, kept in the state directory.
func (p *project) devIssuerKey() (*rsa.PrivateKey, error) {
	key, err := devissuer.LoadOrCreateKey(filepath.Join(p.stateDir, "dev-issuer", "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("dev issuer key: %w", err)
	}
	return key, nil
}
