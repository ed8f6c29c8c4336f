package smartauth

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The payload is decoded in two phases, without reflection:
//
//   - scan (pipeline step 5, before any key lookup or crypto) checks the whole
//     payload: valid UTF-8, valid JSON, one object, unique member names, no
//     case variant of a known claim name, every known claim well typed, the
//     scope rules, and iss, exp and iat present. It records where each known
//     claim's value lies and allocates nothing unless it fails.
//   - build (after the signature check) turns those values into Claims. It
//     cannot fail on a scanned payload.
//
// The type rules are exactly those of the former encoding/json decoding into
// typed fields with custom UnmarshalJSON methods (claims_decode_test.go keeps
// that decoder as the reference and compares both on a corpus and under
// fuzzing):
//
//   - string claims (iss, sub, token_use, typ, client_id, azp, username,
//     preferred_username, fhirUser, patient, jti): a JSON string; null and
//     every other type are errors;
//   - NumericDate (exp, iat, nbf): a JSON integer 0..253402300799 without
//     fraction, exponent, sign or leading zero; null and strings are errors;
//   - aud, scope, scp: a string or an array whose elements are strings or
//     null (null decodes as ""); scope must then be a string;
//   - cognito:groups: null, or an array of strings/null;
//   - realm_access: null, or an object whose "roles" member (matched
//     case-insensitively, like encoding/json) is null or an array of
//     strings/null; other members are ignored;
//   - resource_access: null, or an object mapping client names to null or to
//     objects like realm_access.
//
// Unknown members may hold any JSON value; they are still part of the
// duplicate-name check.

// claim identifies a member decoded into Claims.
type claim uint8

const (
	clIss claim = iota
	clSub
	clAud
	clExp
	clIat
	clNbf
	clScope
	clScp
	clTokenUse
	clTyp
	clClientID
	clAzp
	clUsername
	clPreferredUsername
	clFHIRUser
	clPatient
	clJti
	clGroups
	clRealmAccess
	clResourceAccess
	numClaims
)

// claimNames returns the member names of the decoded claims, indexed by
// claim (a function, not a package variable: the table is read-only).
func claimNames() [numClaims]string {
	return [numClaims]string{"iss", "sub", "aud", "exp", "iat", "nbf", "scope", "scp", "token_use", "typ",
		"client_id", "azp", "username", "preferred_username", "fhirUser", "patient", "jti", "cognito:groups",
		"realm_access", "resource_access"}
}

// name is the claim's member name.
func (c claim) name() string { return claimNames()[c] }

// claimNamed returns the claim whose member name is exactly name.
func claimNamed(name []byte) (claim, bool) {
	switch string(name) {
	case "iss":
		return clIss, true
	case "sub":
		return clSub, true
	case "aud":
		return clAud, true
	case "exp":
		return clExp, true
	case "iat":
		return clIat, true
	case "nbf":
		return clNbf, true
	case "scope":
		return clScope, true
	case "scp":
		return clScp, true
	case "token_use":
		return clTokenUse, true
	case "typ":
		return clTyp, true
	case "client_id":
		return clClientID, true
	case "azp":
		return clAzp, true
	case "username":
		return clUsername, true
	case "preferred_username":
		return clPreferredUsername, true
	case "fhirUser":
		return clFHIRUser, true
	case "patient":
		return clPatient, true
	case "jti":
		return clJti, true
	case "cognito:groups":
		return clGroups, true
	case "realm_access":
		return clRealmAccess, true
	case "resource_access":
		return clResourceAccess, true
	}
	return 0, false
}

// caseVariant returns the known claim name that name differs from only by
// case (strings.EqualFold, so Unicode folding such as "\u017fub" ~ "sub"
// counts). name must not be a known claim name itself: known names are
// pairwise not fold-equal, so an exact name is never a variant of another.
func caseVariant(name []byte) (string, bool) {
	ascii := isASCII(name)
	for _, n := range claimNames() {
		// ASCII runes only fold to ASCII runes, so an ASCII name can only
		// match a claim name of the same length.
		if ascii && len(name) != len(n) {
			continue
		}
		if bytes.EqualFold(name, []byte(n)) {
			return n, true
		}
	}
	return "", false
}

// isRolesName reports whether a decoded member name of realm_access or of a
// resource_access entry feeds the "roles" field (encoding/json matches field
// names case-insensitively, with the same folding as strings.EqualFold).
func isRolesName(name []byte) bool { return bytes.EqualFold(name, []byte("roles")) }

