package smartauth

// Reference implementations: the reflection-based claim decoding and the
// header parsing this package used before the allocation-free decoders in
// claims_decode.go and token.go. They are kept verbatim in behaviour (the
// duplicate-name scan now walks the object with encoding/json's Decoder, so
// it shares no code with the walker under test) and serve as the oracle of
// the differential tests and fuzz targets in claims_decode_test.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// refCheckObject: valid UTF-8, valid JSON, one object, unique member names
// (after unescaping), at most maxObjectMembers members; fn sees each member
// (unescaped name, raw value) in order.
func refCheckObject(data []byte, fn func(name string, value []byte) error) error {
	if !utf8.Valid(data) {
		return errors.New("invalid UTF-8")
	}
	if !json.Valid(data) {
		return errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name := tok.(string)
		if seen[name] {
			return errors.New("duplicate member " + quoteName(name))
		}
		if len(seen) == maxObjectMembers {
			return errors.New("too many members")
		}
		seen[name] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(name, value); err != nil {
				return err
			}
		}
	}
	return nil
}

type refNumericDate struct {
	v   int64
	set bool
}

func (d *refNumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return fmt.Errorf("NumericDate must be a non-negative integer")
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || v > maxNumericDate || (len(b) > 1 && b[0] == '0') {
		return fmt.Errorf("NumericDate out of range or not an integer")
	}
	d.v, d.set = v, true
	return nil
}

type refStringList struct {
	v       []string
	isArray bool
	set     bool
}

func (l *refStringList) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		l.v, l.set = []string{s}, true
		return nil
	case len(b) > 0 && b[0] == '[':
		var a []string
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		if a == nil {
			a = []string{}
		}
		l.v, l.isArray, l.set = a, true, true
		return nil
	}
	return fmt.Errorf("expected a string or an array of strings")
}

type refStrictString struct {
	v   string
	set bool
}

func (s *refStrictString) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return fmt.Errorf("expected a string")
	}
	s.set = true
	return json.Unmarshal(b, &s.v)
}

type refRoles struct {
	Roles []string `json:"roles"`
}

type refWireClaims struct {
	Iss            refStrictString     `json:"iss"`
	Sub            refStrictString     `json:"sub"`
	Aud            refStringList       `json:"aud"`
	Exp            refNumericDate      `json:"exp"`
	Iat            refNumericDate      `json:"iat"`
	Nbf            refNumericDate      `json:"nbf"`
	Scope          refStringList       `json:"scope"`
	Scp            refStringList       `json:"scp"`
	TokenUse       refStrictString     `json:"token_use"`
	Typ            refStrictString     `json:"typ"`
	ClientID       refStrictString     `json:"client_id"`
	Azp            refStrictString     `json:"azp"`
	Username       refStrictString     `json:"username"`
	PreferredName  refStrictString     `json:"preferred_username"`
	FHIRUser       refStrictString     `json:"fhirUser"`
	Patient        refStrictString     `json:"patient"`
	Jti            refStrictString     `json:"jti"`
	Groups         []string            `json:"cognito:groups"`
	RealmAccess    *refRoles           `json:"realm_access"`
	ResourceAccess map[string]refRoles `json:"resource_access"`
}

// refDecodeClaims is the former decodeClaims.
func refDecodeClaims(payload []byte) (*Claims, error) {
	if err := refCheckObject(payload, refCheckClaimName); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	var w refWireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrClaimType, err)
	}
	scope, err := refJoinScope(w.Scope, w.Scp)
	if err != nil {
		return nil, err
	}
	c := &Claims{
		Issuer:          w.Iss.v,
		Subject:         w.Sub.v,
		Audience:        w.Aud.v,
		ExpiresAt:       w.Exp.v,
		IssuedAt:        w.Iat.v,
		NotBefore:       w.Nbf.v,
		HasNotBefore:    w.Nbf.set,
		Scope:           scope,
		TokenUse:        w.TokenUse.v,
		Type:            w.Typ.v,
		ClientID:        w.ClientID.v,
		AuthorizedParty: w.Azp.v,
		Username:        w.Username.v,
		FHIRUser:        w.FHIRUser.v,
		Patient:         w.Patient.v,
		ID:              w.Jti.v,
		Groups:          w.Groups,
		Raw:             payload,
	}
	if c.Username == "" {
		c.Username = w.PreferredName.v
	}
	if !w.Iss.set {
		return nil, fmt.Errorf("%w: iss missing", ErrIssuer)
	}
	if !w.Exp.set {
		return nil, ErrExpMissing
	}
	if !w.Iat.set {
		return nil, ErrIatMissing
	}
	if err := refCheckRoleObjects(payload); err != nil {
		return nil, err
	}
	if w.RealmAccess != nil {
		c.RealmRoles = w.RealmAccess.Roles
	}
	if len(w.ResourceAccess) > 0 {
		c.ClientRoles = make(map[string][]string, len(w.ResourceAccess))
		for k, r := range w.ResourceAccess {
			c.ClientRoles[k] = r.Roles
		}
	}
	return c, nil
}

