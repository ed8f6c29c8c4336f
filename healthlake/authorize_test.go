package healthlake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const denyJSON = `{"authPayload":{"isAuthorized":false}}`

// eventJSON is a HealthLake event as the service sends it.
func eventJSON(tb testing.TB, endpoint, token string) []byte {
	tb.Helper()
	return []byte(mustJSON(tb, map[string]any{
		"datastoreEndpoint":    endpoint,
		"bearerToken":          token,
		"operationName":        "SearchWithGet",
		"datastoreId":          "0123456789abcdef0123456789abcdef",
		"datastoreTypeVersion": "R4",
		"datastoreName":        "smart-ds",
	}))
}

// authorizeJSON runs the full JSON path: decode the event, authorize,
// encode the response.
func authorizeJSON(tb testing.TB, a *healthlake.Authorizer, event []byte) (healthlake.Decision, string) {
	tb.Helper()
	ev, err := healthlake.DecodeEvent(event)
	require.NoError(tb, err)
	d := a.Authorize(context.Background(), ev)
	out, err := healthlake.MarshalResponse(&d.Response)
	require.NoError(tb, err)
	return d, string(out)
}

// allowJSON is the expected allowed response for the default Keycloak
// claims, with the given overrides of authPayload members (nil deletes).
func allowJSON(tb testing.TB, payload map[string]any) string {
	tb.Helper()
	p := map[string]any{
		"iss":          testIssuer,
		"aud":          testEndpoint,
		"iat":          at(-10 * time.Second),
		"nbf":          at(-10 * time.Second),
		"exp":          at(5 * time.Minute),
		"isAuthorized": true,
		"uid":          "f0e1d2c3-b4a5-4697-8899-aabbccddeeff",
		"scope":        "openid fhirUser launch/patient patient/*.read",
		"fhirUser":     "Practitioner/123",
		"patient":      "456",
	}
	for k, v := range payload {
		if v == nil {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	return mustJSON(tb, map[string]any{"authPayload": p, "iamRoleARN": testRoleARN})
}

func TestAuthorizeAllowed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		config   func(*testConfig)
		token    func(testing.TB) string
		endpoint string
		want     map[string]any // authPayload overrides of allowJSON
		clientID string
	}{
		{name: "Keycloak token", token: kcToken(), clientID: "svc"},
		{name: "aud echoes the endpoint byte for byte (no trailing slash)", token: kcToken(),
			endpoint: strings.TrimSuffix(testEndpoint, "/"), want: map[string]any{"aud": strings.TrimSuffix(testEndpoint, "/")}},
		{name: "aud echoes the endpoint, not the token aud", token: kcToken("aud", []string{"account", strings.TrimSuffix(testEndpoint, "/")})},
		{name: "nbf copied from the token", token: kcToken("nbf", at(-5*time.Second)), want: map[string]any{"nbf": at(-5 * time.Second)}},
		{name: "isAuthorized as the string true", token: kcToken(), config: func(c *testConfig) { c.HL.AuthorizedAsString = true },
			want: map[string]any{"isAuthorized": "true"}},
		{name: "uid from preferred_username via UIDClaim", token: kcToken(), config: func(c *testConfig) { c.HL.UIDClaim = "preferred_username" },
			want: map[string]any{"uid": "dr.jones"}},
		{name: "uid omitted when the UID claim is absent", token: kcToken("sub", omit), want: map[string]any{"uid": nil}},
		{name: "fhirUser and patient omitted when absent", token: kcToken("fhirUser", omit, "patient", omit, "scope", "openid system/*.read"),
			want: map[string]any{"fhirUser": nil, "patient": nil, "scope": "openid system/*.read"}},
		{name: "patient/ scopes dropped without a patient claim, user/ scopes kept", token: kcToken("patient", omit, "scope", "patient/*.read user/Observation.rs"),
			want: map[string]any{"patient": nil, "scope": "user/Observation.rs"}},
		{name: "extension scopes are never forwarded", token: kcToken("scope", "__profilePhoto.manage https://other-rs.example/system/*.cruds patient/Observation.rs"),
			want: map[string]any{"scope": "patient/Observation.rs"}},
		{name: "fhirUser passed through unchanged (absolute URL)", token: kcToken("fhirUser", "https://ehr.example.com/fhir/Practitioner/123"),
			want: map[string]any{"fhirUser": "https://ehr.example.com/fhir/Practitioner/123"}},
		{name: "invalid and unknown scopes dropped", token: kcToken("scope", "aws.cognito.signin.user.admin email patient/observation.rs patient/Observation.rs openid"),
			want: map[string]any{"scope": "patient/Observation.rs openid"}},
		{name: "v2.2 granular scope verbatim", token: kcToken("scope", "patient/Observation.rs?category=laboratory user/Patient.r"),
			want: map[string]any{"scope": "patient/Observation.rs?category=laboratory user/Patient.r"}},
		{name: "Okta scp array joined with single spaces", token: kcToken("scope", omit, "scp", []string{"openid", "patient/*.read", "launch/patient"}),
			want: map[string]any{"scope": "openid patient/*.read launch/patient"}},
		{name: "unknown operationName is fine", token: kcToken()},
		{name: "Cognito token, prefix stripped, uid from username", config: func(c *testConfig) {
			useCognito(c)
			c.HL.UIDClaim = "username"
		}, token: cognitoToken("patient", "456"), clientID: testClientID, want: map[string]any{
			"iss": cognitoIssuer, "iat": at(-time.Minute), "nbf": at(-time.Minute), "exp": at(time.Hour),
			"uid": "jdoe", "scope": "openid patient/*.read launch/patient", "fhirUser": nil, "patient": "456",
		}},
		{name: "Cognito machine token, uid from client_id", config: func(c *testConfig) {
			useCognito(c)
			c.HL.UIDClaim = "client_id"
		}, token: cognitoToken("scope", testScopePrefix+"/system/*.read", "username", omit, "sub", testClientID, "cognito:groups", omit),
			clientID: testClientID, want: map[string]any{
				"iss": cognitoIssuer, "iat": at(-time.Minute), "nbf": at(-time.Minute), "exp": at(time.Hour),
				"uid": testClientID, "scope": "system/*.read", "fhirUser": nil, "patient": nil,
			}},
		{name: "Endpoints restriction allows a listed endpoint (slash ignored)", token: kcToken(),
			config: func(c *testConfig) { c.Endpoints = []string{strings.TrimSuffix(testEndpoint, "/")} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAuthorizer(t, tc.config)
			endpoint := tc.endpoint
			if endpoint == "" {
				endpoint = testEndpoint
			}
			raw := tc.token(t)
			event := eventJSON(t, endpoint, raw)
			if tc.name == "unknown operationName is fine" {
				event = bytes.Replace(event, []byte("SearchWithGet"), []byte("FrobnicateResourceV9"), 1)
			}
			d, got := authorizeJSON(t, a, event)
			require.NoError(t, d.Err)
			assert.True(t, d.Allowed)
			assert.False(t, d.Internal)
			assert.Equal(t, "ok", d.Reason)
			assert.JSONEq(t, allowJSON(t, tc.want), got)
			assert.NotContains(t, got, raw)
			assert.Positive(t, d.Latency, "latency is measured on the real clock, not the fake one")
			if tc.clientID != "" {
				assert.Equal(t, tc.clientID, d.ClientID)
			}
			var scope struct {
				AuthPayload struct{ Scope string } `json:"authPayload"`
			}
			require.NoError(t, json.Unmarshal([]byte(got), &scope))
			assert.Equal(t, len(strings.Fields(scope.AuthPayload.Scope)), d.Scopes)
		})
	}
}

