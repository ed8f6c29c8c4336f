package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testEndpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	testBase     = "/datastore/0123456789abcdef0123456789abcdef/r4/"
	testRole     = "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	testToken    = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1sZWFr"
)

var testNow = time.Unix(1700000100, 0)

// fakeLambda answers every event with an allow for scope/patient unless
// answer is set; it records the events it saw.
type fakeLambda struct {
	mu      sync.Mutex
	scope   string
	patient string
	answer  func(ev event) ([]byte, error)
	events  []event
}

func (f *fakeLambda) Invoke(ctx context.Context, raw []byte) ([]byte, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	if f.answer != nil {
		return f.answer(ev)
	}
	return allowAnswer(ev.DatastoreEndpoint, f.scope, f.patient), nil
}

func allowAnswer(aud, scope, patient string) []byte {
	p := map[string]any{"iss": "https://idp.example.com", "aud": aud, "iat": testNow.Unix() - 10,
		"nbf": testNow.Unix() - 10, "exp": testNow.Unix() + 300, "isAuthorized": true, "scope": scope}
	if patient != "" {
		p["patient"] = patient
	}
	b, _ := json.Marshal(map[string]any{"authPayload": p, "iamRoleARN": testRole})
	return b
}

func newTestServer(t testing.TB, inv Invoker, mod ...func(*Config)) (*Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cfg := Config{Invoker: inv, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{"issuer":"https://idp.example.com","capabilities":["permission-v2","permission-v2.2"]}`),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return testNow }, InvokeTimeout: time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	return s, &logs
}

type response struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func do(t testing.TB, s http.Handler, method, path, token, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, testBase+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	r := response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if rec.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r.json), "body: %s", r.body)
	}
	assert.NotContains(t, r.body, testToken, "the token must never be echoed")
	return r
}

// issue returns the first OperationOutcome issue's check and diagnostics.
func issue(t *testing.T, r response) (check, diagnostics string) {
	t.Helper()
	require.Equal(t, "OperationOutcome", r.json["resourceType"], "%s", r.body)
	is := r.json["issue"].([]any)[0].(map[string]any)
	if d, ok := is["details"].(map[string]any); ok {
		check = strings.TrimPrefix(d["text"].(string), "emulator check: ")
	}
	diagnostics, _ = is["diagnostics"].(string)
	return check, diagnostics
}

// ids returns the resource ids of a search Bundle, sorted.
func ids(t *testing.T, r response) []string {
	t.Helper()
	require.Equal(t, "Bundle", r.json["resourceType"], "%s", r.body)
	var out []string
	entries, _ := r.json["entry"].([]any)
	for _, e := range entries {
		if mode, _ := e.(map[string]any)["search"].(map[string]any)["mode"].(string); mode == "outcome" {
			continue
		}
		out = append(out, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
	}
	slices.Sort(out)
	return out
}

// outcomeEntries returns the diagnostics of a Bundle's outcome entries.
func outcomeEntries(t *testing.T, r response) []string {
	t.Helper()
	require.Equal(t, "Bundle", r.json["resourceType"], "%s", r.body)
	var out []string
	entries, _ := r.json["entry"].([]any)
	for _, e := range entries {
		em := e.(map[string]any)
		if mode, _ := em["search"].(map[string]any)["mode"].(string); mode != "outcome" {
			continue
		}
		res := em["resource"].(map[string]any)
		require.Equal(t, "OperationOutcome", res["resourceType"])
		out = append(out, res["issue"].([]any)[0].(map[string]any)["diagnostics"].(string))
	}
	return out
}

func TestUnauthorized(t *testing.T) {
	answer := func(mod func(p map[string]any, top map[string]any)) func(ev event) ([]byte, error) {
		return func(ev event) ([]byte, error) {
			var top map[string]any
			_ = json.Unmarshal(allowAnswer(ev.DatastoreEndpoint, "system/*.rs", ""), &top)
			mod(top["authPayload"].(map[string]any), top)
			return json.Marshal(top)
		}
	}
	tests := []struct {
		name      string
		token     string
		header    []string
		answer    func(ev event) ([]byte, error)
		timeout   time.Duration
		wantCheck string
		wantText  string
	}{
		{name: "no token", wantCheck: "bearer", wantText: "no Authorization header"},
		{name: "basic auth", header: []string{"Authorization", "Basic dXNlcjpwYXNz"}, wantCheck: "bearer"},
		{name: "empty bearer", header: []string{"Authorization", "Bearer "}, wantCheck: "bearer"},
		{name: "lambda deny", token: testToken, answer: func(event) ([]byte, error) {
			return []byte(`{"authPayload":{"isAuthorized":false}}`), nil
		}, wantCheck: "isAuthorized", wantText: "denied the token"},
		{name: "lambda deny as string", token: testToken, answer: answer(func(p, _ map[string]any) { p["isAuthorized"] = "false" }), wantCheck: "isAuthorized"},
		{name: "lambda error", token: testToken, answer: func(event) ([]byte, error) {
			return nil, errors.New("lambdaadapter: internal authorization error")
		}, wantCheck: "lambda-error", wantText: "internal authorization error"},
		{name: "lambda timeout", token: testToken, timeout: 30 * time.Millisecond, wantCheck: "lambda-timeout", wantText: "Timeout during custom Idp execution."},
		{name: "answer not JSON", token: testToken, answer: func(event) ([]byte, error) { return []byte(`<html>`), nil }, wantCheck: "answer"},
		{name: "answer without authPayload", token: testToken, answer: func(event) ([]byte, error) { return []byte(`{"isAuthorized":true}`), nil }, wantCheck: "answer"},
		{name: "API Gateway shape", token: testToken, answer: func(event) ([]byte, error) { return []byte(`{"statusCode":200,"body":"ok"}`), nil }, wantCheck: "answer"},
		{name: "no iamRoleARN", token: testToken, answer: answer(func(_, top map[string]any) { delete(top, "iamRoleARN") }), wantCheck: "iamRoleARN"},
		{name: "iamRoleARN wrong casing", token: testToken, answer: answer(func(_, top map[string]any) { top["iamRoleArn"] = top["iamRoleARN"]; delete(top, "iamRoleARN") }), wantCheck: "iamRoleARN"},
		{name: "iamRoleARN not a role", token: testToken, answer: answer(func(_, top map[string]any) { top["iamRoleARN"] = "arn:aws:iam::123456789012:user/bob" }), wantCheck: "iamRoleARN"},
		{name: "aud missing", token: testToken, answer: answer(func(p, _ map[string]any) { delete(p, "aud") }), wantCheck: "aud", wantText: "aud is missing"},
		{name: "aud an array", token: testToken, answer: answer(func(p, _ map[string]any) { p["aud"] = []any{testEndpoint} }), wantCheck: "aud", wantText: "aud is not a string (an array)"},
		{name: "scope an array", token: testToken, answer: answer(func(p, _ map[string]any) { p["scope"] = []any{"system/*.rs"} }), wantCheck: "scope", wantText: "scope is not a string (an array)"},
		{name: "aud without trailing slash", token: testToken, answer: answer(func(p, _ map[string]any) { p["aud"] = strings.TrimSuffix(testEndpoint, "/") }), wantCheck: "aud", wantText: "byte for byte"},
		{name: "aud of the IdP", token: testToken, answer: answer(func(p, _ map[string]any) { p["aud"] = "account" }), wantCheck: "aud"},
		{name: "expired", token: testToken, answer: answer(func(p, _ map[string]any) { p["exp"] = testNow.Unix() }), wantCheck: "exp"},
		{name: "exp as string", token: testToken, answer: answer(func(p, _ map[string]any) { p["exp"] = "1700000400" }), wantCheck: "exp", wantText: "not an integer"},
		{name: "nbf missing", token: testToken, answer: answer(func(p, _ map[string]any) { delete(p, "nbf") }), wantCheck: "nbf", wantText: "missing"},
		{name: "nbf in the future", token: testToken, answer: answer(func(p, _ map[string]any) { p["nbf"] = testNow.Unix() + 60 }), wantCheck: "nbf"},
		{name: "scope missing", token: testToken, answer: answer(func(p, _ map[string]any) { delete(p, "scope") }), wantCheck: "scope", wantText: "scope is missing"},
		{name: "scope empty", token: testToken, answer: answer(func(p, _ map[string]any) { p["scope"] = "" }), wantCheck: "scope", wantText: "scope is empty"},
		{name: "no resource scope", token: testToken, answer: answer(func(p, _ map[string]any) { p["scope"] = "openid fhirUser launch/patient" }), wantCheck: "scope", wantText: "no valid FHIR resource scope"},
		{name: "only invalid resource scopes", token: testToken, answer: answer(func(p, _ map[string]any) { p["scope"] = "patient/Observation.sr patient/Foo.rs" }), wantCheck: "scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fl := &fakeLambda{scope: "system/*.rs", answer: tc.answer}
			var inv Invoker = fl
			if tc.wantCheck == "lambda-timeout" {
				inv = InvokerFunc(func(ctx context.Context, _ []byte) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() })
			}
			s, logs := newTestServer(t, inv, func(c *Config) {
				if tc.timeout > 0 {
					c.InvokeTimeout = tc.timeout
				}
			})
			r := do(t, s, http.MethodGet, "Patient/456", tc.token, "", tc.header...)
			require.Equal(t, http.StatusUnauthorized, r.status, r.body)
			assert.Contains(t, r.header.Get("WWW-Authenticate"), "invalid_token")
			check, diag := issue(t, r)
			assert.Equal(t, tc.wantCheck, check, diag)
			assert.Contains(t, diag, tc.wantText)
			assert.NotContains(t, r.body, "Testpatient")
			assert.Contains(t, logs.String(), "decision=deny")
			assert.Contains(t, logs.String(), "reason="+tc.wantCheck)
			assert.NotContains(t, logs.String(), testToken)
		})
	}
}

func TestEvent(t *testing.T) {
	fl := &fakeLambda{scope: "system/*.cruds"}
	s, _ := newTestServer(t, fl)
	requests := []struct{ method, path, body, op string }{
		{http.MethodGet, "Patient/456", "", "ReadResource"},
		{http.MethodGet, "Observation?patient=456", "", "SearchWithGet"},
		{http.MethodPost, "Observation/_search", "patient=456", "SearchWithPost"},
		{http.MethodPost, "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, "CreateResource"},
		{http.MethodPut, "Patient/456", `{"resourceType":"Patient","id":"456"}`, "UpdateResource"},
		{http.MethodDelete, "Observation/obs-900-body-weight", "", "DeleteResource"},
		{http.MethodGet, "metadata", "", "GetCapabilities"},
	}
	for _, rq := range requests {
		var hdr []string
		if rq.method == http.MethodPost && strings.HasSuffix(rq.path, "_search") {
			hdr = []string{"Content-Type", "application/x-www-form-urlencoded"}
		}
		r := do(t, s, rq.method, rq.path, testToken, rq.body, hdr...)
		assert.Less(t, r.status, 300, "%s %s: %s", rq.method, rq.path, r.body)
	}
	require.Len(t, fl.events, len(requests))
	for i, rq := range requests {
		assert.Equal(t, event{DatastoreEndpoint: testEndpoint, BearerToken: testToken, OperationName: rq.op,
			DatastoreID: DefaultDatastoreID, DatastoreTypeVersion: "R4", DatastoreName: "smartauth-emulate"}, fl.events[i], "%s %s", rq.method, rq.path)
	}
}

func TestAuthorization(t *testing.T) {
	const lab = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	obs := func(subject string) string {
		return `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"Patient/` + subject + `"}}`
	}
	tests := []struct {
		name, scope, patient string
		method, path, body   string
		wantStatus           int
		wantIDs              []string // search results
		wantCheck            string   // refusals
	}{
		// user/ and system/ scopes: no compartment.
		{name: "system search patients", scope: "system/*.rs", method: "GET", path: "Patient", wantStatus: 200, wantIDs: []string{"456", "789", "900"}},
		{name: "system read", scope: "system/*.read", method: "GET", path: "Patient/789", wantStatus: 200},
		{name: "system search by code", scope: "system/Observation.rs", method: "GET", path: "Observation?code=http://loinc.org|8867-4", wantStatus: 200, wantIDs: []string{"obs-456-heart-rate", "obs-789-heart-rate"}},
		{name: "system search by category without system", scope: "system/Observation.rs", method: "GET", path: "Observation?category=laboratory", wantStatus: 200, wantIDs: []string{"obs-456-glucose", "obs-789-glucose"}},
		{name: "search by subject and code AND", scope: "user/*.rs", method: "GET", path: "Observation?subject=Patient/456&code=2339-0", wantStatus: 200, wantIDs: []string{"obs-456-glucose"}},
		{name: "search by _id list", scope: "user/*.rs", method: "GET", path: "Condition?_id=cond-789-asthma,nope", wantStatus: 200, wantIDs: []string{"cond-789-asthma"}},
		{name: "search by patient", scope: "user/*.rs", method: "GET", path: "Encounter?patient=456", wantStatus: 200, wantIDs: []string{"enc-456-1"}},
		{name: "scope type mismatch", scope: "system/Patient.read", method: "GET", path: "Observation", wantStatus: 403, wantCheck: "scope"},
		{name: "read needs r", scope: "system/Patient.s", method: "GET", path: "Patient/456", wantStatus: 403, wantCheck: "scope"},
		{name: "create needs c", scope: "system/*.rs", method: "POST", path: "Observation", body: obs("456"), wantStatus: 403, wantCheck: "scope"},
		{name: "delete needs d", scope: "system/*.rs system/Observation.c", method: "DELETE", path: "Observation/obs-456-glucose", wantStatus: 403, wantCheck: "scope"},
		{name: "user delete", scope: "user/*.cruds", method: "DELETE", path: "Observation/obs-789-heart-rate", wantStatus: 204},
		{name: "system create", scope: "system/Observation.c", method: "POST", path: "Observation", body: obs("789"), wantStatus: 201},
		{name: "metadata needs no scope letter", scope: "system/Patient.r", method: "GET", path: "metadata", wantStatus: 200},
		{name: "batch refused", scope: "system/*.cruds", method: "POST", path: "", body: `{"resourceType":"Bundle","type":"batch"}`, wantStatus: 501, wantCheck: "not-supported"},

		// patient/ scopes: the compartment of the returned patient.
		{name: "patient search patients", scope: "patient/*.rs", patient: "456", method: "GET", path: "Patient", wantStatus: 200, wantIDs: []string{"456"}},
		{name: "patient claim as reference", scope: "patient/*.rs", patient: "Patient/456", method: "GET", path: "Patient", wantStatus: 200, wantIDs: []string{"456"}},
		{name: "patient read own", scope: "patient/Patient.r", patient: "456", method: "GET", path: "Patient/456", wantStatus: 200},
		{name: "patient read other patient", scope: "patient/*.rs", patient: "456", method: "GET", path: "Patient/789", wantStatus: 404, wantCheck: "not-found"},
		{name: "patient search observations", scope: "patient/*.rs", patient: "456", method: "GET", path: "Observation", wantStatus: 200, wantIDs: []string{"obs-456-glucose", "obs-456-heart-rate"}},
		{name: "patient searches another patient", scope: "patient/*.rs", patient: "456", method: "GET", path: "Observation?patient=789", wantStatus: 200, wantIDs: nil},
		{name: "patient reads another's observation", scope: "patient/*.rs", patient: "456", method: "GET", path: "Observation/obs-789-glucose", wantStatus: 404, wantCheck: "not-found"},
		{name: "patient conditions", scope: "patient/Condition.rs", patient: "789", method: "GET", path: "Condition", wantStatus: 200, wantIDs: []string{"cond-789-asthma"}},
		{name: "patient practitioner not in compartment", scope: "patient/*.rs", patient: "456", method: "GET", path: "Practitioner/123", wantStatus: 403, wantCheck: "compartment-type"},
		{name: "patient missing practitioner", scope: "patient/*.rs", patient: "456", method: "GET", path: "Practitioner/nope", wantStatus: 403, wantCheck: "compartment-type"},
		{name: "patient deletes practitioner", scope: "patient/*.cruds", patient: "456", method: "DELETE", path: "Practitioner/123", wantStatus: 403, wantCheck: "compartment-type"},
		{name: "patient creates practitioner", scope: "patient/*.cruds", patient: "456", method: "POST", path: "Practitioner", body: `{"resourceType":"Practitioner"}`, wantStatus: 403, wantCheck: "compartment-type"},
		{name: "patient practitioner search empty", scope: "patient/*.rs", patient: "456", method: "GET", path: "Practitioner", wantStatus: 200, wantIDs: nil},
		{name: "patient scopes without patient", scope: "patient/*.rs", method: "GET", path: "Patient/456", wantStatus: 403, wantCheck: "patient-context"},
		{name: "patient claim not a Patient", scope: "patient/*.rs", patient: "Practitioner/123", method: "GET", path: "Patient/456", wantStatus: 403, wantCheck: "patient-context"},
		{name: "patient create for another patient", scope: "patient/Observation.c", patient: "456", method: "POST", path: "Observation", body: obs("789"), wantStatus: 403, wantCheck: "compartment"},
		{name: "patient create own", scope: "patient/Observation.c", patient: "456", method: "POST", path: "Observation", body: obs("456"), wantStatus: 201},
		{name: "patient moves a resource out", scope: "patient/Observation.ru", patient: "456", method: "PUT", path: "Observation/obs-456-glucose", body: strings.Replace(obs("789"), `{"resourceType":"Observation",`, `{"resourceType":"Observation","id":"obs-456-glucose",`, 1), wantStatus: 403, wantCheck: "compartment"},
		{name: "patient takes over another's resource", scope: "patient/Observation.ru", patient: "456", method: "PUT", path: "Observation/obs-789-glucose", body: strings.Replace(obs("456"), `{"resourceType":"Observation",`, `{"resourceType":"Observation","id":"obs-789-glucose",`, 1), wantStatus: 404, wantCheck: "not-found"},
		{name: "patient deletes another's", scope: "patient/Observation.d", patient: "456", method: "DELETE", path: "Observation/obs-789-glucose", wantStatus: 404, wantCheck: "not-found"},
		{name: "user scope not limited by patient claim", scope: "user/Observation.rs patient/Patient.rs", patient: "456", method: "GET", path: "Observation", wantStatus: 200,
			wantIDs: []string{"obs-456-glucose", "obs-456-heart-rate", "obs-789-glucose", "obs-789-heart-rate", "obs-900-body-weight"}},

		// Granular (v2.2) filters.
		{name: "granular search", scope: "patient/Observation.rs?category=" + lab, patient: "456", method: "GET", path: "Observation", wantStatus: 200, wantIDs: []string{"obs-456-glucose"}},
		{name: "granular read match", scope: "patient/Observation.rs?category=" + lab, patient: "456", method: "GET", path: "Observation/obs-456-glucose", wantStatus: 200},
		{name: "granular read mismatch", scope: "patient/Observation.rs?category=" + lab, patient: "456", method: "GET", path: "Observation/obs-456-heart-rate", wantStatus: 403, wantCheck: "granular-filter"},
		{name: "granular search cannot widen", scope: "patient/Observation.rs?category=" + lab, patient: "456", method: "GET", path: "Observation?category=vital-signs", wantStatus: 200, wantIDs: nil},
		{name: "granular percent-encoded", scope: "system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category%7Cvital-signs", method: "GET", path: "Observation", wantStatus: 200,
			wantIDs: []string{"obs-456-heart-rate", "obs-789-heart-rate", "obs-900-body-weight"}},
		{name: "two granular scopes OR", scope: "system/Observation.rs?code=2339-0 system/Observation.rs?code=29463-7", method: "GET", path: "Observation", wantStatus: 200,
			wantIDs: []string{"obs-456-glucose", "obs-789-glucose", "obs-900-body-weight"}},
		{name: "wildcard wins over granular", scope: "system/*.rs system/Observation.rs?code=2339-0", method: "GET", path: "Observation?patient=900", wantStatus: 200, wantIDs: []string{"obs-900-body-weight"}},
		{name: "granular create mismatch", scope: "system/Condition.c?category=problem-list-item", method: "POST", path: "Condition",
			body: `{"resourceType":"Condition","category":[{"coding":[{"code":"encounter-diagnosis"}]}],"subject":{"reference":"Patient/456"}}`, wantStatus: 403, wantCheck: "granular-filter"},
		{name: "granular delete mismatch", scope: "system/Observation.d?code=2339-0", method: "DELETE", path: "Observation/obs-456-heart-rate", wantStatus: 403, wantCheck: "granular-filter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTestServer(t, &fakeLambda{scope: tc.scope, patient: tc.patient})
			r := do(t, s, tc.method, tc.path, testToken, tc.body)
			require.Equal(t, tc.wantStatus, r.status, r.body)
			switch {
			case tc.wantCheck != "":
				check, diag := issue(t, r)
				assert.Equal(t, tc.wantCheck, check, diag)
				if r.status == http.StatusForbidden {
					assert.Contains(t, r.header.Get("WWW-Authenticate"), "insufficient_scope")
				}
				assert.NotContains(t, r.body, "Testpatient")
				if r.status != http.StatusNotImplemented {
					assert.Contains(t, logs.String(), "decision=deny")
				}
			case tc.method == "GET" && tc.path != "metadata" && !strings.Contains(tc.path, "/"):
				assert.Equal(t, tc.wantIDs, ids(t, r))
				assert.Contains(t, logs.String(), "decision=allow")
			}
			if tc.patient != "" && tc.wantIDs == nil && r.status == 200 {
				assert.NotContains(t, r.body, "Testpatient-Beta", "another patient's data leaked")
			}
		})
	}
}

// A granular parameter the emulator cannot evaluate (status) never widens
// access: the scope grants the request, its filter matches nothing, and
// both read (403) and search (an outcome entry) say why.
func TestGranularUnsupportedParameterFailsClosed(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/Observation.rs?status=final"})
	r := do(t, s, "GET", "Observation", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Empty(t, ids(t, r))
	assert.EqualValues(t, 0, r.json["total"])
	diags := outcomeEntries(t, r)
	require.Len(t, diags, 1, r.body)
	assert.Contains(t, diags[0], "system/Observation.rs?status=final")
	assert.Contains(t, diags[0], `unsupported search parameter "status"`)
	assert.Contains(t, diags[0], "fails closed")

	r = do(t, s, "GET", "Observation/obs-456-glucose", testToken, "")
	require.Equal(t, http.StatusForbidden, r.status, r.body)
	check, diag := issue(t, r)
	assert.Equal(t, "granular-filter", check)
	assert.Contains(t, diag, "fails closed")

	// A filter the emulator evaluates adds no outcome entry.
	s, _ = newTestServer(t, &fakeLambda{scope: "system/Observation.rs?category=laboratory"})
	r = do(t, s, "GET", "Observation", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.NotEmpty(t, ids(t, r))
	assert.Empty(t, outcomeEntries(t, r))
}

func TestCRUD(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"})
	created := do(t, s, "POST", "Observation", testToken, `{"resourceType":"Observation","id":"client-chosen","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}]},"subject":{"reference":"Patient/900"},"valueQuantity":{"value":36.6}}`)
	require.Equal(t, http.StatusCreated, created.status, created.body)
	id := created.json["id"].(string)
	assert.Len(t, id, 32, "the server assigns the id")
	assert.Equal(t, testEndpoint+"Observation/"+id+"/_history/1", created.header.Get("Location"))
	assert.Equal(t, `W/"1"`, created.header.Get("ETag"))

	read := do(t, s, "GET", "Observation/"+id, testToken, "")
	require.Equal(t, http.StatusOK, read.status)
	assert.Contains(t, read.body, `"valueQuantity":{"value":36.6}`, "numbers are written back unchanged")

	upd := do(t, s, "PUT", "Observation/"+id, testToken, `{"resourceType":"Observation","id":"`+id+`","status":"amended","code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}]},"subject":{"reference":"Patient/900"}}`)
	require.Equal(t, http.StatusOK, upd.status, upd.body)
	assert.Equal(t, "2", upd.json["meta"].(map[string]any)["versionId"])

	search := do(t, s, "GET", "Observation?code=8310-5", testToken, "")
	assert.Equal(t, []string{id}, ids(t, search))

	put := do(t, s, "PUT", "Patient/new-1", testToken, `{"resourceType":"Patient","id":"new-1"}`)
	assert.Equal(t, http.StatusCreated, put.status, "update as create")

	del := do(t, s, "DELETE", "Observation/"+id, testToken, "")
	assert.Equal(t, http.StatusNoContent, del.status)
	gone := do(t, s, "GET", "Observation/"+id, testToken, "")
	assert.Equal(t, http.StatusNotFound, gone.status)
	check, _ := issue(t, gone)
	assert.Equal(t, "not-found", check)
}
