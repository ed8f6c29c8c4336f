package smartauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Clock-skew bounds for exp, nbf and iat. NoClockSkew, as Config.ClockSkew,
// applies none (expect occasional denials at second boundaries when the
// IdP's clock runs ahead).
const (
	DefaultClockSkew               = 30 * time.Second
	MaxClockSkew                   = 5 * time.Minute
	NoClockSkew      time.Duration = -1
)

// Config is the token policy of a Validator. NewValidator refuses a Config
// without an issuer, or an issuer without a key set or audience policy.
type Config struct {
	// Issuers are the trusted issuers. The token's unverified iss selects
	// one by exact match before any network I/O.
	Issuers []IssuerConfig
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// ClockSkew: zero selects DefaultClockSkew, NoClockSkew none; above
	// MaxClockSkew or other negative values are refused.
	ClockSkew time.Duration
	// MaxTokenSize caps the raw token length in bytes (zero:
	// DefaultMaxTokenSize; at most MaxTokenSizeLimit).
	MaxTokenSize int
	// AnyResourceType accepts any well-formed resource type name in scopes,
	// not only FHIR R4 types.
	AnyResourceType bool
	// Endpoints, when set, are the only data store endpoints served (one
	// trailing "/" ignored). Required when an audience policy does not tie
	// tokens to the event's endpoint (ClientIDs, ExactAudience, extra
	// audiences, custom policies): else every data store trusting the
	// issuer would accept the token.
	Endpoints []string
	// InsecureSkipEndpointCheck waives that requirement, for offline tools
	// and tests only. It MUST NOT be set in front of a data store.
	InsecureSkipEndpointCheck bool
	// InsecureAllowHTTPIssuers accepts http:// issuers (local test IdPs).
	// It MUST NOT be set in production.
	InsecureAllowHTTPIssuers bool
	// Cache, when set, turns on the verified-token cache (see CacheConfig).
	// Nil (the default) verifies every token in full.
	Cache *CacheConfig
}

// IssuerConfig describes one trusted issuer. ExtraScopes, Check and
// RemoteCheck run again on every cache hit (Config.Cache), concurrently, on
// the cached entry's claims: they MUST NOT modify the Claims they are given.
type IssuerConfig struct {
	Issuer string // compared byte for byte with the token's iss
	KeySet KeySet // required
	// Algorithms is the JWS allow-list, a subset of RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA; empty means RS256.
	Algorithms []string
	// Audience is required: EndpointAudience, ExactAudience, ClientIDs or
	// your own.
	Audience AudiencePolicy
	// TokenKind decides whether the token is an access token (nil:
	// RejectNonAccessTokens).
	TokenKind TokenKindRule
	// ScopePrefixes are stripped (exact match plus "/") from each scope
	// before parsing (a Cognito resource server); when set, an absolute-URI
	// scope left after stripping (another resource server's) is dropped.
	ScopePrefixes []string
	// ExtraScopes derives more scopes from verified claims (groups, roles);
	// they are parsed like the token's, invalid ones dropped.
	ExtraScopes func(*Claims) []string
	// Check runs after every built-in check; an error denies, wrapped with
	// ErrCustomCheck. lambdaadapter logs its text: no claim values in it.
	Check func(*Claims) error
	// RemoteCheck may do network I/O (RFC 7662 introspection); it runs last,
	// only for tokens that passed every local check, and must honour ctx
	// (the Lambda has under 1 s). Its error is wrapped with ErrRemoteCheck.
	RemoteCheck func(ctx context.Context, token string, c *Claims) error
}

// AudiencePolicy decides whether a verified token is meant for the data
// store at endpoint.
type AudiencePolicy interface {
	CheckAudience(c *Claims, endpoint string) error
}

// AudienceFunc adapts a function to AudiencePolicy.
type AudienceFunc func(c *Claims, endpoint string) error

// CheckAudience calls f.
func (f AudienceFunc) CheckAudience(c *Claims, endpoint string) error { return f(c, endpoint) }

// EndpointAudience is the default policy: aud must contain the data store
// endpoint or one of extra (exact, one trailing "/" ignored). With extra,
// Config.Endpoints becomes required.
func EndpointAudience(extra ...string) AudiencePolicy {
	return endpointAudience{allowed: normaliseAll(extra)}
}

// ExactAudience requires aud to contain one of auds; the endpoint is not
// consulted.
func ExactAudience(auds ...string) AudiencePolicy {
	return endpointAudience{allowed: normaliseAll(auds), exact: true}
}

type endpointAudience struct {
	allowed []string
	exact   bool // the endpoint is not consulted
}

