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

// Errors about JWKS documents. They are not token checks, so they are kept
// apart from the per-check sentinels: a key set reports them to its error
// hook or wraps them in the error of a constructor, Hydrate or Refresh.
var (
	// ErrJWKSInvalid is wrapped when a JWKS document as a whole cannot be
	// used: it is not JSON, has no "keys" array, or has too many entries.
	ErrJWKSInvalid = errors.New("smartauth: JWKS document invalid")
	// ErrNoUsableKeys is wrapped when a JWKS document parsed but the load
	// policy admitted none of its keys (or "keys" was empty). A remote key
	// set keeps serving its last good set in that case.
	ErrNoUsableKeys = errors.New("smartauth: JWKS has no usable key")
	// ErrJWKSFetch is wrapped when fetching a JWKS failed: network error,
	// timeout, non-200 status, redirect, or a body over the size cap.
	ErrJWKSFetch = errors.New("smartauth: JWKS fetch failed")
)

const (
	// maxKidLen is the longest kid accepted, in bytes: in JWKS entries, in
	// key lookups and in the token header (pipeline step 4).
	maxKidLen = 256
	// maxJWKSEntries bounds the work done for one document.
	maxJWKSEntries = 1000
	// minRSABits is the smallest RSA modulus admitted.
	minRSABits = 2048
	// rsaExponent is the only RSA public exponent admitted.
	rsaExponent = 65537
)

// Reasons recorded in DroppedKey.Reason. They are stable strings meant for
// diagnostics; match on them only in tests.
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

// DroppedKey describes a JWKS entry that the load policy refused.
type DroppedKey struct {
	// Index is the entry's position in the document's "keys" array.
	Index int
	// ID is the entry's kid, empty when absent or not a string, cut to
	// 256 bytes when longer.
	ID string
	// Reason is a short human-readable cause, for example
	// "use is not \"sig\"", or "invalid JWK: " and jwx's cause for an
	// entry jwx cannot parse.
	Reason string
}

// privateMembers are the JWK members of private key material (RFC 7518 §6).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth"}

// ParseJWKS parses a JWKS document (RFC 7517 §5) and applies the key load
// policy. It returns the admitted keys by kid and the entries it dropped.
// Each entry is parsed once, by jwx (jwk.Parse); the policy reads that
// parse.
//
// A key is dropped, without failing the document, when:
//   - jwx cannot parse it: not a JSON object, a member of the wrong JSON
//     type, an unknown kty or alg value, an RSA modulus shorter than 2048
//     bits, an EC point off its curve, bad base64url;
//   - it is a symmetric ("oct") key;
//   - it carries private key members ("d", "p", "q", "dp", "dq", "qi",
//     "oth"): a private key published at a JWKS URL is compromised, so the
//     entry is dropped rather than reduced to its public part;
//   - "kid" is missing, empty, or longer than 256 bytes;
//   - "use" is present and not "sig";
//   - "key_ops" is present and lacks "verify";
//   - "alg" is missing (the algorithm is pinned per key, never inferred) or
//     not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384,
//     ES512, EdDSA;
//   - "kty" does not fit "alg" (RSA for RS*/PS*, EC for ES*, OKP for EdDSA);
//   - the RSA exponent is not 65537;
//   - the curve does not fit "alg" (P-256 for ES256, P-384 for ES384,
//     P-521 for ES512, Ed25519 for EdDSA);
//   - its kid appears on more than one entry of the document: every entry
//     with that kid is dropped, as the token's kid could not choose
//     between them.
//
// ParseJWKS fails as a whole, with an error wrapping ErrJWKSInvalid, when
// data is not a JSON object, has no "keys" array, or has more than 1000
// entries; and with an error wrapping ErrNoUsableKeys when no key is
// admitted (dropped is then still returned). ParseJWKS does NOT check
// x5c/x5t members, expiry of certificates, or any member other than those
// listed; unknown members are ignored.
func ParseJWKS(data []byte) (keys map[string]*Key, dropped []DroppedKey, err error) {
	// jwx reads a document without "keys" as a single bare JWK: refuse it
	// first (the member name is case-sensitive).
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrJWKSInvalid, err)
	}
	if _, ok := doc["keys"]; !ok {
		return nil, nil, fmt.Errorf(`%w: no "keys" member`, ErrJWKSInvalid)
	}
	// Non-strict: an entry jwx cannot parse becomes a jwk.UnsupportedKey
	// placeholder (dropped below) instead of failing the document.
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

// loadJWK applies the load policy to one parsed entry whose kid is kid. It
// returns the key, or a non-empty drop reason.
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
	wantKty, allowed := ktyForAlg(alg)
	switch {
	case kty == "oct":
		return nil, dropSymmetric
	case slices.ContainsFunc(privateMembers, jk.Has):
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
	case !allowed:
		return nil, dropAlgNotAllowed
	case kty != wantKty:
		return nil, dropKtyMismatch
	}
	var pub any // not crypto.PublicKey: jwk.Export assigns to *any only
	if err := jwk.Export(jk, &pub); err != nil {
		return nil, dropInvalidKey
	}
	if r := checkPublicKey(alg, pub); r != "" {
		return nil, r
	}
	return &Key{ID: kid, Algorithm: alg, Public: pub}, ""
}

// checkPublicKey applies the crypto part of the load policy to an exported
// public key. It returns "" when the key may verify alg.
func checkPublicKey(alg string, pub crypto.PublicKey) string {
	kty, ok := ktyForAlg(alg)
	if !ok {
		return dropAlgNotAllowed
	}
	switch kty {
	case "RSA":
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k == nil || k.N == nil {
			return dropKtyMismatch
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
		if k.Curve != ellipticCurve(alg) {
			return dropCurveMismatch
		}
		if _, err := k.ECDH(); err != nil { // rejects off-curve and infinity
			return dropInvalidKey
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

func truncateKid(kid string) string {
	if len(kid) > maxKidLen {
		return kid[:maxKidLen]
	}
	return kid
}

// validateKey applies the load policy to a Key built in code (see
// NewStaticKeySetFromKeys). It returns "" when the key is admitted.
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
	return checkPublicKey(k.Algorithm, k.Public)
}
