package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"
)

// The one issuer, key and data store every contender is configured for.
const (
	issuer    = "https://keycloak.example.awsapprunner.com/realms/smart"
	endpoint  = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	kid       = "bench-rs256"
	typBearer = "Bearer"
)

// fixture holds one RS256-2048 key, its JWKS and the tokens the benchmark
// and the acceptance test use.
type fixture struct {
	key  *rsa.PrivateKey
	jwks []byte // {"keys":[the public key, kid, alg RS256, use sig]}
	jwk  map[string]string

	good     string // valid for issuer and endpoint, now
	wrongAud string // valid except aud names another data store
	expired  string // valid except exp (and iat) lie an hour in the past
	badSig   string // good with its last signature byte changed
	idToken  string // valid except payload typ is "ID" (not an access token)
}

func newFixture(now time.Time) (*fixture, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	f := &fixture{key: key}
	f.jwk = map[string]string{
		"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64(key.N.Bytes()),
		"e": b64(big.NewInt(int64(key.E)).Bytes()),
	}
	if f.jwks, err = json.Marshal(map[string]any{"keys": []any{f.jwk}}); err != nil {
		return nil, err
	}
	if f.good, err = f.mint(smartClaims(now, endpoint)); err != nil {
		return nil, err
	}
	if f.wrongAud, err = f.mint(smartClaims(now, "https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/")); err != nil {
		return nil, err
	}
	if f.expired, err = f.mint(smartClaims(now.Add(-2*time.Hour), endpoint)); err != nil {
		return nil, err
	}
	id := smartClaims(now, endpoint)
	id["typ"] = "ID"
	if f.idToken, err = f.mint(id); err != nil {
		return nil, err
	}
	last := f.good[len(f.good)-1]
	f.badSig = f.good[:len(f.good)-1] + map[bool]string{true: "A", false: "Q"}[last != 'A']
	return f, nil
}

// smartClaims is a Keycloak access token for a SMART app launched for a
// patient, issued at iat and valid for an hour (~1 KiB once signed).
func smartClaims(iat time.Time, aud string) map[string]any {
	return map[string]any{
		"exp":                iat.Add(time.Hour).Unix(),
		"iat":                iat.Unix(),
		"auth_time":          iat.Unix() - 5,
		"jti":                "onrtac:6b0a3f0e-3f4c-4d8e-9a52-1f6c2b9e7d41",
		"iss":                issuer,
		"aud":                aud,
		"sub":                "5c1f0d2e-8a8b-4c7e-b1f6-2d3e4f5a6b7c",
		"typ":                typBearer,
		"azp":                "smart-app",
		"sid":                "0e5d7a3b-9c1f-4b2e-8d6a-7f3e2c1b0a98",
		"scope":              "openid fhirUser launch/patient offline_access patient/Patient.rs patient/Observation.rs patient/Condition.rs patient/MedicationRequest.rs patient/AllergyIntolerance.rs",
		"fhirUser":           "Practitioner/9f2d4c6e-1a3b-4d5f-8e7a-0b9c8d7e6f5a",
		"patient":            "3b7e9f1a-2c4d-4e6f-8a0b-1c2d3e4f5a6b",
		"preferred_username": "dr.jones",
		"email_verified":     true,
	}
}

// mint signs claims with RS256 using crypto/rsa directly, so no contender's
// library produced the token.
func (f *fixture) mint(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	h := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, h[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// nodeFixture is what the node side reads: the token, the JWK and the
// expected issuer and audience.
func (f *fixture) nodeFixture() ([]byte, error) {
	b, err := json.Marshal(map[string]any{
		"issuer": issuer, "audience": endpoint, "jwk": f.jwk,
		"good": f.good, "wrongAud": f.wrongAud, "expired": f.expired, "badSig": f.badSig, "idToken": f.idToken,
	})
	if err != nil {
		return nil, fmt.Errorf("node fixture: %w", err)
	}
	return b, nil
}
