// Package hltest runs a healthlake.Authorizer for tests: one event in,
// the decision and the response JSON out.
package hltest

import (
	"context"
	"testing"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Authorizer wraps v in a healthlake.Authorizer that answers with roleARN.
func Authorizer(t testing.TB, v *smartauth.Validator, roleARN string) *healthlake.Authorizer {
	t.Helper()
	a, err := healthlake.New(v, healthlake.Config{RoleARN: roleARN})
	if err != nil {
		t.Fatalf("hltest: %v", err)
	}
	return a
}

// Authorize runs v's HealthLake mapping (answering with roleARN) for one
// event and returns the decision and the response JSON.
func Authorize(t testing.TB, v *smartauth.Validator, roleARN, endpoint, operation, token string) (healthlake.Decision, string) {
	t.Helper()
	d := Authorizer(t, v, roleARN).Authorize(context.Background(), healthlake.Event{
		DatastoreEndpoint: endpoint,
		BearerToken:       token,
		OperationName:     operation,
	})
	out, err := healthlake.MarshalResponse(&d.Response)
	if err != nil {
		t.Fatalf("hltest: %v", err)
	}
	return d, string(out)
}
