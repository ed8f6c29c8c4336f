package emulator

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt/hltest"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

func TestBadRequests(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	tests := []struct {
		name, method, path, body string
		header                   []string
		maxBody                  int64
		wantStatus               int
		wantCheck, wantText      string
	}{
		{name: "not JSON", method: "POST", path: "Observation", body: `{"resourceType":`, wantStatus: 400, wantCheck: "body", wantText: "unexpected EOF"},
		{name: "duplicate member", method: "POST", path: "Observation", body: `{"resourceType":"Observation","status":"final","status":"amended"}`, wantStatus: 400, wantCheck: "body", wantText: "duplicate object member name \"status\""},
		{name: "trailing data", method: "POST", path: "Observation", body: `{"resourceType":"Observation"} {}`, wantStatus: 400, wantCheck: "body", wantText: "after top-level value"},
		{name: "array", method: "POST", path: "Observation", body: `[{"resourceType":"Observation"}]`, wantStatus: 400, wantCheck: "body", wantText: "want a JSON object"},
		{name: "invalid UTF-8", method: "POST", path: "Observation", body: "{\"resourceType\":\"Observation\",\"note\":\"\xff\"}", wantStatus: 400, wantCheck: "body", wantText: "UTF-8"},
		{name: "too deep", method: "POST", path: "Observation", body: deep, wantStatus: 400, wantCheck: "body", wantText: "nested deeper"},
		{name: "empty body", method: "POST", path: "Observation", body: "", wantStatus: 400, wantCheck: "body", wantText: "no body"},
		{name: "resourceType missing", method: "POST", path: "Observation", body: `{"status":"final"}`, wantStatus: 400, wantCheck: "body", wantText: "resourceType missing"},
		{name: "resourceType mismatch", method: "POST", path: "Observation", body: `{"resourceType":"Patient"}`, wantStatus: 400, wantCheck: "body", wantText: "does not match the URL's type"},
		{name: "bad id", method: "POST", path: "Observation", body: `{"resourceType":"Observation","id":"../etc"}`, wantStatus: 400, wantCheck: "body", wantText: "id must be"},
		{name: "update without id", method: "PUT", path: "Patient/456", body: `{"resourceType":"Patient"}`, wantStatus: 400, wantCheck: "body", wantText: "id missing"},
		{name: "update id mismatch", method: "PUT", path: "Patient/456", body: `{"resourceType":"Patient","id":"789"}`, wantStatus: 400, wantCheck: "body", wantText: "does not match the URL's id"},
		{name: "too large", method: "POST", path: "Observation", body: `{"resourceType":"Observation","note":"` + strings.Repeat("x", 200) + `"}`, maxBody: 100, wantStatus: 413, wantCheck: "body-size"},
		{name: "wrong content type", method: "POST", path: "Observation", body: `{"resourceType":"Observation"}`, header: []string{"Content-Type", "text/xml"}, wantStatus: 415, wantCheck: "content-type"},
		{name: "unsupported search parameter", method: "GET", path: "Observation?status=final", wantStatus: 400, wantCheck: "search", wantText: "unsupported search parameter"},
		{name: "search modifier", method: "GET", path: "Observation?code:text=glucose", wantStatus: 400, wantCheck: "search", wantText: "modifiers"},
		{name: "bad _count", method: "GET", path: "Observation?_count=-1", wantStatus: 400, wantCheck: "search"},
		{name: "malformed path", method: "GET", path: "observation/1", wantStatus: 400, wantCheck: "request"},
		{name: "unknown method", method: "TRACE", path: "Patient/456", wantStatus: 400, wantCheck: "request"},
		{name: "percent in path", method: "GET", path: "Patient/%2e%2e", wantStatus: 400, wantCheck: "request"},
		{name: "patch not supported", method: "PATCH", path: "Patient/456", body: `[]`, header: []string{"Content-Type", "application/json-patch+json"}, wantStatus: 501, wantCheck: "not-supported"},
		{name: "history not supported", method: "GET", path: "Patient/456/_history", wantStatus: 501, wantCheck: "not-supported"},
		{name: "unknown resource", method: "GET", path: "Patient/nope", wantStatus: 404, wantCheck: "not-found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"}, func(c *Config) { c.MaxBody = tc.maxBody })
			r := do(t, s, tc.method, tc.path, testToken, tc.body, tc.header...)
			require.Equal(t, tc.wantStatus, r.status, r.body)
			check, diag := issue(t, r)
			assert.Equal(t, tc.wantCheck, check, diag)
			assert.Contains(t, diag, tc.wantText)
		})
	}
}

