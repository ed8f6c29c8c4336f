package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keycloakDiscovery is the recorded Keycloak 26 discovery document of providers/keycloak with issuer.
func keycloakDiscovery(t testing.TB, issuer string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../providers/keycloak/testdata/openid-configuration.json")
	require.NoError(t, err)
	return []byte(strings.ReplaceAll(string(b), "{{issuer}}", issuer))
}

func cognitoDiscovery(t testing.TB, domain string) []byte {
	t.Helper()
	b, err := CognitoDiscovery("us-east-1", "us-east-1_AbC123", domain)
	require.NoError(t, err)
	return b
}

var appCaps = []string{"launch-standalone", "client-confidential-symmetric", "sso-openid-connect",
	"context-standalone-patient", "permission-patient", "permission-user"}

var bothGrants = []string{GrantAuthorizationCode, GrantClientCredentials}

func TestBuildGolden(t *testing.T) {
	tests := []struct {
		name   string
		disc   func(t testing.TB) []byte
		s      Settings
		golden string
	}{
		{name: "keycloak SMART_ON_FHIR", disc: func(t testing.TB) []byte { return keycloakDiscovery(t, kcIssuer) },
			s: Settings{Strategy: SMARTOnFHIR, Capabilities: appCaps, GrantTypes: bothGrants}, golden: "keycloak.golden.json"},
		{name: "keycloak SMART_ON_FHIR_V1, backend only", disc: func(t testing.TB) []byte { return keycloakDiscovery(t, kcIssuer) },
			s:      Settings{Strategy: SMARTOnFHIRV1, Capabilities: []string{"client-confidential-symmetric", "permission-v1"}, GrantTypes: []string{GrantClientCredentials}},
			golden: "keycloak-v1-backend.golden.json"},
		{name: "keycloak asymmetric, v2.2, explicit scopes", disc: func(t testing.TB) []byte { return keycloakDiscovery(t, kcIssuer) },
			s: Settings{Strategy: SMARTOnFHIR, Capabilities: []string{"permission-v2.2", "client-confidential-asymmetric", "launch-ehr", "context-ehr-patient"},
				GrantTypes: bothGrants, ScopesSupported: []string{"launch", "patient/Observation.rs?category=laboratory", "system/*.rs"}},
			golden: "keycloak-asymmetric.golden.json"},
		{name: "cognito", disc: func(t testing.TB) []byte { return cognitoDiscovery(t, "smart-123456789012") },
			s: Settings{Strategy: SMARTOnFHIR, Capabilities: appCaps, GrantTypes: bothGrants}, golden: "cognito.golden.json"},
		{name: "cognito custom domain", disc: func(t testing.TB) []byte { return cognitoDiscovery(t, "https://auth.example.com/") },
			s:      Settings{Strategy: SMARTOnFHIRV1, Capabilities: []string{"client-confidential-symmetric", "permission-patient"}, GrantTypes: bothGrants},
			golden: "cognito-custom-domain.golden.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Build(tc.disc(t), tc.s)
			require.NoError(t, err)
			got, err := m.JSON(true)
			require.NoError(t, err)
			got = append(got, '\n')
			path := filepath.Join("testdata", tc.golden)
			if updateGolden {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))

			// Build never returns what Check rejects, in any of the three forms.
			compact, err := m.JSON(false)
			require.NoError(t, err)
			quoted, err := m.Quoted()
			require.NoError(t, err)
			for _, doc := range [][]byte{got, compact, []byte(quoted)} {
				assert.Empty(t, lines(Check(doc, tc.s.Strategy)))
			}
			var s string
			require.NoError(t, json.Unmarshal([]byte(quoted), &s))
			assert.Equal(t, string(compact), s, "Quoted is the compact object as one JSON string")
		})
	}
}

