package config_test

import (
	"crypto/elliptic"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/config"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const (
	role     = "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	endpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
)

func TestBuild(t *testing.T) {
	flagName := func(k string) string { return "--" + k }
	for _, tc := range []struct {
		name    string
		s       config.Settings
		issuers []string
		algs    []string // of the first issuer
		wantErr string
	}{
		{name: "generic", s: config.Settings{Provider: "generic", Issuer: "https://idp.example.com", JWKSURL: "https://idp.example.com/jwks"},
			issuers: []string{"https://idp.example.com"}},
		{name: "generic ES256 and PS256", s: config.Settings{Provider: "generic", Issuer: "https://idp.example.com",
			JWKSURL: "https://idp.example.com/jwks", Algorithms: []string{"ES256", "PS256"}},
			issuers: []string{"https://idp.example.com"}, algs: []string{"ES256", "PS256"}},
		{name: "keycloak algorithms", s: config.Settings{Provider: "keycloak", KeycloakURL: "https://kc.example.com", Realm: "fhir",
			Algorithms: []string{"ES256"}}, issuers: []string{"https://kc.example.com/realms/fhir"}, algs: []string{"ES256"}},
		{name: "keycloak from the issuer", s: config.Settings{Provider: "keycloak", Issuer: "https://kc.example.com/realms/fhir"},
			issuers: []string{"https://kc.example.com/realms/fhir"}},
		{name: "cognito", s: config.Settings{Provider: "cognito", Region: "us-east-1", UserPoolID: "us-east-1_Example",
			ClientIDs: []string{"app"}, MultiRegion: true, Endpoints: []string{endpoint}},
			issuers: []string{"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
				"https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"}, algs: []string{"RS256"}},
		{name: "generic without issuer", s: config.Settings{Provider: "generic", JWKSURL: "https://idp.example.com/jwks"}, wantErr: "--issuer is required"},
		{name: "generic without key set: no guessed JWKS URL", s: config.Settings{Provider: "generic", Issuer: "https://idp.example.com"},
			wantErr: "--jwks-url or --jwks-file"},
		{name: "two key sources", s: config.Settings{Provider: "generic", Issuer: "https://idp.example.com", JWKSURL: "https://x/jwks", JWKSFile: "k.json"},
			wantErr: "not both"},
		{name: "cognito with algorithms", s: config.Settings{Provider: "cognito", Region: "us-east-1", UserPoolID: "us-east-1_Example",
			ClientIDs: []string{"app"}, Algorithms: []string{"ES256"}}, wantErr: "--algorithm does not apply to cognito"},
		{name: "cognito with audiences", s: config.Settings{Provider: "cognito", Region: "us-east-1", UserPoolID: "us-east-1_Example",
			ClientIDs: []string{"app"}, Audiences: []string{"x"}}, wantErr: "--client-id"},
		{name: "cognito issuer and pool", s: config.Settings{Provider: "cognito", Issuer: "https://x", Region: "us-east-1",
			UserPoolID: "us-east-1_Example", ClientIDs: []string{"app"}}, wantErr: "not both"},
		{name: "cognito without clients", s: config.Settings{Provider: "cognito", Region: "us-east-1", UserPoolID: "us-east-1_Example"},
			wantErr: "client"},
		{name: "keycloak path prefix", s: config.Settings{Provider: "keycloak", KeycloakURL: "https://kc.example.com", Realm: "fhir", PathPrefix: "/auth"},
			issuers: []string{"https://kc.example.com/auth/realms/fhir"}},
		{name: "keycloak path prefix with issuer", s: config.Settings{Provider: "keycloak", Issuer: "https://kc.example.com/auth/realms/fhir", PathPrefix: "/auth"},
			wantErr: "--path-prefix needs --keycloak-url/--realm"},
		{name: "cognito multi-region with issuer", s: config.Settings{Provider: "cognito", Issuer: "https://cognito.local.test/local_abc",
			ClientIDs: []string{"app"}, MultiRegion: true}, wantErr: "--multi-region needs --region/--user-pool-id"},
		{name: "path prefix for cognito", s: config.Settings{Provider: "cognito", Region: "us-east-1", UserPoolID: "us-east-1_Example",
			ClientIDs: []string{"app"}, PathPrefix: "/auth"}, wantErr: "need --provider keycloak"},
		{name: "multi-region for keycloak", s: config.Settings{Provider: "keycloak", KeycloakURL: "https://kc.example.com", Realm: "fhir",
			MultiRegion: true}, wantErr: "need --provider cognito"},
		{name: "multi-region for generic", s: config.Settings{Provider: "generic", Issuer: "https://idp.example.com", JWKSURL: "https://idp.example.com/jwks",
			MultiRegion: true}, wantErr: "need --provider cognito or keycloak"},
		{name: "keycloak issuer not a realm URL", s: config.Settings{Provider: "keycloak", Issuer: "https://kc.example.com/fhir"},
			wantErr: "not a Keycloak realm URL"},
		{name: "keycloak with pool", s: config.Settings{Provider: "keycloak", KeycloakURL: "https://kc.example.com", Realm: "fhir",
			Region: "us-east-1"}, wantErr: "--provider cognito"},
		{name: "generic with realm", s: config.Settings{Provider: "generic", Issuer: "https://idp.example.com", Realm: "fhir"},
			wantErr: "--provider cognito or keycloak"},
		{name: "unknown provider", s: config.Settings{Provider: "okta"}, wantErr: `--provider "okta"`},
		{name: "no provider", s: config.Settings{}, wantErr: "--provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Name = flagName
			tc.s.RoleARN = role
			cfg, hl, err := tc.s.Build()
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
			if tc.algs != nil {
				assert.Equal(t, tc.algs, cfg.Issuers[0].Algorithms)
			}
			assert.Equal(t, role, hl.RoleARN)
			v, err := smartauth.NewValidator(cfg)
			require.NoError(t, err)
			_, err = healthlake.New(v, hl)
			require.NoError(t, err)
		})
	}
}

