package auth0tenant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/auth0/go-auth0/management"
)

// Change is one difference between the tenant and what the stage needs,
// with how to make it.
type Change struct {
	Summary string   // "+ …" creates, "~ …" updates, "- …" prunes, "! …" is for you to do
	Details []string // one line per field that differs
	// Prune: the change removes something the stage no longer needs; it is
	// made only with --prune.
	Prune bool
	apply func(ctx context.Context, s *session) error
}

// Manual tells whether the change is for you to make: apply cannot.
func (c Change) Manual() bool { return c.apply == nil }

// session carries what one apply learns as it goes: the credentials of the
// applications it creates, whose grants need their IDs.
type session struct {
	m       *management.Management
	created map[string]Credentials // by application name
}

// Credentials are a created application's; the secret is empty for a page.
type Credentials struct{ ClientID, ClientSecret string }

// Plan compares the tenant with want and returns the changes, in the order
// apply makes them. The prune changes are listed whether or not they will
// be made.
func Plan(ctx context.Context, m *management.Management, want Desired) ([]Change, error) {
	var changes []Change
	api, err := planAPI(ctx, m, want)
	if err != nil {
		return nil, err
	}
	changes = append(changes, api...)

	clients, err := listClients(ctx, m)
	if err != nil {
		return nil, err
	}
	if want.Page != nil {
		changes = append(changes, planPage(want, clients)...)
	}
	for i, smoke := range want.Smoke {
		organizations := want.Organizations && i == 0
		existing := findClient(clients, func(c *management.Client) bool { return c.GetName() == smoke.Name })
		if existing == nil {
			changes = append(changes, Change{
				Summary: fmt.Sprintf("+ application %q: create (machine to machine, for `apictl smoke`)", smoke.Name),
				apply: func(ctx context.Context, s *session) error {
					client := &management.Client{Name: &smoke.Name, AppType: ptr("non_interactive"), GrantTypes: &[]string{"client_credentials"},
						Description: ptr("Gets tokens for `apictl smoke --stage " + want.Stage + "`")}
					if err := s.m.Client.Create(ctx, client); err != nil {
						return err
					}
					s.created[smoke.Name] = Credentials{client.GetClientID(), client.GetClientSecret()}
					return nil
				},
			})
		}
		grants, err := planGrant(ctx, m, want.API.Identifier, smoke, existing, organizations)
		if err != nil {
			return nil, err
		}
		changes = append(changes, grants...)
	}
	return changes, nil
}

