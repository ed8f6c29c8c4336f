package smartauth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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
	dropMalformed     = "malformed JWK"
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
	// "RSA modulus shorter than 2048 bits".
	Reason string
}

// ParseJWKS parses a JWKS document (RFC 7517 §5) and applies the key load
// policy. It returns the admitted keys by kid and the entries it dropped.
//
// A key is dropped, without failing the document, when:
//   - it is not a JSON object or a member has the wrong JSON type;
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
//   - an RSA modulus is shorter than 2048 bits or the exponent is not 65537;
//   - an EC curve does not fit "alg" (P-256 for ES256, P-384 for ES384,
//     P-521 for ES512) or the point is invalid; an OKP curve is not Ed25519;
//   - jwx cannot parse or export the key material;
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
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrJWKSInvalid, err)
	}
	rawKeys, ok := doc["keys"]
	if !ok {
		return nil, nil, fmt.Errorf(`%w: no "keys" member`, ErrJWKSInvalid)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(rawKeys, &entries); err != nil || entries == nil {
		return nil, nil, fmt.Errorf(`%w: "keys" is not an array`, ErrJWKSInvalid)
	}
	if len(entries) > maxJWKSEntries {
		return nil, nil, fmt.Errorf(`%w: %d entries in "keys", at most %d allowed`,
			ErrJWKSInvalid, len(entries), maxJWKSEntries)
	}

	type candidate struct {
		index int
		key   *Key
	}
	kidCount := make(map[string]int, len(entries))
	admitted := make([]candidate, 0, len(entries))
	for i, raw := range entries {
		key, kid, reason := loadJWK(raw)
		if kid != "" {
			kidCount[kid]++
		}
		if reason != "" {
			dropped = append(dropped, DroppedKey{Index: i, ID: truncateKid(kid), Reason: reason})
			continue
		}
		admitted = append(admitted, candidate{index: i, key: key})
	}

	keys = make(map[string]*Key, len(admitted))
	for _, c := range admitted {
		if kidCount[c.key.ID] > 1 {
			dropped = append(dropped, DroppedKey{Index: c.index, ID: c.key.ID, Reason: dropDuplicateKid})
			continue
		}
		keys[c.key.ID] = c.key
	}
	if len(keys) == 0 {
		return nil, dropped, fmt.Errorf("%w: %d of %d entries dropped", ErrNoUsableKeys, len(dropped), len(entries))
	}
	return keys, dropped, nil
}

// loadJWK applies the load policy to one "keys" entry. It returns the key,
// or a non-empty drop reason; kid is the entry's kid when it is a string.
func loadJWK(raw json.RawMessage) (key *Key, kid string, reason string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, "", dropMalformed
	}
	kid, hasKid, okKid := jsonString(m, "kid")
	kty, _, okKty := jsonString(m, "kty")
	alg, hasAlg, okAlg := jsonString(m, "alg")
	use, hasUse, okUse := jsonString(m, "use")
	crv, _, okCrv := jsonString(m, "crv")
	if !okKid || !okKty || !okAlg || !okUse || !okCrv {
		return nil, kid, dropMalformed
	}
	if kty == "oct" {
		return nil, kid, dropSymmetric
	}
	for _, member := range [...]string{"d", "p", "q", "dp", "dq", "qi", "oth"} {
		if _, ok := m[member]; ok {
			return nil, kid, dropPrivate
		}
	}
	switch {
	case !hasKid || kid == "":
		return nil, kid, dropNoKid
	case len(kid) > maxKidLen:
		return nil, kid, dropKidTooLong
	case hasUse && use != "sig":
		return nil, kid, dropUse
	}
	if rawOps, ok := m["key_ops"]; ok {
		var ops []string
		if err := json.Unmarshal(rawOps, &ops); err != nil {
			return nil, kid, dropMalformed
		}
		if !slices.Contains(ops, "verify") {
			return nil, kid, dropKeyOps
		}
	}
	if !hasAlg || alg == "" {
		return nil, kid, dropNoAlg
	}
	wantKty, ok := ktyForAlg(alg)
	if !ok {
		return nil, kid, dropAlgNotAllowed
	}
	if kty != wantKty {
		return nil, kid, dropKtyMismatch
	}
	switch kty {
	case "EC", "OKP":
		if crv != curveForAlg(alg) {
			return nil, kid, dropCurveMismatch
		}
	case "RSA":
		// jwx refuses small moduli while parsing, so check the raw members
		// first to report a precise reason.
		if r := checkRawRSA(m); r != "" {
			return nil, kid, r
		}
	}

	jk, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, kid, dropInvalidKey
	}
	if priv, err := jwk.IsPrivateKey(jk); err != nil || priv {
		return nil, kid, dropPrivate
	}
	// The entry was decoded twice (here and by jwx); refuse any disagreement
	// on the members the policy relies on.
	jkid, _ := jk.KeyID()
	jalg, _ := jk.Algorithm()
	juse, _ := jk.KeyUsage()
	if jkid != kid || jalg == nil || jalg.String() != alg || juse != use || jk.KeyType().String() != kty {
		return nil, kid, dropMalformed
	}
	var pub any
	if err := jwk.Export(jk, &pub); err != nil {
		return nil, kid, dropInvalidKey
	}
	if r := checkPublicKey(alg, pub); r != "" {
		return nil, kid, r
	}
	return &Key{ID: kid, Algorithm: alg, Public: pub}, kid, ""
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

// checkRawRSA checks "n" and "e" of an RSA JWK before jwx parses it.
func checkRawRSA(m map[string]json.RawMessage) string {
	n, _, okN := jsonString(m, "n")
	e, _, okE := jsonString(m, "e")
	if !okN || !okE {
		return dropMalformed
	}
	nb, errN := base64.RawURLEncoding.DecodeString(n)
	eb, errE := base64.RawURLEncoding.DecodeString(e)
	if errN != nil || errE != nil || len(nb) == 0 || len(eb) == 0 {
		return dropInvalidKey
	}
	if new(big.Int).SetBytes(nb).BitLen() < minRSABits {
		return dropRSAModulus
	}
	if ev := new(big.Int).SetBytes(eb); !ev.IsInt64() || ev.Int64() != rsaExponent {
		return dropRSAExponent
	}
	return ""
}

// jsonString reads member name of m as a JSON string. present reports
// whether the member exists (a JSON null counts as absent); ok is false
// when it exists with another JSON type.
func jsonString(m map[string]json.RawMessage, name string) (s string, present, ok bool) {
	raw, found := m[name]
	if !found || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", false, true
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, false
	}
	return s, true, true
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
		return dropMalformed
	case k.ID == "":
		return dropNoKid
	case len(k.ID) > maxKidLen:
		return dropKidTooLong
	case k.Algorithm == "":
		return dropNoAlg
	}
	return checkPublicKey(k.Algorithm, k.Public)
}
