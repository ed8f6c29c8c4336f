package cognito_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt/hltest"
	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const (
	region     = "us-east-1"
	poolID     = "us-east-1_Example"
	issuer     = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	mrIssuer   = "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	appClient  = "1example23456789abcdefghij" // client_id of access-token*.json
	m2mClient  = "7m2mclient0example0abcdefg" // client_id of client-credentials.json
	rsPrefix   = "https://fhir.example.com"   // resource-server identifier
	endpoint   = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	roleARN    = "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	rsaKid     = "cognito-rs256-1"
	ecKid      = "cognito-es256-1"
	fixtureIat = 1700000000 // iat of every fixture
)

// now is the fake clock: one minute after the fixtures were issued.
var now = time.Unix(fixtureIat+60, 0)

// testKeys are generated once per test binary (RSA generation is slow under
// -race) and never leave the process.
type keys struct {
	rsa      *rsa.PrivateKey
	rsaOther *rsa.PrivateKey
	ec       *ecdsa.PrivateKey
}

var testKeys = sync.OnceValue(func() keys {
	var k keys
	k.rsa, k.rsaOther, k.ec = testjwt.RSAKey(), testjwt.NewRSAKey(), testjwt.NewECKey(elliptic.P256())
	return k
})

// staticKeys is the pool's key set: the RS256 signing key and an ES256 key
// (which an RS256-only pool configuration must never use).
func staticKeys(t testing.TB) *smartauth.StaticKeySet {
	t.Helper()
	k := testKeys()
	ks, err := smartauth.NewStaticKeySetFromKeys(
		&smartauth.Key{ID: rsaKid, Algorithm: "RS256", Public: &k.rsa.PublicKey},
		&smartauth.Key{ID: ecKid, Algorithm: "ES256", Public: &k.ec.PublicKey},
	)
	require.NoError(t, err)
	return ks
}

// fixture loads a Cognito token payload from testdata, keeping numbers as
// json.Number so they are re-encoded byte for byte.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	return testjwt.Claims(t, filepath.Join("testdata", name))
}

// with returns a copy of claims with the given members set (nil deletes).
func with(claims map[string]any, set map[string]any) map[string]any {
	return testjwt.With(claims, set)
}

// sign returns a compact JWS over claims with a Cognito-style header
// ({"alg":…,"kid":…}, no typ).
func sign(t testing.TB, priv crypto.Signer, alg jwa.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	return testjwt.Sign(t, priv, alg, kid, "", claims)
}

func signRS256(t testing.TB, claims map[string]any) string {
	t.Helper()
	return sign(t, testKeys().rsa, jwa.RS256(), rsaKid, claims)
}

// newValidator builds a validator over the issuer configurations of cfg,
// with the static key set unless cfg brings its own.
func newValidator(t testing.TB, cfg cognito.Config) *smartauth.Validator {
	t.Helper()
	if cfg.KeySet == nil && cfg.Issuer == "" {
		cfg.KeySet = staticKeys(t)
	}
	if cfg.Region == "" && cfg.Issuer == "" {
		cfg.Region, cfg.UserPoolID = region, poolID
	}
	ics, err := cognito.New(cfg)
	require.NoError(t, err)
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: ics,
		Now:     func() time.Time { return now },
		// Cognito access tokens carry no aud: pin the data store.
		Endpoints: []string{endpoint},
	})
	require.NoError(t, err)
	return v
}

// authorize runs the HealthLake mapping and returns the decision and the
// response JSON.
func authorize(t testing.TB, v *smartauth.Validator, token string) (healthlake.Decision, string) {
	t.Helper()
	return hltest.Authorize(t, v, roleARN, endpoint, "SearchWithGet", token)
}

