// Command apictl is the project's developer tool. It reads the synthesized
// templates in cdk.out, never a copy of the route table.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"local":   {"serve a stage's API on 127.0.0.1 with a JWT authorizer that behaves like AWS's and the real function binaries", runLocal},
	"dev":     {"the local loop: the page on 127.0.0.1:5173, signed in through the dev issuer, calling the local API", runDev},
	"issuer":  {"serve the dev token issuer (OIDC discovery and key set) on 127.0.0.1", runIssuer},
	"token":   {"print an RS256 access token from the dev issuer", runToken},
	"smoke":   {"check a deployed stage against its access matrix with real Auth0 tokens", runSmoke},
	"auth0":   {"plan|apply: keep a stage's Auth0 tenant (API, scopes, page and smoke applications) in step with its routes", runAuth0},
	"openapi": {"write a stage's OpenAPI 3.1 document, derived from its template: operations, security as the authorizers decide, sign-in flows", runOpenAPI},
	"policy":  {"run the AWS Control Tower guard rules (cfn-guard) over every synthesized stage, with the documented waivers", runPolicy},
	"wiring":  {"prove that every runtime path of a stage is allowed as AWS evaluates IAM, and its neighbours refused", runWiring},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "apictl: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./cmd/apictl <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun `go run ./cmd/apictl <command> -h` for a command's flags.")
}