// span is the raw JSON value of a claim, payload[s:e]; e == 0 when absent.
type span struct{ s, e int }

func (sp span) present() bool { return sp.e != 0 }

// claimScan is the result of scanning a payload.
type claimScan struct {
	payload []byte
	val     [numClaims]span
	// nested is an ambiguity inside realm_access or resource_access (two
	// roles members, a client named twice); reported last.
	nested error
}

// maxResourceAccessClients bounds the clients listed in resource_access.
const maxResourceAccessClients = 128

// sameJSONString reports whether two raw JSON string literals decode to the
// same string.
func sameJSONString(a, b []byte) bool {
	if bytes.IndexByte(a, '\\') < 0 && bytes.IndexByte(b, '\\') < 0 {
		return bytes.Equal(a, b)
	}
	var x, y string
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && x == y
}

// Pre-built errors of the payload scan.
var (
	errRealmRolesAmbiguous     = &checkError{ErrPayload, "realm_access has more than one roles member"}
	errResourceRolesAmbiguous  = &checkError{ErrPayload, "a resource_access entry has more than one roles member"}
	errResourceAccessDuplicate = &checkError{ErrPayload, "resource_access names a client twice"}
	errResourceAccessTooMany   = &checkError{ErrPayload, "resource_access lists too many clients"}
	errPayloadUTF8             = &checkError{ErrPayload, "invalid UTF-8"}
	errPayloadJSON             = &checkError{ErrPayload, "invalid JSON"}
	errPayloadShape            = &checkError{ErrPayload, "not a JSON object"}
	errPayloadTooMany          = &checkError{ErrPayload, "too many members"}
	errIssMissing              = &checkError{ErrIssuer, "iss missing"}
	errScopeNotString          = &checkError{ErrClaimType, "scope is not a string"}
	errScopeArrayElem          = &checkError{ErrClaimType, "scope array element is empty or contains whitespace"}
	errClaimsUndecoded         = &checkError{ErrClaimType, "nested claim could not be decoded"}
)

// claimTypeError names a known claim (never its value) and what is wrong.
type claimTypeError struct {
	claim  claim
	reason string
}

func (e *claimTypeError) Error() string {
	return ErrClaimType.Error() + ": claim " + strconv.Quote(e.claim.name()) + " " + e.reason
}

func (e *claimTypeError) Unwrap() error { return ErrClaimType }

// scan runs the checks of the first phase (see above) on payload.
func (sc *claimScan) scan(payload []byte) error {
	sc.payload = payload
	if !utf8.Valid(payload) {
		return errPayloadUTF8
	}
	if !json.Valid(payload) {
		return errPayloadJSON
	}
	i := skipSpace(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return errPayloadShape
	}
	var names nameSet
	var typeErr error
	it := objectAt(payload, i)
	for {
		ns, ne, vs, ve, ok := it.next()
		if !ok {
			break
		}
		name, status := names.add(payload, ns, ne)
		switch status {
		case addDuplicate:
			return &checkError{ErrPayload, "duplicate member " + quoteName(string(name))}
		case addTooMany:
			return errPayloadTooMany
		}
		c, known := claimNamed(name)
		if !known {
			if n, bad := caseVariant(name); bad {
				return &checkError{ErrPayload, "member " + quoteName(string(name)) + " differs from claim " + strconv.Quote(n) + " only in case"}
			}
			continue
		}
		sc.val[c] = span{vs, ve}
		// Keep scanning after a type error: a later duplicate or case
		// variant is reported as ErrPayload, as before.
		if typeErr == nil {
			typeErr = sc.checkType(c)
		}
	}
	if typeErr != nil {
		return typeErr
	}
	if err := sc.checkScope(); err != nil {
		return err
	}
	switch {
	case !sc.val[clIss].present():
		return errIssMissing
	case !sc.val[clExp].present():
		return ErrExpMissing
	case !sc.val[clIat].present():
		return ErrIatMissing
	}
	return sc.nested
}

