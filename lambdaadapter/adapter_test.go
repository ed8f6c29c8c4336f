package lambdaadapter_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const (
	issuer    = "https://kc.example.com/realms/fhir"
	endpoint  = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	roleARN   = "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	kid       = "adapter-test-rs256"
	requestID = "8f5c2a1e-3b4d-4c6e-9f0a-1b2c3d4e5f60"
	iat       = 1700000000
)

// now is the validator's fake clock.
var now = time.Unix(iat+60, 0)

var keys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var out [2]*rsa.PrivateKey
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

// claims is a Keycloak-shaped access token for the test data store.
func claims(set map[string]any) map[string]any {
	c := map[string]any{
		"iss": issuer, "sub": "36fa0f91-8a2e-4d3c-b1f0-7e6d5c4b3a29", "typ": "Bearer", "azp": "smart-app",
		"aud": []string{"account", endpoint}, "iat": iat, "exp": iat + 300, "jti": "onrtac:0a1b2c3d",
		"scope":    "openid launch/patient patient/*.read",
		"fhirUser": "Practitioner/123", "patient": "456", "preferred_username": "jdoe",
	}
	for k, v := range set {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func signWith(t testing.TB, priv *rsa.PrivateKey, c map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(c)
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.KeyIDKey, kid))
	require.NoError(t, hdr.Set(jws.TypeKey, "JWT"))
	tok, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), priv, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(tok)
}

func sign(t testing.TB, c map[string]any) string { return signWith(t, keys()[0], c) }

func staticKeys(t testing.TB) smartauth.KeySet {
	t.Helper()
	ks, err := smartauth.NewStaticKeySetFromKeys(&smartauth.Key{ID: kid, Algorithm: "RS256", Public: &keys()[0].PublicKey})
	require.NoError(t, err)
	return ks
}

func newValidator(t testing.TB, ks smartauth.KeySet) *healthlake.Authorizer {
	t.Helper()
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:   issuer,
			KeySet:   ks,
			Audience: smartauth.EndpointAudience(),
		}},
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	a, err := healthlake.New(v, healthlake.Config{RoleARN: roleARN})
	require.NoError(t, err)
	return a
}

// event reads healthlake/testdata/events/<name> and puts token in place of {{token}}.
func event(t testing.TB, name, token string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "healthlake", "testdata", "events", name))
	require.NoError(t, err)
	return bytes.ReplaceAll(data, []byte("{{token}}"), []byte(token))
}

func lambdaCtx() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
}

// entry points: the typed handler (lambda.Start(h.Handle)) and the raw
// lambda.Handler (lambda.Start(h)).
type entry struct {
	name   string
	handle func(h *lambdaadapter.Handler) lambda.Handler
}

var entries = []entry{
	{"Handle", func(h *lambdaadapter.Handler) lambda.Handler { return lambda.NewHandler(h.Handle) }},
	{"Invoke", func(h *lambdaadapter.Handler) lambda.Handler { return lambda.NewHandler(h) }},
}

// invoke runs one invocation and copies the output: aws-lambda-go returns a
// pooled buffer that the next Invoke reuses.
func invoke(ctx context.Context, lh lambda.Handler, payload []byte) (string, error) {
	out, err := lh.Invoke(ctx, payload)
	return string(bytes.Clone(out)), err
}

const deny = `{"authPayload":{"isAuthorized":false}}`

func allowed(scope string) string {
	return `{
		"authPayload": {
			"iss": "` + issuer + `",
			"aud": "` + endpoint + `",
			"iat": 1700000000, "nbf": 1700000000, "exp": 1700000300,
			"isAuthorized": true,
			"uid": "36fa0f91-8a2e-4d3c-b1f0-7e6d5c4b3a29",
			"scope": "` + scope + `",
			"fhirUser": "Practitioner/123", "patient": "456"
		},
		"iamRoleARN": "` + roleARN + `"
	}`
}

