package healthlake

import (
	"strconv"
	"unicode/utf8"
)

// AppendResponse appends r's JSON, byte for byte what MarshalResponse
// and encoding/json write, to dst: the Lambda answers every FHIR request,
// so the response is written field by field into one buffer.
func AppendResponse(dst []byte, r *Response) []byte {
	dst = appendPayload(append(dst, `{"authPayload":`...), &r.AuthPayload)
	if r.IAMRoleARN != "" {
		dst = append(dst, `,"iamRoleARN":`...)
		dst = appendJSONString(dst, r.IAMRoleARN)
	}
	return append(dst, '}')
}

// appendPayload appends p's JSON object (see AuthPayload.MarshalJSON).
func appendPayload(dst []byte, p *AuthPayload) []byte {
	dst = append(dst, '{')
	field := func(name string) {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
	}
	str := func(name, v string) {
		if v != "" {
			field(name)
			dst = appendJSONString(dst, v)
		}
	}
	str("iss", p.Issuer)
	str("aud", p.Audience)
	if p.IssuedAt != 0 {
		field("iat")
		dst = strconv.AppendInt(dst, p.IssuedAt, 10)
	}
	// HealthLake requires nbf and exp in an allowed payload.
	if p.IsAuthorized || p.NotBefore != 0 || p.ExpiresAt != 0 {
		field("nbf")
		dst = strconv.AppendInt(dst, p.NotBefore, 10)
		field("exp")
		dst = strconv.AppendInt(dst, p.ExpiresAt, 10)
	}
	field("isAuthorized")
	switch {
	case p.AuthorizedAsString && p.IsAuthorized:
		dst = append(dst, `"true"`...)
	case p.AuthorizedAsString:
		dst = append(dst, `"false"`...)
	default:
		dst = strconv.AppendBool(dst, p.IsAuthorized)
	}
	str("uid", p.UID)
	str("scope", p.Scope)
	str("fhirUser", p.FHIRUser)
	str("patient", p.Patient)
	return append(dst, '}')
}

// responseSize is the initial buffer size for r: the strings' length plus
// 256 bytes for names, punctuation and three int64s. Escaping is rare:
// append grows the buffer of an escaped response.
func responseSize(r *Response) int {
	p := &r.AuthPayload
	n := len(p.Issuer) + len(p.Audience) + len(p.UID) + len(p.Scope) + len(p.FHIRUser) + len(p.Patient) + len(r.IAMRoleARN)
	return n + 256
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping:
// <, > and & as \u003c \u003e \u0026, U+2028 and U+2029 escaped,
// control characters as \b \f \n \r \t or \u00XX, and each invalid
// UTF-8 byte as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
