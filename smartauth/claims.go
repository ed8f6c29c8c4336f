package smartauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// maxNumericDate is 9999-12-31T23:59:59Z; larger values are rejected as out
// of range rather than overflowing time arithmetic.
const maxNumericDate = 253402300799

// Claims are the typed claims of a verified access token. Fields absent from
// the token are zero; Has* fields tell absent from zero where it matters.
type Claims struct {
	Issuer          string
	Subject         string
	Audience        []string
	ExpiresAt       int64
	IssuedAt        int64
	NotBefore       int64
	HasNotBefore    bool
	Scope           string              // "scope" string, or "scp" (string or array joined with single spaces)
	TokenUse        string              // Cognito token_use
	Type            string              // payload typ (Keycloak: Bearer, ID, Refresh, Offline)
	ClientID        string              // client_id
	AuthorizedParty string              // azp
	Username        string              // username, or Keycloak preferred_username
	FHIRUser        string              // fhirUser
	Patient         string              // patient (SMART launch context)
	ID              string              // jti
	Groups          []string            // cognito:groups
	RealmRoles      []string            // Keycloak realm_access.roles
	ClientRoles     map[string][]string // Keycloak resource_access.<client>.roles
	// Raw is the verified payload JSON, for custom claims. Do not modify it.
	Raw json.RawMessage
}

// StringClaim returns a top-level string claim by name from the verified
// payload. ok is false when the claim is absent or not a string.
func (c *Claims) StringClaim(name string) (value string, ok bool) {
	switch name {
	case "iss":
		return c.Issuer, c.Issuer != ""
	case "sub":
		return c.Subject, c.Subject != ""
	case "client_id":
		return c.ClientID, c.ClientID != ""
	case "azp":
		return c.AuthorizedParty, c.AuthorizedParty != ""
	case "fhirUser":
		return c.FHIRUser, c.FHIRUser != ""
	case "patient":
		return c.Patient, c.Patient != ""
	case "jti":
		return c.ID, c.ID != ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(c.Raw, &m) != nil {
		return "", false
	}
	raw, found := m[name]
	if !found || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	if json.Unmarshal(raw, &value) != nil {
		return "", false
	}
	return value, true
}

// numericDate is a JSON integer number of seconds since the epoch. Strings,
// fractions, exponents, negatives, null and out-of-range values are errors,
// never "absent".
type numericDate struct {
	v   int64
	set bool
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
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

// stringList accepts a JSON string or an array of strings (aud, scp, scope).
type stringList struct {
	v       []string
	isArray bool
	set     bool
}

func (l *stringList) UnmarshalJSON(b []byte) error {
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

// strictString rejects null and non-strings (encoding/json would leave a
// plain string field empty on null).
type strictString struct {
	v   string
	set bool
}

func (s *strictString) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return fmt.Errorf("expected a string")
	}
	s.set = true
	return json.Unmarshal(b, &s.v)
}

type roles struct {
	Roles []string `json:"roles"`
}

type wireClaims struct {
	Iss            strictString     `json:"iss"`
	Sub            strictString     `json:"sub"`
	Aud            stringList       `json:"aud"`
	Exp            numericDate      `json:"exp"`
	Iat            numericDate      `json:"iat"`
	Nbf            numericDate      `json:"nbf"`
	Scope          stringList       `json:"scope"`
	Scp            stringList       `json:"scp"`
	TokenUse       strictString     `json:"token_use"`
	Typ            strictString     `json:"typ"`
	ClientID       strictString     `json:"client_id"`
	Azp            strictString     `json:"azp"`
	Username       strictString     `json:"username"`
	PreferredName  strictString     `json:"preferred_username"`
	FHIRUser       strictString     `json:"fhirUser"`
	Patient        strictString     `json:"patient"`
	Jti            strictString     `json:"jti"`
	Groups         []string         `json:"cognito:groups"`
	RealmAccess    *roles           `json:"realm_access"`
	ResourceAccess map[string]roles `json:"resource_access"`
}

// decodeClaims decodes the payload once (step 5 uses the unverified issuer;
// everything else is trusted only after the signature check). The payload
// must be a JSON object with unique member names and well-typed claims.
func decodeClaims(payload []byte) (*Claims, error) {
	if err := checkObject(payload, checkClaimName); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrClaimType, claimTypeDetail(err))
	}
	scope, err := joinScope(w.Scope, w.Scp)
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
		ClientRoles:     nil,
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

// checkClaimName refuses a member whose name differs from one of the claims
// decoded into wireClaims only by case (or Unicode case folding, e.g. "EXP",
// "Patient", "\u017fub"). encoding/json matches names case-insensitively, so
// such a member would otherwise feed the same field as the real claim (last
// one wins): one payload with two meanings (token-security.md §4 row 27).
func checkClaimName(name string, _ []byte) error {
	for _, n := range [...]string{"iss", "sub", "aud", "exp", "iat", "nbf", "scope", "scp",
		"token_use", "typ", "client_id", "azp", "username", "preferred_username", "fhirUser",
		"patient", "jti", "cognito:groups", "realm_access", "resource_access"} {
		if name != n && strings.EqualFold(name, n) {
			return fmt.Errorf("member %s differs from claim %q only in case", quoteName(name), n)
		}
	}
	return nil
}

// joinScope returns the scope claim as one space-separated string. "scope"
// must be a string (token-security.md §2 step 8, §4 row 20); "scp" may be a
// string or an array (Okta), joined with single spaces. Array elements must
// be non-empty and contain no space.
func joinScope(scope, scp stringList) (string, error) {
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

// claimTypeDetail names the offending claim without echoing its value.
func claimTypeDetail(err error) string {
	var ute *json.UnmarshalTypeError
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		ute = e
		return "claim " + quoteName(ute.Field) + " has the wrong type"
	}
	msg := err.Error()
	if i := bytes.IndexByte([]byte(msg), ':'); i > 0 && strings.HasPrefix(msg, "json: cannot unmarshal") {
		return msg[:i]
	}
	// Errors from our UnmarshalJSON methods carry no token content.
	return msg
}
