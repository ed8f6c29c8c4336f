// Package testjwt holds the token-minting helpers that the provider tests
// share: claim fixtures, claim edits and jwx signing. It is for tests only
// and imports no test framework.
package testjwt

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"os"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Claims loads a token payload fixture, keeping numbers as json.Number so
// they are re-encoded byte for byte.
func Claims(t testing.TB, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("testjwt: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("testjwt: %s: %v", path, err)
	}
	return m
}

// With returns a copy of claims with the given members set; a nil value
// deletes the member.
func With(claims map[string]any, set map[string]any) map[string]any {
	out := make(map[string]any, len(claims)+len(set))
	for k, v := range claims {
		out[k] = v
	}
	for k, v := range set {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// Sign returns a compact JWS over claims signed with jwx; the protected
// header holds alg, kid and, when typ is not empty, typ.
func Sign(t testing.TB, priv crypto.Signer, alg jwa.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("testjwt: %v", err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatalf("testjwt: %v", err)
	}
	if typ != "" {
		if err := hdr.Set(jws.TypeKey, typ); err != nil {
			t.Fatalf("testjwt: %v", err)
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(alg, priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatalf("testjwt: sign: %v", err)
	}
	return string(tok)
}

// Authorizer wraps v in a healthlake.Authorizer that answers with roleARN.
func Authorizer(t testing.TB, v *smartauth.Validator, roleARN string) *healthlake.Authorizer {
	t.Helper()
	a, err := healthlake.New(v, healthlake.Config{RoleARN: roleARN})
	if err != nil {
		t.Fatalf("testjwt: %v", err)
	}
	return a
}

// Authorize runs v's HealthLake mapping (answering with roleARN) for one
// event and returns the decision and the response JSON.
func Authorize(t testing.TB, v *smartauth.Validator, roleARN, endpoint, operation, token string) (healthlake.Decision, string) {
	t.Helper()
	d := Authorizer(t, v, roleARN).Authorize(context.Background(), healthlake.Event{
		DatastoreEndpoint: endpoint,
		BearerToken:       token,
		OperationName:     operation,
	})
	out, err := healthlake.MarshalResponse(&d.Response)
	if err != nil {
		t.Fatalf("testjwt: %v", err)
	}
	return d, string(out)
}
