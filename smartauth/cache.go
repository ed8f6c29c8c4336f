package smartauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// Verified-token cache defaults (CacheConfig zero values).
const (
	DefaultCacheEntries = 10_000
	DefaultCacheBytes   = 16 << 20
	DefaultCacheMaxAge  = 5 * time.Minute
	// cacheEntryOverhead is what an entry costs besides the parts
	// entrySize counts from its contents: the key, the entry struct with
	// its two Claims, the LRU's list element and map slot.
	cacheEntryOverhead = 2 << 10
)

// CacheConfig turns on Validate's verified-token cache (Config.Cache): a
// HealthLake client sends one access token with every FHIR request, and a
// repeat token skips decoding and the signature check. Only tokens that
// passed every check are cached, keyed by the SHA-256 of the whole token.
// A hit repeats, in a fresh token's order, every check that depends on the
// clock or the request: exp, nbf and iat (with the skew), the token kind,
// the audience policy for this endpoint, Config.Endpoints, ExtraScopes (a
// withdrawn grant takes effect on the next hit), Check and RemoteCheck; and
// it looks the signing key up again (an entry whose key left its issuer's
// set, or changed, is dropped).
//
// The checks of a hit read the entry's own deep copy of the claims, never
// handed out (ExtraScopes, Check and RemoteCheck must not modify the Claims
// they get). Each hit returns its own Token, Claims, Audience, Scopes (with
// each scope's Query) and Raw, so what a caller changes in them reaches no
// other call; Claims.Groups, RealmRoles and ClientRoles are shared by the
// hits of a token (no check or response reads them): treat them as
// read-only.
//
// An entry lives until the token's exp, at most MaxAge. The cache is a
// plain hashicorp/golang-lru/v2 LRU and starts no goroutine: expiry is
// checked on each hit on the Validator's clock (an expired entry counts as
// a miss); one nobody asks for again waits for LRU eviction.
type CacheConfig struct {
	// MaxEntries bounds the number of cached tokens (0: DefaultCacheEntries).
	MaxEntries int
	// MaxBytes bounds the estimated memory of the cached tokens (0:
	// DefaultCacheBytes). An entry is counted as 2 KiB plus twice the
	// payload (the claim strings and Claims.Raw), its claim slices twice,
	// and its parsed scopes with their query parameters; a token with many
	// scopes costs far more than its length.
	MaxBytes int64
	// MaxAge bounds how long a token stays cached (0: DefaultCacheMaxAge).
	MaxAge time.Duration
}

// cacheKey is the SHA-256 of the whole compact token.
type cacheKey [sha256.Size]byte

