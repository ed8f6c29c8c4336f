package healthlake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/scopes"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// ScopeFormat selects how granted scopes are written into authPayload.scope.
type ScopeFormat int

const (
	// ScopesAsGiven emits each valid scope as the token carried it (after a
	// prefix strip), for SMART_ON_FHIR data stores.
	ScopesAsGiven ScopeFormat = iota
	// ScopesV1 emits v1 forms for SMART_ON_FHIR_V1 data stores: v2 resource
	// scopes convert only where exact (rs→read, cud→write, cruds→*); others
	// are dropped.
	ScopesV1
)

// Config holds the response settings of an Authorizer; the zero value of
// every field but RoleARN is the default.
type Config struct {
	// RoleARN (required) is the IAM role HealthLake assumes for allowed
	// requests (iamRoleARN).
	RoleARN     string
	ScopeFormat ScopeFormat
	// AuthorizedAsString emits isAuthorized as the string "true"/"false",
	// as in the HealthLake documentation's example, not a JSON boolean.
	AuthorizedAsString bool
	// UIDClaim names the string claim copied to authPayload.uid ("" = sub).
	UIDClaim string
	// InsecureAllowUserScopesWithoutFHIRUser keeps user/ scopes in a token
	// without a fhirUser claim; by default they grant nothing. It MUST NOT
	// be set unless fine-grained authorization is off and every user may
	// read everything.
	InsecureAllowUserScopesWithoutFHIRUser bool
}

// Authorizer answers HealthLake events with a smartauth.Validator; it is
// safe for concurrent use.
type Authorizer struct {
	v   *smartauth.Validator
	cfg Config
}

// New checks cfg and returns an Authorizer over v; every problem is
// reported (joined), wrapping smartauth.ErrConfig.
func New(v *smartauth.Validator, cfg Config) (*Authorizer, error) {
	var errs []error
	check := func(failed bool, format string, args ...any) {
		if failed {
			errs = append(errs, fmt.Errorf("%w: "+format, append([]any{smartauth.ErrConfig}, args...)...))
		}
	}
	noARN := strings.TrimSpace(cfg.RoleARN) == ""
	check(v == nil, "no Validator")
	check(noARN, "RoleARN is required")
	check(!noARN && (!strings.HasPrefix(cfg.RoleARN, "arn:") || !strings.Contains(cfg.RoleARN, ":role/")),
		"RoleARN %q is not an IAM role ARN", cfg.RoleARN)
	check(cfg.ScopeFormat != ScopesAsGiven && cfg.ScopeFormat != ScopesV1, "unknown ScopeFormat %d", cfg.ScopeFormat)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.UIDClaim == "" {
		cfg.UIDClaim = "sub"
	}
	return &Authorizer{v: v, cfg: cfg}, nil
}

// Decision is the outcome of Authorize, with what a decision log needs. It
// never holds the token.
type Decision struct {
	Response Response // the Lambda's answer, also on deny
	Allowed  bool
	// Err is why the request was denied (wrapping one sentinel), nil when
	// allowed.
	Err error
	// Internal marks faults that are not the caller's (no key set,
	// configuration): the Lambda should return a generic function error.
	Internal bool
	Reason   string // Reason(Err), for logs and metrics
	// Issuer, ClientID and Subject come from the verified token, if any.
	Issuer, ClientID, Subject string
	Scopes                    int // number of scopes granted
	Latency                   time.Duration
}

// Reason is smartauth.Reason extended with "event" for ErrEvent.
func Reason(err error) string {
	if errors.Is(err, ErrEvent) {
		return "event"
	}
	return smartauth.Reason(err)
}

// Authorize validates the event's token for its data store and builds the
// response; a denial is {"authPayload":{"isAuthorized":false}}. Authorize
// does NOT check that the FHIR request is permitted by the granted scopes:
// HealthLake enforces that (see scopes.Permits).
func (a *Authorizer) Authorize(ctx context.Context, ev Event) Decision {
	start := time.Now() // Latency is on the real clock, not the validator's.
	return a.finish(start, a.authorize(ctx, ev))
}

