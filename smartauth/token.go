package smartauth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
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

// checkError wraps one sentinel with a fixed detail that never carries
// token text; pre-built ones make most refusals allocation-free.
type checkError struct {
	sentinel error
	detail   string
}

func (e *checkError) Error() string { return e.sentinel.Error() + ": " + e.detail }
func (e *checkError) Unwrap() error { return e.sentinel }

// Pre-built errors of the pre-parse (steps 2-5).
var (
	errLineBreak       = &checkError{ErrMalformed, "line break"}
	errEmptyPart       = &checkError{ErrMalformed, "empty part"}
	errHeaderTooLarge  = &checkError{ErrHeader, "header larger than 1024 bytes"} // maxHeaderSize
	errHeaderBase64    = &checkError{ErrMalformed, "header: non-canonical base64url"}
	errPayloadBase64   = &checkError{ErrMalformed, "payload: non-canonical base64url"}
	errSignatureBase64 = &checkError{ErrMalformed, "signature: non-canonical base64url"}
	errHeaderUTF8      = &checkError{ErrHeader, "invalid UTF-8"}
	errHeaderJSON      = &checkError{ErrHeader, "invalid JSON"}
	errHeaderShape     = &checkError{ErrHeader, "not a JSON object"}
	errAlgMissing      = &checkError{ErrAlgorithm, "alg missing"}
)

// header is the decoded JOSE header. Only alg, kid and typ are allowed.
type header struct {
	Alg string      // an algorithm's name, never token memory
	kid claimString // the "kid" literal in the decoded header
}

// wireHeader is the JSON form of the header.
type wireHeader struct {
	Alg claimString `json:"alg"`
	Kid claimString `json:"kid"`
	Typ claimString `json:"typ"`
}

// parts is a token split at its two dots, with decoded header, payload and
// signature. All byte slices share one allocation.
type parts struct {
	header       header
	signingInput []byte // ASCII(BASE64URL(header) "." BASE64URL(payload))
	headerJSON   []byte // decoded header
	payload      []byte // decoded payload JSON
	signature    []byte // decoded signature
}

// kid returns the decoded kid as a string of its own (a key set may keep
// it). Validate calls it only once the issuer is known.
func (p *parts) kid() string {
	return string(unquote(p.header.kid, p.headerJSON, nil))
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

// splitToken runs pipeline steps 2-3 with one allocation (decodeParts).
// Only the strict decoder checks the characters of the parts: it refuses
// every byte outside base64url except CR and LF, refused here.
func splitToken(tok string, maxSize int) (parts, error) {
	switch {
	case tok == "":
		return parts{}, ErrTokenMissing
	case len(tok) > maxSize:
		return parts{}, fmt.Errorf("%w: %d bytes > %d", ErrTokenTooLarge, len(tok), maxSize)
	case strings.IndexByte(tok, '\n') >= 0 || strings.IndexByte(tok, '\r') >= 0:
		return parts{}, errLineBreak
	}
	if dots := strings.Count(tok, "."); dots != 2 {
		return parts{}, fmt.Errorf("%w: %d parts, want 3", ErrMalformed, dots+1)
	}
	first := strings.IndexByte(tok, '.')
	second := first + 1 + strings.IndexByte(tok[first+1:], '.')
	if first == 0 || second == first+1 || second == len(tok)-1 {
		return parts{}, errEmptyPart
	}
	return decodeParts(tok, first, second)
}

// decodeParts decodes the parts of tok (dots at first and second) into one
// buffer: a copy of tok (the signing input is its prefix), then the decoded
// header, payload and signature. Unpadded base64url without line breaks
// (refused by splitToken) decodes to exactly DecodedLen bytes or fails.
func decodeParts(tok string, first, second int) (p parts, err error) {
	hLen := b64.DecodedLen(first)
	if hLen > maxHeaderSize {
		return p, errHeaderTooLarge
	}
	pLen := b64.DecodedLen(second - first - 1)
	sLen := b64.DecodedLen(len(tok) - second - 1)
	buf := make([]byte, len(tok)+hLen+pLen+sLen)
	copy(buf, tok)
	src, dst := buf[:len(tok)], buf[len(tok):]
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
	p.signingInput = src[:second:second]
	return p, nil
}

// parseHeader is step 4, decoding into w.
func parseHeader(hb []byte, w *wireHeader) (header, error) {
	var h header
	if err := notObject(hb, errHeaderUTF8, errHeaderShape); err != nil {
		return h, err
	}
	if err := json.Unmarshal(hb, w, json.RejectUnknownMembers(true)); err != nil {
		return h, headerError(hb, err)
	}
	if !w.Alg.present() {
		return h, errAlgMissing
	}
	// Decoded values fit: the header is at most maxHeaderSize bytes.
	var scratch [maxHeaderSize]byte
	alg := unquote(w.Alg, hb, scratch[:0])
	a := findAlgorithm(alg)
	if a == nil {
		return h, fmt.Errorf("%w: %s", ErrAlgorithm, quoteName(string(alg)))
	}
	h.Alg = a.name
	if n := len(unquote(w.Kid, hb, scratch[:0])); n == 0 || n > maxKidLen {
		return h, ErrKidMissing
	}
	h.kid = w.Kid
	if w.Typ.present() {
		if t := unquote(w.Typ, hb, scratch[:0]); !allowedHeaderType(t) {
			return h, fmt.Errorf("%w: %s", ErrType, quoteName(string(t)))
		}
	}
	return h, nil
}

// headerError turns an error of json.Unmarshal into a checkError.
func headerError(hb []byte, err error) error {
	var se *json.SemanticError
	if errors.As(err, &se) {
		name := memberName(se.JSONPointer)
		if errors.Is(se.Err, json.ErrUnknownName) {
			return fmt.Errorf("%w: %s", ErrHeaderParameter, name)
		}
		return &checkError{ErrHeader, name + " is not a string"}
	}
	return syntaxError(hb, err, ErrHeader, errHeaderUTF8, errHeaderJSON)
}

// allowedHeaderType accepts JWT and RFC 9068 access-token media types.
// Media type names are case-insensitive (RFC 7515 §4.1.9).
func allowedHeaderType(t []byte) bool {
	return bytes.EqualFold(t, []byte("JWT")) || bytes.EqualFold(t, []byte("at+jwt")) ||
		bytes.EqualFold(t, []byte("application/at+jwt"))
}
