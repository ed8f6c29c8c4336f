package healthlake_test

import (
	"context"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
)

// benchSetup is a Cognito user pool Authorizer (RS256-2048, client_id
// allow-list, token_use, resource-server prefix, data store pinned) and a
// realistic access token for it (~1.1 KiB), header kid and alg only.
func benchSetup(tb testing.TB) (*healthlake.Authorizer, string) {
	tb.Helper()
	a := mustAuthorizer(tb, useCognito)
	// The launch context (patient, fhirUser) comes from a pre-token
	// generation trigger: without a patient, patient/ scopes grant nothing.
	raw := testjwt.Sign(tb, rsaKey(), jwa.RS256(), "rs256", "", cognitoClaims("patient", "456", "fhirUser", "Practitioner/123"))
	return a, raw
}

// BenchmarkAuthorize is the whole Lambda decision: validate plus the
// HealthLake response mapping.
func BenchmarkAuthorize(b *testing.B) {
	a, raw := benchSetup(b)
	ctx := context.Background()
	ev := healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: raw, OperationName: "SearchWithGet"}
	if d := a.Authorize(ctx, ev); !d.Allowed {
		b.Fatal(d.Err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if d := a.Authorize(ctx, ev); !d.Allowed {
			b.Fatal(d.Err)
		}
	}
}

// BenchmarkEventCodec is the JSON work of one invocation without the token
// check: decode the event, encode an allowed response.
func BenchmarkEventCodec(b *testing.B) {
	a, raw := benchSetup(b)
	event := eventJSON(b, testEndpoint, raw)
	d := a.Authorize(context.Background(), healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: raw})
	if !d.Allowed {
		b.Fatal(d.Err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		if _, err := healthlake.DecodeEvent(event); err != nil {
			b.Fatal(err)
		}
		if _, err := healthlake.MarshalResponse(&d.Response); err != nil {
			b.Fatal(err)
		}
	}
}
