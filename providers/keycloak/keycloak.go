package keycloak

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("keycloak: invalid configuration")

// ErrClient is returned when the token's client claims are not on
// AllowedClients: it names no client (neither azp nor client_id), or one of
// those present is not listed. It wraps smartauth.ErrClientID (reason
// "client_id").
var ErrClient = fmt.Errorf("keycloak: client not allowed: %w", smartauth.ErrClientID)

// Config describes one Keycloak realm.
type Config struct {
	// BaseURL is the server URL, e.g. "https://kc.example.com".
	BaseURL string
	// Realm is the realm name.
	Realm string
	// PathPrefix is a relative path between the base URL and /realms, e.g.
	// "/auth" for Keycloak before 17 or a custom http-relative-path.
	PathPrefix string
	// Audiences are accepted in aud in addition to the data store endpoint
	// from the HealthLake event.
	Audiences []string
	// AllowedClients, when non-empty, requires the token to name its client
	// in azp, client_id or both, and every one present to be listed
	// (smartauth.Clients; a token with only client_id is accepted).
	AllowedClients []string
	// Algorithms is the realm's JWS allow-list (default RS256).
	Algorithms []string
	// RealmRoleScopes maps realm roles (realm_access.roles) to SMART scopes
	// added to the token's own. Off when nil.
	RealmRoleScopes map[string][]string
	// ClientRoleScopes maps resource_access.<client>.roles to SMART scopes.
	ClientRoleScopes map[string]map[string][]string
	// RoleScopeClients lists the requesting clients (azp) whose tokens
	// receive role-mapped scopes. Required with either role table: a user
	// signing in to a third-party app must not receive the scopes their
	// roles grant in your own apps.
	RoleScopeClients []string
	// JWKSURL overrides the derived certs URL (for example from Discover).
	JWKSURL string
	// KeySet replaces the remote key set (tests, offline use).
	KeySet smartauth.KeySet
	// KeySetOptions configures the remote key set (HTTP client, timeouts).
	KeySetOptions smartauth.RemoteOptions
	// Check is an optional extra check on verified claims.
	Check func(*smartauth.Claims) error
	// Introspection, when set, asks Keycloak's RFC 7662 endpoint whether each
	// locally valid token is still active (revocation, logout). Off by
	// default: it costs a network round trip inside the 1 s budget for every
	// token not in its short cache.
	Introspection *Introspection
}

// IssuerURL returns <base><prefix>/realms/<realm>.
func IssuerURL(baseURL, realm, pathPrefix string) (string, error) {
	u, err := url.Parse(baseURL)
	if err == nil && u.User != nil {
		// Not quoted: it may hold a password.
		return "", fmt.Errorf("%w: base URL has user information", ErrConfig)
	}
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%w: base URL %q is not an absolute http(s) URL", ErrConfig, baseURL)
	}
	if strings.ContainsAny(baseURL, "?#") {
		return "", fmt.Errorf("%w: base URL %q has a query or fragment", ErrConfig, baseURL)
	}
	if realm == "" || realm == "." || realm == ".." || strings.ContainsAny(realm, "/?#% ") {
		return "", fmt.Errorf("%w: realm %q is empty or not a plain name", ErrConfig, realm)
	}
	prefix := strings.Trim(pathPrefix, "/")
	if strings.ContainsAny(prefix, "?#% ") || strings.Contains(prefix, "..") {
		return "", fmt.Errorf("%w: path prefix %q is not a plain relative path", ErrConfig, pathPrefix)
	}
	base := strings.TrimRight(baseURL, "/")
	if prefix != "" {
		base += "/" + prefix
	}
	return base + "/realms/" + realm, nil
}

// JWKSURL returns <issuer>/protocol/openid-connect/certs.
func JWKSURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/protocol/openid-connect/certs"
}

// DiscoveryURL returns <issuer>/.well-known/openid-configuration.
func DiscoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// New returns the issuer configuration for the realm. Put it in
// smartauth.Config.Issuers.
func New(cfg Config) (smartauth.IssuerConfig, error) {
	iss, err := IssuerURL(cfg.BaseURL, cfg.Realm, cfg.PathPrefix)
	if err != nil {
		return smartauth.IssuerConfig{}, err
	}
	if slices.Contains(cfg.RoleScopeClients, "") {
		return smartauth.IssuerConfig{}, fmt.Errorf("%w: empty entry in RoleScopeClients", ErrConfig)
	}
	if (len(cfg.RealmRoleScopes) > 0 || len(cfg.ClientRoleScopes) > 0) && len(cfg.RoleScopeClients) == 0 {
		return smartauth.IssuerConfig{}, fmt.Errorf("%w: role scope tables need RoleScopeClients (the azp values allowed to receive them)", ErrConfig)
	}
	ks := cfg.KeySet
	if ks == nil {
		jwks := cfg.JWKSURL
		if jwks == "" {
			jwks = JWKSURL(iss)
		}
		rks, err := smartauth.NewRemoteKeySet(jwks, cfg.KeySetOptions)
		if err != nil {
			return smartauth.IssuerConfig{}, fmt.Errorf("%w: key set: %w", ErrConfig, err)
		}
		ks = rks
	}
	audience := smartauth.EndpointAudience(cfg.Audiences...)
	if len(cfg.AllowedClients) > 0 {
		allowed := smartauth.Clients(slices.Clone(cfg.AllowedClients))
		audience = smartauth.AllOf(audience, smartauth.AudienceFunc(func(c *smartauth.Claims, _ string) error {
			if !allowed.Allows(c) {
				return ErrClient
			}
			return nil
		}))
	}
	// smartauth checks the token kind (payload typ) before the audience
	// policy, so an ID or refresh token is reported as ErrTokenUse.
	bearer := smartauth.RequirePayloadType("Bearer")
	ic := smartauth.IssuerConfig{
		Issuer:     iss,
		KeySet:     ks,
		Algorithms: cfg.Algorithms,
		Audience:   audience,
		TokenKind:  bearer,
		Check:      cfg.Check,
	}
	if cfg.Introspection != nil {
		in, err := NewIntrospector(iss, *cfg.Introspection)
		if err != nil {
			return smartauth.IssuerConfig{}, err
		}
		ic.RemoteCheck = in.Check
	}
	if len(cfg.RealmRoleScopes) > 0 || len(cfg.ClientRoleScopes) > 0 {
		ic.ExtraScopes = roleScopes(cfg.RealmRoleScopes, cfg.ClientRoleScopes, cfg.RoleScopeClients)
	}
	return ic, nil
}

// roleScopes maps realm and client roles to scopes through explicit tables
// (smartauth.MappedScopes), realm roles first, then clients in sorted order
// so the resulting scope order is stable. Only tokens whose azp is allowed
// receive them (client_id is not consulted).
func roleScopes(realm map[string][]string, clients map[string]map[string][]string, allowed []string) func(*smartauth.Claims) []string {
	tables := []func(*smartauth.Claims) []string{
		smartauth.MappedScopes(allowed, azp, realm, func(c *smartauth.Claims) []string { return c.RealmRoles }),
	}
	for _, client := range slices.Sorted(maps.Keys(clients)) {
		tables = append(tables, smartauth.MappedScopes(allowed, azp, clients[client],
			func(c *smartauth.Claims) []string { return c.ClientRoles[client] }))
	}
	return func(c *smartauth.Claims) []string {
		var out []string
		for _, m := range tables {
			out = append(out, m(c)...)
		}
		return out
	}
}

func azp(c *smartauth.Claims) string { return c.AuthorizedParty }
