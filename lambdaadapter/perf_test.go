package lambdaadapter_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
)

// maxAllocsInvokeOverhead caps what an invocation allocates beyond
// Authorize on the decoded event (BenchmarkInvoke − BenchmarkAuthorize):
// 9 today. The budget context (its timer and cancel state, 4), the
// decoded event (2: the struct's strings), the decision record's attributes
// past the five slog keeps inline (1), the response bytes (1) and
// aws-lambda-go's response buffer (1). Update it when an intended change
// moves it.
const maxAllocsInvokeOverhead = 9

func TestInvokeAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	a := newValidator(t, staticKeys(t))
	h := lambda.NewHandler(lambdaadapter.New(a, lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))))
	payload := event(t, "search-with-get.json", sign(t, claims(nil)))
	ev, err := healthlake.DecodeEvent(payload)
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdaCtx()
	if out, err := invoke(ctx, h, payload); err != nil || out == deny {
		t.Fatal(out, err)
	}
	invoke := testing.AllocsPerRun(200, func() { _, _ = h.Invoke(ctx, payload) })
	authorize := testing.AllocsPerRun(200, func() { a.Authorize(ctx, ev) })
	t.Logf("Invoke %.0f, Authorize %.0f allocs/op: overhead %.0f (ceiling %d)", invoke, authorize, invoke-authorize, maxAllocsInvokeOverhead)
	if invoke-authorize > maxAllocsInvokeOverhead {
		t.Errorf("an invocation allocates %.0f times beyond Authorize, ceiling %d", invoke-authorize, maxAllocsInvokeOverhead)
	}
}

// TestInvokeBudgetContextAllocations pins what the README says of the
// budget context: with no margin and an invocation deadline no later than
// the budget, none is derived (no timer, no allocation); with the default
// margin the handler must stop before the invocation deadline, so one is.
func TestInvokeBudgetContextAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	a := newValidator(t, staticKeys(t))
	logger := lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	noMargin := lambda.NewHandler(lambdaadapter.New(a, logger, lambdaadapter.WithDeadlineMargin(0)))
	margin := lambda.NewHandler(lambdaadapter.New(a, logger))
	payload := event(t, "search-with-get.json", sign(t, claims(nil)))
	// Each invocation gets its own deadline, earlier than the 800 ms budget:
	// one deadline for the whole measurement passed on a loaded CI machine.
	// Creating it allocates the same in both measurements.
	expired, denied := false, false
	measure := func(h lambda.Handler) float64 {
		return testing.AllocsPerRun(100, func() {
			ctx, cancel := context.WithDeadline(lambdaCtx(), time.Now().Add(lambdaadapter.DefaultBudget-100*time.Millisecond))
			out, err := h.Invoke(ctx, payload)
			expired = expired || ctx.Err() != nil
			denied = denied || err != nil || string(out) == deny
			cancel()
		})
	}
	without, with := measure(noMargin), measure(margin)
	if denied {
		t.Fatal("the signed token was denied during the measurement")
	}
	if expired {
		t.Skip("machine too slow: an invocation deadline passed during the measurement")
	}
	t.Logf("margin 0: %.0f allocs/op, default margin: %.0f", without, with)
	if with-without < 1 {
		t.Errorf("margin 0 with an earlier invocation deadline saves %.0f allocations, want the budget context's", with-without)
	}
}
