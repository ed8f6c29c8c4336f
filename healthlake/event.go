package healthlake

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// ErrEvent is wrapped by every error about the event itself (undecodable,
// missing or malformed datastoreEndpoint, an endpoint this Authorizer does
// not serve). Its reason code is "event".
var ErrEvent = errors.New("healthlake: invalid HealthLake event")

// Event is the request HealthLake sends to the IdP Lambda of a data store
// created with AuthorizationStrategy SMART_ON_FHIR or SMART_ON_FHIR_V1.
// Event redacts the bearer token when printed with fmt or logged with
// log/slog; json.Marshal writes the wire format, token included, so never
// log a marshalled Event.
type Event struct {
	DatastoreEndpoint    string `json:"datastoreEndpoint"`
	BearerToken          string `json:"bearerToken"`
	OperationName        string `json:"operationName,omitempty"`
	DatastoreID          string `json:"datastoreId,omitempty"`
	DatastoreTypeVersion string `json:"datastoreTypeVersion,omitempty"`
	DatastoreName        string `json:"datastoreName,omitempty"`
}

// maxEventSize bounds DecodeEvent input (the largest token cap plus room
// for the other fields).
const maxEventSize = smartauth.MaxTokenSizeLimit + 16<<10

// DecodeEvent decodes a HealthLake event with github.com/go-json-experiment/json
// defaults: unknown members are ignored, names match case-sensitively,
// duplicate names and invalid UTF-8 are refused; operationName is opaque.
// It fails (wrapping ErrEvent) on malformed JSON, non-string fields or
// oversized input; a missing endpoint or token is left for Authorize to deny.
// The error never holds field values.
func DecodeEvent(data []byte) (Event, error) {
	var e Event
	if len(data) > maxEventSize {
		return e, fmt.Errorf("%w: event larger than %d bytes", ErrEvent, maxEventSize)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		// The JSON library's error may quote the offending value (the
		// token): only the member name is kept.
		var se *json.SemanticError
		if errors.As(err, &se) && se.JSONPointer != "" {
			return Event{}, fmt.Errorf("%w: field %q has the wrong type", ErrEvent, strings.TrimPrefix(string(se.JSONPointer), "/"))
		}
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrEvent)
	}
	return e, nil
}

// String implements fmt.Stringer without the bearer token.
func (e Event) String() string {
	return fmt.Sprintf("Event{endpoint=%q operation=%q datastore=%q token=%s}",
		e.DatastoreEndpoint, e.OperationName, e.DatastoreID, redacted(e.BearerToken))
}

// GoString implements fmt.GoStringer without the bearer token.
func (e Event) GoString() string { return e.String() }

// LogValue implements slog.LogValuer without the bearer token.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("datastoreEndpoint", e.DatastoreEndpoint),
		slog.String("operationName", e.OperationName),
		slog.String("datastoreId", e.DatastoreID),
		slog.String("bearerToken", redacted(e.BearerToken)),
	)
}

func redacted(tok string) string {
	if tok == "" {
		return "(none)"
	}
	return fmt.Sprintf("(redacted, %d bytes)", len(tok))
}

// Response is the IdP Lambda answer HealthLake expects.
type Response struct {
	AuthPayload AuthPayload `json:"authPayload"`
	// IAMRoleARN is set only on allowed responses.
	IAMRoleARN string `json:"iamRoleARN,omitempty"`
}

// MarshalResponse encodes r as the Lambda returns it, byte for byte what
// encoding/json writes: <, >, & and U+2028/U+2029 escaped, invalid UTF-8
// replaced by U+FFFD.
func MarshalResponse(r *Response) ([]byte, error) {
	return AppendResponse(make([]byte, 0, responseSize(r)), r), nil
}

// AuthPayload is the authPayload object of a Response.
type AuthPayload struct {
	Issuer       string
	Audience     string
	IssuedAt     int64
	NotBefore    int64
	ExpiresAt    int64
	IsAuthorized bool
	UID          string
	Scope        string
	FHIRUser     string
	Patient      string
	// AuthorizedAsString writes isAuthorized as the string "true"/"false".
	AuthorizedAsString bool
}

type wirePayload struct {
	Iss          string         `json:"iss,omitempty"`
	Aud          string         `json:"aud,omitempty"`
	Iat          *int64         `json:"iat,omitempty"`
	Nbf          *int64         `json:"nbf,omitempty"`
	Exp          *int64         `json:"exp,omitempty"`
	IsAuthorized jsontext.Value `json:"isAuthorized"`
	UID          string         `json:"uid,omitempty"`
	Scope        string         `json:"scope,omitempty"`
	FHIRUser     string         `json:"fhirUser,omitempty"`
	Patient      string         `json:"patient,omitempty"`
}

// wire maps p to the HealthLake field names. An allowed payload always
// carries nbf and exp (HealthLake requires both); other zero fields are
// omitted.
func (p *AuthPayload) wire() *wirePayload {
	w := &wirePayload{Iss: p.Issuer, Aud: p.Audience,
		UID: p.UID, Scope: p.Scope, FHIRUser: p.FHIRUser, Patient: p.Patient}
	if p.IssuedAt != 0 {
		w.Iat = &p.IssuedAt
	}
	if p.IsAuthorized || p.NotBefore != 0 || p.ExpiresAt != 0 {
		w.Nbf, w.Exp = &p.NotBefore, &p.ExpiresAt
	}
	switch {
	case p.AuthorizedAsString && p.IsAuthorized:
		w.IsAuthorized = jsontext.Value(`"true"`)
	case p.AuthorizedAsString:
		w.IsAuthorized = jsontext.Value(`"false"`)
	case p.IsAuthorized:
		w.IsAuthorized = jsontext.Value(`true`)
	default:
		w.IsAuthorized = jsontext.Value(`false`)
	}
	return w
}

// MarshalJSONTo writes the HealthLake field names (json/v2 interface).
func (p AuthPayload) MarshalJSONTo(enc *jsontext.Encoder) error {
	return json.MarshalEncode(enc, p.wire())
}

// MarshalJSON is MarshalJSONTo for encoding/json.
func (p AuthPayload) MarshalJSON() ([]byte, error) {
	return json.Marshal(p.wire(), jsontext.AllowInvalidUTF8(true))
}

// UnmarshalJSON reads a payload; isAuthorized may be a boolean or the
// string "true"/"false".
func (p *AuthPayload) UnmarshalJSON(b []byte) error {
	var w wirePayload
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = AuthPayload{Issuer: w.Iss, Audience: w.Aud, IssuedAt: deref(w.Iat), NotBefore: deref(w.Nbf),
		ExpiresAt: deref(w.Exp), UID: w.UID, Scope: w.Scope, FHIRUser: w.FHIRUser, Patient: w.Patient}
	switch string(w.IsAuthorized) {
	case "true":
		p.IsAuthorized = true
	case `"true"`:
		p.IsAuthorized, p.AuthorizedAsString = true, true
	case `"false"`:
		p.AuthorizedAsString = true
	case "false", "":
	default:
		return errors.New("healthlake: isAuthorized is neither a boolean nor \"true\"/\"false\"")
	}
	return nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
