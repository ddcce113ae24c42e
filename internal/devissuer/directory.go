package devissuer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
)

// Directory is who may sign in to the dev issuer and which applications may
// ask it for tokens, as an Auth0 tenant's users, roles and applications are.
// dev-users.json at the module root holds the shipped one.
type Directory struct {
	Users   []User   `json:"users"`
	Clients []Client `json:"clients"`
	// Organizations are Auth0 Organizations: a user signs in to one of
	// theirs, and the token then carries its org_id and the permissions of
	// the user's roles there.
	Organizations []Organization `json:"organizations,omitempty"`
}

// Organization is an Auth0 Organization with its members.
type Organization struct {
	// ID is what tokens carry as org_id, such as org_W30VRE8t8Zbwyb1T.
	ID string `json:"id"`
	// Name is Auth0's lowercase handle, org_name in tokens when the tenant
	// includes it; never what to authorize on.
	Name    string   `json:"name"`
	Members []Member `json:"members"`
}

// Member is a user of an organization, with the permissions that the
// user's roles in that organization give.
type Member struct {
	Sub         string   `json:"sub"`
	Permissions []string `json:"permissions"`
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
	// OrganizationUsage is Auth0's setting of the same name: "require" makes
	// a single-page application's users sign in to an organization, and "",
	// or "allow", lets them. A machine-to-machine client may ask for a
	// token of the organizations it lists in Organizations.
	OrganizationUsage string   `json:"organizationUsage,omitempty"`
	Organizations     []string `json:"organizations,omitempty"`
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
	orgs := map[string]bool{}
	for i, o := range d.Organizations {
		if !organizationID.MatchString(o.ID) || orgs[o.ID] {
			return fmt.Errorf("organizations[%d]: id %q is used twice or is not org_ followed by letters and digits, as Auth0's are", i, o.ID)
		}
		if !organizationName.MatchString(o.Name) || orgs[o.Name] {
			return fmt.Errorf("organizations[%d] (%s): name %q is used twice or is not 1 to 50 lowercase letters, digits, - and _, as Auth0's are", i, o.ID, o.Name)
		}
		orgs[o.ID], orgs[o.Name] = true, true
		for _, m := range o.Members {
			if !subs[m.Sub] {
				return fmt.Errorf("organizations[%d] (%s): member %q is not one of the users", i, o.ID, m.Sub)
			}
		}
	}
	for i, c := range d.Clients {
		if c.ClientID == "" || clients[c.ClientID] {
			return fmt.Errorf("clients[%d]: clientId %q is empty or used twice", i, c.ClientID)
		}
		if c.OrganizationUsage != "" && c.OrganizationUsage != "allow" && c.OrganizationUsage != "require" {
			return fmt.Errorf("clients[%d] (%s): organizationUsage %q is not allow or require", i, c.ClientID, c.OrganizationUsage)
		}
		for _, id := range c.Organizations {
			if !organizationID.MatchString(id) || !orgs[id] {
				return fmt.Errorf("clients[%d] (%s): organization %q is not the id of one of the organizations", i, c.ClientID, id)
			}
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

// organization finds an organization by its ID, or by its name when byName:
// Auth0's organization parameter takes a name only on a tenant with
// allow_organization_name_in_authentication_api on.
func (d *Directory) organization(idOrName string, byName bool) (*Organization, bool) {
	for i := range d.Organizations {
		if d.Organizations[i].ID == idOrName || byName && d.Organizations[i].Name == idOrName {
			return &d.Organizations[i], true
		}
	}
	return nil, false
}

// member is sub's membership of the organization.
func (o *Organization) member(sub string) (*Member, bool) {
	for i := range o.Members {
		if o.Members[i].Sub == sub {
			return &o.Members[i], true
		}
	}
	return nil, false
}

// organizationsOf lists the organizations sub is a member of.
func (d *Directory) organizationsOf(sub string) []Organization {
	var orgs []Organization
	for _, o := range d.Organizations {
		if _, ok := o.member(sub); ok {
			orgs = append(orgs, o)
		}
	}
	return orgs
}

var (
	organizationID   = regexp.MustCompile(`^org_[A-Za-z0-9]+$`)
	organizationName = regexp.MustCompile(`^[a-z0-9_-]{1,50}$`)
)

func (d *Directory) user(sub string) (*User, bool) {
	for i := range d.Users {
		if d.Users[i].Sub == sub {
			return &d.Users[i], true
		}
	}
	return nil, false
}
