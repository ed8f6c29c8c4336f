package healthlake

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// ErrEvent is wrapped by every error about the event itself (undecodable,
// bad or unserved datastoreEndpoint); its reason code is "event".
var ErrEvent = errors.New("healthlake: invalid HealthLake event")

// Event is the request HealthLake sends to the IdP Lambda of a SMART_ON_FHIR
// or SMART_ON_FHIR_V1 data store. fmt and log/slog print it without the
// token; json.Marshal writes it, token included: never log that.
type Event struct {
	DatastoreEndpoint    string `json:"datastoreEndpoint"`
	BearerToken          string `json:"bearerToken"`
	OperationName        string `json:"operationName,omitempty"`
	DatastoreID          string `json:"datastoreId,omitempty"`
	DatastoreTypeVersion string `json:"datastoreTypeVersion,omitempty"`
	DatastoreName        string `json:"datastoreName,omitempty"`
}

const maxEventSize = smartauth.MaxTokenSizeLimit + 16<<10

// DecodeEvent decodes an event with json/v2 defaults (unknown members
// ignored, exact names, duplicate names and invalid UTF-8 refused). It fails,
// wrapping ErrEvent and never quoting a value, on malformed JSON, non-string
// fields or oversized input; a missing endpoint or token is left to
// Authorize.
func DecodeEvent(data []byte) (Event, error) {
	var e Event
	if len(data) > maxEventSize {
		return e, fmt.Errorf("%w: event larger than %d bytes", ErrEvent, maxEventSize)
	}
	err := json.Unmarshal(data, &e)
	if err == nil {
		return e, nil
	}
	// Never err's text: it may quote the token.
	var se *json.SemanticError
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		return Event{}, fmt.Errorf("%w: duplicate member name", ErrEvent)
	case !utf8.Valid(data):
		return Event{}, fmt.Errorf("%w: invalid UTF-8", ErrEvent)
	case errors.As(err, &se) && se.JSONPointer != "":
		return Event{}, fmt.Errorf("%w: field %q has the wrong type", ErrEvent, strings.TrimPrefix(string(se.JSONPointer), "/"))
	case se != nil:
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrEvent)
	}
	return Event{}, fmt.Errorf("%w: malformed JSON", ErrEvent)
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

// Response is the IdP Lambda answer HealthLake expects; IAMRoleARN is set
// only when allowed.
type Response struct {
	AuthPayload AuthPayload `json:"authPayload"`
	IAMRoleARN  string      `json:"iamRoleARN,omitempty"`
}

// MarshalResponse encodes r byte for byte as encoding/json would (<, >, &,
// U+2028/U+2029 escaped, invalid UTF-8 replaced).
func MarshalResponse(r *Response) ([]byte, error) {
	return AppendResponse(make([]byte, 0, responseSize(r)), r), nil
}

// AuthPayload is the authPayload object of a Response. AuthorizedAsString
// writes isAuthorized as the string "true"/"false".
type AuthPayload struct {
	Issuer             string
	Audience           string
	IssuedAt           int64
	NotBefore          int64
	ExpiresAt          int64
	IsAuthorized       bool
	UID                string
	Scope              string
	FHIRUser           string
	Patient            string
	AuthorizedAsString bool
}

// MarshalJSON writes the HealthLake field names, the bytes AppendResponse
// writes for authPayload: an allowed payload always carries nbf and exp,
// other zero fields are omitted.
func (p AuthPayload) MarshalJSON() ([]byte, error) {
	return appendPayload(make([]byte, 0, 256), &p), nil
}

// UnmarshalJSON reads a payload; isAuthorized may be a boolean or the
// string "true"/"false".
func (p *AuthPayload) UnmarshalJSON(b []byte) error {
	var w struct {
		Iss          string         `json:"iss"`
		Aud          string         `json:"aud"`
		Iat          int64          `json:"iat"`
		Nbf          int64          `json:"nbf"`
		Exp          int64          `json:"exp"`
		IsAuthorized jsontext.Value `json:"isAuthorized"`
		UID          string         `json:"uid"`
		Scope        string         `json:"scope"`
		FHIRUser     string         `json:"fhirUser"`
		Patient      string         `json:"patient"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = AuthPayload{Issuer: w.Iss, Audience: w.Aud, IssuedAt: w.Iat, NotBefore: w.Nbf,
		ExpiresAt: w.Exp, UID: w.UID, Scope: w.Scope, FHIRUser: w.FHIRUser, Patient: w.Patient}
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
