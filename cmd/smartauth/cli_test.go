package main

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
)

const (
	testEndpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	testRole     = "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	testNow      = int64(1700000100)
)

// writeJWKS writes the test key's public JWKS and returns its path.
func writeJWKS(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(p, testjwt.JWKS(t, testjwt.PublicJWK{Kid: "k1", Alg: jwa.RS256(), Key: testjwt.RSAKey()}), 0o600))
	return p
}

func signToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	return testjwt.Sign(t, testjwt.RSAKey(), jwa.RS256(), "k1", "", claims)
}

func writeEvent(t *testing.T, token string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"datastoreEndpoint": testEndpoint, "bearerToken": token,
		"operationName": "SearchWithGet", "datastoreId": "0123456789abcdef0123456789abcdef"})
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "event.json")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func claims(extra map[string]any) map[string]any {
	c := map[string]any{"iat": testNow - 100, "exp": testNow + 300, "sub": "user-1"}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestValidate(t *testing.T) {
	jwks := writeJWKS(t)
	const kcIss = "https://kc.example.com/realms/fhir"
	const cogIss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	now := "--now=1700000100"
	tests := []struct {
		name       string
		claims     map[string]any
		args       []string
		wantAllow  bool
		wantScope  string
		wantStderr string
	}{
		{name: "generic allowed", claims: claims(map[string]any{"iss": kcIss, "aud": testEndpoint, "scope": "openid patient/*.rs bogus", "patient": "456"}),
			args: []string{"--issuer", kcIss}, wantAllow: true, wantScope: "openid patient/*.rs", wantStderr: "allowed"},
		{name: "generic wrong audience", claims: claims(map[string]any{"iss": kcIss, "aud": "account", "scope": "patient/*.rs"}),
			args: []string{"--issuer", kcIss}, wantStderr: "reason=aud"},
		{name: "generic extra audience", claims: claims(map[string]any{"iss": kcIss, "aud": "account", "scope": "patient/*.rs", "patient": "456"}),
			args: []string{"--issuer", kcIss, "--audience", "account"}, wantAllow: true, wantScope: "patient/*.rs"},
		{name: "expired as of --now", claims: claims(map[string]any{"iss": kcIss, "aud": testEndpoint, "scope": "patient/*.rs", "exp": testNow - 60, "iat": testNow - 400}),
			args: []string{"--issuer", kcIss}, wantStderr: "reason=exp"},
		{name: "v1 scopes", claims: claims(map[string]any{"iss": kcIss, "aud": testEndpoint, "scope": "user/Observation.rs user/Patient.r", "fhirUser": "Practitioner/1"}),
			args: []string{"--issuer", kcIss, "--v1-scopes"}, wantAllow: true, wantScope: "user/Observation.read"},
		{name: "keycloak requires typ Bearer", claims: claims(map[string]any{"iss": kcIss, "aud": testEndpoint, "scope": "patient/*.rs", "typ": "ID"}),
			args: []string{"--provider", "keycloak", "--keycloak-url", "https://kc.example.com", "--realm", "fhir"}, wantStderr: "reason=token_kind"},
		{name: "keycloak access token", claims: claims(map[string]any{"iss": kcIss, "aud": []string{"account", testEndpoint}, "scope": "system/*.rs", "typ": "Bearer"}),
			args: []string{"--provider", "keycloak", "--issuer", kcIss}, wantAllow: true, wantScope: "system/*.rs"},
		{name: "cognito access token with prefix", claims: claims(map[string]any{"iss": cogIss, "token_use": "access", "client_id": "app1",
			"scope": "https://fhir.example.com/system/*.read aws.cognito.signin.user.admin"}),
			args:      []string{"--provider", "cognito", "--region", "us-east-1", "--user-pool-id", "us-east-1_Example", "--client-id", "app1", "--scope-prefix", "https://fhir.example.com"},
			wantAllow: true, wantScope: "system/*.read"},
		{name: "cognito id token", claims: claims(map[string]any{"iss": cogIss, "token_use": "id", "client_id": "app1", "scope": "system/*.read"}),
			args: []string{"--provider", "cognito", "--region", "us-east-1", "--user-pool-id", "us-east-1_Example", "--client-id", "app1"}, wantStderr: "reason=token_kind"},
		{name: "cognito other client", claims: claims(map[string]any{"iss": cogIss, "token_use": "access", "client_id": "evil", "scope": "system/*.read"}),
			args: []string{"--provider", "cognito", "--issuer", cogIss, "--client-id", "app1"}, wantStderr: "reason=client_id"},
		{name: "cognito token for another data store (--endpoint)", claims: claims(map[string]any{"iss": cogIss, "token_use": "access", "client_id": "app1", "scope": "system/*.read"}),
			args:       []string{"--provider", "cognito", "--issuer", cogIss, "--client-id", "app1", "--endpoint", "https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/"},
			wantStderr: "reason=event"},
		{name: "cognito token with the right --endpoint", claims: claims(map[string]any{"iss": cogIss, "token_use": "access", "client_id": "app1", "scope": "system/*.read"}),
			args:      []string{"--provider", "cognito", "--issuer", cogIss, "--client-id", "app1", "--endpoint", testEndpoint},
			wantAllow: true, wantScope: "system/*.read"},
		{name: "unknown issuer", claims: claims(map[string]any{"iss": "https://evil.example.com", "aud": testEndpoint, "scope": "system/*.rs"}),
			args: []string{"--issuer", kcIss}, wantStderr: "reason=iss_unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := writeEvent(t, signToken(t, tc.claims))
			args := append([]string{"validate", "--jwks-file", jwks, "--role-arn", testRole, now}, tc.args...)
			code, stdout, stderr := runCLI(t, "", append(args, ev)...)
			wantCode := 1 // denied
			if tc.wantAllow {
				wantCode = 0
			}
			require.Equal(t, wantCode, code, stderr)
			assert.Contains(t, stderr, tc.wantStderr)
			var resp struct {
				AuthPayload map[string]any `json:"authPayload"`
				IAMRoleARN  string         `json:"iamRoleARN"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &resp), stdout)
			assert.Equal(t, tc.wantAllow, resp.AuthPayload["isAuthorized"])
			if tc.wantAllow {
				assert.Equal(t, tc.wantScope, resp.AuthPayload["scope"])
				assert.Equal(t, testEndpoint, resp.AuthPayload["aud"])
				assert.Equal(t, testRole, resp.IAMRoleARN)
			} else {
				assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, stdout)
			}
		})
	}
}

func TestValidateStdinAndBearerPrefix(t *testing.T) {
	jwks := writeJWKS(t)
	const iss = "https://idp.example.com"
	tok := signToken(t, claims(map[string]any{"iss": iss, "aud": testEndpoint, "scope": "user/*.rs", "fhirUser": "Practitioner/1"}))
	ev, err := json.Marshal(map[string]string{"datastoreEndpoint": testEndpoint, "bearerToken": "Bearer " + tok})
	require.NoError(t, err)
	code, stdout, stderr := runCLI(t, string(ev), "validate", "--jwks-file", jwks, "--issuer", iss, "--role-arn", testRole, "--now", "2023-11-14T22:15:00Z")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"isAuthorized": true`)
	assert.NotContains(t, stderr+stdout, tok, "the token must never be echoed")
}

func TestValidateMalformedEvent(t *testing.T) {
	jwks := writeJWKS(t)
	code, stdout, stderr := runCLI(t, `{"bearerToken": 42}`, "validate", "--jwks-file", jwks, "--issuer", "https://idp.example.com", "--role-arn", testRole)
	require.Equal(t, 1, code, "an undecodable event is denied")
	assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, stdout)
	assert.Contains(t, stderr, "reason=event")
}

func TestValidateUsageErrors(t *testing.T) {
	jwks := writeJWKS(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no role", []string{"--jwks-file", jwks, "--issuer", "https://idp.example.com"}, "--role-arn"},
		{"no issuer", []string{"--jwks-file", jwks, "--role-arn", testRole}, "--issuer"},
		{"bad provider", []string{"--provider", "okta", "--jwks-file", jwks, "--issuer", "https://idp.example.com", "--role-arn", testRole}, "--provider"},
		{"cognito without client", []string{"--provider", "cognito", "--region", "us-east-1", "--user-pool-id", "us-east-1_X", "--jwks-file", jwks, "--role-arn", testRole}, "client"},
		{"both key sources", []string{"--jwks-file", jwks, "--jwks-url", "https://idp.example.com/jwks", "--issuer", "https://idp.example.com", "--role-arn", testRole}, "not both"},
		{"bad now", []string{"--jwks-file", jwks, "--issuer", "https://idp.example.com", "--role-arn", testRole, "--now", "yesterday"}, "--now"},
		{"http issuer", []string{"--jwks-file", jwks, "--issuer", "http://idp.example.com", "--role-arn", testRole}, "https"},
		{"unknown flag", []string{"--frobnicate"}, "frobnicate"},
		{"cognito issuer and pool", []string{"--provider", "cognito", "--issuer", "https://evil.example.com", "--region", "us-east-1",
			"--user-pool-id", "us-east-1_X", "--client-id", "c", "--role-arn", testRole}, "not both"},
		{"keycloak issuer and realm", []string{"--provider", "keycloak", "--issuer", "https://evil.example.com/realms/x",
			"--keycloak-url", "https://kc.example.com", "--realm", "fhir", "--role-arn", testRole}, "not both"},
		{"cognito audience", []string{"--provider", "cognito", "--region", "us-east-1", "--user-pool-id", "us-east-1_X",
			"--client-id", "c", "--audience", "x", "--role-arn", testRole}, "--client-id"},
		{"pool flags with keycloak", []string{"--provider", "keycloak", "--keycloak-url", "https://kc.example.com", "--realm", "fhir",
			"--region", "us-east-1", "--role-arn", testRole}, "--provider cognito"},
		{"realm flags with cognito", []string{"--provider", "cognito", "--region", "us-east-1", "--user-pool-id", "us-east-1_X",
			"--client-id", "c", "--realm", "fhir", "--role-arn", testRole}, "--provider keycloak"},
		{"pool flags without provider", []string{"--issuer", "https://idp.example.com", "--region", "us-east-1", "--role-arn", testRole}, "--provider"},
		{"two files", []string{"--jwks-file", jwks, "--issuer", "https://idp.example.com", "--role-arn", testRole, "a.json", "b.json"}, "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", append([]string{"validate"}, tc.args...)...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

func TestDecode(t *testing.T) {
	tok := signToken(t, map[string]any{"iss": "https://idp.example.com", "sub": "abc"})
	code, stdout, _ := runCLI(t, "", "decode", tok)
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "NOT VERIFIED")
	assert.Contains(t, stdout, `"sub": "abc"`)
	assert.Contains(t, stdout, `"kid": "k1"`)
	assert.NotContains(t, stdout, strings.Split(tok, ".")[2], "the signature is not printed")

	code, _, stderr := runCLI(t, "", "decode", "not-a-token")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "want 3")
	code, _, _ = runCLI(t, "", "decode")
	assert.Equal(t, 2, code)
}

func TestDemo(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "demo")
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{"backend service", "patient standalone launch", "practitioner", "expired token",
		"forged signature", "wrong audience", `"isAuthorized": true`, `"isAuthorized": false`, "JWKS requests in total: 1"} {
		assert.Contains(t, stdout, want)
	}
	assert.NotContains(t, stdout, "UNEXPECTED")
	assert.NotContains(t, stdout, "eyJ", "no token text in the demo output")
}

func TestUsage(t *testing.T) {
	code, _, stderr := runCLI(t, "")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "Usage")
	code, _, stderr = runCLI(t, "", "frob")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown command")
	code, stdout, _ := runCLI(t, "", "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "smartauth demo")
}

// TestValidateAlgorithm: an ES256 issuer is usable from the command line
// with --algorithm; without it the default allow-list (RS256) refuses it.
func TestValidateAlgorithm(t *testing.T) {
	ec := testjwt.NewECKey(elliptic.P256())
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(jwks, testjwt.JWKS(t, testjwt.PublicJWK{Kid: "e1", Alg: jwa.ES256(), Key: ec}), 0o600))

	const iss = "https://idp.example.com"
	tok := testjwt.Sign(t, ec, jwa.ES256(), "e1", "", claims(map[string]any{"iss": iss, "aud": testEndpoint, "scope": "system/*.rs"}))
	ev := writeEvent(t, tok)
	base := []string{"validate", "--jwks-file", jwks, "--issuer", iss, "--role-arn", testRole, "--now=1700000100"}

	code, stdout, stderr := runCLI(t, "", append(base, ev)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "reason=alg", "RS256 only by default")
	assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, stdout)

	code, stdout, stderr = runCLI(t, "", append(base, "--algorithm", "ES256", "--algorithm", "RS256", ev)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"isAuthorized": true`)

	code, _, stderr = runCLI(t, "", append(base, "--algorithm", "HS256", ev)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "HS256")
}

// TestValidateProviderFlags: --multi-region and --path-prefix (the
// Lambda's COGNITO_MULTI_REGION, KEYCLOAK_PATH_PREFIX) reach the shared
// settings and their combination rules.
func TestValidateProviderFlags(t *testing.T) {
	ev := writeEvent(t, "x.y.z")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"multi-region with issuer", []string{"--provider", "cognito", "--issuer", "https://cognito.local.test/local_abc", "--client-id", "app", "--multi-region"},
			"--multi-region needs --region/--user-pool-id"},
		{"multi-region for generic", []string{"--issuer", "https://idp.example.com", "--jwks-url", "https://idp.example.com/jwks", "--multi-region"},
			"--multi-region"},
		{"path-prefix with issuer", []string{"--provider", "keycloak", "--issuer", "https://kc.example.com/auth/realms/fhir", "--path-prefix", "/auth"},
			"--path-prefix needs --keycloak-url/--realm"},
		{"path-prefix not a plain path", []string{"--provider", "keycloak", "--keycloak-url", "https://kc.example.com", "--realm", "fhir", "--path-prefix", "/a?b"},
			`path prefix "/a?b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", append(append([]string{"validate", "--role-arn", testRole}, tc.args...), ev)...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// TestExitCodes: one convention for every command, stated in each -h text:
// 0 allowed or positive, 1 denied or negative, 2 usage or configuration
// error (no decision).
func TestExitCodes(t *testing.T) {
	jwks := writeJWKS(t)
	const iss = "https://idp.example.com"
	allowed := writeEvent(t, signToken(t, claims(map[string]any{"iss": iss, "aud": testEndpoint, "scope": "system/*.rs"})))
	denied := writeEvent(t, signToken(t, claims(map[string]any{"iss": iss, "aud": "https://other.example.com", "scope": "system/*.rs"})))
	validate := []string{"validate", "--jwks-file", jwks, "--issuer", iss, "--role-arn", testRole, "--now=1700000100"}
	// An unreachable JWKS (nothing listens on port 1) leaves no decision.
	unreachable := []string{"validate", "--jwks-url", "http://127.0.0.1:1/jwks", "--insecure-http", "--issuer", iss,
		"--role-arn", testRole, "--now=1700000100", "--timeout", "2s", allowed}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"validate allowed", append(validate, allowed), 0},
		{"validate denied", append(validate, denied), 1},
		{"validate configuration error", []string{"validate", "--issuer", iss, "--role-arn", testRole, allowed}, 2},
		{"validate internal fault", unreachable, 2},
		{"validate usage", []string{"validate", "--frobnicate"}, 2},
		{"scopes valid", []string{"scopes", "--", "patient/*.rs"}, 0},
		{"scopes invalid", []string{"scopes", "--", "patient/*.sr"}, 1},
		{"permits allowed", []string{"scopes", "--permits", "patient/*.rs", "--patient", "p1", "GET", "Observation/1"}, 0},
		{"permits denied", []string{"scopes", "--permits", "patient/*.rs", "--patient", "p1", "DELETE", "Observation/1"}, 1},
		{"permits usage", []string{"scopes", "--permits", "patient/*.rs", "GET"}, 2},
		{"decode", []string{"decode", signToken(t, claims(nil))}, 0},
		{"decode not a token", []string{"decode", "x"}, 1},
		{"decode usage", []string{"decode"}, 2},
		{"unknown command", []string{"frob"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tc.args...)
			assert.Equal(t, tc.want, code, stderr)
		})
	}
	_, _, stderr := runCLI(t, "", unreachable...)
	assert.Contains(t, stderr, "internal fault (jwks_unavailable)")
	for _, cmd := range []string{"validate", "scopes", "decode", "demo"} {
		code, _, stderr := runCLI(t, "", cmd, "-h")
		assert.Equal(t, 0, code)
		assert.Contains(t, stderr, "Exit status: 0", "%s -h documents the exit status", cmd)
	}
	_, stdout, _ := runCLI(t, "", "help")
	assert.Contains(t, stdout, "Exit status (every command): 0 allowed or positive result, 1 denied")
}
