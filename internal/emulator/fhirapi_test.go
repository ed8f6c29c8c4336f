package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawDo sends a request with a raw (already escaped) path.
func rawDo(t *testing.T, s http.Handler, method, rawPath, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, testBase+rawPath, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// The server assigns a created resource's id before the checks: a body id
// cannot put a new Patient into the compartment or satisfy an _id filter.
func TestCreateIDAssignedBeforeChecks(t *testing.T) {
	tests := []struct {
		name, scope, patient, path, body string
		wantCheck                        string
	}{
		{name: "patient creates a Patient with its own id", scope: "patient/Patient.cr", patient: "456", path: "Patient",
			body: `{"resourceType":"Patient","id":"456","name":[{"family":"Intruder"}]}`, wantCheck: "compartment"},
		{name: "body id matches an _id filter", scope: "system/Observation.cr?_id=allowed-1", path: "Observation",
			body: `{"resourceType":"Observation","id":"allowed-1","subject":{"reference":"Patient/789"}}`, wantCheck: "granular-filter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, &fakeLambda{scope: tc.scope, patient: tc.patient})
			before := len(s.store.all(tc.path))
			r := do(t, s, "POST", tc.path, testToken, tc.body)
			require.Equal(t, http.StatusForbidden, r.status, r.body)
			check, diag := issue(t, r)
			assert.Equal(t, tc.wantCheck, check, diag)
			assert.Len(t, s.store.all(tc.path), before, "nothing stored")
		})
	}
	// A create that passes keeps the server's id, not the body's.
	s, _ := newTestServer(t, &fakeLambda{scope: "patient/Observation.c", patient: "456"})
	r := do(t, s, "POST", "Observation", testToken, `{"resourceType":"Observation","id":"mine","subject":{"reference":"Patient/456"}}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	assert.NotEqual(t, "mine", r.json["id"])
}

// The Metadata's capabilities decide which scopes count (HealthLake's SMART
// capabilities): v2 scopes need permission-v2; granular scopes need permission-v2.2 and
// are ignored without it. Invalid tokens are named in the diagnostics.
func TestMetadataCapabilities(t *testing.T) {
	md := func(caps string) func(*Config) {
		return func(c *Config) {
			c.Metadata = []byte(`{"issuer":"https://idp.example.com","capabilities":[` + caps + `]}`)
		}
	}
	v1only := md(`"permission-patient","permission-user"`)
	v2only := md(`"permission-v2"`)
	tests := []struct {
		name, scope, method, path string
		mod                       func(*Config)
		wantStatus                int
		wantIDs                   []string
		wantDiag                  string
	}{
		{name: "v2 scope without permission-v2", scope: "system/*.cruds", method: "DELETE", path: "Observation/obs-456-glucose", mod: v1only,
			wantStatus: 401, wantDiag: "lack permission-v2"},
		{name: "v1 scope without permission-v2", scope: "system/*.read", method: "GET", path: "Patient", mod: v1only,
			wantStatus: 200, wantIDs: []string{"456", "789", "900"}},
		{name: "v2 among v1 scopes without permission-v2", scope: "system/*.read system/Observation.d", method: "DELETE", path: "Observation/obs-456-glucose", mod: v1only,
			wantStatus: 403, wantDiag: `"system/Observation.d" is a v2 scope and the Metadata's capabilities lack permission-v2`},
		{name: "granular scope without permission-v2.2 is ignored", scope: "system/Observation.rs?category=laboratory", method: "GET", path: "Observation", mod: v2only,
			wantStatus: 401, wantDiag: "lack permission-v2.2: HealthLake ignores it"},
		{name: "granular ignored, unfiltered kept", scope: "system/Patient.rs system/Observation.rs?category=laboratory", method: "GET", path: "Observation", mod: v2only,
			wantStatus: 403, wantDiag: "lack permission-v2.2"},
		{name: "granular with permission-v2.2", scope: "system/Observation.rs?category=laboratory", method: "GET", path: "Observation",
			wantStatus: 200, wantIDs: []string{"obs-456-glucose", "obs-789-glucose"}},
		{name: "invalid token reported", scope: "system/Patient.rs system/Observation.sr", method: "GET", path: "Observation",
			wantStatus: 403, wantDiag: `"system/Observation.sr" is invalid`},
		{name: "only invalid tokens reported in 401", scope: "system/Observation.rs?_include=x email", method: "GET", path: "Observation",
			wantStatus: 401, wantDiag: `"system/Observation.rs?_include=x" is invalid`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*Config)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			s, _ := newTestServer(t, &fakeLambda{scope: tc.scope}, mods...)
			r := do(t, s, tc.method, tc.path, testToken, "")
			require.Equal(t, tc.wantStatus, r.status, r.body)
			if tc.wantDiag != "" {
				_, diag := issue(t, r)
				assert.Contains(t, diag, tc.wantDiag)
				assert.NotContains(t, diag, `"email" is`, "non-SMART tokens pass through silently")
			} else {
				assert.Equal(t, tc.wantIDs, ids(t, r))
			}
		})
	}
}

