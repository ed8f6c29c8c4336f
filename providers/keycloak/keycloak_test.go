package keycloak_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7517 §4.8)
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt/hltest"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const (
	baseURL  = "https://kc.example.com"
	realm    = "fhir"
	issuer   = "https://kc.example.com/realms/fhir"
	endpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	roleARN  = "arn:aws:iam::123456789012:role/stack-healthlake-smart"
	// Key IDs of testdata/jwks.json.
	sigKid = "Xq7pL2sN9vB4cM1zK8jH5gF3dS6aQ0wE2rT7yU4iO9p"
	encKid = "m3rQ8yX0c2pZ7tV4nB6aL1dF9gH5jK0sW2eR8uI3oPq"
	// fixtureIat is the iat of every fixture.
	fixtureIat = 1700000000
)

// now is the fake clock: one minute after the fixtures were issued.
var now = time.Unix(fixtureIat+60, 0)

// keys are generated once per test binary and never leave the process.
type keys struct {
	sig, enc, other *rsa.PrivateKey
	ec              *ecdsa.PrivateKey
}

var testKeys = sync.OnceValue(func() keys {
	var k keys
	k.sig, k.enc, k.other = testjwt.RSAKey(), testjwt.NewRSAKey(), testjwt.NewRSAKey()
	k.ec = testjwt.NewECKey(elliptic.P256())
	return k
})

var b64url = base64.RawURLEncoding

// jwksFixture returns testdata/jwks.json, a Keycloak certs document with an
// RSA-OAEP encryption key next to the RS256 signing key, with the key
// material (n, e, x5c, x5t, x5t#S256) of the keys generated for this run.
func jwksFixture(t testing.TB) []byte {
	t.Helper()
	doc, err := jwksDoc()
	require.NoError(t, err)
	return doc
}

// jwksDoc builds the fixture once per test binary (certificate signing is
// slow under -race).
var jwksDoc = sync.OnceValues(func() ([]byte, error) {
	data, err := os.ReadFile(filepath.Join("testdata", "jwks.json"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Keys) != 2 {
		return nil, fmt.Errorf("testdata/jwks.json: %d keys, want 2", len(doc.Keys))
	}
	k := testKeys()
	for _, entry := range doc.Keys {
		priv := k.sig
		if entry["use"] == "enc" {
			priv = k.enc
		}
		der, err := selfSigned(priv, "fhir")
		if err != nil {
			return nil, err
		}
		sum1 := sha1.Sum(der) //nolint:gosec // see import
		sum256 := sha256.Sum256(der)
		entry["n"] = b64url.EncodeToString(priv.N.Bytes())
		entry["e"] = b64url.EncodeToString(big.NewInt(int64(priv.E)).Bytes())
		entry["x5c"] = []string{base64.StdEncoding.EncodeToString(der)}
		entry["x5t"] = b64url.EncodeToString(sum1[:])
		entry["x5t#S256"] = b64url.EncodeToString(sum256[:])
	}
	return json.Marshal(doc)
})

// selfSigned returns a DER certificate like the ones Keycloak generates
// for its realm keys (CN = realm name).
func selfSigned(priv *rsa.PrivateKey, cn string) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(fixtureIat),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Unix(fixtureIat-3600, 0),
		NotAfter:     time.Unix(fixtureIat+10*365*24*3600, 0),
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
}

func staticKeys(t testing.TB) *smartauth.StaticKeySet {
	t.Helper()
	ks, err := smartauth.NewStaticKeySet(jwksFixture(t))
	require.NoError(t, err)
	return ks
}

func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	return testjwt.Claims(t, filepath.Join("testdata", name))
}

// with returns a copy of claims with the given members set (nil deletes).
func with(claims map[string]any, set map[string]any) map[string]any {
	return testjwt.With(claims, set)
}

// sign returns a compact JWS over claims; typ is the header typ ("" omits it).
func sign(t testing.TB, priv crypto.Signer, alg jwa.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	return testjwt.Sign(t, priv, alg, kid, typ, claims)
}

// signKC signs like Keycloak: RS256, header {"alg","typ":"JWT","kid"}.
func signKC(t testing.TB, claims map[string]any) string {
	t.Helper()
	return sign(t, testKeys().sig, jwa.RS256(), sigKid, "JWT", claims)
}