func TestBuildErrors(t *testing.T) {
	kc := func(t testing.TB) []byte { return keycloakDiscovery(t, kcIssuer) }
	cog := func(t testing.TB) []byte { return cognitoDiscovery(t, "smart-1") }
	raw := func(s string) func(testing.TB) []byte { return func(testing.TB) []byte { return []byte(s) } }
	edited := func(edit func(map[string]any)) func(testing.TB) []byte {
		return func(t testing.TB) []byte {
			var m map[string]any
			require.NoError(t, json.Unmarshal(keycloakDiscovery(t, kcIssuer), &m))
			edit(m)
			return encode(t, m)
		}
	}
	ok := Settings{Strategy: SMARTOnFHIR, Capabilities: appCaps, GrantTypes: bothGrants}
	with := func(f func(*Settings)) Settings { s := ok; f(&s); return s }
	tests := []struct {
		name    string
		disc    func(testing.TB) []byte
		s       Settings
		wantErr error
		wantMsg string
	}{
		{name: "no strategy", disc: kc, s: with(func(s *Settings) { s.Strategy = "" }), wantErr: ErrSettings},
		{name: "AWS_AUTH", disc: kc, s: with(func(s *Settings) { s.Strategy = "AWS_AUTH" }), wantErr: ErrSettings},
		{name: "unknown capability", disc: kc, s: with(func(s *Settings) { s.Capabilities = []string{"launch-standalone", "launch-web"} }),
			wantErr: ErrSettings, wantMsg: "launch-web"},
		{name: "V1 with permission-v2", disc: kc, s: with(func(s *Settings) {
			s.Strategy = SMARTOnFHIRV1
			s.Capabilities = []string{"permission-v2"}
		}), wantErr: ErrSettings},
		{name: "no grant type", disc: kc, s: with(func(s *Settings) { s.GrantTypes = nil }), wantErr: ErrSettings},
		{name: "implicit grant", disc: kc, s: with(func(s *Settings) { s.GrantTypes = []string{"implicit"} }), wantErr: ErrSettings},
		{name: "grant twice", disc: kc, s: with(func(s *Settings) { s.GrantTypes = []string{"client_credentials", "client_credentials"} }), wantErr: ErrSettings},
		{name: "not JSON", disc: raw(`<html>`), s: ok, wantErr: ErrDiscovery},
		{name: "wrong member type", disc: raw(`{"issuer": 1}`), s: ok, wantErr: ErrDiscovery},
		{name: "duplicate member", disc: raw(`{"issuer": "a", "issuer": "b"}`), s: ok, wantErr: ErrDiscovery},
		{name: "no token endpoint", disc: edited(set("token_endpoint", nil)), s: ok, wantErr: ErrDiscovery, wantMsg: "token_endpoint"},
		{name: "no jwks_uri", disc: edited(set("jwks_uri", nil)), s: ok, wantErr: ErrDiscovery, wantMsg: "jwks_uri"},
		{name: "IdP without client_credentials", disc: edited(set("grant_types_supported", caps("authorization_code"))), s: ok,
			wantErr: ErrDiscovery, wantMsg: "client_credentials"},
		{name: "IdP without grant list (RFC 8414 default)", disc: edited(set("grant_types_supported", nil)), s: ok,
			wantErr: ErrDiscovery, wantMsg: "client_credentials"},
		{name: "IdP without PKCE S256", disc: edited(set("code_challenge_methods_supported", caps("plain"))), s: ok,
			wantErr: ErrDiscovery, wantMsg: "S256"},
		{name: "IdP without PKCE list", disc: edited(set("code_challenge_methods_supported", nil)), s: ok, wantErr: ErrDiscovery},
		{name: "IdP without response type code", disc: edited(set("response_types_supported", caps("token"))), s: ok, wantErr: ErrDiscovery},
		{name: "IdP without client secret auth", disc: edited(set("token_endpoint_auth_methods_supported", caps("private_key_jwt"))), s: ok,
			wantErr: ErrDiscovery, wantMsg: "client-confidential-symmetric"},
		{name: "IdP without RS384/ES384", disc: edited(set("token_endpoint_auth_signing_alg_values_supported", caps("RS256"))),
			s: with(func(s *Settings) { s.Capabilities = []string{"client-confidential-asymmetric"} }), wantErr: ErrDiscovery, wantMsg: "RS384"},
		{name: "cognito asymmetric", disc: cog, s: with(func(s *Settings) { s.Capabilities = []string{"client-confidential-asymmetric"} }),
			wantErr: ErrDiscovery, wantMsg: "private_key_jwt"},
		{name: "http IdP", disc: func(t testing.TB) []byte { return keycloakDiscovery(t, "http://kc.example.com/realms/fhir") }, s: ok,
			wantErr: ErrInvalid, wantMsg: "is not https"},
		{name: "loopback IdP without the insecure setting", disc: func(t testing.TB) []byte { return keycloakDiscovery(t, "http://127.0.0.1:8080/realms/fhir") },
			s: ok, wantErr: ErrInvalid},
		{name: "explicit v2 scope on V1", disc: kc, s: Settings{Strategy: SMARTOnFHIRV1, Capabilities: []string{"permission-patient"}, GrantTypes: bothGrants,
			ScopesSupported: []string{"patient/*.rs"}}, wantErr: ErrInvalid, wantMsg: "SMART_ON_FHIR_V1"},
		{name: "issuer of another IdP", disc: func(t testing.TB) []byte { return keycloakDiscovery(t, "https://evil.example.net/realms/fhir") },
			s: with(func(s *Settings) { s.Issuer = kcIssuer }), wantErr: ErrIssuer, wantMsg: `"https://evil.example.net/realms/fhir", not "` + kcIssuer + `"`},
		{name: "issuer with a trailing slash", disc: func(t testing.TB) []byte { return keycloakDiscovery(t, kcIssuer+"/") },
			s: with(func(s *Settings) { s.Issuer = kcIssuer }), wantErr: ErrDiscovery, wantMsg: "wrong issuer"},
		{name: "cognito pool of another pool", disc: cog, s: with(func(s *Settings) {
			s.Issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"
		}), wantErr: ErrIssuer},
		{name: "context without launch mode", disc: kc, s: with(func(s *Settings) { s.Capabilities = []string{"context-ehr-patient"} }),
			wantErr: ErrInvalid, wantMsg: "launch-ehr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Build(tc.disc(t), tc.s)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.True(t, strings.HasPrefix(err.Error(), "metadata: "), err.Error())
		})
	}
}