func TestHandlerVerdicts(t *testing.T) {
	var _ lambda.Handler = (*lambdaadapter.Handler)(nil)

	good := sign(t, claims(nil))
	tests := []struct {
		name    string
		payload func(t testing.TB) []byte
		want    string
		rawOnly bool // only lambda.Start(h) sees the payload (see Handle's doc)
	}{
		{name: "SearchWithGet allowed",
			payload: func(t testing.TB) []byte { return event(t, "search-with-get.json", good) },
			want:    allowed("openid launch/patient patient/*.read")},
		{name: "ReadResource with Bearer prefix allowed",
			payload: func(t testing.TB) []byte { return event(t, "read-resource.json", good) },
			want:    allowed("openid launch/patient patient/*.read")},
		{name: "unknown operationName and unknown fields allowed",
			payload: func(t testing.TB) []byte { return event(t, "unknown-operation.json", good) },
			want:    allowed("openid launch/patient patient/*.read")},
		{name: "V2 scopes passed verbatim",
			payload: func(t testing.TB) []byte {
				return event(t, "search-with-get.json", sign(t, claims(map[string]any{
					"scope": "launch/patient patient/Observation.rs?category=laboratory"})))
			},
			want: allowed("launch/patient patient/Observation.rs?category=laboratory")},
		{name: "missing token",
			payload: func(t testing.TB) []byte { return event(t, "missing-token.json", good) },
			want:    deny},
		{name: "missing endpoint",
			payload: func(t testing.TB) []byte { return event(t, "missing-endpoint.json", good) },
			want:    deny},
		{name: "expired token",
			payload: func(t testing.TB) []byte {
				return event(t, "search-with-get.json", sign(t, claims(map[string]any{"exp": iat + 10})))
			},
			want: deny},
		{name: "forged token (other key, same kid)",
			payload: func(t testing.TB) []byte {
				return event(t, "search-with-get.json", signWith(t, keys()[1], claims(nil)))
			},
			want: deny},
		{name: "foreign issuer",
			payload: func(t testing.TB) []byte {
				return event(t, "search-with-get.json", sign(t, claims(map[string]any{"iss": "https://idp.evil.example/realms/fhir"})))
			},
			want: deny},
		{name: "token for another data store",
			payload: func(t testing.TB) []byte {
				return event(t, "search-with-get.json", sign(t, claims(map[string]any{"aud": "account"})))
			},
			want: deny},
		{name: "no resource scope",
			payload: func(t testing.TB) []byte {
				return event(t, "search-with-get.json", sign(t, claims(map[string]any{"scope": "openid fhirUser"})))
			},
			want: deny},
		{name: "not a JWT",
			payload: func(t testing.TB) []byte { return event(t, "search-with-get.json", "not-a-jwt") },
			want:    deny},
		{name: "wrong-typed field",
			payload: func(t testing.TB) []byte { return event(t, "wrong-type.json", good) },
			want:    deny},
		{name: "JSON array instead of an object",
			payload: func(t testing.TB) []byte { return event(t, "not-an-object.json", good) },
			want:    deny},
		{name: "JSON null",
			payload: func(testing.TB) []byte { return []byte("null") },
			want:    deny},
		{name: "malformed JSON",
			payload: func(t testing.TB) []byte { return event(t, "malformed.json", good) },
			want:    deny, rawOnly: true},
		{name: "empty payload",
			payload: func(testing.TB) []byte { return nil },
			want:    deny, rawOnly: true},
	}
	for _, ep := range entries {
		for _, tc := range tests {
			if tc.rawOnly && ep.name != "Invoke" {
				continue
			}
			t.Run(ep.name+"/"+tc.name, func(t *testing.T) {
				h := lambdaadapter.New(newValidator(t, staticKeys(t)))
				out, err := invoke(lambdaCtx(), ep.handle(h), tc.payload(t))
				require.NoError(t, err)
				assert.JSONEq(t, tc.want, out)
			})
		}
	}
}

// With the typed entry point the runtime's own JSON decoding rejects a
// payload that is not JSON before Handle runs: that is why Handler also
// implements lambda.Handler.
func TestHandleEntryPointRuntimeDecode(t *testing.T) {
	good := sign(t, claims(nil))
	h := lambdaadapter.New(newValidator(t, staticKeys(t)))
	_, err := invoke(lambdaCtx(), lambda.NewHandler(h.Handle), event(t, "malformed.json", good))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), good)
}

