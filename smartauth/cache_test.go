package smartauth_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/scopes"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// swapKeySet is a key set whose keys a test replaces while validators use
// it.
type swapKeySet struct {
	keys atomic.Pointer[map[string]*smartauth.Key]
}

func newSwapKeySet(keys map[string]*smartauth.Key) *swapKeySet {
	s := &swapKeySet{}
	s.set(keys)
	return s
}

func (s *swapKeySet) set(keys map[string]*smartauth.Key) { s.keys.Store(&keys) }

func (s *swapKeySet) Key(_ context.Context, kid string) (*smartauth.Key, error) {
	if k, ok := (*s.keys.Load())[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: swap key set", smartauth.ErrKidNotFound)
}

func rsKey(kid string, pub any) map[string]*smartauth.Key {
	return map[string]*smartauth.Key{kid: {ID: kid, Algorithm: "RS256", Public: pub}}
}

// fakeClock is a settable Config.Now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(testNow.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type cacheEnv struct {
	v     *smartauth.Validator
	ks    *swapKeySet
	clock *fakeClock
}

// newCacheEnv is a Keycloak-shaped issuer (EndpointAudience, kid "k1" =
// rsaKey) with the cache on; mutate may change the config.
func newCacheEnv(t testing.TB, cc smartauth.CacheConfig, mutate func(*smartauth.Config)) cacheEnv {
	t.Helper()
	env := cacheEnv{ks: newSwapKeySet(rsKey("k1", &rsaKey().PublicKey)), clock: newFakeClock()}
	cfg := smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{Issuer: testIssuer, KeySet: env.ks, Audience: smartauth.EndpointAudience()}},
		Now:     env.clock.now,
		Cache:   &cc,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	v, err := smartauth.NewValidator(cfg)
	require.NoError(t, err)
	env.v = v
	return env
}

func k1Token(t testing.TB, overrides ...any) string {
	t.Helper()
	return testjwt.SignJWX(t, "RS256", rsaKey(), map[string]any{"kid": "k1"}, []byte(mustJSON(t, keycloakClaims(overrides...))))
}

func TestCacheHitEqualsFreshResult(t *testing.T) {
	env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
	tok := k1Token(t)
	fresh, err := env.v.Validate(context.Background(), tok, testEndpoint)
	require.NoError(t, err)
	require.Equal(t, 1, env.v.CacheLen())
	hit, err := env.v.Validate(context.Background(), "Bearer "+tok, testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, fresh, hit)
	assert.NotSame(t, fresh.Claims, hit.Claims, "each caller gets its own Claims struct")
	assert.Equal(t, 1, env.v.CacheLen())
}

func TestCacheOffByDefault(t *testing.T) {
	env := newCacheEnv(t, smartauth.CacheConfig{}, func(c *smartauth.Config) { c.Cache = nil })
	_, err := env.v.Validate(context.Background(), k1Token(t), testEndpoint)
	require.NoError(t, err)
	assert.Zero(t, env.v.CacheLen())
}

func TestCacheConfigRefusesNegativeLimits(t *testing.T) {
	for _, cc := range []smartauth.CacheConfig{{MaxEntries: -1}, {MaxBytes: -1}, {MaxAge: -time.Second}} {
		_, err := smartauth.NewValidator(smartauth.Config{
			Issuers: []smartauth.IssuerConfig{{Issuer: testIssuer, KeySet: newSwapKeySet(nil), Audience: smartauth.EndpointAudience()}},
			Cache:   &cc,
		})
		assert.ErrorIs(t, err, smartauth.ErrConfig, "%+v", cc)
	}
}