func (p endpointAudience) CheckAudience(c *Claims, endpoint string) error {
	ep := trimSlash(endpoint)
	for _, a := range c.Audience {
		a = trimSlash(a)
		if (!p.exact && ep != "" && a == ep) || slices.Contains(p.allowed, a) {
			return nil
		}
	}
	if p.exact {
		return fmt.Errorf("%w: aud not in the configured list", ErrAudience)
	}
	return fmt.Errorf("%w: aud does not name this data store", ErrAudience)
}

// bindsEndpoint reports whether p accepts only tokens naming the event's
// data store.
func bindsEndpoint(p AudiencePolicy) bool {
	switch p := p.(type) {
	case endpointAudience:
		return !p.exact && len(p.allowed) == 0
	case allOf:
		return slices.ContainsFunc(p, bindsEndpoint)
	}
	return false
}

// AllOf requires every policy to accept (the first error is returned); it
// binds the endpoint when one of them does. Use it to add a client
// allow-list to EndpointAudience. NewValidator refuses an AllOf without
// policies or with a nil one (nested ones included).
func AllOf(policies ...AudiencePolicy) AudiencePolicy { return allOf(slices.Clone(policies)) }

type allOf []AudiencePolicy

// allOfProblem names what makes an AllOf in p (nested ones included)
// unusable: no policies (it would accept every token) or a nil member.
func allOfProblem(p AudiencePolicy) string {
	ps, ok := p.(allOf)
	if !ok {
		return ""
	}
	if len(ps) == 0 {
		return "AllOf has no policies (it would accept every token)"
	}
	for i, m := range ps {
		if m == nil {
			return fmt.Sprintf("AllOf policy %d is nil", i)
		}
		if msg := allOfProblem(m); msg != "" {
			return msg
		}
	}
	return ""
}

func (ps allOf) CheckAudience(c *Claims, endpoint string) error {
	for _, p := range ps {
		if p == nil {
			return fmt.Errorf("%w: nil audience policy", ErrConfig)
		}
		if err := p.CheckAudience(c, endpoint); err != nil {
			return err
		}
	}
	return nil
}

// ClientIDs is the audience policy of access tokens without aud (Cognito):
// client_id (RFC 9068 §2.2) is required and must be listed, and azp, when
// present, must be listed too. A token naming its client only in azp (an
// OpenID Connect ID token) is refused.
func ClientIDs(ids ...string) AudiencePolicy {
	l := Clients(slices.Clone(ids))
	return AudienceFunc(func(c *Claims, _ string) error {
		if c.ClientID == "" || !l.Allows(c) {
			return fmt.Errorf("%w: client_id missing or not on the allow-list", ErrClientID)
		}
		return nil
	})
}

// ClientOf returns the app client a token was issued to: client_id
// (Cognito, RFC 9068), else azp (Keycloak, OpenID Connect).
func ClientOf(c *Claims) string { return cmp.Or(c.ClientID, c.AuthorizedParty) }

// Clients is an app-client allow-list (exact match) for tokens naming their
// client in client_id or azp (Keycloak, the generic provider): a token needs
// at least one of the two, each it has listed. Use it with AllOf.
type Clients []string

// Allows reports whether c's client claims are on the list.
func (l Clients) Allows(c *Claims) bool {
	if c.ClientID == "" && c.AuthorizedParty == "" {
		return false
	}
	return (c.ClientID == "" || slices.Contains(l, c.ClientID)) &&
		(c.AuthorizedParty == "" || slices.Contains(l, c.AuthorizedParty))
}

// CheckAudience is Allows as an error wrapping ErrClientID.
func (l Clients) CheckAudience(c *Claims, _ string) error {
	if !l.Allows(c) {
		return fmt.Errorf("%w: client not on the allow-list", ErrClientID)
	}
	return nil
}

// MappedScopes returns an ExtraScopes function adding table[name] for each
// of names(c) (groups, roles), only for tokens whose client(c) (client_id
// for Cognito, azp for Keycloak) is listed: a user of a third-party app
// must not get the scopes their groups grant in your own apps. table and
// clients are copied.
func MappedScopes(clients []string, client func(*Claims) string, table map[string][]string, names func(*Claims) []string) func(*Claims) []string {
	clients = slices.Clone(clients)
	t := make(map[string][]string, len(table))
	for name, s := range table {
		t[name] = slices.Clone(s)
	}
	return func(c *Claims) []string {
		if id := client(c); id == "" || !slices.Contains(clients, id) {
			return nil
		}
		var out []string
		for _, name := range names(c) {
			out = append(out, t[name]...)
		}
		return out
	}
}

// TokenKindRule decides whether verified claims belong to an access token.
type TokenKindRule func(c *Claims) error