// faultKeySet fails like a remote key set whose JWKS was never reachable.
type faultKeySet struct{}

func (faultKeySet) Key(context.Context, string) (*smartauth.Key, error) {
	return nil, fmt.Errorf("%w: JWKS fetch failed: dial tcp 10.0.0.1:443: i/o timeout", smartauth.ErrKeySetUnavailable)
}

func TestInternalFault(t *testing.T) {
	good := sign(t, claims(nil))
	for _, ep := range entries {
		t.Run(ep.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := lambdaadapter.New(newValidator(t, faultKeySet{}),
				lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			out, err := invoke(lambdaCtx(), ep.handle(h), event(t, "search-with-get.json", good))
			require.Error(t, err)
			assert.Empty(t, out)
			require.ErrorIs(t, err, lambdaadapter.ErrInternal)
			assert.Equal(t, lambdaadapter.ErrInternal.Error(), err.Error(), "generic text only")
			assert.Equal(t, "lambdaadapter: internal authorization error", err.Error())

			line := oneLogLine(t, &logs)
			assert.Equal(t, "error", line["decision"])
			assert.Equal(t, "jwks_unavailable", line["reason"])
			assertNoToken(t, logs.String(), good)
		})
	}
}

func TestNilAuthorizer(t *testing.T) {
	good := sign(t, claims(nil))
	for _, ep := range entries {
		payloads := map[string][]byte{
			"valid event":     event(t, "search-with-get.json", good),
			"wrong-typed":     event(t, "wrong-type.json", good),
			"missing token":   event(t, "missing-token.json", good),
			"JSON array":      event(t, "not-an-object.json", good),
			"valid, no token": []byte(`{"datastoreEndpoint":"` + endpoint + `"}`),
		}
		for name, payload := range payloads {
			t.Run(ep.name+"/"+name, func(t *testing.T) {
				var logs bytes.Buffer
				h := lambdaadapter.New(nil, lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
				out, err := invoke(lambdaCtx(), ep.handle(h), payload)
				require.ErrorIs(t, err, lambdaadapter.ErrInternal)
				assert.Equal(t, lambdaadapter.ErrInternal.Error(), err.Error())
				assert.Empty(t, out)
				line := oneLogLine(t, &logs)
				assert.Equal(t, "error", line["decision"])
				assert.Equal(t, "config", line["reason"])
				assertNoToken(t, logs.String(), good)
			})
		}
	}
}

// blockingKeySet records the deadline of the context it is called with and
// blocks until that context is done.
type blockingKeySet struct {
	mu       sync.Mutex
	entered  time.Time
	deadline time.Time
	ok       bool
}

func (b *blockingKeySet) Key(ctx context.Context, _ string) (*smartauth.Key, error) {
	entered := time.Now()
	d, ok := ctx.Deadline()
	b.mu.Lock()
	b.entered, b.deadline, b.ok = entered, d, ok
	b.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (b *blockingKeySet) observed() (entered, deadline time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entered, b.deadline, b.ok
}

// invokeBounded invokes and fails the test, instead of hanging, if the
// handler's context never ends.
func invokeBounded(t *testing.T, ctx context.Context, lh lambda.Handler, payload []byte) (string, error) {
	t.Helper()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := invoke(ctx, lh, payload)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not return: its context has no effective deadline")
		return "", nil
	}
}

func TestDeadline(t *testing.T) {
	good := sign(t, claims(nil))
	t.Run("budget without invocation deadline", func(t *testing.T) {
		const budget = 40 * time.Millisecond
		ks := &blockingKeySet{}
		var logs bytes.Buffer
		h := lambdaadapter.New(newValidator(t, ks), lambdaadapter.WithBudget(budget),
			lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		before := time.Now()
		out, err := invokeBounded(t, lambdaCtx(), lambda.NewHandler(h.Handle), event(t, "search-with-get.json", good))
		require.NoError(t, err)
		assert.JSONEq(t, deny, out)

		entered, deadline, ok := ks.observed()
		require.True(t, ok, "the validator's context has a deadline")
		assert.False(t, deadline.Before(before.Add(budget)), "deadline %v earlier than start+budget", deadline)
		assert.False(t, deadline.After(entered.Add(budget)), "deadline %v later than budget", deadline)
		assert.Equal(t, "timeout", oneLogLine(t, &logs)["reason"])
	})

	t.Run("budget tighter than the invocation deadline", func(t *testing.T) {
		const budget = 40 * time.Millisecond
		ks := &blockingKeySet{}
		h := lambdaadapter.New(newValidator(t, ks), lambdaadapter.WithBudget(budget))
		invDeadline := time.Now().Add(time.Minute)
		ctx, cancel := context.WithDeadline(lambdaCtx(), invDeadline)
		defer cancel()
		out, err := invokeBounded(t, ctx, lambda.NewHandler(h), event(t, "search-with-get.json", good))
		require.NoError(t, err)
		assert.JSONEq(t, deny, out)

		entered, deadline, ok := ks.observed()
		require.True(t, ok)
		assert.False(t, deadline.After(entered.Add(budget)))
		assert.True(t, deadline.Before(invDeadline.Add(-lambdaadapter.DefaultDeadlineMargin)))
	})

	for _, margin := range []time.Duration{0, lambdaadapter.DefaultDeadlineMargin, 150 * time.Millisecond} {
		t.Run(fmt.Sprintf("invocation deadline minus margin %s", margin), func(t *testing.T) {
			ks := &blockingKeySet{}
			opts := []lambdaadapter.Option{}
			if margin != lambdaadapter.DefaultDeadlineMargin {
				opts = append(opts, lambdaadapter.WithDeadlineMargin(margin))
			}
			h := lambdaadapter.New(newValidator(t, ks), opts...) // default budget: 800 ms
			invDeadline := time.Now().Add(margin + 40*time.Millisecond)
			ctx, cancel := context.WithDeadline(lambdaCtx(), invDeadline)
			defer cancel()
			out, err := invokeBounded(t, ctx, lambda.NewHandler(h.Handle), event(t, "search-with-get.json", good))
			require.NoError(t, err)
			assert.JSONEq(t, deny, out)

			_, deadline, ok := ks.observed()
			require.True(t, ok)
			assert.True(t, deadline.Equal(invDeadline.Add(-margin)),
				"deadline %v, want invocation deadline %v minus %s", deadline, invDeadline, margin)
		})
	}
}

// oneLogLine asserts that logs holds exactly one JSON line and returns it.
func oneLogLine(t testing.TB, logs *bytes.Buffer) map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "log line is JSON: %s", sc.Text())
		lines = append(lines, m)
	}
	require.Len(t, lines, 1, "one log line per decision:\n%s", logs.String())
	return lines[0]
}

