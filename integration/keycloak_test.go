//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Tokens from the REAL Keycloak token endpoint, verified against the REAL certs endpoint (remote key
// set built by keycloak.New) and sent through the Lambda handler exactly as the runtime calls it.

const (
	// itRoleARN is the role the validators of these tests return as iamRoleARN.
	itRoleARN = "arn:aws:iam::123456789012:role/healthlake-smart-integration"
	// otherEndpoint is a second data store: the realm's audience mapper never names it.
	otherEndpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/fedcba9876543210fedcba9876543210/r4/"
	// v22Scope is the realm's SMART v2.2 granular scope (testdata/keycloak/fhir-realm.json).
	v22Scope = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	// bob is the realm's second user (testdata/keycloak/fhir-realm.json): fhirUser Patient/456.
	bobUser     = "bob"
	bobPassword = "bob-password"
	// jwksTimeout bounds each JWKS fetch of the test key sets: generous, the machine may be loaded.
	jwksTimeout = 5 * time.Second
)

// countingTransport counts the HTTP requests of the client it is put into (the JWKS fetches of a
// remote key set) and records their URLs.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	urls []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.urls = append(c.urls, r.URL.String())
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

// count is the number of requests sent so far.
func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.urls)
}

func (c *countingTransport) fetched() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.urls...)
}

// newCountingClient returns a JWKS client (own transport, no redirects, like the key set's default
// client) whose requests are counted.
func newCountingClient() (*http.Client, *countingTransport) {
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	return &http.Client{
		Transport:     ct,
		Timeout:       jwksTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, ct
}

// fakeClock is an injectable clock for the key set's refresh schedule and penalty window.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type keycloakValidatorOptions struct {
	scopeFormat healthlake.ScopeFormat
	clock       func() time.Time // key set clock; nil: real time
}

// newKeycloakValidator builds a validator for the running realm the way a deployment does
// (keycloak.New, remote key set on the derived certs URL), with the test-only http:// switches and
// a counting HTTP client. It performs no fetch.
func newKeycloakValidator(t *testing.T, o keycloakValidatorOptions) (itValidator, *smartauth.RemoteKeySet, *countingTransport) {
	t.Helper()
	client, ct := newCountingClient()
	ic, err := keycloak.New(keycloak.Config{
		BaseURL: mustEnv(t, envKCBase),
		Realm:   mustEnv(t, envKCRealm),
		KeySetOptions: smartauth.RemoteOptions{
			InsecureHTTP:   true, // test-only: the local Keycloak is http://
			HTTPClient:     client,
			RequestTimeout: jwksTimeout,
			Now:            o.clock, // nil: time.Now
		},
	})
	require.NoError(t, err)
	require.Equal(t, keycloakIssuer(t), ic.Issuer, "derived issuer")
	rks, ok := ic.KeySet.(*smartauth.RemoteKeySet)
	require.True(t, ok, "keycloak.New builds a RemoteKeySet, got %T", ic.KeySet)
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers:                  []smartauth.IssuerConfig{ic},
		InsecureAllowHTTPIssuers: true, // test-only: the local Keycloak issuer is http://
	})
	require.NoError(t, err)
	require.Zero(t, ct.count(), "building a validator fetches nothing")
	return withResponse(t, v, o.scopeFormat), rks, ct
}

// itValidator is a validator with the HealthLake response settings of the
// Lambda under test (role itRoleARN).
type itValidator struct {
	*smartauth.Validator
	hl *healthlake.Authorizer
}

// withResponse adds the response settings (itRoleARN, format) to v.
func withResponse(t *testing.T, v *smartauth.Validator, format healthlake.ScopeFormat) itValidator {
	t.Helper()
	a, err := healthlake.New(v, healthlake.Config{RoleARN: itRoleARN, ScopeFormat: format})
	require.NoError(t, err)
	return itValidator{Validator: v, hl: a}
}

// Authorize runs the HealthLake mapping.
func (v itValidator) Authorize(ctx context.Context, ev healthlake.Event) healthlake.Decision {
	return v.hl.Authorize(ctx, ev)
}

// hydrate loads the validator's key sets outside any Lambda budget.
func hydrate(t *testing.T, v itValidator) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*jwksTimeout)
	defer cancel()
	require.NoError(t, v.Hydrate(ctx))
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lambdaResult is one invocation of the Lambda handler: the response bytes exactly as the runtime
// would send them to HealthLake, and the decision log line.
type lambdaResult struct {
	out    string
	reason string
	log    string
}