func TestIssuerURLs(t *testing.T) {
	tests := []struct {
		region, pool string
		issuer, mr   string
		jwks         string
	}{
		{
			region: "us-east-1", pool: "us-east-1_Example",
			issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
			mr:     "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
			jwks:   "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example/.well-known/jwks.json",
		},
		{
			region: "eu-central-1", pool: "eu-central-1_AbC123xyz",
			issuer: "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC123xyz",
			mr:     "https://issuer-cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC123xyz",
			jwks:   "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC123xyz/.well-known/jwks.json",
		},
		{
			region: "us-gov-west-1", pool: "us-gov-west-1_0a1B2c3D4",
			issuer: "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_0a1B2c3D4",
			mr:     "https://issuer-cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_0a1B2c3D4",
			jwks:   "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_0a1B2c3D4/.well-known/jwks.json",
		},
	}
	for _, tc := range tests {
		t.Run(tc.pool, func(t *testing.T) {
			iss, err := cognito.IssuerURL(tc.region, tc.pool)
			require.NoError(t, err)
			assert.Equal(t, tc.issuer, iss)
			mr, err := cognito.MultiRegionIssuerURL(tc.region, tc.pool)
			require.NoError(t, err)
			assert.Equal(t, tc.mr, mr)
			assert.Equal(t, tc.jwks, cognito.JWKSURL(iss))
			assert.Equal(t, tc.jwks, cognito.JWKSURL(iss+"/"), "one trailing slash is ignored")
			assert.Equal(t, strings.Replace(tc.jwks, "https://", "https://issuer-", 1), cognito.JWKSURL(mr))
		})
	}
}

func TestConfigErrors(t *testing.T) {
	base := cognito.Config{Region: region, UserPoolID: poolID, ClientIDs: []string{appClient}}
	tests := []struct {
		name string
		edit func(*cognito.Config)
	}{
		{"pool in another region", func(c *cognito.Config) { c.UserPoolID = "eu-west-1_Example" }},
		{"region differs from the pool's region", func(c *cognito.Config) { c.Region = "us-gov-west-1" }},
		{"pool without id part", func(c *cognito.Config) { c.UserPoolID = "us-east-1_" }},
		{"pool without region", func(c *cognito.Config) { c.UserPoolID = "Example" }},
		{"pool with dash in id", func(c *cognito.Config) { c.UserPoolID = "us-east-1_Ex-ample" }},
		{"pool with path", func(c *cognito.Config) { c.UserPoolID = "us-east-1_Example/../x" }},
		{"pool upper-case region", func(c *cognito.Config) { c.Region, c.UserPoolID = "US-EAST-1", "US-EAST-1_Example" }},
		{"empty pool", func(c *cognito.Config) { c.UserPoolID = "" }},
		{"empty region", func(c *cognito.Config) { c.Region = "" }},
		{"region not a region", func(c *cognito.Config) { c.Region, c.UserPoolID = "useast1", "useast1_Example" }},
		{"region host injection", func(c *cognito.Config) {
			c.Region, c.UserPoolID = "evil.example.com/us-east-1", "us-east-1_Example"
		}},
		{"no client IDs", func(c *cognito.Config) { c.ClientIDs = nil }},
		{"empty client ID list", func(c *cognito.Config) { c.ClientIDs = []string{} }},
		{"empty client ID in list", func(c *cognito.Config) { c.ClientIDs = []string{appClient, ""} }},
		{"issuer override not absolute", func(c *cognito.Config) { c.Issuer = "/us-east-1_Example" }},
		{"issuer override not a URL", func(c *cognito.Config) { c.Issuer = "http://[::1" }},
		{"multi-region with an issuer override (would be ignored)", func(c *cognito.Config) {
			c.Issuer, c.MultiRegionIssuer = "https://cognito.local.test/local_abc", true
		}},
		{"remote key set option invalid", func(c *cognito.Config) {
			c.KeySetOptions = smartauth.RemoteOptions{RequestTimeout: -time.Second}
		}},
		{"issuer override over plain http without InsecureHTTP", func(c *cognito.Config) {
			c.Issuer = "http://127.0.0.1:9229/local_abc"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.ClientIDs = append([]string(nil), base.ClientIDs...)
			tc.edit(&cfg)
			ics, err := cognito.New(cfg)
			require.ErrorIs(t, err, cognito.ErrConfig)
			assert.Nil(t, ics)
		})
	}

	t.Run("IssuerURL and MultiRegionIssuerURL share the checks", func(t *testing.T) {
		_, err := cognito.IssuerURL("us-east-1", "eu-west-1_Example")
		require.ErrorIs(t, err, cognito.ErrConfig)
		_, err = cognito.MultiRegionIssuerURL("us-east-1", "eu-west-1_Example")
		require.ErrorIs(t, err, cognito.ErrConfig)
	})
}