// checkType applies the type rule of claim c to its value.
func (sc *claimScan) checkType(c claim) error {
	d, sp := sc.payload, sc.val[c]
	v := d[sp.s:sp.e]
	switch c {
	case clExp, clIat, clNbf:
		if v[0] < '0' || v[0] > '9' {
			return &claimTypeError{c, "is not a non-negative integer NumericDate"}
		}
		if _, ok := parseNumericDate(v); !ok {
			return &claimTypeError{c, "is out of range or not an integer NumericDate"}
		}
	case clAud, clScope, clScp:
		if v[0] != '"' && (v[0] != '[' || !stringArray(d, sp.s)) {
			return &claimTypeError{c, "is not a string or an array of strings"}
		}
	case clGroups:
		if v[0] != 'n' && (v[0] != '[' || !stringArray(d, sp.s)) {
			return &claimTypeError{c, "is not an array of strings"}
		}
	case clRealmAccess:
		if v[0] == 'n' {
			return nil
		}
		multi, ok := rolesObject(d, sp.s)
		if !ok {
			return &claimTypeError{c, "is not an object with a roles array"}
		}
		if multi {
			// Role tables can grant scopes: an ambiguous roles list is
			// refused (reported after the type and presence checks).
			sc.nested = errRealmRolesAmbiguous
		}
	case clResourceAccess:
		if v[0] == 'n' {
			return nil
		}
		if v[0] != '{' {
			return &claimTypeError{c, "is not an object"}
		}
		it := objectAt(d, sp.s)
		var seen [maxResourceAccessClients]span
		n := 0
		for {
			ns, ne, vs, _, ok := it.next()
			if !ok {
				break
			}
			for _, p := range seen[:n] {
				if sameJSONString(d[p.s:p.e], d[ns:ne]) && sc.nested == nil {
					sc.nested = errResourceAccessDuplicate
				}
			}
			if n == len(seen) {
				if sc.nested == nil {
					sc.nested = errResourceAccessTooMany
				}
				continue
			}
			seen[n] = span{ns, ne}
			n++
			if d[vs] == 'n' {
				continue
			}
			multi, ok := rolesObject(d, vs)
			if !ok {
				return &claimTypeError{c, "has an entry that is not an object with a roles array"}
			}
			if multi && sc.nested == nil {
				sc.nested = errResourceRolesAmbiguous
			}
		}
	default: // string claims
		if v[0] != '"' {
			return &claimTypeError{c, "is not a string"}
		}
	}
	return nil
}