func newValidator(t testing.TB, cfg keycloak.Config) *smartauth.Validator {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL, cfg.Realm = baseURL, realm
	}
	if cfg.KeySet == nil {
		cfg.KeySet = staticKeys(t)
	}
	ic, err := keycloak.New(cfg)
	require.NoError(t, err)
	sc := smartauth.Config{
		Issuers: []smartauth.IssuerConfig{ic},
		Now:     func() time.Time { return now },
	}
	if len(cfg.Audiences) > 0 {
		// Extra audiences no longer tie a token to the data store.
		sc.Endpoints = []string{endpoint}
	}
	v, err := smartauth.NewValidator(sc)
	require.NoError(t, err)
	return v
}

func authorize(t testing.TB, v *smartauth.Validator, token string) (healthlake.Decision, string) {
	t.Helper()
	return hltest.Authorize(t, v, roleARN, endpoint, "ReadResource", token)
}

func TestIssuerURL(t *testing.T) {
	tests := []struct {
		name, base, realm, prefix string
		want                      string
	}{
		{"plain", "https://kc.example.com", "fhir", "", "https://kc.example.com/realms/fhir"},
		{"trailing slash", "https://kc.example.com/", "fhir", "", "https://kc.example.com/realms/fhir"},
		{"several trailing slashes", "https://kc.example.com//", "fhir", "", "https://kc.example.com/realms/fhir"},
		{"port", "https://kc.example.com:8443", "fhir", "", "https://kc.example.com:8443/realms/fhir"},
		{"local http", "http://127.0.0.1:18080", "fhir", "", "http://127.0.0.1:18080/realms/fhir"},
		{"legacy /auth", "https://kc.example.com", "fhir", "/auth", "https://kc.example.com/auth/realms/fhir"},
		{"legacy auth without slashes", "https://kc.example.com/", "fhir", "auth", "https://kc.example.com/auth/realms/fhir"},
		{"legacy /auth/ with trailing slash", "https://kc.example.com", "fhir", "/auth/", "https://kc.example.com/auth/realms/fhir"},
		{"custom relative path", "https://kc.example.com", "fhir", "/iam/keycloak", "https://kc.example.com/iam/keycloak/realms/fhir"},
		{"path in base URL", "https://example.com/kc/", "fhir", "", "https://example.com/kc/realms/fhir"},
		{"realm with dash, dot and underscore", "https://kc.example.com", "smart-on_fhir.v2", "", "https://kc.example.com/realms/smart-on_fhir.v2"},
		{"App Runner service URL", "https://abcdefgh12.us-east-1.awsapprunner.com", "fhir", "",
			"https://abcdefgh12.us-east-1.awsapprunner.com/realms/fhir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keycloak.IssuerURL(tc.base, tc.realm, tc.prefix)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestIssuerURLErrors(t *testing.T) {
	tests := []struct {
		name, base, realm, prefix string
	}{
		{"empty base URL", "", "fhir", ""},
		{"base URL without scheme", "kc.example.com", "fhir", ""},
		{"base URL with another scheme", "ftp://kc.example.com", "fhir", ""},
		{"base URL without host", "https://", "fhir", ""},
		{"base URL not a URL", "https://[::1", "fhir", ""},
		{"base URL with query", "https://kc.example.com?x=1", "fhir", ""},
		{"base URL with empty query", "https://kc.example.com?", "fhir", ""},
		{"base URL with fragment", "https://kc.example.com#realms", "fhir", ""},
		{"base URL with empty fragment", "https://kc.example.com/#", "fhir", ""},
		{"base URL with user information", "https://admin:secret@kc.example.com", "fhir", ""},
		{"empty realm", "https://kc.example.com", "", ""},
		{"realm with slash", "https://kc.example.com", "fhir/x", ""},
		{"realm with query", "https://kc.example.com", "fhir?x", ""},
		{"realm with fragment", "https://kc.example.com", "fhir#x", ""},
		{"realm with space", "https://kc.example.com", "fh ir", ""},
		{"realm percent-encoded", "https://kc.example.com", "fh%2Fir", ""},
		{"realm dot", "https://kc.example.com", ".", ""},
		{"realm dot-dot", "https://kc.example.com", "..", ""},
		{"prefix with dot-dot", "https://kc.example.com", "fhir", "/auth/../admin"},
		{"prefix with query", "https://kc.example.com", "fhir", "/auth?x"},
		{"prefix with space", "https://kc.example.com", "fhir", "/my auth"},
		{"prefix percent-encoded", "https://kc.example.com", "fhir", "/auth%2F"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keycloak.IssuerURL(tc.base, tc.realm, tc.prefix)
			require.ErrorIs(t, err, keycloak.ErrConfig)
			assert.Empty(t, got)

			_, err = keycloak.New(keycloak.Config{BaseURL: tc.base, Realm: tc.realm, PathPrefix: tc.prefix,
				KeySet: staticKeys(t)})
			require.ErrorIs(t, err, keycloak.ErrConfig)
		})
	}
}

func TestIssuerURLErrorHidesPassword(t *testing.T) {
	for _, base := range []string{
		"https://admin:secret@kc.example.com",
		"https://admin:secret@kc.example.com?x=1",
		"ftp://admin:secret@kc.example.com",
	} {
		_, err := keycloak.IssuerURL(base, "fhir", "")
		require.ErrorIs(t, err, keycloak.ErrConfig)
		assert.NotContains(t, err.Error(), "secret")
	}
}

func TestDerivedURLs(t *testing.T) {
	assert.Equal(t, "https://kc.example.com/realms/fhir/protocol/openid-connect/certs", keycloak.JWKSURL(issuer))
	assert.Equal(t, "https://kc.example.com/realms/fhir/protocol/openid-connect/certs", keycloak.JWKSURL(issuer+"/"))
	assert.Equal(t, "https://kc.example.com/auth/realms/fhir/protocol/openid-connect/certs",
		keycloak.JWKSURL("https://kc.example.com/auth/realms/fhir"))
	assert.Equal(t, "https://kc.example.com/realms/fhir/.well-known/openid-configuration", keycloak.DiscoveryURL(issuer))
	assert.Equal(t, "https://kc.example.com/realms/fhir/.well-known/openid-configuration", keycloak.DiscoveryURL(issuer+"/"))
}

func TestNew(t *testing.T) {
	t.Run("default remote key set", func(t *testing.T) {
		ic, err := keycloak.New(keycloak.Config{BaseURL: baseURL, Realm: realm})
		require.NoError(t, err)
		assert.Equal(t, issuer, ic.Issuer)
		assert.IsType(t, &smartauth.RemoteKeySet{}, ic.KeySet)
		assert.NotNil(t, ic.Audience)
		assert.NotNil(t, ic.TokenKind)
		assert.Nil(t, ic.Check, "the client allow-list is part of the audience policy")
		assert.Nil(t, ic.ExtraScopes, "no role mapping configured")
		assert.Empty(t, ic.Algorithms, "empty means RS256 only in smartauth")
	})
	t.Run("algorithms passed through", func(t *testing.T) {
		ic, err := keycloak.New(keycloak.Config{BaseURL: baseURL, Realm: realm, Algorithms: []string{"ES256", "RS256"},
			KeySet: staticKeys(t)})
		require.NoError(t, err)
		assert.Equal(t, []string{"ES256", "RS256"}, ic.Algorithms)
	})
	errorCases := []struct {
		name string
		cfg  keycloak.Config
	}{
		{"negative JWKS miss penalty", keycloak.Config{BaseURL: baseURL, Realm: realm,
			KeySetOptions: smartauth.RemoteOptions{MissPenalty: -time.Second}}},
		{"plain-http JWKS URL override", keycloak.Config{BaseURL: baseURL, Realm: realm,
			JWKSURL: "http://kc.example.com/realms/fhir/protocol/openid-connect/certs"}},
		{"plain-http base URL without InsecureHTTP", keycloak.Config{BaseURL: "http://127.0.0.1:18080", Realm: realm}},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keycloak.New(tc.cfg)
			require.ErrorIs(t, err, keycloak.ErrConfig)
		})
	}
}