// RequireTokenUse requires the Cognito-style token_use claim to equal use.
func RequireTokenUse(use string) TokenKindRule {
	return func(c *Claims) error { return tokenKind("token_use", c.TokenUse, use, false) }
}

// RequirePayloadType requires the Keycloak-style payload typ claim to equal typ.
func RequirePayloadType(typ string) TokenKindRule {
	return func(c *Claims) error { return tokenKind("payload typ", c.Type, typ, false) }
}

// RejectNonAccessTokens rejects a token declaring another kind (token_use
// not "access", payload typ not "Bearer"). Tokens declaring neither pass:
// the audience policy then keeps ID tokens out.
func RejectNonAccessTokens(c *Claims) error {
	if err := tokenKind("token_use", c.TokenUse, "access", true); err != nil {
		return err
	}
	return tokenKind("payload typ", c.Type, "Bearer", true)
}

func tokenKind(name, got, want string, mayBeAbsent bool) error {
	if got != want && (got != "" || !mayBeAbsent) {
		return fmt.Errorf("%w: %s is not %q", ErrTokenUse, name, want)
	}
	return nil
}

func trimSlash(s string) string { return strings.TrimSuffix(s, "/") }

func normaliseAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		// Trim first: "/" must not become "" (matching an empty aud).
		if s = trimSlash(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// issuerState is the validated, immutable form of an IssuerConfig.
type issuerState struct {
	cfg       IssuerConfig
	algs      []string
	prefixes  []string
	tokenKind TokenKindRule
}

func (c *Config) validate() (map[string]*issuerState, error) {
	var errs []error
	check := func(failed bool, format string, args ...any) {
		if failed {
			errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
		}
	}
	bad := func(format string, args ...any) { check(true, format, args...) }
	check(len(c.Issuers) == 0, "no issuer configured")
	check((c.ClockSkew < 0 && c.ClockSkew != NoClockSkew) || c.ClockSkew > MaxClockSkew,
		"ClockSkew %s outside [0, %s]", c.ClockSkew, MaxClockSkew)
	check(c.MaxTokenSize < 0 || c.MaxTokenSize > MaxTokenSizeLimit,
		"MaxTokenSize %d outside [0, %d]", c.MaxTokenSize, MaxTokenSizeLimit)
	for _, e := range c.Endpoints {
		u, err := url.Parse(e)
		check(err != nil || u.Scheme != "https" || u.Host == "", "endpoint %q is not an absolute https URL", e)
	}
	issuers := make(map[string]*issuerState, len(c.Issuers))
	for i, ic := range c.Issuers {
		u, err := url.Parse(ic.Issuer)
		switch {
		case ic.Issuer == "":
			bad("issuer %d: Issuer is empty", i)
			continue
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("issuer %q is not an absolute URL", ic.Issuer)
		case u.Scheme == "http" && !c.InsecureAllowHTTPIssuers:
			bad("issuer %q is not https (InsecureAllowHTTPIssuers is off)", ic.Issuer)
		}
		_, dup := issuers[ic.Issuer]
		check(dup, "issuer %q configured twice", ic.Issuer)
		check(ic.KeySet == nil, "issuer %q has no KeySet", ic.Issuer)
		check(ic.Audience == nil, "issuer %q has no audience policy", ic.Issuer)
		if msg := allOfProblem(ic.Audience); msg != "" {
			bad("issuer %q: %s", ic.Issuer, msg)
		}
		check(ic.Audience != nil && !bindsEndpoint(ic.Audience) && len(c.Endpoints) == 0 && !c.InsecureSkipEndpointCheck,
			"issuer %q: its audience policy does not tie tokens to a data store (client_id or fixed audiences): set Endpoints to the data store endpoint(s) this Lambda serves", ic.Issuer)
		st := &issuerState{cfg: ic, algs: ic.Algorithms, tokenKind: ic.TokenKind}
		if len(st.algs) == 0 {
			st.algs = []string{"RS256"}
		}
		for _, a := range st.algs {
			check(findAlgorithm(a) == nil, "issuer %q: algorithm %q is not an allowed asymmetric JWS algorithm", ic.Issuer, a)
		}
		if st.tokenKind == nil {
			st.tokenKind = RejectNonAccessTokens
		}
		for _, p := range ic.ScopePrefixes {
			p = trimSlash(p)
			if p == "" || strings.ContainsAny(p, " \t") {
				bad("issuer %q: empty or blank scope prefix", ic.Issuer)
				continue
			}
			if slices.Contains([]string{"patient", "user", "system", "launch"}, p) {
				bad("issuer %q: scope prefix %q would strip the SMART context itself", ic.Issuer, p)
				continue
			}
			st.prefixes = append(st.prefixes, p+"/")
		}
		issuers[ic.Issuer] = st
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return issuers, nil
}
