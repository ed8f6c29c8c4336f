package smartauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// Event is the request HealthLake sends to the IdP Lambda of a data store
// created with AuthorizationStrategy SMART_ON_FHIR or SMART_ON_FHIR_V1.
// Unknown fields are ignored. Event redacts the bearer token when printed
// with fmt or logged with log/slog; json.Marshal writes the wire format,
// token included, so never log a marshalled Event.
type Event struct {
	DatastoreEndpoint    string `json:"datastoreEndpoint"`
	BearerToken          string `json:"bearerToken"`
	OperationName        string `json:"operationName,omitempty"`
	DatastoreID          string `json:"datastoreId,omitempty"`
	DatastoreTypeVersion string `json:"datastoreTypeVersion,omitempty"`
	DatastoreName        string `json:"datastoreName,omitempty"`
}

// maxEventSize bounds DecodeEvent input (the token cap plus room for the
// other fields).
const maxEventSize = MaxTokenSizeLimit + 16<<10

// DecodeEvent decodes a HealthLake event leniently: unknown fields are
// ignored, operationName is opaque. It fails on malformed JSON, non-string
// fields or oversized input; a missing endpoint or token is left for
// Authorize to deny.
func DecodeEvent(data []byte) (Event, error) {
	var e Event
	if len(data) > maxEventSize {
		return e, fmt.Errorf("%w: event larger than %d bytes", ErrEvent, maxEventSize)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return Event{}, fmt.Errorf("%w: field %q has the wrong type", ErrEvent, ute.Field)
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

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
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
	Iss          string          `json:"iss,omitempty"`
	Aud          string          `json:"aud,omitempty"`
	Iat          *int64          `json:"iat,omitempty"`
	Nbf          *int64          `json:"nbf,omitempty"`
	Exp          *int64          `json:"exp,omitempty"`
	IsAuthorized json.RawMessage `json:"isAuthorized"`
	UID          string          `json:"uid,omitempty"`
	Scope        string          `json:"scope,omitempty"`
	FHIRUser     string          `json:"fhirUser,omitempty"`
	Patient      string          `json:"patient,omitempty"`
}

// MarshalJSON writes the HealthLake field names. An allowed payload always
// carries nbf and exp (HealthLake requires both); other zero fields are
// omitted.
func (p AuthPayload) MarshalJSON() ([]byte, error) {
	w := wirePayload{Iss: p.Issuer, Aud: p.Audience,
		UID: p.UID, Scope: p.Scope, FHIRUser: p.FHIRUser, Patient: p.Patient}
	if p.IssuedAt != 0 {
		w.Iat = &p.IssuedAt
	}
	if p.IsAuthorized || p.NotBefore != 0 || p.ExpiresAt != 0 {
		w.Nbf, w.Exp = &p.NotBefore, &p.ExpiresAt
	}
	switch {
	case p.AuthorizedAsString && p.IsAuthorized:
		w.IsAuthorized = json.RawMessage(`"true"`)
	case p.AuthorizedAsString:
		w.IsAuthorized = json.RawMessage(`"false"`)
	case p.IsAuthorized:
		w.IsAuthorized = json.RawMessage(`true`)
	default:
		w.IsAuthorized = json.RawMessage(`false`)
	}
	return json.Marshal(w)
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
		return errors.New("smartauth: isAuthorized is neither a boolean nor \"true\"/\"false\"")
	}
	return nil
}

// Decision is the outcome of Authorize, with what a caller needs for its
// decision log. It never holds the token.
type Decision struct {
	// Response is what the Lambda returns to HealthLake (also on deny).
	Response Response
	// Allowed is true when Response grants access.
	Allowed bool
	// Err is why the request was denied (wrapping one sentinel), or an
	// internal fault when Internal is true. Nil when allowed.
	Err error
	// Internal marks faults that are not the caller's: missing key set
	// (JWKS unreachable with nothing cached), configuration. The Lambda
	// should return a (generic) function error for these.
	Internal bool
	// Reason is Reason(Err): a short code for logs and metrics.
	Reason string
	// Issuer, ClientID and Subject come from the verified token, if any.
	Issuer, ClientID, Subject string
	// Scopes is the number of scopes granted in the response.
	Scopes int
	// Latency is the time Authorize took.
	Latency time.Duration
}

