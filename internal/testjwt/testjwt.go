// Package testjwt is the one place tests sign tokens and build JWKS
// documents: claim fixtures, claim edits, keys, jwx signing. It is for tests
// only, imports no test framework and no package of this module, so every
// test package (smartauth's own included) can use it.
package testjwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // crypto.SHA256.New
	_ "crypto/sha512" // crypto.SHA384.New, crypto.SHA512.New
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"strings"
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

// Omit as an Override value deletes the claim.
var Omit = omitted{}

type omitted struct{}

// Override returns a copy of claims with kv (name, value pairs) applied; a
// value of Omit deletes the claim.
func Override(claims map[string]any, kv []any) map[string]any {
	out := make(map[string]any, len(claims)+len(kv)/2)
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if _, del := kv[i+1].(omitted); del {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
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
	hdr := map[string]any{jws.KeyIDKey: kid}
	if typ != "" {
		hdr[jws.TypeKey] = typ
	}
	return SignJWX(t, alg.String(), priv, hdr, payload)
}

// SignJWX signs payload with jwx (as an IdP would). hdr holds the protected
// header members besides alg, which jwx adds.
func SignJWX(t testing.TB, alg string, priv crypto.Signer, hdr map[string]any, payload []byte) string {
	t.Helper()
	a, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		t.Fatalf("testjwt: unknown alg %q", alg)
	}
	h := jws.NewHeaders()
	for k, v := range hdr {
		if err := h.Set(k, v); err != nil {
			t.Fatalf("testjwt: header %s: %v", k, err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(a, priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatalf("testjwt: sign: %v", err)
	}
	return string(out)
}

// SignRaw assembles base64url(header) "." base64url(payload) "." sig by
// hand, for what jwx would refuse to produce: duplicate members, odd
// headers, alg none, HS256 keyed with an RSA public key, DER ECDSA
// signatures ("ES256-DER"). key is a crypto.Signer or, for HS*, a []byte.
func SignRaw(t testing.TB, alg string, key any, headerJSON, payloadJSON string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(headerJSON)) + "." + enc([]byte(payloadJSON))
	return input + "." + enc(Signature(t, alg, key, []byte(input)))
}

// Signature signs input (the JWS signing input). ES* signatures are JWS R||S unless alg carries
// the suffix "-DER" (ASN.1, as crypto/ecdsa produces by default).
func Signature(t testing.TB, alg string, key any, input []byte) []byte {
	t.Helper()
	der := strings.HasSuffix(alg, "-DER")
	alg = strings.TrimSuffix(alg, "-DER")
	if alg == "none" {
		return nil
	}
	if alg == "EdDSA" {
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	}
	h := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}[alg[2:]]
	if strings.HasPrefix(alg, "HS") {
		m := hmac.New(h.New, key.([]byte))
		m.Write(input)
		return m.Sum(nil)
	}
	d := h.New()
	d.Write(input)
	digest := d.Sum(nil)
	var (
		sig []byte
		err error
	)
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), h, digest)
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		k := key.(*ecdsa.PrivateKey)
		if der {
			sig, err = ecdsa.SignASN1(rand.Reader, k, digest)
			break
		}
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k, digest); err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	default:
		t.Fatalf("testjwt: unsupported alg %q", alg)
	}
	if err != nil {
		t.Fatalf("testjwt: sign: %v", err)
	}
	return sig
}

// sharedRSAKey is generated once per test binary: key generation is slow.
var sharedRSAKey = sync.OnceValue(NewRSAKey)

// RSAKey returns a 2048-bit RSA key shared by every caller in the test
// binary.
func RSAKey() *rsa.PrivateKey { return sharedRSAKey() }

// NewRSAKey generates a fresh 2048-bit RSA key (it panics if it cannot).
func NewRSAKey() *rsa.PrivateKey { return NewRSAKeyBits(2048) }

// NewRSAKeyBits generates a fresh RSA key of the given size.
func NewRSAKeyBits(bits int) *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, bits)) }

// NewEdKey generates a fresh Ed25519 key.
func NewEdKey() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return must(k, err)
}

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