func TestNewIssuerConfigs(t *testing.T) {
	ks := staticKeys(t)
	tests := []struct {
		name    string
		cfg     cognito.Config
		issuers []string
	}{
		{
			name:    "single-region issuer",
			cfg:     cognito.Config{Region: region, UserPoolID: poolID, ClientIDs: []string{appClient}, KeySet: ks},
			issuers: []string{issuer},
		},
		{
			name: "multi-region issuer adds the second format",
			cfg: cognito.Config{Region: region, UserPoolID: poolID, ClientIDs: []string{appClient}, KeySet: ks,
				MultiRegionIssuer: true},
			issuers: []string{issuer, mrIssuer},
		},
		{
			name: "issuer override (emulator) without region, trailing slash trimmed",
			cfg: cognito.Config{Issuer: "https://cognito.local.test/local_abc/", ClientIDs: []string{appClient},
				KeySet: ks},
			issuers: []string{"https://cognito.local.test/local_abc"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ics, err := cognito.New(tc.cfg)
			require.NoError(t, err)
			got := make([]string, 0, len(ics))
			for _, ic := range ics {
				got = append(got, ic.Issuer)
				assert.Equal(t, []string{"RS256"}, ic.Algorithms, "Cognito signs with RS256 only")
				assert.NotNil(t, ic.Audience)
				assert.NotNil(t, ic.TokenKind)
				assert.Nil(t, ic.ExtraScopes, "no group mapping configured")
			}
			if diff := cmp.Diff(tc.issuers, got); diff != "" {
				t.Errorf("issuers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMultiRegionIssuer(t *testing.T) {
	classic := signRS256(t, fixture(t, "access-token.json"))
	multi := signRS256(t, with(fixture(t, "access-token.json"), map[string]any{"iss": mrIssuer}))

	t.Run("both formats accepted with MultiRegionIssuer", func(t *testing.T) {
		v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}, MultiRegionIssuer: true})
		for _, tok := range []string{classic, multi} {
			d, _ := authorize(t, v, tok)
			require.NoError(t, d.Err)
			assert.True(t, d.Allowed)
		}
		tok, err := v.Validate(context.Background(), multi, endpoint)
		require.NoError(t, err)
		assert.Equal(t, mrIssuer, tok.Issuer)
	})

	t.Run("second format is an unknown issuer without it", func(t *testing.T) {
		v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}})
		_, err := v.Validate(context.Background(), classic, endpoint)
		require.NoError(t, err)
		_, err = v.Validate(context.Background(), multi, endpoint)
		require.ErrorIs(t, err, smartauth.ErrUnknownIssuer)
	})

	t.Run("another pool of the same region is an unknown issuer", func(t *testing.T) {
		v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}, MultiRegionIssuer: true})
		other := signRS256(t, with(fixture(t, "access-token.json"),
			map[string]any{"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}))
		_, err := v.Validate(context.Background(), other, endpoint)
		require.ErrorIs(t, err, smartauth.ErrUnknownIssuer)
	})
}

