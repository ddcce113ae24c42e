package localapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
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
	// FunctionOutput receives the functions' logs, AccessLog one JSON line per request.
	FunctionOutput, AccessLog io.Writer
}

// goHeaderAllowance is what net/http adds to Server.MaxHeaderBytes when it
// limits a request's header reads (net/http Server.initialReadLimitSize).
const goHeaderAllowance = 4096

// Server is a running local API, listening on URL.
type Server struct {
	URL     string
	handler *Handler
	pools   map[string]*lambdaproc.Pool // by the function's logical ID
	http    *http.Server
	done    chan struct{}
}

// Start builds every function for this machine, starts one warm process each,
// and serves the API. It returns once the API accepts requests.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	issuer := cfg.API.Issuer
	if cfg.Issuer != "" {
		issuer = cfg.Issuer
	}
	if err := jwtauth.CheckIssuerURL("issuer", issuer); err != nil {
		return nil, err
	}
	if cfg.IntegrationTimeout == 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	pools, err := startFunctions(ctx, cfg, issuer)
	if err != nil {
		return nil, err
	}
	keys := &jwtauth.RemoteKeySet{Issuer: issuer, RefetchGap: cfg.RefetchGap}
	verifier := &jwtauth.Verifier{Issuer: issuer, Audiences: cfg.API.Audience, Keys: keys, ClockSkew: cfg.ClockSkew}
	functions := map[string]Invoker{}
	for id, pool := range pools {
		functions[id] = pool
	}
	handler, err := NewHandler(cfg.API, verifier, functions, cfg.AccessLog)
	if err != nil {
		closePools(pools)
		return nil, err
	}
	handler.integrationTimeout = cfg.IntegrationTimeout
	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		closePools(pools)
		return nil, err
	}
	s := &Server{
		URL:     "http://" + listener.Addr().String(),
		handler: handler,
		pools:   pools,
		done:    make(chan struct{}),
		http: &http.Server{
			Handler: handler,
			// Go counts the request line and headers as they arrive, before any
			// trimming, up to MaxHeaderBytes plus its 4,096-byte bufio allowance,
			// and answers 431 past that: so the limit is exactly the API's.
			MaxHeaderBytes:    MaxHeaderBytes - goHeaderAllowance,
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
	go func() {
		s.http.Serve(listener)
		close(s.done)
	}()
	return s, nil
}

// Close stops serving and kills every function process.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.http.Shutdown(ctx)
	<-s.done
	closePools(s.pools)
}

func closePools(pools map[string]*lambdaproc.Pool) {
	for _, pool := range pools {
		pool.Close()
	}
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
// authorizer is (the dev issuer, with --dev-issuer).
func environment(fn apitemplate.Function, issuer string) map[string]string {
	if _, isAuthorizer := fn.Environment[apitemplate.AuthorizerIssuerVariable]; !isAuthorizer {
		return fn.Environment
	}
	env := maps.Clone(fn.Environment)
	env[apitemplate.AuthorizerIssuerVariable] = issuer
	return env
}

func startFunctions(ctx context.Context, cfg Config, issuer string) (map[string]*lambdaproc.Pool, error) {
	pools := map[string]*lambdaproc.Pool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, 0)
	for id, fn := range cfg.API.Functions {
		if !serves(cfg.API, id) {
			continue // such as aws-cdk-lib's deploy-time functions
		}
		if fn.GoPackage == "" {
			return nil, fmt.Errorf("function %s has no %s metadata: the template does not say which Go package to run", id, apitemplate.GoPackageMetadataKey)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			binary := filepath.Join(cfg.BuildDir, id, "bootstrap")
			err := gobuild.Build(cfg.Root, binary, runtime.GOOS, runtime.GOARCH, fn.GoPackage)
			var pool *lambdaproc.Pool
			if err == nil {
				timeout := min(time.Duration(fn.TimeoutSeconds)*time.Second, cfg.IntegrationTimeout)
				if isAuthorizerFunction(cfg.API, id) {
					timeout = min(timeout, LambdaAuthorizerTimeout)
				}
				pool = lambdaproc.NewPool(lambdaproc.Function{
					Name: id, Binary: binary, Environment: environment(fn, issuer), Timeout: timeout,
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
