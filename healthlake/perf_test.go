package healthlake_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// TestAuthorizeUIDAndV1Alloc: a uid claim served from a typed field costs
// what sub does, and the v1 scope output allocates no more per scope than
// the default output (its duplicate check allocates nothing).
func TestAuthorizeUIDAndV1Alloc(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	ctx := context.Background()
	allocs := func(mutate func(*testConfig), nScopes int) float64 {
		a := mustAuthorizer(t, func(c *testConfig) {
			useCognito(c)
			if mutate != nil {
				mutate(c)
			}
		})
		scope := "openid launch/patient"
		for i := range nScopes {
			scope += " " + testScopePrefix + "/patient/" + scopeTypes[i%len(scopeTypes)] + ".read"
		}
		raw := mint(t, cognitoClaims("patient", "456", "fhirUser", "Practitioner/123", "scope", scope))
		ev := healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: raw}
		require.True(t, a.Authorize(ctx, ev).Allowed)
		return testing.AllocsPerRun(100, func() { a.Authorize(ctx, ev) })
	}
	uid := func(claim string) func(*testConfig) { return func(c *testConfig) { c.HL.UIDClaim = claim } }
	v1 := func(c *testConfig) { c.HL.ScopeFormat = healthlake.ScopesV1 }
	sub := allocs(nil, 4)
	for _, claim := range []string{"fhirUser", "client_id", "iss"} {
		assert.Equal(t, sub, allocs(uid(claim), 4), "UIDClaim %q", claim)
	}
	// The scope text grows with the scopes (a few reallocations), the
	// allocations per scope must not differ between the two formats.
	growV2 := allocs(nil, 32) - allocs(nil, 4)
	growV1 := allocs(v1, 32) - allocs(v1, 4)
	assert.LessOrEqual(t, growV1, growV2+2, "v1 output: %.0f more allocations for 28 more scopes, default output %.0f", growV1, growV2)
}

// scopeTypes are distinct FHIR R4 resource types for scope lists.
var scopeTypes = []string{"Observation", "Condition", "Encounter", "Procedure", "MedicationRequest", "AllergyIntolerance",
	"Immunization", "DiagnosticReport", "CarePlan", "Goal", "Device", "Location", "Organization", "Practitioner",
	"Coverage", "Claim", "DocumentReference", "Appointment", "Communication", "Consent", "Flag", "Media",
	"Specimen", "Task", "ServiceRequest", "RiskAssessment", "FamilyMemberHistory", "NutritionOrder",
	"VisionPrescription", "Schedule", "Slot", "Questionnaire"}
