package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// maxDepth bounds the nesting of request bodies.
const maxDepth = 64

// maxValues bounds the JSON values (objects, arrays, strings, numbers,
// literals) of a request body or a Lambda answer: a decoded value takes up
// to some hundred bytes, so a body of tiny values costs far more memory
// than its size. A FHIR resource rarely has more than a few thousand.
const maxValues = 20_000

var errBody = errors.New("invalid body")

// idPattern is the FHIR R4 id rule (https://hl7.org/fhir/R4/datatypes.html#id).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// typePattern is a well-formed resource type name.
var typePattern = regexp.MustCompile(`^[A-Z][A-Za-z]{0,63}$`)

// decodeStrict parses one JSON object strictly with encoding/json/v2
// semantics (github.com/go-json-experiment/json): valid UTF-8, no duplicate
// member names, nothing after the value; plus nesting at most maxDepth and,
// when limit is not 0, at most limit JSON values. Numbers are kept as
// jsontext.Value so they are written back unchanged.
func decodeStrict(data []byte, limit int) (map[string]any, error) {
	if v := jsontext.Value(bytes.TrimLeft(data, " \t\r\n")); len(v) == 0 || v.Kind() != '{' {
		return nil, fmt.Errorf("%w: want a JSON object", errBody)
	}
	var obj map[string]any
	values := 0
	err := json.Unmarshal(data, &obj, json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *any) error {
		if dec.StackDepth() > maxDepth {
			return errTooDeep
		}
		if values++; limit > 0 && values > limit {
			return errTooMany
		}
		if dec.PeekKind() == '0' {
			*v = jsontext.Value(nil)
		}
		return errors.ErrUnsupported // the default decoding, into *v
	})))
	switch {
	case errors.Is(err, errTooDeep):
		return nil, fmt.Errorf("%w: nested deeper than %d", errBody, maxDepth)
	case errors.Is(err, errTooMany):
		return nil, fmt.Errorf("%w: more than %d JSON values", errBody, limit)
	case err != nil:
		return nil, fmt.Errorf("%w: %s", errBody, shorten(strings.TrimPrefix(err.Error(), "json: "), 300))
	case obj == nil:
		return nil, fmt.Errorf("%w: want a JSON object", errBody)
	}
	return obj, nil
}

// encodeJSON is the one encoding of what the emulator stores and serves:
// compact, members sorted by name (deterministic), with encoding/json/v2
// escaping (no HTML escaping: "<" stays "<", so a stored resource keeps
// its size), numbers kept as decoded (jsontext.Value: written unchanged),
// invalid UTF-8 in a message replaced by U+FFFD rather than failing.
func encodeJSON(v any) ([]byte, error) {
	return json.Marshal(v, json.Deterministic(true), jsontext.AllowInvalidUTF8(true))
}

// members reads the top-level members of a resource by name (nil when
// absent). The search matchers and the permission checks read nothing
// else, so a stored resource is matched without being decoded whole.
type members func(name string) any

// decodedMembers reads the members of a decoded resource.
func decodedMembers(res map[string]any) members {
	return func(name string) any { return res[name] }
}

// storedMembers splits stored JSON into its top-level members and decodes
// a member when it is first read. The bytes were checked (decodeStrict)
// and encoded by the emulator when they were stored: they are trusted, so
// neither the value count nor the depth is checked again. It fails only
// on a bug.
func storedMembers(raw []byte) (members, bool) {
	var top map[string]jsontext.Value
	if err := json.Unmarshal(raw, &top, jsontext.AllowDuplicateNames(true)); err != nil {
		return nil, false
	}
	var seen map[string]any
	return func(name string) any {
		if v, ok := seen[name]; ok {
			return v
		}
		var v any
		if r, ok := top[name]; ok && json.Unmarshal(r, &v, keepNumbers) != nil {
			v = nil
		}
		if seen == nil {
			seen = map[string]any{}
		}
		seen[name] = v
		return v
	}, true
}

// keepNumbers decodes numbers into jsontext.Value, as decodeStrict does: a
// number beyond float64 (1e400) is kept, not an error.
var keepNumbers = json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *any) error {
	if dec.PeekKind() == '0' {
		*v = jsontext.Value(nil)
	}
	return errors.ErrUnsupported // the default decoding, into *v
}))

var (
	errTooDeep = errors.New("too deep")
	errTooMany = errors.New("too many values")
)

// checkResource checks the resourceType and id of a body: resourceType must
// equal wantType; id, when present, must be a valid FHIR id, and equal wantID
// when wantID is not empty (update).
func checkResource(res map[string]any, wantType, wantID string) error {
	rt, ok := res["resourceType"].(string)
	if !ok {
		return fmt.Errorf("%w: resourceType missing or not a string", errBody)
	}
	if rt != wantType {
		return fmt.Errorf("%w: resourceType %q does not match the URL's type %q", errBody, shorten(rt, 64), wantType)
	}
	rawID, has := res["id"]
	if !has {
		if wantID != "" {
			return fmt.Errorf("%w: id missing: an update must carry the URL's id %q", errBody, wantID)
		}
		return nil
	}
	id, ok := rawID.(string)
	if !ok || !idPattern.MatchString(id) {
		return fmt.Errorf("%w: id must be 1-64 characters from A-Z, a-z, 0-9, \"-\" and \".\"", errBody)
	}
	if wantID != "" && id != wantID {
		return fmt.Errorf("%w: id %q does not match the URL's id %q", errBody, id, wantID)
	}
	return nil
}
