package lambdaadapter_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
)

// BenchmarkInvoke is one HealthLake invocation as the Lambda runtime makes
// it: raw event bytes in, response bytes out (lambda.NewHandler(h).Invoke),
// with a Keycloak-shaped RS256-2048 token, the verified-token cache off and
// the JSON decision log written to io.Discard. BenchmarkInvoke minus
// BenchmarkAuthorize is the adapter's overhead.
func BenchmarkInvoke(b *testing.B) {
	a := newValidator(b, staticKeys(b))
	h := lambda.NewHandler(lambdaadapter.New(a, lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))))
	payload := event(b, "search-with-get.json", sign(b, claims(nil)))
	ctx := lambdaCtx()
	if out, err := invoke(ctx, h, payload); err != nil || out == deny {
		b.Fatal(out, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorize is the same Authorizer's Authorize on the decoded
// event of BenchmarkInvoke: the validation and response building alone.
func BenchmarkAuthorize(b *testing.B) {
	a := newValidator(b, staticKeys(b))
	ev, err := healthlake.DecodeEvent(event(b, "search-with-get.json", sign(b, claims(nil))))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if d := a.Authorize(ctx, ev); !d.Allowed {
		b.Fatal(d.Err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := a.Authorize(ctx, ev); !d.Allowed {
			b.Fatal(d.Err)
		}
	}
}
