package smartauth_test

import (
	"context"
	"testing"
)

// maxAllocsValidateWarm is the ceiling of a verified-token cache hit
// (BenchmarkValidateWarm): 1 today, the caller's Token, Claims, Audience
// and up to 4 scopes in one allocation.
// The SHA-256 key, the LRU lookup, the key-set lookup and the clock and
// request checks allocate nothing on success.
const maxAllocsValidateWarm = 1

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
