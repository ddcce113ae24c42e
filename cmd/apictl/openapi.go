package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/openapi"
)

// runOpenAPI is `apictl openapi`: the stage's OpenAPI 3.1 document, from its
// synthesized template.
func runOpenAPI(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("openapi", stderr)
	stage := flags.String("stage", "dev", "the stage, as named in cdk.json")
	out := flags.String("out", "", "write the document to this file instead of stdout")
	format := flags.String("format", "json", "json or yaml")
	outputs := flags.String("outputs", "", "the file `cdk deploy --outputs-file` wrote: the deployed stage's URL becomes the server")
	local := flags.Bool("local", false, "describe the local API (apictl local --dev-issuer) and the dev issuer's sign-in")
	port := flags.Int("port", DefaultAPIPort, "with --local: the local API's port")
	issuerPort := flags.Int("issuer-port", DefaultIssuerPort, "with --local: the dev issuer's port")
	if flags.Parse(args) != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "apictl openapi:", err)
		return 1
	}
	if *format != "json" && *format != "yaml" {
		fmt.Fprintf(stderr, "apictl openapi: --format %q: expected json or yaml\n", *format)
		return 2
	}
	if *local && *outputs != "" {
		fmt.Fprintln(stderr, "apictl openapi: give --local or --outputs, not both: one describes the local API, the other a deployed stage")
		return 2
	}
	if err := p.resolve(); err != nil {
		return fail(err)
	}
	stages, err := apitemplate.Stages(p.root)
	if err != nil {
		return fail(err)
	}
	if !slices.Contains(stages, *stage) {
		return fail(fmt.Errorf("unknown stage %q: cdk.json declares %s", *stage, strings.Join(stages, ", ")))
	}
	api, err := p.load(*stage, stderr)
	if err != nil {
		return fail(err)
	}
	opts, err := documentOptions(api, *stage, *outputs, *local, *port, *issuerPort)
	if err != nil {
		return fail(err)
	}
	doc, err := openapi.New(api, opts)
	if err != nil {
		return fail(err)
	}
	encoded := doc.JSON()
	if *format == "yaml" {
		encoded = doc.YAML()
	}
	if *out == "" {
		_, err = stdout.Write(encoded)
	} else {
		err = os.WriteFile(*out, encoded, 0o644)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// documentOptions says where the API and its issuer are: the local API and
// the dev issuer; the deployed stage, from its outputs; or what the template
// alone says.
func documentOptions(api *apitemplate.API, stage, outputs string, local bool, port, issuerPort int) (openapi.Options, error) {
	opts := openapi.TemplateOptions(api, stage)
	switch {
	case local:
		opts = openapi.LocalOptions(stage, fmt.Sprintf("http://127.0.0.1:%d", port), fmt.Sprintf("http://127.0.0.1:%d/", issuerPort))
	case outputs != "":
		outs, err := stackOutputs(outputs, stage, api.StackName)
		if err != nil {
			return opts, err
		}
		url, err := deployedURL(outs, outputs, stage, api.StackName)
		if err != nil {
			return opts, err
		}
		opts.Servers = []openapi.Server{{URL: strings.TrimSuffix(url, "/"), Description: "Stage " + stage + ", deployed"}}
		if !opts.SignIn {
			opts.Issuer = outs["Issuer"]
		}
	}
	return opts, nil
}
