// Package lambdaproc runs Lambda functions' real bootstrap binaries as local
// processes behind the Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), so that a
// function's own main() and lambda.Start run unchanged. A Pool keeps warm
// processes, starts more up to a bound, and replaces one that crashes or
// times out.
package lambdaproc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxResponseBytes is Lambda's limit on a synchronous invocation's response.
const MaxResponseBytes = 6 << 20

// maxStartAttempts bounds how often an invocation starts a process that dies
// before it takes the event: a function that cannot start fails the request
// instead of looping (docs/jwt-authorizer.md).
const maxStartAttempts = 3

// Function is a Lambda function to run locally as real processes.
type Function struct {
	Name         string // the template's logical ID
	Binary       string // the function's bootstrap, built for this machine
	Environment  map[string]string
	Timeout      time.Duration
	MemoryMiB    int
	MaxProcesses int       // concurrent invocations; more requests wait
	Output       io.Writer // where the function's stdout and stderr go
}

// Invocation outcomes other than a response.
var (
	ErrFunctionError   = errors.New("the function returned an error")
	ErrFunctionCrashed = errors.New("the function process exited")
	ErrFunctionTimeout = errors.New("the function timed out")
)

// Pool runs a Function's invocations, one at a time per process, on as many
// processes as MaxProcesses allows. Each process serves the Lambda Runtime API
// protocol (next, response, error, init/error) on its own loopback port, so the
// function's own main() and lambda.Start run unchanged.
type Pool struct {
	fn    Function
	slots chan struct{}
	idle  chan *process

	mu      sync.Mutex
	live    map[*process]bool
	closed  bool
	starts  atomic.Int64 // processes started, for the tests
	invokes atomic.Int64 // events handed to the function, for the tests
}

// NewPool prepares a pool; processes start on demand.
func NewPool(fn Function) *Pool {
	if fn.MaxProcesses < 1 {
		fn.MaxProcesses = 1
	}
	if fn.Output == nil {
		fn.Output = io.Discard
	}
	return &Pool{
		fn:    fn,
		slots: make(chan struct{}, fn.MaxProcesses),
		idle:  make(chan *process, fn.MaxProcesses),
		live:  map[*process]bool{},
	}
}

// Warm starts one process and waits until it asks for work, so the first
// request does not pay for the start.
func (p *Pool) Warm(ctx context.Context) error {
	p.slots <- struct{}{}
	proc, err := p.start()
	if err != nil {
		<-p.slots
		return err
	}
	select {
	case <-proc.ready:
		p.idle <- proc
		return nil
	case <-proc.exited:
		p.retire(proc)
		return fmt.Errorf("%s: %w during start", p.fn.Name, ErrFunctionCrashed)
	case <-ctx.Done():
		p.retire(proc)
		return ctx.Err()
	}
}

// Invoke sends one event and returns the function's response payload.
func (p *Pool) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		proc, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		payload, err := proc.invoke(event, p.fn.Timeout, &p.invokes)
		switch {
		case errors.Is(err, errNotDelivered) && attempt >= maxStartAttempts:
			p.retire(proc)
			return nil, fmt.Errorf("%w before taking the event, %d times in a row", ErrFunctionCrashed, attempt)
		case errors.Is(err, errNotDelivered):
			// The process had exited before taking the event: try another.
			p.retire(proc)
			continue
		case errors.Is(err, ErrFunctionCrashed) || errors.Is(err, ErrFunctionTimeout):
			// The process is gone or stuck: it is killed, and the next invocation
			// starts a fresh one in its slot.
			p.retire(proc)
			return nil, err
		}
		p.idle <- proc
		return payload, err
	}
}

// acquire takes an idle process, or starts one while the pool has room, or waits.
func (p *Pool) acquire(ctx context.Context) (*process, error) {
	select {
	case proc := <-p.idle:
		return proc, nil
	default:
	}
	select {
	case proc := <-p.idle:
		return proc, nil
	case p.slots <- struct{}{}:
		proc, err := p.start()
		if err != nil {
			<-p.slots
		}
		return proc, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close kills every process of the pool.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	procs := make([]*process, 0, len(p.live))
	for proc := range p.live {
		procs = append(procs, proc)
	}
	p.mu.Unlock()
	for _, proc := range procs {
		proc.kill()
		<-proc.exited
	}
}

func (p *Pool) retire(proc *process) {
	proc.kill()
	<-proc.exited
	p.mu.Lock()
	delete(p.live, proc)
	p.mu.Unlock()
	<-p.slots
}

// process is one running bootstrap and the Runtime API it talks to.
type process struct {
	address  string        // of its Runtime API
	started  chan struct{} // closed once cmd.Start has returned
	cmd      *exec.Cmd
	server   *http.Server
	next     chan *invocation
	ready    chan struct{} // closed on the first "next"
	exited   chan struct{} // closed when the process has exited
	readyOne sync.Once

	mu      sync.Mutex
	current *invocation
}

type invocation struct {
	id       string
	event    []byte
	deadline time.Time
	done     chan outcome
}

type outcome struct {
	payload []byte
	err     error
}

func (p *Pool) start() (*process, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, errors.New("the local API is shutting down")
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	output := &prefixWriter{prefix: "[" + p.fn.Name + "] ", out: p.fn.Output}
	proc := &process{
		address: listener.Addr().String(),
		started: make(chan struct{}),
		next:    make(chan *invocation),
		ready:   make(chan struct{}),
		exited:  make(chan struct{}),
	}
	proc.server = &http.Server{Handler: proc, ReadHeaderTimeout: 10 * time.Second}
	go proc.server.Serve(&ownProcessListener{Listener: listener, proc: proc, log: output})

	proc.cmd = exec.Command(p.fn.Binary)
	proc.cmd.Dir = filepath.Dir(p.fn.Binary)
	proc.cmd.Env = p.environment(listener.Addr().String())
	proc.cmd.Stdout, proc.cmd.Stderr = output, output
	setProcessAttributes(proc.cmd)
	err = proc.cmd.Start()
	close(proc.started)
	if err != nil {
		proc.server.Close()
		return nil, fmt.Errorf("starting %s: %w", p.fn.Binary, err)
	}
	p.starts.Add(1)
	p.mu.Lock()
	p.live[proc] = true
	p.mu.Unlock()
	go func() {
		proc.cmd.Wait()
		proc.server.Close()
		close(proc.exited)
	}()
	return proc, nil
}

// environment is what Lambda sets for a provided runtime. The developer's own
// environment, credentials included, is not passed on.
func (p *Pool) environment(runtimeAPI string) []string {
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME=" + p.fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(p.fn.MemoryMiB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + p.fn.Name,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + filepath.Dir(p.fn.Binary),
		"TZ=:UTC",
		"PATH=" + os.Getenv("PATH"),
	}
	for name, value := range p.fn.Environment {
		env = append(env, name+"="+value)
	}
	return env
}