// healthLakeEvent is the event HealthLake sends to the IdP Lambda.
func healthLakeEvent(t testing.TB, endpoint, token string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"datastoreEndpoint":    endpoint,
		"bearerToken":          token,
		"operationName":        "SearchWithGet",
		"datastoreId":          "0123456789abcdef0123456789abcdef",
		"datastoreTypeVersion": "R4",
		"datastoreName":        "smart-ds",
	})
	require.NoError(t, err)
	return b
}

// invokeLambda sends a HealthLake event through lambda.NewHandler(lambdaadapter.New(v)), the same
// path lambda.Start takes, and returns the response and the logged reason code.
func invokeLambda(t *testing.T, v itValidator, endpoint, token string) lambdaResult {
	t.Helper()
	var logs syncBuffer
	h := lambda.NewHandler(lambdaadapter.New(v.hl, lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "it-" + t.Name()})
	out, err := h.Invoke(ctx, healthLakeEvent(t, endpoint, token))
	require.NoError(t, err, "the handler answers token problems with a deny, never a function error")
	res := lambdaResult{out: string(bytes.Clone(out)), log: logs.String()} // out is a pooled buffer
	lines := strings.Split(strings.TrimSpace(res.log), "\n")
	require.Len(t, lines, 1, "one decision line per invocation: %s", res.log)
	var line struct {
		Msg      string `json:"msg"`
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &line), "log line %q", lines[0])
	assert.Equal(t, "authorization", line.Msg)
	res.reason = line.Reason
	if token != "" {
		assert.NotContains(t, res.log, token, "the token is never logged")
		assert.NotContains(t, res.out, token, "the token is never echoed")
	}
	return res
}

const denyJSON = `{"authPayload":{"isAuthorized":false}}`

// requireDenied checks a deny response (byte-level JSON) and its reason code.
func requireDenied(t *testing.T, res lambdaResult, reason string) {
	t.Helper()
	assert.JSONEq(t, denyJSON, res.out)
	assert.Equal(t, reason, res.reason, "decision log: %s", res.log)
}

// wantAllow describes the expected allowed response; the numbers and subject come from the token.
type wantAllow struct {
	endpoint string
	scopes   []string // order-insensitive (Keycloak orders scopes as it likes)
	fhirUser string
	patient  string
}

// requireAllowed checks an allowed response of the in-process handler (decision log included).
func requireAllowed(t *testing.T, res lambdaResult, token string, w wantAllow) {
	t.Helper()
	require.Equal(t, "ok", res.reason, "decision log: %s", res.log)
	assertAllowedJSON(t, res.out, token, w, itRoleARN)
}