func TestBuildIssuerMatches(t *testing.T) {
	m, err := Build(keycloakDiscovery(t, kcIssuer), Settings{Strategy: SMARTOnFHIR, Capabilities: appCaps, GrantTypes: bothGrants, Issuer: kcIssuer})
	require.NoError(t, err)
	assert.Equal(t, kcIssuer, m.Issuer)
	cog, err := CognitoDiscovery("us-east-1", "us-east-1_AbC123", "smart-1")
	require.NoError(t, err)
	_, err = Build(cog, Settings{Strategy: SMARTOnFHIR, Capabilities: appCaps, GrantTypes: bothGrants,
		Issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"})
	require.NoError(t, err)
}

func TestBuildLoopback(t *testing.T) {
	const iss = "http://127.0.0.1:8080/realms/fhir"
	m, err := Build(keycloakDiscovery(t, iss), Settings{Strategy: SMARTOnFHIR, Capabilities: appCaps, GrantTypes: bothGrants, InsecureAllowLoopbackHTTP: true})
	require.NoError(t, err)
	assert.Equal(t, iss, m.Issuer)
	assert.Equal(t, iss+"/protocol/openid-connect/token", m.TokenEndpoint)
}

func TestBuildScopesFilter(t *testing.T) {
	var m map[string]any
	require.NoError(t, json.Unmarshal(keycloakDiscovery(t, kcIssuer), &m))
	m["scopes_supported"] = caps("openid", "profile", "fhirUser", "launch", "launch/patient", "offline_access", "basic", "roles",
		"patient/*.read", "patient/*.rs", "user/Observation.rs?category=laboratory", "system/*.cruds", "system/*.cruds", "__ext")
	disc := encode(t, m)
	tests := []struct {
		name string
		s    Settings
		want []string
	}{
		{name: "SMART_ON_FHIR", s: Settings{Strategy: SMARTOnFHIR, GrantTypes: bothGrants},
			want: []string{"openid", "profile", "fhirUser", "launch", "launch/patient", "offline_access", "patient/*.read", "patient/*.rs", "system/*.cruds"}},
		{name: "v2.2", s: Settings{Strategy: SMARTOnFHIR, GrantTypes: bothGrants, Capabilities: []string{"permission-v2.2"}},
			want: []string{"openid", "profile", "fhirUser", "launch", "launch/patient", "offline_access", "patient/*.read", "patient/*.rs",
				"user/Observation.rs?category=laboratory", "system/*.cruds"}},
		{name: "V1", s: Settings{Strategy: SMARTOnFHIRV1, GrantTypes: bothGrants},
			want: []string{"openid", "profile", "fhirUser", "launch", "launch/patient", "offline_access", "patient/*.read"}},
		{name: "explicit empty", s: Settings{Strategy: SMARTOnFHIR, GrantTypes: bothGrants, ScopesSupported: []string{}}, want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(disc, tc.s)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.ScopesSupported)
			if len(tc.want) == 0 {
				assert.Empty(t, got.ScopesSupported)
				js, err := got.JSON(false)
				require.NoError(t, err)
				assert.NotContains(t, string(js), "scopes_supported")
			}
		})
	}
}

