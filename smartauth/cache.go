package smartauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// Verified-token cache defaults (CacheConfig zero values).
const (
	DefaultCacheEntries = 10_000
	DefaultCacheBytes   = 16 << 20
	DefaultCacheMaxAge  = 5 * time.Minute
	// cacheEntryOverhead is what an entry costs on top of the token's
	// length: the key, the entry, Claims and its slices, the LRU's list
	// element and map slots (the claim strings share one copy of the
	// payload, shorter than the token).
	cacheEntryOverhead = 1 << 10
)

// CacheConfig turns on Validate's verified-token cache (Config.Cache). A
// HealthLake client sends the same access token with every FHIR request;
// with the cache, a repeat token skips decoding and the signature check.
// A hit still runs every check that depends on the clock or the request:
// exp, nbf and iat (with the clock skew), the token kind, the audience
// policy against this call's endpoint, Config.Endpoints, the custom Check
// and RemoteCheck, in the order a fresh token runs them; and the signing
// key is looked up again (an entry whose key left its issuer's key set or
// changed is dropped). Only tokens that passed every check are cached,
// keyed by the SHA-256 of the whole token; a denial is never cached.
//
// An entry lives at most until the token's exp and at most MaxAge. Tokens
// returned from a hit share their Claims fields (slices, maps) and Scopes
// with the cached entry: treat a Token as read-only.
//
// The cache is a plain hashicorp/golang-lru/v2 LRU: it starts no
// goroutine, so a Validator with a cache can be built and dropped freely
// (per test, per configuration reload). Expiry is checked on every hit on
// the Validator's clock (an expired entry is removed and counts as a
// miss); an expired entry nobody asks for again stays, within the entry
// and byte bounds, until the LRU evicts it.
type CacheConfig struct {
	// MaxEntries bounds the number of cached tokens (0: DefaultCacheEntries).
	MaxEntries int
	// MaxBytes bounds the estimated memory of the cached tokens, about
	// 1 KiB plus the token length each (0: DefaultCacheBytes).
	MaxBytes int64
	// MaxAge bounds how long a token stays cached (0: DefaultCacheMaxAge).
	MaxAge time.Duration
}

// cacheKey is the SHA-256 of the whole compact token.
type cacheKey [sha256.Size]byte

// cacheEntry is one verified token. Immutable once stored.
type cacheEntry struct {
	st       *issuerState
	kid      string // the token's kid, as the key set was asked
	key      *Key   // the key that verified the signature
	alg      string
	claims   *Claims
	scopes   []scopes.Scope // len == cap: an append by a caller copies
	dropped  int
	notAfter time.Time // min(exp, stored + MaxAge), Validator clock
	size     int64
}

type tokenCache struct {
	lru      *lru.Cache[cacheKey, *cacheEntry]
	maxAge   time.Duration
	maxBytes int64
	bytes    atomic.Int64 // sum of size over the entries in lru
	addMu    sync.Mutex   // serialises store: byte accounting of re-adds
}

func newTokenCache(c *CacheConfig) (*tokenCache, error) {
	if c == nil {
		return nil, nil
	}
	if c.MaxEntries < 0 || c.MaxBytes < 0 || c.MaxAge < 0 {
		return nil, fmt.Errorf("%w: CacheConfig limits must not be negative", ErrConfig)
	}
	tc := &tokenCache{maxAge: c.MaxAge, maxBytes: c.MaxBytes}
	entries := c.MaxEntries
	if entries == 0 {
		entries = DefaultCacheEntries
	}
	if tc.maxAge == 0 {
		tc.maxAge = DefaultCacheMaxAge
	}
	if tc.maxBytes == 0 {
		tc.maxBytes = DefaultCacheBytes
	}
	// The eviction callback runs for every entry that leaves (LRU
	// eviction, Remove): it keeps the byte count.
	l, err := lru.NewWithEvict(entries, func(_ cacheKey, e *cacheEntry) { tc.bytes.Add(-e.size) })
	if err != nil {
		return nil, fmt.Errorf("%w: CacheConfig: %w", ErrConfig, err)
	}
	tc.lru = l
	return tc, nil
}

