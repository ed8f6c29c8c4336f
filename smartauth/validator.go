package smartauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// Validator verifies SMART on FHIR access tokens. Build it once per
// process with NewValidator; it is safe for concurrent use.
type Validator struct {
	issuers      map[string]*issuerState
	now          func() time.Time
	skew         time.Duration
	maxTokenSize int
	endpoints    []string
	scopeParser  scopes.Parser
	verifiers    map[string]jws.Verifier2 // per algorithm, resolved once
	cache        *tokenCache              // nil unless Config.Cache
}

// NewValidator checks cfg and builds a Validator. Every configuration
// problem is reported (joined), each wrapping ErrConfig. jwx's verifiers
// are looked up once here: one registered later with jws.RegisterVerifier
// is not used.
func NewValidator(cfg Config) (*Validator, error) {
	issuers, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	v := &Validator{
		issuers:      issuers,
		now:          cfg.Now,
		skew:         max(0, cmp.Or(cfg.ClockSkew, DefaultClockSkew)), // NoClockSkew is -1
		maxTokenSize: cmp.Or(cfg.MaxTokenSize, DefaultMaxTokenSize),
		endpoints:    normaliseAll(cfg.Endpoints),
		scopeParser:  scopes.Parser{AnyResourceType: cfg.AnyResourceType},
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.cache, err = newTokenCache(cfg.Cache); err != nil {
		return nil, err
	}
	v.verifiers = make(map[string]jws.Verifier2, len(algorithms))
	for _, a := range algorithms {
		vf, err := jws.VerifierFor(a.jwa())
		if err != nil {
			return nil, fmt.Errorf("%w: no jwx verifier for %s: %w", ErrConfig, a.name, err)
		}
		v.verifiers[a.name] = vf
	}
	return v, nil
}

// Hydrate loads every issuer's key set that has a Hydrate(ctx) error
// method (RemoteKeySet) at Lambda init. Failures are joined and returned;
// the validator stays usable and key sets retry on demand.
func (v *Validator) Hydrate(ctx context.Context) error {
	var errs []error
	for iss, st := range v.issuers {
		if h, ok := st.cfg.KeySet.(interface{ Hydrate(context.Context) error }); ok {
			if err := h.Hydrate(ctx); err != nil {
				errs = append(errs, fmt.Errorf("smartauth: hydrate %s: %w", iss, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Token is a verified access token.
type Token struct {
	Claims    *Claims
	Issuer    string
	KeyID     string
	Algorithm string
	// Scopes are the valid SMART scopes, in token order, without
	// duplicates, after prefix stripping; DroppedScopes counts the others.
	Scopes        []scopes.Scope
	DroppedScopes int
}

// HasResourceScope reports whether at least one FHIR resource scope remains.
func (t *Token) HasResourceScope() bool {
	return slices.ContainsFunc(t.Scopes, scopes.Scope.IsResource)
}

// Validate verifies raw (an optional "Bearer " prefix is stripped) for the
// data store at endpoint and returns the verified token, running the
// pipeline of the package documentation, cheapest checks first.
//
// Validate does NOT check that the request is permitted by the scopes
// (HealthLake does that; see scopes.Permits), nor revocation: a revoked token
// stays valid until it expires. Errors wrap one sentinel first (see Reason)
// and never contain the token.
func (v *Validator) Validate(ctx context.Context, raw, endpoint string) (*Token, error) {
	tok := stripBearer(raw)
	var ck cacheKey
	if v.cache != nil && tok != "" && len(tok) <= v.maxTokenSize {
		ck = cacheKeyOf(tok)
		if t, err, ok := v.validateCached(ctx, ck, tok, endpoint); ok {
			return t, err
		}
	}
	p, err := splitToken(tok, v.maxTokenSize)
	if err != nil {
		return nil, err
	}
	vt := new(verifiedToken)
	if p.header, err = parseHeader(p.headerJSON, &vt.header); err != nil {
		return nil, err
	}
	// Step 5: the whole payload is checked before iss selects an issuer.
	if err := decodePayload(p.payload, &vt.wire); err != nil {
		return nil, err
	}
	var issBuf [256]byte
	st, ok := v.issuers[string(unquote(vt.wire.Iss, p.payload, issBuf[:0]))]
	if !ok {
		return nil, ErrUnknownIssuer
	}
	if !slices.Contains(st.algs, p.header.Alg) {
		return nil, &checkError{ErrAlgorithm, p.header.Alg + " not allowed for this issuer"}
	}
	kid := p.kid()
	key, err := st.cfg.KeySet.Key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if err := checkKey(key, p.header.Alg, len(p.signature)); err != nil {
		return nil, err
	}
	// Step 7. What jws.Verify options would add is done earlier and more
	// strictly (steps 3, 4 and 6).
	if vf, ok := v.verifiers[p.header.Alg]; !ok || vf.Verify(key.Public, p.signingInput, p.signature) != nil {
		return nil, ErrSignature
	}
	// String claims share one copy of the verified payload text.
	claims := &vt.claims
	vt.wire.claims(claims, p.payload, string(p.payload))
	if err := v.checkRequest(claims, st, endpoint); err != nil {
		return nil, err
	}
	t := &vt.token
	*t = Token{Claims: claims, Issuer: claims.Issuer, KeyID: key.ID, Algorithm: p.header.Alg, Scopes: vt.scopes[:0]}
	v.collectScopes(t, st)
	if err := v.checkLast(ctx, claims, st, tok); err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.storeCached(ck, st, kid, key, t)
	}
	return t, nil
}

// ServesEndpoint reports whether endpoint is one of Config.Endpoints (one
// trailing "/" ignored); true when none are configured.
func (v *Validator) ServesEndpoint(endpoint string) bool {
	return len(v.endpoints) == 0 || slices.Contains(v.endpoints, trimSlash(endpoint))
}

// verifiedToken is a Token, its Claims, a few scopes and the decoding state
// in one allocation.
type verifiedToken struct {
	token  Token
	claims Claims
	scopes [inlineScopes]scopes.Scope
	header wireHeader
	wire   wireClaims
}

const inlineScopes = 4 // more scopes than this are allocated apart

func (v *Validator) checkTimes(c *Claims) error {
	now := v.now()
	if !now.Before(time.Unix(c.ExpiresAt, 0).Add(v.skew)) {
		return ErrExpired
	}
	if c.HasNotBefore && time.Unix(c.NotBefore, 0).After(now.Add(v.skew)) {
		return ErrNotYetValid
	}
	if time.Unix(c.IssuedAt, 0).After(now.Add(v.skew)) {
		return ErrIssuedInFuture
	}
	return nil
}

// checkRequest runs the checks of Validate's step 8 up to the data store
// pin: those a cache hit repeats because they depend on the clock or the
// request (the token kind is cheap and repeated too).
func (v *Validator) checkRequest(claims *Claims, st *issuerState, endpoint string) error {
	if err := v.checkTimes(claims); err != nil {
		return err
	}
	// Token kind before audience: an ID or refresh token is reported as the
	// wrong kind of token, not as a foreign one.
	if err := st.tokenKind(claims); err != nil {
		return err
	}
	if err := st.cfg.Audience.CheckAudience(claims, endpoint); err != nil {
		return err
	}
	// The data store pin applies to Validate too, not only to Authorize:
	// for ClientIDs and fixed audiences it is what ties a token to a store.
	if !v.ServesEndpoint(endpoint) {
		return errEndpointNotServed
	}
	return nil
}

// checkLast runs the custom check and the remote check, after the scopes
// are collected; a cache hit repeats both.
func (v *Validator) checkLast(ctx context.Context, claims *Claims, st *issuerState, tok string) error {
	if st.cfg.Check != nil {
		if err := st.cfg.Check(claims); err != nil {
			return fmt.Errorf("%w: %w", ErrCustomCheck, err)
		}
	}
	if st.cfg.RemoteCheck != nil {
		if err := st.cfg.RemoteCheck(ctx, tok, claims); err != nil {
			return fmt.Errorf("%w: %w", ErrRemoteCheck, err)
		}
	}
	return nil
}

// errEndpointNotServed: the endpoint is not one of Config.Endpoints.
var errEndpointNotServed = &checkError{ErrAudience, "the data store endpoint is not one this validator serves (Config.Endpoints)"}

const maxScopePrealloc = 16 // initial capacity bound of Token.Scopes

// collectScopes adds the valid scopes of the claim and of ExtraScopes.
func (v *Validator) collectScopes(t *Token, st *issuerState) {
	claim := t.Claims.Scope
	if n := min(strings.Count(claim, " ")+1, maxScopePrealloc); claim != "" && n > cap(t.Scopes) {
		t.Scopes = make([]scopes.Scope, 0, n)
	}
	v.claimScopes(t, st)
	v.extraScopes(t, st, t.Claims)
}

// extraScopes adds the valid scopes ExtraScopes derives from c (the claims
// the checks read: a cache hit passes its entry's) and leaves a Token
// without scopes with a nil slice. It ends collectScopes and a cache hit.
func (v *Validator) extraScopes(t *Token, st *issuerState, c *Claims) {
	if x := st.cfg.ExtraScopes; x != nil {
		for _, s := range x(c) {
			v.addScope(t, st, s)
		}
	}
	if len(t.Scopes) == 0 {
		t.Scopes = nil
	}
}

// claimScopes is collectScopes without ExtraScopes.
func (v *Validator) claimScopes(t *Token, st *issuerState) {
	for rest := t.Claims.Scope; rest != ""; {
		s, after, _ := strings.Cut(rest, " ")
		rest = after
		if s == "" {
			t.DroppedScopes++
			continue
		}
		v.addScope(t, st, s)
	}
}

// addScope parses one scope token for collectScopes.
func (v *Validator) addScope(t *Token, st *issuerState, s string) {
	for _, p := range st.prefixes {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	sc, err := v.scopeParser.Parse(s)
	// With prefixes configured, an absolute-URI scope left after the strip
	// names another resource server ("https://fhir.example.com.evil/x").
	if err != nil || (len(st.prefixes) > 0 && sc.Kind == scopes.KindExtension && !strings.HasPrefix(s, "__")) {
		t.DroppedScopes++
		return
	}
	if !slices.ContainsFunc(t.Scopes, func(x scopes.Scope) bool { return x.Raw == sc.Raw }) {
		t.Scopes = append(t.Scopes, sc)
	}
}

var (
	errKeyAlg = &checkError{ErrKeyMismatch, "key alg differs from header alg"}
	errSigLen = &checkError{ErrSignature, "signature length does not fit the key (ECDSA: raw R||S)"}
)

// checkKey is step 6 after lookup: the key passes the load policy for alg
// (a custom KeySet may return any key) and fits the signature's length.
func checkKey(k *Key, alg string, sigLen int) error {
	if k == nil || k.Algorithm != alg {
		return errKeyAlg
	}
	if reason := checkPublicKey(alg, k.Public); reason != "" {
		return &checkError{ErrKeyMismatch, reason}
	}
	if sigLen != signatureSize(k.Public) {
		return errSigLen
	}
	return nil
}
