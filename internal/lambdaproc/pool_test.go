package lambdaproc

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/gobuild"
)

// faultyPool runs testdata/faulty, whose request path picks how it misbehaves.
func faultyPool(t *testing.T) *Pool {
	t.Helper()
	root, err := gobuild.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(t.TempDir(), "bootstrap")
	if err := gobuild.Build(root, binary, runtime.GOOS, runtime.GOARCH, "./internal/lambdaproc/testdata/faulty"); err != nil {
		t.Fatal(err)
	}
	pool := NewPool(Function{Name: "Faulty", Binary: binary, Timeout: time.Second, MaxProcesses: 1, Output: os.Stderr})
	t.Cleanup(pool.Close)
	if err := pool.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	return pool
}

func invoke(pool *Pool, path string) ([]byte, error) {
	event, _ := json.Marshal(map[string]any{"version": "2.0", "rawPath": path})
	return pool.Invoke(context.Background(), event)
}

func TestADeadProcessIsReplacedAndTheNextInvocationServed(t *testing.T) {
	pool := faultyPool(t)
	for path, want := range map[string]error{"/panic": ErrFunctionError, "/exit": ErrFunctionCrashed, "/sleep": ErrFunctionTimeout} {
		starts := pool.starts.Load()
		if _, err := invoke(pool, path); !errors.Is(err, want) && !errors.Is(err, ErrFunctionCrashed) {
			t.Errorf("%s: %v, want %v", path, err, want)
		}
		payload, err := invoke(pool, "/ok")
		if err != nil {
			t.Fatalf("the invocation after %s: %v", path, err)
		}
		if pool.starts.Load() == starts {
			t.Errorf("after %s no process was started to replace the dead one (%s)", path, payload)
		}
	}
}

func TestAnErrorKeepsTheProcess(t *testing.T) {
	pool := faultyPool(t)
	starts := pool.starts.Load()
	if _, err := invoke(pool, "/error"); !errors.Is(err, ErrFunctionError) {
		t.Errorf("err %v, want ErrFunctionError", err)
	}
	if _, err := invoke(pool, "/ok"); err != nil || pool.starts.Load() != starts {
		t.Errorf("after a returned error: %v, %d new processes, want the same process", err, pool.starts.Load()-starts)
	}
}
