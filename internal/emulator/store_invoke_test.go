package emulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A patient/ client's PUT to another patient's id and to a free id get the
// same answer: update-as-create through patient/ scopes is refused, so the
// answers cannot tell an existing id from a free one.
func TestUpdateAsCreateThroughPatientScopesIsHidden(t *testing.T) {
	body := func(id string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","subject":{"reference":"Patient/456"}}`
	}
	tests := []struct {
		name, scope, id string
		wantStatus      int
	}{
		{"patient, another patient's id", "patient/Observation.cu", "obs-789-glucose", http.StatusNotFound},
		{"patient, free id", "patient/Observation.cu", "obs-free", http.StatusNotFound},
		{"patient, own id", "patient/Observation.cu", "obs-456-glucose", http.StatusOK},
		{"system, free id", "system/Observation.cu", "obs-free", http.StatusCreated},
		{"patient and system, free id", "patient/Observation.cu system/Observation.cu", "obs-free", http.StatusCreated},
	}
	var hiddenDiag []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTestServer(t, &fakeLambda{scope: tc.scope, patient: "456"})
			r := do(t, s, "PUT", "Observation/"+tc.id, testToken, body(tc.id))
			require.Equal(t, tc.wantStatus, r.status, r.body)
			_, _, stored := s.store.get("Observation", tc.id)
			if tc.wantStatus != http.StatusNotFound {
				assert.True(t, stored)
				return
			}
			check, diag := issue(t, r)
			assert.Equal(t, "not-found", check)
			assert.Contains(t, diag, "use POST")
			assert.Contains(t, logs.String(), "decision=deny")
			hiddenDiag = append(hiddenDiag, strings.ReplaceAll(diag, tc.id, "ID"))
			if tc.id == "obs-free" {
				assert.False(t, stored, "no update-as-create through patient/ scopes")
			}
		})
	}
	require.Len(t, hiddenDiag, 2)
	assert.Equal(t, hiddenDiag[0], hiddenDiag[1], "the two 404s must read the same")
}

// Seed resources get meta.versionId 1 and lastUpdated; the first update is
// version 2. A seed's own meta values are kept.
func TestSeedVersion(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"}, func(c *Config) {
		c.Seed = []byte(`{"resourceType":"Bundle","entry":[
			{"resource":{"resourceType":"Patient","id":"a"}},
			{"resource":{"resourceType":"Patient","id":"b","meta":{"versionId":"7","lastUpdated":"2020-01-01T00:00:00Z"}}}]}`)
	})
	r := do(t, s, "GET", "Patient/a", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, map[string]any{"versionId": "1", "lastUpdated": testNow.UTC().Format(time.RFC3339)}, r.json["meta"])
	assert.Equal(t, `W/"1"`, r.header.Get("ETag"))
	r = do(t, s, "PUT", "Patient/a", testToken, `{"resourceType":"Patient","id":"a","active":true}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "2", r.json["meta"].(map[string]any)["versionId"])
	r = do(t, s, "PUT", "Patient/b", testToken, `{"resourceType":"Patient","id":"b"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "8", r.json["meta"].(map[string]any)["versionId"])

	_, err := New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{}`),
		Seed: []byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a","meta":[]}}]}`)})
	require.ErrorContains(t, err, "meta is not an object")
}

// The authorization of an update or delete is re-checked against the stored
// version under the store's write lock: a write that moves the resource out
// of the compartment between the request's decision and its write wins.
func TestUpdateDeleteRecheckUnderLock(t *testing.T) {
	for _, method := range []string{"PUT", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			s, _ := newTestServer(t, &fakeLambda{scope: "patient/Observation.cud", patient: "456"})
			s.beforeWrite = func() {
				// Another client moves the resource to patient 789.
				_, _, ref := s.store.write("Observation", "obs-456-glucose",
					map[string]any{"resourceType": "Observation", "subject": map[string]any{"reference": "Patient/789"}},
					testNow, func(members) *refusal { return nil })
				require.Nil(t, ref)
			}
			body := ""
			if method == "PUT" {
				body = `{"resourceType":"Observation","id":"obs-456-glucose","status":"amended","subject":{"reference":"Patient/456"}}`
			}
			r := do(t, s, method, "Observation/obs-456-glucose", testToken, body)
			require.Equal(t, http.StatusNotFound, r.status, r.body)
			_, res, ok := s.store.get("Observation", "obs-456-glucose")
			require.True(t, ok, "not deleted")
			assert.Equal(t, "Patient/789", referenceOf(res("subject")), "not overwritten")
		})
	}
}