// Authorize validates the event's token for its data store and builds the
// HealthLake response. Token and event problems give a well-formed deny
// ({"authPayload":{"isAuthorized":false}}); only internal faults set
// Decision.Internal.
func (v *Validator) Authorize(ctx context.Context, ev Event) Decision {
	// Latency is a measurement, not a validation input: it uses the real
	// monotonic clock, not Config.Now.
	start := time.Now()
	d := v.authorize(ctx, ev)
	d.Reason = Reason(d.Err)
	d.Latency = time.Since(start)
	return d
}

func (v *Validator) deny(err error) Decision {
	return Decision{
		Response: Response{AuthPayload: AuthPayload{AuthorizedAsString: v.asString}},
		Err:      err,
		Internal: errors.Is(err, ErrKeySetUnavailable) || errors.Is(err, ErrConfig),
	}
}

func (v *Validator) authorize(ctx context.Context, ev Event) Decision {
	if ev.DatastoreEndpoint == "" || strings.ContainsAny(ev.DatastoreEndpoint, " \t\r\n") {
		return v.deny(fmt.Errorf("%w: datastoreEndpoint missing or malformed", ErrEvent))
	}
	if !v.servesEndpoint(ev.DatastoreEndpoint) {
		return v.deny(fmt.Errorf("%w: datastoreEndpoint is not one of the configured endpoints", ErrEvent))
	}
	if ev.BearerToken == "" {
		return v.deny(ErrTokenMissing)
	}
	t, err := v.Validate(ctx, ev.BearerToken, ev.DatastoreEndpoint)
	if err != nil {
		return v.deny(err)
	}
	scope := v.formatScopes(t)
	if scope == "" {
		err := error(ErrScope)
		if t.Claims.Patient == "" && hasPatientScope(t) {
			err = fmt.Errorf("%w: patient/ scopes need a patient claim (launch context)", ErrScope)
		}
		d := v.deny(err)
		d.Issuer, d.ClientID, d.Subject = t.Issuer, clientOf(t.Claims), t.Claims.Subject
		return d
	}
	c := t.Claims
	uid, _ := c.StringClaim(v.uidClaim)
	nbf := c.IssuedAt
	if c.HasNotBefore {
		nbf = c.NotBefore
	}
	return Decision{
		Allowed: true,
		Response: Response{
			AuthPayload: AuthPayload{
				Issuer:             c.Issuer,
				Audience:           ev.DatastoreEndpoint,
				IssuedAt:           c.IssuedAt,
				NotBefore:          nbf,
				ExpiresAt:          c.ExpiresAt,
				IsAuthorized:       true,
				UID:                uid,
				Scope:              scope,
				FHIRUser:           c.FHIRUser,
				Patient:            c.Patient,
				AuthorizedAsString: v.asString,
			},
			IAMRoleARN: v.roleARN,
		},
		Issuer:   t.Issuer,
		ClientID: clientOf(c),
		Subject:  c.Subject,
		Scopes:   strings.Count(scope, " ") + 1,
	}
}

// formatScopes renders the granted scopes, or "" when no resource scope
// survives (the caller denies).
func (v *Validator) formatScopes(t *Token) string {
	var b strings.Builder
	resource := false
	for i := range t.Scopes {
		s := &t.Scopes[i]
		text := s.String()
		switch {
		case s.Kind == scopes.KindExtension:
			// Extension scopes grant nothing in FHIR terms and may name
			// another resource server: never forwarded.
			continue
		case s.IsResource() && s.Context == scopes.ContextPatient && t.Claims.Patient == "":
			// patient/ scopes need a patient in context (SMART App Launch:
			// the server SHALL establish one); without it they grant nothing.
			continue
		}
		if v.scopeFormat == ScopesV1 && s.IsResource() {
			v1, ok := s.V1()
			if !ok {
				continue
			}
			text = v1
			// Two v2 scopes can convert to the same v1 text.
			if containsField(b.String(), text) {
				continue
			}
		}
		if s.IsResource() {
			resource = true
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(text)
	}
	if !resource {
		return ""
	}
	return b.String()
}

func clientOf(c *Claims) string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return c.AuthorizedParty
}

// containsField reports whether the space-separated list has field f.
func containsField(list, f string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, " ")
		if item == f {
			return true
		}
	}
	return false
}

func hasPatientScope(t *Token) bool {
	for i := range t.Scopes {
		if t.Scopes[i].IsResource() && t.Scopes[i].Context == scopes.ContextPatient {
			return true
		}
	}
	return false
}