// parseNumericDate parses a JSON number that starts with a digit as a
// NumericDate: digits only, no leading zero, at most maxNumericDate (the
// former strconv.ParseInt-based rule).
func parseNumericDate(v []byte) (int64, bool) {
	if len(v) > 1 && v[0] == '0' {
		return 0, false
	}
	if len(v) > len("253402300799") {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxNumericDate
}

// stringArray reports whether the array at d[i] holds only strings and
// nulls.
func stringArray(d []byte, i int) bool {
	it := arrayAt(d, i)
	for {
		vs, _, ok := it.next()
		if !ok {
			return true
		}
		if d[vs] != '"' && d[vs] != 'n' {
			return false
		}
	}
}

// rolesObject checks that d[i] is an object whose "roles" members (any
// case) are null or string arrays. multi reports more than one such member.
func rolesObject(d []byte, i int) (multi, ok bool) {
	if d[i] != '{' {
		return false, false
	}
	var scratch [64]byte
	n := 0
	it := objectAt(d, i)
	for {
		ns, ne, vs, _, more := it.next()
		if !more {
			return n > 1, true
		}
		if !isRolesName(decodedString(d, ns, ne, scratch[:0])) {
			continue
		}
		n++
		if d[vs] != 'n' && (d[vs] != '[' || !stringArray(d, vs)) {
			return false, false
		}
	}
}

// checkScope applies the scope rules: "scope" must be a string; when only
// "scp" is present as an array, its elements must be non-empty and free of
// whitespace (they are joined with single spaces).
func (sc *claimScan) checkScope() error {
	d := sc.payload
	scope, scp := sc.val[clScope], sc.val[clScp]
	if scope.present() {
		if d[scope.s] == '[' {
			return errScopeNotString
		}
		return nil
	}
	if !scp.present() || d[scp.s] != '[' {
		return nil
	}
	var scratch [64]byte
	it := arrayAt(d, scp.s)
	for {
		vs, ve, ok := it.next()
		if !ok {
			return nil
		}
		if d[vs] == 'n' {
			return errScopeArrayElem // null decodes as ""
		}
		s := decodedString(d, vs, ve, scratch[:0])
		if len(s) == 0 || bytes.ContainsAny(s, " \t\r\n") {
			return errScopeArrayElem
		}
	}
}

// issuer returns the decoded iss of a scanned payload without allocating
// for issuers of up to 256 bytes; the result is only valid until scratch
// changes.
func (sc *claimScan) issuer(scratch []byte) []byte {
	sp := sc.val[clIss]
	return decodedString(sc.payload, sp.s, sp.e, scratch)
}

// build fills c from a scanned payload. text must equal string(payload):
// string claims without escapes are substrings of it; slices and maps are
// allocated as the claims need them.
func (sc *claimScan) build(c *Claims, text string) error {
	b := builder{d: sc.payload, text: text}
	v := &sc.val
	c.Issuer = b.str(v[clIss])
	c.Subject = b.str(v[clSub])
	c.Audience = b.list(v[clAud])
	c.ExpiresAt = b.date(v[clExp])
	c.IssuedAt = b.date(v[clIat])
	if v[clNbf].present() {
		c.NotBefore, c.HasNotBefore = b.date(v[clNbf]), true
	}
	switch {
	case v[clScope].present():
		c.Scope = b.str(v[clScope])
	case v[clScp].present() && b.d[v[clScp].s] == '[':
		c.Scope = strings.Join(b.list(v[clScp]), " ")
	default:
		c.Scope = b.str(v[clScp])
	}
	c.TokenUse = b.str(v[clTokenUse])
	c.Type = b.str(v[clTyp])
	c.ClientID = b.str(v[clClientID])
	c.AuthorizedParty = b.str(v[clAzp])
	c.Username = b.str(v[clUsername])
	if c.Username == "" {
		c.Username = b.str(v[clPreferredUsername])
	}
	c.FHIRUser = b.str(v[clFHIRUser])
	c.Patient = b.str(v[clPatient])
	c.ID = b.str(v[clJti])
	c.Groups = b.list(v[clGroups])
	c.Raw = sc.payload
	if sp := v[clRealmAccess]; sp.present() && b.d[sp.s] == '{' {
		c.RealmRoles = b.roles(sp.s)
	}
	if sp := v[clResourceAccess]; sp.present() && b.d[sp.s] == '{' {
		c.ClientRoles = b.clientRoles(sp.s)
	}
	return nil
}

// builder materialises scanned values. text is string(d), so strings
// without escapes are substrings of one copy.
type builder struct {
	d    []byte
	text string
}

// str decodes the JSON string d[s:e] (absent or null: "").
func (b *builder) str(sp span) string {
	if !sp.present() || b.d[sp.s] != '"' {
		return ""
	}
	return b.stringAt(sp.s, sp.e)
}

func (b *builder) stringAt(s, e int) string {
	body, escaped := stringBody(b.d, s, e)
	if escaped {
		var scratch [128]byte
		return string(appendUnquoted(scratch[:0], body))
	}
	return b.text[s+1 : e-1]
}

// list decodes a string (one element) or an array of strings and nulls
// (null: ""); absent and null give nil, [] gives an empty non-nil slice.
func (b *builder) list(sp span) []string {
	if !sp.present() {
		return nil
	}
	switch b.d[sp.s] {
	case '"':
		return []string{b.stringAt(sp.s, sp.e)}
	case '[':
		return b.array(sp.s)
	}
	return nil
}

// array decodes the string array at d[i].
func (b *builder) array(i int) []string {
	n := 0
	it := arrayAt(b.d, i)
	for _, _, ok := it.next(); ok; _, _, ok = it.next() {
		n++
	}
	out := make([]string, n)
	it = arrayAt(b.d, i)
	for k := range out {
		vs, ve, _ := it.next()
		if b.d[vs] == '"' {
			out[k] = b.stringAt(vs, ve)
		}
	}
	return out
}

// date returns a scanned NumericDate.
func (b *builder) date(sp span) int64 {
	n, _ := parseNumericDate(b.d[sp.s:sp.e])
	return n
}

// roles decodes the single "roles" member (if any) of the object at d[i].
func (b *builder) roles(i int) []string {
	var scratch [64]byte
	it := objectAt(b.d, i)
	for {
		ns, ne, vs, _, ok := it.next()
		if !ok {
			return nil
		}
		if isRolesName(decodedString(b.d, ns, ne, scratch[:0])) {
			if b.d[vs] == '[' {
				return b.array(vs)
			}
			return nil
		}
	}
}

// clientRoles decodes resource_access (no entry with several "roles"
// members). Later duplicates of a client name replace earlier ones, as with
// encoding/json; an empty object gives nil.
func (b *builder) clientRoles(i int) map[string][]string {
	var m map[string][]string
	it := objectAt(b.d, i)
	for {
		ns, ne, vs, _, ok := it.next()
		if !ok {
			return m
		}
		if m == nil {
			m = make(map[string][]string)
		}
		var r []string
		if b.d[vs] == '{' {
			r = b.roles(vs)
		}
		m[b.stringAt(ns, ne)] = r
	}
}