func refCheckClaimName(name string, _ []byte) error {
	for _, n := range [...]string{"iss", "sub", "aud", "exp", "iat", "nbf", "scope", "scp",
		"token_use", "typ", "client_id", "azp", "username", "preferred_username", "fhirUser",
		"patient", "jti", "cognito:groups", "realm_access", "resource_access"} {
		if name != n && strings.EqualFold(name, n) {
			return fmt.Errorf("member %s differs from claim %q only in case", quoteName(name), n)
		}
	}
	return nil
}

func refJoinScope(scope, scp refStringList) (string, error) {
	if scope.isArray {
		return "", fmt.Errorf("%w: scope is not a string", ErrClaimType)
	}
	l := scope
	if !l.set {
		l = scp
	}
	if !l.set {
		return "", nil
	}
	if !l.isArray {
		return l.v[0], nil
	}
	for _, s := range l.v {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return "", fmt.Errorf("%w: scope array element is empty or contains whitespace", ErrClaimType)
		}
	}
	return strings.Join(l.v, " "), nil
}

// refStringClaim is the former map-based lookup of Claims.StringClaim.
func refStringClaim(raw []byte, name string) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", false
	}
	v, found := m[name]
	if !found || len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// refHeader is what the former parseHeader produced.
type refHeader struct {
	Alg, Kid, Typ string
	typ           bool
}

func refIsSentinel(err error) bool {
	for _, s := range []error{ErrHeaderParameter, ErrHeader, ErrAlgorithm, ErrKidMissing, ErrType, ErrPayload, ErrClaimType} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// refParseHeader is the former parseHeader.
func refParseHeader(hb []byte) (refHeader, error) {
	var h refHeader
	var hasAlg, hasKid bool
	err := refCheckObject(hb, func(name string, value []byte) error {
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
		if refIsSentinel(err) {
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
	if !hasKid || h.Kid == "" || len(h.Kid) > maxKidLen {
		return h, ErrKidMissing
	}
	if h.typ && !strings.EqualFold(h.Typ, "JWT") && !strings.EqualFold(h.Typ, "at+jwt") &&
		!strings.EqualFold(h.Typ, "application/at+jwt") {
		return h, fmt.Errorf("%w: %s", ErrType, quoteName(h.Typ))
	}
	return h, nil
}

// refCheckRoleObjects is the reference for the nested rule: realm_access and
// each resource_access entry have at most one member matching "roles"
// (case-insensitively, as encoding/json matches), and resource_access names
// each client once and lists at most 128.
func refCheckRoleObjects(payload []byte) error {
	var top map[string]json.RawMessage
	if json.Unmarshal(payload, &top) != nil {
		return nil
	}
	keys := func(raw json.RawMessage) ([]string, []json.RawMessage, bool) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return nil, nil, false
		}
		var names []string
		var values []json.RawMessage
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, nil, false
			}
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				return nil, nil, false
			}
			names = append(names, tok.(string))
			values = append(values, v)
		}
		return names, values, true
	}
	multiRoles := func(raw json.RawMessage) bool {
		names, _, ok := keys(raw)
		n := 0
		for _, name := range names {
			if ok && strings.EqualFold(name, "roles") {
				n++
			}
		}
		return n > 1
	}
	if raw, ok := top["realm_access"]; ok && multiRoles(raw) {
		return fmt.Errorf("%w: realm_access has more than one roles member", ErrPayload)
	}
	if raw, ok := top["resource_access"]; ok {
		names, values, ok := keys(raw)
		if !ok {
			return nil
		}
		seen := map[string]bool{}
		for i, name := range names {
			if seen[name] {
				return fmt.Errorf("%w: resource_access names a client twice", ErrPayload)
			}
			seen[name] = true
			if i >= maxResourceAccessClients {
				return fmt.Errorf("%w: resource_access lists too many clients", ErrPayload)
			}
			if multiRoles(values[i]) {
				return fmt.Errorf("%w: a resource_access entry has more than one roles member", ErrPayload)
			}
		}
	}
	return nil
}
