package smartauth

import (
	"crypto/elliptic"

	"github.com/lestrrat-go/jwx/v3/jwa"
)

// algorithms is the closed JWS allow-list, the one place the accepted
// algorithms are named: asymmetric only; HS*, none and anything else are
// never accepted. It is never modified.
var algorithms = [...]struct {
	name string
	kty  string                        // JWK kty the algorithm needs
	jwa  func() jwa.SignatureAlgorithm // jwx's value for it
}{
	{"RS256", "RSA", jwa.RS256}, {"RS384", "RSA", jwa.RS384}, {"RS512", "RSA", jwa.RS512},
	{"PS256", "RSA", jwa.PS256}, {"PS384", "RSA", jwa.PS384}, {"PS512", "RSA", jwa.PS512},
	{"ES256", "EC", jwa.ES256}, {"ES384", "EC", jwa.ES384}, {"ES512", "EC", jwa.ES512},
	{"EdDSA", "OKP", jwa.EdDSA},
}

// canonicalAlgorithm returns the allow-listed algorithm name equal to alg
// (a constant, so no token memory is retained), or "".
func canonicalAlgorithm(alg []byte) string {
	for _, a := range algorithms {
		if string(alg) == a.name {
			return a.name
		}
	}
	return ""
}

// ktyForAlg returns the JWK kty an allowed algorithm needs; ok is false for
// algorithms outside the allow-list.
func ktyForAlg(alg string) (kty string, ok bool) {
	for _, a := range algorithms {
		if alg == a.name {
			return a.kty, true
		}
	}
	return "", false
}

// ellipticCurve returns the curve of an ECDSA algorithm, or nil.
func ellipticCurve(alg string) elliptic.Curve {
	switch alg {
	case "ES256":
		return elliptic.P256()
	case "ES384":
		return elliptic.P384()
	case "ES512":
		return elliptic.P521()
	}
	return nil
}
