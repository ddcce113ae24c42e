package localapi

import (
	"strings"
	"testing"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

func TestRouterFollowsHTTPAPIPriority(t *testing.T) {
	var routes []apitemplate.Route
	for _, key := range []string{"GET /pets/dog", "GET /pets/{id}", "ANY /pets/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default", "POST /pets"} {
		method, path, _ := strings.Cut(key, " ")
		routes = append(routes, apitemplate.Route{Key: key, Method: method, Path: path})
	}
	router := NewRouter(routes)
	cases := []struct{ method, path, want, param string }{
		{"GET", "/pets/dog", "GET /pets/dog", ""},           // static before {name}
		{"GET", "/pets/cat", "GET /pets/{id}", "cat"},       // {name} before greedy
		{"DELETE", "/pets/cat", "ANY /pets/{id}", "cat"},    // ANY when the method has no route
		{"GET", "/pets/cat/toys", "GET /pets/{proxy+}", ""}, // greedy for deeper paths
		{"PUT", "/pets/cat/toys", "ANY /{proxy+}", ""},
		{"POST", "/pets", "POST /pets", ""},
		{"GET", "/", "$default", ""}, // {proxy+} needs at least one segment
	}
	for _, c := range cases {
		route, params, ok := router.Match(c.method, c.path)
		if !ok || route.Key != c.want || (c.param != "" && params["id"] != c.param) {
			t.Errorf("%s %s: got %q %v, want %q", c.method, c.path, route.Key, params, c.want)
		}
	}
	if route, params, _ := router.Match("GET", "/pets/cat/toys"); params["proxy"] != "cat/toys" {
		t.Errorf("greedy parameter: %v (%s)", params, route.Key)
	}
	if _, _, ok := NewRouter(routes[:1]).Match("GET", "/nope"); ok {
		t.Error("an unmatched request matched")
	}
}
