package smartauth

import (
	"encoding/json"
	"unicode/utf8"
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
	return rawStringClaim(c.Raw, name)
}

// rawStringClaim looks name up among the top-level members of the JSON
// object raw. As with decoding raw into a map, names are compared after
// unescaping and the last of duplicate members wins. A Raw that is not valid
// UTF-8 (only possible for a Claims built by hand) goes through
// encoding/json, which replaces invalid bytes.
func rawStringClaim(raw []byte, name string) (string, bool) {
	if !utf8.Valid(raw) {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return "", false
		}
		v, found := m[name]
		var s string
		if !found || len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	if !json.Valid(raw) {
		return "", false
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return "", false
	}
	var scratch [64]byte
	vs, ve := -1, -1
	it := objectAt(raw, i)
	for {
		ns, ne, s, e, ok := it.next()
		if !ok {
			break
		}
		if string(decodedString(raw, ns, ne, scratch[:0])) == name {
			vs, ve = s, e
		}
	}
	if vs < 0 || raw[vs] != '"' {
		return "", false
	}
	return string(decodedString(raw, vs, ve, nil)), true
}
