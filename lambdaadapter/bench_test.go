package lambdaadapter_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
)

// BenchmarkInvoke is one HealthLake invocation as the Lambda runtime makes
// it: raw event bytes in, response bytes out (lambda.NewHandler(h).Invoke),
// with a Keycloak-shaped RS256 token and the decision log discarded.
func BenchmarkInvoke(b *testing.B) {
	h := lambda.NewHandler(lambdaadapter.New(newValidator(b, staticKeys(b))))
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
