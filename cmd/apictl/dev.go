package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/devissuer"
	"github.com/auth0-http-api/cdk/internal/localapi"
	"github.com/auth0-http-api/cdk/internal/openapi"
)

// devSPAClient is the single-page application of dev-users.json that the
// local page signs in as.
const devSPAClient = "dev-spa"

// devOptions are the ports of the local loop and where the built page is.
type devOptions struct {
	stage                        string
	apiPort, issuerPort, webPort int
	webDir                       string
	log                          io.Writer
}

// devStack is the whole local loop: the dev issuer, the local API and the
// page, each on 127.0.0.1.
type devStack struct {
	PageURL, APIURL, IssuerURL string
	local                      *localapi.Server
	api                        *apitemplate.API
	closers                    []func()
}

// Close stops the page, the issuer and the local API with its processes.
func (s *devStack) Close() {
	for _, close := range slices.Backward(s.closers) {
		close()
	}
}

// startDev starts the local loop for a stage. The page's origin is allowed
// where a deployed page's would be: as a callback of the dev issuer's SPA
// client, and in the local API's CORS origins.
func startDev(ctx context.Context, p *project, opts devOptions) (*devStack, error) {
	if _, err := os.Stat(filepath.Join(opts.webDir, "index.html")); err != nil {
		return nil, fmt.Errorf("no built page in %s: run `make web` (tsc and vite build)", opts.webDir)
	}
	api, err := p.load(opts.stage, opts.log)
	if err != nil {
		return nil, err
	}
	stack := &devStack{}
	listen := func(port int) (net.Listener, error) { return net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)) }
	serve := func(listener net.Listener, handler http.Handler) {
		server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		go server.Serve(listener)
		stack.closers = append(stack.closers, func() { server.Close() })
	}
	webListener, err := listen(opts.webPort)
	if err != nil {
		return nil, fmt.Errorf("the page cannot listen: %w", err)
	}
	stack.PageURL = "http://" + webListener.Addr().String() + "/"
	origin := stack.PageURL[:len(stack.PageURL)-1]

	issuerListener, err := listen(opts.issuerPort)
	if err != nil {
		webListener.Close()
		return nil, fmt.Errorf("the dev issuer cannot listen: %w", err)
	}
	dev, err := p.devIssuer(issuerListener.Addr().(*net.TCPAddr).Port, api)
	if err != nil {
		webListener.Close()
		issuerListener.Close()
		return nil, err
	}
	allowPage(dev.Directory, origin)
	stack.IssuerURL = dev.URL
	serve(issuerListener, dev)

	// The metadata's documentation is the local page's OpenAPI document.
	functionEnvironment := map[string]string{apitemplate.ResourceDocumentationVariable: stack.PageURL + "openapi.json"}
	if api.RequiresDPoP() {
		dynamo, err := standInReplayTable()
		if err != nil {
			webListener.Close()
			stack.Close()
			return nil, err
		}
		maps.Copy(functionEnvironment, dynamo)
	}
	local, err := localapi.Start(ctx, localapi.Config{
		Root: p.root, API: api, Issuer: dev.URL, Addr: fmt.Sprintf("127.0.0.1:%d", opts.apiPort), MaxProcesses: 4,
		ExtraCORSOrigins:    []string{origin},
		FunctionEnvironment: functionEnvironment,
		BuildDir:            filepath.Join(p.stateDir, "build", opts.stage), FunctionOutput: opts.log, AccessLog: opts.log,
	})
	if err != nil {
		webListener.Close()
		stack.Close()
		return nil, err
	}
	stack.APIURL = local.URL + "/"
	stack.local, stack.api = local, api
	stack.closers = append(stack.closers, local.Close)

	// Both follow the route table as --watch reloads the local API.
	generated := map[string]func() ([]byte, error){
		"/config.json": func() ([]byte, error) {
			api := local.API()
			return json.Marshal(apitemplate.NewPageConfig(opts.stage, api, strings.TrimSuffix(dev.URL, "/"), devSPAClient, stack.APIURL))
		},
		"/openapi.json": func() ([]byte, error) {
			doc, err := openapi.New(local.API(), openapi.LocalOptions(opts.stage, stack.APIURL, dev.URL))
			if err != nil {
				return nil, err
			}
			return doc.JSON(), nil
		},
	}
	csp := apitemplate.PageCSP(strings.TrimSuffix(dev.URL, "/"), strings.TrimSuffix(stack.APIURL, "/"))
	serve(webListener, pageHandler(opts.webDir, generated, csp))
	return stack, nil
}

// allowPage lets the dev SPA client sign in and out on the page's origin.
func allowPage(directory *devissuer.Directory, origin string) {
	for i := range directory.Clients {
		client := &directory.Clients[i]
		if client.ClientID != devSPAClient {
			continue
		}
		if !slices.Contains(client.CallbackURLs, origin+"/") {
			client.CallbackURLs = append(client.CallbackURLs, origin+"/")
			client.LogoutURLs = append(client.LogoutURLs, origin+"/")
			client.WebOrigins = append(client.WebOrigins, origin)
		}
	}
}

// pageHandler serves the built page, its generated files (config.json and
// openapi.json), and index.html for any other path, as a single-page
// application is served, with the same CSP as the deployed page, so that the
// browser test would catch a page it blocks.
func pageHandler(dir string, generated map[string]func() ([]byte, error), csp string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-security-policy", csp)
		if generate, ok := generated[r.URL.Path]; ok {
			content, err := generate()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("content-type", "application/json")
			w.Header().Set("cache-control", "no-store")
			w.Write(content)
			return
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.Clean("/"+r.URL.Path))); errors.Is(err, os.ErrNotExist) {
			r.URL.Path = "/"
		}
		files.ServeHTTP(w, r)
	})
}

func runDev(args []string, stdout, stderr io.Writer) int {
	flags, p := newFlags("dev", stderr)
	opts := devOptions{log: stderr}
	flags.StringVar(&opts.stage, "stage", "dev", "the stage to serve, as named in cdk.json")
	flags.IntVar(&opts.apiPort, "port", DefaultAPIPort, "the local API's port on 127.0.0.1")
	flags.IntVar(&opts.issuerPort, "issuer-port", DefaultIssuerPort, "the dev issuer's port")
	flags.IntVar(&opts.webPort, "web-port", 5173, "the page's port: the dev stage's CORS origin and the dev SPA client's callback")
	flags.StringVar(&opts.webDir, "web-dir", "web/dist", "the built page")
	watch := flags.Bool("watch", false, "reload the local API when the code, the route table or cdk.json changes")
	if flags.Parse(args) != nil {
		return 2
	}
	if err := p.resolve(&opts.webDir); err != nil {
		fmt.Fprintln(stderr, "apictl dev:", err)
		return 1
	}
	started := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := startDev(ctx, p, opts)
	if err != nil {
		fmt.Fprintln(stderr, "apictl dev:", err)
		return 1
	}
	fmt.Fprintf(stdout, "ready in %s: open %s\n  local API  %s\n  dev issuer %s (users: dev-users.json)\n", time.Since(started).Round(time.Millisecond), stack.PageURL, stack.APIURL, stack.IssuerURL)
	if *watch {
		go watchAndReload(ctx, p, opts.stage, stack.local, stack.api, stdout)
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping: the page, the dev issuer, the local API and its function processes")
	stack.Close()
	return 0
}
