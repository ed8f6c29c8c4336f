package smartauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Errors about JWKS documents (not token checks), for RemoteOptions.OnError
// and the errors of constructors, Hydrate and Refresh.
var (
	// ErrJWKSInvalid: not JSON, no "keys" array, or too many entries.
	ErrJWKSInvalid = sentinel("JWKS document invalid", "jwks_invalid")
	// ErrNoUsableKeys: the load policy admitted no key.
	ErrNoUsableKeys = sentinel("JWKS has no usable key", "jwks_no_keys")
	// ErrJWKSFetch: network error, timeout, non-200 status, redirect, or a
	// body over the size cap.
	ErrJWKSFetch = sentinel("JWKS fetch failed", "jwks_fetch")
)

const (
	maxKidLen      = 256 // bytes: JWKS entries, key lookups, header (step 4)
	maxJWKSEntries = 1000
	minRSABits     = 2048
	rsaExponent    = 65537 // the only RSA public exponent admitted
)

// DroppedKey.Reason values, for diagnostics.
const (
	dropNilKey        = "nil key"
	dropInvalidJWK    = "invalid JWK"
	dropSymmetric     = "symmetric (oct) key"
	dropPrivate       = "private key material published"
	dropNoKid         = "missing kid"
	dropKidTooLong    = "kid longer than 256 bytes"
	dropUse           = `use is not "sig"`
	dropKeyOps        = `key_ops lacks "verify"`
	dropNoAlg         = "missing alg"
	dropAlgNotAllowed = "alg not allowed"
	dropKtyMismatch   = "kty does not fit alg"
	dropCurveMismatch = "curve does not fit alg"
	dropRSAModulus    = "RSA modulus shorter than 2048 bits"
	dropRSAExponent   = "RSA public exponent is not 65537"
	dropInvalidKey    = "invalid key material"
	dropDuplicateKid  = "duplicate kid"
)

// DroppedKey is a JWKS entry the load policy refused: its position in
// "keys", its kid (cut to 256 bytes; empty when absent) and a short cause.
type DroppedKey struct {
	Index  int
	ID     string
	Reason string
}

// ParseJWKS parses a JWKS document (RFC 7517 §5) once with jwx and applies
// the key load policy: it returns the admitted keys by kid and the entries
// it dropped. An entry is dropped when:
//   - jwx cannot parse it (wrong member types, unknown kty or alg, RSA
//     modulus under 2048 bits, EC point off its curve, bad base64url);
//   - it is a symmetric ("oct") key, or carries private members ("d", "p",
//     "q", "dp", "dq", "qi", "oth": such a key is compromised);
//   - "kid" is missing, empty or longer than 256 bytes;
//   - "use" is present and not "sig", or "key_ops" lacks "verify";
//   - "alg" is missing (never inferred) or not RS256, RS384, RS512, PS256,
//     PS384, PS512, ES256, ES384, ES512 or EdDSA;
//   - "kty" or the curve does not fit "alg" (RSA for RS*/PS*; P-256, P-384,
//     P-521 for ES256/384/512; Ed25519 for EdDSA), or the RSA exponent is
//     not 65537;
//   - its kid is on more than one entry: all of them are dropped.
//
// It fails with ErrJWKSInvalid when data is not a JSON object, has no
// "keys" array or over 1000 entries, and with ErrNoUsableKeys when no key is
// admitted (dropped is still returned). It does NOT check x5c/x5t,
// certificate expiry, or members not listed; unknown members are ignored.
func ParseJWKS(data []byte) (keys map[string]*Key, dropped []DroppedKey, err error) {
	// jwx would read a document without "keys" as one bare JWK.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrJWKSInvalid, err)
	}
	if _, ok := doc["keys"]; !ok {
		return nil, nil, fmt.Errorf(`%w: no "keys" member`, ErrJWKSInvalid)
	}
	// Non-strict: an unparsable entry becomes a jwk.UnsupportedKey (dropped).
	set, err := jwk.Parse(data, jwk.WithStrictKeySetParsing(false), jwk.WithMaxKeys(maxJWKSEntries))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrJWKSInvalid, err)
	}

	kidCount := make(map[string]int, set.Len())
	admitted := make([]int, 0, set.Len()) // indexes into set
	keys = make(map[string]*Key, set.Len())
	for i := range set.Len() {
		jk, _ := set.Key(i)
		kid, _ := jk.KeyID()
		if kid != "" {
			kidCount[kid]++
		}
		key, reason := loadJWK(jk, kid)
		if reason != "" {
			dropped = append(dropped, DroppedKey{Index: i, ID: truncateKid(kid), Reason: reason})
			continue
		}
		keys[kid] = key
		admitted = append(admitted, i)
	}
	for _, i := range admitted {
		jk, _ := set.Key(i)
		if kid, _ := jk.KeyID(); kidCount[kid] > 1 {
			dropped = append(dropped, DroppedKey{Index: i, ID: kid, Reason: dropDuplicateKid})
			delete(keys, kid)
		}
	}
	if len(keys) == 0 {
		return nil, dropped, fmt.Errorf("%w: %d of %d entries dropped", ErrNoUsableKeys, len(dropped), set.Len())
	}
	return keys, dropped, nil
}

