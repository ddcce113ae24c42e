package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

const (
	root                = "../.."
	credentialsAction   = "aws-actions/configure-aws-credentials"
	approvalEnvironment = "prod"
)

var (
	// An action is pinned by the full commit SHA: a tag can be moved to other code.
	pinned = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
	// `cdk deploy 'Dev/*'` deploys the stage whose CDK Stage is Dev.
	deployCommand = regexp.MustCompile(`\bcdk deploy '([A-Za-z0-9]+)/\*'`)
	smokeCommand  = regexp.MustCompile(`\bapictl smoke --stage ([a-z0-9]+)\b`)
	planCommand   = regexp.MustCompile(`\bapictl auth0 plan --stage ([a-z0-9]+)\b`)
	// Static AWS credentials, as an input of the credentials action, an
	// environment variable, or a secret.
	staticKeyInputs = []string{"aws-access-key-id", "aws-secret-access-key", "aws-session-token"}
	staticKeyVars   = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
	awsSecret       = regexp.MustCompile(`(?i)secrets\.AWS_`)
)

type job struct {
	file, id string
	*actionlint.Job
}

func (j job) String() string { return j.file + ": job " + j.id }

// workflows parses every workflow of .github/workflows.
func workflows(t *testing.T) map[string]*actionlint.Workflow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflow in .github/workflows (%v)", err)
	}
	parsed := map[string]*actionlint.Workflow{}
	for _, file := range files {
		source, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		workflow, errs := actionlint.Parse(source)
		if len(errs) > 0 {
			t.Fatalf("%s: %v (run `make lint-workflows`)", file, errs[0])
		}
		parsed[filepath.Base(file)] = workflow
	}
	return parsed
}

func jobs(t *testing.T) []job {
	t.Helper()
	var all []job
	for file, workflow := range workflows(t) {
		for id, j := range workflow.Jobs {
			all = append(all, job{file, id, j})
		}
	}
	slices.SortFunc(all, func(a, b job) int { return strings.Compare(a.String(), b.String()) })
	return all
}

func run(step *actionlint.Step) string {
	if r, ok := step.Exec.(*actionlint.ExecRun); ok && r.Run != nil {
		return r.Run.Value
	}
	return ""
}

func uses(step *actionlint.Step) (string, map[string]*actionlint.Input) {
	if a, ok := step.Exec.(*actionlint.ExecAction); ok && a.Uses != nil {
		return a.Uses.Value, a.Inputs
	}
	return "", nil
}

func envNames(env *actionlint.Env) []string {
	if env == nil {
		return nil
	}
	var names []string
	for _, v := range env.Vars {
		names = append(names, v.Name.Value)
	}
	return names
}

// localActionSteps reads the steps of the composite actions under .github/actions.
func localActionSteps(t *testing.T) map[string][]map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, ".github", "actions", "*", "action.y*ml"))
	steps := map[string][]map[string]any{}
	for _, file := range files {
		source, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var action struct {
			Runs struct {
				Using string
				Steps []map[string]any
			}
		}
		if err := yaml.Unmarshal(source, &action); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		steps[file] = action.Runs.Steps
	}
	return steps
}

func TestEveryActionIsPinnedToACommit(t *testing.T) {
	check := func(where, ref string) {
		if ref == "" || strings.HasPrefix(ref, "./") {
			return // a run step, or an action of this repository
		}
		if !pinned.MatchString(ref) {
			t.Errorf("%s uses %s: pin it to the full commit SHA of the release, as owner/repo@<40 hex digits> # vX.Y.Z", where, ref)
		}
	}
	for _, j := range jobs(t) {
		for i, step := range j.Steps {
			ref, _ := uses(step)
			check(j.String()+" step "+strconv.Itoa(i+1), ref)
		}
	}
	actions := localActionSteps(t)
	if len(actions) == 0 {
		t.Fatal("no local action under .github/actions: the workflow's toolchain action is gone?")
	}
	for file, steps := range actions {
		for i, step := range steps {
			ref, _ := step["uses"].(string)
			check(filepath.Base(filepath.Dir(file))+" step "+strconv.Itoa(i+1), ref)
		}
	}
}

