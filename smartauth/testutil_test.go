package smartauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/smartauth"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
)

// Fixed test identities, with the shapes of real Keycloak and Cognito
// issuers and HealthLake data store endpoints.
const (
	testIssuer       = testjwt.KeycloakIssuer
	otherIssuer      = "https://keycloak.example.com/realms/other"
	cognitoIssuer    = testjwt.CognitoIssuer
	cognitoIssuerNew = "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	testEndpoint     = testjwt.Endpoint
	otherEndpoint    = "https://healthlake.us-east-1.amazonaws.com/datastore/fedcba9876543210fedcba9876543210/r4/"
	testRoleARN      = "arn:aws:iam::123456789012:role/healthlake-smart"
	testClientID     = testjwt.ClientID
	testScopePrefix  = testjwt.ScopePrefix
)

// testNow is the fake clock every validator in these tests uses unless a
// case overrides Config.Now. Nothing here reads the wall clock.
var testNow = testjwt.Now

func fixedNow() time.Time { return testNow }

// at returns testNow+d as a NumericDate.
func at(d time.Duration) int64 { return testNow.Add(d).Unix() }

// skew is the skew the validators under test use (the default).
const skew = smartauth.DefaultClockSkew

var allAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Keys are generated once per test binary, lazily, by the first test that
// needs them.
var (
	rsaKey     = sync.OnceValue(func() *rsa.PrivateKey { return testjwt.NewRSAKeyBits(2048) })
	rsaKeyB    = sync.OnceValue(func() *rsa.PrivateKey { return testjwt.NewRSAKeyBits(2048) })
	rsa1024Key = sync.OnceValue(func() *rsa.PrivateKey { return testjwt.NewRSAKeyBits(1024) })
	p256Key    = sync.OnceValue(func() *ecdsa.PrivateKey { return testjwt.NewECKey(elliptic.P256()) })
	p384Key    = sync.OnceValue(func() *ecdsa.PrivateKey { return testjwt.NewECKey(elliptic.P384()) })
	p521Key    = sync.OnceValue(func() *ecdsa.PrivateKey { return testjwt.NewECKey(elliptic.P521()) })
	edKey      = sync.OnceValue(testjwt.NewEdKey)
)

// signingKey is a private key and the alg it signs with.
type signingKey struct {
	alg  string
	priv crypto.Signer
}

// signers maps the kids of issuer A's key set (issuerAKeys) to the private
// key that made them. Kids are named after their (pinned) JWK alg.
func signers() map[string]signingKey {
	return map[string]signingKey{
		"rs256":   {"RS256", rsaKey()},
		"rs384":   {"RS384", rsaKey()},
		"rs512":   {"RS512", rsaKey()},
		"ps256":   {"PS256", rsaKey()},
		"ps384":   {"PS384", rsaKey()},
		"ps512":   {"PS512", rsaKey()},
		"es256":   {"ES256", p256Key()},
		"es384":   {"ES384", p384Key()},
		"es512":   {"ES512", p521Key()},
		"eddsa":   {"EdDSA", edKey()},
		"shared":  {"RS256", rsaKey()},
		"a-only":  {"RS256", rsaKey()},
		"rsa1024": {"RS256", rsa1024Key()},
	}
}

