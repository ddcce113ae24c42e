// Package auth0standin is Auth0's Management API on loopback, for tests: the
// client-credentials token endpoint, and resource servers, clients and client
// grants as https://auth0.com/docs/api/management/v2 documents them (page
// pagination with include_totals, PATCH merging, 401 for a bad token, 403
// naming the missing scope, 409 for a duplicate, 429 with Retry-After), so
// that Auth0's Go SDK runs against it unchanged.
package auth0standin

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Object is a resource as the API writes it in JSON.
type Object = map[string]any

// Tenant is the stand-in. Its fields are the tenant's state; lock Mu to read
// or change them while it serves.
type Tenant struct {
	URL    string // http://127.0.0.1:port
	Domain string // 127.0.0.1:port, as the SDK takes it

	Mu              sync.Mutex
	ResourceServers []Object
	Clients         []Object
	ClientGrants    []Object
	// Requests counts the Management API calls answered, by "METHOD /path".
	Requests map[string]int

	clientID, clientSecret string
	scopes                 []string          // what the management client was granted
	tokens                 map[string]string // access token -> "" (valid)
	rateLimited            int               // answer this many next calls 429
}

// Start serves a tenant whose Management API client is id and secret,
// granted scopes, until the test ends.
func Start(tb testing.TB, id, secret string, scopes ...string) *Tenant {
	tb.Helper()
	t := &Tenant{clientID: id, clientSecret: secret, scopes: scopes, tokens: map[string]string{}, Requests: map[string]int{}}
	server := httptest.NewServer(t)
	tb.Cleanup(server.Close)
	t.URL = server.URL
	t.Domain = strings.TrimPrefix(server.URL, "http://")
	return t
}

// RateLimit makes the next n Management API calls answer 429.
func (t *Tenant) RateLimit(n int) {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	t.rateLimited = n
}

func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth/token" {
		t.token(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v2/")
	if !ok {
		fail(w, http.StatusNotFound, "Not Found", "", "no such endpoint")
		return
	}
	t.Mu.Lock()
	defer t.Mu.Unlock()
	if _, valid := t.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; !valid {
		fail(w, http.StatusUnauthorized, "Unauthorized", "", "Invalid token")
		return
	}
	if t.rateLimited > 0 {
		t.rateLimited--
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-RateLimit-Limit", "2")
		w.Header().Set("X-RateLimit-Remaining", "0")
		fail(w, http.StatusTooManyRequests, "Too Many Requests", "too_many_requests", "Global limit has been reached")
		return
	}
	collection, id, _ := strings.Cut(path, "/")
	id, _ = url.PathUnescape(id)
	t.Requests[r.Method+" /api/v2/"+collection+map[bool]string{true: "/{id}"}[id != ""]]++

	var body Object
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			fail(w, http.StatusBadRequest, "Bad Request", "invalid_body", "Payload validation error: 'Invalid JSON'")
			return
		}
	}
	need := map[string]string{http.MethodGet: "read:", http.MethodPost: "create:", http.MethodPatch: "update:", http.MethodDelete: "delete:"}[r.Method] +
		strings.ReplaceAll(collection, "-", "_")
	if !slices.Contains(t.scopes, need) {
		fail(w, http.StatusForbidden, "Forbidden", "insufficient_scope", "Insufficient scope, expected any of: "+need)
		return
	}
	switch collection {
	case "resource-servers":
		t.serve(w, r, &t.ResourceServers, "resource_servers", id, body, func(o Object) bool { return o["id"] == id || o["identifier"] == id },
			func(o Object) string {
				if existing := find(t.ResourceServers, func(e Object) bool { return e["identifier"] == o["identifier"] }); existing != nil {
					return "A resource server with the same identifier already exists"
				}
				o["id"] = randomID(12)
				return ""
			})
	case "clients":
		t.serve(w, r, &t.Clients, "clients", id, body, func(o Object) bool { return o["client_id"] == id },
			func(o Object) string {
				o["client_id"] = randomID(24)
				if o["token_endpoint_auth_method"] != "none" {
					o["client_secret"] = randomID(48)
				}
				return ""
			})
	case "client-grants":
		t.serve(w, r, &t.ClientGrants, "client_grants", id, body, func(o Object) bool { return o["id"] == id },
			func(o Object) string {
				if find(t.ClientGrants, func(e Object) bool { return e["client_id"] == o["client_id"] && e["audience"] == o["audience"] }) != nil {
					return "A client grant for that client and audience already exists"
				}
				o["id"] = "cgr_" + randomID(12)
				return ""
			})
	default:
		fail(w, http.StatusNotFound, "Not Found", "", "no such endpoint")
	}
}