// assertNoToken checks that text holds neither the token nor any of its
// segments (header, payload, signature).
func assertNoToken(t testing.TB, text, token string) {
	t.Helper()
	assert.NotContains(t, text, token)
	for i, seg := range strings.Split(token, ".") {
		assert.NotContains(t, text, seg, "token segment %d in the log", i)
	}
}

func TestDecisionLog(t *testing.T) {
	good := sign(t, claims(nil))
	expired := sign(t, claims(map[string]any{"exp": iat + 10}))
	forged := signWith(t, keys()[1], claims(nil))
	foreignAud := sign(t, claims(map[string]any{"aud": "account"}))
	noScope := sign(t, claims(map[string]any{"scope": "openid"}))
	tests := []struct {
		name     string
		token    string
		payload  []byte
		decision string
		reason   string
		issuer   string
		client   string
	}{
		{"allowed", good, event(t, "search-with-get.json", good), "allow", "ok", issuer, "smart-app"},
		{"allowed with Bearer prefix", good, event(t, "read-resource.json", good), "allow", "ok", issuer, "smart-app"},
		{"expired", expired, event(t, "search-with-get.json", expired), "deny", "exp", "", ""},
		{"forged", forged, event(t, "search-with-get.json", forged), "deny", "signature", "", ""},
		{"aud", foreignAud, event(t, "search-with-get.json", foreignAud), "deny", "aud", "", ""},
		{"no resource scope", noScope, event(t, "search-with-get.json", noScope), "deny", "scope", issuer, "smart-app"},
		{"wrong-typed field", good, event(t, "wrong-type.json", good), "deny", "event", "", ""},
		{"malformed event", good, event(t, "malformed.json", good), "deny", "event", "", ""},
		{"not an object", good, event(t, "not-an-object.json", good), "deny", "event", "", ""},
		{"missing token", good, event(t, "missing-token.json", good), "deny", "token_missing", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := lambdaadapter.New(newValidator(t, staticKeys(t)),
				lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			_, err := invoke(lambdaCtx(), lambda.NewHandler(h), tc.payload)
			require.NoError(t, err)

			line := oneLogLine(t, &logs)
			for _, field := range []string{"decision", "reason", "issuer", "client", "latency", "requestId"} {
				assert.Contains(t, line, field)
			}
			assert.Equal(t, tc.decision, line["decision"])
			assert.Equal(t, tc.reason, line["reason"])
			assert.Equal(t, tc.issuer, line["issuer"])
			assert.Equal(t, tc.client, line["client"])
			assert.Equal(t, requestID, line["requestId"])
			assert.IsType(t, float64(0), line["latency"])
			assertNoToken(t, logs.String(), tc.token)
		})
	}

	t.Run("no requestId outside Lambda", func(t *testing.T) {
		var logs bytes.Buffer
		h := lambdaadapter.New(newValidator(t, staticKeys(t)),
			lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		_, err := invoke(context.Background(), lambda.NewHandler(h.Handle), event(t, "search-with-get.json", good))
		require.NoError(t, err)
		line := oneLogLine(t, &logs)
		assert.NotContains(t, line, "requestId")
		assert.Equal(t, "allow", line["decision"])
	})
}

// fakeAuthorizer is a hand-written Authorizer that records its events.
type fakeAuthorizer struct {
	mu     sync.Mutex
	events []healthlake.Event
	d      healthlake.Decision
}

func (f *fakeAuthorizer) AuthorizeJSON(_ context.Context, data []byte) (healthlake.Event, healthlake.Decision) {
	ev, err := healthlake.DecodeEvent(data)
	if err != nil {
		return ev, healthlake.Decision{Err: err, Reason: healthlake.Reason(err)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return ev, f.d
}

func TestCustomAuthorizer(t *testing.T) {
	f := &fakeAuthorizer{d: healthlake.Decision{
		Allowed: true,
		Response: healthlake.Response{
			AuthPayload: healthlake.AuthPayload{Audience: endpoint, IsAuthorized: true, Scope: "user/*.read",
				NotBefore: iat, ExpiresAt: iat + 300},
			IAMRoleARN: roleARN,
		},
	}}
	h := lambdaadapter.New(f)
	out, err := invoke(lambdaCtx(), lambda.NewHandler(h.Handle), event(t, "unknown-operation.json", "opaque-token"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"authPayload":{"aud":"`+endpoint+`","nbf":1700000000,"exp":1700000300,
		"isAuthorized":true,"scope":"user/*.read"},"iamRoleARN":"`+roleARN+`"}`, out)
	require.Len(t, f.events, 1)
	assert.Equal(t, healthlake.Event{
		DatastoreEndpoint:    endpoint,
		BearerToken:          "opaque-token",
		OperationName:        "StartFHIRBulkMagicJob",
		DatastoreID:          "0123456789abcdef0123456789abcdef",
		DatastoreTypeVersion: "R4",
		DatastoreName:        "smart-ds",
	}, f.events[0])

	t.Run("internal decision", func(t *testing.T) {
		f := &fakeAuthorizer{d: healthlake.Decision{Internal: true, Err: errors.New("secret detail: eyJhbGciOi")}}
		_, err := invoke(lambdaCtx(), lambda.NewHandler(lambdaadapter.New(f).Handle), event(t, "search-with-get.json", "x"))
		require.ErrorIs(t, err, lambdaadapter.ErrInternal)
		assert.Equal(t, lambdaadapter.ErrInternal.Error(), err.Error())
	})
}
