package smartauth

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7517 §4.8)
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// invalidJWK prefixes the reason of an entry jwx cannot parse.
const invalidJWK = dropInvalidJWK + ": "

// TestParseJWKSLoadPolicy has one row per admitted key type and one per
// drop reason (catalogue rows 2, 28, 30). Each document also holds an
// anchor key, so a drop never empties the set.
func TestParseJWKSLoadPolicy(t *testing.T) {
	keys := ksTestKeys()
	e3 := keys.rsa2048.PublicKey
	e3.E = 3
	longKid := strings.Repeat("k", maxKidLen+1)

	tests := []struct {
		name       string
		entry      map[string]any
		wantReason string // "" = admitted; for invalidJWK, a prefix of the reason
	}{
		// Admitted.
		{"RS256 2048", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "use": "sig"}), ""},
		{"RS512 no use", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS512"}), ""},
		{"PS256", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "PS256"}), ""},
		{"ES256 P-256", ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": "k", "alg": "ES256"}), ""},
		{"ES384 P-384", ksJWK(t, &keys.p384.PublicKey, map[string]any{"kid": "k", "alg": "ES384"}), ""},
		{"ES512 P-521", ksJWK(t, &keys.p521.PublicKey, map[string]any{"kid": "k", "alg": "ES512"}), ""},
		{"EdDSA Ed25519", ksJWK(t, keys.ed.Public(), map[string]any{"kid": "k", "alg": "EdDSA"}), ""},
		{"key_ops verify", ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": "k", "alg": "ES256", "key_ops": []string{"verify"}}), ""},
		{"kid of 256 bytes", ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": longKid[:maxKidLen], "alg": "ES256"}), ""},

		// Dropped.
		{"RSA 1024", ksRawRSA(&keys.rsa1024.PublicKey, "k", "RS256"), invalidJWK + "rsa modulus too small"},
		{"RSA e=3", ksJWK(t, &e3, map[string]any{"kid": "k", "alg": "RS256"}), dropRSAExponent},
		{"HS256 oct", ksJWK(t, []byte("0123456789abcdef0123456789abcdef"), map[string]any{"kid": "k", "alg": "HS256"}), dropSymmetric},
		{"oct without alg", ksJWK(t, []byte("0123456789abcdef0123456789abcdef"), map[string]any{"kid": "k"}), dropSymmetric},
		{"Keycloak RSA-OAEP enc", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RSA-OAEP", "use": "enc"}), dropUse},
		{"RSA-OAEP without use", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RSA-OAEP"}), dropAlgNotAllowed},
		{"alg none", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "none"}), dropAlgNotAllowed},
		{"missing alg", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k"}), dropNoAlg},
		{"empty alg", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": ""}), invalidJWK + "invalid key algorithm"},
		{"unknown alg", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS1"}), invalidJWK + "invalid key algorithm"},
		{"missing kid", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"alg": "RS256"}), dropNoKid},
		{"empty kid", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "", "alg": "RS256"}), dropNoKid},
		{"kid too long", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": longKid, "alg": "RS256"}), dropKidTooLong},
		{"kid not a string", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": 7, "alg": "RS256"}), invalidJWK},
		{"use enc on RS256", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "use": "enc"}), dropUse},
		{"key_ops without verify", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "key_ops": []string{"encrypt"}}), dropKeyOps},
		{"ES384 on P-256", ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": "k", "alg": "ES384"}), dropCurveMismatch},
		{"ES256 on P-521", ksJWK(t, &keys.p521.PublicKey, map[string]any{"kid": "k", "alg": "ES256"}), dropCurveMismatch},
		{"EdDSA on X25519", ksJWK(t, keys.x25519.PublicKey(), map[string]any{"kid": "k", "alg": "EdDSA"}), dropCurveMismatch},
		{"RS256 on EC key", ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": "k", "alg": "RS256"}), dropKtyMismatch},
		{"ES256 on RSA key", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "ES256"}), dropKtyMismatch},
		{"EdDSA on RSA key", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "EdDSA"}), dropKtyMismatch},
		{"RSA private key", ksJWK(t, keys.rsa2048, map[string]any{"kid": "k", "alg": "RS256"}), dropPrivate},
		{"EC private key", ksJWK(t, keys.p256, map[string]any{"kid": "k", "alg": "ES256"}), dropPrivate},
		{"Ed25519 private key", ksJWK(t, keys.ed, map[string]any{"kid": "k", "alg": "EdDSA"}), dropPrivate},
		{"EC point off curve", ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": "k", "alg": "ES256",
			"x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "y": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}), invalidJWK + "P256 point not on curve"},
		{"RSA modulus not base64url", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "n": "###"}), invalidJWK},
		{"unknown kty", map[string]any{"kty": "XYZ", "kid": "k", "alg": "RS256"}, invalidJWK + "invalid key type"},
		{"public key with private member", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "p": "AQAB"}), dropPrivate},
		{"use not a string", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "use": 5}), invalidJWK},
		{"key_ops not an array", ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": "k", "alg": "ES256", "key_ops": "verify"}), invalidJWK},
		{"member case smuggling", ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "KID": "other"}), ""},
	}
	anchor := ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": "anchor", "alg": "RS256"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, dropped, err := ParseJWKS(ksDoc(t, anchor, tc.entry))
			require.NoError(t, err)
			require.Contains(t, got, "anchor")
			kid, _ := tc.entry["kid"].(string)
			if tc.wantReason == "" {
				assert.Empty(t, dropped)
				require.Contains(t, got, kid)
				k := got[kid]
				assert.Equal(t, kid, k.ID)
				assert.Equal(t, tc.entry["alg"], k.Algorithm)
				return
			}
			assert.Len(t, got, 1)
			if len(dropped) == 1 && strings.HasPrefix(tc.wantReason, invalidJWK) {
				// jwx refused the entry; its cause follows the prefix.
				assert.True(t, strings.HasPrefix(dropped[0].Reason, tc.wantReason), "reason %q", dropped[0].Reason)
				dropped[0].Reason = tc.wantReason
			}
			want := []DroppedKey{{Index: 1, ID: truncateKid(kid), Reason: tc.wantReason}}
			if diff := cmp.Diff(want, dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseJWKSDuplicateKid drops every entry sharing a kid, whatever the
// other entries' fate.
func TestParseJWKSDuplicateKid(t *testing.T) {
	keys := ksTestKeys()
	doc := ksDoc(t,
		ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "dup", "alg": "RS256"}),
		ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": "ok", "alg": "ES256"}),
		ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "dup", "alg": "PS256"}),
		ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": "enc", "alg": "RSA-OAEP", "use": "enc"}),
		ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": "enc", "alg": "RS256", "use": "sig"}),
	)
	got, dropped, err := ParseJWKS(doc)
	require.NoError(t, err)
	assert.Equal(t, []string{"ok"}, ksMapKeys(got))
	want := []DroppedKey{
		{Index: 3, ID: "enc", Reason: dropUse},
		{Index: 0, ID: "dup", Reason: dropDuplicateKid},
		{Index: 2, ID: "dup", Reason: dropDuplicateKid},
		{Index: 4, ID: "enc", Reason: dropDuplicateKid},
	}
	if diff := cmp.Diff(want, dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
}

