package smartauth_test

import (
	"context"
	"testing"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Allocation ceilings of the hot path, at what the code reaches today, so
// that a regression fails here rather than in a benchmark nobody reads.
// Measured with go1.26 / jwx v3.4.0 (RS256-2048, StaticKeySet):
//
//   - Validate, Cognito access token (benchSetup): 18 allocations. 10 are
//     jwx and crypto/rsa (hash state and digest, big-number scratch;
//     BenchmarkRawRS256Verify alone makes 9). Validate's own: the token buffer
//     (copy + decoded parts), Token+Claims+scopes+decoding state, the kid,
//     the payload text backing all string claims, cognito:groups; plus the
//     ParseError of scopes.Parse rejecting "aws.cognito.signin.user.admin".
//   - Validate, Keycloak access token (aud array, realm and client roles):
//     21 (no invalid scope, but three more slices and a map).
//   - Refusing a token from an unconfigured issuer: 2 (the token buffer and
//     the decoding state, which json/v2 needs on the heap).
//
// Update the numbers when an intended change moves them.
const (
	maxAllocsValidate         = 18
	maxAllocsValidateKeycloak = 21
	maxAllocsUnknownIssuer    = 2
)

func TestValidateAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	v, raw := benchSetup(t)
	ctx := context.Background()
	kc, kcRaw := keycloakBenchSetup(t)
	foreign := unknownIssuerToken(t)

	for _, tc := range []struct {
		name string
		max  float64
		run  func() bool // reports the expected outcome
	}{
		{"Validate", maxAllocsValidate, func() bool {
			_, err := v.Validate(ctx, raw, testEndpoint)
			return err == nil
		}},
		{"ValidateKeycloak", maxAllocsValidateKeycloak, func() bool {
			_, err := kc.Validate(ctx, kcRaw, testEndpoint)
			return err == nil
		}},
		{"UnknownIssuer", maxAllocsUnknownIssuer, func() bool {
			_, err := v.Validate(ctx, foreign, testEndpoint)
			return err == smartauth.ErrUnknownIssuer
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.run() {
				t.Fatal("unexpected outcome")
			}
			got := testing.AllocsPerRun(200, func() { tc.run() })
			t.Logf("%s: %.0f allocs/op (ceiling %.0f)", tc.name, got, tc.max)
			if got > tc.max {
				t.Errorf("%s allocates %.0f times per call, ceiling %.0f", tc.name, got, tc.max)
			}
		})
	}
}