// issuerAKeys is the key set of testIssuer: every allowed alg, plus keys a
// careless custom KeySet could hand out (the validator must refuse them).
func issuerAKeys() map[string]*smartauth.Key {
	k := map[string]*smartauth.Key{}
	for kid, s := range signers() {
		k[kid] = &smartauth.Key{ID: kid, Algorithm: s.alg, Public: s.priv.Public()}
	}
	bad := []*smartauth.Key{
		{ID: "es256-p384", Algorithm: "ES256", Public: &p384Key().PublicKey},    // curve ≠ alg
		{ID: "es512-p256", Algorithm: "ES512", Public: &p256Key().PublicKey},    // curve ≠ alg
		{ID: "es256-rsa", Algorithm: "ES256", Public: &rsaKey().PublicKey},      // kty ≠ alg
		{ID: "rs256-ec", Algorithm: "RS256", Public: &p256Key().PublicKey},      // kty ≠ alg
		{ID: "eddsa-rsa", Algorithm: "EdDSA", Public: &rsaKey().PublicKey},      // kty ≠ alg
		{ID: "rs256-ed", Algorithm: "RS256", Public: edKey().Public()},          // kty ≠ alg
		{ID: "noalg", Algorithm: "", Public: &rsaKey().PublicKey},               // alg not pinned
		{ID: "hs256", Algorithm: "HS256", Public: &rsaKey().PublicKey},          // symmetric alg
		{ID: "es256-offcurve", Algorithm: "ES256", Public: offCurve(p256Key())}, // invalid point
	}
	for _, b := range bad {
		k[b.ID] = b
	}
	return k
}

// issuerBKeys is the key set of otherIssuer. "shared" and "rs256" exist in
// both sets but hold different keys.
func issuerBKeys() map[string]*smartauth.Key {
	pub := &rsaKeyB().PublicKey
	return map[string]*smartauth.Key{
		"rs256":  {ID: "rs256", Algorithm: "RS256", Public: pub},
		"shared": {ID: "shared", Algorithm: "RS256", Public: pub},
		"b-only": {ID: "b-only", Algorithm: "RS256", Public: pub},
	}
}

// offCurve returns k's public point moved off its curve. Only the
// deprecated X/Y fields can hold such a point (crypto/ecdsa, PublicKey.Bytes
// and jwx all refuse one), and holding one is the point of this key.
func offCurve(k *ecdsa.PrivateKey) *ecdsa.PublicKey {
	y := new(big.Int).Add(k.Y, big.NewInt(1))
	//lint:ignore SA1019 see above
	return &ecdsa.PublicKey{Curve: k.Curve, X: new(big.Int).Set(k.X), Y: y}
}

// testKeySet is a hand-written KeySet over a map. It counts calls and
// records the kids it was asked for, so tests can prove that rejected tokens
// never reach the key set (pipeline steps 1-5 come first).
type testKeySet struct {
	keys  map[string]*smartauth.Key
	err   error // when set, every call fails with it
	nilOK bool  // when set, a miss returns (nil, nil): a broken KeySet
	// next builds a key set to delegate to; the test installs it as
	// delegate once it has a testing.TB.
	next     func(testing.TB) smartauth.KeySet
	delegate smartauth.KeySet

	calls atomic.Int64
	mu    sync.Mutex
	kids  []string
}

func newTestKeySet(keys map[string]*smartauth.Key) *testKeySet {
	return &testKeySet{keys: keys}
}

func (s *testKeySet) Key(ctx context.Context, kid string) (*smartauth.Key, error) {
	s.calls.Add(1)
	s.mu.Lock()
	s.kids = append(s.kids, kid)
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if s.delegate != nil {
		return s.delegate.Key(ctx, kid)
	}
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	if s.nilOK {
		return nil, nil
	}
	return nil, fmt.Errorf("%w: test key set", smartauth.ErrKidNotFound)
}

func (s *testKeySet) askedFor() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.kids...)
}

// testEnv is a validator with the key sets of its two default issuers.
type testEnv struct {
	*smartauth.Validator
	A, B *testKeySet
}

func (e testEnv) keyCalls() int64 { return e.A.calls.Load() + e.B.calls.Load() }

// baseConfig is the default configuration: two Keycloak-shaped issuers
// (realm "fhir" with every allowed alg, realm "other" with RS256), each with
// its own key set, EndpointAudience, the fixed clock and the default skew.
func baseConfig(a, b smartauth.KeySet) smartauth.Config {
	return smartauth.Config{
		Issuers: []smartauth.IssuerConfig{
			{Issuer: testIssuer, KeySet: a, Algorithms: allAlgorithms, Audience: smartauth.EndpointAudience()},
			{Issuer: otherIssuer, KeySet: b, Audience: smartauth.EndpointAudience()},
		},
		Now: fixedNow,
	}
}