// cacheEntry is one verified token. Immutable once stored.
type cacheEntry struct {
	st  *issuerState
	kid string // the token's kid, as the key set was asked
	key *Key   // the key that verified the signature
	alg string
	// priv is the entry's own deep copy of the claims: the checks of a hit
	// read it, it is never handed out.
	priv Claims
	// pub is what a hit's Claims starts from: Groups, RealmRoles and
	// ClientRoles are a second deep copy shared by the hits; no Raw (each
	// hit copies priv's).
	pub Claims
	// scopes are the valid scopes of the scope claim alone, dropped the
	// invalid ones; a hit copies them and adds ExtraScopes.
	scopes   []scopes.Scope
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

// cacheKeyOf hashes tok through a stack buffer: sha256.Sum256([]byte(tok))
// would copy a 1 KiB token to the heap.
func cacheKeyOf(tok string) cacheKey {
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

// storeCached caches t, verified with key for issuer st, at the end of a
// full validation.
func (v *Validator) storeCached(k cacheKey, st *issuerState, kid string, key *Key, t *Token) {
	c := v.cache
	now := v.now()
	notAfter := now.Add(c.maxAge)
	if exp := time.Unix(t.Claims.ExpiresAt, 0); exp.Before(notAfter) {
		notAfter = exp
	}
	if !now.Before(notAfter) {
		return
	}
	// The first caller holds t and its Claims: the entry deep-copies
	// everything a caller could write, so that caller's changes cannot
	// reach later hits.
	e := &cacheEntry{st: st, kid: kid, key: key, alg: t.Algorithm,
		priv: deepCopyClaims(t.Claims), notAfter: notAfter}
	pub := *t.Claims
	pub.Raw = nil // each hit copies priv's
	e.pub = deepCopyClaims(&pub)
	// The scope claim alone is parsed again: ExtraScopes runs on each hit.
	ct := Token{Claims: &e.priv}
	v.claimScopes(&ct, st)
	e.scopes, e.dropped = cloneScopes(ct.Scopes), ct.DroppedScopes
	e.size = entrySize(e)
	if e.size > c.maxBytes {
		return
	}
	c.addMu.Lock()
	defer c.addMu.Unlock()
	if old, ok := c.lru.Peek(k); ok {
		if now.Before(old.notAfter) {
			return // a concurrent miss of the same token stored it
		}
		c.lru.Remove(k) // expired: replaced (Add alone would skip the byte count)
	}
	c.bytes.Add(e.size)
	c.lru.Add(k, e)
	for c.bytes.Load() > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// deepCopyClaims copies c and every slice and map in it. The strings are
// shared: they are immutable.
func deepCopyClaims(c *Claims) Claims {
	d := *c
	d.Audience = slices.Clone(c.Audience)
	d.Groups = slices.Clone(c.Groups)
	d.RealmRoles = slices.Clone(c.RealmRoles)
	if c.ClientRoles != nil {
		d.ClientRoles = make(map[string][]string, len(c.ClientRoles))
		for client, roles := range c.ClientRoles {
			d.ClientRoles[client] = slices.Clone(roles)
		}
	}
	d.Raw = bytes.Clone(c.Raw)
	return d
}

// cloneScopes copies sc and the query of each scope; nil when empty.
func cloneScopes(sc []scopes.Scope) []scopes.Scope {
	if len(sc) == 0 {
		return nil
	}
	d := slices.Clip(slices.Clone(sc))
	cloneQueries(d)
	return d
}

// cloneQueries gives each scope of sc its own copy of its Query.
func cloneQueries(sc []scopes.Scope) {
	for i := range sc {
		if sc[i].Query != nil {
			sc[i].Query = slices.Clone(sc[i].Query)
		}
	}
}

// entrySize estimates the heap an entry holds.
func entrySize(e *cacheEntry) int64 {
	const str = int64(unsafe.Sizeof(""))
	// The claim strings share one copy of the payload text (as long as
	// Raw); priv holds the entry's one copy of Raw.
	n := int64(cacheEntryOverhead) + 2*int64(len(e.priv.Raw))
	slicesLen := len(e.priv.Audience) + len(e.priv.Groups) + len(e.priv.RealmRoles)
	for _, roles := range e.priv.ClientRoles {
		slicesLen += 1 + len(roles)
		n += 2 * 48 // a map slot and a slice header, per copy
	}
	n += 2 * str * int64(slicesLen)
	n += int64(len(e.scopes)) * int64(unsafe.Sizeof(scopes.Scope{}))
	for i := range e.scopes {
		for _, q := range e.scopes[i].Query {
			n += int64(unsafe.Sizeof(q)) + int64(len(q.Name)+len(q.Value))
		}
	}
	return n
}

// hitScopes is the inline scope capacity of a hit's Token: more scopes
// are allocated apart.
const hitScopes = 4

// cachedToken is what a hit allocates besides the copy of Raw: the
// caller's Token, its own Claims struct, and room for its own Audience and
// Scopes.
type cachedToken struct {
	token  Token
	claims Claims
	aud    [2]string
	scopes [hitScopes]scopes.Scope
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
	// The checks read the entry's private claims, never handed out.
	if err := v.checkRequest(&e.priv, e.st, endpoint); err != nil {
		return nil, err, true
	}
	ct := &cachedToken{claims: e.pub}
	ct.claims.Audience = copyInto(ct.aud[:0], e.priv.Audience)
	ct.claims.Raw = bytes.Clone(e.priv.Raw) // StringClaim reads it: the caller's own
	ct.token = Token{Claims: &ct.claims, Issuer: e.priv.Issuer, KeyID: e.key.ID, Algorithm: e.alg,
		Scopes: copyInto(ct.scopes[:0], e.scopes), DroppedScopes: e.dropped}
	cloneQueries(ct.token.Scopes)
	v.extraScopes(&ct.token, e.st, &e.priv)
	if err := v.checkLast(ctx, &e.priv, e.st, tok); err != nil {
		return nil, err, true
	}
	return &ct.token, nil, true
}

// copyInto copies src into buf's array when it fits, else into a new
// slice; nil stays nil.
func copyInto[T any](buf, src []T) []T {
	if src == nil {
		return nil
	}
	if len(src) > cap(buf) {
		return slices.Clone(src)
	}
	return append(buf[:0], src...)
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
	// The crypto public key types' Equal takes a crypto.PublicKey, a named
	// type: an interface with Equal(any) would match none of them.
	eq, ok := cur.Public.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(cached.Public)
}
