package devissuer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
)

// Directory is who may sign in to the dev issuer and which applications may
// ask it for tokens, as an Auth0 tenant's users, roles and applications are.
// dev-users.json at the module root holds the shipped one.
type Directory struct {
	Users   []User   `json:"users"`
	Clients []Client `json:"clients"`
}

// User is a person who can sign in on the dev issuer's login page. Scopes
// are those the user may be granted; permissions, as RBAC roles give them,
// go into every access token of the user.
type User struct {
	Sub         string   `json:"sub"`
	Name        string   `json:"name"`
	Email       string   `json:"email"`
	Scopes      []string `json:"scopes"`
	Permissions []string `json:"permissions"`
}

// Client is an application. One with a secret is a machine-to-machine client
// (client credentials, granted its scopes and permissions); one without is a
// single-page application (authorization code with PKCE), which may only use
// its listed callback, logout and web-origin URLs.
type Client struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret,omitempty"`
	CallbackURLs []string `json:"callbackUrls,omitempty"`
	LogoutURLs   []string `json:"logoutUrls,omitempty"`
	WebOrigins   []string `json:"webOrigins,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	Permissions  []string `json:"permissions,omitempty"`
}

// LoadDirectory reads and checks a directory file.
func LoadDirectory(path string) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	var d Directory
	if err := decoder.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

func (d *Directory) check() error {
	subs, clients := map[string]bool{}, map[string]bool{}
	for i, u := range d.Users {
		if u.Sub == "" || subs[u.Sub] {
			return fmt.Errorf("users[%d]: sub %q is empty or used twice", i, u.Sub)
		}
		subs[u.Sub] = true
	}
	for i, c := range d.Clients {
		if c.ClientID == "" || clients[c.ClientID] {
			return fmt.Errorf("clients[%d]: clientId %q is empty or used twice", i, c.ClientID)
		}
		clients[c.ClientID] = true
		for _, u := range append(slices.Clone(c.CallbackURLs), c.LogoutURLs...) {
			if parsed, err := url.Parse(u); err != nil || parsed.Scheme == "" || parsed.Host == "" {
				return fmt.Errorf("clients[%d] (%s): %q is not an absolute URL", i, c.ClientID, u)
			}
		}
	}
	return nil
}

func (d *Directory) client(id string) (*Client, bool) {
	for i := range d.Clients {
		if d.Clients[i].ClientID == id {
			return &d.Clients[i], true
		}
	}
	return nil, false
}

func (d *Directory) user(sub string) (*User, bool) {
	for i := range d.Users {
		if d.Users[i].Sub == sub {
			return &d.Users[i], true
		}
	}
	return nil, false
}