func TestParseJWKSDocumentErrors(t *testing.T) {
	keys := ksTestKeys()
	many := make([]map[string]any, maxJWKSEntries+1)
	for i := range many {
		many[i] = map[string]any{}
	}
	tests := []struct {
		name        string
		doc         []byte
		want        error
		wantDropped int
	}{
		{"empty input", nil, ErrJWKSInvalid, 0},
		{"HTML", []byte("<html>oops</html>"), ErrJWKSInvalid, 0},
		{"JSON array", []byte(`[{"kty":"RSA"}]`), ErrJWKSInvalid, 0},
		{"JSON null", []byte(`null`), ErrJWKSInvalid, 0},
		{"truncated", []byte(`{"keys":[{"kty":"RSA"`), ErrJWKSInvalid, 0},
		{"no keys member", []byte(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`), ErrJWKSInvalid, 0},
		{"keys wrong case", []byte(`{"KEYS":[]}`), ErrJWKSInvalid, 0},
		{"keys null", []byte(`{"keys":null}`), ErrJWKSInvalid, 0},
		{"keys object", []byte(`{"keys":{}}`), ErrJWKSInvalid, 0},
		{"too many entries", ksDoc(t, many...), ErrJWKSInvalid, 0},
		{"empty keys", []byte(`{"keys":[]}`), ErrNoUsableKeys, 0},
		{"only junk entries", []byte(`{"keys":[1,"x",null,[]]}`), ErrNoUsableKeys, 4},
		{"only dropped keys", ksDoc(t,
			ksRawRSA(&keys.rsa1024.PublicKey, "weak", "RS256"),
			ksJWK(t, []byte("0123456789abcdef0123456789abcdef"), map[string]any{"kid": "hs", "alg": "HS256"}),
		), ErrNoUsableKeys, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, dropped, err := ParseJWKS(tc.doc)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, got)
			assert.Len(t, dropped, tc.wantDropped)
		})
	}
}

func TestParseJWKSIgnoresUnknownMembers(t *testing.T) {
	keys := ksTestKeys()
	entry := ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "k", "alg": "RS256", "x-vendor": map[string]any{"a": 1}})
	data, err := json.Marshal(map[string]any{"keys": []any{entry}, "extra": true})
	require.NoError(t, err)
	got, dropped, err := ParseJWKS(data)
	require.NoError(t, err)
	assert.Empty(t, dropped)
	assert.Contains(t, got, "k")
	require.NoError(t, ksVerify(t, got["k"], ksSign(t, keys.rsa2048, "RS256", "k")))
}

// TestParseJWKSProviderShapes loads documents shaped like the ones Keycloak
// (sig key with x5c/x5t plus an RSA-OAEP enc key) and Cognito (two RS256
// keys) publish.
func TestParseJWKSProviderShapes(t *testing.T) {
	keys := ksTestKeys()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "realm"},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &keys.rsa2048.PublicKey, keys.rsa2048)
	require.NoError(t, err)
	s1 := sha1.Sum(der) //nolint:gosec // see import
	s256 := sha256.Sum256(der)
	keycloak := ksDoc(t,
		ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{
			"kid": "kc-sig", "alg": "RS256", "use": "sig",
			"x5c":      []string{base64.StdEncoding.EncodeToString(der)},
			"x5t":      base64.RawURLEncoding.EncodeToString(s1[:]),
			"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:]),
		}),
		ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": "kc-enc", "alg": "RSA-OAEP", "use": "enc"}),
	)
	got, dropped, err := ParseJWKS(keycloak)
	require.NoError(t, err)
	assert.Equal(t, []string{"kc-sig"}, ksMapKeys(got))
	assert.Equal(t, []DroppedKey{{Index: 1, ID: "kc-enc", Reason: dropUse}}, dropped)
	require.NoError(t, ksVerify(t, got["kc-sig"], ksSign(t, keys.rsa2048, "RS256", "kc-sig")))

	cognito := ksDoc(t,
		ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": "c1", "alg": "RS256", "use": "sig"}),
		ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": "c2", "alg": "RS256", "use": "sig"}),
	)
	got, dropped, err = ParseJWKS(cognito)
	require.NoError(t, err)
	assert.Len(t, got, 2)
	assert.Empty(t, dropped)
}

func ksMapKeys(m map[string]*Key) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// BenchmarkParseJWKS loads a Keycloak-shaped document: two signing keys and
// an encryption key the policy drops.
func BenchmarkParseJWKS(b *testing.B) {
	keys := ksTestKeys()
	doc := ksDoc(b,
		ksJWK(b, &keys.rsa2048.PublicKey, map[string]any{"kid": "rsa", "alg": "RS256", "use": "sig"}),
		ksJWK(b, &keys.p256.PublicKey, map[string]any{"kid": "ec", "alg": "ES256"}),
		ksJWK(b, &keys.rsa2048b.PublicKey, map[string]any{"kid": "enc", "alg": "RSA-OAEP", "use": "enc"}),
	)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseJWKS(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseJWKS: ParseJWKS never panics, every admitted key passes the
// policy for keys built in code under its own kid, and no entry is both
// admitted and dropped.
func FuzzParseJWKS(f *testing.F) {
	keys := ksTestKeys()
	f.Add(ksDoc(f,
		ksJWK(f, &keys.rsa2048.PublicKey, map[string]any{"kid": "rsa", "alg": "RS256", "use": "sig"}),
		ksJWK(f, &keys.p256.PublicKey, map[string]any{"kid": "ec", "alg": "ES256", "key_ops": []string{"verify"}}),
		ksJWK(f, keys.ed.Public(), map[string]any{"kid": "ed", "alg": "EdDSA"}),
		ksJWK(f, keys.p256, map[string]any{"kid": "priv", "alg": "ES256"}),
		ksRawRSA(&keys.rsa1024.PublicKey, "weak", "RS256"),
	))
	f.Add([]byte(`{"keys":[1,"x",null,[],{"kty":"oct","k":"AA","kid":"s"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","alg":"ES256","x":"AQ","y":"AQ"}],"keys":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, dropped, err := ParseJWKS(data)
		if err != nil {
			require.Nil(t, got)
			return
		}
		require.NotEmpty(t, got)
		for kid, k := range got {
			require.Equal(t, kid, k.ID)
			require.Empty(t, validateKey(k), "admitted key %q fails the policy", kid)
		}
		for _, d := range dropped {
			require.NotEmpty(t, d.Reason)
			if d.Reason != dropDuplicateKid {
				continue
			}
			require.NotContains(t, got, d.ID, "a duplicate kid is never admitted")
		}
	})
}