func TestAccessTokenRules(t *testing.T) {
	access := fixture(t, "access-token.json")
	k := testKeys()
	tests := []struct {
		name    string
		clients []string
		token   func(t testing.TB) string
		wantErr error // nil: allowed
	}{
		{
			name:    "access token of an allowed client, no aud claim",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return signRS256(t, access) },
		},
		{
			name:    "second client of the allow-list",
			clients: []string{"0other0client0id000000000", appClient},
			token:   func(t testing.TB) string { return signRS256(t, access) },
		},
		{
			name:    "aud is not consulted",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"aud": "https://somewhere.else.example/"}))
			},
		},
		{
			name:    "real ID token",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return signRS256(t, fixture(t, "id-token.json")) },
			wantErr: smartauth.ErrTokenUse,
		},
		{
			name:    "access token relabelled token_use id",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return signRS256(t, with(access, map[string]any{"token_use": "id"})) },
			wantErr: smartauth.ErrTokenUse,
		},
		{
			name:    "token_use missing",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return signRS256(t, with(access, map[string]any{"token_use": nil})) },
			wantErr: smartauth.ErrTokenUse,
		},
		{
			name:    "token_use Access (case differs)",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"token_use": "Access"}))
			},
			wantErr: smartauth.ErrTokenUse,
		},
		{
			name:    "client_id missing",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return signRS256(t, with(access, map[string]any{"client_id": nil})) },
			wantErr: smartauth.ErrClientID,
		},
		{
			name:    "client_id of another app client",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"client_id": "0other0client0id000000000"}))
			},
			wantErr: smartauth.ErrClientID,
		},
		{
			name:    "allowed client only in aud",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"client_id": nil, "aud": appClient}))
			},
			wantErr: smartauth.ErrClientID,
		},
		{
			name:    "ES256 token signed with a key the key set holds",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return sign(t, k.ec, jwa.ES256(), ecKid, access) },
			wantErr: smartauth.ErrAlgorithm,
		},
		{
			name:    "PS256 token with the RSA kid",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return sign(t, k.rsa, jwa.PS256(), rsaKid, access) },
			wantErr: smartauth.ErrAlgorithm,
		},
		{
			name:    "RS256 signed by another key under the pool's kid",
			clients: []string{appClient},
			token:   func(t testing.TB) string { return sign(t, k.rsaOther, jwa.RS256(), rsaKid, access) },
			wantErr: smartauth.ErrSignature,
		},
		{
			name:    "access token naming its client only in azp (no client_id): refused",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"client_id": nil, "azp": appClient}))
			},
			wantErr: smartauth.ErrClientID,
		},
		{
			name:    "listed client_id, unlisted azp: refused",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"azp": "third-party"}))
			},
			wantErr: smartauth.ErrClientID,
		},
		{
			name:    "listed client_id, same azp: allowed",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"azp": appClient}))
			},
		},
		{
			name:    "expired",
			clients: []string{appClient},
			token: func(t testing.TB) string {
				return signRS256(t, with(access, map[string]any{"exp": fixtureIat + 30}))
			},
			wantErr: smartauth.ErrExpired,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, cognito.Config{ClientIDs: tc.clients})
			tok, err := v.Validate(context.Background(), tc.token(t), endpoint)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, appClient, tok.Claims.ClientID)
				assert.Equal(t, "RS256", tok.Algorithm)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			assert.Nil(t, tok)
		})
	}
}

func TestAllowedResponse(t *testing.T) {
	v := newValidator(t, cognito.Config{ClientIDs: []string{appClient, m2mClient}})

	t.Run("user access token", func(t *testing.T) {
		d, out := authorize(t, v, signRS256(t, fixture(t, "access-token.json")))
		require.NoError(t, d.Err)
		assert.JSONEq(t, `{
			"authPayload": {
				"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
				"aud": "`+endpoint+`",
				"iat": 1700000000, "nbf": 1700000000, "exp": 1700003600,
				"isAuthorized": true,
				"uid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
				"scope": "openid launch/patient patient/*.read",
				"fhirUser": "Practitioner/123", "patient": "456"
			},
			"iamRoleARN": "`+roleARN+`"
		}`, out)
		assert.Equal(t, appClient, d.ClientID)
	})

	t.Run("client-credentials token: sub is the client, no username", func(t *testing.T) {
		claims := fixture(t, "client-credentials.json")
		require.Equal(t, claims["sub"], claims["client_id"], "fixture shape")
		require.NotContains(t, claims, "username")
		d, out := authorize(t, v, signRS256(t, claims))
		require.NoError(t, d.Err)
		assert.JSONEq(t, `{
			"authPayload": {
				"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
				"aud": "`+endpoint+`",
				"iat": 1700000000, "nbf": 1700000000, "exp": 1700003600,
				"isAuthorized": true,
				"uid": "`+m2mClient+`",
				"scope": "system/*.rs"
			},
			"iamRoleARN": "`+roleARN+`"
		}`, out)
		assert.Equal(t, m2mClient, d.ClientID)
		assert.Equal(t, m2mClient, d.Subject)
	})

	t.Run("client-credentials token of a client not on the list", func(t *testing.T) {
		v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}})
		d, out := authorize(t, v, signRS256(t, fixture(t, "client-credentials.json")))
		require.ErrorIs(t, d.Err, smartauth.ErrClientID)
		assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, out)
	})
}

