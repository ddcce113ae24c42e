package pipeline

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummarizeKeepsTheStatusAndShowsTheOutput(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	cmd := exec.Command(filepath.Join(root, "scripts", "summarize.sh"), "Auth0 tenant of dev", "sh", "-c", "echo '+ scope read:user'; echo 'drift: run apply' >&2; exit 2")
	cmd.Env = append(os.Environ(), "GITHUB_STEP_SUMMARY="+summary)
	output, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("summarize.sh exited with %v, want the command's status 2: a drifted tenant must stop the job", err)
	}
	if !strings.Contains(string(output), "+ scope read:user") || !strings.Contains(string(output), "drift: run apply") {
		t.Errorf("summarize.sh printed %q, want the command's stdout and stderr", output)
	}
	written, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Auth0 tenant of dev: failed (exit status 2)", "+ scope read:user", "drift: run apply"} {
		if !strings.Contains(string(written), want) {
			t.Errorf("the job summary lacks %q:\n%s", want, written)
		}
	}
}

func TestAccessMatrixDiffShowsARouteTurningPublic(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not installed, and the access matrix diff reads the history: sudo apt-get install -y git")
	}
	repo := t.TempDir()
	script, err := os.ReadFile(filepath.Join(root, "scripts", "access-matrix-diff.sh"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(path, content string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, path), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	diff := func(base string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(repo, "scripts", "access-matrix-diff.sh"), base).CombinedOutput()
		if err != nil {
			t.Fatalf("access-matrix-diff.sh: %v\n%s", err, out)
		}
		return string(out)
	}

	git("init", "-q")
	write("scripts/access-matrix-diff.sh", string(script), 0o755)
	write("testdata/dev.access-matrix.txt", "GET /private             JWT    - (any valid token)\nGET /public              NONE   - (public: no token)\n", 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "base")
	base := git("rev-parse", "HEAD")
	if got := diff(base); !strings.Contains(got, "No route changes who may call it.") {
		t.Errorf("with no change, the summary says:\n%s", got)
	}

	write("testdata/dev.access-matrix.txt", "GET /private             NONE   - (public: no token)\nGET /public              NONE   - (public: no token)\n", 0o644)
	write("README.md", "unrelated change\n", 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "make /private public")
	got := diff(base)
	for _, want := range []string{"```diff", "-GET /private             JWT", "+GET /private             NONE   - (public: no token)"} {
		if !strings.Contains(got, want) {
			t.Errorf("the summary of a route turning public lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "unrelated") {
		t.Errorf("the summary shows files other than the access matrices:\n%s", got)
	}
}
