package metadata

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	kcIssuer  = "https://kc.example.com/realms/fhir"
	kcOIDC    = kcIssuer + "/protocol/openid-connect"
	cogIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
	cogDomain = "https://smart-123456789012.auth.us-east-1.amazoncognito.com"
)

func keycloakDoc() map[string]any {
	return map[string]any{
		"issuer":                                kcIssuer,
		"jwks_uri":                              kcOIDC + "/certs",
		"authorization_endpoint":                kcOIDC + "/auth",
		"token_endpoint":                        kcOIDC + "/token",
		"introspection_endpoint":                kcOIDC + "/token/introspect",
		"revocation_endpoint":                   kcOIDC + "/revoke",
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
		"grant_types_supported":                 []any{"authorization_code", "client_credentials"},
		"response_types_supported":              []any{"code"},
		"scopes_supported":                      []any{"openid", "fhirUser", "launch/patient", "patient/*.rs", "system/*.read", "email"},
		"code_challenge_methods_supported":      []any{"S256"},
		"capabilities": []any{"launch-standalone", "client-confidential-symmetric", "sso-openid-connect",
			"context-standalone-patient", "permission-patient", "permission-user", "permission-v2"},
		"x-vendor-extension": map[string]any{"unknown": "members are allowed"},
	}
}

// cognitoDoc is what the CloudFormation template writes (§11.1 of the contract, plus capabilities).
func cognitoDoc() map[string]any {
	return map[string]any{
		"issuer":                           cogIssuer,
		"jwks_uri":                         cogIssuer + "/.well-known/jwks.json",
		"authorization_endpoint":           cogDomain + "/oauth2/authorize",
		"token_endpoint":                   cogDomain + "/oauth2/token",
		"grant_types_supported":            []any{"authorization_code", "client_credentials"},
		"code_challenge_methods_supported": []any{"S256"},
		"capabilities": []any{"launch-standalone", "client-confidential-symmetric", "sso-openid-connect",
			"context-standalone-patient", "permission-patient", "permission-user", "permission-v2"},
	}
}

func set(kv ...any) func(map[string]any) {
	return func(m map[string]any) {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
	}
}

func caps(extra ...string) []any {
	out := []any{}
	for _, c := range extra {
		out = append(out, c)
	}
	return out
}

func encode(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m, json.Deterministic(true))
	require.NoError(t, err)
	return b
}

// allRules lists every rule Check has; TestCheck fails when one has no deny case.
var allRules = []string{
	"json", "type", "healthlake.required", "smart.url", "healthlake.grant-types", "oauth.insecure-grant",
	"smart.grant-type", "healthlake.s256", "smart.pkce-plain", "smart.capability-duplicate",
	"smart.capability-unknown", "healthlake.permission-v2", "healthlake.permission-v2.2",
	"healthlake.v1-permission", "healthlake.strategy", "smart.sso-openid-connect",
	"smart.needs-authorization-code", "smart.context-needs-launch", "smart.asymmetric-auth",
	"smart.asymmetric-alg", "smart.symmetric-auth", "oauth.response-type-code", "smart.scope-invalid",
	"healthlake.v1-scope", "healthlake.granular-scope", "cognito.no-endpoint", "cognito.private-key-jwt",
	"cognito.issuer", "cognito.jwks-uri", "cognito.hosted-ui", "keycloak.realm", "keycloak.issuer",
	"oidc.same-host", "healthlake.permission-v1",
}