// fields splits a scope string for order-insensitive membership checks.
func fields(scope string) []string { return strings.Fields(scope) }

func TestScopePrefixes(t *testing.T) {
	rsToken := fixture(t, "access-token-resource-server.json")
	tests := []struct {
		name      string
		prefixes  []string
		scope     string // replaces the fixture's scope; "" keeps it
		wantScope string // response scope; "" means deny with ErrScope
	}{
		{
			name:      "resource-server prefix stripped, Cognito admin scope dropped",
			prefixes:  []string{rsPrefix},
			wantScope: "openid launch/patient patient/*.read",
		},
		{
			name:      "prefix configured with trailing slash",
			prefixes:  []string{rsPrefix + "/"},
			wantScope: "openid launch/patient patient/*.read",
		},
		{
			name:      "scopes without the prefix are kept as they are",
			prefixes:  []string{rsPrefix},
			scope:     "launch/patient patient/Observation.rs https://fhir.example.com/user/*.read",
			wantScope: "launch/patient patient/Observation.rs user/*.read",
		},
		{
			name:      "second configured prefix",
			prefixes:  []string{"https://other.example.org", rsPrefix},
			scope:     "https://other.example.org/system/*.read https://fhir.example.com/patient/*.read",
			wantScope: "system/*.read patient/*.read",
		},
		{
			name:      "prefixed and plain duplicate collapse",
			prefixes:  []string{rsPrefix},
			scope:     "patient/*.read https://fhir.example.com/patient/*.read",
			wantScope: "patient/*.read",
		},
		{
			name:      "only the Cognito admin scope",
			prefixes:  []string{rsPrefix},
			scope:     "aws.cognito.signin.user.admin",
			wantScope: "",
		},
		{
			name:      "look-alike prefix is not stripped: no resource scope",
			prefixes:  []string{rsPrefix},
			scope:     "openid https://fhir.example.com.evil/patient/*.read",
			wantScope: "",
		},
		{
			name:      "prefix without its slash is not stripped",
			prefixes:  []string{rsPrefix},
			scope:     "https://fhir.example.compatient/*.read",
			wantScope: "",
		},
		{
			name:      "prefixed scope without any configured prefix is not a SMART resource scope",
			prefixes:  nil,
			scope:     "https://fhir.example.com/patient/*.read",
			wantScope: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}, ScopePrefixes: tc.prefixes})
			claims := rsToken
			if tc.scope != "" {
				claims = with(rsToken, map[string]any{"scope": tc.scope})
			}
			d, out := authorize(t, v, signRS256(t, claims))
			if tc.wantScope == "" {
				require.ErrorIs(t, d.Err, smartauth.ErrScope)
				assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, out)
				return
			}
			require.NoError(t, d.Err)
			assert.Equal(t, tc.wantScope, d.Response.AuthPayload.Scope)
			assert.NotContains(t, fields(d.Response.AuthPayload.Scope), "aws.cognito.signin.user.admin")
		})
	}

	t.Run("look-alike next to a real prefixed scope is dropped", func(t *testing.T) {
		v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}, ScopePrefixes: []string{rsPrefix}})
		claims := with(rsToken, map[string]any{
			"scope": "https://fhir.example.com.evil/patient/*.read https://fhir.example.com/user/Observation.read",
		})
		tok, err := v.Validate(context.Background(), signRS256(t, claims), endpoint)
		require.NoError(t, err)
		var resource []string
		for _, s := range tok.Scopes {
			if s.IsResource() {
				resource = append(resource, s.String())
			}
		}
		if diff := cmp.Diff([]string{"user/Observation.read"}, resource); diff != "" {
			t.Errorf("resource scopes (-want +got):\n%s", diff)
		}
		assert.Equal(t, 1, tok.DroppedScopes, "the look-alike is dropped, not kept as an extension scope")
		d, _ := authorize(t, v, signRS256(t, claims))
		require.NoError(t, d.Err)
		assert.Equal(t, "user/Observation.read", d.Response.AuthPayload.Scope)
	})
}

