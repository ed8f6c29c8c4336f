package smartauth_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/healthlake-smart/smartauth-go/smartauth"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
)

// benchSetup is a Cognito user pool validator (RS256-2048, client_id
// allow-list, token_use, resource-server prefix) over an in-memory
// StaticKeySet, and a realistic access token for it (~1.1 KiB).
func benchSetup(b testing.TB) (*smartauth.Validator, string) {
	b.Helper()
	return benchSetupCache(b, nil)
}

// benchSetupCache is benchSetup with Config.Cache set to cache.
func benchSetupCache(b testing.TB, cache *smartauth.CacheConfig) (*smartauth.Validator, string) {
	b.Helper()
	ks, err := smartauth.NewStaticKeySetFromKeys(&smartauth.Key{ID: "rs256", Algorithm: "RS256", Public: &rsaKey().PublicKey})
	if err != nil {
		b.Fatal(err)
	}
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers:   []smartauth.IssuerConfig{cognitoIssuerConfig(cognitoIssuer, ks)},
		Now:       fixedNow,
		Endpoints: []string{testEndpoint}, // client_id does not bind tokens to a data store
		Cache:     cache,
	})
	if err != nil {
		b.Fatal(err)
	}
	// Cognito access tokens carry kid and alg only. The launch context
	// (patient, fhirUser) comes from a pre-token-generation trigger: without
	// a patient, patient/ scopes grant nothing.
	claims := cognitoClaims("patient", "456", "fhirUser", "Practitioner/123")
	raw := testjwt.SignJWX(b, "RS256", rsaKey(), map[string]any{"kid": "rs256"}, []byte(mustJSON(b, claims)))
	return v, raw
}

// keycloakBenchSetup is a Keycloak realm validator (RS256-2048, aud must
// name the data store, payload typ Bearer) and an access token for it with
// an aud array, realm and client roles (~1.1 KiB).
func keycloakBenchSetup(b testing.TB) (*smartauth.Validator, string) {
	b.Helper()
	ks, err := smartauth.NewStaticKeySetFromKeys(&smartauth.Key{ID: "rs256", Algorithm: "RS256", Public: &rsaKey().PublicKey})
	if err != nil {
		b.Fatal(err)
	}
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:    testIssuer,
			KeySet:    ks,
			Audience:  smartauth.EndpointAudience(),
			TokenKind: smartauth.RequirePayloadType("Bearer"),
		}},
		Now: fixedNow,
	})
	if err != nil {
		b.Fatal(err)
	}
	raw := mintKid(b, "rs256", keycloakClaims("aud", []string{"account", testEndpoint}))
	return v, raw
}

// unknownIssuerToken is a well-formed token, signed, from an issuer no
// validator here trusts.
func unknownIssuerToken(b testing.TB) string {
	b.Helper()
	return testjwt.SignJWX(b, "RS256", rsaKeyB(), map[string]any{"kid": "rs256"}, []byte(mustJSON(b, cognitoClaims("iss", "https://evil.example.com"))))
}

// BenchmarkValidateCold is a full Validate (cache off) of the Cognito
// access token that BenchmarkRawRS256Verify verifies.
func BenchmarkValidateCold(b *testing.B) {
	benchValidate(b, benchSetup)
}

// benchValidate measures Validate on the token setup returns; the token
// must be valid.
func benchValidate(b *testing.B, setup func(testing.TB) (*smartauth.Validator, string)) {
	v, raw := setup(b)
	ctx := context.Background()
	if _, err := v.Validate(ctx, raw, testEndpoint); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := v.Validate(ctx, raw, testEndpoint); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawRS256Verify is the floor: hash the same signing input and
// verify the same RS256-2048 signature with crypto/rsa, nothing else.
func BenchmarkRawRS256Verify(b *testing.B) {
	_, raw := benchSetup(b)
	i := strings.LastIndexByte(raw, '.')
	input := []byte(raw[:i])
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := &rsaKey().PublicKey
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		h := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateUnknownIssuer is the cost of refusing a well-formed token
// from an unconfigured issuer (steps 1-5, no crypto): what a flood of
// foreign tokens costs.
func BenchmarkValidateUnknownIssuer(b *testing.B) {
	v, _ := benchSetup(b)
	raw := unknownIssuerToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := v.Validate(ctx, raw, testEndpoint); err == nil {
			b.Fatal("accepted")
		}
	}
}
