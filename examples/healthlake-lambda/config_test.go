package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	tests := []struct {
		name    string
		env     map[string]string
		issuers []string
		wantErr string
	}{
		{name: "cognito", env: map[string]string{"SMARTAUTH_PROVIDER": "cognito", "SERVICE_ROLE_ARN": role,
			"COGNITO_REGION": "us-east-1", "COGNITO_USER_POOL_ID": "us-east-1_Example", "COGNITO_CLIENT_IDS": "abc, def",
			"DATASTORE_ENDPOINTS": "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"},
			issuers: []string{"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"}},
		{name: "cognito multi-region", env: map[string]string{"SMARTAUTH_PROVIDER": "cognito", "SERVICE_ROLE_ARN": role,
			"COGNITO_REGION": "eu-west-1", "COGNITO_USER_POOL_ID": "eu-west-1_Example", "COGNITO_CLIENT_IDS": "abc",
			"COGNITO_MULTI_REGION": "true", "DATASTORE_ENDPOINTS": "https://healthlake.eu-west-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"},
			issuers: []string{"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
				"https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"}},
		{name: "keycloak", env: map[string]string{"SMARTAUTH_PROVIDER": "keycloak", "SERVICE_ROLE_ARN": role,
			"KEYCLOAK_URL": "https://kc.example.com", "KEYCLOAK_REALM": "fhir", "SCOPE_FORMAT": "v1"},
			issuers: []string{"https://kc.example.com/realms/fhir"}},
		{name: "generic", env: map[string]string{"SMARTAUTH_PROVIDER": "generic", "SERVICE_ROLE_ARN": role,
			"ISSUER": "https://idp.example.com", "JWKS_URL": "https://idp.example.com/jwks"},
			issuers: []string{"https://idp.example.com"}},
		{name: "cognito without clients", env: map[string]string{"SMARTAUTH_PROVIDER": "cognito", "SERVICE_ROLE_ARN": role,
			"COGNITO_REGION": "us-east-1", "COGNITO_USER_POOL_ID": "us-east-1_Example"}, wantErr: "client"},
		{name: "unknown provider", env: map[string]string{"SMARTAUTH_PROVIDER": "okta"}, wantErr: "SMARTAUTH_PROVIDER"},
		{name: "bad scope format", env: map[string]string{"SMARTAUTH_PROVIDER": "generic", "SCOPE_FORMAT": "v3"}, wantErr: "SCOPE_FORMAT"},
		{name: "timeout over budget", env: map[string]string{"SMARTAUTH_PROVIDER": "generic", "JWKS_TIMEOUT": "2s"}, wantErr: "JWKS_TIMEOUT"},
		{name: "generic without JWKS", env: map[string]string{"SMARTAUTH_PROVIDER": "generic", "ISSUER": "https://x"}, wantErr: "JWKS_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, hl, err := configFromEnv(env(tc.env))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, ic := range cfg.Issuers {
				got = append(got, ic.Issuer)
			}
			assert.Equal(t, tc.issuers, got)
			v, err := smartauth.NewValidator(cfg)
			require.NoError(t, err, "the environment must yield a valid validator configuration")
			_, err = healthlake.New(v, hl)
			require.NoError(t, err, "the environment must yield valid response settings")
		})
	}
}

func TestConfigFromEnvCognitoNeedsEndpoints(t *testing.T) {
	cfg, _, err := configFromEnv(env(map[string]string{"SMARTAUTH_PROVIDER": "cognito", "SERVICE_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
		"COGNITO_REGION": "us-east-1", "COGNITO_USER_POOL_ID": "us-east-1_Example", "COGNITO_CLIENT_IDS": "abc"}))
	require.NoError(t, err)
	_, err = smartauth.NewValidator(cfg)
	require.ErrorIs(t, err, smartauth.ErrConfig, "Cognito tokens carry no aud: the data store must be pinned")
	assert.Contains(t, err.Error(), "Endpoints")
}