func TestGroupScopes(t *testing.T) {
	access := fixture(t, "access-token.json") // cognito:groups ["practitioners"]
	table := map[string][]string{
		"practitioners": {"user/*.read", "patient/*.read"},
		"auditors":      {"system/AuditEvent.rs"},
		"broken":        {"not a scope", "patient/NoSuchType.read", "user/Patient.rs"},
	}
	tests := []struct {
		name      string
		table     map[string][]string
		groups    any // cognito:groups; nil deletes it
		scope     string
		wantScope string // "" means deny with ErrScope
	}{
		{
			name:      "group adds scopes after the token's own, without duplicates",
			table:     table,
			groups:    []string{"practitioners"},
			scope:     "openid launch/patient patient/*.read",
			wantScope: "openid launch/patient patient/*.read user/*.read",
		},
		{
			name:      "unknown groups are ignored",
			table:     table,
			groups:    []string{"nurses", "auditors", "admins"},
			scope:     "openid",
			wantScope: "openid system/AuditEvent.rs",
		},
		{
			name:      "groups in token order",
			table:     table,
			groups:    []string{"auditors", "practitioners"},
			scope:     "openid",
			wantScope: "openid system/AuditEvent.rs user/*.read patient/*.read",
		},
		{
			name:      "invalid mapped scopes are dropped, valid ones kept",
			table:     table,
			groups:    []string{"broken"},
			scope:     "openid",
			wantScope: "openid user/Patient.rs",
		},
		{
			name:      "no groups claim: only the token's scopes",
			table:     table,
			groups:    nil,
			scope:     "openid fhirUser",
			wantScope: "",
		},
		{
			name:      "only unknown groups and no resource scope",
			table:     table,
			groups:    []string{"nurses"},
			scope:     "openid",
			wantScope: "",
		},
		{
			name:      "mapping off when the table is nil",
			table:     nil,
			groups:    []string{"practitioners"},
			scope:     "openid",
			wantScope: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}, GroupScopes: tc.table, GroupScopeClients: []string{appClient}})
			claims := with(access, map[string]any{"cognito:groups": tc.groups, "scope": tc.scope})
			d, out := authorize(t, v, signRS256(t, claims))
			if tc.wantScope == "" {
				require.ErrorIs(t, d.Err, smartauth.ErrScope)
				assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, out)
				return
			}
			require.NoError(t, d.Err)
			assert.Equal(t, tc.wantScope, d.Response.AuthPayload.Scope)
		})
	}

	t.Run("later changes to the caller's table have no effect", func(t *testing.T) {
		tbl := map[string][]string{"practitioners": {"user/*.read"}}
		v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}, GroupScopes: tbl, GroupScopeClients: []string{appClient}})
		tbl["practitioners"][0] = "system/*.*"
		tbl["practitioners"] = append(tbl["practitioners"], "system/*.*")
		d, _ := authorize(t, v, signRS256(t, with(access, map[string]any{"scope": "openid"})))
		require.NoError(t, d.Err)
		assert.Equal(t, "openid user/*.read", d.Response.AuthPayload.Scope)
	})
}

