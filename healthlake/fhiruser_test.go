package healthlake_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// TestUserScopesNeedFHIRUser: user/ scopes grant nothing without a fhirUser
// claim unless InsecureAllowUserScopesWithoutFHIRUser is set; patient/ and
// system/ scopes are not affected by fhirUser.
func TestUserScopesNeedFHIRUser(t *testing.T) {
	for _, tc := range []struct {
		name      string
		insecure  bool
		claims    []any
		wantScope string // "" = denied with ErrScope
	}{
		{name: "user with fhirUser kept",
			claims:    []any{"scope", "openid user/*.rs"},
			wantScope: "openid user/*.rs"},
		{name: "user without fhirUser denied",
			claims: []any{"scope", "openid user/*.rs", "fhirUser", omit}},
		{name: "user without fhirUser dropped, patient kept",
			claims:    []any{"scope", "openid user/*.rs patient/Observation.rs", "fhirUser", omit},
			wantScope: "openid patient/Observation.rs"},
		{name: "empty fhirUser is no fhirUser",
			claims: []any{"scope", "user/Patient.read", "fhirUser", ""}},
		{name: "system unaffected",
			claims:    []any{"scope", "system/*.rs user/*.rs", "fhirUser", omit, "patient", omit},
			wantScope: "system/*.rs"},
		{name: "insecure opt-out keeps user without fhirUser",
			insecure:  true,
			claims:    []any{"scope", "openid user/*.rs", "fhirUser", omit},
			wantScope: "openid user/*.rs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAuthorizer(t, func(c *testConfig) {
				c.HL.InsecureAllowUserScopesWithoutFHIRUser = tc.insecure
			})
			d, out := authorizeJSON(t, a, eventJSON(t, testEndpoint, kcToken(tc.claims...)(t)))
			if tc.wantScope == "" {
				require.ErrorIs(t, d.Err, smartauth.ErrScope)
				assert.False(t, d.Allowed)
				assert.JSONEq(t, denyJSON, out)
				return
			}
			require.NoError(t, d.Err)
			assert.True(t, d.Allowed)
			assert.Equal(t, tc.wantScope, d.Response.AuthPayload.Scope)
		})
	}
}
