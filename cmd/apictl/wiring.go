package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/wiring"
)

func runWiring(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("wiring", stderr)
	stage := flags.String("stage", "", "the stage to check; every stage and the GitHubDeploy stack when empty")
	if flags.Parse(args) != nil {
		return 2
	}
	results, err := checkWiring(p, *stage, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "apictl wiring:", err)
		return 1
	}
	if wiring.Report(stdout, results) > 0 {
		return 1
	}
	return 0
}

// checkWiring finds the runtime paths of a stage, or of all, in the cloud
// assembly (synthesized first when stale) and has the simulator decide them.
func checkWiring(p *project, stage string, log io.Writer) ([]wiring.Result, error) {
	if err := p.synthesized(log); err != nil {
		return nil, err
	}
	stages, err := apitemplate.Stages(p.root)
	if err != nil {
		return nil, err
	}
	if stage != "" {
		if !slices.Contains(stages, stage) {
			return nil, fmt.Errorf("no stage %q in cdk.json: expected one of %v", stage, stages)
		}
		stages = []string{stage}
	}
	paths, err := wiring.AssemblyPaths(p.root, p.cdkOut, stages)
	if err != nil {
		return nil, err
	}
	return wiring.Evaluate(context.Background(), p.root, paths)
}