// TestAuthorizeResponseTypes checks the JSON types HealthLake needs
// (HealthLake IdP Lambda reference): integers for times, a boolean
// isAuthorized, exact casing.
func TestAuthorizeResponseTypes(t *testing.T) {
	a := mustAuthorizer(t, nil)
	d, got := authorizeJSON(t, a, eventJSON(t, testEndpoint, mint(t, keycloakClaims())))
	require.True(t, d.Allowed)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(got), &m))
	assert.ElementsMatch(t, []string{"authPayload", "iamRoleARN"}, keysOf(m))
	var p map[string]any
	dec := json.NewDecoder(bytes.NewReader(m["authPayload"]))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&p))
	for _, k := range []string{"iat", "nbf", "exp"} {
		n, ok := p[k].(json.Number)
		require.True(t, ok, "%s is not a number", k)
		_, err := n.Int64()
		assert.NoError(t, err, "%s is not an integer", k)
	}
	assert.Equal(t, true, p["isAuthorized"])
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAuthorizeDenied(t *testing.T) {
	for _, tc := range []struct {
		name     string
		config   func(*testConfig)
		event    func(testing.TB) []byte
		want     error
		wantJSON string
		reason   string
	}{
		{name: "no resource scope left (openid fhirUser only)", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, mint(tb, keycloakClaims("scope", "openid fhirUser")))
		}, want: smartauth.ErrScope, reason: "scope"},
		{name: "only invalid resource scopes", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, mint(tb, keycloakClaims("scope", "patient/observation.rs Patient/*.read launch/patient")))
		}, want: smartauth.ErrScope, reason: "scope"},
		{name: "no scope claim", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, mint(tb, keycloakClaims("scope", omit)))
		}, want: smartauth.ErrScope, reason: "scope"},
		{name: "expired token", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, mint(tb, keycloakClaims("exp", at(-time.Hour), "iat", at(-2*time.Hour))))
		}, want: smartauth.ErrExpired, reason: "exp"},
		{name: "token for another data store", event: func(tb testing.TB) []byte {
			return eventJSON(tb, otherEndpoint, mint(tb, keycloakClaims()))
		}, want: smartauth.ErrAudience, reason: "aud"},
		{name: "deny as strings", config: func(c *testConfig) { c.HL.AuthorizedAsString = true }, event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, mint(tb, keycloakClaims("aud", otherEndpoint)))
		}, want: smartauth.ErrAudience, reason: "aud", wantJSON: `{"authPayload":{"isAuthorized":"false"}}`},
		{name: "missing endpoint", event: func(tb testing.TB) []byte {
			return []byte(mustJSON(tb, map[string]any{"bearerToken": mint(tb, keycloakClaims())}))
		}, want: healthlake.ErrEvent, reason: "event"},
		{name: "empty endpoint", event: func(tb testing.TB) []byte {
			return eventJSON(tb, "", mint(tb, keycloakClaims()))
		}, want: healthlake.ErrEvent, reason: "event"},
		{name: "endpoint with whitespace", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint+" ", mint(tb, keycloakClaims()))
		}, want: healthlake.ErrEvent, reason: "event"},
		{name: "missing token", event: func(tb testing.TB) []byte {
			return []byte(mustJSON(tb, map[string]any{"datastoreEndpoint": testEndpoint}))
		}, want: smartauth.ErrTokenMissing, reason: "token_missing"},
		{name: "empty token", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, "")
		}, want: smartauth.ErrTokenMissing, reason: "token_missing"},
		{name: "Bearer prefix only", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, "Bearer ")
		}, want: smartauth.ErrTokenMissing, reason: "token_missing"},
		{name: "null event", event: func(testing.TB) []byte { return []byte(`null`) }, want: healthlake.ErrEvent, reason: "event"},
		{name: "empty object event", event: func(testing.TB) []byte { return []byte(`{}`) }, want: healthlake.ErrEvent, reason: "event"},
		{name: "Endpoints restriction denies an unlisted endpoint", config: func(c *testConfig) { c.Endpoints = []string{testEndpoint} },
			event: func(tb testing.TB) []byte {
				return eventJSON(tb, otherEndpoint, mint(tb, keycloakClaims("aud", otherEndpoint)))
			}, want: healthlake.ErrEvent, reason: "event"},
		{name: "garbage token", event: func(tb testing.TB) []byte {
			return eventJSON(tb, testEndpoint, "not-a-jwt")
		}, want: smartauth.ErrMalformed, reason: "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAuthorizer(t, tc.config)
			event := tc.event(t)
			d, got := authorizeJSON(t, a, event)
			require.ErrorIs(t, d.Err, tc.want)
			assert.False(t, d.Allowed)
			assert.False(t, d.Internal)
			assert.Equal(t, tc.reason, d.Reason)
			want := tc.wantJSON
			if want == "" {
				want = denyJSON
			}
			assert.JSONEq(t, want, got)
			assert.NotContains(t, got, "iamRoleARN")
			assert.NotContains(t, got, `"aud"`)
			var ev healthlake.Event
			if json.Unmarshal(event, &ev) == nil && len(ev.BearerToken) > 12 {
				assert.NotContains(t, d.Err.Error(), ev.BearerToken)
				assert.NotContains(t, fmt.Sprintf("%+v", d), ev.BearerToken)
			}
		})
	}
}

