package lambdaproc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auth0-http-api/cdk/internal/gobuild"
)

var faultyBinary = sync.OnceValues(func() (string, error) {
	root, err := gobuild.ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "lambdaproc-test-")
	if err != nil {
		return "", err
	}
	binary := filepath.Join(dir, "bootstrap")
	return binary, gobuild.BuildForHost(context.Background(), root, map[string]string{binary: "./internal/lambdaproc/testdata/faulty"})
})

// faultyPool runs testdata/faulty, whose request path picks how it
// misbehaves, with a timeout of a second.
func faultyPool(t *testing.T, environment map[string]string) *Pool {
	return faultyPoolWithTimeout(t, environment, time.Second)
}

func faultyPoolWithTimeout(t *testing.T, environment map[string]string, timeout time.Duration) *Pool {
	t.Helper()
	binary, err := faultyBinary()
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(Function{Name: "Faulty", Binary: binary, Environment: environment, Timeout: timeout, MaxProcesses: 1, Output: os.Stderr})
	t.Cleanup(pool.Close)
	return pool
}

// warmFaultyPool is a faultyPool whose process is up and waiting for events.
func warmFaultyPool(t *testing.T) *Pool {
	t.Helper()
	return warm(t, faultyPool(t, nil))
}

func warm(t *testing.T, pool *Pool) *Pool {
	t.Helper()
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
	// /sleep waits out the timeout; a process that is up answers /ok in a
	// millisecond, so a quarter of a second leaves room for a busy machine.
	pool := warm(t, faultyPoolWithTimeout(t, nil, 250*time.Millisecond))
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
	pool := warmFaultyPool(t)
	starts := pool.starts.Load()
	if _, err := invoke(pool, "/error"); !errors.Is(err, ErrFunctionError) {
		t.Errorf("err %v, want ErrFunctionError", err)
	}
	if _, err := invoke(pool, "/ok"); err != nil || pool.starts.Load() != starts {
		t.Errorf("after a returned error: %v, %d new processes, want the same process", err, pool.starts.Load()-starts)
	}
}

// A function that dies before it takes its event is started again a bounded
// number of times; then the invocation fails instead of looping.
func TestAFunctionThatDiesAtStartIsRestartedABoundedNumberOfTimes(t *testing.T) {
	pool := faultyPool(t, map[string]string{"FAULTY_EXIT_AT_START": "1"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pool.Invoke(ctx, []byte(`{"rawPath":"/ok"}`))
	if !errors.Is(err, ErrFunctionCrashed) {
		t.Errorf("err %v, want ErrFunctionCrashed", err)
	}
	if starts := pool.starts.Load(); starts != maxStartAttempts {
		t.Errorf("%d processes started, want %d", starts, maxStartAttempts)
	}
}

// Only the process the pool started may take its events and answer them: any
// other local process that connects to its Runtime API is refused.
func TestTheRuntimeAPIRefusesOtherProcesses(t *testing.T) {
	pool := warmFaultyPool(t)
	var runtimeAPI string
	pool.mu.Lock()
	for proc := range pool.live {
		runtimeAPI = proc.address
	}
	pool.mu.Unlock()

	stolen := make(chan string, 1)
	go func() {
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get("http://" + runtimeAPI + "/2018-06-01/runtime/invocation/next")
		if err != nil {
			stolen <- ""
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			body = nil
		}
		id := resp.Header.Get(headerRequestID)
		// A thief answers for the function with its own response.
		client.Post("http://"+runtimeAPI+"/2018-06-01/runtime/invocation/"+id+"/response", "application/json", strings.NewReader(`{"statusCode":200,"body":"forged"}`))
		stolen <- string(body)
	}()
	time.Sleep(200 * time.Millisecond) // the thief is waiting for the next event
	for i := range 3 {
		payload, err := invoke(pool, "/ok")
		if err != nil || strings.Contains(string(payload), "forged") || !strings.Contains(string(payload), "pid ") {
			t.Errorf("invocation %d: %s %v", i, payload, err)
		}
	}
	if event := <-stolen; event != "" {
		t.Errorf("another process took an event: %s", event)
	}
}
