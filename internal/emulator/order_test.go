package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// base//Patient is not base/Patient: an empty first segment is refused like
// any other empty segment.
func TestEmptySegmentAfterBase(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"})
	for _, p := range []string{"/Patient", "//Patient", "/Patient/456", "/metadata", "Patient//456"} {
		rec := rawDo(t, s, http.MethodGet, p, "")
		assert.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", p, rec.Body.String())
		assert.Contains(t, rec.Body.String(), "OperationOutcome", p)
		assert.NotContains(t, rec.Body.String(), "Testpatient", p)
	}
	rec := rawDo(t, s, http.MethodGet, "Patient", "")
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// HealthLake authenticates first: a FHIR request with no or a malformed
// Authorization header gets 401, never another 4xx from the path, method,
// Content-Type or body checks; those come after it.
func TestBearerCheckedFirst(t *testing.T) {
	fl := &fakeLambda{answer: func(event) ([]byte, error) { return []byte(`{"authPayload":{"isAuthorized":false}}`), nil }}
	s, _ := newTestServer(t, fl, func(c *Config) { c.MaxBody = 100 })
	type req struct{ method, path, body, contentType, wantAuthed string }
	// wantAuthed is the check with a well-formed (but denied) token: the
	// path checks still answer before the IdP Lambda is called; the body
	// checks only after it (so: 401 from the Lambda).
	reqs := []req{
		{"GET", "observation/1", "", "", "request"},
		{"GET", "Patient%2F789", "", "", "path"},
		{"GET", "/Patient", "", "", "path"},
		{"TRACE", "Patient/456", "", "", "request"},
		{"POST", "Observation", `{"resourceType":"Observation"}`, "text/xml", "isAuthorized"},
		{"POST", "Observation", `{"resourceType":"Observation","note":"` + strings.Repeat("x", 200) + `"}`, "application/fhir+json", "isAuthorized"},
		{"POST", "Observation", `{"resourceType":`, "application/fhir+json", "isAuthorized"},
		{"POST", "Observation/_search", "%zz", "application/x-www-form-urlencoded", "isAuthorized"},
		{"GET", "Observation?zzz=1", "", "", "isAuthorized"},
		{"GET", "Patient/456/$everything", "", "", "isAuthorized"},
		{"GET", "metadata", "", "", "isAuthorized"},
	}
	for _, auth := range []string{"", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer a b", "Bearer"} {
		for _, rq := range reqs {
			hr := httptest.NewRequest(rq.method, testBase+rq.path, strings.NewReader(rq.body))
			if auth != "" {
				hr.Header.Set("Authorization", auth)
			}
			if rq.contentType != "" {
				hr.Header.Set("Content-Type", rq.contentType)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, hr)
			require.Equal(t, http.StatusUnauthorized, rec.Code, "%q %s %s: %s", auth, rq.method, rq.path, rec.Body.String())
			assert.Contains(t, rec.Body.String(), "emulator check: bearer", "%q %s %s", auth, rq.method, rq.path)
		}
	}
	require.Empty(t, fl.events, "no Lambda call without a well-formed bearer token")
	for _, rq := range reqs {
		hr := httptest.NewRequest(rq.method, testBase+rq.path, strings.NewReader(rq.body))
		hr.Header.Set("Authorization", "Bearer "+testToken)
		if rq.contentType != "" {
			hr.Header.Set("Content-Type", rq.contentType)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, hr)
		assert.Contains(t, rec.Body.String(), "emulator check: "+rq.wantAuthed+`"`, "%s %s", rq.method, rq.path)
	}
	// Outside the FHIR base, and the public SMART configuration, need no token.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/elsewhere", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, testBase+".well-known/smart-configuration", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
}
