package smartauth

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// maxNumericDate is 9999-12-31T23:59:59Z; larger values are refused rather
// than overflowing time arithmetic.
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

// StringClaim returns a top-level string claim by name; ok is false when it
// is absent or not a string.
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
// object raw, streaming (no map of every member). A Raw built by hand may
// repeat a name (the last wins) or hold invalid UTF-8 (replaced).
func rawStringClaim(raw []byte, name string) (string, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return "", false
	}
	var value string
	found := false
	for dec.PeekKind() == '"' {
		n, err := dec.ReadToken()
		if err != nil {
			return "", false
		}
		if n.String() != name {
			if dec.SkipValue() != nil {
				return "", false
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return "", false
		}
		found = v.Kind() == '"'
		if found {
			b, _ := jsontext.AppendUnquote(nil, v)
			value = string(b)
		}
	}
	// The object must be complete and alone, as for json.Unmarshal.
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return "", false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return "", false
	}
	return value, found
}