func TestPublicEndpoints(t *testing.T) {
	fl := &fakeLambda{scope: "system/*.rs"}
	s, _ := newTestServer(t, fl)
	r := do(t, s, "GET", ".well-known/smart-configuration", "", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "https://idp.example.com", r.json["issuer"])
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Empty(t, fl.events, "HealthLake serves the SMART configuration without the Lambda")

	req := httptest.NewRequest("GET", "/datastore/ffffffffffffffffffffffffffffffff/r4/Patient", nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotFound, rec.Code, "another data store's path")

	md := do(t, s, "GET", "metadata", testToken, "")
	require.Equal(t, http.StatusOK, md.status)
	assert.Equal(t, "CapabilityStatement", md.json["resourceType"])
}

func TestParseMetadata(t *testing.T) {
	_, err := ParseMetadata([]byte(`"{\"issuer\":\"https://x\"}"`))
	require.NoError(t, err, "a JSON string holding the object (CloudFormation form)")
	_, err = ParseMetadata([]byte(`["x"]`))
	require.Error(t, err)
	_, err = New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{}`), Seed: []byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a b"}}]}`)})
	require.ErrorContains(t, err, "valid id")
	_, err = New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: "http://127.0.0.1/datastore/x/r4", Metadata: []byte(`{}`)})
	require.ErrorContains(t, err, "ending in /")
}

