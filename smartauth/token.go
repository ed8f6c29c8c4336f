package smartauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Limits applied before any allocation-heavy work.
const (
	// DefaultMaxTokenSize caps the raw token length (8 KiB).
	DefaultMaxTokenSize = 8 << 10
	// MaxTokenSizeLimit is the largest cap a Config may set (64 KiB).
	MaxTokenSizeLimit = 64 << 10
	maxHeaderSize     = 1 << 10
	maxKidLength      = 256
)

// b64 is strict unpadded base64url: one token has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// header is the decoded JOSE header. Only alg, kid and typ are allowed.
type header struct {
	Alg string
	Kid string
	Typ string
	typ bool // typ present
}

// parts is a token split at its two dots, with decoded header and payload.
type parts struct {
	raw       string // the compact token
	header    header
	payload   []byte // decoded payload JSON
	signature []byte // decoded signature
}

// stripBearer removes one optional "Bearer " prefix (case-insensitive scheme,
// exactly one space). Nothing else is trimmed.
func stripBearer(s string) string {
	const scheme = "bearer "
	if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
		return s[len(scheme):]
	}
	return s
}

// splitToken runs pipeline steps 2-4: size, compact shape, strict base64url,
// header policy. allowed reports whether an alg is acceptable at all.
func splitToken(tok string, maxSize int) (parts, error) {
	var p parts
	if tok == "" {
		return p, ErrTokenMissing
	}
	if len(tok) > maxSize {
		return p, fmt.Errorf("%w: %d bytes > %d", ErrTokenTooLarge, len(tok), maxSize)
	}
	first, second, dots := -1, -1, 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '.':
			dots++
			if dots == 1 {
				first = i
			} else if dots == 2 {
				second = i
			} else {
				return p, fmt.Errorf("%w: more than three parts", ErrMalformed)
			}
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return p, fmt.Errorf("%w: byte 0x%02x at offset %d is not base64url", ErrMalformed, c, i)
		}
	}
	if dots != 2 {
		return p, fmt.Errorf("%w: %d parts, want 3", ErrMalformed, dots+1)
	}
	h, pl, sig := tok[:first], tok[first+1:second], tok[second+1:]
	if h == "" || pl == "" || sig == "" {
		return p, fmt.Errorf("%w: empty part", ErrMalformed)
	}
	if b64.DecodedLen(len(h)) > maxHeaderSize {
		return p, fmt.Errorf("%w: header larger than %d bytes", ErrHeader, maxHeaderSize)
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return p, fmt.Errorf("%w: header: non-canonical base64url", ErrMalformed)
	}
	p.payload, err = b64.DecodeString(pl)
	if err != nil {
		return p, fmt.Errorf("%w: payload: non-canonical base64url", ErrMalformed)
	}
	p.signature, err = b64.DecodeString(sig)
	if err != nil {
		return p, fmt.Errorf("%w: signature: non-canonical base64url", ErrMalformed)
	}
	if p.header, err = parseHeader(hb); err != nil {
		return p, err
	}
	p.raw = tok
	return p, nil
}

// parseHeader enforces step 4: a JSON object without duplicate names whose
// members are limited to alg, kid and typ, all strings.
func parseHeader(hb []byte) (header, error) {
	var h header
	var hasAlg, hasKid bool
	err := checkObject(hb, func(name string, value []byte) error {
		var dst *string
		switch name {
		case "alg":
			dst, hasAlg = &h.Alg, true
		case "kid":
			dst, hasKid = &h.Kid, true
		case "typ":
			dst, h.typ = &h.Typ, true
		default:
			return fmt.Errorf("%w: %s", ErrHeaderParameter, quoteName(name))
		}
		if len(value) == 0 || value[0] != '"' {
			return fmt.Errorf("%w: %q is not a string", ErrHeader, name)
		}
		return json.Unmarshal(value, dst)
	})
	if err != nil {
		if isSentinel(err) {
			return h, err
		}
		return h, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if !hasAlg {
		return h, fmt.Errorf("%w: alg missing", ErrAlgorithm)
	}
	if !knownAlgorithm(h.Alg) {
		return h, fmt.Errorf("%w: %s", ErrAlgorithm, quoteName(h.Alg))
	}
	if !hasKid || h.Kid == "" || len(h.Kid) > maxKidLength {
		return h, ErrKidMissing
	}
	if h.typ && !allowedHeaderType(h.Typ) {
		return h, fmt.Errorf("%w: %s", ErrType, quoteName(h.Typ))
	}
	return h, nil
}

// allowedHeaderType accepts JWT and RFC 9068 access-token media types.
// Media type names are case-insensitive (RFC 7515 §4.1.9).
func allowedHeaderType(t string) bool {
	return strings.EqualFold(t, "JWT") || strings.EqualFold(t, "at+jwt") ||
		strings.EqualFold(t, "application/at+jwt")
}

// asymmetricAlgorithms is the closed allow-list; HS*, none and anything
// else are never accepted.
func knownAlgorithm(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

func isSentinel(err error) bool {
	for _, s := range []error{ErrHeaderParameter, ErrHeader, ErrAlgorithm, ErrKidMissing, ErrType, ErrPayload, ErrClaimType} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
