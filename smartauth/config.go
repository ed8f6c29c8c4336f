package smartauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Clock-skew bounds.
const (
	// DefaultClockSkew is used when Config.ClockSkew is zero. It absorbs
	// sub-second differences between the IdP's and the Lambda's clocks for
	// exp, nbf and iat.
	DefaultClockSkew = 30 * time.Second
	// MaxClockSkew is the largest skew a Config may set.
	MaxClockSkew = 5 * time.Minute
	// NoClockSkew, as Config.ClockSkew, applies no tolerance at all (the
	// zero value selects DefaultClockSkew). Expect occasional denials at
	// second boundaries when the IdP's clock runs slightly ahead.
	NoClockSkew time.Duration = -1
)

// Config is the token policy of a Validator. It fails closed: a Config
// without an issuer, or an issuer without a key set or audience policy, is
// rejected by NewValidator. (The HealthLake response settings live in
// package healthlake.)
type Config struct {
	// Issuers lists the trusted issuers. A token's unverified iss selects one
	// by exact string match before any network I/O; unknown issuers are
	// rejected.
	Issuers []IssuerConfig
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// ClockSkew is the tolerance applied to exp, nbf and iat. Zero selects
	// DefaultClockSkew (30 s); NoClockSkew selects none; values above
	// MaxClockSkew or other negative values are refused.
	ClockSkew time.Duration
	// MaxTokenSize caps the raw token length in bytes. Zero selects
	// DefaultMaxTokenSize; values above MaxTokenSizeLimit are refused.
	MaxTokenSize int
	// AnyResourceType accepts any well-formed FHIR resource type name in
	// scopes instead of only FHIR R4 types.
	AnyResourceType bool
	// Endpoints, when non-empty, restricts the data store endpoints this
	// validator answers for: an event whose datastoreEndpoint is not listed
	// (one trailing "/" ignored) is denied. Required when an issuer's
	// audience policy does not tie tokens to the event's endpoint (ClientIDs,
	// ExactAudience, EndpointAudience with extra audiences, custom policies):
	// otherwise a token would be accepted for every data store that trusts
	// the issuer.
	Endpoints []string
	// InsecureSkipEndpointCheck allows issuers whose audience policy does not
	// tie tokens to a data store without setting Endpoints. It MUST NOT be set
	// for a Lambda in front of a data store: tokens would be accepted for any
	// data store endpoint. For offline tools and tests only.
	InsecureSkipEndpointCheck bool
	// InsecureAllowHTTPIssuers accepts http:// issuers (local test IdPs).
	// It MUST NOT be set in production.
	InsecureAllowHTTPIssuers bool
	// Cache, when set, turns on the verified-token cache (see CacheConfig).
	// Nil (the default) verifies every token in full.
	Cache *CacheConfig
}

// IssuerConfig describes one trusted issuer.
type IssuerConfig struct {
	// Issuer is compared byte for byte with the token's iss.
	Issuer string
	// KeySet supplies this issuer's verification keys. Required.
	KeySet KeySet
	// Algorithms is this issuer's JWS allow-list, a subset of RS256, RS384,
	// RS512, PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA. Empty means
	// RS256 only.
	Algorithms []string
	// Audience is the audience policy. Required; see EndpointAudience,
	// ExactAudience and ClientIDs.
	Audience AudiencePolicy
	// TokenKind decides whether the token is an access token. Nil selects
	// RejectNonAccessTokens.
	TokenKind TokenKindRule
	// ScopePrefixes are stripped (exact prefix match followed by "/") from
	// each scope before SMART parsing, e.g. a Cognito resource-server
	// identifier "https://fhir.example.com". When set, an absolute-URI scope
	// left after stripping (another resource server's scope) is dropped.
	ScopePrefixes []string
	// ExtraScopes, when set, derives additional scope strings from the
	// verified claims (for example from groups or roles). They are parsed
	// like scopes from the token; invalid ones are dropped.
	ExtraScopes func(*Claims) []string
	// Check is an optional custom check run on verified claims after every
	// built-in check; a non-nil error denies the token and is wrapped with
	// ErrCustomCheck. Its error text is logged by lambdaadapter: do not put
	// claim values or token text in it.
	Check func(*Claims) error
	// RemoteCheck is an optional check that may do network I/O, run last,
	// only for tokens that passed every local check (for example RFC 7662
	// introspection, see the keycloak provider). It must honour ctx: the
	// whole Lambda has less than 1 s. A non-nil error denies the token and is
	// wrapped with ErrRemoteCheck.
	RemoteCheck func(ctx context.Context, token string, c *Claims) error
}

