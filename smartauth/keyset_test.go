package smartauth

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
)

// ksKeys holds keys generated once per test binary: RSA generation is slow
// under -race.
type ksKeys struct {
	rsa2048  *rsa.PrivateKey
	rsa2048b *rsa.PrivateKey
	rsa1024  *rsa.PrivateKey
	p256     *ecdsa.PrivateKey
	p384     *ecdsa.PrivateKey
	p521     *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
	x25519   *ecdh.PrivateKey
}

var ksTestKeys = sync.OnceValue(func() *ksKeys {
	k := ksKeys{
		rsa2048: testjwt.RSAKey(), rsa2048b: testjwt.NewRSAKey(), rsa1024: testjwt.NewRSAKeyBits(1024),
		p256: testjwt.NewECKey(elliptic.P256()), p384: testjwt.NewECKey(elliptic.P384()), p521: testjwt.NewECKey(elliptic.P521()),
		ed: testjwt.NewEdKey(),
	}
	var err error
	if k.x25519, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return &k
})

// ksJWK builds a JWKS entry from a raw key with jwk.Import, then sets the
// given members (a nil value deletes the member). The result is a plain map
// so tests can publish members jwx would refuse to set.
func ksJWK(t testing.TB, raw any, members map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.Import(raw)
	require.NoError(t, err)
	data, err := json.Marshal(k)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for name, v := range members {
		if v == nil {
			delete(m, name)
			continue
		}
		m[name] = v
	}
	return m
}

// ksRawRSA builds an RSA JWK by hand, for keys jwk.Import refuses
// (modulus under 2048 bits).
func ksRawRSA(pub *rsa.PublicKey, kid, alg string) map[string]any {
	return map[string]any{
		"kty": "RSA",
		"kid": kid,
		"alg": alg,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func ksDoc(t testing.TB, entries ...map[string]any) []byte {
	t.Helper()
	if entries == nil {
		entries = []map[string]any{}
	}
	data, err := json.Marshal(map[string]any{"keys": entries})
	require.NoError(t, err)
	return data
}

// ksSign signs payload as a compact JWS with priv and alg, for tests that
// show a loaded key verifies real signatures.
func ksSign(t testing.TB, priv crypto.Signer, alg, kid string) []byte {
	t.Helper()
	return []byte(testjwt.SignJWX(t, alg, priv, map[string]any{"kid": kid}, []byte(`{"sub":"x"}`)))
}

func ksVerify(t testing.TB, key *Key, compact []byte) error {
	t.Helper()
	a, ok := jwa.LookupSignatureAlgorithm(key.Algorithm)
	require.True(t, ok)
	_, err := jws.Verify(compact, jws.WithKey(a, key.Public), jws.WithCompact())
	return err
}

func TestStaticKeySet(t *testing.T) {
	keys := ksTestKeys()
	doc := ksDoc(t,
		ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "rsa", "alg": "RS256", "use": "sig"}),
		ksJWK(t, keys.ed.Public(), map[string]any{"kid": "ed", "alg": "EdDSA"}),
		ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": "enc", "alg": "RSA-OAEP", "use": "enc"}),
	)
	ks, err := NewStaticKeySet(doc)
	require.NoError(t, err)

	k, err := ks.Key(t.Context(), "rsa")
	require.NoError(t, err)
	assert.Equal(t, "RS256", k.Algorithm)
	assert.True(t, keys.rsa2048.PublicKey.Equal(k.Public))
	require.NoError(t, ksVerify(t, k, ksSign(t, keys.rsa2048, "RS256", "rsa")))

	k, err = ks.Key(t.Context(), "ed")
	require.NoError(t, err)
	assert.Equal(t, "EdDSA", k.Algorithm)
	require.NoError(t, ksVerify(t, k, ksSign(t, keys.ed, "EdDSA", "ed")))

	_, err = ks.Key(t.Context(), "enc")
	require.ErrorIs(t, err, ErrKidNotFound)
	_, err = ks.Key(t.Context(), "")
	require.ErrorIs(t, err, ErrKidNotFound)
}