func TestCustomCheck(t *testing.T) {
	errNoFHIRUser := errorString("fhirUser required")
	v := newValidator(t, cognito.Config{ClientIDs: []string{appClient}, Check: func(c *smartauth.Claims) error {
		if c.FHIRUser == "" {
			return errNoFHIRUser
		}
		return nil
	}})
	access := fixture(t, "access-token.json")
	_, err := v.Validate(context.Background(), signRS256(t, access), endpoint)
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), signRS256(t, with(access, map[string]any{"fhirUser": nil})), endpoint)
	require.ErrorIs(t, err, smartauth.ErrCustomCheck)
	require.ErrorIs(t, err, errNoFHIRUser)
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestRemoteKeySetDefault proves that cognito.New without KeySet builds a
// remote key set for <issuer>/.well-known/jwks.json with the given options.
func TestRemoteKeySetDefault(t *testing.T) {
	const path = "/us-east-1_Test/.well-known/jwks.json"
	pub, err := jwk.Import(&testKeys().rsa.PublicKey)
	require.NoError(t, err)
	require.NoError(t, pub.Set(jwk.KeyIDKey, rsaKid))
	require.NoError(t, pub.Set(jwk.AlgorithmKey, jwa.RS256()))
	require.NoError(t, pub.Set(jwk.KeyUsageKey, "sig"))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	jwksJSON, err := json.Marshal(set)
	require.NoError(t, err)

	var hits, otherHits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path || r.Method != http.MethodGet {
			otherHits.Add(1)
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwksJSON)
	}))
	t.Cleanup(srv.Close)

	iss := srv.URL + "/us-east-1_Test"
	ics, err := cognito.New(cognito.Config{
		Issuer:        iss,
		ClientIDs:     []string{appClient},
		KeySetOptions: smartauth.RemoteOptions{HTTPClient: srv.Client()},
	})
	require.NoError(t, err)
	require.Len(t, ics, 1)
	require.IsType(t, &smartauth.RemoteKeySet{}, ics[0].KeySet)
	assert.Equal(t, iss, ics[0].Issuer)

	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: ics, Now: func() time.Time { return now }, Endpoints: []string{endpoint},
	})
	require.NoError(t, err)
	assert.Zero(t, hits.Load(), "construction performs no I/O")

	claims := with(fixture(t, "access-token.json"), map[string]any{"iss": iss})
	tok := signRS256(t, claims)
	for range 3 {
		d, _ := authorize(t, v, tok)
		require.NoError(t, d.Err)
		assert.True(t, d.Allowed)
	}
	assert.Equal(t, int32(1), hits.Load(), "one fetch of "+path+", then cached")
	assert.Zero(t, otherHits.Load(), "no request to any other path")
}

// Group scopes reach only the listed app clients: the same user signing in
// to another allowed client (a third-party patient app) gets none.
func TestGroupScopesOnlyForListedClients(t *testing.T) {
	const thirdParty = "3rdparty0patient0app00000a"
	access := fixture(t, "access-token.json")
	v := newValidator(t, cognito.Config{ClientIDs: []string{appClient, thirdParty},
		GroupScopes: map[string][]string{"practitioners": {"user/*.read"}}, GroupScopeClients: []string{appClient}})
	token := with(access, map[string]any{"scope": "openid patient/Patient.rs", "cognito:groups": []string{"practitioners"}})

	d, _ := authorize(t, v, signRS256(t, token))
	require.NoError(t, d.Err)
	assert.Equal(t, "openid patient/Patient.rs user/*.read", d.Response.AuthPayload.Scope)

	d, _ = authorize(t, v, signRS256(t, with(token, map[string]any{"client_id": thirdParty})))
	require.NoError(t, d.Err)
	assert.Equal(t, "openid patient/Patient.rs", d.Response.AuthPayload.Scope, "no group scopes for an unlisted client")

	_, err := cognito.New(cognito.Config{Region: "us-east-1", UserPoolID: "us-east-1_Example", ClientIDs: []string{appClient},
		GroupScopes: map[string][]string{"practitioners": {"user/*.read"}}})
	require.ErrorIs(t, err, cognito.ErrConfig, "GroupScopes without GroupScopeClients is refused")
}

func TestGroupScopeClientsRefuseEmptyEntry(t *testing.T) {
	_, err := cognito.New(cognito.Config{Region: "us-east-1", UserPoolID: "us-east-1_Example", ClientIDs: []string{appClient},
		GroupScopes: map[string][]string{"practitioners": {"user/*.read"}}, GroupScopeClients: []string{""}})
	require.ErrorIs(t, err, cognito.ErrConfig)
}
