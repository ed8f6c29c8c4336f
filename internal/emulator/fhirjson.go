package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"unicode/utf8"
)

// maxDepth bounds the nesting of request bodies.
const maxDepth = 64

var errBody = errors.New("invalid body")

// idPattern is the FHIR R4 id rule (https://hl7.org/fhir/R4/datatypes.html#id).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// typePattern is a well-formed resource type name.
var typePattern = regexp.MustCompile(`^[A-Z][A-Za-z]{0,63}$`)

// decodeStrict parses one JSON object strictly: valid UTF-8, no duplicate
// member names, nesting at most maxDepth, nothing after the value. Numbers
// are kept as json.Number so they are written back unchanged.
func decodeStrict(data []byte) (map[string]any, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", errBody)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the JSON value", errBody)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: want a JSON object", errBody)
	}
	return obj, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errBody, maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", errBody, jsonErrText(err))
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%w: %s", errBody, jsonErrText(err))
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("%w: object key is not a string", errBody)
				}
				if _, dup := obj[k]; dup {
					return nil, fmt.Errorf("%w: duplicate member %q", errBody, shorten(k, 64))
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %s", errBody, jsonErrText(err))
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %s", errBody, jsonErrText(err))
			}
			return arr, nil
		default:
			return nil, fmt.Errorf("%w: unexpected %q", errBody, t)
		}
	default:
		return t, nil
	}
}

func jsonErrText(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of JSON"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("JSON syntax error at byte %d", se.Offset)
	}
	return "malformed JSON"
}

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
		return fmt.Errorf("%w: id must be 1-64 characters of A-Z a-z 0-9 - .", errBody)
	}
	if wantID != "" && id != wantID {
		return fmt.Errorf("%w: id %q does not match the URL's id %q", errBody, id, wantID)
	}
	return nil
}