func TestNoStepUsesStaticAWSKeys(t *testing.T) {
	for file, workflow := range workflows(t) {
		for _, name := range envNames(workflow.Env) {
			if slices.Contains(staticKeyVars, name) {
				t.Errorf("%s sets %s for every job: AWS credentials come from %s with role-to-assume, never from keys", file, name, credentialsAction)
			}
		}
	}
	assumes := 0
	for _, j := range jobs(t) {
		for _, name := range envNames(j.Env) {
			if slices.Contains(staticKeyVars, name) {
				t.Errorf("%s sets %s: AWS credentials come from %s with role-to-assume, never from keys", j, name, credentialsAction)
			}
		}
		for i, step := range j.Steps {
			where := j.String() + " step " + strconv.Itoa(i+1)
			for _, name := range envNames(step.Env) {
				if slices.Contains(staticKeyVars, name) {
					t.Errorf("%s sets %s: AWS credentials come from %s with role-to-assume, never from keys", where, name, credentialsAction)
				}
			}
			ref, inputs := uses(step)
			if !strings.HasPrefix(ref, credentialsAction+"@") {
				continue
			}
			assumes++
			for _, input := range staticKeyInputs {
				if _, ok := inputs[input]; ok {
					t.Errorf("%s gives %s %s: assume the deploy role by OIDC instead (role-to-assume)", where, credentialsAction, input)
				}
			}
			if role, ok := inputs["role-to-assume"]; !ok || role.Value == nil || role.Value.Value == "" {
				t.Errorf("%s: %s has no role-to-assume", where, credentialsAction)
			}
		}
	}
	if assumes == 0 {
		t.Errorf("no job assumes a role with %s: how does the pipeline deploy?", credentialsAction)
	}
	// No file of .github may mention an AWS secret at all, whatever its use.
	err := filepath.WalkDir(filepath.Join(root, ".github"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		source, _ := os.ReadFile(path)
		if awsSecret.Match(source) {
			t.Errorf("%s reads a secrets.AWS_… value: the pipeline holds no AWS secret; it assumes a role by OIDC", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPermissionsAreTheLeastEachJobNeeds(t *testing.T) {
	for file, workflow := range workflows(t) {
		if p := workflow.Permissions; p == nil || p.All != nil || len(p.Scopes) > 0 {
			t.Errorf("%s: set `permissions: {}` at the top, so that a job without its own permissions gets none", file)
		}
	}
	for _, j := range jobs(t) {
		if j.Permissions == nil {
			t.Errorf("%s has no permissions of its own: list the ones it needs", j)
			continue
		}
		if j.Permissions.All != nil {
			t.Errorf("%s has permissions %q: list each scope it needs instead", j, j.Permissions.All.Value)
		}
		assumesRole := false
		for _, step := range j.Steps {
			ref, _ := uses(step)
			assumesRole = assumesRole || strings.HasPrefix(ref, credentialsAction+"@")
		}
		for name, scope := range j.Permissions.Scopes {
			value := scope.Value.Value
			switch {
			case name == "id-token" && value == "write" && !assumesRole:
				t.Errorf("%s may write id-token but assumes no role: drop it", j)
			case value == "write" && name != "id-token":
				t.Errorf("%s may write %s: no job of the pipeline needs to write to GitHub", j, name)
			}
		}
		if scope := j.Permissions.Scopes["id-token"]; assumesRole && (scope == nil || scope.Value.Value != "write") {
			t.Errorf("%s assumes the deploy role, which needs `id-token: write`", j)
		}
	}
}

// stageSettings reads what the pipeline depends on from cdk.json: which
// stages use Auth0, and which keep their data, as production does.
func stageSettings(t *testing.T) map[string]struct {
	SelfHostedIssuer json.RawMessage `json:"selfHostedIssuer"`
	RemovalPolicy    string          `json:"removalPolicy"`
} {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		Context struct {
			Stages map[string]struct {
				SelfHostedIssuer json.RawMessage `json:"selfHostedIssuer"`
				RemovalPolicy    string          `json:"removalPolicy"`
			} `json:"stages"`
		} `json:"context"`
	}
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		t.Fatal(err)
	}
	return cdkJSON.Context.Stages
}

// deployJobs finds, for each stage, the job that deploys it.
func deployJobs(t *testing.T) map[string]job {
	t.Helper()
	found := map[string]job{}
	for _, j := range jobs(t) {
		for _, step := range j.Steps {
			for _, m := range deployCommand.FindAllStringSubmatch(run(step), -1) {
				stage := strings.ToLower(m[1])
				if other, ok := found[stage]; ok && other.id != j.id {
					t.Errorf("stage %s is deployed by both %s and %s", stage, other, j)
				}
				found[stage] = j
			}
		}
	}
	return found
}

func TestEveryStageIsDeployedGatedAndSmokeTested(t *testing.T) {
	names, err := apitemplate.Stages(root)
	if err != nil {
		t.Fatal(err)
	}
	settings := stageSettings(t)
	deploys := deployJobs(t)
	for _, stage := range names {
		j, ok := deploys[stage]
		if !ok {
			t.Errorf("stage %s of cdk.json has no deploy job: add one to .github/workflows/pipeline.yml that runs `cdk deploy '%s/*'`, or remove the stage", stage, apitemplate.StageID(stage))
			continue
		}
		if j.Environment == nil || j.Environment.Name == nil || j.Environment.Name.Value != stage {
			t.Errorf("%s deploys stage %s outside the GitHub environment %q: the deploy role trusts only the stages' environments, and each holds its stage's variables and secrets", j, stage, stage)
		}
		if j.If == nil || !strings.Contains(j.If.Value, "refs/heads/main") || !strings.Contains(j.If.Value, "'push'") {
			t.Errorf("%s deploys on more than a push to main (if: %v)", j, j.If)
		}
		if j.Concurrency == nil || j.Concurrency.Group == nil || !strings.Contains(j.Concurrency.Group.Value, stage) ||
			j.Concurrency.CancelInProgress == nil || j.Concurrency.CancelInProgress.Value || j.Concurrency.CancelInProgress.Expression != nil {
			t.Errorf("%s: set `concurrency: {group: deploy-%s, cancel-in-progress: false}`: one deploy of a stage at a time, and none stopped halfway", j, stage)
		}

		// The steps' order: credentials, the tenant check for an Auth0 stage,
		// then the deploy, then the smoke test of the same stage.
		at := map[string]int{}
		for i, step := range j.Steps {
			text := run(step)
			if m := deployCommand.FindStringSubmatch(text); m != nil && strings.ToLower(m[1]) == stage {
				at["deploy"] = i + 1
			}
			if m := smokeCommand.FindStringSubmatch(text); m != nil && m[1] == stage && at["smoke"] == 0 {
				at["smoke"] = i + 1
			}
			if m := planCommand.FindStringSubmatch(text); m != nil && m[1] == stage && at["plan"] == 0 {
				at["plan"] = i + 1 // the first: the gate before the deploy
			}
			if ref, _ := uses(step); strings.HasPrefix(ref, credentialsAction+"@") {
				at["credentials"] = i + 1
			}
		}
		if at["smoke"] <= at["deploy"] {
			t.Errorf("%s deploys stage %s without a later step running `apictl smoke --stage %s`", j, stage, stage)
		}
		if at["credentials"] == 0 || at["credentials"] > at["deploy"] {
			t.Errorf("%s deploys stage %s before it assumes the deploy role", j, stage)
		}
		selfHosted := len(settings[stage].SelfHostedIssuer) > 0
		if !selfHosted && (at["plan"] == 0 || at["plan"] > at["deploy"]) {
			t.Errorf("%s deploys stage %s without `apictl auth0 plan --stage %s` before it: drift of the tenant must stop the deploy", j, stage, stage)
		}
		if selfHosted {
			for i, step := range j.Steps {
				for _, name := range envNames(step.Env) {
					if strings.HasPrefix(name, "AUTH0_") {
						t.Errorf("%s step %d gives %s to stage %s, which is its own issuer and needs no Auth0 secret", j, i+1, name, stage)
					}
				}
			}
		}
	}
}

func TestProdDeploysOnlyAfterApprovalAndTheOtherStages(t *testing.T) {
	deploys := deployJobs(t)
	prod, ok := deploys[approvalEnvironment]
	if !ok {
		t.Fatalf("no job deploys stage %s", approvalEnvironment)
	}
	if prod.Environment == nil || prod.Environment.Name.Value != approvalEnvironment {
		t.Fatalf("%s does not run in the %s environment, whose required reviewers approve each deploy", prod, approvalEnvironment)
	}
	settings := stageSettings(t)
	if settings[approvalEnvironment].RemovalPolicy != "retain" {
		t.Errorf("stage %s does not retain its data: is it still the production stage that the approval gate protects?", approvalEnvironment)
	}
	var needs []string
	for _, n := range prod.Needs {
		needs = append(needs, n.Value)
	}
	for stage, j := range deploys {
		if stage != approvalEnvironment && !slices.Contains(needs, j.id) {
			t.Errorf("%s does not need %s: prod deploys only after every other stage passed its smoke test", prod, j.id)
		}
	}
}

func TestRunStepsFailOnAFailedPipe(t *testing.T) {
	for file, workflow := range workflows(t) {
		if d := workflow.Defaults; d == nil || d.Run == nil || d.Run.Shell == nil || d.Run.Shell.Value != "bash" {
			t.Errorf("%s: set `defaults: {run: {shell: bash}}`: GitHub's implicit shell runs without pipefail, so `apictl smoke | tee` would pass a failed smoke test", file)
		}
	}
}
