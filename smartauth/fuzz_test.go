package smartauth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/healthlake-smart/smartauth-go/scopes"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// mapKeySet is a KeySet over a fixed map that, unlike testKeySet, keeps no
// record of lookups (fuzzing calls it millions of times).
type mapKeySet map[string]*smartauth.Key

func (m mapKeySet) Key(_ context.Context, kid string) (*smartauth.Key, error) {
	if k, ok := m[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: fuzz key set", smartauth.ErrKidNotFound)
}

// fuzzValidator is the default two-issuer validator over map key sets.
func fuzzValidator(tb testing.TB) *smartauth.Validator {
	tb.Helper()
	v, err := smartauth.NewValidator(baseConfig(mapKeySet(issuerAKeys()), mapKeySet(issuerBKeys())))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// checkValidateResult holds for every input: a rejection wraps exactly one
// sentinel with a reason code and never echoes the token; an acceptance
// yields a consistent token.
func checkValidateResult(t *testing.T, raw string, tok *smartauth.Token, err error) {
	t.Helper()
	if err != nil {
		if tok != nil {
			t.Fatalf("token returned with error %v", err)
		}
		if len(raw) > 40 && strings.Contains(err.Error(), raw) {
			t.Fatalf("error text contains the input: %q", err.Error())
		}
		if stripped := strings.TrimPrefix(strings.TrimPrefix(raw, "Bearer "), "bearer "); len(stripped) > 40 && strings.Contains(err.Error(), stripped) {
			t.Fatalf("error text contains the token: %q", err.Error())
		}
		if n := len(matchedSentinels(err)); n != 1 {
			t.Fatalf("error wraps %d sentinels: %v", n, err)
		}
		if smartauth.Reason(err) == "internal" {
			t.Fatalf("no reason code for %v", err)
		}
		return
	}
	if tok == nil || tok.Claims == nil {
		t.Fatal("nil token without error")
	}
	if tok.Issuer != testIssuer && tok.Issuer != otherIssuer {
		t.Fatalf("accepted issuer %q", tok.Issuer)
	}
	if !testNow.Before(time.Unix(tok.Claims.ExpiresAt, 0).Add(skew)) {
		t.Fatalf("accepted expired token, exp %d", tok.Claims.ExpiresAt)
	}
	for _, s := range tok.Scopes {
		if _, err := scopes.Parse(s.String()); err != nil {
			t.Fatalf("granted scope %q does not parse: %v", s.String(), err)
		}
	}
}

// FuzzValidate feeds arbitrary strings through the whole pipeline (pre-parse,
// header policy, payload and claim decoding, key lookup, signature). Seeds:
// real tokens of every alg and every catalogue input.
func FuzzValidate(f *testing.F) {
	for kid := range signers() {
		f.Add(mintKid(f, kid, keycloakClaims()))
	}
	f.Add(mint(f, cognitoClaims()))
	f.Add("Bearer " + mint(f, keycloakClaims()))
	for _, tc := range append(catalogueCases(), keyLoadCases()...) {
		f.Add(tc.token(f))
	}
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.e30", "Bearer ", "eyJ.eyJ.", strings.Repeat("A", 100)} {
		f.Add(s)
	}
	v := fuzzValidator(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := v.Validate(ctx, raw, testEndpoint)
		checkValidateResult(t, raw, tok, err)
	})
}

// FuzzValidateSignedPayload signs arbitrary payload bytes with a trusted
// Ed25519 key, so the fuzzer reaches the claim checks behind the signature
// (times, audience, token kind, scope parsing).
func FuzzValidateSignedPayload(f *testing.F) {
	for _, c := range []map[string]any{
		keycloakClaims(), keycloakClaims("scope", omit, "scp", []string{"patient/*.read", "openid"}),
		keycloakClaims("nbf", at(time.Second), "aud", []string{"a", testEndpoint}),
		keycloakClaims("scope", "patient/Observation.rs?category=laboratory user/*.cruds launch/patient"),
		keycloakClaims("iss", otherIssuer), keycloakClaims("typ", "ID"),
	} {
		f.Add(mustJSON(f, c))
	}
	for _, s := range []string{`{}`, `{"iss":"` + testIssuer + `"}`, `[]`, `null`, `{"exp":1e3}`} {
		f.Add(s)
	}
	v := fuzzValidator(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, payload string) {
		raw := rawKid(t, "eddsa", `{"alg":"EdDSA","kid":"eddsa"}`, payload)
		tok, err := v.Validate(ctx, raw, testEndpoint)
		checkValidateResult(t, raw, tok, err)
	})
}
