package localapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/gobuild"
	"github.com/auth0-http-api/cdk/internal/jwtauth"
	"github.com/auth0-http-api/cdk/internal/lambdaproc"
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
	RefetchGap   time.Duration // 0: jwtauth.DefaultRefetchGap
	// IntegrationTimeout is API Gateway's 30 s limit (0: that default).
	IntegrationTimeout time.Duration
	BuildDir           string // where host binaries go
	// ExtraCORSOrigins are allowed besides the template's CORS origins, in
	// every version of the API: the local page's, for one.
	ExtraCORSOrigins []string
	// FunctionEnvironment is set in every function's environment over the
	// template's: what the template resolves only at deploy, such as a
	// self-hosted issuer's key ARNs, or a stand-in's endpoint.
	FunctionEnvironment map[string]string
	// FunctionOutput receives the functions' logs, AccessLog one JSON line per request.
	FunctionOutput, AccessLog io.Writer
}

// goHeaderAllowance is what net/http adds to Server.MaxHeaderBytes when it
// limits a request's header reads (net/http Server.initialReadLimitSize).
const goHeaderAllowance = 4096

// Server is a running local API, listening on URL. Reload swaps in a new
// version of the API while it serves.
type Server struct {
	URL string
	cfg Config

	current  atomic.Pointer[generation]
	reloadMu sync.Mutex // one Reload at a time, and none during Close
	reloads  int
	retiring sync.WaitGroup
	http     *http.Server
	done     chan struct{}
}

// generation is one version of the API: its template, its handler and the
// pools of its functions. Requests hold it for reading while they run, so
// that retiring it waits for them.
type generation struct {
	api      *apitemplate.API
	handler  *Handler
	pools    map[string]*lambdaproc.Pool // by the function's logical ID
	specs    map[string]apitemplate.Function
	binaries map[string]string

	mu      sync.RWMutex
	retired bool
}

// Start builds every function for this machine, starts one warm process each,
// and serves the API. It returns once the API accepts requests.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.IntegrationTimeout == 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	s := &Server{cfg: cfg, done: make(chan struct{})}
	gen, _, err := s.newGeneration(ctx, cfg.API, nil, nil)
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		closePools(gen.pools)
		return nil, err
	}
	s.current.Store(gen)
	s.URL = "http://" + listener.Addr().String()
	s.http = &http.Server{
		Handler: http.HandlerFunc(s.serve),
		// Go counts the request line and headers as they arrive, before any
		// trimming, up to MaxHeaderBytes plus its 4,096-byte bufio allowance,
		// and answers 431 past that: so the limit is exactly the API's.
		MaxHeaderBytes:    MaxHeaderBytes - goHeaderAllowance,
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		s.http.Serve(listener)
		close(s.done)
	}()
	return s, nil
}

// serve answers a request with the current version of the API, which it
// holds until the answer is written: a request sees one version, never a mix.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	for {
		gen := s.current.Load()
		gen.mu.RLock()
		if gen.retired { // swapped out while this request was picking it up
			gen.mu.RUnlock()
			continue
		}
		gen.handler.ServeHTTP(w, r)
		gen.mu.RUnlock()
		return
	}
}

// handler is the current version's Handler.
func (s *Server) handler() *Handler { return s.current.Load().handler }

// API is the API the server serves now, the last Reload's.
func (s *Server) API() *apitemplate.API { return s.handler().api }

// Reload serves api from now on. The functions in rebuild, and those whose
// package, environment or limits the template changed, are built again and
// get new pools; the others keep theirs. If anything fails, the current
// version goes on serving and the error says why. Requests in flight finish
// on the version they started on. It returns the functions it rebuilt.
func (s *Server) Reload(ctx context.Context, api *apitemplate.API, rebuild []string) ([]string, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.current.Load()
	gen, rebuilt, err := s.newGeneration(ctx, api, old, rebuild)
	if err != nil {
		return nil, err
	}
	s.current.Store(gen)
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		old.mu.Lock() // waits for the requests that run on it
		old.retired = true
		old.mu.Unlock()
		for id, pool := range old.pools {
			if gen.pools[id] != pool {
				pool.Close()
				if old.binaries[id] != gen.binaries[id] {
					os.RemoveAll(filepath.Dir(old.binaries[id]))
				}
			}
		}
	}()
	return rebuilt, nil
}

// Close stops serving and kills every function process.
func (s *Server) Close() {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.http.Shutdown(ctx)
	<-s.done
	s.retiring.Wait()
	closePools(s.current.Load().pools)
}

func closePools(pools map[string]*lambdaproc.Pool) {
	for _, pool := range pools {
		pool.Close()
	}
}