// A JSON error's why names its kind, told from the kind of input (json/v2's
// error text is randomised, so only the why is compared).
func TestCheckSyntaxWhy(t *testing.T) {
	dup := "named twice"
	for _, tc := range []struct {
		name, raw, why string
	}{
		{name: "duplicate member", raw: `{"capabilities": [], "capabilities": []}`, why: dup},
		{name: "duplicate member in a JSON string", raw: `"{\"a\": 1, \"a\": 2}"`, why: dup},
		{name: "invalid UTF-8", raw: "{\"issuer\": \"https://kc.example.com/\xff\"}", why: "UTF-8"},
		{name: "truncated", raw: `{"capabilities": ["permission-v2"`, why: "ends inside the object"},
		{name: "unclosed string", raw: `{"capabilities": "permission-v2`, why: "ends inside the object"},
		{name: "trailing object", raw: `{"capabilities": []} {"issuer": "x"}`, why: "more follows the object"},
		{name: "trailing brace", raw: `{"capabilities": []}}`, why: "more follows the object"},
		{name: "deep nesting", raw: `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, why: "not valid JSON"},
		{name: "bad token", raw: `{"capabilities": [}`, why: "not valid JSON"},
		{name: "number as name", raw: `{1: 2}`, why: "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probs := Check([]byte(tc.raw), SMARTOnFHIR)
			require.Len(t, probs, 1)
			assert.Equal(t, "json", probs[0].Rule)
			assert.Contains(t, probs[0].Why, tc.why)
			if tc.why != dup {
				assert.NotContains(t, probs[0].Why, dup)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	v1Caps := caps("launch-standalone", "client-confidential-symmetric", "sso-openid-connect", "context-standalone-patient", "permission-patient", "permission-v1")
	tests := []struct {
		name     string
		base     func() map[string]any // default keycloakDoc
		edit     func(map[string]any)
		raw      string // used instead of base+edit when set
		strategy Strategy
		loopback bool
		want     []string // rules, in any order; empty: acceptable
	}{
		// documents
		{name: "keycloak acceptable"},
		{name: "cognito acceptable", base: cognitoDoc},
		{name: "cognito custom domain acceptable", base: cognitoDoc, edit: set(
			"authorization_endpoint", "https://auth.example.com/oauth2/authorize", "token_endpoint", "https://auth.example.com/oauth2/token")},
		{name: "empty", raw: "  ", want: []string{"json"}},
		{name: "array", raw: `["authorization_endpoint"]`, want: []string{"json"}},
		{name: "syntax error", raw: `{"capabilities": [}`, want: []string{"json"}},
		{name: "duplicate member", raw: `{"capabilities": [], "capabilities": []}`, want: []string{"json"}},
		{name: "string that is not JSON", raw: `"{\"a\": }"`, want: []string{"json"}},
		{name: "double encoded", raw: `"\"{}\""`, want: []string{"json"}},
		{name: "bad string literal", raw: `"abc`, want: []string{"json"}},
		{name: "too large", raw: `{"x":"` + strings.Repeat("a", MaxDocument) + `"}`, want: []string{"json"}},
		// types
		{name: "capabilities not an array", edit: set("capabilities", "permission-v2"), want: []string{"type"}},
		{name: "issuer not a string", edit: set("issuer", 42), want: []string{"type"}},
		{name: "issuer empty", edit: set("issuer", ""), want: []string{"type"}},
		{name: "array with null", edit: set("grant_types_supported", []any{"authorization_code", nil}), want: []string{"type"}},
		{name: "array with a number", edit: set("scopes_supported", []any{"openid", 1}), want: []string{"type"}},
		// HealthLake required members
		{name: "no authorization_endpoint", edit: set("authorization_endpoint", nil), want: []string{"healthlake.required"}},
		{name: "no token_endpoint", edit: set("token_endpoint", nil), want: []string{"healthlake.required"}},
		{name: "no grant_types_supported", edit: set("grant_types_supported", nil), want: []string{"healthlake.required"}},
		{name: "no capabilities", edit: set("capabilities", nil), want: []string{"healthlake.required"}},
		{name: "no code_challenge_methods_supported", edit: set("code_challenge_methods_supported", nil), want: []string{"healthlake.required"}},
		// URLs
		{name: "http endpoint", edit: set("token_endpoint", "http://kc.example.com/realms/fhir/protocol/openid-connect/token"),
			want: []string{"smart.url"}},
		{name: "loopback http denied by default", base: loopbackDoc, want: []string{"smart.url", "smart.url", "smart.url", "smart.url"}},
		{name: "loopback http allowed by policy", base: loopbackDoc, loopback: true},
		{name: "non-loopback http denied even with policy", loopback: true, edit: set("jwks_uri", "http://kc.example.com/realms/fhir/protocol/openid-connect/certs"),
			want: []string{"smart.url"}},
		{name: "relative URL", edit: set("revocation_endpoint", "/realms/fhir/protocol/openid-connect/revoke"),
			want: []string{"smart.url"}},
		{name: "fragment", edit: set("authorization_endpoint", kcOIDC+"/auth#x"), want: []string{"smart.url"}},
		{name: "user info", edit: set("authorization_endpoint", "https://u:p@kc.example.com/realms/fhir/protocol/openid-connect/auth"),
			want: []string{"smart.url"}},
		{name: "issuer with query", edit: set("issuer", kcIssuer+"?a=b"), want: []string{"smart.url"}},
		{name: "ftp scheme", edit: set("token_endpoint", "ftp://kc.example.com/realms/fhir/protocol/openid-connect/token"),
			want: []string{"smart.url"}},
		// grant types
		{name: "neither SMART grant", edit: set("grant_types_supported", caps("refresh_token"), "capabilities", caps("permission-v2")),
			want: []string{"healthlake.grant-types"}},
		{name: "client_credentials only, backend capabilities", edit: set("grant_types_supported", caps("client_credentials"),
			"capabilities", caps("client-confidential-symmetric", "permission-v2"), "response_types_supported", nil)},
		{name: "refresh_token allowed", edit: set("grant_types_supported", caps("authorization_code", "client_credentials", "refresh_token"))},
		{name: "implicit", edit: set("grant_types_supported", caps("authorization_code", "implicit")), want: []string{"oauth.insecure-grant"}},
		{name: "password", edit: set("grant_types_supported", caps("client_credentials", "authorization_code", "password")), want: []string{"oauth.insecure-grant"}},
		{name: "device code", edit: set("grant_types_supported", caps("authorization_code", "urn:ietf:params:oauth:grant-type:device_code")),
			want: []string{"smart.grant-type"}},
		// PKCE
		{name: "no S256", edit: set("code_challenge_methods_supported", caps()), want: []string{"healthlake.s256"}},
		{name: "plain only", edit: set("code_challenge_methods_supported", caps("plain")), want: []string{"healthlake.s256", "smart.pkce-plain"}},
		{name: "plain and S256", edit: set("code_challenge_methods_supported", caps("plain", "S256")), want: []string{"smart.pkce-plain"}},
		// capability names
		{name: "unknown capability", edit: set("capabilities", caps("permission-v2", "launch-Standalone")), want: []string{"smart.capability-unknown"}},
		{name: "SMART 1.0 capability name", edit: set("capabilities", caps("permission-v2", "context-passthrough-banner")), want: []string{"smart.capability-unknown"}},
		{name: "duplicate capability", edit: set("capabilities", caps("permission-v2", "permission-v2")), want: []string{"smart.capability-duplicate"}},
		{name: "every SMART 2.2 capability", edit: set("capabilities", caps(capabilityOrder...),
			"token_endpoint_auth_methods_supported", caps("client_secret_basic", "private_key_jwt"))},
		// strategy
		{name: "SMART_ON_FHIR without permission-v2", edit: set("capabilities", v1Caps), want: []string{"healthlake.permission-v2"}},
		{name: "permission-v2.2 without permission-v2", edit: set("capabilities", caps("permission-v2.2")),
			want: []string{"healthlake.permission-v2", "healthlake.permission-v2.2"}},
		{name: "V1 acceptable", strategy: SMARTOnFHIRV1, edit: set("capabilities", v1Caps, "scopes_supported", caps("openid", "patient/*.read"))},
		{name: "V1 without permission-v1", strategy: SMARTOnFHIRV1, edit: set("capabilities", caps("launch-standalone", "client-confidential-symmetric",
			"sso-openid-connect", "context-standalone-patient", "permission-patient"), "scopes_supported", caps("openid", "patient/*.read")),
			want: []string{"healthlake.permission-v1"}},
		{name: "V1 with permission-v1", strategy: SMARTOnFHIRV1, edit: set("capabilities", caps("permission-v1"), "scopes_supported", nil)},
		{name: "V1 with permission-v2", strategy: SMARTOnFHIRV1, edit: set("scopes_supported", nil), want: []string{"healthlake.v1-permission", "healthlake.permission-v1"}},
		{name: "V1 with permission-v2.2", strategy: SMARTOnFHIRV1, edit: set("capabilities", caps("permission-v1", "permission-v2.2"), "scopes_supported", nil),
			want: []string{"healthlake.v1-permission"}},
		{name: "AWS_AUTH", strategy: "AWS_AUTH", want: []string{"healthlake.strategy"}},
		{name: "AWS_AUTH without capabilities", strategy: "AWS_AUTH", edit: set("capabilities", nil),
			want: []string{"healthlake.strategy", "healthlake.required"}},
		// sso-openid-connect
		{name: "sso without issuer", edit: set("issuer", nil), want: []string{"smart.sso-openid-connect"}},
		{name: "sso without jwks_uri", edit: set("jwks_uri", nil), want: []string{"smart.sso-openid-connect"}},
		{name: "no sso, no issuer, no jwks_uri", edit: set("issuer", nil, "jwks_uri", nil,
			"capabilities", caps("launch-standalone", "client-confidential-symmetric", "permission-v2"))},
		// capabilities that need authorization_code
		{name: "launch without authorization_code", edit: set("grant_types_supported", caps("client_credentials"), "response_types_supported", nil,
			"capabilities", caps("launch-standalone", "launch-ehr", "client-public", "authorize-post", "permission-v2")),
			want: []string{"smart.needs-authorization-code", "smart.needs-authorization-code", "smart.needs-authorization-code", "smart.needs-authorization-code"}},
		{name: "sso without authorization_code", edit: set("grant_types_supported", caps("client_credentials"), "response_types_supported", nil,
			"capabilities", caps("sso-openid-connect", "permission-v2")), want: []string{"smart.needs-authorization-code"}},
		// launch contexts
		{name: "EHR context without launch-ehr", edit: set("capabilities", caps("launch-standalone", "context-ehr-patient", "permission-v2")),
			want: []string{"smart.context-needs-launch"}},
		{name: "standalone context without launch-standalone", edit: set("capabilities", caps("launch-ehr", "context-standalone-encounter", "permission-v2")),
			want: []string{"smart.context-needs-launch"}},
		{name: "EHR context with launch-ehr", edit: set("capabilities", caps("launch-ehr", "context-ehr-patient", "context-ehr-encounter", "permission-v2"))},
		// client authentication
		{name: "asymmetric without private_key_jwt", edit: set("capabilities", caps("client-confidential-asymmetric", "permission-v2")),
			want: []string{"smart.asymmetric-auth"}},
		{name: "asymmetric without auth methods member", edit: set("capabilities", caps("client-confidential-asymmetric", "permission-v2"),
			"token_endpoint_auth_methods_supported", nil), want: []string{"smart.asymmetric-auth"}},
		{name: "asymmetric with private_key_jwt", edit: set("capabilities", caps("client-confidential-asymmetric", "permission-v2"),
			"token_endpoint_auth_methods_supported", caps("private_key_jwt"), "token_endpoint_auth_signing_alg_values_supported", caps("ES384", "RS384"))},
		{name: "asymmetric without RS384 or ES384", edit: set("capabilities", caps("client-confidential-asymmetric", "permission-v2"),
			"token_endpoint_auth_methods_supported", caps("private_key_jwt"), "token_endpoint_auth_signing_alg_values_supported", caps("RS256")),
			want: []string{"smart.asymmetric-alg"}},
		{name: "symmetric without a secret method", edit: set("token_endpoint_auth_methods_supported", caps("private_key_jwt")),
			want: []string{"smart.symmetric-auth"}},
		{name: "symmetric without auth methods member", edit: set("token_endpoint_auth_methods_supported", nil)},
		// response types
		{name: "response types without code", edit: set("response_types_supported", caps("token")), want: []string{"oauth.response-type-code"}},
		// scopes_supported
		{name: "invalid resource scope", edit: set("scopes_supported", caps("patient/Observation.sr")), want: []string{"smart.scope-invalid"}},
		{name: "v2 scope on V1", strategy: SMARTOnFHIRV1, edit: set("capabilities", v1Caps), want: []string{"healthlake.v1-scope"}},
		{name: "granular scope without permission-v2.2", edit: set("scopes_supported", caps("patient/Observation.rs?category=laboratory")),
			want: []string{"healthlake.granular-scope"}},
		{name: "granular scope with permission-v2.2", edit: set("scopes_supported", caps("patient/Observation.rs?category=laboratory"),
			"capabilities", caps("launch-standalone", "client-confidential-symmetric", "sso-openid-connect", "permission-v2", "permission-v2.2"))},
		{name: "non-SMART scopes ignored", edit: set("scopes_supported", caps("email", "basic", "roles", "https://api.example.com/x"))},
		// Cognito
		{name: "cognito introspection", base: cognitoDoc, edit: set("introspection_endpoint", cogDomain+"/oauth2/introspect"),
			want: []string{"cognito.no-endpoint"}},
		{name: "cognito registration", base: cognitoDoc, edit: set("registration_endpoint", cogDomain+"/register"),
			want: []string{"cognito.no-endpoint"}},
		{name: "cognito revocation allowed", base: cognitoDoc, edit: set("revocation_endpoint", cogDomain+"/oauth2/revoke")},
		{name: "cognito asymmetric", base: cognitoDoc, edit: set("capabilities", caps("client-confidential-asymmetric", "permission-v2"),
			"token_endpoint_auth_methods_supported", caps("private_key_jwt")), want: []string{"cognito.private-key-jwt"}},
		{name: "cognito issuer trailing slash", base: cognitoDoc, edit: set("issuer", cogIssuer+"/"), want: []string{"cognito.issuer"}},
		{name: "cognito issuer region mismatch", base: cognitoDoc, edit: set("issuer", "https://cognito-idp.us-west-2.amazonaws.com/us-east-1_AbC123",
			"jwks_uri", "https://cognito-idp.us-west-2.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json"),
			want: []string{"cognito.issuer", "cognito.hosted-ui"}},
		{name: "cognito jwks_uri", base: cognitoDoc, edit: set("jwks_uri", cogIssuer+"/jwks.json"), want: []string{"cognito.jwks-uri"}},
		{name: "cognito authorize on API host", base: cognitoDoc, edit: set("authorization_endpoint", cogIssuer+"/oauth2/authorize"),
			want: []string{"cognito.hosted-ui"}},
		{name: "cognito token path", base: cognitoDoc, edit: set("token_endpoint", cogDomain+"/token"), want: []string{"cognito.hosted-ui"}},
		{name: "cognito token on another domain", base: cognitoDoc, edit: set("token_endpoint", "https://other.auth.us-east-1.amazoncognito.com/oauth2/token"),
			want: []string{"cognito.hosted-ui"}},
		{name: "cognito domain only (no issuer)", base: cognitoDoc, edit: set("issuer", nil, "jwks_uri", nil,
			"capabilities", caps("launch-standalone", "permission-v2"), "introspection_endpoint", cogDomain+"/introspect"),
			want: []string{"cognito.no-endpoint"}},
		// Keycloak
		{name: "keycloak endpoint in another realm", edit: set("token_endpoint", "https://kc.example.com/realms/other/protocol/openid-connect/token"),
			want: []string{"keycloak.realm"}},
		{name: "keycloak jwks on another host", edit: set("jwks_uri", "https://kc2.example.com/realms/fhir/protocol/openid-connect/certs"),
			want: []string{"keycloak.realm"}},
		// a trailing slash still makes it a Keycloak realm: its own problem, and the realm rules apply
		{name: "keycloak issuer trailing slash", edit: set("issuer", kcIssuer+"/"), want: []string{"keycloak.issuer"}},
		{name: "keycloak issuer trailing slash, jwks on another host", edit: set("issuer", kcIssuer+"/",
			"jwks_uri", "https://evil.example.com/realms/fhir/protocol/openid-connect/certs"),
			want: []string{"keycloak.issuer", "keycloak.realm"}},
		{name: "keycloak legacy /auth path", edit: set("issuer", "https://kc.example.com/auth/realms/fhir",
			"jwks_uri", "https://kc.example.com/auth/realms/fhir/protocol/openid-connect/certs",
			"authorization_endpoint", "https://kc.example.com/auth/realms/fhir/protocol/openid-connect/auth",
			"token_endpoint", "https://kc.example.com/auth/realms/fhir/protocol/openid-connect/token",
			"introspection_endpoint", nil, "revocation_endpoint", nil)},
		{name: "keycloak userinfo in another realm", edit: set("userinfo_endpoint", "https://kc.example.com/realms/other/protocol/openid-connect/userinfo"),
			want: []string{"keycloak.realm"}},
		{name: "keycloak issuer with a query is a URL problem, not skipped", edit: set("issuer", kcIssuer+"?x=1"), want: []string{"smart.url"}},
		// a Cognito domain with a foreign issuer
		{name: "cognito domain with another issuer", base: cognitoDoc, edit: set("issuer", "https://evil.example.com",
			"jwks_uri", "https://evil.example.com/jwks"), want: []string{"cognito.issuer"}},
		// neither Cognito nor Keycloak: the endpoints are on the issuer's host
		{name: "generic IdP acceptable", edit: set("issuer", "https://idp.example.com/oauth2/default",
			"jwks_uri", "https://idp.example.com/oauth2/default/v1/keys",
			"authorization_endpoint", "https://idp.example.com/oauth2/default/v1/authorize",
			"token_endpoint", "https://idp.example.com/oauth2/default/v1/token",
			"introspection_endpoint", nil, "revocation_endpoint", nil)},
		{name: "generic IdP jwks on another host", edit: set("issuer", "https://idp.example.com",
			"jwks_uri", "https://evil.example.com/keys",
			"authorization_endpoint", "https://idp.example.com/authorize",
			"token_endpoint", "https://idp.example.com/token",
			"introspection_endpoint", nil, "revocation_endpoint", nil),
			want: []string{"oidc.same-host"}},
		{name: "keycloak realm path with extra segment is generic", edit: set("issuer", "https://kc.example.com/realms/fhir/x"),
			want: []string{}},
		{name: "generic IdP token endpoint over another port", edit: set("issuer", "https://kc.example.com:8443/realms/fhir/x"),
			want: []string{"oidc.same-host", "oidc.same-host", "oidc.same-host", "oidc.same-host", "oidc.same-host"}},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte(tc.raw)
			if tc.raw == "" {
				base := keycloakDoc
				if tc.base != nil {
					base = tc.base
				}
				m := base()
				if tc.edit != nil {
					tc.edit(m)
				}
				doc = encode(t, m)
			}
			strategy := tc.strategy
			if strategy == "" {
				strategy = SMARTOnFHIR
			}
			probs := Policy{Strategy: strategy, InsecureAllowLoopbackHTTP: tc.loopback}.Check(doc)
			var got []string
			for _, p := range probs {
				got = append(got, p.Rule)
				covered[p.Rule] = true
				line := p.String()
				assert.NotContains(t, line, "\n", "one line per problem")
				assert.Contains(t, line, "; fix: ")
				assert.NotEmpty(t, p.What)
				assert.NotEmpty(t, p.Why)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("rules (-want +got):\n%s\nproblems:\n%s", diff, lines(probs))
			}
			if strategy == SMARTOnFHIR && !tc.loopback {
				// the package-level Check is the same policy
				assert.Equal(t, probs, Check(doc, strategy))
			}
		})
	}
	for _, r := range allRules {
		assert.True(t, covered[r], "rule %s has no deny case", r)
	}
	for r := range covered {
		assert.True(t, slices.Contains(allRules, r), "rule %s missing from allRules", r)
	}
}

func loopbackDoc() map[string]any {
	const iss = "http://127.0.0.1:8080/realms/fhir"
	m := keycloakDoc()
	set("issuer", iss, "jwks_uri", iss+"/protocol/openid-connect/certs", "authorization_endpoint", iss+"/protocol/openid-connect/auth",
		"token_endpoint", "http://localhost:8080/realms/fhir/protocol/openid-connect/token",
		"introspection_endpoint", nil, "revocation_endpoint", nil)(m)
	// token_endpoint on "localhost" is not under the issuer's host
	m["token_endpoint"] = iss + "/protocol/openid-connect/token"
	return m
}

func lines(probs []Problem) string {
	var b strings.Builder
	for _, p := range probs {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

func TestCheckStringForm(t *testing.T) {
	obj := encode(t, cognitoDoc())
	quoted, err := json.Marshal(string(obj))
	require.NoError(t, err)
	assert.Empty(t, Check(quoted, SMARTOnFHIR), "the API/CloudFormation JSON-string form")
	assert.Empty(t, Check(append(append([]byte("\n  "), quoted...), '\n'), SMARTOnFHIR), "surrounding whitespace")

	// the string form reports the same problems as the object
	m := cognitoDoc()
	delete(m, "capabilities")
	bad := encode(t, m)
	badQuoted, err := json.Marshal(string(bad))
	require.NoError(t, err)
	assert.Equal(t, Check(bad, SMARTOnFHIR), Check(badQuoted, SMARTOnFHIR))
}

func TestProblemString(t *testing.T) {
	p := Problem{Rule: "healthlake.s256", Member: "code_challenge_methods_supported", What: `does not contain "S256"`,
		Why: "HealthLake requires PKCE with S256", Fix: `set it to ["S256"]`}
	assert.Equal(t, `code_challenge_methods_supported: does not contain "S256"; HealthLake requires PKCE with S256; fix: set it to ["S256"]`, p.String())
	p.Member = ""
	assert.True(t, strings.HasPrefix(p.String(), "Metadata: "))
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []string{"SMART_ON_FHIR", "SMART_ON_FHIR_V1"} {
		got, err := ParseStrategy(s)
		require.NoError(t, err)
		assert.Equal(t, Strategy(s), got)
	}
	for _, s := range []string{"", "AWS_AUTH", "smart_on_fhir"} {
		_, err := ParseStrategy(s)
		assert.ErrorIs(t, err, ErrStrategy, s)
	}
}