func TestAuthorizeScopeDenyKeepsIdentity(t *testing.T) {
	a := mustAuthorizer(t, nil)
	d := a.Authorize(context.Background(), healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: mint(t, keycloakClaims("scope", "openid fhirUser"))})
	require.ErrorIs(t, d.Err, smartauth.ErrScope)
	assert.Equal(t, testIssuer, d.Issuer)
	assert.Equal(t, "svc", d.ClientID)
	assert.Equal(t, "f0e1d2c3-b4a5-4697-8899-aabbccddeeff", d.Subject)
	assert.Zero(t, d.Scopes)
}

func TestAuthorizeBearerPrefix(t *testing.T) {
	a := mustAuthorizer(t, nil)
	raw := mint(t, keycloakClaims())
	for _, prefix := range []string{"", "Bearer ", "bearer ", "BeArEr "} {
		d := a.Authorize(context.Background(), healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: prefix + raw})
		assert.True(t, d.Allowed, "prefix %q: %v", prefix, d.Err)
	}
	for _, prefix := range []string{"Bearer  ", "Bearer\t", "Token ", " "} {
		d := a.Authorize(context.Background(), healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: prefix + raw})
		assert.ErrorIs(t, d.Err, smartauth.ErrMalformed, "prefix %q", prefix)
	}
}