func TestBuildCapabilityOrder(t *testing.T) {
	m, err := Build(keycloakDiscovery(t, kcIssuer), Settings{Strategy: SMARTOnFHIR, GrantTypes: bothGrants,
		Capabilities: []string{"permission-user", "launch-standalone", "permission-user", "permission-v2", "client-public"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"launch-standalone", "client-public", "permission-user", "permission-v1", "permission-v2"}, m.Capabilities)
	assert.Nil(t, m.TokenEndpointAuthMethods, "public clients only: no secret methods")
	for i := 1; i < len(capabilityOrder); i++ {
		assert.True(t, IsCapability(capabilityOrder[i]))
	}
	assert.Len(t, capabilityOrder, len(capabilities), "capabilityOrder lists every capability")
}

// permission-v1 is advertised once for both strategies unless omitted.
func TestBuildPermissionV1(t *testing.T) {
	for _, st := range []Strategy{SMARTOnFHIR, SMARTOnFHIRV1} {
		for _, tc := range []struct {
			caps []string
			omit bool
			want int
		}{
			{caps: appCaps, want: 1},
			{caps: append([]string{"permission-v1"}, appCaps...), want: 1},
			{caps: appCaps, omit: true, want: 0},
		} {
			m, err := Build(keycloakDiscovery(t, kcIssuer), Settings{Strategy: st, Capabilities: tc.caps, GrantTypes: bothGrants, OmitPermissionV1: tc.omit})
			if st == SMARTOnFHIRV1 && tc.omit {
				// its only permission version: Metadata without it advertises none
				require.ErrorIs(t, err, ErrSettings)
				continue
			}
			require.NoError(t, err)
			n := 0
			for _, c := range m.Capabilities {
				if c == CapPermissionV1 {
					n++
				}
			}
			assert.Equal(t, tc.want, n, "%s %v omit=%v: %v", st, tc.caps, tc.omit, m.Capabilities)
		}
	}
	_, err := Build(keycloakDiscovery(t, kcIssuer), Settings{Strategy: SMARTOnFHIR, Capabilities: []string{"permission-v1"}, GrantTypes: bothGrants,
		OmitPermissionV1: true})
	require.ErrorIs(t, err, ErrSettings)
}

func TestCognitoDiscovery(t *testing.T) {
	b, err := CognitoDiscovery("eu-west-1", "eu-west-1_Xy9", "https://login.example.org")
	require.NoError(t, err)
	var d discovery
	require.NoError(t, json.Unmarshal(b, &d))
	assert.Equal(t, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Xy9", d.Issuer)
	assert.Equal(t, d.Issuer+"/.well-known/jwks.json", d.JWKSURI)
	assert.Equal(t, "https://login.example.org/oauth2/authorize", d.AuthorizationEndpoint)
	assert.Equal(t, "https://login.example.org/oauth2/token", d.TokenEndpoint)
	assert.Empty(t, d.IntrospectionEndpoint)

	for _, tc := range []struct{ region, pool, domain string }{
		{"us-east-1", "us-west-2_Abc", "smart"},             // pool in another region
		{"us-east-1", "Abc", "smart"},                       // not <region>_<id>
		{"US-EAST-1", "US-EAST-1_Abc", "smart"},             // not a region
		{"us-east-1", "us-east-1_Abc", "Smart"},             // uppercase prefix
		{"us-east-1", "us-east-1_Abc", "-smart"},            // leading hyphen
		{"us-east-1", "us-east-1_Abc", ""},                  // empty
		{"us-east-1", "us-east-1_Abc", "http://auth.x.com"}, // not https
		{"us-east-1", "us-east-1_Abc", "https://auth.x.com/oauth2"},
		{"us-east-1", "us-east-1_Abc", "https://auth.x.com:8443"},
		{"us-east-1", "us-east-1_Abc", "https://u:p@auth.x.com"},
		{"us-east-1", "us-east-1_Abc", "https://auth.x.com?x=1"},
	} {
		_, err := CognitoDiscovery(tc.region, tc.pool, tc.domain)
		assert.ErrorIs(t, err, ErrSettings, "%+v", tc)
	}
}

func TestKeycloakDiscoveryURL(t *testing.T) {
	u, err := KeycloakDiscoveryURL("https://kc.example.com/", "fhir")
	require.NoError(t, err)
	assert.Equal(t, "https://kc.example.com/realms/fhir/.well-known/openid-configuration", u)
	for _, tc := range [][2]string{{"https://kc.example.com", ""}, {"https://kc.example.com", "a/b"}, {"kc.example.com", "fhir"}, {"https://kc.example.com?x", "fhir"}} {
		_, err := KeycloakDiscoveryURL(tc[0], tc[1])
		assert.ErrorIs(t, err, ErrSettings, "%v", tc)
	}
}
