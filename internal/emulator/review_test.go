package emulator

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A patient/ client cannot plant a resource in another patient's search
// results: patient matches only the compartment's reference (Observation:
// subject), not any element named patient.
func TestPatientParamFollowsCompartment(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "patient/Observation.crs", patient: "456"})
	r := do(t, s, http.MethodPost, "Observation", testToken,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/456"},"patient":{"reference":"Patient/789"}}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	planted := r.json["id"].(string)

	user, _ := newTestServer(t, &fakeLambda{scope: "user/*.rs"})
	user.store = s.store
	r = do(t, user, http.MethodGet, "Observation?patient=789", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.NotContains(t, ids(t, r), planted, "Observation.patient is not Observation's patient reference")
	assert.Equal(t, []string{"obs-789-glucose", "obs-789-heart-rate"}, ids(t, r))
	r = do(t, user, http.MethodGet, "Observation?patient=456", testToken, "")
	assert.Contains(t, ids(t, r), planted, "its compartment's search finds it")

	// AllergyIntolerance's compartment reference is patient.
	r = do(t, user, http.MethodGet, "AllergyIntolerance?patient=456", testToken, "")
	assert.Equal(t, http.StatusOK, r.status, r.body)

	for path, want := range map[string]string{
		"Patient?patient=456":               "not defined for Patient: find a patient by _id",
		"Patient?subject=456":               "not defined for Patient",
		"Practitioner?patient=456":          "only on the patient-compartment types it knows",
		"AllergyIntolerance?subject=456":    "subject is not defined for AllergyIntolerance: use patient",
		"Observation?_id=x&patient=Group/1": "",
	} {
		r = do(t, user, http.MethodGet, path, testToken, "")
		if want == "" {
			assert.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
			continue
		}
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", path, r.body)
		check, diag := issue(t, r)
		assert.Equal(t, "search", check)
		assert.Contains(t, diag, want, path)
	}
}

// Conditional create is not emulated: 501, not a silent duplicate.
func TestConditionalCreate(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"})
	before := len(s.store.list("Observation"))
	r := do(t, s, http.MethodPost, "Observation", testToken, `{"resourceType":"Observation","status":"final"}`, "If-None-Exist", "identifier=x")
	require.Equal(t, http.StatusNotImplemented, r.status, r.body)
	check, diag := issue(t, r)
	assert.Equal(t, "not-supported", check)
	assert.Contains(t, diag, "conditional create (If-None-Exist)")
	assert.Len(t, s.store.list("Observation"), before, "nothing created")
}

// A search cut short by _count, the entries cap or the response size says
// so in an outcome entry.
func TestSearchTruncation(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.rs"})
	r := do(t, s, http.MethodGet, "Observation?_count=2", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Len(t, ids(t, r), 2)
	assert.EqualValues(t, 5, r.json["total"])
	notes := outcomeEntries(t, r)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "holds 2 of the 5 matches (total): it was truncated to _count=2")

	r = do(t, s, http.MethodGet, "Observation", testToken, "")
	assert.Empty(t, outcomeEntries(t, r), "nothing cut, nothing said")

	s.maxSearch = 1000 // bytes: the seed's Observations are a few hundred each
	r = do(t, s, http.MethodGet, "Observation", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	got := len(ids(t, r))
	assert.Positive(t, got)
	assert.Less(t, got, 5)
	notes = outcomeEntries(t, r)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "cap of 1000 bytes of resources per response")
}

// Diagnostics: the patient-context message only when a patient would
// help, 403 (not 404) for types outside every compartment, with a search
// outcome entry.
func TestDiagnostics(t *testing.T) {
	t.Run("no patient, scope does not grant the type", func(t *testing.T) {
		s, _ := newTestServer(t, &fakeLambda{scope: "patient/Patient.rs"})
		r := do(t, s, http.MethodGet, "Observation", testToken, "")
		require.Equal(t, http.StatusForbidden, r.status, r.body)
		check, diag := issue(t, r)
		assert.Equal(t, "scope", check)
		assert.NotContains(t, diag, "only through patient/ scopes")
		assert.Contains(t, diag, "do not permit search-type on Observation")
		r = do(t, s, http.MethodGet, "Patient/456", testToken, "")
		check, _ = issue(t, r)
		assert.Equal(t, "patient-context", check, "a patient would help here")
	})
	t.Run("non-compartment type search", func(t *testing.T) {
		s, _ := newTestServer(t, &fakeLambda{scope: "patient/*.rs", patient: "456"})
		r := do(t, s, http.MethodGet, "Practitioner", testToken, "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Empty(t, ids(t, r))
		notes := outcomeEntries(t, r)
		require.Len(t, notes, 1)
		assert.Contains(t, notes[0], "the patient/ scopes add no Practitioner resources: Practitioner is not a patient-compartment type")
		// With user/ scopes beside them the type is not closed.
		s, _ = newTestServer(t, &fakeLambda{scope: "patient/*.rs user/Practitioner.rs", patient: "456"})
		r = do(t, s, http.MethodGet, "Practitioner/123", testToken, "")
		assert.Equal(t, http.StatusOK, r.status, r.body)
	})
}

// /metadata names the authorize and token endpoints in the SMART oauth-uris
// extension, and needs a token like every FHIR path.
func TestCapabilityStatementOAuthURIs(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.rs"}, func(c *Config) {
		c.Metadata = []byte(`{"capabilities":["permission-v2"],"authorization_endpoint":"https://idp.example.com/authorize","token_endpoint":"https://idp.example.com/token"}`)
	})
	r := do(t, s, http.MethodGet, "metadata", "", "")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	r = do(t, s, http.MethodGet, "metadata", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	sec := r.json["rest"].([]any)[0].(map[string]any)["security"].(map[string]any)
	ext := sec["extension"].([]any)[0].(map[string]any)
	assert.Equal(t, "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", ext["url"])
	assert.Equal(t, []any{
		map[string]any{"url": "authorize", "valueUri": "https://idp.example.com/authorize"},
		map[string]any{"url": "token", "valueUri": "https://idp.example.com/token"},
	}, ext["extension"])
}

// Config.RoleARN pins the answer's iamRoleARN.
func TestExpectedRole(t *testing.T) {
	other := strings.Replace(testRole, "123456789012", "210987654321", 1)
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.rs"}, func(c *Config) { c.RoleARN = other })
	r := do(t, s, http.MethodGet, "Patient/456", testToken, "")
	require.Equal(t, http.StatusUnauthorized, r.status, r.body)
	check, diag := issue(t, r)
	assert.Equal(t, "iamRoleARN", check)
	assert.Contains(t, diag, `iamRoleARN "`+testRole+`" is not the expected role "`+other+`" (--role-arn)`)

	s, _ = newTestServer(t, &fakeLambda{scope: "system/*.rs"}, func(c *Config) { c.RoleARN = testRole })
	r = do(t, s, http.MethodGet, "Patient/456", testToken, "")
	assert.Equal(t, http.StatusOK, r.status, r.body)

	_, err := New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{}`), RoleARN: "admin"})
	assert.ErrorContains(t, err, "role ARN")
}