// serve answers one collection: list with filters and pages, read, create
// (created checks and completes the new object, or says why it conflicts),
// and update, which merges the body into the object.
func (t *Tenant) serve(w http.ResponseWriter, r *http.Request, all *[]Object, listKey, id string, body Object, match func(Object) bool, created func(Object) string) {
	switch {
	case r.Method == http.MethodGet && id == "":
		query := r.URL.Query()
		var selected []Object
		for _, o := range *all {
			if (query.Get("audience") == "" || o["audience"] == query.Get("audience")) && (query.Get("client_id") == "" || o["client_id"] == query.Get("client_id")) {
				selected = append(selected, o)
			}
		}
		page, _ := strconv.Atoi(query.Get("page"))
		perPage, err := strconv.Atoi(query.Get("per_page"))
		if err != nil || perPage < 1 || perPage > 100 {
			perPage = 50
		}
		start := min(page*perPage, len(selected))
		items := selected[start:min(start+perPage, len(selected))]
		if query.Get("include_totals") != "true" {
			answer(w, http.StatusOK, items)
			return
		}
		answer(w, http.StatusOK, Object{listKey: items, "start": start, "limit": perPage, "length": len(items), "total": len(selected)})
	case r.Method == http.MethodPost && id == "":
		o := maps.Clone(body)
		if conflict := created(o); conflict != "" {
			fail(w, http.StatusConflict, "Conflict", "conflict", conflict)
			return
		}
		*all = append(*all, o)
		answer(w, http.StatusCreated, o)
	case id != "":
		o := find(*all, match)
		if o == nil {
			fail(w, http.StatusNotFound, "Not Found", "inexistent_"+strings.TrimSuffix(listKey, "s"), "The "+strings.ReplaceAll(strings.TrimSuffix(listKey, "s"), "_", " ")+" does not exist")
			return
		}
		if r.Method == http.MethodPatch {
			maps.Copy(o, body)
		}
		answer(w, http.StatusOK, o)
	default:
		fail(w, http.StatusNotFound, "Not Found", "", "no such endpoint")
	}
}

// token answers the client-credentials grant for the Management API, with
// the client's credentials in a Basic header or in the form.
func (t *Tenant) token(w http.ResponseWriter, r *http.Request) {
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if r.PostFormValue("grant_type") != "client_credentials" || r.PostFormValue("audience") != t.URL+"/api/v2/" {
		answer(w, http.StatusForbidden, Object{"error": "access_denied", "error_description": "Service not enabled within domain: " + r.PostFormValue("audience")})
		return
	}
	if id != t.clientID || secret != t.clientSecret {
		answer(w, http.StatusUnauthorized, Object{"error": "access_denied", "error_description": "Unauthorized"})
		return
	}
	token := randomID(32)
	t.Mu.Lock()
	t.tokens[token] = ""
	t.Mu.Unlock()
	answer(w, http.StatusOK, Object{"access_token": token, "token_type": "Bearer", "expires_in": 86400, "scope": strings.Join(t.scopes, " ")})
}

func find(all []Object, match func(Object) bool) Object {
	for _, o := range all {
		if match(o) {
			return o
		}
	}
	return nil
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.NewReplacer("-", "A", "_", "B").Replace(base64.RawURLEncoding.EncodeToString(b))[:n]
}

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func fail(w http.ResponseWriter, status int, title, code, message string) {
	body := Object{"statusCode": status, "error": title, "message": message}
	if code != "" {
		body["errorCode"] = code
	}
	answer(w, status, body)
}

// Sprint renders the tenant's state, for a test's failure message.
func (t *Tenant) Sprint() string {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	state, _ := json.MarshalIndent(Object{"resource_servers": t.ResourceServers, "clients": t.Clients, "client_grants": t.ClientGrants}, "", "  ")
	return fmt.Sprint(string(state))
}