// mustValidator builds a validator from baseConfig after mutate (which may
// be nil) and fails the test on a configuration error.
func mustValidator(tb testing.TB, mutate func(*smartauth.Config)) testEnv {
	tb.Helper()
	env := testEnv{A: newTestKeySet(issuerAKeys()), B: newTestKeySet(issuerBKeys())}
	cfg := baseConfig(env.A, env.B)
	if mutate != nil {
		mutate(&cfg)
	}
	v, err := smartauth.NewValidator(cfg)
	require.NoError(tb, err)
	env.Validator = v
	return env
}

// cognitoIssuerConfig is a Cognito user pool as a plain issuer: client_id
// allow-list, token_use "access", RS256, resource-server prefix stripped.
func cognitoIssuerConfig(iss string, ks smartauth.KeySet) smartauth.IssuerConfig {
	return smartauth.IssuerConfig{
		Issuer:        iss,
		KeySet:        ks,
		Algorithms:    []string{"RS256"},
		Audience:      smartauth.ClientIDs(testClientID),
		TokenKind:     smartauth.RequireTokenUse("access"),
		ScopePrefixes: []string{testScopePrefix},
	}
}

// useCognito replaces the issuers by the two Cognito issuer formats, both
// backed by issuer A's key set.
func useCognito(c *smartauth.Config) {
	ks := c.Issuers[0].KeySet
	c.Issuers = []smartauth.IssuerConfig{cognitoIssuerConfig(cognitoIssuer, ks), cognitoIssuerConfig(cognitoIssuerNew, ks)}
	// Cognito access tokens carry no aud: the data store is pinned.
	c.Endpoints = []string{testEndpoint}
}

// keycloakClaims is a Keycloak access token payload for testEndpoint.
func keycloakClaims(overrides ...any) map[string]any { return testjwt.KeycloakClaims(overrides...) }

// cognitoClaims is a Cognito access token payload (no aud).
func cognitoClaims(overrides ...any) map[string]any { return testjwt.CognitoClaims(overrides...) }

// omit as an override value deletes the claim.
var omit = testjwt.Omit

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return string(b)
}

// mintKid signs claims with the private key behind kid (see signers) via
// jwx, header {"alg":…,"kid":kid,"typ":"JWT"}.
func mintKid(tb testing.TB, kid string, claims map[string]any) string {
	tb.Helper()
	s, ok := signers()[kid]
	require.True(tb, ok, kid)
	return testjwt.SignJWX(tb, s.alg, s.priv, map[string]any{"kid": kid, "typ": "JWT"}, []byte(mustJSON(tb, claims)))
}

// mint signs claims with RS256, kid "rs256".
func mint(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	return mintKid(tb, "rs256", claims)
}

// b64 is unpadded base64url.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// rawKid signs a hand-made header and payload with the key behind kid.
func rawKid(tb testing.TB, kid, headerJSON, payloadJSON string) string {
	tb.Helper()
	s := signers()[kid]
	return testjwt.SignRaw(tb, s.alg, s.priv, headerJSON, payloadJSON)
}

// rawRS256 signs headerJSON/payloadJSON with the "rs256" key.
func rawRS256(tb testing.TB, headerJSON, payloadJSON string) string {
	tb.Helper()
	return rawKid(tb, "rs256", headerJSON, payloadJSON)
}

// rsHeader is the default hand-made header for kid rs256.
const rsHeader = `{"alg":"RS256","kid":"rs256","typ":"JWT"}`