func planAPI(ctx context.Context, m *management.Management, want Desired) ([]Change, error) {
	wanted := &management.ResourceServer{
		Name: &want.API.Name, Identifier: &want.API.Identifier, SigningAlgorithm: ptr("RS256"), Scopes: ptr(scopes(want.API.Scopes)),
	}
	if want.API.RBAC {
		wanted.EnforcePolicies, wanted.TokenDialect = ptr(true), ptr("access_token_authz")
	}
	if want.API.OfflineAccess {
		wanted.AllowOfflineAccess = ptr(true)
	}
	if want.API.DPoP {
		wanted.ProofOfPossession = &management.ResourceServerProofOfPossession{Mechanism: ptr("dpop"), Required: ptr(true), RequiredFor: ptr("all_clients")}
	}
	current, err := m.ResourceServer.Read(ctx, want.API.Identifier)
	var notFound management.Error
	if errors.As(err, &notFound) && notFound.Status() == 404 {
		return []Change{{
			Summary: fmt.Sprintf("+ API %s: create (RS256, %d scopes%s%s%s)", want.API.Identifier, len(want.API.Scopes),
				map[bool]string{true: ", RBAC with permissions in the token"}[want.API.RBAC], map[bool]string{true: ", offline access"}[want.API.OfflineAccess],
				map[bool]string{true: ", DPoP required"}[want.API.DPoP]),
			Details: scopeLines("+ scope", want.API.Scopes),
			apply:   func(ctx context.Context, s *session) error { return s.m.ResourceServer.Create(ctx, wanted) },
		}}, nil
	}
	if err != nil {
		return nil, err
	}

	var details []string
	update := &management.ResourceServer{}
	if current.GetSigningAlgorithm() != "RS256" {
		details, update.SigningAlgorithm = append(details, fmt.Sprintf("signing algorithm %s → RS256 (API Gateway verifies RSA signatures only)", current.GetSigningAlgorithm())), wanted.SigningAlgorithm
	}
	if want.API.RBAC && (!current.GetEnforcePolicies() || current.GetTokenDialect() != "access_token_authz") {
		details = append(details, fmt.Sprintf("RBAC %t → true, token dialect %q → \"access_token_authz\" (a route requires permissions)", current.GetEnforcePolicies(), current.GetTokenDialect()))
		update.EnforcePolicies, update.TokenDialect = wanted.EnforcePolicies, wanted.TokenDialect
	}
	if want.API.OfflineAccess && !current.GetAllowOfflineAccess() {
		details, update.AllowOfflineAccess = append(details, "offline access false → true (the page signs in with refresh tokens)"), wanted.AllowOfflineAccess
	}
	if pop := current.GetProofOfPossession(); want.API.DPoP && (pop.GetMechanism() != "dpop" || !pop.GetRequired() || pop.GetRequiredFor() != "all_clients") {
		details = append(details, fmt.Sprintf("proof of possession %q, required %t for %q → DPoP, required for all clients (the stage requires DPoP)", pop.GetMechanism(), pop.GetRequired(), pop.GetRequiredFor()))
		update.ProofOfPossession = wanted.ProofOfPossession
	}
	have := map[string]string{}
	for _, scope := range current.GetScopes() {
		have[scope.GetValue()] = scope.GetDescription()
	}
	merged, scopeChanged := scopes(nil), false
	for _, scope := range want.API.Scopes {
		description, held := have[scope.Value]
		switch {
		case !held:
			details, scopeChanged = append(details, fmt.Sprintf("+ scope %s (%s)", scope.Value, scope.Description)), true
		case description != scope.Description:
			details, scopeChanged = append(details, fmt.Sprintf("~ scope %s: description %q → %q", scope.Value, description, scope.Description)), true
		}
		merged = append(merged, management.ResourceServerScope{Value: ptr(scope.Value), Description: ptr(scope.Description)})
	}
	var extra []management.ResourceServerScope
	for _, scope := range current.GetScopes() {
		if !slices.ContainsFunc(want.API.Scopes, func(s Scope) bool { return s.Value == scope.GetValue() }) {
			extra = append(extra, scope)
		}
	}
	var changes []Change
	if len(details) > 0 {
		if scopeChanged {
			// The scopes are written whole: keep the extra ones until a prune.
			update.Scopes = ptr(append(slices.Clone(merged), extra...))
		}
		changes = append(changes, Change{
			Summary: fmt.Sprintf("~ API %s: update", want.API.Identifier), Details: details,
			apply: func(ctx context.Context, s *session) error {
				return s.m.ResourceServer.Update(ctx, current.GetID(), update)
			},
		})
	}
	if len(extra) > 0 {
		var lines []string
		for _, scope := range extra {
			lines = append(lines, "- scope "+scope.GetValue()+" (required by no route)")
		}
		changes = append(changes, Change{
			Summary: fmt.Sprintf("- API %s: remove %d scopes", want.API.Identifier, len(extra)), Details: lines, Prune: true,
			apply: func(ctx context.Context, s *session) error {
				return s.m.ResourceServer.Update(ctx, current.GetID(), &management.ResourceServer{Scopes: &merged})
			},
		})
	}
	return changes, nil
}