func TestTokenKind(t *testing.T) {
	access := fixture(t, "access-token.json")
	v := newValidator(t, keycloak.Config{})
	tests := []struct {
		name    string
		claims  map[string]any
		wantErr error
	}{
		{"access token (typ Bearer)", access, nil},
		{"service-account token", fixture(t, "service-account-token.json"), nil},
		{"typ ID", with(access, map[string]any{"typ": "ID"}), smartauth.ErrTokenUse},
		{"typ Refresh", with(access, map[string]any{"typ": "Refresh"}), smartauth.ErrTokenUse},
		{"typ Offline", with(access, map[string]any{"typ": "Offline"}), smartauth.ErrTokenUse},
		{"typ bearer (case differs)", with(access, map[string]any{"typ": "bearer"}), smartauth.ErrTokenUse},
		{"typ missing", with(access, map[string]any{"typ": nil}), smartauth.ErrTokenUse},
		{"real ID token (aud is the client)", fixture(t, "id-token.json"), smartauth.ErrTokenUse},
		{"real refresh token (aud is the issuer)", fixture(t, "refresh-token.json"), smartauth.ErrTokenUse},
		// Keycloak offline tokens carry no exp: refused before the signature.
		{"real offline token", fixture(t, "offline-token.json"), smartauth.ErrExpMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Validate(context.Background(), signKC(t, tc.claims), endpoint)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, "Bearer", tok.Claims.Type)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestHeaderType(t *testing.T) {
	v := newValidator(t, keycloak.Config{})
	access := fixture(t, "access-token.json")
	tests := []struct {
		typ     string
		wantErr error
	}{
		{"JWT", nil},
		{"at+jwt", nil},
		{"application/at+jwt", nil},
		{"", nil},
		{"JOSE", smartauth.ErrType},
		{"Bearer", smartauth.ErrType},
	}
	for _, tc := range tests {
		t.Run("typ="+tc.typ, func(t *testing.T) {
			tok := sign(t, testKeys().sig, jwa.RS256(), sigKid, tc.typ, access)
			_, err := v.Validate(context.Background(), tok, endpoint)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestAudience(t *testing.T) {
	access := fixture(t, "access-token.json")
	tests := []struct {
		name      string
		audiences []string
		aud       any // nil deletes aud
		wantErr   error
	}{
		{"array with account and the endpoint", nil, []string{"account", endpoint}, nil},
		{"string: the endpoint", nil, endpoint, nil},
		{"endpoint without its trailing slash", nil, endpoint[:len(endpoint)-1], nil},
		{"array: endpoint first", nil, []string{endpoint, "account"}, nil},
		{"account only (default Keycloak aud)", nil, []string{"account"}, smartauth.ErrAudience},
		{"account as string", nil, "account", smartauth.ErrAudience},
		{"no aud", nil, nil, smartauth.ErrAudience},
		{"empty array", nil, []string{}, smartauth.ErrAudience},
		{"another data store", nil,
			"https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/", smartauth.ErrAudience},
		{"endpoint as a prefix of aud", nil, endpoint + "extra", smartauth.ErrAudience},
		{"endpoint with other case", nil,
			"https://healthlake.us-east-1.amazonaws.com/datastore/0123456789ABCDEF0123456789ABCDEF/r4/", smartauth.ErrAudience},
		{"extra audience accepted", []string{"fhir-api"}, []string{"account", "fhir-api"}, nil},
		{"extra audience as string", []string{"fhir-api"}, "fhir-api", nil},
		{"extra audience configured, token has neither", []string{"fhir-api"}, []string{"account"}, smartauth.ErrAudience},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, keycloak.Config{Audiences: tc.audiences})
			_, err := v.Validate(context.Background(), signKC(t, with(access, map[string]any{"aud": tc.aud})), endpoint)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestAllowedClients(t *testing.T) {
	access := fixture(t, "access-token.json") // azp smart-app
	errNoPatient := errors.New("patient context required")
	userCheck := func(c *smartauth.Claims) error {
		if c.Patient == "" {
			return errNoPatient
		}
		return nil
	}
	tests := []struct {
		name    string
		allowed []string
		check   func(*smartauth.Claims) error
		claims  map[string]any
		wantErr []error
	}{
		{"azp on the list", []string{"svc", "smart-app"}, nil, access, nil},
		{"no list: any azp", nil, nil, with(access, map[string]any{"azp": "whatever"}), nil},
		{"other azp", []string{"smart-app"}, nil, with(access, map[string]any{"azp": "other-app"}),
			[]error{smartauth.ErrClientID, keycloak.ErrClient}},
		{"azp missing", []string{"smart-app"}, nil, with(access, map[string]any{"azp": nil}),
			[]error{smartauth.ErrClientID, keycloak.ErrClient}},
		{"azp case differs", []string{"smart-app"}, nil, with(access, map[string]any{"azp": "Smart-App"}),
			[]error{smartauth.ErrClientID, keycloak.ErrClient}},
		{"client only in aud is not azp", []string{"smart-app"}, nil,
			with(access, map[string]any{"azp": "other-app", "aud": []string{endpoint, "smart-app"}}),
			[]error{smartauth.ErrClientID, keycloak.ErrClient}},
		{"client_id listed, azp missing", []string{"smart-app"}, nil, with(access, map[string]any{"azp": nil, "client_id": "smart-app"}), nil},
		{"client_id unlisted, azp listed", []string{"smart-app"}, nil, with(access, map[string]any{"client_id": "other-app"}),
			[]error{smartauth.ErrClientID, keycloak.ErrClient}},
		{"user check runs after the azp check", []string{"smart-app"}, userCheck,
			with(access, map[string]any{"patient": nil}), []error{smartauth.ErrCustomCheck, errNoPatient}},
		{"user check passes", []string{"smart-app"}, userCheck, access, nil},
		{"azp failure wins over the user check", []string{"smart-app"}, userCheck,
			with(access, map[string]any{"azp": "other-app", "patient": nil}),
			[]error{smartauth.ErrClientID, keycloak.ErrClient}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, keycloak.Config{AllowedClients: tc.allowed, Check: tc.check})
			_, err := v.Validate(context.Background(), signKC(t, tc.claims), endpoint)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			for _, want := range tc.wantErr {
				require.ErrorIs(t, err, want)
			}
			if errors.Is(err, keycloak.ErrClient) {
				assert.NotErrorIs(t, err, smartauth.ErrCustomCheck, "exactly one smartauth sentinel")
				assert.Equal(t, "client_id", smartauth.Reason(err))
			}
		})
	}

	t.Run("later changes to the caller's list have no effect", func(t *testing.T) {
		list := []string{"smart-app"}
		v := newValidator(t, keycloak.Config{AllowedClients: list})
		list[0] = "other-app"
		_, err := v.Validate(context.Background(), signKC(t, access), endpoint)
		require.NoError(t, err)
	})
}

func TestRoleScopes(t *testing.T) {
	realmRoles := map[string][]string{
		"fhir-reader":        {"user/*.read"},
		"default-roles-fhir": {"launch/patient"},
		"broken":             {"not a scope", "user/NoSuchType.read"},
	}
	clientRoles := map[string]map[string][]string{
		"zeta-api":  {"writer": {"user/*.write"}},
		"alpha-api": {"reader": {"patient/Observation.rs"}, "auditor": {"system/AuditEvent.rs"}},
		"mid-api":   {"reader": {"patient/Condition.rs"}},
	}
	base := with(fixture(t, "access-token.json"), map[string]any{
		"scope": "openid",
		"realm_access": map[string]any{
			"roles": []string{"offline_access", "fhir-reader", "default-roles-fhir", "broken"},
		},
		"resource_access": map[string]any{
			"zeta-api":  map[string]any{"roles": []string{"writer"}},
			"mid-api":   map[string]any{"roles": []string{"reader"}},
			"alpha-api": map[string]any{"roles": []string{"auditor", "reader", "unknown"}},
			"account":   map[string]any{"roles": []string{"view-profile"}},
		},
	})
	tests := []struct {
		name       string
		realm      map[string][]string
		clients    map[string]map[string][]string
		claims     map[string]any
		wantScopes string // "" means deny with ErrScope
	}{
		{
			name:    "token scopes, then realm roles in token order, then clients sorted by name",
			realm:   realmRoles,
			clients: clientRoles,
			claims:  base,
			wantScopes: "openid user/*.read launch/patient " +
				"system/AuditEvent.rs patient/Observation.rs patient/Condition.rs user/*.write",
		},
		{
			name:       "realm roles only",
			realm:      realmRoles,
			claims:     base,
			wantScopes: "openid user/*.read launch/patient",
		},
		{
			name:       "client roles only",
			clients:    clientRoles,
			claims:     base,
			wantScopes: "openid system/AuditEvent.rs patient/Observation.rs patient/Condition.rs user/*.write",
		},
		{
			name:       "role scope already in the token is not repeated",
			realm:      realmRoles,
			claims:     with(base, map[string]any{"scope": "user/*.read openid", "resource_access": nil}),
			wantScopes: "user/*.read openid launch/patient",
		},
		{
			name:    "no mapped role and no resource scope",
			realm:   realmRoles,
			clients: clientRoles,
			claims: with(base, map[string]any{
				"realm_access":    map[string]any{"roles": []string{"offline_access"}},
				"resource_access": nil,
			}),
			wantScopes: "",
		},
		{
			name:       "mapping off",
			claims:     base,
			wantScopes: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, keycloak.Config{RealmRoleScopes: tc.realm, ClientRoleScopes: tc.clients, RoleScopeClients: []string{"smart-app"}})
			tok := signKC(t, tc.claims)
			// Map iteration order is random: the result must not be.
			for range 20 {
				d, out := authorize(t, v, tok)
				if tc.wantScopes == "" {
					require.ErrorIs(t, d.Err, smartauth.ErrScope)
					assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, out)
					return
				}
				require.NoError(t, d.Err)
				require.Equal(t, tc.wantScopes, d.Response.AuthPayload.Scope)
			}
		})
	}
}

func TestJWKSFixtureSkipsEncryptionKey(t *testing.T) {
	doc := jwksFixture(t)
	keys, dropped, err := smartauth.ParseJWKS(doc)
	require.NoError(t, err)
	got := make([]string, 0, len(keys))
	for kid := range keys {
		got = append(got, kid)
	}
	if diff := cmp.Diff([]string{sigKid}, got); diff != "" {
		t.Errorf("admitted kids (-want +got):\n%s", diff)
	}
	require.Len(t, dropped, 1)
	assert.Equal(t, encKid, dropped[0].ID)
	assert.Equal(t, 0, dropped[0].Index)

	v := newValidator(t, keycloak.Config{})
	access := fixture(t, "access-token.json")
	_, err = v.Validate(context.Background(), signKC(t, access), endpoint)
	require.NoError(t, err, "the sig key verifies")

	// A token naming the enc key's kid finds no key, whoever signed it.
	_, err = v.Validate(context.Background(), sign(t, testKeys().enc, jwa.RS256(), encKid, "JWT", access), endpoint)
	require.ErrorIs(t, err, smartauth.ErrKidNotFound)

	// The sig kid with another key's signature.
	_, err = v.Validate(context.Background(), sign(t, testKeys().other, jwa.RS256(), sigKid, "JWT", access), endpoint)
	require.ErrorIs(t, err, smartauth.ErrSignature)

	// Default algorithm list is RS256: an ES256 token is refused before any key lookup.
	_, err = v.Validate(context.Background(), sign(t, testKeys().ec, jwa.ES256(), sigKid, "JWT", access), endpoint)
	require.ErrorIs(t, err, smartauth.ErrAlgorithm)
}

func TestAllowedResponse(t *testing.T) {
	v := newValidator(t, keycloak.Config{AllowedClients: []string{"smart-app", "svc"}})

	t.Run("user access token", func(t *testing.T) {
		d, out := authorize(t, v, signKC(t, fixture(t, "access-token.json")))
		require.NoError(t, d.Err)
		assert.JSONEq(t, `{
			"authPayload": {
				"iss": "https://kc.example.com/realms/fhir",
				"aud": "`+endpoint+`",
				"iat": 1700000000, "nbf": 1700000000, "exp": 1700000300,
				"isAuthorized": true,
				"uid": "36fa0f91-8a2e-4d3c-b1f0-7e6d5c4b3a29",
				"scope": "openid launch/patient patient/*.read fhirUser",
				"fhirUser": "Practitioner/123", "patient": "456"
			},
			"iamRoleARN": "`+roleARN+`"
		}`, out)
		assert.Equal(t, "smart-app", d.ClientID)
	})

	t.Run("service-account token", func(t *testing.T) {
		d, out := authorize(t, v, signKC(t, fixture(t, "service-account-token.json")))
		require.NoError(t, d.Err)
		assert.JSONEq(t, `{
			"authPayload": {
				"iss": "https://kc.example.com/realms/fhir",
				"aud": "`+endpoint+`",
				"iat": 1700000000, "nbf": 1700000000, "exp": 1700000300,
				"isAuthorized": true,
				"uid": "9d8c7b6a-5f4e-4d3c-8b2a-19f0e8d7c6b5",
				"scope": "system/*.read"
			},
			"iamRoleARN": "`+roleARN+`"
		}`, out)
		assert.Equal(t, "svc", d.ClientID)
	})

	t.Run("legacy /auth issuer", func(t *testing.T) {
		v := newValidator(t, keycloak.Config{BaseURL: baseURL, Realm: realm, PathPrefix: "/auth"})
		claims := fixture(t, "access-token.json")
		_, err := v.Validate(context.Background(), signKC(t, claims), endpoint)
		require.ErrorIs(t, err, smartauth.ErrUnknownIssuer)
		claims = with(claims, map[string]any{"iss": "https://kc.example.com/auth/realms/fhir"})
		_, err = v.Validate(context.Background(), signKC(t, claims), endpoint)
		require.NoError(t, err)
	})
}

// Role-mapped scopes reach only the listed requesting clients (azp).
func TestRoleScopesOnlyForListedClients(t *testing.T) {
	access := fixture(t, "access-token.json")
	cfg := keycloak.Config{RealmRoleScopes: map[string][]string{"clinician": {"user/*.rs"}}, RoleScopeClients: []string{"smart-app"}}
	v := newValidator(t, cfg)
	token := with(access, map[string]any{"scope": "openid patient/Patient.rs", "realm_access": map[string]any{"roles": []string{"clinician"}}})

	d, _ := authorize(t, v, signKC(t, token))
	require.NoError(t, d.Err)
	assert.Equal(t, "openid patient/Patient.rs user/*.rs", d.Response.AuthPayload.Scope)

	d, _ = authorize(t, v, signKC(t, with(token, map[string]any{"azp": "third-party-app"})))
	require.NoError(t, d.Err)
	assert.Equal(t, "openid patient/Patient.rs", d.Response.AuthPayload.Scope, "no role scopes for an unlisted azp")

	d, _ = authorize(t, v, signKC(t, with(token, map[string]any{"azp": nil, "client_id": "smart-app"})))
	require.NoError(t, d.Err)
	assert.Equal(t, "openid patient/Patient.rs", d.Response.AuthPayload.Scope, "no role scopes without azp, even for a listed client_id")

	_, err := keycloak.New(keycloak.Config{BaseURL: baseURL, Realm: realm, KeySet: staticKeys(t),
		ClientRoleScopes: map[string]map[string][]string{"fhir": {"reader": {"user/*.rs"}}}})
	require.ErrorIs(t, err, keycloak.ErrConfig, "role tables without RoleScopeClients are refused")
}

// With extra audiences a token need not name the data store, so the
// validator requires the data store endpoints to be pinned.
func TestExtraAudiencesNeedEndpoints(t *testing.T) {
	ic, err := keycloak.New(keycloak.Config{BaseURL: baseURL, Realm: realm, KeySet: staticKeys(t), Audiences: []string{"account"}})
	require.NoError(t, err)
	_, err = smartauth.NewValidator(smartauth.Config{Issuers: []smartauth.IssuerConfig{ic}})
	require.ErrorIs(t, err, smartauth.ErrConfig)
	assert.Contains(t, err.Error(), "Endpoints")

	v := newValidator(t, keycloak.Config{Audiences: []string{"account"}})
	access := fixture(t, "access-token.json")
	d := hltest.Authorizer(t, v, roleARN).Authorize(context.Background(), healthlake.Event{
		DatastoreEndpoint: "https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/",
		BearerToken:       signKC(t, with(access, map[string]any{"aud": "account"})),
	})
	require.ErrorIs(t, d.Err, healthlake.ErrEvent, "another data store is refused by the Endpoints pin")
}

func TestRoleScopeClientsRefuseEmptyEntry(t *testing.T) {
	_, err := keycloak.New(keycloak.Config{BaseURL: baseURL, Realm: realm, KeySet: staticKeys(t),
		RealmRoleScopes: map[string][]string{"clinician": {"user/*.rs"}}, RoleScopeClients: []string{""}})
	require.ErrorIs(t, err, keycloak.ErrConfig, "an empty entry would match tokens without azp")
}
