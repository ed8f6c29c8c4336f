package smartauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits applied before any allocation-heavy work.
const (
	// DefaultMaxTokenSize caps the raw token length (8 KiB).
	DefaultMaxTokenSize = 8 << 10
	// MaxTokenSizeLimit is the largest cap a Config may set (64 KiB).
	MaxTokenSizeLimit = 64 << 10
	maxHeaderSize     = 1 << 10
)

// b64 is strict unpadded base64url: one token has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// checkError wraps exactly one sentinel with a fixed detail that never
// carries token text. Reject paths that need no dynamic detail return
// pre-built checkErrors, so refusing a token costs no allocation.
type checkError struct {
	sentinel error
	detail   string
}

func (e *checkError) Error() string { return e.sentinel.Error() + ": " + e.detail }
func (e *checkError) Unwrap() error { return e.sentinel }

// errEndpointNotServed: the endpoint is not one of Config.Endpoints.
var errEndpointNotServed = &checkError{ErrAudience, "the data store endpoint is not one this validator serves (Config.Endpoints)"}

// Pre-built errors of the pre-parse (steps 2-5).
var (
	errTooManyParts    = &checkError{ErrMalformed, "more than three parts"}
	errEmptyPart       = &checkError{ErrMalformed, "empty part"}
	errHeaderTooLarge  = &checkError{ErrHeader, "header larger than 1024 bytes"} // maxHeaderSize
	errHeaderBase64    = &checkError{ErrMalformed, "header: non-canonical base64url"}
	errPayloadBase64   = &checkError{ErrMalformed, "payload: non-canonical base64url"}
	errSignatureBase64 = &checkError{ErrMalformed, "signature: non-canonical base64url"}
	errHeaderUTF8      = &checkError{ErrHeader, "invalid UTF-8"}
	errHeaderJSON      = &checkError{ErrHeader, "invalid JSON"}
	errHeaderShape     = &checkError{ErrHeader, "not a JSON object"}
	errAlgMissing      = &checkError{ErrAlgorithm, "alg missing"}
	errAlgDuplicate    = &checkError{ErrHeader, `duplicate member "alg"`}
	errKidDuplicate    = &checkError{ErrHeader, `duplicate member "kid"`}
	errTypDuplicate    = &checkError{ErrHeader, `duplicate member "typ"`}
	errAlgNotString    = &checkError{ErrHeader, `"alg" is not a string`}
	errKidNotString    = &checkError{ErrHeader, `"kid" is not a string`}
	errTypNotString    = &checkError{ErrHeader, `"typ" is not a string`}
)

// header is the decoded JOSE header. Only alg, kid and typ are allowed.
type header struct {
	// Alg is one of the constants knownAlgorithm accepts (never token
	// memory).
	Alg string
	// kid locates the raw "kid" string literal (quotes included) in the
	// decoded header; see parts.kid.
	kid span
}

// parts is a token split at its two dots, with decoded header, payload and
// signature. All byte slices share one allocation.
type parts struct {
	raw          string // the compact token
	header       header
	signingInput []byte // ASCII(BASE64URL(header) "." BASE64URL(payload))
	headerJSON   []byte // decoded header
	payload      []byte // decoded payload JSON
	signature    []byte // decoded signature
}

