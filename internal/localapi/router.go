package localapi

import (
	"strings"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
)

// Router selects a route as an HTTP API does: an exact match (static segments
// or {name}, on the method or ANY) before a greedy {proxy+} match, and
// "$default" last. More static segments win, and the method wins over ANY.
type Router struct {
	routes   []routeMatcher
	fallback *apitemplate.Route
}

type routeMatcher struct {
	route    apitemplate.Route
	segments []string
	greedy   bool
	statics  int
}

// NewRouter indexes routes.
func NewRouter(routes []apitemplate.Route) *Router {
	r := &Router{}
	for _, route := range routes {
		if route.Key == apitemplate.DefaultRouteKey {
			fallback := route
			r.fallback = &fallback
			continue
		}
		m := routeMatcher{route: route, segments: splitPath(route.Path)}
		for _, segment := range m.segments {
			switch {
			case strings.HasSuffix(segment, "+}"):
				m.greedy = true
			case !strings.HasPrefix(segment, "{"):
				m.statics++
			}
		}
		r.routes = append(r.routes, m)
	}
	return r
}

// Match returns the route for a request and its path parameters.
func (r *Router) Match(method, path string) (apitemplate.Route, map[string]string, bool) {
	requested := splitPath(path)
	var best *routeMatcher
	var bestParams map[string]string
	for i := range r.routes {
		m := &r.routes[i]
		if m.route.Method != method && m.route.Method != "ANY" {
			continue
		}
		params, ok := m.match(requested)
		if ok && (best == nil || m.betterThan(best)) {
			best, bestParams = m, params
		}
	}
	if best != nil {
		return best.route, bestParams, true
	}
	if r.fallback != nil {
		return *r.fallback, nil, true
	}
	return apitemplate.Route{}, nil, false
}

func (m *routeMatcher) betterThan(other *routeMatcher) bool {
	if m.greedy != other.greedy {
		return !m.greedy
	}
	if m.statics != other.statics {
		return m.statics > other.statics
	}
	return m.route.Method != "ANY" && other.route.Method == "ANY"
}

func (m *routeMatcher) match(requested []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, segment := range m.segments {
		if strings.HasSuffix(segment, "+}") {
			if i >= len(requested) || requested[i] == "" {
				return nil, false
			}
			params[strings.TrimSuffix(segment[1:], "+}")] = strings.Join(requested[i:], "/")
			return params, true
		}
		if i >= len(requested) {
			return nil, false
		}
		if strings.HasPrefix(segment, "{") {
			if requested[i] == "" {
				return nil, false
			}
			params[segment[1:len(segment)-1]] = requested[i]
		} else if segment != requested[i] {
			return nil, false
		}
	}
	return params, len(requested) == len(m.segments)
}

func splitPath(path string) []string {
	return strings.Split(strings.TrimPrefix(path, "/"), "/")
}