// cacheKeyOf hashes tok without copying it to the heap.
func cacheKeyOf(tok string) cacheKey {
	// sha256.Sum256([]byte(tok)) would copy a 1 KiB token to the heap;
	// a stack buffer feeds the digest in chunks instead.
	h := sha256.New()
	var buf [512]byte
	for len(tok) > 0 {
		n := copy(buf[:], tok)
		h.Write(buf[:n])
		tok = tok[n:]
	}
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// store caches t, verified with key for issuer st. now is the Validator's
// clock at the end of the checks.
func (c *tokenCache) store(k cacheKey, tokLen int, st *issuerState, kid string, key *Key, t *Token, now time.Time) {
	notAfter := now.Add(c.maxAge)
	if exp := time.Unix(t.Claims.ExpiresAt, 0); exp.Before(notAfter) {
		notAfter = exp
	}
	size := int64(tokLen) + cacheEntryOverhead
	if !now.Before(notAfter) || size > c.maxBytes {
		return
	}
	// The first caller holds t: the entry keeps its own Claims struct and
	// scopes, so that caller's changes to them cannot reach later hits.
	claims := *t.Claims
	sc := slices.Clip(slices.Clone(t.Scopes))
	e := &cacheEntry{st: st, kid: kid, key: key, alg: t.Algorithm, claims: &claims,
		scopes: sc, dropped: t.DroppedScopes, notAfter: notAfter, size: size}
	c.addMu.Lock()
	defer c.addMu.Unlock()
	if old, ok := c.lru.Peek(k); ok {
		if now.Before(old.notAfter) {
			return // a concurrent miss of the same token stored it
		}
		c.lru.Remove(k) // expired: replaced (Add alone would skip the byte count)
	}
	c.bytes.Add(size)
	c.lru.Add(k, e)
	for c.bytes.Load() > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// cachedToken is what a hit allocates: the caller's Token and its own
// copy of the Claims struct.
type cachedToken struct {
	token  Token
	claims Claims
}

// validateCached answers tok from the cache. ok is false on a miss (the
// caller validates in full); otherwise the result is exactly what a full
// validation would decide for a token that verified before.
func (v *Validator) validateCached(ctx context.Context, k cacheKey, tok, endpoint string) (t *Token, err error, ok bool) {
	e, ok := v.cache.lru.Get(k)
	if !ok {
		return nil, nil, false
	}
	if !v.now().Before(e.notAfter) {
		v.cache.lru.Remove(k)
		return nil, nil, false
	}
	// The signing key must still be in the issuer's set: a removed or
	// replaced key drops the entry, and the full path reports why.
	if key, kerr := e.st.cfg.KeySet.Key(ctx, e.kid); kerr != nil || !sameKey(key, e.key) {
		v.cache.lru.Remove(k)
		return nil, nil, false
	}
	ct := &cachedToken{claims: *e.claims}
	if err := v.checkRequest(&ct.claims, e.st, endpoint); err != nil {
		return nil, err, true
	}
	ct.token = Token{Claims: &ct.claims, Issuer: ct.claims.Issuer, KeyID: e.key.ID, Algorithm: e.alg,
		Scopes: e.scopes, DroppedScopes: e.dropped}
	if len(e.scopes) == 0 {
		ct.token.Scopes = nil
	}
	if err := v.checkLast(ctx, &ct.claims, e.st, tok); err != nil {
		return nil, err, true
	}
	return &ct.token, nil, true
}

// sameKey reports whether a key set's current key for a kid is the one
// that verified a cached token. A refreshed JWKS yields new *Key values
// for the same keys: the material decides.
func sameKey(cur, cached *Key) bool {
	if cur == cached {
		return true
	}
	if cur == nil || cur.Algorithm != cached.Algorithm {
		return false
	}
	eq, ok := cur.Public.(interface{ Equal(x any) bool })
	return ok && eq.Equal(cached.Public)
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