func TestNewStaticKeySetErrors(t *testing.T) {
	keys := ksTestKeys()
	tests := []struct {
		name  string
		doc   []byte
		wants []error
	}{
		{"not JSON", []byte("<html>"), []error{ErrConfig, ErrJWKSInvalid}},
		{"no keys", []byte(`{}`), []error{ErrConfig, ErrJWKSInvalid}},
		{"empty keys", []byte(`{"keys":[]}`), []error{ErrConfig, ErrNoUsableKeys}},
		{"all dropped", ksDoc(t, ksRawRSA(&keys.rsa1024.PublicKey, "weak", "RS256")), []error{ErrConfig, ErrNoUsableKeys}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := NewStaticKeySet(tc.doc)
			assert.Nil(t, ks)
			for _, want := range tc.wants {
				require.ErrorIs(t, err, want)
			}
		})
	}
}

func TestNewStaticKeySetFromKeys(t *testing.T) {
	keys := ksTestKeys()
	weak := keys.rsa2048.PublicKey
	weak.E = 3
	tests := []struct {
		name    string
		keys    []*Key
		wantErr bool
	}{
		{"rsa", []*Key{{ID: "a", Algorithm: "PS256", Public: &keys.rsa2048.PublicKey}}, false},
		{"several", []*Key{
			{ID: "a", Algorithm: "ES384", Public: &keys.p384.PublicKey},
			{ID: "b", Algorithm: "ES512", Public: &keys.p521.PublicKey},
			{ID: "c", Algorithm: "EdDSA", Public: keys.ed.Public()},
		}, false},
		{"none", nil, true},
		{"nil key", []*Key{nil}, true},
		{"no kid", []*Key{{Algorithm: "RS256", Public: &keys.rsa2048.PublicKey}}, true},
		{"no alg", []*Key{{ID: "a", Public: &keys.rsa2048.PublicKey}}, true},
		{"HS256", []*Key{{ID: "a", Algorithm: "HS256", Public: []byte("secret")}}, true},
		{"rsa 1024", []*Key{{ID: "a", Algorithm: "RS256", Public: &keys.rsa1024.PublicKey}}, true},
		{"rsa e=3", []*Key{{ID: "a", Algorithm: "RS256", Public: &weak}}, true},
		{"curve mismatch", []*Key{{ID: "a", Algorithm: "ES256", Public: &keys.p384.PublicKey}}, true},
		{"kty mismatch", []*Key{{ID: "a", Algorithm: "RS256", Public: &keys.p256.PublicKey}}, true},
		{"private key", []*Key{{ID: "a", Algorithm: "RS256", Public: keys.rsa2048}}, true},
		{"duplicate kid", []*Key{
			{ID: "a", Algorithm: "RS256", Public: &keys.rsa2048.PublicKey},
			{ID: "a", Algorithm: "ES256", Public: &keys.p256.PublicKey},
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := NewStaticKeySetFromKeys(tc.keys...)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrConfig)
				return
			}
			require.NoError(t, err)
			for _, want := range tc.keys {
				got, err := ks.Key(t.Context(), want.ID)
				require.NoError(t, err)
				assert.Equal(t, *want, *got)
				assert.NotSame(t, want, got, "keys are copied")
			}
		})
	}
}

// Runs without -race and -cover only, like TestRemoteKeySetKeyHitAllocFree.
func TestStaticKeySetKeyAllocFree(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	ks, err := NewStaticKeySetFromKeys(&Key{ID: "a", Algorithm: "ES256", Public: &ksTestKeys().p256.PublicKey})
	require.NoError(t, err)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ks.Key(ctx, "a"); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkStaticKeySetKey(b *testing.B) {
	ks, err := NewStaticKeySetFromKeys(
		&Key{ID: "a", Algorithm: "ES256", Public: &ksTestKeys().p256.PublicKey},
		&Key{ID: "b", Algorithm: "RS256", Public: &ksTestKeys().rsa2048.PublicKey},
	)
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ks.Key(ctx, "b"); err != nil {
			b.Fatal(err)
		}
	}
}
