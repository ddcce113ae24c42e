package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/gobuild"
)

// Config says what the local API runs and how.
type Config struct {
	Root   string           // the module root, where the functions' packages are
	API    *apitemplate.API // read from the synthesized template
	Issuer string           // replaces the template's issuer when set
	Addr   string           // listen address, such as 127.0.0.1:3000
	// MaxProcesses bounds each function's concurrent processes.
	MaxProcesses int
	ClockSkew    time.Duration
	RefetchGap   time.Duration // 0: DefaultRefetchGap
	// IntegrationTimeout is API Gateway's 30 s limit (0: that default).
	IntegrationTimeout time.Duration
	BuildDir           string // where host binaries go
	// FunctionOutput receives the functions' logs, AccessLog one JSON line per request.
	FunctionOutput, AccessLog io.Writer
}

// Local is a running local API.
type Local struct {
	URL   string
	Pools map[string]*Pool // by the function's logical ID
	Keys  *KeySet
	http  *http.Server
	done  chan struct{}
}

// Start builds every function for this machine, starts one warm process each,
// and serves the API. It returns once the API accepts requests.
func Start(ctx context.Context, cfg Config) (*Local, error) {
	issuer := cfg.API.Issuer
	if cfg.Issuer != "" {
		issuer = cfg.Issuer
	}
	if err := CheckIssuerURL(issuer); err != nil {
		return nil, err
	}
	if cfg.IntegrationTimeout == 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	pools, err := startFunctions(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keys := &KeySet{Issuer: issuer, RefetchGap: cfg.RefetchGap}
	authorizer := &Authorizer{Issuer: issuer, Audiences: cfg.API.Audience, Keys: keys, ClockSkew: cfg.ClockSkew}
	server := NewServer(cfg.API, authorizer, pools, cfg.AccessLog)
	server.IntegrationTimeout = cfg.IntegrationTimeout
	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		closePools(pools)
		return nil, err
	}
	l := &Local{
		URL:   "http://" + listener.Addr().String(),
		Pools: pools,
		Keys:  keys,
		done:  make(chan struct{}),
		http: &http.Server{
			Handler: server,
			// Go refuses far larger headers itself; the API's own 10,240-byte
			// limit is checked per request.
			MaxHeaderBytes:    64 << 10,
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
	go func() {
		l.http.Serve(listener)
		close(l.done)
	}()
	return l, nil
}

// Close stops serving and kills every function process.
func (l *Local) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.http.Shutdown(ctx)
	<-l.done
	closePools(l.Pools)
}

func closePools(pools map[string]*Pool) {
	for _, pool := range pools {
		pool.Close()
	}
}

func startFunctions(ctx context.Context, cfg Config) (map[string]*Pool, error) {
	pools := map[string]*Pool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, 0)
	for id, fn := range cfg.API.Functions {
		if fn.GoPackage == "" {
			return nil, fmt.Errorf("function %s has no %s metadata: the template does not say which Go package to run", id, apitemplate.GoPackageMetadataKey)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			binary := filepath.Join(cfg.BuildDir, id, "bootstrap")
			err := gobuild.Build(cfg.Root, binary, runtime.GOOS, runtime.GOARCH, fn.GoPackage)
			var pool *Pool
			if err == nil {
				timeout := min(time.Duration(fn.TimeoutSeconds)*time.Second, cfg.IntegrationTimeout)
				pool = NewPool(Function{
					Name: id, Binary: binary, Environment: fn.Environment, Timeout: timeout,
					MemoryMiB: fn.MemoryMiB, MaxProcesses: cfg.MaxProcesses, Output: cfg.FunctionOutput,
				})
				err = pool.Warm(ctx)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if pool != nil {
				pools[id] = pool
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closePools(pools)
		return nil, err
	}
	return pools, nil
}

// CheckIssuerURL accepts an https issuer, or http on a loopback address (the dev issuer).
func CheckIssuerURL(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return fmt.Errorf("issuer %q is not a URL", issuer)
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	return fmt.Errorf("issuer %q must be https, or http on a loopback address", issuer)
}

// Synthesize runs the CDK app the way the CDK CLI does, into outDir, with the
// context of cdk.json and without bundling: the local API builds the functions
// for this machine itself.
func Synthesize(root, outDir string, output io.Writer) error {
	data, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return err
	}
	var cdkJSON struct{ Context map[string]any }
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		return fmt.Errorf("cdk.json: %w", err)
	}
	if cdkJSON.Context == nil {
		cdkJSON.Context = map[string]any{}
	}
	cdkJSON.Context["aws:cdk:bundling-stacks"] = []string{}
	context, _ := json.Marshal(cdkJSON.Context)
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+outDir, "CDK_CONTEXT_JSON="+string(context),
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

// NeedsSynth tells whether cdkOut is missing or older than any source of the app.
func NeedsSynth(root, cdkOut string) bool {
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