// withPayloadJSON replaces one claim of a JSON-encoded payload by raw JSON
// text, or appends raw text when claim is "" (for duplicate members).
func payloadWith(tb testing.TB, claims map[string]any, claim, rawValue string) string {
	tb.Helper()
	c := maps.Clone(claims)
	delete(c, claim)
	js := mustJSON(tb, c)
	return js[:len(js)-1] + `,"` + claim + `":` + rawValue + `}`
}

// segments splits a compact token for leak checks.
func segments(tok string) []string { return strings.Split(tok, ".") }

// assertNoLeak checks catalogue row 32: error text never carries the token,
// its payload or its signature (nor the header segment). Short segments are
// skipped, as they could occur in any text by chance.
func assertNoLeak(tb testing.TB, err error, tok string) {
	tb.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if len(tok) >= 12 {
		assert.NotContains(tb, msg, tok, "error text contains the token")
	}
	for i, seg := range segments(tok) {
		if len(seg) >= 12 {
			assert.NotContains(tb, msg, seg, "error text contains token segment %d", i)
		}
	}
}

// sentinels lists every exported check sentinel.
var sentinels = []error{
	smartauth.ErrConfig, smartauth.ErrTokenMissing, smartauth.ErrTokenTooLarge, smartauth.ErrMalformed,
	smartauth.ErrHeader, smartauth.ErrHeaderParameter, smartauth.ErrAlgorithm, smartauth.ErrKidMissing,
	smartauth.ErrType, smartauth.ErrPayload, smartauth.ErrUnknownIssuer, smartauth.ErrKidNotFound,
	smartauth.ErrKeyMismatch, smartauth.ErrKeySetUnavailable, smartauth.ErrSignature, smartauth.ErrExpired,
	smartauth.ErrExpMissing, smartauth.ErrNotYetValid, smartauth.ErrIssuedInFuture, smartauth.ErrIatMissing,
	smartauth.ErrClaimType, smartauth.ErrIssuer, smartauth.ErrAudience, smartauth.ErrClientID,
	smartauth.ErrTokenUse, smartauth.ErrScope, smartauth.ErrCustomCheck, smartauth.ErrRemoteCheck,
	smartauth.ErrJWKSInvalid, smartauth.ErrNoUsableKeys, smartauth.ErrJWKSFetch,
}

// matchedSentinels returns the sentinels err wraps.
func matchedSentinels(err error) []error {
	var out []error
	for _, s := range sentinels {
		if errors.Is(err, s) {
			out = append(out, s)
		}
	}
	return out
}

// preKeySentinels are the failures of pipeline steps 1-5: a token failing
// with one of them must never reach a key set.
var preKeySentinels = []error{
	smartauth.ErrTokenMissing, smartauth.ErrTokenTooLarge, smartauth.ErrMalformed, smartauth.ErrHeader,
	smartauth.ErrHeaderParameter, smartauth.ErrAlgorithm, smartauth.ErrKidMissing, smartauth.ErrType,
	smartauth.ErrPayload, smartauth.ErrUnknownIssuer, smartauth.ErrClaimType, smartauth.ErrIssuer,
	smartauth.ErrExpMissing, smartauth.ErrIatMissing,
}

func isPreKey(err error) bool {
	for _, s := range preKeySentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// scopeStrings returns the granted scopes as text.
func scopeStrings(t *smartauth.Token) []string {
	out := make([]string, 0, len(t.Scopes))
	for _, s := range t.Scopes {
		out = append(out, s.String())
	}
	return out
}

// nonCanonical sets a spare low bit in the last character of an unpadded
// base64url segment: a lenient decoder yields the same bytes, a strict one
// refuses. ok is false when the segment has no spare bits or the bit is set.
func nonCanonical(seg string) (string, bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 == 0 {
		return "", false
	}
	v := strings.IndexByte(alphabet, seg[len(seg)-1])
	if v < 0 || v&1 == 1 {
		return "", false
	}
	return seg[:len(seg)-1] + string(alphabet[v|1]), true
}