func planPage(want Desired, clients []*management.Client) []Change {
	page := want.Page
	wanted := page.client()
	existing := findClient(clients, func(c *management.Client) bool { return c.GetClientID() == page.ClientID })
	if existing == nil {
		existing = findClient(clients, func(c *management.Client) bool { return c.GetName() == page.Name && c.GetAppType() == "spa" })
	}
	if want.Organizations {
		wanted.OrganizationUsage = ptr("allow")
	}
	if existing == nil {
		return []Change{{
			Summary: fmt.Sprintf("+ application %q: create (single-page application; then set stages.%s.web.auth0ClientId to its client ID)", page.Name, want.Stage),
			Details: []string{"origins " + strings.Join(page.Origins, " ")},
			apply: func(ctx context.Context, s *session) error {
				if err := s.m.Client.Create(ctx, wanted); err != nil {
					return err
				}
				s.created[page.Name] = Credentials{ClientID: wanted.GetClientID()}
				return nil
			},
		}}
	}
	var changes []Change
	if existing.GetClientID() != page.ClientID {
		changes = append(changes, Change{Summary: fmt.Sprintf("! stage %s names web.auth0ClientId %s, but its page application %q is %s: set stages.%s.web.auth0ClientId to %s in cdk.json",
			want.Stage, page.ClientID, page.Name, existing.GetClientID(), want.Stage, existing.GetClientID())})
	}
	var details []string
	update := &management.Client{}
	if existing.GetAppType() != "spa" || existing.GetTokenEndpointAuthMethod() != "none" {
		details = append(details, fmt.Sprintf("type %q, token endpoint auth %q → \"spa\", \"none\" (a page holds no secret)", existing.GetAppType(), existing.GetTokenEndpointAuthMethod()))
		update.AppType, update.TokenEndpointAuthMethod = wanted.AppType, wanted.TokenEndpointAuthMethod
	}
	if grants := existing.GetGrantTypes(); !slices.Contains(grants, "authorization_code") || !slices.Contains(grants, "refresh_token") {
		details, update.GrantTypes = append(details, fmt.Sprintf("grant types %v → %v", grants, *wanted.GrantTypes)), ptr(union(grants, *wanted.GrantTypes))
	}
	if existing.GetRefreshToken().GetRotationType() != "rotating" {
		details, update.RefreshToken = append(details, "refresh tokens → rotating"), wanted.RefreshToken
	}
	for _, list := range []struct {
		name       string
		have, want []string
		set        **[]string
	}{
		{"callbacks", existing.GetCallbacks(), *wanted.Callbacks, &update.Callbacks},
		{"logout URLs", existing.GetAllowedLogoutURLs(), *wanted.AllowedLogoutURLs, &update.AllowedLogoutURLs},
		{"web origins", existing.GetWebOrigins(), *wanted.WebOrigins, &update.WebOrigins},
	} {
		if missing := minus(list.want, list.have); len(missing) > 0 {
			details, *list.set = append(details, fmt.Sprintf("+ %s %s", list.name, strings.Join(missing, " "))), ptr(union(list.have, list.want))
		}
	}
	if usage := existing.GetOrganizationUsage(); want.Organizations && usage != "allow" && usage != "require" {
		details, update.OrganizationUsage = append(details, fmt.Sprintf("organization usage %q → \"allow\" (users sign in to their organization; \"require\" is kept where set)", usage)), ptr("allow")
	}
	if len(details) > 0 {
		id := existing.GetClientID()
		changes = append(changes, Change{
			Summary: fmt.Sprintf("~ application %q (%s): update", existing.GetName(), id), Details: details,
			apply: func(ctx context.Context, s *session) error { return s.m.Client.Update(ctx, id, update) },
		})
	}
	return changes
}