// The store holds at most MaxResources: a create or update-as-create beyond
// it gets 507 with an OperationOutcome; updates and deletes still work.
func TestStoreCap(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"}, func(c *Config) {
		c.Seed = []byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}}]}`)
		c.MaxResources = 2
	})
	r := do(t, s, "POST", "Patient", testToken, `{"resourceType":"Patient"}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "Patient", `{"resourceType":"Patient"}`},
		{"PUT", "Patient/new", `{"resourceType":"Patient","id":"new"}`},
	} {
		r = do(t, s, tc.method, tc.path, testToken, tc.body)
		require.Equal(t, http.StatusInsufficientStorage, r.status, r.body)
		check, diag := issue(t, r)
		assert.Equal(t, "store-full", check)
		assert.Contains(t, diag, "cap of 2 resources")
	}
	r = do(t, s, "PUT", "Patient/a", testToken, `{"resourceType":"Patient","id":"a"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = do(t, s, "DELETE", "Patient/a", testToken, "")
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	r = do(t, s, "PUT", "Patient/new", testToken, `{"resourceType":"Patient","id":"new"}`)
	require.Equal(t, http.StatusCreated, r.status, "a delete frees a place: %s", r.body)

	_, err := New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{}`), MaxResources: 2,
		Seed: []byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"b"}},{"resource":{"resourceType":"Patient","id":"c"}}]}`)})
	require.ErrorContains(t, err, "cap of 2")
	s, _ = newTestServer(t, &fakeLambda{})
	assert.Equal(t, DefaultMaxResources, s.store.max)
}

// Only references to this server (relative, or absolute under BaseURL or
// DatastoreEndpoint) put a resource into a compartment or match a search.
func TestAbsoluteReferences(t *testing.T) {
	const base = "http://127.0.0.1:8080/datastore/0123456789abcdef0123456789abcdef/r4/"
	s, _ := newTestServer(t, &fakeLambda{scope: "patient/Observation.rs", patient: "456"}, func(c *Config) {
		c.BaseURL = base
		c.Seed = []byte(`{"resourceType":"Bundle","entry":[
			{"resource":{"resourceType":"Observation","id":"rel","subject":{"reference":"Patient/456"}}},
			{"resource":{"resourceType":"Observation","id":"hist","subject":{"reference":"Patient/456/_history/2"}}},
			{"resource":{"resourceType":"Observation","id":"endpoint","subject":{"reference":"` + testEndpoint + `Patient/456"}}},
			{"resource":{"resourceType":"Observation","id":"base","subject":{"reference":"` + base + `Patient/456"}}},
			{"resource":{"resourceType":"Observation","id":"foreign","subject":{"reference":"https://evil.example/fhir/Patient/456"}}},
			{"resource":{"resourceType":"Observation","id":"prefix","subject":{"reference":"` + strings.TrimSuffix(testEndpoint, "/") + `x/Patient/456"}}},
			{"resource":{"resourceType":"Observation","id":"nested","subject":{"reference":"x/Patient/456"}}}]}`)
	})
	want := []string{"base", "endpoint", "hist", "rel"}
	r := do(t, s, "GET", "Observation", testToken, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, want, ids(t, r))
	for _, id := range []string{"foreign", "prefix", "nested"} {
		r = do(t, s, "GET", "Observation/"+id, testToken, "")
		assert.Equal(t, http.StatusNotFound, r.status, "%s: %s", id, r.body)
	}

	s, _ = newTestServer(t, &fakeLambda{scope: "system/Observation.rs"}, func(c *Config) { c.Seed = s.cfg.Seed; c.BaseURL = base })
	for _, q := range []string{"Patient/456", "456", testEndpoint + "Patient/456", base + "Patient/456"} {
		r = do(t, s, "GET", "Observation?subject="+q, testToken, "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, want, ids(t, r), q)
	}
	r = do(t, s, "GET", "Observation?subject=https://evil.example/fhir/Patient/456", testToken, "")
	assert.Empty(t, ids(t, r))
}

// The HTTP invoker never follows a redirect (the event holds the bearer
// token): a 307 is a failed invocation and the target sees nothing. Its
// transport ignores the proxy environment.
func TestHTTPInvokerNoRedirectNoProxy(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		targetHits.Add(1)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+RIEInvokePath, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	inv, err := NewHTTPInvoker(redirect.URL, &http.Client{Timeout: 5 * time.Second})
	require.NoError(t, err)
	s, _ := newTestServer(t, inv)
	r := do(t, s, "GET", "Patient/456", testToken, "")
	require.Equal(t, http.StatusUnauthorized, r.status, r.body)
	check, diag := issue(t, r)
	assert.Equal(t, "lambda-error", check)
	assert.Contains(t, diag, "HTTP 307 redirect, not followed")
	assert.Zero(t, targetHits.Load(), "the redirect target got nothing")

	// (Go never proxies 127.0.0.1, so the proxy setting is checked directly.)
	tr := inv.client.Transport.(*http.Transport)
	assert.Nil(t, tr.Proxy, "HTTP_PROXY is ignored")
}

// The invocation limit holds for an invoker that ignores its context: the
// answer is 401 "Timeout during custom Idp execution." when the limit
// passes, not when the invoker returns.
func TestInvokeTimeoutWithoutContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	inv := InvokerFunc(func(context.Context, []byte) ([]byte, error) {
		<-release // ignores ctx; returns only when the test ends
		return allowAnswer(testEndpoint, "system/*.rs", ""), nil
	})
	s, _ := newTestServer(t, inv, func(c *Config) { c.InvokeTimeout = 20 * time.Millisecond })
	start := time.Now()
	r := do(t, s, "GET", "Patient/456", testToken, "")
	assert.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, http.StatusUnauthorized, r.status, r.body)
	check, diag := issue(t, r)
	assert.Equal(t, "lambda-timeout", check)
	assert.Contains(t, diag, "Timeout during custom Idp execution.")

	// A panicking invoker is a failed invocation, not a crash.
	s, _ = newTestServer(t, InvokerFunc(func(context.Context, []byte) ([]byte, error) { panic("boom") }))
	r = do(t, s, "GET", "Patient/456", testToken, "")
	require.Equal(t, http.StatusUnauthorized, r.status, r.body)
	check, _ = issue(t, r)
	assert.Equal(t, "lambda-error", check)
}

// ParseMetadata and the invoker's function-error check decode strictly:
// exact member names, valid UTF-8, no duplicate names.
func TestStrictJSON(t *testing.T) {
	for name, md := range map[string]string{
		"duplicate name":             `{"issuer":"a","issuer":"b"}`,
		"invalid UTF-8 in a string":  "\"{\\\"issuer\\\":\\\"\xff\\\"}\"",
		"invalid UTF-8 in an object": "{\"issuer\":\"\xff\"}",
	} {
		_, err := ParseMetadata([]byte(md))
		assert.Error(t, err, name)
	}
	md, err := ParseMetadata([]byte(`"{\"issuer\":\"https://idp.example.com\"}"`))
	require.NoError(t, err)
	assert.Equal(t, "https://idp.example.com", md["issuer"])

	for _, tc := range []struct {
		body, wantErr string
	}{
		{`{"errorMessage":"boom","errorType":"E"}`, "E: boom"},
		{`{"ErrorMessage":"boom"}`, ""}, // not Lambda's name: an answer, refused later as one
	} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(tc.body)) }))
		inv, err := NewHTTPInvoker(ts.URL, &http.Client{Timeout: 5 * time.Second})
		require.NoError(t, err)
		out, err := inv.Invoke(context.Background(), []byte(`{}`))
		ts.Close()
		if tc.wantErr == "" {
			require.NoError(t, err)
			assert.Equal(t, tc.body, string(out))
			continue
		}
		require.ErrorContains(t, err, tc.wantErr)
	}
}

// InvokeTimeout is capped, so the served responses' write timeout, derived
// from it, always outlasts the invocation.
func TestInvokeTimeoutCap(t *testing.T) {
	_, err := New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{}`), InvokeTimeout: MaxInvokeTimeout + time.Second})
	require.ErrorContains(t, err, "at most 1m0s")
	s, err := New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{}`), InvokeTimeout: MaxInvokeTimeout})
	require.NoError(t, err)
	assert.Equal(t, MaxInvokeTimeout, s.cfg.InvokeTimeout)
}