// loadJWK applies the load policy to one entry: the key, or a drop reason.
func loadJWK(jk jwk.Key, kid string) (*Key, string) {
	if uk, ok := jk.(jwk.UnsupportedKey); ok {
		cause := uk.Reason()
		for u := errors.Unwrap(cause); u != nil; u = errors.Unwrap(cause) {
			cause = u // jwx's innermost cause is the informative one
		}
		return nil, dropInvalidJWK + ": " + cause.Error()
	}
	var alg string
	if a, ok := jk.Algorithm(); ok {
		alg = a.String()
	}
	use, hasUse := jk.KeyUsage()
	ops, hasOps := jk.KeyOps()
	kty := jk.KeyType().String()
	a := findAlgorithm(alg)
	switch {
	case kty == "oct":
		return nil, dropSymmetric
	case slices.ContainsFunc([]string{"d", "p", "q", "dp", "dq", "qi", "oth"}, jk.Has): // RFC 7518 §6
		return nil, dropPrivate
	case kid == "":
		return nil, dropNoKid
	case len(kid) > maxKidLen:
		return nil, dropKidTooLong
	case hasUse && use != "sig":
		return nil, dropUse
	case hasOps && !slices.Contains(ops, jwk.KeyOpVerify):
		return nil, dropKeyOps
	case alg == "":
		return nil, dropNoAlg
	case a == nil:
		return nil, dropAlgNotAllowed
	case kty != a.kty:
		return nil, dropKtyMismatch
	}
	var pub any // not crypto.PublicKey: jwk.Export assigns to *any only
	if err := jwk.Export(jk, &pub); err != nil {
		return nil, dropInvalidKey
	}
	if r := checkLoadedKey(alg, pub); r != "" {
		return nil, r
	}
	return &Key{ID: kid, Algorithm: alg, Public: pub}, ""
}

// checkLoadedKey is checkPublicKey, and an EC point on its curve (checked
// once at load; ECDSA verification refuses such keys too).
func checkLoadedKey(alg string, pub crypto.PublicKey) string {
	if r := checkPublicKey(alg, pub); r != "" {
		return r
	}
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		if _, err := k.ECDH(); err != nil { // rejects off-curve and infinity
			return dropInvalidKey
		}
	}
	return ""
}

// checkPublicKey is the crypto part of the load policy, also run on every
// key a token is verified with: "" when pub may verify alg, else a reason.
func checkPublicKey(alg string, pub crypto.PublicKey) string {
	a := findAlgorithm(alg)
	if a == nil {
		return dropAlgNotAllowed
	}
	switch a.kty {
	case "RSA":
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k == nil || k.N == nil {
			return dropKtyMismatch
		}
		if k.N.Sign() <= 0 { // a Key built in code; crypto/rsa would use |N|
			return dropInvalidKey
		}
		if k.N.BitLen() < minRSABits {
			return dropRSAModulus
		}
		if k.E != rsaExponent {
			return dropRSAExponent
		}
	case "EC":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k == nil {
			return dropKtyMismatch
		}
		// A Key built in code may lack them; crypto/ecdsa would panic.
		//lint:ignore SA1019 the coordinates are only tested for nil
		if k.X == nil || k.Y == nil {
			return dropInvalidKey
		}
		if k.Curve != a.curve() {
			return dropCurveMismatch
		}
	case "OKP":
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return dropCurveMismatch
		}
		if len(k) != ed25519.PublicKeySize {
			return dropInvalidKey
		}
	}
	return ""
}

func truncateKid(kid string) string { return kid[:min(len(kid), maxKidLen)] }

// validateKey is loadJWK for a Key built in code.
func validateKey(k *Key) string {
	switch {
	case k == nil:
		return dropNilKey
	case k.ID == "":
		return dropNoKid
	case len(k.ID) > maxKidLen:
		return dropKidTooLong
	case k.Algorithm == "":
		return dropNoAlg
	}
	return checkLoadedKey(k.Algorithm, k.Public)
}

// signatureSize is the length of pub's signatures (ECDSA: raw R||S, twice
// the byte length of the curve order); pub passed checkPublicKey.
func signatureSize(pub crypto.PublicKey) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k.Size()
	case *ecdsa.PublicKey:
		return 2 * ((k.Curve.Params().BitSize + 7) / 8)
	}
	return ed25519.SignatureSize
}