// AudiencePolicy decides whether a verified token is meant for the data
// store at endpoint (the event's datastoreEndpoint).
type AudiencePolicy interface {
	CheckAudience(c *Claims, endpoint string) error
}

// AudienceFunc adapts a function to AudiencePolicy.
type AudienceFunc func(c *Claims, endpoint string) error

// CheckAudience calls f.
func (f AudienceFunc) CheckAudience(c *Claims, endpoint string) error { return f(c, endpoint) }

// EndpointAudience is the default policy: the token's aud (string or array)
// must contain the data store endpoint or one of extra. One trailing "/" is
// ignored on both sides; comparison is otherwise exact. With extra
// audiences a token need not name the data store, so Config.Endpoints
// becomes required.
func EndpointAudience(extra ...string) AudiencePolicy {
	return endpointAudience{allowed: normaliseAll(extra)}
}

type endpointAudience struct{ allowed []string }

func (p endpointAudience) CheckAudience(c *Claims, endpoint string) error {
	ep := trimSlash(endpoint)
	for _, a := range c.Audience {
		a = trimSlash(a)
		if (ep != "" && a == ep) || slices.Contains(p.allowed, a) {
			return nil
		}
	}
	return fmt.Errorf("%w: aud does not name this data store", ErrAudience)
}

// bindsEndpoint reports whether every accepted token names the event's
// data store endpoint.
func (p endpointAudience) bindsEndpoint() bool { return len(p.allowed) == 0 }

// endpointBinder is implemented by audience policies that can tell whether
// they tie tokens to the event's data store endpoint.
type endpointBinder interface{ bindsEndpoint() bool }

func bindsEndpoint(p AudiencePolicy) bool {
	b, ok := p.(endpointBinder)
	return ok && b.bindsEndpoint()
}

// ExactAudience requires the token's aud to contain one of auds; the event
// endpoint is not consulted.
func ExactAudience(auds ...string) AudiencePolicy {
	allowed := normaliseAll(auds)
	return AudienceFunc(func(c *Claims, _ string) error {
		for _, a := range c.Audience {
			if slices.Contains(allowed, trimSlash(a)) {
				return nil
			}
		}
		return fmt.Errorf("%w: aud not in the configured list", ErrAudience)
	})
}

// ClientIDs is the audience policy of tokens without aud (Cognito access
// tokens): the token's client must be on the allow-list ids (see Clients).
func ClientIDs(ids ...string) AudiencePolicy { return Clients(slices.Clone(ids)) }

// ClientOf returns the app client a token was issued to: client_id
// (Cognito, RFC 9068), else azp (Keycloak, OpenID Connect).
func ClientOf(c *Claims) string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return c.AuthorizedParty
}

// Clients is an app-client allow-list (exact match). A token is allowed
// when it names a client and every client claim it has (client_id, azp) is
// on the list. It is the audience policy of ClientIDs, a Check, and the gate
// of MappedScopes.
type Clients []string

// Allows reports whether c's client claims are on the list.
func (l Clients) Allows(c *Claims) bool {
	if c.ClientID == "" && c.AuthorizedParty == "" {
		return false
	}
	return (c.ClientID == "" || slices.Contains(l, c.ClientID)) &&
		(c.AuthorizedParty == "" || slices.Contains(l, c.AuthorizedParty))
}

// Check is Allows as an IssuerConfig.Check: an error wrapping ErrClientID.
func (l Clients) Check(c *Claims) error {
	if !l.Allows(c) {
		return fmt.Errorf("%w: client not on the allow-list", ErrClientID)
	}
	return nil
}