// AuthorizeJSON decodes a raw event (DecodeEvent) and authorizes it; an
// undecodable one is denied. It returns the event for the caller's log.
func (a *Authorizer) AuthorizeJSON(ctx context.Context, data []byte) (Event, Decision) {
	start := time.Now()
	ev, err := DecodeEvent(data)
	if err != nil {
		return ev, a.finish(start, a.deny(err))
	}
	return ev, a.finish(start, a.authorize(ctx, ev))
}

func (a *Authorizer) finish(start time.Time, d Decision) Decision {
	d.Reason = Reason(d.Err)
	d.Latency = time.Since(start)
	return d
}

func (a *Authorizer) deny(err error) Decision {
	return Decision{
		Response: Response{AuthPayload: AuthPayload{AuthorizedAsString: a.cfg.AuthorizedAsString}},
		Err:      err,
		Internal: errors.Is(err, smartauth.ErrKeySetUnavailable) || errors.Is(err, smartauth.ErrConfig),
	}
}

func (a *Authorizer) authorize(ctx context.Context, ev Event) Decision {
	if ev.DatastoreEndpoint == "" || strings.ContainsAny(ev.DatastoreEndpoint, " \t\r\n") {
		return a.deny(fmt.Errorf("%w: datastoreEndpoint missing or malformed", ErrEvent))
	}
	if !a.v.ServesEndpoint(ev.DatastoreEndpoint) {
		return a.deny(fmt.Errorf("%w: datastoreEndpoint is not one of the configured endpoints", ErrEvent))
	}
	if ev.BearerToken == "" {
		return a.deny(smartauth.ErrTokenMissing)
	}
	t, err := a.v.Validate(ctx, ev.BearerToken, ev.DatastoreEndpoint)
	if err != nil {
		return a.deny(err)
	}
	c := t.Claims
	scope, noPatient := a.formatScopes(t)
	if scope == "" {
		err := error(smartauth.ErrScope)
		if noPatient {
			err = fmt.Errorf("%w: patient/ scopes need a patient claim (launch context)", smartauth.ErrScope)
		}
		d := a.deny(err)
		d.Issuer, d.ClientID, d.Subject = t.Issuer, smartauth.ClientOf(c), c.Subject
		return d
	}
	uid, _ := c.StringClaim(a.cfg.UIDClaim)
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
				AuthorizedAsString: a.cfg.AuthorizedAsString,
			},
			IAMRoleARN: a.cfg.RoleARN,
		},
		Issuer:   t.Issuer,
		ClientID: smartauth.ClientOf(c),
		Subject:  c.Subject,
		Scopes:   strings.Count(scope, " ") + 1,
	}
}

// formatScopes renders the granted scopes, or "" when no resource scope
// survives; noPatient reports patient/ scopes dropped for want of a patient.
func (a *Authorizer) formatScopes(t *smartauth.Token) (scope string, noPatient bool) {
	var b strings.Builder
	resource := false
	for i := range t.Scopes {
		s := &t.Scopes[i]
		text := s.String()
		switch {
		case s.Kind == scopes.KindExtension:
			// Grant nothing in FHIR terms, may name another resource server.
			continue
		case s.IsResource() && s.Context == scopes.ContextPatient && t.Claims.Patient == "":
			// SMART App Launch: the server SHALL establish a patient in
			// context; without one, patient/ scopes grant nothing.
			noPatient = true
			continue
		case s.IsResource() && s.Context == scopes.ContextUser && t.Claims.FHIRUser == "" &&
			!a.cfg.InsecureAllowUserScopesWithoutFHIRUser:
			// user/ scopes are the user's permissions: without fhirUser
			// HealthLake cannot tell whose they are.
			continue
		}
		if a.cfg.ScopeFormat == ScopesV1 && s.IsResource() {
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
		return "", noPatient
	}
	return b.String(), noPatient
}

// containsField reports whether the space-separated list has field f,
// without allocating (Authorize's cost must not grow with the scopes').
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