// ownProcessListener accepts only connections that the process's own
// bootstrap opened. Any other local process could otherwise take the
// function's events, bearer tokens included, and answer in its place.
type ownProcessListener struct {
	net.Listener
	proc *process
	log  io.Writer
}

func (l *ownProcessListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		<-l.proc.started // the bootstrap cannot connect before it is started
		pid := 0
		if l.proc.cmd.Process != nil {
			pid = l.proc.cmd.Process.Pid
		}
		own, err := connectedFromProcess(conn, pid)
		if own {
			return conn, nil
		}
		reason := "it is not the function's process"
		if err != nil {
			reason = err.Error()
		}
		fmt.Fprintf(l.log, "Runtime API: refused a connection from %s: %s (pid %d)\n", conn.RemoteAddr(), reason, pid)
		conn.Close()
	}
}

// errNotDelivered: the process exited before it took the event.
var errNotDelivered = errors.New("the process exited before taking the event")

// invoke hands the event to the process and waits for its answer, at most
// timeout, counting the event in delivered once the process has taken it.
func (proc *process) invoke(event []byte, timeout time.Duration, delivered *atomic.Int64) ([]byte, error) {
	id := make([]byte, 16)
	rand.Read(id)
	inv := &invocation{id: hex.EncodeToString(id), event: event, deadline: time.Now().Add(timeout), done: make(chan outcome, 1)}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case proc.next <- inv:
		delivered.Add(1)
	case <-proc.exited:
		return nil, errNotDelivered
	case <-timer.C:
		return nil, ErrFunctionTimeout
	}
	select {
	case result := <-inv.done:
		return result.payload, result.err
	case <-proc.exited:
		return nil, ErrFunctionCrashed
	case <-timer.C:
		return nil, ErrFunctionTimeout
	}
}

func (proc *process) kill() {
	if proc.cmd.Process != nil {
		killProcess(proc.cmd)
	}
}

// The Runtime API's version prefix and the headers of an invocation, as
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html defines them.
const (
	runtimePrefix        = "/2018-06-01/runtime/"
	headerRequestID      = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline       = "Lambda-Runtime-Deadline-Ms"
	headerFunctionArn    = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID        = "Lambda-Runtime-Trace-Id"
	trailerFunctionError = "Lambda-Runtime-Function-Error-Type"
)

// ServeHTTP is the Lambda Runtime API for this one process.
func (proc *process) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, runtimePrefix)
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		proc.readyOne.Do(func() { close(proc.ready) })
		select {
		case inv := <-proc.next:
			proc.mu.Lock()
			proc.current = inv
			proc.mu.Unlock()
			w.Header().Set(headerRequestID, inv.id)
			w.Header().Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			w.Header().Set(headerFunctionArn, "arn:aws:lambda:us-east-1:000000000000:function:local")
			w.Header().Set(headerTraceID, "Root=1-00000000-"+inv.id[:24])
			w.Header().Set("Content-Type", "application/json")
			w.Write(inv.event)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && path == "init/error":
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseBytes+1))
		proc.mu.Lock()
		inv := proc.current
		if inv != nil && inv.id == id {
			proc.current = nil
		} else {
			inv = nil
		}
		proc.mu.Unlock()
		if inv == nil || (kind != "response" && kind != "error") {
			http.Error(w, `{"errorMessage":"unknown invocation","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		switch {
		case err != nil || len(body) > MaxResponseBytes:
			inv.done <- outcome{err: fmt.Errorf("%w: response larger than %d bytes", ErrFunctionError, MaxResponseBytes)}
		case kind == "error" || r.Trailer.Get(trailerFunctionError) != "":
			inv.done <- outcome{err: fmt.Errorf("%w: %s", ErrFunctionError, body)}
		default:
			inv.done <- outcome{payload: body}
		}
	default:
		http.NotFound(w, r)
	}
}

// prefixWriter writes each line of a function's output with the function's name.
type prefixWriter struct {
	prefix string
	out    io.Writer
	mu     sync.Mutex
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		fmt.Fprintf(w.out, "%s%s\n", w.prefix, w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}
