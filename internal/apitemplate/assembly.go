package apitemplate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/auth0-http-api/cdk/internal/gobuild"
)

// StageID turns a stage name from cdk.json into its CDK Stage ID: "dev" becomes "Dev".
func StageID(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// StagesContextKey is the cdk.json context key that holds one entry per stage.
const StagesContextKey = "stages"

// GitHubDeployContextKey is the cdk.json context key of the GitHubDeploy
// stack's settings: a stack of its own, outside every stage.
const GitHubDeployContextKey = "githubDeploy"

// Stages lists the stage names that cdk.json under root declares, sorted.
func Stages(root string) ([]string, error) {
	context, err := CDKJSONContext(root)
	if err != nil {
		return nil, err
	}
	stages, _ := context[StagesContextKey].(map[string]any)
	if len(stages) == 0 {
		return nil, fmt.Errorf("cdk.json declares no stages under context %q", StagesContextKey)
	}
	names := make([]string, 0, len(stages))
	for name := range stages {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// CDKJSONContext is the context that cdk.json under root gives the app.
func CDKJSONContext(root string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cdkJSON struct{ Context map[string]any }
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	if cdkJSON.Context == nil {
		cdkJSON.Context = map[string]any{}
	}
	return cdkJSON.Context, nil
}

// TemplatePath is the template of one stage in a cloud assembly: the single
// stack template under assembly-<StageID>.
func TemplatePath(cdkOut, stage string) (string, error) {
	if stage == "" {
		return "", errors.New("no stage given")
	}
	dir := filepath.Join(cdkOut, "assembly-"+StageID(stage))
	templates, err := filepath.Glob(filepath.Join(dir, "*.template.json"))
	if err != nil || len(templates) != 1 {
		return "", fmt.Errorf("stage %q: expected one template in %s, found %d: is the stage in cdk.json, and was it synthesized?", stage, dir, len(templates))
	}
	return templates[0], nil
}

// Load reads the API of one stage, named as in cdk.json ("dev"), from a cloud
// assembly directory (cdk.out): the single stack template under assembly-Dev.
func Load(cdkOut, stage string) (*API, error) {
	if stage == "" {
		return nil, errors.New("no stage given")
	}
	template, err := TemplatePath(cdkOut, stage)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(template)
	if err != nil {
		return nil, err
	}
	api, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", template, err)
	}
	if api.StackName, err = stackName(filepath.Dir(template)); err != nil {
		return nil, err
	}
	return api, nil
}

// stackName reads the stack's name from the assembly's manifest.
func stackName(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return "", err
	}
	var manifest struct {
		Artifacts map[string]struct {
			Type       string
			Properties struct{ StackName string }
		}
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	for _, artifact := range manifest.Artifacts {
		if artifact.Type == "aws:cloudformation:stack" && artifact.Properties.StackName != "" {
			return artifact.Properties.StackName, nil
		}
	}
	return "", fmt.Errorf("%s names no stack", filepath.Join(dir, "manifest.json"))
}

// Synthesize runs the CDK app the way the CDK CLI does, into outDir, with the
// context of cdk.json and without bundling: the local API builds the functions
// for this machine itself. With a stage named, it synthesizes that stage
// alone, as its local API needs, in a third of the time of them all.
func Synthesize(ctx context.Context, root, outDir, stage string, output io.Writer) error {
	context, err := CDKJSONContext(root)
	if err != nil {
		return err
	}
	context["aws:cdk:bundling-stacks"] = []string{}
	if stages, _ := context[StagesContextKey].(map[string]any); stage != "" && stages[stage] != nil {
		context[StagesContextKey] = map[string]any{stage: stages[stage]}
		delete(context, GitHubDeployContextKey)
	}
	contextJSON, _ := json.Marshal(context)
	// Without a symbol table and DWARF the app links in about 2.4 s instead of
	// 3.5 (measured by hand on 2 cores): it runs once to write the assembly,
	// and nobody debugs it here. Each live reload of the route table saves that.
	cmd := gobuild.GoCommand(ctx, root, "run", "-ldflags=-s -w", ".")
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+outDir, "CDK_CONTEXT_JSON="+string(contextJSON),
		// CloudFormation validation costs seconds and `make synth` keeps it on;
		// here the template is only read for its routes and functions.
		"CDK_VALIDATION=false",
		// The pinned Node.js from `npm ci`, when present, runs the CDK's jsii runtime.
		"PATH="+filepath.Join(root, "node_modules", ".bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("synthesizing into %s failed: %w", outDir, err)
	}
	return nil
}

// Stale tells whether cdkOut is missing or older than any source of the app.
func Stale(root, cdkOut string) bool {
	manifest, err := os.Stat(filepath.Join(cdkOut, "manifest.json"))
	if err != nil {
		return true
	}
	stale := false
	skip := map[string]bool{"node_modules": true, "cdk.out": true, ".local": true, ".git": true, "testdata": true}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || stale {
			return filepath.SkipAll
		}
		if d.IsDir() && (skip[d.Name()] || path == cdkOut) {
			return filepath.SkipDir
		}
		name := d.Name()
		if strings.HasSuffix(name, ".go") || name == "cdk.json" || name == "go.mod" || name == "go.sum" {
			if info, err := d.Info(); err == nil && info.ModTime().After(manifest.ModTime()) {
				stale = true
			}
		}
		return nil
	})
	return stale
}