func TestAuthorizeInternal(t *testing.T) {
	a := mustAuthorizer(t, func(c *testConfig) {
		c.Issuers[0].KeySet.(*testKeySet).err = fmt.Errorf("%w: connection refused", smartauth.ErrKeySetUnavailable)
	})
	raw := mint(t, keycloakClaims())
	d, got := authorizeJSON(t, a, eventJSON(t, testEndpoint, raw))
	require.ErrorIs(t, d.Err, smartauth.ErrKeySetUnavailable)
	assert.True(t, d.Internal, "JWKS unreachable with nothing cached is an internal fault")
	assert.False(t, d.Allowed)
	assert.Equal(t, "jwks_unavailable", d.Reason)
	assert.JSONEq(t, denyJSON, got)

	// A plain deny is not internal.
	d, _ = authorizeJSON(t, a, eventJSON(t, testEndpoint, mint(t, keycloakClaims("iss", "https://evil.example.com"))))
	require.ErrorIs(t, d.Err, smartauth.ErrUnknownIssuer)
	assert.False(t, d.Internal)
	d, _ = authorizeJSON(t, mustAuthorizer(t, nil), eventJSON(t, testEndpoint, mint(t, keycloakClaims("exp", at(-time.Hour), "iat", at(-2*time.Hour)))))
	require.ErrorIs(t, d.Err, smartauth.ErrExpired)
	assert.False(t, d.Internal)
}

func TestAuthorizeScopesV1(t *testing.T) {
	for _, tc := range []struct {
		claim string
		want  string // "" means deny (no resource scope left)
	}{
		{"patient/Observation.rs", "patient/Observation.read"},
		{"user/*.cruds", "user/*.*"},
		{"system/Patient.cud", "system/Patient.write"},
		{"patient/Observation.read", "patient/Observation.read"},
		{"user/*.*", "user/*.*"},
		{"user/Patient.write", "user/Patient.write"},
		{"patient/*.read launch/patient openid fhirUser", "patient/*.read launch/patient openid fhirUser"},
		{"patient/Observation.r", ""},
		{"patient/Observation.s patient/Observation.crud", ""},
		{"patient/Observation.rs?category=laboratory", ""},
		{"openid patient/Observation.r patient/Patient.rs", "openid patient/Patient.read"},
		{"patient/Observation.rs patient/Observation.read", "patient/Observation.read"},
		{"patient/Observation.read patient/Observation.rs", "patient/Observation.read"},
		{"user/*.cruds user/*.* user/*.cruds", "user/*.*"},
		{"patient/Observation.rs?category=laboratory patient/Observation.rs", "patient/Observation.read"},
	} {
		t.Run(tc.claim, func(t *testing.T) {
			a := mustAuthorizer(t, func(c *testConfig) { c.HL.ScopeFormat = healthlake.ScopesV1 })
			d, got := authorizeJSON(t, a, eventJSON(t, testEndpoint, mint(t, keycloakClaims("scope", tc.claim))))
			if tc.want == "" {
				require.ErrorIs(t, d.Err, smartauth.ErrScope)
				assert.JSONEq(t, denyJSON, got)
				return
			}
			require.NoError(t, d.Err)
			assert.JSONEq(t, allowJSON(t, map[string]any{"scope": tc.want}), got)
		})
	}
}

