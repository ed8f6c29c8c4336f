package smartauth

import (
	stdjson "encoding/json"

	"github.com/go-json-experiment/json"
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
	Raw stdjson.RawMessage
}

// StringClaim returns a top-level string claim by name: from its typed
// field when that is non-empty (iss, sub, client_id, azp, fhirUser,
// patient, jti), else from Raw, decoded on each call (Claims built by hand
// need Raw for other names). ok is false when the claim is absent or not a
// string.
func (c *Claims) StringClaim(name string) (value string, ok bool) {
	// A typed field, when set, spares decoding Raw (UIDClaim, per request).
	var typed string
	switch name {
	case "iss":
		typed = c.Issuer
	case "sub":
		typed = c.Subject
	case "client_id":
		typed = c.ClientID
	case "azp":
		typed = c.AuthorizedParty
	case "fhirUser":
		typed = c.FHIRUser
	case "patient":
		typed = c.Patient
	case "jti":
		typed = c.ID
	}
	if typed != "" {
		return typed, true
	}
	// A Raw built by hand may repeat a name (the last wins) or hold invalid
	// UTF-8 (replaced).
	var m map[string]jsontext.Value
	if json.Unmarshal(c.Raw, &m, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) != nil {
		return "", false
	}
	v, ok := m[name]
	if !ok || v.Kind() != '"' {
		return "", false
	}
	b, _ := jsontext.AppendUnquote(nil, v)
	return string(b), true
}