// CheckAudience implements AudiencePolicy with Check; the endpoint is not
// consulted, so Config.Endpoints is required.
func (l Clients) CheckAudience(c *Claims, _ string) error { return l.Check(c) }

// MappedScopes returns an IssuerConfig.ExtraScopes function that adds
// table[name] for each name names(c) returns (Cognito groups, Keycloak
// roles), for tokens of the listed clients only: a user signing in to a
// third-party app must not receive the scopes their groups grant in your
// own apps. table and clients are copied.
func MappedScopes(clients Clients, table map[string][]string, names func(*Claims) []string) func(*Claims) []string {
	clients = slices.Clone(clients)
	t := make(map[string][]string, len(table))
	for name, s := range table {
		t[name] = slices.Clone(s)
	}
	return func(c *Claims) []string {
		if !clients.Allows(c) {
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
	return func(c *Claims) error {
		if c.TokenUse != use {
			return fmt.Errorf("%w: token_use is not %q", ErrTokenUse, use)
		}
		return nil
	}
}

// RequirePayloadType requires the Keycloak-style payload typ claim to equal typ.
func RequirePayloadType(typ string) TokenKindRule {
	return func(c *Claims) error {
		if c.Type != typ {
			return fmt.Errorf("%w: payload typ is not %q", ErrTokenUse, typ)
		}
		return nil
	}
}

// RejectNonAccessTokens is the generic rule: a token that declares itself
// something other than an access token (token_use other than "access", or
// payload typ other than "Bearer") is rejected. Tokens that declare neither
// pass; the audience policy is then what keeps ID tokens out.
func RejectNonAccessTokens(c *Claims) error {
	if c.TokenUse != "" && c.TokenUse != "access" {
		return fmt.Errorf("%w: token_use is not \"access\"", ErrTokenUse)
	}
	if c.Type != "" && c.Type != "Bearer" {
		return fmt.Errorf("%w: payload typ is not \"Bearer\"", ErrTokenUse)
	}
	return nil
}

func trimSlash(s string) string { return strings.TrimSuffix(s, "/") }

func normaliseAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		// Trim first: "/" must not become an empty audience that matches
		// an empty aud.
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
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if len(c.Issuers) == 0 {
		bad("no issuer configured")
	}
	if (c.ClockSkew < 0 && c.ClockSkew != NoClockSkew) || c.ClockSkew > MaxClockSkew {
		bad("ClockSkew %s outside [0, %s]", c.ClockSkew, MaxClockSkew)
	}
	if c.MaxTokenSize < 0 || c.MaxTokenSize > MaxTokenSizeLimit {
		bad("MaxTokenSize %d outside [0, %d]", c.MaxTokenSize, MaxTokenSizeLimit)
	}
	for _, e := range c.Endpoints {
		if u, err := url.Parse(e); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("endpoint %q is not an absolute https URL", e)
		}
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
		if _, dup := issuers[ic.Issuer]; dup {
			bad("issuer %q configured twice", ic.Issuer)
		}
		if ic.KeySet == nil {
			bad("issuer %q has no KeySet", ic.Issuer)
		}
		if ic.Audience == nil {
			bad("issuer %q has no audience policy", ic.Issuer)
		} else if !bindsEndpoint(ic.Audience) && len(c.Endpoints) == 0 && !c.InsecureSkipEndpointCheck {
			bad("issuer %q: its audience policy does not tie tokens to a data store (client_id or fixed audiences): set Endpoints to the data store endpoint(s) this Lambda serves", ic.Issuer)
		}
		st := &issuerState{cfg: ic, algs: ic.Algorithms, tokenKind: ic.TokenKind}
		if len(st.algs) == 0 {
			st.algs = []string{"RS256"}
		}
		for _, a := range st.algs {
			if !knownAlgorithm(a) {
				bad("issuer %q: algorithm %q is not an allowed asymmetric JWS algorithm", ic.Issuer, a)
			}
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