// TestEventNeverPrintsToken covers row 32 for the event: every way a
// caller might print or log an Event leaves the token out.
func TestEventNeverPrintsToken(t *testing.T) {
	raw := mint(t, keycloakClaims())
	p := segments(raw)
	ev := healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: "Bearer " + raw, OperationName: "ReadResource", DatastoreID: "0123"}
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("event", "event", ev, "ptr", &ev)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("event", slog.Any("event", ev))
	outputs := map[string]string{
		"String":       ev.String(),
		"GoString":     ev.GoString(),
		"LogValue":     ev.LogValue().String(),
		"%v":           fmt.Sprintf("%v", ev),
		"%+v":          fmt.Sprintf("%+v", ev),
		"%#v":          fmt.Sprintf("%#v", ev),
		"%s":           fmt.Sprintf("%s", ev), //lint:ignore S1025 the %s verb is what is tested
		"%q":           fmt.Sprintf("%q", ev),
		"%v pointer":   fmt.Sprintf("%v", &ev),
		"%+v pointer":  fmt.Sprintf("%+v", &ev),
		"%#v pointer":  fmt.Sprintf("%#v", &ev),
		"%v in slice":  fmt.Sprintf("%v", []healthlake.Event{ev}),
		"%+v wrapped":  fmt.Sprintf("%+v", struct{ E healthlake.Event }{ev}),
		"slog JSON":    jsonLog.String(),
		"slog text":    textLog.String(),
		"error %v":     fmt.Errorf("handling %v", ev).Error(),
		"Decision %+v": fmt.Sprintf("%+v", mustAuthorizer(t, nil).Authorize(context.Background(), ev)),
	}
	for name, out := range outputs {
		assert.NotContains(t, out, raw, name)
		for i, seg := range p {
			assert.NotContains(t, out, seg, "%s: segment %d", name, i)
		}
		assert.Contains(t, out, testEndpoint, "%s keeps the endpoint", name)
	}
	assert.Contains(t, ev.String(), "redacted")
	assert.Contains(t, healthlake.Event{}.String(), "(none)")
}

func TestDecodeEvent(t *testing.T) {
	raw := mint(t, keycloakClaims())
	t.Run("full event with unknown fields", func(t *testing.T) {
		js := `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw + `","operationName":"SearchWithGet",` +
			`"datastoreId":"0123456789abcdef0123456789abcdef","datastoreTypeVersion":"R4","datastoreName":"smart-ds",` +
			`"requestId":"abc","headers":{"x":["y"]},"futureField":[1,2,3]}`
		ev, err := healthlake.DecodeEvent([]byte(js))
		require.NoError(t, err)
		want := healthlake.Event{
			DatastoreEndpoint: testEndpoint, BearerToken: raw, OperationName: "SearchWithGet",
			DatastoreID: "0123456789abcdef0123456789abcdef", DatastoreTypeVersion: "R4", DatastoreName: "smart-ds",
		}
		if diff := cmp.Diff(want, ev); diff != "" {
			t.Errorf("event (-want +got):\n%s", diff)
		}
	})
	t.Run("minimal event", func(t *testing.T) {
		ev, err := healthlake.DecodeEvent([]byte(`{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"x"}`))
		require.NoError(t, err)
		assert.Equal(t, healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: "x"}, ev)
	})
	for _, tc := range []struct{ name, js, want string }{
		{"token as a number", `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":42}`, `field "bearerToken" has the wrong type`},
		{"endpoint as an array", `{"datastoreEndpoint":["` + testEndpoint + `"],"bearerToken":"` + raw + `"}`, `field "datastoreEndpoint" has the wrong type`},
		{"operationName as an object", `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw + `","operationName":{}}`, `field "operationName"`},
		{"datastoreId as a boolean", `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw + `","datastoreId":true}`, `field "datastoreId"`},
		{"not JSON", `datastoreEndpoint=` + testEndpoint + `&bearerToken=` + raw, "malformed JSON"},
		{"truncated JSON", `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw, "malformed JSON"},
		{"array", `["` + testEndpoint + `","` + raw + `"]`, "not a JSON object"},
		{"string", `"` + raw + `"`, "not a JSON object"},
		{"empty input", ``, "malformed JSON"},
		{"oversized", `{"bearerToken":"` + strings.Repeat("a", 100<<10) + `"}`, "larger than"},
		{"duplicate bearerToken", `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw + `","bearerToken":"` + raw + `"}`, "duplicate member name"},
		{"duplicate unknown member", `{"x":1,"x":2,"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw + `"}`, "duplicate member name"},
		{"invalid UTF-8 in the token", `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw + "\xff" + `"}`, "invalid UTF-8"},
		{"invalid UTF-8 in an unknown member", `{"datastoreEndpoint":"` + testEndpoint + `","bearerToken":"` + raw + `","x":"` + "\xc0" + `"}`, "invalid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := healthlake.DecodeEvent([]byte(tc.js))
			require.ErrorIs(t, err, healthlake.ErrEvent)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), raw)
			for i, seg := range segments(raw) {
				assert.NotContains(t, err.Error(), seg, "segment %d", i)
			}
			assert.Equal(t, "event", healthlake.Reason(err))
		})
	}
}

