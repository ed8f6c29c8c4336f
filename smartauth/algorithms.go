package smartauth

import (
	"crypto/elliptic"

	"github.com/lestrrat-go/jwx/v3/jwa"
)

// algorithm is one entry of the JWS allow-list.
type algorithm struct {
	name  string
	kty   string                        // JWK kty the algorithm needs
	jwa   func() jwa.SignatureAlgorithm // jwx's value for it
	curve func() elliptic.Curve         // ECDSA only
}

// algorithms is the closed JWS allow-list, the one place the accepted
// algorithms are named: asymmetric only; HS*, none and anything else are
// never accepted. It is never modified.
var algorithms = [...]algorithm{
	{"RS256", "RSA", jwa.RS256, nil}, {"RS384", "RSA", jwa.RS384, nil}, {"RS512", "RSA", jwa.RS512, nil},
	{"PS256", "RSA", jwa.PS256, nil}, {"PS384", "RSA", jwa.PS384, nil}, {"PS512", "RSA", jwa.PS512, nil},
	{"ES256", "EC", jwa.ES256, elliptic.P256}, {"ES384", "EC", jwa.ES384, elliptic.P384},
	{"ES512", "EC", jwa.ES512, elliptic.P521}, {"EdDSA", "OKP", jwa.EdDSA, nil},
}

// findAlgorithm returns the allow-listed algorithm named alg, or nil. Its
// name is a constant: a header's alg keeps no token memory.
func findAlgorithm[T string | []byte](alg T) *algorithm {
	for i := range algorithms {
		if string(alg) == algorithms[i].name {
			return &algorithms[i]
		}
	}
	return nil
}
