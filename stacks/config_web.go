package stacks

import "net/url"

// WebConfig turns on the stage's page, signed in with an Auth0 single-page
// application of the stage's tenant.
type WebConfig struct {
	Auth0ClientID string `json:"auth0ClientId,omitempty"`
}

// CorsConfig lists the browser origins allowed to call the API.
type CorsConfig struct {
	AllowOrigins []string `json:"allowOrigins"`
}

func validOrigin(origin string) bool {
	if origin == "*" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}