func TestAuthPayloadJSON(t *testing.T) {
	for _, tc := range []struct {
		js   string
		want healthlake.AuthPayload
	}{
		{`{"isAuthorized":true,"aud":"a"}`, healthlake.AuthPayload{IsAuthorized: true, Audience: "a"}},
		{`{"isAuthorized":"true"}`, healthlake.AuthPayload{IsAuthorized: true, AuthorizedAsString: true}},
		{`{"isAuthorized":"false"}`, healthlake.AuthPayload{AuthorizedAsString: true}},
		{`{"isAuthorized":false}`, healthlake.AuthPayload{}},
		{`{}`, healthlake.AuthPayload{}},
	} {
		var p healthlake.AuthPayload
		require.NoError(t, json.Unmarshal([]byte(tc.js), &p), tc.js)
		assert.Equal(t, tc.want, p, tc.js)
		out, err := json.Marshal(p)
		require.NoError(t, err)
		var back healthlake.AuthPayload
		require.NoError(t, json.Unmarshal(out, &back))
		assert.Equal(t, p, back, "round trip of %s", tc.js)
	}
	for _, bad := range []string{`{"isAuthorized":"yes"}`, `{"isAuthorized":1}`, `{"isAuthorized":"TRUE"}`} {
		var p healthlake.AuthPayload
		assert.Error(t, json.Unmarshal([]byte(bad), &p), bad)
	}
}

func TestNewConfig(t *testing.T) {
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{Issuer: testIssuer, KeySet: &testKeySet{}, Audience: smartauth.EndpointAudience()}},
	})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		v    *smartauth.Validator
		cfg  healthlake.Config
		ok   bool
	}{
		{name: "valid minimal config", v: v, cfg: healthlake.Config{RoleARN: testRoleARN}, ok: true},
		{name: "ScopesV1, string isAuthorized, uid claim", v: v, ok: true, cfg: healthlake.Config{RoleARN: testRoleARN,
			ScopeFormat: healthlake.ScopesV1, AuthorizedAsString: true, UIDClaim: "username"}},
		{name: "zero Config", v: v},
		{name: "no validator", cfg: healthlake.Config{RoleARN: testRoleARN}},
		{name: "blank role ARN", v: v, cfg: healthlake.Config{RoleARN: "  "}},
		{name: "role ARN not a role", v: v, cfg: healthlake.Config{RoleARN: "arn:aws:iam::123456789012:user/alice"}},
		{name: "unknown ScopeFormat", v: v, cfg: healthlake.Config{RoleARN: testRoleARN, ScopeFormat: healthlake.ScopeFormat(7)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := healthlake.New(tc.v, tc.cfg)
			if tc.ok {
				require.NoError(t, err)
				require.NotNil(t, a)
				return
			}
			require.ErrorIs(t, err, smartauth.ErrConfig)
			assert.Nil(t, a)
			assert.Equal(t, "config", healthlake.Reason(err))
		})
	}
	t.Run("every problem is reported", func(t *testing.T) {
		_, err := healthlake.New(nil, healthlake.Config{ScopeFormat: 9})
		for _, want := range []string{"no Validator", "RoleARN is required", "unknown ScopeFormat 9"} {
			assert.Contains(t, err.Error(), want)
		}
	})
}

