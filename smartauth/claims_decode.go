package smartauth

import (
	"bytes"
	"cmp"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// wireClaims is the payload, decoded in one pass (step 5) with json/v2
// semantics: invalid UTF-8, invalid JSON and duplicate names (at any depth)
// are refused, and each field's type refuses a known claim of the wrong JSON
// type. A name differing from a known claim's (or from "roles" in a role
// object) only in case, folded as by strings.EqualFold ("EXP", "ſub"), is
// refused: another parser might read it as the claim. Unknown members are
// ignored whatever they hold.
type wireClaims struct {
	Iss               claimString   `json:"iss"`
	Sub               claimString   `json:"sub"`
	Aud               stringOrArray `json:"aud"`
	Exp               numericDate   `json:"exp"`
	Iat               numericDate   `json:"iat"`
	Nbf               numericDate   `json:"nbf"`
	Scope             claimString   `json:"scope"`
	Scp               stringOrArray `json:"scp"`
	TokenUse          claimString   `json:"token_use"`
	Typ               claimString   `json:"typ"`
	ClientID          claimString   `json:"client_id"`
	Azp               claimString   `json:"azp"`
	Username          claimString   `json:"username"`
	PreferredUsername claimString   `json:"preferred_username"`
	FHIRUser          claimString   `json:"fhirUser"`
	Patient           claimString   `json:"patient"`
	Jti               claimString   `json:"jti"`
	Groups            stringArray   `json:"cognito:groups"`
	RealmAccess       roleObject    `json:"realm_access"`
	ResourceAccess    clientRoles   `json:"resource_access"`

	// Case-variant traps: an inexact name folding to one of these is refused.
	IssCase               caseVariant `json:"ISS,case:ignore"`
	SubCase               caseVariant `json:"SUB,case:ignore"`
	AudCase               caseVariant `json:"AUD,case:ignore"`
	ExpCase               caseVariant `json:"EXP,case:ignore"`
	IatCase               caseVariant `json:"IAT,case:ignore"`
	NbfCase               caseVariant `json:"NBF,case:ignore"`
	ScopeCase             caseVariant `json:"SCOPE,case:ignore"`
	ScpCase               caseVariant `json:"SCP,case:ignore"`
	TokenUseCase          caseVariant `json:"TOKEN_USE,case:ignore"`
	TypCase               caseVariant `json:"TYP,case:ignore"`
	ClientIDCase          caseVariant `json:"CLIENT_ID,case:ignore"`
	AzpCase               caseVariant `json:"AZP,case:ignore"`
	UsernameCase          caseVariant `json:"USERNAME,case:ignore"`
	PreferredUsernameCase caseVariant `json:"PREFERRED_USERNAME,case:ignore"`
	FHIRUserCase          caseVariant `json:"FHIRUSER,case:ignore"`
	PatientCase           caseVariant `json:"PATIENT,case:ignore"`
	JtiCase               caseVariant `json:"JTI,case:ignore"`
	GroupsCase            caseVariant `json:"COGNITO:GROUPS,case:ignore"`
	RealmAccessCase       caseVariant `json:"REALM_ACCESS,case:ignore"`
	ResourceAccessCase    caseVariant `json:"RESOURCE_ACCESS,case:ignore"`
}

// decodeOptions makes case:ignore fold like strings.EqualFold (by default
// json/v2 also ignores '_' and '-', which would trap "tokenuse").
func decodeOptions() json.Options { return jsonv1.MatchCaseSensitiveDelimiter(true) }

// roleObject is realm_access or a resource_access entry. Roles can grant
// scopes, so a case variant of "roles" is refused.
type roleObject struct {
	Roles     stringArray `json:"roles"`
	RolesCase caseVariant `json:"ROLES,case:ignore"`
}

// Reasons a known claim is refused; claimsError adds the claim name.
var (
	errNotString      = &checkError{ErrClaimType, "is not a string"}
	errNotDate        = &checkError{ErrClaimType, "is not an integer NumericDate in 0..253402300799"}
	errNotList        = &checkError{ErrClaimType, "is not a string or an array of strings"}
	errNotArray       = &checkError{ErrClaimType, "is not an array of strings"}
	errNotObject      = &checkError{ErrClaimType, "is not an object"}
	errCaseVariant    = &checkError{ErrPayload, "differs from a claim name only in case"}
	errScopeArrayElem = &checkError{ErrClaimType, "scp array element is empty or contains whitespace"}
	errPayloadShape   = &checkError{ErrPayload, "not a JSON object"}
	errPayloadUTF8    = &checkError{ErrPayload, "invalid UTF-8"}
	errPayloadJSON    = &checkError{ErrPayload, "invalid JSON"}
	errIssMissing     = &checkError{ErrIssuer, "iss missing"}
)

// claimString is a string claim as the span payload[start:end] of its
// literal (quotes included); end == 0: absent.
type claimString struct{ start, end int32 }

func (s *claimString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '"' {
		return wrongType(dec, errNotString)
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	s.end = int32(dec.InputOffset())
	s.start = s.end - int32(len(v))
	return nil
}

func (s claimString) present() bool { return s.end != 0 }

// unquote returns s from data (the decoded JSON, as string or []byte): the
// literal's body, sharing data, or its unescaped text appended to scratch.
func unquote[T string | []byte](s claimString, data T, scratch []byte) T {
	var zero T
	if !s.present() {
		return zero
	}
	lit := data[s.start:s.end]
	for i := range len(lit) {
		if lit[i] == '\\' {
			b, _ := jsontext.AppendUnquote(scratch, lit) // validated while decoding
			return T(b)
		}
	}
	return lit[1 : len(lit)-1]
}

// numericDate is an integer NumericDate (RFC 7519 §2) in 0..253402300799,
// without fraction, exponent, sign or leading zero.
type numericDate struct {
	v   int64
	set bool
}

func (d *numericDate) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '0' {
		return wrongType(dec, errNotDate)
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if len(v) > len("253402300799") || (len(v) > 1 && v[0] == '0') {
		return errNotDate
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return errNotDate
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxNumericDate {
		return errNotDate
	}
	d.v, d.set = n, true
	return nil
}

// stringList is the spans of a string or array-of-strings claim: the
// first four in buf, so decoding allocates nothing; all in more beyond.
// No field points into the struct itself: a copy stays valid.
type stringList struct {
	set     bool // a string or an array (not absent, not null)
	isArray bool
	n       int
	buf     [4]claimString
	more    []claimString
}

func (l *stringList) elems() []claimString {
	if l.more != nil {
		return l.more
	}
	return l.buf[:l.n:l.n] // full: an append copies
}

// strings returns the elements: nil when absent or null, empty for [].
func (l *stringList) strings(text string) []string {
	if !l.set {
		return nil
	}
	out := make([]string, l.n)
	for i, s := range l.elems() {
		out[i] = unquote(s, text, nil)
	}
	return out
}

// decode reads an array of strings, and null (!orString) or a string
// (orString); anything else, null elements included, is typeErr.
func (l *stringList) decode(dec *jsontext.Decoder, orString bool, typeErr error) error {
	switch k := dec.PeekKind(); {
	case k == 'n' && !orString:
		_, err := dec.ReadToken()
		return err
	case k == '"' && orString:
		l.set, l.n = true, 1
		return l.buf[0].UnmarshalJSONFrom(dec)
	case k != '[':
		return wrongType(dec, typeErr)
	}
	if _, err := dec.ReadToken(); err != nil { // '['
		return err
	}
	l.set, l.isArray = true, true
	for dec.PeekKind() == '"' {
		var s claimString
		if err := s.UnmarshalJSONFrom(dec); err != nil {
			return err
		}
		if l.n < len(l.buf) {
			l.buf[l.n] = s
		} else {
			l.more = append(l.elems(), s)
		}
		l.n++
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != ']' {
		return typeErr
	}
	return nil
}

// stringArray is null or an array of strings.
type stringArray struct{ stringList }

func (a *stringArray) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return a.decode(dec, false, errNotArray)
}

// stringOrArray is a string (one element) or an array of strings.
type stringOrArray struct{ stringList }

func (l *stringOrArray) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return l.decode(dec, true, errNotList)
}

// clientRoles is resource_access: null or an object of client name to null
// or roleObject; laid out as stringList (one client is the common case).
type clientRoles struct {
	n    int
	buf  [1]clientEntry
	more []clientEntry
}

func (c *clientRoles) entries() []clientEntry {
	if c.more != nil {
		return c.more
	}
	return c.buf[:c.n:c.n]
}

type clientEntry struct {
	name  claimString
	roles roleObject
}

func (c *clientRoles) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k != 'n' && k != '{' {
		return wrongType(dec, errNotObject)
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() == 'n' {
		return err
	}
	for dec.PeekKind() == '"' {
		e := &c.buf[0]
		if c.n > 0 {
			c.more = append(c.entries(), clientEntry{})
			e = &c.more[c.n]
		}
		c.n++
		if err := e.name.UnmarshalJSONFrom(dec); err != nil {
			return err
		}
		if err := json.UnmarshalDecode(dec, &e.roles); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken() // '}'
	return err
}

// caseVariant refuses the member it matches.
type caseVariant struct{}

func (caseVariant) UnmarshalJSONFrom(*jsontext.Decoder) error { return errCaseVariant }

// wrongType returns typeErr, unless the value is not valid JSON at all.
func wrongType(dec *jsontext.Decoder, typeErr error) error {
	if dec.PeekKind() == 0 {
		if _, err := dec.ReadValue(); err != nil {
			return err
		}
	}
	return typeErr
}

// decodePayload is step 5, with the scp rule and iss, exp and iat present.
func decodePayload(payload []byte, w *wireClaims) error {
	if err := notObject(payload, errPayloadUTF8, errPayloadShape); err != nil {
		return err
	}
	if err := json.Unmarshal(payload, w, decodeOptions()); err != nil {
		return claimsError(payload, err)
	}
	if !w.Scope.present() && w.Scp.isArray {
		var scratch [64]byte
		for _, sp := range w.Scp.elems() {
			s := unquote(sp, payload, scratch[:0])
			if len(s) == 0 || bytes.ContainsAny(s, " \t\r\n") {
				return errScopeArrayElem
			}
		}
	}
	switch {
	case !w.Iss.present():
		return errIssMissing
	case !w.Exp.set:
		return ErrExpMissing
	case !w.Iat.set:
		return ErrIatMissing
	}
	return nil
}

// claimsError makes a json.Unmarshal error a checkError naming the member
// at fault (never a value).
func claimsError(payload []byte, err error) error {
	var se *json.SemanticError
	if errors.As(err, &se) {
		where := memberName(se.JSONPointer)
		var ce *checkError
		if errors.As(se.Err, &ce) {
			if ce.sentinel == ErrPayload {
				return &checkError{ErrPayload, "member " + where + " " + ce.detail}
			}
			return &checkError{ce.sentinel, "claim " + where + " " + ce.detail}
		}
		return &checkError{ErrClaimType, "claim " + where + " has the wrong JSON type"}
	}
	return syntaxError(payload, err, ErrPayload, errPayloadUTF8, errPayloadJSON)
}

// notObject returns utf8Err or shapeErr unless data starts a JSON object.
func notObject(data []byte, utf8Err, shapeErr error) error {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return nil
	}
	if !utf8.Valid(data) {
		return utf8Err
	}
	return shapeErr
}

// syntaxError is the checkError of a non-semantic json.Unmarshal error.
func syntaxError(data []byte, err, sentinel, utf8Err, jsonErr error) error {
	var sy *jsontext.SyntacticError
	switch {
	case errors.As(err, &sy) && errors.Is(sy.Err, jsontext.ErrDuplicateName):
		return &checkError{sentinel, "duplicate member " + memberName(sy.JSONPointer)}
	case !utf8.Valid(data):
		return utf8Err
	}
	return jsonErr
}

// claims builds the Claims of a verified payload; text is string(payload).
func (w *wireClaims) claims(c *Claims, payload []byte, text string) {
	*c = Claims{
		Issuer:          unquote(w.Iss, text, nil),
		Subject:         unquote(w.Sub, text, nil),
		Audience:        w.Aud.strings(text),
		ExpiresAt:       w.Exp.v,
		IssuedAt:        w.Iat.v,
		NotBefore:       w.Nbf.v,
		HasNotBefore:    w.Nbf.set,
		Scope:           unquote(w.Scope, text, nil),
		TokenUse:        unquote(w.TokenUse, text, nil),
		Type:            unquote(w.Typ, text, nil),
		ClientID:        unquote(w.ClientID, text, nil),
		AuthorizedParty: unquote(w.Azp, text, nil),
		Username:        cmp.Or(unquote(w.Username, text, nil), unquote(w.PreferredUsername, text, nil)),
		FHIRUser:        unquote(w.FHIRUser, text, nil),
		Patient:         unquote(w.Patient, text, nil),
		ID:              unquote(w.Jti, text, nil),
		Groups:          w.Groups.strings(text),
		RealmRoles:      w.RealmAccess.Roles.strings(text),
		Raw:             payload,
	}
	if !w.Scope.present() && w.Scp.set {
		c.Scope = strings.Join(w.Scp.strings(text), " ")
	}
	if ra := w.ResourceAccess.entries(); len(ra) > 0 {
		c.ClientRoles = make(map[string][]string, len(ra))
		for _, e := range ra {
			c.ClientRoles[unquote(e.name, text, nil)] = e.roles.Roles.strings(text)
		}
	}
}

// quoteName quotes a member name for an error message, cut to 64 bytes.
func quoteName(s string) string { return strconv.Quote(s[:min(len(s), 64)]) }

// memberName is quoteName of a top-level member's JSON pointer.
func memberName(p jsontext.Pointer) string { return quoteName(strings.TrimPrefix(string(p), "/")) }