func TestConfigFromEnvMissingRole(t *testing.T) {
	cfg, hl, err := configFromEnv(env(map[string]string{"SMARTAUTH_PROVIDER": "generic",
		"ISSUER": "https://idp.example.com", "JWKS_URL": "https://idp.example.com/jwks"}))
	require.NoError(t, err)
	v, err := smartauth.NewValidator(cfg)
	require.NoError(t, err)
	_, err = healthlake.New(v, hl)
	require.ErrorIs(t, err, smartauth.ErrConfig, "a missing SERVICE_ROLE_ARN must fail closed")
}

// TestConfigFromEnvInsecureHTTP: the test-only SMARTAUTH_INSECURE_HTTP switch (used by the
// aws-lambda-rie integration test against a local http:// Keycloak) is off unless exactly "true".
func TestConfigFromEnvInsecureHTTP(t *testing.T) {
	base := map[string]string{"SMARTAUTH_PROVIDER": "keycloak", "SERVICE_ROLE_ARN": "arn:aws:iam::123456789012:role/stack-healthlake-smart",
		"KEYCLOAK_URL": "http://127.0.0.1:8080", "KEYCLOAK_REALM": "fhir"}
	for _, v := range []string{"", "1", "yes", "TRUE"} {
		m := map[string]string{"SMARTAUTH_INSECURE_HTTP": v}
		for k, val := range base {
			m[k] = val
		}
		_, _, err := configFromEnv(env(m))
		require.Error(t, err, "SMARTAUTH_INSECURE_HTTP=%q must not allow http://", v)
		assert.Contains(t, err.Error(), "https")
	}
	m := map[string]string{"SMARTAUTH_INSECURE_HTTP": "true"}
	for k, val := range base {
		m[k] = val
	}
	cfg, _, err := configFromEnv(env(m))
	require.NoError(t, err)
	assert.True(t, cfg.InsecureAllowHTTPIssuers)
	require.Len(t, cfg.Issuers, 1)
	assert.Equal(t, "http://127.0.0.1:8080/realms/fhir", cfg.Issuers[0].Issuer)
	_, err = smartauth.NewValidator(cfg)
	require.NoError(t, err)

	// An https deployment is unaffected by the switch being absent.
	cfg, _, err = configFromEnv(env(map[string]string{"SMARTAUTH_PROVIDER": "keycloak", "SERVICE_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
		"KEYCLOAK_URL": "https://kc.example.com", "KEYCLOAK_REALM": "fhir"}))
	require.NoError(t, err)
	assert.False(t, cfg.InsecureAllowHTTPIssuers)
}

// TestConfigFromEnvAlgorithms: ALGORITHMS sets the JWS allow-list (an ES256
// or PS256 issuer); Cognito issuers stay pinned to RS256.
func TestConfigFromEnvAlgorithms(t *testing.T) {
	cfg, _, err := configFromEnv(env(map[string]string{"SMARTAUTH_PROVIDER": "generic", "SERVICE_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
		"ISSUER": "https://idp.example.com", "JWKS_URL": "https://idp.example.com/jwks", "ALGORITHMS": "ES256, PS256", "CLIENT_IDS": "app"}))
	require.NoError(t, err)
	require.Len(t, cfg.Issuers, 1)
	assert.Equal(t, []string{"ES256", "PS256"}, cfg.Issuers[0].Algorithms)
	err = cfg.Issuers[0].Audience.CheckAudience(&smartauth.Claims{Audience: []string{"https://hl.example/datastore/1/r4/"}, ClientID: "other"}, "https://hl.example/datastore/1/r4/")
	require.ErrorIs(t, err, smartauth.ErrClientID, "CLIENT_IDS is the generic client allow-list")

	_, _, err = configFromEnv(env(map[string]string{"SMARTAUTH_PROVIDER": "cognito", "COGNITO_REGION": "us-east-1",
		"COGNITO_USER_POOL_ID": "us-east-1_Example", "COGNITO_CLIENT_IDS": "abc", "ALGORITHMS": "ES256"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ALGORITHMS does not apply to cognito")
}