// user/ (or system/) and patient/ scopes grant the union of what each
// grants: a granular user/ scope does not hide the patient's own resources
// that an unfiltered patient/ scope grants.
func TestUserAndPatientScopesUnion(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "user/Observation.rs?category=laboratory patient/Observation.rs", patient: "456"})
	r := do(t, s, "GET", "Observation/obs-456-heart-rate", testToken, "")
	assert.Equal(t, http.StatusOK, r.status, "own vital-signs obs through patient/: %s", r.body)
	r = do(t, s, "GET", "Observation/obs-789-glucose", testToken, "")
	assert.Equal(t, http.StatusOK, r.status, "another patient's lab obs through user/: %s", r.body)
	r = do(t, s, "GET", "Observation/obs-789-heart-rate", testToken, "")
	require.Equal(t, http.StatusForbidden, r.status, "neither path: %s", r.body)
	check, diag := issue(t, r)
	assert.Equal(t, "granular-filter", check)
	assert.Contains(t, diag, "patient compartment")
	r = do(t, s, "GET", "Observation", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, []string{"obs-456-glucose", "obs-456-heart-rate", "obs-789-glucose"}, ids(t, r))
}

// Operations and batch/transaction are not emulated: 501 after
// authentication, not a misleading scope 403.
func TestOperationsNotSupported(t *testing.T) {
	tests := []struct{ name, scope, patient, method, path, body string }{
		{"$everything", "patient/*.rs", "456", "GET", "Patient/456/$everything", ""},
		{"$export", "system/*.rs", "", "GET", "$export", ""},
		{"transaction", "system/*.cruds", "", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lambda := &fakeLambda{scope: tc.scope, patient: tc.patient}
			s, _ := newTestServer(t, lambda)
			r := do(t, s, tc.method, tc.path, testToken, tc.body)
			require.Equal(t, http.StatusNotImplemented, r.status, r.body)
			check, _ := issue(t, r)
			assert.Equal(t, "not-supported", check)
			assert.Len(t, lambda.events, 1, "authenticated first")
			r = do(t, s, tc.method, tc.path, "", tc.body)
			assert.Equal(t, http.StatusUnauthorized, r.status, "no token: 401 first")
		})
	}
}

// A patient/ client cannot tell another patient's resources from missing
// ones: same status, same OperationOutcome, for read, update and delete.
func TestOutOfCompartmentIsNotFound(t *testing.T) {
	s, logs := newTestServer(t, &fakeLambda{scope: "patient/*.cruds", patient: "456"})
	strip := func(body, id string) string { return strings.ReplaceAll(body, id, "ID") }
	for _, m := range []struct{ method, body string }{
		{"GET", ""},
		{"DELETE", ""},
		{"PUT", `{"resourceType":"Observation","id":"%s","subject":{"reference":"Patient/456"}}`},
	} {
		t.Run(m.method, func(t *testing.T) {
			body := func(id string) string {
				if m.body == "" {
					return ""
				}
				return strings.Replace(m.body, "%s", id, 1)
			}
			existing := do(t, s, m.method, "Observation/obs-789-glucose", testToken, body("obs-789-glucose"))
			require.Equal(t, http.StatusNotFound, existing.status, existing.body)
			if m.method == "PUT" {
				return // a PUT to a missing id creates it (client-assigned ids; see the README)
			}
			missing := do(t, s, m.method, "Observation/obs-789-nope", testToken, "")
			require.Equal(t, http.StatusNotFound, missing.status, missing.body)
			assert.Equal(t, strip(missing.body, "obs-789-nope"), strip(existing.body, "obs-789-glucose"))
			assert.Equal(t, missing.header.Get("WWW-Authenticate"), existing.header.Get("WWW-Authenticate"))
		})
	}
	assert.Contains(t, logs.String(), "reason=compartment", "the operator's log keeps the real reason")
	sys, _ := newTestServer(t, &fakeLambda{scope: "system/*.rs"})
	r := do(t, sys, "GET", "Observation/obs-789-glucose", testToken, "")
	assert.Equal(t, http.StatusOK, r.status, "obs-789-glucose is still there")
}

// An encoded "/" or "?" in the path is refused instead of being decoded into
// a path separator or a query after the scope decision.
func TestEncodedPathSeparators(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "patient/*.cruds", patient: "456"})
	for _, p := range []string{"Patient%2F789", "Patient/..%2F789", "Patient/789%3F_id=456", "Patient%2f456", "Observation%3fpatient=456"} {
		t.Run(p, func(t *testing.T) {
			rec := rawDo(t, s, "GET", p, "")
			assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Body.String(), "encoded / or ?")
			assert.NotContains(t, rec.Body.String(), "Testpatient")
		})
	}
	rec := rawDo(t, s, "GET", "Patient/%34%35%36", "")
	assert.Equal(t, http.StatusOK, rec.Code, "other escapes still decode: %s", rec.Body.String())
}

// all returns decoded copies of the resources of one type in id order (the
// tests compare stores; the server serves and matches the stored bytes).
func (s *store) all(rt string) []map[string]any {
	var out []map[string]any
	for _, sr := range s.list(rt) {
		m, err := decodeStrict(sr.raw, 0)
		if err != nil {
			panic("emulator test: a stored resource does not decode: " + err.Error())
		}
		out = append(out, m)
	}
	return out
}