// newGeneration builds a version of the API for api. With a previous
// version, it keeps the verifier (and its cached keys) when the issuer and
// audiences are the same, and each pool whose function is unchanged and not
// in rebuild.
func (s *Server) newGeneration(ctx context.Context, api *apitemplate.API, previous *generation, rebuild []string) (*generation, []string, error) {
	cfg := s.cfg
	issuer := api.Issuer
	if cfg.Issuer != "" {
		issuer = cfg.Issuer
	}
	if err := jwtauth.CheckIssuerURL("issuer", issuer); err != nil {
		return nil, nil, err
	}
	if api.Cors != nil && len(cfg.ExtraCORSOrigins) > 0 {
		withOrigins, cors := *api, *api.Cors
		for _, origin := range cfg.ExtraCORSOrigins {
			if !slices.Contains(cors.AllowOrigins, origin) {
				cors.AllowOrigins = append(slices.Clone(cors.AllowOrigins), origin)
			}
		}
		withOrigins.Cors = &cors
		api = &withOrigins
	}
	gen := &generation{api: api, pools: map[string]*lambdaproc.Pool{}, specs: map[string]apitemplate.Function{}, binaries: map[string]string{}}
	buildDir := cfg.BuildDir
	if previous != nil {
		s.reloads++
		buildDir = filepath.Join(cfg.BuildDir, fmt.Sprintf("reload-%d", s.reloads))
	}
	var toBuild []string
	for id, fn := range api.Functions {
		if !serves(api, id) {
			continue // such as aws-cdk-lib's deploy-time functions
		}
		if fn.GoPackage == "" {
			return nil, nil, fmt.Errorf("function %s has no %s metadata: the template does not say which Go package to run", id, apitemplate.GoPackageMetadataKey)
		}
		gen.specs[id] = fn
		if previous != nil && !slices.Contains(rebuild, id) && previous.pools[id] != nil && reflect.DeepEqual(previous.specs[id], fn) {
			gen.pools[id], gen.binaries[id] = previous.pools[id], previous.binaries[id]
			continue
		}
		toBuild = append(toBuild, id)
	}
	slices.Sort(toBuild)
	started, err := startFunctions(ctx, cfg, api, issuer, buildDir, toBuild)
	if err != nil {
		return nil, nil, err
	}
	for id, pool := range started {
		gen.pools[id], gen.binaries[id] = pool, filepath.Join(buildDir, id, "bootstrap")
	}
	var verifier *jwtauth.Verifier
	if previous != nil && previous.api.Issuer == api.Issuer && slices.Equal(previous.api.Audience, api.Audience) {
		verifier = previous.handler.verifier
	} else {
		keys := &jwtauth.RemoteKeySet{Issuer: issuer, RefetchGap: cfg.RefetchGap}
		verifier = &jwtauth.Verifier{Issuer: issuer, Audiences: api.Audience, Keys: keys, ClockSkew: cfg.ClockSkew}
	}
	functions := map[string]Invoker{}
	for id, pool := range gen.pools {
		functions[id] = pool
	}
	if gen.handler, err = NewHandler(api, verifier, functions, cfg.AccessLog); err != nil {
		closePools(started)
		return nil, nil, err
	}
	gen.handler.integrationTimeout = cfg.IntegrationTimeout
	return gen, toBuild, nil
}

// serves tells whether a function answers requests: it is behind a route or
// a Lambda authorizer.
func serves(api *apitemplate.API, id string) bool {
	return isAuthorizerFunction(api, id) || slices.ContainsFunc(api.Routes, func(r apitemplate.Route) bool { return r.Function == id })
}

// isAuthorizerFunction tells whether the function backs a Lambda authorizer.
func isAuthorizerFunction(api *apitemplate.API, id string) bool {
	for _, authorizer := range api.LambdaAuthorizers {
		if authorizer.Function == id {
			return true
		}
	}
	return false
}

// environment is a function's environment from the template, with a
// permissions authorizer pointed at the issuer the local API uses, as the JWT
// authorizer is (the dev issuer, with --dev-issuer), and at its plain-HTTP
// URLs.
func environment(fn apitemplate.Function, issuer string, extra map[string]string) map[string]string {
	env := maps.Clone(fn.Environment)
	if env == nil {
		env = map[string]string{}
	}
	if _, namesIssuer := env[apitemplate.AuthorizerIssuerVariable]; namesIssuer {
		env[apitemplate.AuthorizerIssuerVariable] = issuer
	}
	// The local API is plain HTTP: a DPoP proof's htu names that scheme.
	if _, namesScheme := env[apitemplate.APISchemeVariable]; namesScheme {
		env[apitemplate.APISchemeVariable] = "http"
	}
	maps.Copy(env, extra)
	return env
}

// startFunctions builds the functions ids of api for this machine into
// buildDir, and starts a warm pool for each.
func startFunctions(ctx context.Context, cfg Config, api *apitemplate.API, issuer, buildDir string, ids []string) (map[string]*lambdaproc.Pool, error) {
	binaries := map[string]string{} // output -> package
	for _, id := range ids {
		binaries[filepath.Join(buildDir, id, "bootstrap")] = api.Functions[id].GoPackage
	}
	if len(ids) > 0 {
		if err := gobuild.BuildForHost(ctx, cfg.Root, binaries); err != nil {
			return nil, err
		}
	}
	pools := map[string]*lambdaproc.Pool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, 0)
	for _, id := range ids {
		fn := api.Functions[id]
		timeout := min(time.Duration(fn.TimeoutSeconds)*time.Second, cfg.IntegrationTimeout)
		if isAuthorizerFunction(api, id) {
			timeout = min(timeout, LambdaAuthorizerTimeout)
		}
		pool := lambdaproc.NewPool(lambdaproc.Function{
			Name: id, Binary: filepath.Join(buildDir, id, "bootstrap"), Environment: environment(fn, issuer, cfg.FunctionEnvironment), Timeout: timeout,
			MemoryMiB: fn.MemoryMiB, MaxProcesses: cfg.MaxProcesses, Output: cfg.FunctionOutput,
		})
		pools[id] = pool
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pool.Warm(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
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
