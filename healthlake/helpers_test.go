package healthlake_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Fixed test identities, with the shapes HealthLake, Keycloak and Cognito
// use.
const (
	testIssuer       = testjwt.KeycloakIssuer
	cognitoIssuer    = testjwt.CognitoIssuer
	cognitoIssuerNew = "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	testEndpoint     = testjwt.Endpoint
	otherEndpoint    = "https://healthlake.us-east-1.amazonaws.com/datastore/fedcba9876543210fedcba9876543210/r4/"
	testRoleARN      = "arn:aws:iam::123456789012:role/healthlake-smart"
	testClientID     = testjwt.ClientID
	testScopePrefix  = testjwt.ScopePrefix
)

// testNow is the validators' fake clock.
var testNow = testjwt.Now

// at returns testNow+d as a NumericDate.
func at(d time.Duration) int64 { return testNow.Add(d).Unix() }

var (
	rsaKey = testjwt.RSAKey
	edKey  = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// testKeys are the public keys behind "rs256" and "eddsa".
var testKeys = sync.OnceValue(func() map[string]*smartauth.Key {
	return map[string]*smartauth.Key{
		"rs256": {ID: "rs256", Algorithm: "RS256", Public: &rsaKey().PublicKey},
		"eddsa": {ID: "eddsa", Algorithm: "EdDSA", Public: edKey().Public()},
	}
})

// testKeySet serves testKeys, or fails with err.
type testKeySet struct{ err error }

func (s *testKeySet) Key(_ context.Context, kid string) (*smartauth.Key, error) {
	if s.err != nil {
		return nil, s.err
	}
	if k, ok := testKeys()[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: test key set", smartauth.ErrKidNotFound)
}

// testConfig is the token policy and the response settings under test.
type testConfig struct {
	smartauth.Config
	HL healthlake.Config
}

// mustAuthorizer builds an Authorizer for a Keycloak-shaped issuer
// (testIssuer, RS256 and EdDSA, EndpointAudience, fixed clock) after mutate
// (which may be nil).
func mustAuthorizer(tb testing.TB, mutate func(*testConfig)) *healthlake.Authorizer {
	tb.Helper()
	c := testConfig{
		Config: smartauth.Config{
			Issuers: []smartauth.IssuerConfig{{Issuer: testIssuer, KeySet: &testKeySet{},
				Algorithms: []string{"RS256", "EdDSA"}, Audience: smartauth.EndpointAudience()}},
			Now: func() time.Time { return testNow },
		},
		HL: healthlake.Config{RoleARN: testRoleARN},
	}
	if mutate != nil {
		mutate(&c)
	}
	v, err := smartauth.NewValidator(c.Config)
	require.NoError(tb, err)
	a, err := healthlake.New(v, c.HL)
	require.NoError(tb, err)
	return a
}

// useCognito replaces the issuer by the two Cognito issuer formats: client_id
// allow-list, token_use "access", resource-server prefix stripped, data store
// pinned (Cognito access tokens carry no aud).
func useCognito(c *testConfig) {
	ks := c.Issuers[0].KeySet
	c.Issuers = nil
	for _, iss := range []string{cognitoIssuer, cognitoIssuerNew} {
		c.Issuers = append(c.Issuers, smartauth.IssuerConfig{Issuer: iss, KeySet: ks,
			Audience: smartauth.ClientIDs(testClientID), TokenKind: smartauth.RequireTokenUse("access"),
			ScopePrefixes: []string{testScopePrefix}})
	}
	c.Endpoints = []string{testEndpoint}
}

// keycloakClaims is a Keycloak access token payload for testEndpoint.
func keycloakClaims(overrides ...any) map[string]any { return testjwt.KeycloakClaims(overrides...) }

// cognitoClaims is a Cognito access token payload (no aud).
func cognitoClaims(overrides ...any) map[string]any { return testjwt.CognitoClaims(overrides...) }

// omit as an override value deletes the claim.
var omit = testjwt.Omit

// mint signs claims with RS256, kid "rs256", typ JWT.
func mint(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	return testjwt.Sign(tb, rsaKey(), jwa.RS256(), "rs256", "JWT", claims)
}

func kcToken(overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string { return mint(tb, keycloakClaims(overrides...)) }
}

func cognitoToken(overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string { return mint(tb, cognitoClaims(overrides...)) }
}

// signEdDSA signs arbitrary payload bytes with the trusted "eddsa" key.
func signEdDSA(payload string) string {
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64([]byte(`{"alg":"EdDSA","kid":"eddsa"}`)) + "." + b64([]byte(payload))
	return input + "." + b64(ed25519.Sign(edKey(), []byte(input)))
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return string(b)
}

// segments splits a compact token for leak checks.
func segments(tok string) []string { return strings.Split(tok, ".") }