// assertAllowedJSON checks an allowed response against the token it was made from: every field of
// authPayload and iamRoleARN, compared as JSON, with only the scope order left free.
func assertAllowedJSON(t *testing.T, out, token string, w wantAllow, roleARN string) {
	t.Helper()
	_, p := decodeJWT(t, token)
	var got struct {
		AuthPayload struct {
			Aud   string `json:"aud"`
			Scope string `json:"scope"`
		} `json:"authPayload"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), "%s", out)
	assert.ElementsMatch(t, w.scopes, strings.Fields(got.AuthPayload.Scope), "granted scopes")
	assert.Equal(t, w.endpoint, got.AuthPayload.Aud, "aud is the event's datastoreEndpoint byte for byte")

	iat := int64(p["iat"].(float64))
	payload := map[string]any{
		"iss":          p["iss"],
		"aud":          w.endpoint,
		"iat":          iat,
		"nbf":          iat, // Keycloak sets no nbf: the response uses iat
		"exp":          int64(p["exp"].(float64)),
		"isAuthorized": true,
		"uid":          p["sub"],
		"scope":        got.AuthPayload.Scope, // order checked above
	}
	if w.fhirUser != "" {
		payload["fhirUser"] = w.fhirUser
	}
	if w.patient != "" {
		payload["patient"] = w.patient
	}
	want, err := json.Marshal(map[string]any{"authPayload": payload, "iamRoleARN": roleARN})
	require.NoError(t, err)
	assert.JSONEq(t, string(want), out)
}

// keycloakPasswordToken gets a password-grant token for any realm user through the app client.
func keycloakPasswordToken(t testing.TB, user, password, scope string) tokenResponse {
	t.Helper()
	return keycloakToken(t, url.Values{
		"grant_type":    {"password"},
		"client_id":     {mustEnv(t, envKCAppID)},
		"client_secret": {mustEnv(t, envKCAppSecret)},
		"username":      {user},
		"password":      {password},
		"scope":         {scope},
	})
}

// validateCtx returns a context for direct Validate calls (a refetch may happen inside).
func validateCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*jwksTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestKeycloakLambdaAllowed(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	v, _, ct := newKeycloakValidator(t, keycloakValidatorOptions{})
	hydrate(t, v)

	t.Run("svc client_credentials system", func(t *testing.T) {
		tok := keycloakServiceToken(t, "system/*.rs").AccessToken
		res := invokeLambda(t, v, aud, tok)
		// The svc client's hard-coded mapper adds fhirUser; a service account has no patient.
		requireAllowed(t, res, tok, wantAllow{endpoint: aud, scopes: []string{"system/*.rs"}, fhirUser: "Practitioner/123"})
	})
	t.Run("alice password patient", func(t *testing.T) {
		tok := keycloakUserToken(t, "openid fhirUser launch/patient patient/*.rs").AccessToken
		res := invokeLambda(t, v, aud, tok)
		// "profile" is a default client scope of the app client, so Keycloak adds it; it is a valid
		// SMART identity scope and passes through.
		requireAllowed(t, res, tok, wantAllow{endpoint: aud,
			scopes:   []string{"openid", "fhirUser", "launch/patient", "patient/*.rs", "profile"},
			fhirUser: "Practitioner/123", patient: "456"})
	})
	t.Run("alice v2.2 granular scope verbatim", func(t *testing.T) {
		tok := keycloakUserToken(t, "openid fhirUser launch/patient patient/*.rs "+v22Scope).AccessToken
		_, p := decodeJWT(t, tok)
		require.Contains(t, scopes(p), v22Scope, "Keycloak issues the v2.2 scope as is")
		res := invokeLambda(t, v, aud, tok)
		requireAllowed(t, res, tok, wantAllow{endpoint: aud,
			scopes:   []string{"openid", "fhirUser", "launch/patient", "patient/*.rs", "profile", v22Scope},
			fhirUser: "Practitioner/123", patient: "456"})
		assert.Contains(t, res.out, v22Scope, "the granular scope, '|' and all, is copied verbatim (no escaping)")
	})
	t.Run("bob password patient", func(t *testing.T) {
		tok := keycloakPasswordToken(t, bobUser, bobPassword, "openid fhirUser launch/patient patient/*.read").AccessToken
		res := invokeLambda(t, v, aud, tok)
		requireAllowed(t, res, tok, wantAllow{endpoint: aud,
			scopes:   []string{"openid", "fhirUser", "launch/patient", "patient/*.read", "profile"},
			fhirUser: "Patient/456", patient: "456"})
	})
	t.Run("endpoint without trailing slash", func(t *testing.T) {
		// The realm's aud ends in "/"; one trailing "/" is ignored, and the response echoes the
		// event's endpoint as given.
		tok := keycloakServiceToken(t, "system/*.read").AccessToken
		ep := strings.TrimSuffix(aud, "/")
		res := invokeLambda(t, v, ep, tok)
		requireAllowed(t, res, tok, wantAllow{endpoint: ep, scopes: []string{"system/*.read"}, fhirUser: "Practitioner/123"})
	})
	assert.Equal(t, 1, ct.count(), "one JWKS fetch (Hydrate) for every token above: %v", ct.fetched())
	assert.Equal(t, []string{keycloakJWKSURL(t)}, ct.fetched(), "the derived certs URL, nothing else")
}

func TestKeycloakLambdaDenied(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	v, _, ct := newKeycloakValidator(t, keycloakValidatorOptions{})
	hydrate(t, v)
	user := keycloakUserToken(t, "openid fhirUser launch/patient patient/*.rs")

	tests := []struct {
		name     string
		token    string
		endpoint string
		reason   string
		sentinel error
	}{
		{"svc-noaud has no data store aud", keycloakNoAudServiceToken(t, "system/*.rs").AccessToken, aud, "aud", smartauth.ErrAudience},
		{"token for another data store", keycloakServiceToken(t, "system/*.rs").AccessToken, otherEndpoint, "aud", smartauth.ErrAudience},
		{"ID token of the same login", user.IDToken, aud, "token_kind", smartauth.ErrTokenUse},
		// HS512 with the realm's HMAC key (not in the JWKS): refused at the header, before any key lookup.
		{"refresh token of the same login", user.RefreshToken, aud, "alg", smartauth.ErrAlgorithm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireDenied(t, invokeLambda(t, v, tc.endpoint, tc.token), tc.reason)
			_, err := v.Validate(validateCtx(t), tc.token, tc.endpoint)
			require.ErrorIs(t, err, tc.sentinel)
			assert.Equal(t, tc.reason, smartauth.Reason(err))
		})
	}
	assert.Equal(t, 1, ct.count(), "no deny above costs a JWKS fetch")
}

func TestKeycloakLambdaScopesV1(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	v, _, _ := newKeycloakValidator(t, keycloakValidatorOptions{scopeFormat: healthlake.ScopesV1})
	hydrate(t, v)

	tok := keycloakUserToken(t, "openid fhirUser launch/patient patient/*.rs").AccessToken
	res := invokeLambda(t, v, aud, tok)
	requireAllowed(t, res, tok, wantAllow{endpoint: aud,
		scopes:   []string{"openid", "fhirUser", "launch/patient", "patient/*.read", "profile"},
		fhirUser: "Practitioner/123", patient: "456"})

	// A granular v2.2 scope has no exact v1 form: dropped, never widened to patient/Observation.read.
	tok = keycloakUserToken(t, "openid launch/patient patient/*.rs "+v22Scope).AccessToken
	res = invokeLambda(t, v, aud, tok)
	requireAllowed(t, res, tok, wantAllow{endpoint: aud,
		scopes:  []string{"openid", "launch/patient", "patient/*.read", "profile"},
		patient: "456"})

	// Only the granular scope as resource scope: nothing left in v1, so deny.
	tok = keycloakUserToken(t, "openid "+v22Scope).AccessToken
	requireDenied(t, invokeLambda(t, v, aud, tok), "scope")
}

// TestKeycloakDiscoverThenValidate: keycloak.Discover against the real server names the issuer
// and certs URL the provider derives, and a validator built from the discovered jwks_uri works.
func TestKeycloakDiscoverThenValidate(t *testing.T) {
	iss := keycloakIssuer(t)
	d, err := keycloak.Discover(validateCtx(t), httpClient, iss)
	require.NoError(t, err)
	assert.Equal(t, iss, d.Issuer)
	assert.Equal(t, keycloak.JWKSURL(iss), d.JWKSURI)
	assert.Equal(t, keycloakTokenEndpoint(t), d.TokenEndpoint)
	_, err = keycloak.Discover(validateCtx(t), httpClient, iss+"/")
	require.ErrorIs(t, err, keycloak.ErrDiscovery, "the document must name exactly the issuer asked for")

	client, ct := newCountingClient()
	ic, err := keycloak.New(keycloak.Config{BaseURL: mustEnv(t, envKCBase), Realm: mustEnv(t, envKCRealm), JWKSURL: d.JWKSURI,
		KeySetOptions: smartauth.RemoteOptions{InsecureHTTP: true, HTTPClient: client}})
	require.NoError(t, err)
	sv, err := smartauth.NewValidator(smartauth.Config{Issuers: []smartauth.IssuerConfig{ic}, InsecureAllowHTTPIssuers: true})
	require.NoError(t, err)
	v := withResponse(t, sv, healthlake.ScopesAsGiven)
	hydrate(t, v)
	aud := mustEnv(t, envKCAudience)
	tok := keycloakServiceToken(t, "system/*.rs").AccessToken
	requireAllowed(t, invokeLambda(t, v, aud, tok), tok, wantAllow{endpoint: aud, scopes: []string{"system/*.rs"}, fhirUser: "Practitioner/123"})
	assert.Equal(t, []string{d.JWKSURI}, ct.fetched())
}

// TestKeycloakHydrateOneFetch: Hydrate against the real certs endpoint fetches once; many
// concurrent validations of real tokens fetch nothing more.
func TestKeycloakHydrateOneFetch(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	v, _, ct := newKeycloakValidator(t, keycloakValidatorOptions{})
	hydrate(t, v)
	require.Equal(t, 1, ct.count())
	hydrate(t, v)
	require.Equal(t, 1, ct.count(), "a loaded key set is not fetched again by Hydrate")

	tokens := []string{
		keycloakServiceToken(t, "system/*.rs").AccessToken,
		keycloakUserToken(t, "openid fhirUser launch/patient patient/*.rs").AccessToken,
		keycloakPasswordToken(t, bobUser, bobPassword, "launch/patient patient/*.read").AccessToken,
	}
	const goroutines, perGoroutine = 32, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range perGoroutine {
				tok := tokens[(g+i)%len(tokens)]
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				vt, err := v.Validate(ctx, tok, aud)
				cancel()
				if err == nil && !vt.HasResourceScope() {
					err = errors.New("no resource scope")
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d, call %d: %w", g, i, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, 1, ct.count(), "%d validations after Hydrate: no further fetch", goroutines*perGoroutine)
}

// keycloakAdminSession hands out an admin token, renewing it before the master realm's 60 s
// access-token lifespan runs out (a loaded machine can make one test outlive a token).
type keycloakAdminSession struct {
	t     testing.TB
	token string
	at    time.Time
}

func (s *keycloakAdminSession) get() string {
	if s.token == "" || time.Since(s.at) > 30*time.Second {
		s.token, s.at = keycloakAdminToken(s.t), time.Now()
	}
	return s.token
}

// activeRS256 returns the kid that signs RS256 tokens now.
func activeRS256(t *testing.T, admin *keycloakAdminSession) string {
	t.Helper()
	k := keycloakRealmKeys(t, admin.get()).Active["RS256"]
	require.NotEmpty(t, k)
	return k
}

// TestKeycloakKeyRotationLive rotates the realm's signing key through the admin API while ONE
// validator keeps running, as a warm Lambda would.
//
// The realm's own key (k0) is never touched: the test adds two rsa-generated providers above it,
// A ("old") then B ("new"), and removes both in t.Cleanup, so the realm ends exactly as imported
// (same kids, k0 active) for the tests that run after this one.
//
// Refresh mechanism: Keycloak publishes deleted keys no more, but a running RemoteKeySet keeps the
// kids it has until it refetches. In production that happens when a hit finds the snapshot older
// than its refresh interval (Cache-Control max-age clamped to [1 min, 24 h], default 15 min). The
// test drives exactly that path with a fake key-set clock advanced past 24 h (no sleeping), then
// checks the penalty window with the same clock. RemoteKeySet.Refresh(ctx) (explicit, synchronous)
// is used once, after the key becomes passive, to show a refetched set still holds passive keys.
func TestKeycloakKeyRotationLive(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	admin := &keycloakAdminSession{t: t}
	k0 := activeRS256(t, admin)
	maxPrio := 0
	for _, k := range keycloakRealmKeys(t, admin.get()).Keys {
		maxPrio = max(maxPrio, k.ProviderPriority)
	}

	var cA, cB string
	deletedA := false
	t.Cleanup(func() {
		cleanup := &keycloakAdminSession{t: t}
		if cB != "" {
			keycloakDeleteComponent(t, cleanup.get(), cB)
		}
		if cA != "" && !deletedA {
			keycloakDeleteComponent(t, cleanup.get(), cA)
		}
		assert.Equal(t, k0, keycloakRealmKeys(t, cleanup.get()).Active["RS256"], "realm signs with its own key again")
		assert.Contains(t, jwksKids(t), k0)
	})

	// Old key A takes over signing.
	cA = keycloakAddRSAKey(t, admin.get(), "it-rotation-old", maxPrio+50)
	kA := activeRS256(t, admin)
	require.NotEqual(t, k0, kA)
	tokA := keycloakServiceToken(t, "system/*.rs").AccessToken
	h, _ := decodeJWT(t, tokA)
	require.Equal(t, kA, h["kid"])

	clock := newFakeClock()
	v, rks, ct := newKeycloakValidator(t, keycloakValidatorOptions{clock: clock.Now})
	vt, err := v.Validate(validateCtx(t), tokA, aud)
	require.NoError(t, err)
	assert.Equal(t, kA, vt.KeyID)
	require.Equal(t, 1, ct.count(), "first token: one JWKS fetch (cold key set)")
	requireAllowed(t, invokeLambda(t, v, aud, tokA), tokA, wantAllow{endpoint: aud, scopes: []string{"system/*.rs"}, fhirUser: "Practitioner/123"})
	require.Equal(t, 1, ct.count())

	// 1. New key B (higher priority) signs from now on: its first token costs exactly one refetch.
	cB = keycloakAddRSAKey(t, admin.get(), "it-rotation-new", maxPrio+100)
	kB := activeRS256(t, admin)
	require.NotContains(t, []string{k0, kA}, kB)
	tokB := keycloakServiceToken(t, "system/*.rs").AccessToken
	h, _ = decodeJWT(t, tokB)
	require.Equal(t, kB, h["kid"])
	vt, err = v.Validate(validateCtx(t), tokB, aud)
	require.NoError(t, err, "a token signed by the new key validates without restarting the validator")
	assert.Equal(t, kB, vt.KeyID)
	require.Equal(t, 2, ct.count(), "exactly one refetch on the unknown kid")
	_, err = v.Validate(validateCtx(t), tokA, aud)
	require.NoError(t, err, "old-key tokens keep validating")
	require.Equal(t, 2, ct.count())

	// 2. A passive: no longer signs, still published, so its tokens keep validating, also after a refetch.
	keycloakSetKeyFlags(t, admin.get(), cA, false, true)
	assert.Contains(t, jwksKids(t), kA, "passive keys stay in the JWKS")
	require.NoError(t, rks.Refresh(validateCtx(t)))
	require.Equal(t, 3, ct.count())
	_, err = v.Validate(validateCtx(t), tokA, aud)
	require.NoError(t, err, "old token after the refetch: passive key still there")
	require.Equal(t, 3, ct.count())

	// 3. Delete A. Until its next refresh the running key set still trusts kA (cached)...
	keycloakDeleteComponent(t, admin.get(), cA)
	deletedA = true
	require.NotContains(t, jwksKids(t), kA, "deleted keys leave the JWKS")
	_, err = v.Validate(validateCtx(t), tokA, aud)
	require.NoError(t, err, "cached until the next refresh: the documented window of a deleted key")
	require.Equal(t, 3, ct.count())

	// ...then the refresh interval passes (fake clock, past the 24 h cap): the next hit starts one
	// background refresh, and once it has published, kA is unknown.
	clock.Advance(25 * time.Hour)
	_, err = v.Validate(validateCtx(t), tokB, aud)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*jwksTimeout)
		defer cancel()
		_, err := v.Validate(ctx, tokA, aud)
		return err != nil
	}, 10*time.Second, 5*time.Millisecond, "background refresh never dropped the deleted key")
	_, err = v.Validate(validateCtx(t), tokA, aud)
	require.ErrorIs(t, err, smartauth.ErrKidNotFound)
	// Fetches: 3 before, +1 background refresh, +1 refetch for the now-unknown kA (outside any
	// penalty window), then the penalty window starts.
	require.Equal(t, 5, ct.count(), "%v", ct.fetched())
	requireDenied(t, invokeLambda(t, v, aud, tokA), "kid")
	require.Equal(t, 5, ct.count(), "inside the penalty window an unknown kid fetches nothing")
	_, err = v.Validate(validateCtx(t), tokB, aud)
	require.NoError(t, err, "new-key tokens keep validating")
	requireAllowed(t, invokeLambda(t, v, aud, tokB), tokB, wantAllow{endpoint: aud, scopes: []string{"system/*.rs"}, fhirUser: "Practitioner/123"})
	require.Equal(t, 5, ct.count())

	// Past the 10 s penalty window (still inside the refresh interval): one refetch, still unknown.
	clock.Advance(11 * time.Second)
	_, err = v.Validate(validateCtx(t), tokA, aud)
	require.ErrorIs(t, err, smartauth.ErrKidNotFound)
	require.Equal(t, 6, ct.count())

	// A fresh validator (a new Lambda execution environment) never sees kA at all.
	v2, _, ct2 := newKeycloakValidator(t, keycloakValidatorOptions{})
	hydrate(t, v2)
	_, err = v2.Validate(validateCtx(t), tokA, aud)
	require.ErrorIs(t, err, smartauth.ErrKidNotFound)
	requireDenied(t, invokeLambda(t, v2, aud, tokA), "kid")
	_, err = v2.Validate(validateCtx(t), tokB, aud)
	require.NoError(t, err)
	assert.Equal(t, 2, ct2.count(), "Hydrate, then one refetch for the unknown kid")
}
