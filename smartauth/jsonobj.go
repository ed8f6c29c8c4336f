package smartauth

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The helpers in this file walk JSON text that has already passed
// utf8.Valid and json.Valid: they rely on that and never re-check syntax.
// Positions are byte offsets into the walked text. Nothing here allocates,
// except appendUnquoted when its destination has to grow and quoteName
// (error messages).

// maxObjectMembers bounds the members of a payload (the header has at most
// three).
const maxObjectMembers = 256

// objectIter walks the members of one validated JSON object.
type objectIter struct {
	data []byte
	i    int
}

// objectAt starts a walk of the object whose '{' is at data[i].
func objectAt(data []byte, i int) objectIter { return objectIter{data: data, i: i + 1} }

// next returns the next member: name is the raw string literal (quotes
// included) at data[ns:ne], the raw value is data[vs:ve]. ok is false after
// the closing brace.
func (it *objectIter) next() (ns, ne, vs, ve int, ok bool) {
	d := it.data
	i := skipSpace(d, it.i)
	if i < len(d) && d[i] == ',' {
		i = skipSpace(d, i+1)
	}
	if i >= len(d) || d[i] != '"' {
		return 0, 0, 0, 0, false // '}'
	}
	ns, ne = i, skipString(d, i)
	i = skipSpace(d, ne)   // ':'
	vs = skipSpace(d, i+1) // value
	ve = skipValue(d, vs)
	it.i = ve
	return ns, ne, vs, ve, true
}

// arrayIter walks the elements of one validated JSON array.
type arrayIter struct {
	data []byte
	i    int
}

// arrayAt starts a walk of the array whose '[' is at data[i].
func arrayAt(data []byte, i int) arrayIter { return arrayIter{data: data, i: i + 1} }

// next returns the next element, data[vs:ve]; ok is false after ']'.
func (it *arrayIter) next() (vs, ve int, ok bool) {
	d := it.data
	i := skipSpace(d, it.i)
	if i < len(d) && d[i] == ',' {
		i = skipSpace(d, i+1)
	}
	if i >= len(d) || d[i] == ']' {
		return 0, 0, false
	}
	ve = skipValue(d, i)
	it.i = ve
	return i, ve, true
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the JSON string starting at i.
func skipString(data []byte, i int) int {
	i++ // opening quote
	for i < len(data) {
		switch data[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default:
			i++
		}
	}
	return i
}

// skipValue returns the index just past the JSON value starting at i.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(data) {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// stringBody returns the text between the quotes of the raw string literal
// data[s:e] and whether it contains escapes.
func stringBody(data []byte, s, e int) (body []byte, escaped bool) {
	body = data[s+1 : e-1]
	return body, bytes.IndexByte(body, '\\') >= 0
}

// decodedString returns the decoded text of the raw string literal
// data[s:e]: its body when it has no escapes, else the unescaped text
// appended to scratch (which may be nil).
func decodedString(data []byte, s, e int, scratch []byte) []byte {
	body, escaped := stringBody(data, s, e)
	if escaped {
		return appendUnquoted(scratch, body)
	}
	return body
}

// appendUnquoted appends the decoded form of a validated JSON string body
// (the text between the quotes) to dst. It decodes exactly as
// encoding/json does: an unpaired UTF-16 surrogate in a \u escape becomes
// U+FFFD, and a valid surrogate pair becomes one rune.
func appendUnquoted(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		if body[i] != '\\' {
			j := bytes.IndexByte(body[i:], '\\')
			if j < 0 {
				return append(dst, body[i:]...)
			}
			dst = append(dst, body[i:i+j]...)
			i += j
			continue
		}
		if body[i+1] != 'u' {
			dst = append(dst, escapeByte(body[i+1]))
			i += 2
			continue
		}
		r := hex4(body[i+2 : i+6])
		i += 6
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
				r2 = hex4(body[i+2 : i+6])
			}
			if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
				dst = utf8.AppendRune(dst, dec)
				i += 6
				continue
			}
			r = unicode.ReplacementChar
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// escapeByte maps the letter of a one-character JSON escape to its byte;
// '"', '\\' and '/' stand for themselves.
func escapeByte(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c
}

// hex4 decodes four validated hex digits.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// nameSet detects duplicate member names (compared after unescaping) in one
// object, up to maxObjectMembers names, without allocating for names that
// carry no escape. Names are found through a hash table with a per-set
// random seed, so even a payload crafted with the maximum number of members
// costs a linear scan, not a quadratic one.
type nameSet struct {
	n int
	// ref[k] locates name k: data[off:end] when off >= 0, otherwise
	// esc[-off-1:end] (names that needed unescaping).
	ref [maxObjectMembers]struct{ off, end int32 }
	// table holds k+1 for name k at its hash slot (open addressing, linear
	// probing; at most half full); 0 marks a free slot.
	table [2 * maxObjectMembers]uint16
	seed  maphash.Seed
	esc   []byte
}

// Results of nameSet.add.
const (
	addOK = iota
	addDuplicate
	addTooMany
)

// add records the member name whose raw literal is data[s:e] and returns
// its unescaped form (valid until the next add).
func (ns *nameSet) add(data []byte, s, e int) (name []byte, status int) {
	body, escaped := stringBody(data, s, e)
	off, end := int32(s+1), int32(e-1)
	if escaped {
		start := len(ns.esc)
		ns.esc = appendUnquoted(ns.esc, body)
		body = ns.esc[start:]
		off, end = -int32(start)-1, int32(len(ns.esc))
	}
	if ns.n == 0 {
		ns.seed = maphash.MakeSeed()
	}
	const mask = len(nameSet{}.table) - 1
	h := int(maphash.Bytes(ns.seed, body)) & mask
	for ; ns.table[h] != 0; h = (h + 1) & mask {
		r := ns.ref[ns.table[h]-1]
		var prev []byte
		if r.off >= 0 {
			prev = data[r.off:r.end]
		} else {
			prev = ns.esc[-r.off-1 : r.end]
		}
		if bytes.Equal(prev, body) {
			return body, addDuplicate
		}
	}
	if ns.n == len(ns.ref) {
		return body, addTooMany
	}
	ns.ref[ns.n].off, ns.ref[ns.n].end = off, end
	ns.n++
	ns.table[h] = uint16(ns.n)
	return body, addOK
}

// isASCII reports whether b has no byte >= 0x80.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// quoteName quotes a (decoded) member name or value for an error message,
// cut to 64 bytes.
func quoteName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b, _ := json.Marshal(s)
	return string(b)
}