func TestCacheExpiry(t *testing.T) {
	ctx := context.Background()
	t.Run("MaxAge ends an entry, the token is verified again", func(t *testing.T) {
		env := newCacheEnv(t, smartauth.CacheConfig{MaxAge: time.Minute}, nil)
		tok := k1Token(t, "exp", at(10*time.Minute))
		_, err := env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
		env.clock.advance(2 * time.Minute)
		// A stale entry is dropped; the full path verifies and stores anew.
		env.ks.set(nil)
		_, err = env.v.Validate(ctx, tok, testEndpoint)
		require.ErrorIs(t, err, smartauth.ErrKidNotFound, "after MaxAge the key set is consulted by a full validation")
		assert.Zero(t, env.v.CacheLen())
	})
	t.Run("exp passes while cached", func(t *testing.T) {
		env := newCacheEnv(t, smartauth.CacheConfig{MaxAge: time.Hour}, nil)
		tok := k1Token(t, "exp", at(2*time.Minute))
		_, err := env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
		require.Equal(t, 1, env.v.CacheLen())
		// Past exp but inside the skew: valid, as a fresh token would be,
		// and no longer cached (an entry lives at most until exp).
		env.clock.advance(2*time.Minute + skew/2)
		_, err = env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
		assert.Zero(t, env.v.CacheLen())
		env.clock.advance(skew)
		_, err = env.v.Validate(ctx, tok, testEndpoint)
		require.ErrorIs(t, err, smartauth.ErrExpired)
		assert.Zero(t, env.v.CacheLen())
	})
	t.Run("nbf in the future is never cached as valid", func(t *testing.T) {
		env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
		tok := k1Token(t, "nbf", at(5*time.Minute), "exp", at(time.Hour))
		for range 2 {
			_, err := env.v.Validate(ctx, tok, testEndpoint)
			require.ErrorIs(t, err, smartauth.ErrNotYetValid)
			assert.Zero(t, env.v.CacheLen())
		}
		env.clock.advance(5 * time.Minute)
		_, err := env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
		assert.Equal(t, 1, env.v.CacheLen())
	})
}

func TestCacheKeyRemovalAndRotation(t *testing.T) {
	ctx := context.Background()
	env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
	tok := k1Token(t)
	_, err := env.v.Validate(ctx, tok, testEndpoint)
	require.NoError(t, err)

	// A refreshed JWKS with the same key material keeps the entry.
	env.ks.set(rsKey("k1", &rsaKey().PublicKey))
	_, err = env.v.Validate(ctx, tok, testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, 1, env.v.CacheLen())

	// The kid now names another key: the entry is dropped and the token
	// fails its signature check.
	env.ks.set(rsKey("k1", &rsaKeyB().PublicKey))
	_, err = env.v.Validate(ctx, tok, testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrSignature)
	assert.Zero(t, env.v.CacheLen())

	// Removed from the set.
	env.ks.set(rsKey("k1", &rsaKey().PublicKey))
	_, err = env.v.Validate(ctx, tok, testEndpoint)
	require.NoError(t, err)
	env.ks.set(rsKey("k2", &rsaKey().PublicKey))
	_, err = env.v.Validate(ctx, tok, testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrKidNotFound)
	assert.Zero(t, env.v.CacheLen())
}

func TestCacheRechecksEndpoint(t *testing.T) {
	ctx := context.Background()
	t.Run("audience names data store A only", func(t *testing.T) {
		env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
		tok := k1Token(t)
		_, err := env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
		_, err = env.v.Validate(ctx, tok, otherEndpoint)
		require.ErrorIs(t, err, smartauth.ErrAudience, "a token cached at data store A is refused at B")
		_, err = env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err, "and still accepted at A")
	})
	t.Run("Endpoints pin", func(t *testing.T) {
		env := newCacheEnv(t, smartauth.CacheConfig{}, func(c *smartauth.Config) {
			c.Issuers[0].Audience = smartauth.ExactAudience("account")
			c.Endpoints = []string{testEndpoint}
		})
		tok := k1Token(t, "aud", []string{"account"})
		_, err := env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
		require.Equal(t, 1, env.v.CacheLen())
		_, err = env.v.Validate(ctx, tok, otherEndpoint)
		require.ErrorIs(t, err, smartauth.ErrAudience)
	})
}

