// Package testjwt is the one place tests sign tokens and build JWKS
// documents: claim fixtures, claim edits, keys, jwx signing. It is for tests
// only, imports no test framework and no package of this module, so every
// test package (smartauth's own included) can use it.
package testjwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
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

// sharedRSAKey is generated once per test binary: key generation is slow.
var sharedRSAKey = sync.OnceValue(NewRSAKey)

// RSAKey returns a 2048-bit RSA key shared by every caller in the test
// binary.
func RSAKey() *rsa.PrivateKey { return sharedRSAKey() }

// NewRSAKey generates a fresh 2048-bit RSA key (it panics if it cannot).
func NewRSAKey() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) }

// NewECKey generates a fresh ECDSA key on c.
func NewECKey(c elliptic.Curve) *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(c, rand.Reader)) }

func must[K any](k K, err error) K {
	if err != nil {
		panic("testjwt: " + err.Error())
	}
	return k
}

// PublicJWK is one entry of a JWKS built by JWKS.
type PublicJWK struct {
	Kid string
	Alg jwa.SignatureAlgorithm
	Key crypto.Signer // its public half is published
}

// JWKS returns a JWKS document with the public halves of keys, each with
// its kid and alg.
func JWKS(t testing.TB, keys ...PublicJWK) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.Import(k.Key.Public())
		if err != nil {
			t.Fatalf("testjwt: %v", err)
		}
		if err := pub.Set(jwk.KeyIDKey, k.Kid); err != nil {
			t.Fatalf("testjwt: %v", err)
		}
		if err := pub.Set(jwk.AlgorithmKey, k.Alg); err != nil {
			t.Fatalf("testjwt: %v", err)
		}
		if err := set.AddKey(pub); err != nil {
			t.Fatalf("testjwt: %v", err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatalf("testjwt: %v", err)
	}
	return b
}
