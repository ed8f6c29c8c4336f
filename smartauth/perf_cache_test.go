package smartauth_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// maxAllocsValidateWarm is the ceiling of a verified-token cache hit
// (BenchmarkValidateWarm): 2 today, the caller's Token, Claims, Audience
// and up to 4 scopes in one allocation, and the caller's own copy of Raw.
// The SHA-256 key, the LRU lookup, the key-set lookup and the clock and
// request checks allocate nothing on success.
const maxAllocsValidateWarm = 2

func TestValidateWarmAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	v, raw := cachedBenchSetup(t)
	ctx := context.Background()
	if _, err := v.Validate(ctx, raw, testEndpoint); err != nil {
		t.Fatal(err)
	}
	got := testing.AllocsPerRun(200, func() {
		if _, err := v.Validate(ctx, raw, testEndpoint); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("cache hit: %.0f allocs/op (ceiling %d)", got, maxAllocsValidateWarm)
	if got > maxAllocsValidateWarm {
		t.Errorf("a cache hit allocates %.0f times, ceiling %d", got, maxAllocsValidateWarm)
	}
}

// A JWKS refresh builds new *Key values: an entry whose key has the same
// material (same kid, algorithm and public key) must stay a hit, not be
// dropped and re-verified. Measured on the first call after the refresh (a
// re-verification re-stores the entry, after which the new *Key matches by
// pointer): a hit allocates a few times (the key comparison), a full
// validation about twenty.
func TestCacheHitAfterRefreshWithSameKeyAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	env := newCacheEnv(t, smartauth.CacheConfig{}, nil)
	ctx := context.Background()
	// Mallocs counts every goroutine's allocations: a stray one elsewhere
	// in the process can add a few to one sample, so the test takes the
	// least of several (a dropped entry costs ~20 in every sample).
	least := uint64(math.MaxUint64)
	for i := range 5 {
		tok := k1Token(t, "jti", fmt.Sprint("refresh-", i))
		validate := func() {
			if _, err := env.v.Validate(ctx, tok, testEndpoint); err != nil {
				t.Fatal(err)
			}
		}
		validate()
		pub := rsaKey().PublicKey
		env.ks.set(rsKey("k1", &rsa.PublicKey{N: pub.N, E: pub.E})) // a fresh *Key, equal material
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		validate()
		runtime.ReadMemStats(&after)
		least = min(least, after.Mallocs-before.Mallocs)
	}
	if got := least; got > 8 {
		t.Errorf("the first validation after a refresh with the same key allocates %d times: the entry was dropped and the token re-verified", got)
	}
}