func TestCacheNeverStoresADenial(t *testing.T) {
	ctx := context.Background()
	checkFails := errors.New("custom says no")
	var remoteCalls atomic.Int64
	remoteOK := atomic.Bool{}
	remoteOK.Store(true)
	env := newCacheEnv(t, smartauth.CacheConfig{}, func(c *smartauth.Config) {
		c.Issuers[0].Check = func(c *smartauth.Claims) error {
			if c.Subject == "blocked" {
				return checkFails
			}
			return nil
		}
		c.Issuers[0].RemoteCheck = func(context.Context, string, *smartauth.Claims) error {
			remoteCalls.Add(1)
			if !remoteOK.Load() {
				return errors.New("inactive")
			}
			return nil
		}
	})
	for _, tc := range []struct {
		name string
		tok  string
		want error
	}{
		{"wrong audience", k1Token(t, "aud", "https://elsewhere.example.com"), smartauth.ErrAudience},
		{"ID token", k1Token(t, "typ", "ID"), smartauth.ErrTokenUse},
		{"expired", k1Token(t, "exp", at(-time.Hour)), smartauth.ErrExpired},
		{"custom check", k1Token(t, "sub", "blocked"), smartauth.ErrCustomCheck},
		{"bad signature", testjwt.SignJWX(t, "RS256", rsaKeyB(), map[string]any{"kid": "k1"}, []byte(mustJSON(t, keycloakClaims()))), smartauth.ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 {
				_, err := env.v.Validate(ctx, tc.tok, testEndpoint)
				require.ErrorIs(t, err, tc.want)
				assert.Zero(t, env.v.CacheLen())
			}
		})
	}
	t.Run("remote check: refused, never cached; called on every hit", func(t *testing.T) {
		tok := k1Token(t, "jti", "remote")
		remoteOK.Store(false)
		_, err := env.v.Validate(ctx, tok, testEndpoint)
		require.ErrorIs(t, err, smartauth.ErrRemoteCheck)
		assert.Zero(t, env.v.CacheLen())
		remoteOK.Store(true)
		remoteCalls.Store(0)
		for range 3 {
			_, err = env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
		}
		assert.Equal(t, int64(3), remoteCalls.Load())
		assert.Equal(t, 1, env.v.CacheLen())
		remoteOK.Store(false)
		_, err = env.v.Validate(ctx, tok, testEndpoint)
		require.ErrorIs(t, err, smartauth.ErrRemoteCheck, "a revoked cached token is refused")
	})
}

func TestCacheBounds(t *testing.T) {
	ctx := context.Background()
	toks := make([]string, 5)
	for i := range toks {
		toks[i] = k1Token(t, "jti", fmt.Sprintf("jti-%d", i))
	}
	t.Run("entries", func(t *testing.T) {
		env := newCacheEnv(t, smartauth.CacheConfig{MaxEntries: 2}, nil)
		for _, tok := range toks {
			_, err := env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
		}
		assert.Equal(t, 2, env.v.CacheLen())
	})
	t.Run("bytes", func(t *testing.T) {
		one := newCacheEnv(t, smartauth.CacheConfig{}, nil)
		_, err := one.v.Validate(ctx, toks[0], testEndpoint)
		require.NoError(t, err)
		entry := one.v.CacheBytes() // the tokens differ in jti only
		require.Greater(t, entry, int64(len(toks[0])))
		limit := 3*entry + entry/2
		env := newCacheEnv(t, smartauth.CacheConfig{MaxBytes: limit}, nil)
		for _, tok := range toks {
			_, err := env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
			assert.LessOrEqual(t, env.v.CacheBytes(), limit)
		}
		assert.Equal(t, 3, env.v.CacheLen())
		assert.Equal(t, 3*entry, env.v.CacheBytes())
	})
	t.Run("an entry larger than MaxBytes is not cached", func(t *testing.T) {
		env := newCacheEnv(t, smartauth.CacheConfig{MaxBytes: 100}, nil)
		_, err := env.v.Validate(ctx, toks[0], testEndpoint)
		require.NoError(t, err)
		assert.Zero(t, env.v.CacheLen())
	})
}

// TestCacheStartsNoGoroutine: building and dropping validators with a
// cache (per test, per configuration reload) leaves no goroutine behind.
func TestCacheStartsNoGoroutine(t *testing.T) {
	ctx := context.Background()
	tok := k1Token(t)
	before := runtime.NumGoroutine()
	const n = 200
	for range n {
		env := newCacheEnv(t, smartauth.CacheConfig{MaxAge: time.Minute}, nil)
		for range 2 { // a miss that stores, then a hit
			_, err := env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
		}
		require.Equal(t, 1, env.v.CacheLen())
	}
	// Unrelated goroutines (an earlier test's servers) may still be ending:
	// the count must come back to at most where it was.
	deadline := time.Now().Add(2 * time.Second)
	after := runtime.NumGoroutine()
	for after > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	assert.LessOrEqual(t, after, before, "%d validators with a cache left goroutines running", n)
}