// planGrant keeps the smoke application's grant to the API at its scopes,
// and, with organizations, lets it get tokens for an organization
// (organization_usage allow). existing is nil for an application that apply
// is about to create.
func planGrant(ctx context.Context, m *management.Management, audience string, smoke Smoke, existing *management.Client, organizations bool) ([]Change, error) {
	var usage *string
	if organizations {
		usage = ptr("allow")
	}
	var grant *management.ClientGrant
	if existing != nil {
		list, err := m.ClientGrant.List(ctx, management.Parameter("audience", audience), management.Parameter("client_id", existing.GetClientID()))
		if err != nil {
			return nil, err
		}
		if len(list.ClientGrants) > 0 {
			grant = list.ClientGrants[0]
		}
	}
	if grant == nil {
		return []Change{{
			Summary: fmt.Sprintf("+ grant %q → %s: %s", smoke.Name, audience, strings.Join(smoke.Scopes, " ")),
			apply: func(ctx context.Context, s *session) error {
				id := s.created[smoke.Name].ClientID
				if existing != nil {
					id = existing.GetClientID()
				}
				return s.m.ClientGrant.Create(ctx, &management.ClientGrant{ClientID: &id, Audience: &audience, Scope: ptr(slices.Clone(smoke.Scopes)), OrganizationUsage: usage})
			},
		}}, nil
	}
	have := grant.GetScope()
	var changes []Change
	if missing := minus(smoke.Scopes, have); len(missing) > 0 {
		changes = append(changes, Change{
			Summary: fmt.Sprintf("~ grant %q → %s: + %s", smoke.Name, audience, strings.Join(missing, " ")),
			apply: func(ctx context.Context, s *session) error {
				return s.m.ClientGrant.Update(ctx, grant.GetID(), &management.ClientGrant{Scope: ptr(union(have, smoke.Scopes))})
			},
		})
	}
	if current := grant.GetOrganizationUsage(); organizations && current != "allow" && current != "require" {
		changes = append(changes, Change{
			Summary: fmt.Sprintf("~ grant %q → %s: organization usage %q → \"allow\" (tokens for an organization, for smoke's cross-organization checks)", smoke.Name, audience, current),
			apply: func(ctx context.Context, s *session) error {
				return s.m.ClientGrant.Update(ctx, grant.GetID(), &management.ClientGrant{OrganizationUsage: usage})
			},
		})
	}
	if extra := minus(have, smoke.Scopes); len(extra) > 0 {
		changes = append(changes, Change{
			Summary: fmt.Sprintf("- grant %q → %s: - %s", smoke.Name, audience, strings.Join(extra, " ")), Prune: true,
			apply: func(ctx context.Context, s *session) error {
				return s.m.ClientGrant.Update(ctx, grant.GetID(), &management.ClientGrant{Scope: ptr(slices.Clone(smoke.Scopes))})
			},
		})
	}
	return changes, nil
}

// Apply makes the changes in order, the prune ones only with prune, and
// returns the credentials of the applications it created, by name. It stops
// at the first failure; what it made before stays made, and a new plan shows
// what is left.
func Apply(ctx context.Context, m *management.Management, changes []Change, prune bool, log io.Writer) (map[string]Credentials, error) {
	s := &session{m: m, created: map[string]Credentials{}}
	for _, change := range changes {
		if change.Manual() || (change.Prune && !prune) {
			continue
		}
		if err := change.apply(ctx, s); err != nil {
			return s.created, fmt.Errorf("%s: %w", change.Summary, err)
		}
		fmt.Fprintln(log, "done: "+change.Summary)
	}
	return s.created, nil
}

// Drift tells whether the changes leave the tenant out of step: every change
// counts, but a prune only when pruning.
func Drift(changes []Change, prune bool) bool {
	return slices.ContainsFunc(changes, func(c Change) bool { return !c.Prune || prune })
}

// Print writes the changes as a readable diff.
func Print(w io.Writer, changes []Change, prune bool) {
	for _, change := range changes {
		summary := change.Summary
		if change.Prune && !prune {
			summary += " (kept: only --prune removes it)"
		}
		fmt.Fprintln(w, summary)
		for _, line := range change.Details {
			fmt.Fprintln(w, "    "+line)
		}
	}
}

func listClients(ctx context.Context, m *management.Management) ([]*management.Client, error) {
	var all []*management.Client
	for page := 0; ; page++ {
		list, err := m.Client.List(ctx, management.Page(page), management.PerPage(100))
		if err != nil {
			return nil, err
		}
		all = append(all, list.Clients...)
		if !list.HasNext() {
			return all, nil
		}
	}
}

func findClient(clients []*management.Client, match func(*management.Client) bool) *management.Client {
	if i := slices.IndexFunc(clients, match); i >= 0 {
		return clients[i]
	}
	return nil
}

func scopes(list []Scope) []management.ResourceServerScope {
	out := make([]management.ResourceServerScope, len(list))
	for i, scope := range list {
		out[i] = management.ResourceServerScope{Value: ptr(scope.Value), Description: ptr(scope.Description)}
	}
	return out
}

func scopeLines(prefix string, list []Scope) []string {
	lines := make([]string, len(list))
	for i, scope := range list {
		lines[i] = fmt.Sprintf("%s %s (%s)", prefix, scope.Value, scope.Description)
	}
	return lines
}

// minus is what of a is not in b.
func minus(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// union is a, then what of b it lacks.
func union(a, b []string) []string { return append(slices.Clone(a), minus(b, a)...) }
