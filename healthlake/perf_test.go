package healthlake_test

import (
	"context"
	"testing"

	"github.com/healthlake-smart/smartauth-go/healthlake"
)

// maxAllocsAuthorize is the allocation ceiling of Authorize on the Cognito
// token of benchSetup, at today's count: Validate (18, see smartauth's
// perf_test.go) plus 3 for the response mapping (formatScopes).
// Update it when an intended change moves it.
const maxAllocsAuthorize = 21

func TestAuthorizeAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	a, raw := benchSetup(t)
	ctx := context.Background()
	ev := healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: raw, OperationName: "SearchWithGet"}
	if d := a.Authorize(ctx, ev); !d.Allowed {
		t.Fatal(d.Err)
	}
	got := testing.AllocsPerRun(200, func() { a.Authorize(ctx, ev) })
	t.Logf("Authorize: %.0f allocs/op (ceiling %d)", got, maxAllocsAuthorize)
	if got > maxAllocsAuthorize {
		t.Errorf("Authorize allocates %.0f times per call, ceiling %d", got, maxAllocsAuthorize)
	}
}