func TestCacheConcurrentHitsMissesRotation(t *testing.T) {
	ctx := context.Background()
	env := newCacheEnv(t, smartauth.CacheConfig{MaxEntries: 8}, nil)
	toks := make([]string, 16)
	for i := range toks {
		toks[i] = k1Token(t, "jti", fmt.Sprintf("jti-%d", i))
	}
	good, other := rsKey("k1", &rsaKey().PublicKey), rsKey("k1", &rsaKeyB().PublicKey)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				env.ks.set(good)
				return
			default:
			}
			switch i % 3 {
			case 0:
				env.ks.set(other)
			case 1:
				env.ks.set(nil)
			default:
				env.ks.set(rsKey("k1", &rsaKey().PublicKey))
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
	var ok atomic.Int64
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Go(func() {
			for i := range 200 {
				tok := toks[(w*7+i)%len(toks)]
				endpoint := testEndpoint
				if i%5 == 0 {
					endpoint = otherEndpoint
				}
				_, err := env.v.Validate(ctx, tok, endpoint)
				switch {
				case err == nil:
					assert.Equal(t, testEndpoint, endpoint, "accepted for the wrong data store")
					ok.Add(1)
				case errors.Is(err, smartauth.ErrSignature), errors.Is(err, smartauth.ErrKidNotFound), errors.Is(err, smartauth.ErrAudience):
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
		})
	}
	workers.Wait()
	close(stop)
	wg.Wait()
	assert.LessOrEqual(t, env.v.CacheLen(), 8)
	// With the good key back every token validates again.
	for _, tok := range toks {
		_, err := env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
	}
	t.Logf("%d accepted during rotation", ok.Load())
}

// TestCacheEntryIsolatedFromCallers: a caller changing its Token does not
// change what the next hit returns.
func TestCacheEntryIsolatedFromCallers(t *testing.T) {
	env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
	tok := k1Token(t)
	first, err := env.v.Validate(context.Background(), tok, testEndpoint)
	require.NoError(t, err)
	require.Greater(t, len(first.Scopes), 1)
	want, last := first.Scopes[0], first.Scopes[len(first.Scopes)-1]
	require.NotEqual(t, want, last)
	first.Claims.Subject, first.Claims.ExpiresAt = "someone else", at(1000*time.Hour)
	first.Scopes[0] = last
	hit, err := env.v.Validate(context.Background(), tok, testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, "f0e1d2c3-b4a5-4697-8899-aabbccddeeff", hit.Claims.Subject)
	assert.Equal(t, at(5*time.Minute), hit.Claims.ExpiresAt)
	assert.Equal(t, want, hit.Scopes[0])
}

// TestCacheEntryIsolatedFromAudienceAndScopeWrites: neither the first
// caller nor a hit's caller can change, through its Token, what later hits
// decide or return: a token for one data store stays refused for another,
// and the scopes (with their query) stay as verified.
func TestCacheEntryIsolatedFromAudienceAndScopeWrites(t *testing.T) {
	const other = "https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/"
	scope := "patient/Observation.rs?category=laboratory patient/Patient.r openid"
	for _, who := range []string{"first caller", "hit caller"} {
		t.Run(who, func(t *testing.T) {
			ctx := context.Background()
			env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
			tok := k1Token(t, "scope", scope)
			fresh, err := env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
			want := *fresh
			want.Scopes = slices.Clone(fresh.Scopes)
			want.Scopes[0].Query = slices.Clone(fresh.Scopes[0].Query)
			require.NotEmpty(t, want.Scopes[0].Query)
			wantAud := slices.Clone(fresh.Claims.Audience)
			victim := fresh
			if who == "hit caller" {
				victim, err = env.v.Validate(ctx, tok, testEndpoint)
				require.NoError(t, err)
			}
			victim.Claims.Audience[0] = other
			victim.Scopes[0].Query[0].Value = "anything"
			victim.Scopes[1] = victim.Scopes[0]

			_, err = env.v.Validate(ctx, tok, other)
			require.ErrorIs(t, err, smartauth.ErrAudience, "aud for another data store still refused")
			hit, err := env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
			assert.Equal(t, wantAud, hit.Claims.Audience)
			assert.Equal(t, want.Scopes, hit.Scopes)
			assert.Equal(t, 1, env.v.CacheLen(), "answered from the cache")
		})
	}
}

// TestCacheRerunsExtraScopes: ExtraScopes runs on every hit, so a withdrawn
// group grant takes effect on the next hit of a cached token.
func TestCacheRerunsExtraScopes(t *testing.T) {
	ctx := context.Background()
	var grant atomic.Bool
	grant.Store(true)
	env := newCacheEnv(t, smartauth.CacheConfig{}, func(c *smartauth.Config) {
		c.Issuers[0].ExtraScopes = func(*smartauth.Claims) []string {
			if grant.Load() {
				return []string{"user/Practitioner.r", "not a scope"}
			}
			return nil
		}
	})
	tok := k1Token(t)
	has := func(tk *smartauth.Token) bool {
		return slices.ContainsFunc(tk.Scopes, func(s scopes.Scope) bool { return s.String() == "user/Practitioner.r" })
	}
	fresh, err := env.v.Validate(ctx, tok, testEndpoint)
	require.NoError(t, err)
	require.True(t, has(fresh))
	hit, err := env.v.Validate(ctx, tok, testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, fresh, hit, "a hit equals the fresh result, extra scopes and drop count included")

	grant.Store(false)
	hit, err = env.v.Validate(ctx, tok, testEndpoint)
	require.NoError(t, err)
	assert.False(t, has(hit), "withdrawn grant gone on the next hit")
	assert.Equal(t, fresh.DroppedScopes-1, hit.DroppedScopes)
	assert.Equal(t, 1, env.v.CacheLen())
}

// TestCacheBytesTrackHeap: for tokens with many scopes (each a parsed
// scopes.Scope with a query parameter), the byte accounting stays within
// 2x of the heap the entries really hold.
func TestCacheBytesTrackHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("heap figures differ under -race")
	}
	ctx := context.Background()
	sc := make([]string, 254)
	for i := range sc {
		sc[i] = fmt.Sprintf("user/Flag.r?a=%03d", i)
	}
	env := newCacheEnv(t, smartauth.CacheConfig{MaxBytes: 1 << 30}, nil)
	const n = 64
	toks := make([]string, n)
	for i := range toks {
		toks[i] = k1Token(t, "jti", fmt.Sprintf("jti-%04d", i), "scope", strings.Join(sc, " "))
	}
	require.Greater(t, len(toks[0]), 7_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, tok := range toks {
		tk, err := env.v.Validate(ctx, tok, testEndpoint)
		require.NoError(t, err)
		require.Len(t, tk.Scopes, len(sc))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, n, env.v.CacheLen())
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	counted := float64(env.v.CacheBytes())
	t.Logf("per entry: counted %.0f B, heap %.0f B (token %d B)", counted/n, heap/n, len(toks[0]))
	assert.InDelta(t, 1, counted/heap, 0.5, "counted within 2x of the heap: counted %.0f, heap %.0f", counted, heap)
	runtime.KeepAlive(toks)
	runtime.KeepAlive(env.v)
}

// TestCacheRawIsolated: Claims.Raw, which StringClaim reads (HealthLake's
// uid claim), is each caller's own: overwriting it in the first result or
// in a hit changes nothing another hit reads.
func TestCacheRawIsolated(t *testing.T) {
	for _, who := range []string{"first caller", "hit caller"} {
		t.Run(who, func(t *testing.T) {
			ctx := context.Background()
			env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
			tok := k1Token(t, "username", "alice")
			victim, err := env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
			if who == "hit caller" {
				victim, err = env.v.Validate(ctx, tok, testEndpoint)
				require.NoError(t, err)
			}
			want := string(victim.Claims.Raw)
			i := strings.Index(want, `"alice"`)
			require.Positive(t, i)
			copy(victim.Claims.Raw[i:], `"mallo"`)
			hit, err := env.v.Validate(ctx, tok, testEndpoint)
			require.NoError(t, err)
			assert.Equal(t, want, string(hit.Claims.Raw))
			got, ok := hit.Claims.StringClaim("username")
			assert.True(t, ok)
			assert.Equal(t, "alice", got)
			assert.Equal(t, 1, env.v.CacheLen(), "answered from the cache")
		})
	}
}