func TestBuildResponseAndPolicySettings(t *testing.T) {
	now := func() time.Time { return time.Unix(1700000000, 0) }
	s := config.Settings{Provider: "generic", Issuer: "http://127.0.0.1:8080", JWKSURL: "http://127.0.0.1:8080/jwks",
		Audiences: []string{"account"}, Endpoints: []string{endpoint}, RoleARN: role, V1Scopes: true, AuthorizedAsString: true,
		UIDClaim: "preferred_username", AnyResourceType: true, InsecureHTTP: true, JWKSTimeout: time.Second, Now: now}
	cfg, hl, err := s.Build()
	require.NoError(t, err)
	assert.Equal(t, healthlake.Config{RoleARN: role, ScopeFormat: healthlake.ScopesV1, AuthorizedAsString: true, UIDClaim: "preferred_username"}, hl)
	assert.True(t, cfg.InsecureAllowHTTPIssuers)
	assert.True(t, cfg.AnyResourceType)
	assert.Equal(t, []string{endpoint}, cfg.Endpoints)
	assert.Equal(t, now(), cfg.Now())
	require.IsType(t, &smartauth.RemoteKeySet{}, cfg.Issuers[0].KeySet)

	v, a, err := s.New()
	require.NoError(t, err)
	assert.NotNil(t, v)
	assert.NotNil(t, a)

	s.RoleARN = ""
	_, _, err = s.New()
	require.ErrorIs(t, err, smartauth.ErrConfig, "no role ARN: fails closed")
}

// TestBuildGenericClients: the generic --client-id list is part of the
// audience policy (one sentinel, ErrClientID), and the policy still binds
// the event's endpoint (no Endpoints needed).
func TestBuildGenericClients(t *testing.T) {
	s := config.Settings{Provider: "generic", Issuer: "https://idp.example.com", JWKSURL: "https://idp.example.com/jwks",
		ClientIDs: []string{"app"}, RoleARN: role}
	cfg, _, err := s.Build()
	require.NoError(t, err)
	_, err = smartauth.NewValidator(cfg)
	require.NoError(t, err, "endpoint binding kept")
	aud := cfg.Issuers[0].Audience
	for _, tc := range []struct {
		name   string
		claims smartauth.Claims
		reason string
	}{
		{"listed client_id", smartauth.Claims{Audience: []string{endpoint}, ClientID: "app"}, "ok"},
		{"listed azp", smartauth.Claims{Audience: []string{endpoint}, AuthorizedParty: "app"}, "ok"},
		{"unlisted azp", smartauth.Claims{Audience: []string{endpoint}, ClientID: "app", AuthorizedParty: "evil"}, "client_id"},
		{"no client claim", smartauth.Claims{Audience: []string{endpoint}}, "client_id"},
		{"other data store", smartauth.Claims{Audience: []string{"https://other"}, ClientID: "app"}, "aud"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := aud.CheckAudience(&tc.claims, endpoint)
			assert.Equal(t, tc.reason, smartauth.Reason(err))
			assert.NotErrorIs(t, err, smartauth.ErrCustomCheck)
		})
	}
}

func TestList(t *testing.T) {
	assert.Equal(t, []string{"a", "b"}, config.List(" a, ,b,"))
	assert.Nil(t, config.List(""))
}

// TestBuildJWKSFile: --jwks-file loads a static key set, and a missing,
// oversized or keyless file is a configuration error.
func TestBuildJWKSFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	good := write("jwks.json", testjwt.JWKS(t, testjwt.PublicJWK{Kid: "ec", Alg: jwa.ES256(), Key: testjwt.NewECKey(elliptic.P256())}))
	build := func(path string) (smartauth.Config, error) {
		s := config.Settings{Provider: "generic", Issuer: "https://idp.example.com", JWKSFile: path, Algorithms: []string{"ES256"},
			RoleARN: role, Name: func(k string) string { return "--" + k }}
		cfg, _, err := s.Build()
		return cfg, err
	}
	cfg, err := build(good)
	require.NoError(t, err)
	k, err := cfg.Issuers[0].KeySet.Key(t.Context(), "ec")
	require.NoError(t, err)
	assert.Equal(t, "ES256", k.Algorithm)

	for name, path := range map[string]string{
		"missing":       filepath.Join(dir, "missing.json"),
		"oversized":     write("huge.json", make([]byte, 1<<20+1)),
		"no usable key": write("empty.json", []byte(`{"keys":[]}`)),
	} {
		_, err := build(path)
		assert.ErrorIs(t, err, smartauth.ErrConfig, name)
	}
}
