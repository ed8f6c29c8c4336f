package smartauth_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// cachedBenchSetup is benchSetup with the verified-token cache on.
func cachedBenchSetup(b testing.TB) (*smartauth.Validator, string) {
	b.Helper()
	return benchSetupCache(b, &smartauth.CacheConfig{})
}

// BenchmarkValidateWarm is Validate of a repeat token with the cache on:
// a hit, which still runs the clock and request checks.
func BenchmarkValidateWarm(b *testing.B) {
	benchValidate(b, cachedBenchSetup)
}

// BenchmarkValidateParallel is Validate from GOMAXPROCS goroutines over
// 256 distinct tokens, cache on (mostly hits; run with -cpu 1,2).
func BenchmarkValidateParallel(b *testing.B) {
	v, _ := cachedBenchSetup(b)
	toks := make([]string, 256)
	for i := range toks {
		claims := cognitoClaims("patient", "456", "fhirUser", "Practitioner/123", "jti", fmt.Sprintf("jti-%d", i))
		toks[i] = testjwt.SignJWX(b, "RS256", rsaKey(), map[string]any{"kid": "rs256"}, []byte(mustJSON(b, claims)))
	}
	ctx := context.Background()
	for _, tok := range toks {
		if _, err := v.Validate(ctx, tok, testEndpoint); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(toks[0])))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Validate(ctx, toks[i%len(toks)], testEndpoint); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