// TestMarshalResponseWire: MarshalResponse (json/v2) writes the bytes
// encoding/json wrote before, HTML characters, JavaScript line separators
// and invalid UTF-8 included.
func TestMarshalResponseWire(t *testing.T) {
	for _, r := range []healthlake.Response{
		{},
		{AuthPayload: healthlake.AuthPayload{AuthorizedAsString: true}},
		{AuthPayload: healthlake.AuthPayload{Issuer: testIssuer, Audience: testEndpoint, IssuedAt: 1, NotBefore: 1, ExpiresAt: 2,
			IsAuthorized: true, UID: "u<1>", Scope: "patient/Observation.rs?category=a&code=b openid", FHIRUser: "Practitioner/1\u2028",
			Patient: "p\xff"}, IAMRoleARN: testRoleARN},
		{AuthPayload: healthlake.AuthPayload{IsAuthorized: true, AuthorizedAsString: true, ExpiresAt: 5}, IAMRoleARN: testRoleARN},
	} {
		got, err := healthlake.MarshalResponse(&r)
		require.NoError(t, err)
		want, err := json.Marshal(r) // encoding/json, through AuthPayload.MarshalJSON
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got))
	}
	got, err := healthlake.MarshalResponse(&healthlake.Response{AuthPayload: healthlake.AuthPayload{IsAuthorized: true,
		Scope: "patient/Observation.rs?a=1&b=<2>"}, IAMRoleARN: testRoleARN})
	require.NoError(t, err)
	assert.Equal(t, `{"authPayload":{"nbf":0,"exp":0,"isAuthorized":true,"scope":"patient/Observation.rs?a=1\u0026b=\u003c2\u003e"},"iamRoleARN":"`+testRoleARN+`"}`, string(got))
}

// TestEventFixtures decodes the HealthLake event fixtures that the Lambda
// adapter tests replay.
func TestEventFixtures(t *testing.T) {
	for name, wantErr := range map[string]bool{
		"read-resource.json": false, "search-with-get.json": false, "unknown-operation.json": false,
		"missing-endpoint.json": false, "missing-token.json": false,
		"malformed.json": true, "not-an-object.json": true, "wrong-type.json": true,
		"case-variant-names.json": false, "token-and-case-variant.json": false, "duplicate-token.json": true,
	} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "events", name))
			require.NoError(t, err)
			ev, err := healthlake.DecodeEvent(data)
			if wantErr {
				require.ErrorIs(t, err, healthlake.ErrEvent)
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, ev.OperationName)
		})
	}
}

// TestEventFixtureNames: member names are exact and unique. A token or
// endpoint under a case variant of its name is not read (deny), a duplicate
// bearerToken denies, and beside a case variant the exact name is the one
// used.
func TestEventFixtureNames(t *testing.T) {
	a := mustAuthorizer(t, nil)
	tok := mint(t, keycloakClaims())
	for _, tc := range []struct {
		file, reason string
	}{
		{"case-variant-names.json", "event"},
		{"duplicate-token.json", "event"},
		{"token-and-case-variant.json", "ok"},
		{"read-resource.json", "ok"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "events", tc.file))
			require.NoError(t, err)
			ev, d := a.AuthorizeJSON(t.Context(), bytes.ReplaceAll(data, []byte("{{token}}"), []byte(tok)))
			assert.Equal(t, tc.reason, healthlake.Reason(d.Err), "%v", d.Err)
			assert.Equal(t, tc.reason == "ok", d.Response.AuthPayload.IsAuthorized)
			if tc.reason == "ok" {
				assert.Equal(t, "Bearer "+tok, ev.BearerToken, "the exact name bearerToken is read")
			}
		})
	}
}

func TestReason(t *testing.T) {
	assert.Equal(t, "event", healthlake.Reason(healthlake.ErrEvent))
	assert.Equal(t, "event", healthlake.Reason(fmt.Errorf("x: %w", healthlake.ErrEvent)))
	assert.Equal(t, "exp", healthlake.Reason(smartauth.ErrExpired))
	assert.Equal(t, "ok", healthlake.Reason(nil))
	assert.Equal(t, "internal", healthlake.Reason(errors.New("boom")))
}