func TestHTTPInvoker(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{name: "answer", handler: func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, RIEInvokePath, r.URL.Path)
			var ev event
			assert.NoError(t, json.NewDecoder(r.Body).Decode(&ev))
			_, _ = w.Write(allowAnswer(ev.DatastoreEndpoint, "system/*.rs", ""))
		}},
		{name: "function error body", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"errorMessage":"lambdaadapter: internal authorization error","errorType":"errorString"}`))
		}, wantErr: "errorString: lambdaadapter: internal authorization error"},
		{name: "function error header", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = w.Write([]byte(`{"errorMessage":"boom"}`))
		}, wantErr: "lambda function error"},
		{name: "HTTP 502", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) }, wantErr: "HTTP 502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			defer ts.Close()
			inv, err := NewHTTPInvoker(ts.URL, &http.Client{Timeout: 5 * time.Second})
			require.NoError(t, err)
			assert.Equal(t, ts.URL+RIEInvokePath, inv.URL())
			s, _ := newTestServer(t, inv)
			r := do(t, s, "GET", "Patient/456", testToken, "")
			if tc.wantErr == "" {
				assert.Equal(t, http.StatusOK, r.status, r.body)
				return
			}
			require.Equal(t, http.StatusUnauthorized, r.status)
			check, diag := issue(t, r)
			assert.Equal(t, "lambda-error", check)
			assert.Contains(t, diag, tc.wantErr)
		})
	}
	client := &http.Client{Timeout: time.Second}
	_, err := NewHTTPInvoker("ftp://x", client)
	require.Error(t, err)
	for _, c := range []*http.Client{nil, {}} {
		_, err = NewHTTPInvoker("http://127.0.0.1:9000", c)
		require.ErrorContains(t, err, "Timeout", "no client without a timeout")
	}
	inv, err := NewHTTPInvoker("http://127.0.0.1:9000/", client)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9000"+RIEInvokePath, inv.URL())
}

// TestThroughLambdaAdapter runs the real validator behind the real Lambda
// handler (lambdaadapter.Invoke, bytes in and out) with signed tokens.
func TestThroughLambdaAdapter(t *testing.T) {
	key := testjwt.RSAKey()
	ks, err := smartauth.NewStaticKeySet(testjwt.JWKS(t, testjwt.PublicJWK{Kid: "k1", Alg: jwa.RS256(), Key: key}))
	require.NoError(t, err)
	const iss = "https://kc.example.com/realms/fhir"
	v, err := smartauth.NewValidator(smartauth.Config{
		Now:     func() time.Time { return testNow },
		Issuers: []smartauth.IssuerConfig{{Issuer: iss, KeySet: ks, Audience: smartauth.EndpointAudience()}},
	})
	require.NoError(t, err)
	// LambdaLogger folds the handler's decision into the request's log line.
	s, logs := newTestServer(t, InvokerFunc(lambdaadapter.New(hltest.Authorizer(t, v, testRole), lambdaadapter.WithLogger(LambdaLogger())).Invoke))

	claims := func(scope string, extra map[string]any) map[string]any {
		c := map[string]any{"iss": iss, "aud": testEndpoint, "sub": "u1", "iat": testNow.Unix() - 10, "exp": testNow.Unix() + 300, "scope": scope}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	sign := func(c map[string]any) string { return testjwt.Sign(t, key, jwa.RS256(), "k1", "", c) }
	other := testjwt.NewRSAKey()

	tests := []struct {
		name       string
		token      string
		path       string
		wantStatus int
		wantCheck  string
		wantIDs    []string
	}{
		{name: "system search", token: sign(claims("system/*.rs", nil)), path: "Patient", wantStatus: 200, wantIDs: []string{"456", "789", "900"}},
		{name: "patient compartment", token: sign(claims("launch/patient patient/*.rs", map[string]any{"patient": "789"})), path: "Observation", wantStatus: 200, wantIDs: []string{"obs-789-glucose", "obs-789-heart-rate"}},
		{name: "patient reads another", token: sign(claims("patient/*.rs", map[string]any{"patient": "789"})), path: "Patient/456", wantStatus: 404, wantCheck: "not-found"},
		{name: "wrong audience", token: sign(claims("system/*.rs", map[string]any{"aud": "https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/"})), path: "Patient", wantStatus: 401, wantCheck: "isAuthorized"},
		{name: "expired", token: sign(claims("system/*.rs", map[string]any{"exp": testNow.Unix() - 3600, "iat": testNow.Unix() - 4000})), path: "Patient", wantStatus: 401, wantCheck: "isAuthorized"},
		{name: "forged", token: testjwt.Sign(t, other, jwa.RS256(), "k1", "", claims("system/*.rs", nil)), path: "Patient", wantStatus: 401, wantCheck: "isAuthorized"},
		{name: "not a JWT", token: "not-a-jwt", path: "Patient", wantStatus: 401, wantCheck: "isAuthorized"},
		{name: "no resource scope", token: sign(claims("openid", nil)), path: "Patient", wantStatus: 401, wantCheck: "isAuthorized"},
		{name: "scope missing for type", token: sign(claims("system/Observation.rs", nil)), path: "Patient", wantStatus: 403, wantCheck: "scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := strings.Count(logs.String(), "\n")
			r := do(t, s, "GET", tc.path, tc.token, "")
			require.Equal(t, tc.wantStatus, r.status, r.body)
			assert.NotContains(t, r.body, tc.token)
			line := strings.TrimSpace(logs.String()[len(logs.String())-len(lastLine(logs.String())):])
			assert.Equal(t, lines+1, strings.Count(logs.String(), "\n"), "one log line per request")
			if tc.wantStatus == http.StatusUnauthorized {
				assert.Contains(t, line, "lambda_reason=", "the Lambda's reason is in the request's line")
			}
			if tc.wantCheck != "" {
				check, diag := issue(t, r)
				assert.Equal(t, tc.wantCheck, check, diag)
			} else {
				assert.Equal(t, tc.wantIDs, ids(t, r))
			}
			assert.NotContains(t, logs.String(), tc.token)
		})
	}
}

func TestServeShutdown(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.rs"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + s.BasePath() + ".well-known/smart-configuration")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after ctx cancel")
	}
	_, err = http.Get("http://" + ln.Addr().String() + "/")
	require.Error(t, err, "the listener is closed")
}

// FuzzServeHTTP: nothing a client sends crashes the server (500) or leaks
// another patient's data. The token grants patient/*.cruds for patient 456
// only; every marker of patients 789 and 900 must stay out of responses unless
// the request itself carried it.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "Patient", "", "")
	f.Add("GET", "Observation?patient=789", "", "")
	f.Add("POST", "Observation", `{"resourceType":"Observation","subject":{"reference":"Patient/456"}}`, "application/fhir+json")
	f.Add("PUT", "Observation/obs-789-glucose", `{"resourceType":"Observation","id":"obs-789-glucose","subject":{"reference":"Patient/456"}}`, "")
	f.Add("POST", "Observation/_search", "patient=789&_count=1", "application/x-www-form-urlencoded")
	f.Add("GET", "Condition?_id=cond-789-asthma", "", "")
	f.Add("DELETE", "Patient/900", "", "")
	f.Add("GET", "Observation?subject=http://x/Patient/789&code=2339-0,8867-4", "", "")
	f.Add("POST", "", `{"resourceType":"Bundle","type":"transaction"}`, "")
	f.Add("GET", "Patient%2F789", "", "")
	f.Add("POST", "Patient", `{"resourceType":"Patient","id":"456"}`, "application/fhir+json")
	f.Add("GET", "Patient/789/$everything", "", "")
	f.Add("GET", "Observation?_id=obs-789-glucose&_include=Observation:subject", "", "")
	f.Add("GET", "/Patient", "", "")
	markers := []string{"Testpatient-Beta", "Testpatient-Gamma", "obs-789", "obs-900", "cond-789", "Patient/789", "Patient/900"}
	f.Fuzz(func(t *testing.T, method, path, body, contentType string) {
		// v2 scopes count only with permission-v2 in the Metadata.
		s, err := New(Config{Invoker: &fakeLambda{scope: "patient/*.cruds patient/Observation.rs?category=laboratory", patient: "456"},
			DatastoreEndpoint: testEndpoint, Metadata: []byte(`{"capabilities":["permission-v2","permission-v2.2"]}`), Now: func() time.Time { return testNow }})
		require.NoError(t, err)
		// Everything outside patient 456's compartment before the request
		// (other patients, their data, practitioners), serialised: those,
		// not every id that happens to hold "789" (a server-assigned id
		// may).
		others := map[string][]byte{}
		for _, rt := range s.store.types() {
			for _, res := range s.store.all(rt) {
				if ok, _ := inCompartment(rt, decodedMembers(res), "456", localRefs{testEndpoint}); !ok {
					id, _ := res["id"].(string)
					b, err := json.Marshal(res)
					require.NoError(t, err)
					others[rt+"/"+id] = b
				}
			}
		}
		require.Contains(t, others, "Observation/obs-789-glucose")
		req, err := http.NewRequest(method, "http://127.0.0.1"+testBase+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.NotEqual(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
		out := rec.Body.String()
		for _, m := range markers {
			if strings.Contains(out, m) && !strings.Contains(path+body, m) && !strings.Contains(req.URL.String(), m) {
				t.Fatalf("response leaks %q: %s %s -> %d %s", m, method, path, rec.Code, out)
			}
		}
		// Data of patient 456's compartment only: nothing outside it was
		// deleted or changed, not even in place.
		for key, before := range others {
			rt, id, _ := strings.Cut(key, "/")
			raw, _, ok := s.store.get(rt, id)
			require.True(t, ok, "%s outside the compartment was deleted", key)
			res, err := decodeStrict(raw, 0)
			require.NoError(t, err)
			after, err := json.Marshal(res)
			require.NoError(t, err)
			require.Equal(t, string(before), string(after), "%s outside the compartment was changed", key)
		}
	})
}

// lastLine returns the last line of s, with its newline.
func lastLine(s string) string {
	i := strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")
	return s[i+1:]
}