// kid returns the decoded kid as a string of its own (a key set may keep
// it). Validate calls it only once the issuer is known.
func (p *parts) kid() string {
	return string(decodedString(p.headerJSON, p.header.kid.s, p.header.kid.e, nil))
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
// header policy.
//
// It makes one allocation: a buffer holding a copy of the token (the signing
// input is its prefix) followed by the decoded header, payload and
// signature.
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
				return p, errTooManyParts
			}
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return p, fmt.Errorf("%w: byte 0x%02x at offset %d is not base64url", ErrMalformed, c, i)
		}
	}
	if dots != 2 {
		return p, fmt.Errorf("%w: %d parts, want 3", ErrMalformed, dots+1)
	}
	if first == 0 || second == first+1 || second == len(tok)-1 {
		return p, errEmptyPart
	}
	hLen := b64.DecodedLen(first)
	if hLen > maxHeaderSize {
		return p, errHeaderTooLarge
	}
	pLen := b64.DecodedLen(second - first - 1)
	sLen := b64.DecodedLen(len(tok) - second - 1)
	buf := make([]byte, len(tok)+hLen+pLen+sLen)
	copy(buf, tok)
	src, dst := buf[:len(tok)], buf[len(tok):]

	// Unpadded base64url without line breaks (refused above) decodes to
	// exactly DecodedLen bytes or fails.
	if n, err := b64.Decode(dst[:hLen], src[:first]); err != nil || n != hLen {
		return p, errHeaderBase64
	}
	if n, err := b64.Decode(dst[hLen:hLen+pLen], src[first+1:second]); err != nil || n != pLen {
		return p, errPayloadBase64
	}
	if n, err := b64.Decode(dst[hLen+pLen:], src[second+1:]); err != nil || n != sLen {
		return p, errSignatureBase64
	}
	p.headerJSON = dst[:hLen:hLen]
	p.payload = dst[hLen : hLen+pLen : hLen+pLen]
	p.signature = dst[hLen+pLen:]
	var err error
	if p.header, err = parseHeader(p.headerJSON); err != nil {
		return p, err
	}
	p.signingInput = src[:second:second]
	p.raw = tok
	return p, nil
}

// parseHeader enforces step 4: a JSON object without duplicate names whose
// members are limited to alg, kid and typ, all strings. It allocates only
// on error paths that quote the offending text.
func parseHeader(hb []byte) (header, error) {
	var h header
	if !utf8.Valid(hb) {
		return h, errHeaderUTF8
	}
	if !json.Valid(hb) {
		return h, errHeaderJSON
	}
	i := skipSpace(hb, 0)
	if i >= len(hb) || hb[i] != '{' {
		return h, errHeaderShape
	}
	// Decoded names and values are at most as long as their literals, and
	// the header is at most maxHeaderSize bytes.
	var scratch [maxHeaderSize]byte
	var alg, typ []byte
	var hasAlg, hasKid, hasTyp bool
	it := objectAt(hb, i)
	for {
		ns, ne, vs, ve, ok := it.next()
		if !ok {
			break
		}
		name := decodedString(hb, ns, ne, scratch[:0])
		// Every member other than alg, kid and typ is refused at once, so a
		// duplicate can only be one of these three.
		value := hb[vs:ve]
		switch string(name) {
		case "alg":
			if hasAlg {
				return h, errAlgDuplicate
			}
			if value[0] != '"' {
				return h, errAlgNotString
			}
			alg, hasAlg = value, true
		case "kid":
			if hasKid {
				return h, errKidDuplicate
			}
			if value[0] != '"' {
				return h, errKidNotString
			}
			h.kid, hasKid = span{vs, ve}, true
		case "typ":
			if hasTyp {
				return h, errTypDuplicate
			}
			if value[0] != '"' {
				return h, errTypNotString
			}
			typ, hasTyp = value, true
		default:
			return h, fmt.Errorf("%w: %s", ErrHeaderParameter, quoteName(string(name)))
		}
	}
	if !hasAlg {
		return h, errAlgMissing
	}
	algText := decodedString(alg, 0, len(alg), scratch[:0])
	if h.Alg = canonicalAlgorithm(algText); h.Alg == "" {
		return h, fmt.Errorf("%w: %s", ErrAlgorithm, quoteName(string(algText)))
	}
	if !hasKid || !kidLengthOK(hb[h.kid.s:h.kid.e], scratch[:0]) {
		return h, ErrKidMissing
	}
	if hasTyp {
		if t := decodedString(typ, 0, len(typ), scratch[:0]); !allowedHeaderType(t) {
			return h, fmt.Errorf("%w: %s", ErrType, quoteName(string(t)))
		}
	}
	return h, nil
}

// kidLengthOK: the decoded kid is non-empty and at most maxKidLen bytes.
func kidLengthOK(lit, scratch []byte) bool {
	n := len(decodedString(lit, 0, len(lit), scratch))
	return n > 0 && n <= maxKidLen
}

// allowedHeaderType accepts JWT and RFC 9068 access-token media types.
// Media type names are case-insensitive (RFC 7515 §4.1.9).
func allowedHeaderType(t []byte) bool {
	return bytes.EqualFold(t, []byte("JWT")) || bytes.EqualFold(t, []byte("at+jwt")) ||
		bytes.EqualFold(t, []byte("application/at+jwt"))
}
