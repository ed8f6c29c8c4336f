package smartauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

var errJSONShape = errors.New("not a JSON object")

// maxObjectMembers bounds the duplicate-name scan of a header or payload.
const maxObjectMembers = 256

// checkObject reports whether data is one valid UTF-8 JSON object whose
// top-level member names are unique (compared after unescaping). It calls fn
// for each member with the unescaped name and the raw value. fn may be nil.
func checkObject(data []byte, fn func(name string, value []byte) error) error {
	if !utf8.Valid(data) {
		return errors.New("invalid UTF-8")
	}
	if !json.Valid(data) {
		return errors.New("invalid JSON")
	}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errJSONShape
	}
	var seen [maxObjectMembers]string
	n := 0
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for i < len(data) {
		// data is valid JSON, so a member name string starts here.
		end := skipString(data, i)
		rawName := data[i:end]
		var name string
		if bytes.IndexByte(rawName, '\\') >= 0 {
			if err := json.Unmarshal(rawName, &name); err != nil {
				return err
			}
		} else {
			name = string(rawName[1 : len(rawName)-1])
		}
		for _, s := range seen[:n] {
			if s == name {
				return errors.New("duplicate member " + quoteName(name))
			}
		}
		if n == len(seen) {
			return errors.New("too many members")
		}
		seen[n] = name
		n++
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // ':'
		vEnd := skipValue(data, i)
		if fn != nil {
			if err := fn(name, data[i:vEnd]); err != nil {
				return err
			}
		}
		i = skipSpace(data, vEnd)
		if i < len(data) && data[i] == '}' {
			return nil
		}
		i = skipSpace(data, i+1) // ','
	}
	return errJSONShape
}

func quoteName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b, _ := json.Marshal(s)
	return string(b)
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
// The input is known to be valid JSON.
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
// The input is known to be valid JSON.
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
