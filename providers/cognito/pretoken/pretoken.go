package pretoken

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("pretoken: invalid configuration")

// TriggerClientCredentials is the trigger source of client-credentials
// token generation (event version V3_0).
const TriggerClientCredentials = "TokenGeneration_ClientCredentials"

// Default user attribute names.
const (
	DefaultFHIRUserAttribute = "custom:fhirUser"
	DefaultPatientAttribute  = "custom:patient"
)

// Config configures the trigger.
type Config struct {
	// FHIRUserAttribute names the user attribute copied to the fhirUser
	// claim (default "custom:fhirUser").
	FHIRUserAttribute string
	// PatientAttribute names the user attribute copied to the patient claim
	// (default "custom:patient").
	PatientAttribute string
	// AttributesAdminControlled confirms that users cannot change the
	// fhirUser and patient attributes themselves: the attributes were created
	// with Mutable false, or no app client lists them in WriteAttributes.
	// Cognito custom attributes are user-writable by default (a user can call
	// UpdateUserAttributes with their own access token), and a user-chosen
	// custom:patient would let them read another patient's records. Without
	// this confirmation the trigger does not copy the attributes at all.
	AttributesAdminControlled bool
	// IDToken also adds fhirUser to the ID token (the SMART fhirUser claim of
	// an OpenID Connect launch).
	IDToken bool
	// GroupScopes maps cognito groups to SMART scopes added to the access
	// token. Only valid SMART scopes are accepted; nil adds none.
	GroupScopes map[string][]string
	// GroupScopeClients lists the app client IDs whose user tokens receive
	// GroupScopes. Required when GroupScopes is set: a practitioner signing in
	// to a third-party patient app must not receive practitioner scopes.
	// GroupScopes are added only to a token that gets a valid fhirUser claim
	// (user/ scopes are the permissions of that FHIR user).
	GroupScopeClients []string
	// ClientScopes maps app client IDs to SMART scopes added to the access
	// token of client-credentials grants only (event version V3_0, trigger
	// source TokenGeneration_ClientCredentials); user sign-ins through the
	// same client never receive them.
	ClientScopes map[string][]string
}

// Trigger handles Pre Token Generation events.
type Trigger struct {
	fhirUserAttr, patientAttr string
	idToken                   bool
	copyAttributes            bool
	groupScopes               map[string][]string
	groupScopeClients         []string
	clientScopes              map[string][]string
}

// New checks cfg (every table scope must be a valid SMART scope) and
// returns a Trigger.
func New(cfg Config) (*Trigger, error) {
	t := &Trigger{
		fhirUserAttr:      cfg.FHIRUserAttribute,
		patientAttr:       cfg.PatientAttribute,
		idToken:           cfg.IDToken,
		copyAttributes:    cfg.AttributesAdminControlled,
		groupScopes:       map[string][]string{},
		groupScopeClients: slices.Clone(cfg.GroupScopeClients),
		clientScopes:      map[string][]string{},
	}
	if t.fhirUserAttr == "" {
		t.fhirUserAttr = DefaultFHIRUserAttribute
	}
	if t.patientAttr == "" {
		t.patientAttr = DefaultPatientAttribute
	}
	var errs []error
	copyTable := func(kind string, in map[string][]string, out map[string][]string) {
		for k, list := range in {
			for _, s := range list {
				if _, err := (scopes.Parser{AnyResourceType: true}).Parse(s); err != nil {
					errs = append(errs, fmt.Errorf("%w: %s %q: %w", ErrConfig, kind, k, err))
				}
			}
			out[k] = slices.Clone(list)
		}
	}
	copyTable("group", cfg.GroupScopes, t.groupScopes)
	if slices.Contains(cfg.GroupScopeClients, "") {
		errs = append(errs, fmt.Errorf("%w: empty entry in GroupScopeClients", ErrConfig))
	}
	if len(cfg.GroupScopes) > 0 && len(cfg.GroupScopeClients) == 0 {
		errs = append(errs, fmt.Errorf("%w: GroupScopes needs GroupScopeClients (the app clients allowed to receive group scopes)", ErrConfig))
	}
	copyTable("client", cfg.ClientScopes, t.clientScopes)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// Handle is the Lambda entry point for lambda.Start. It accepts event
// versions "2" and "3" (V2_0 and V3_0); version 1 events cannot customise
// access tokens and are returned unchanged.
func (t *Trigger) Handle(_ context.Context, ev events.CognitoEventUserPoolsPreTokenGenV2_0) (events.CognitoEventUserPoolsPreTokenGenV2_0, error) {
	if ev.Version != "2" && ev.Version != "3" {
		return ev, nil
	}
	access := &ev.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration
	id := &ev.Response.ClaimsAndScopeOverrideDetails.IDTokenGeneration
	attrs := ev.Request.UserAttributes
	if !t.copyAttributes {
		attrs = nil
	}
	hasFHIRUser := false
	if v, ok := attrs[t.fhirUserAttr]; ok && validClaimValue(v) {
		hasFHIRUser = true
		setClaim(&access.ClaimsToAddOrOverride, "fhirUser", v)
		if t.idToken {
			setClaim(&id.ClaimsToAddOrOverride, "fhirUser", v)
		}
	}
	if v, ok := attrs[t.patientAttr]; ok && validClaimValue(v) {
		setClaim(&access.ClaimsToAddOrOverride, "patient", v)
	}
	var add []string
	if hasFHIRUser && slices.Contains(t.groupScopeClients, ev.CallerContext.ClientID) {
		for _, g := range ev.Request.GroupConfiguration.GroupsToOverride {
			add = append(add, t.groupScopes[g]...)
		}
	}
	// Client scopes are for machine clients only: a user signing in through
	// the same app client must not inherit them.
	if ev.TriggerSource == TriggerClientCredentials {
		add = append(add, t.clientScopes[ev.CallerContext.ClientID]...)
	}
	for _, s := range add {
		if !slices.Contains(access.ScopesToAdd, s) && !slices.Contains(ev.Request.Scopes, s) {
			access.ScopesToAdd = append(access.ScopesToAdd, s)
		}
	}
	return ev, nil
}

// validClaimValue keeps empty and whitespace-bearing attribute values out of
// tokens: a FHIR reference or id never contains white space.
func validClaimValue(v string) bool {
	return v != "" && len(v) <= 2048 && !strings.ContainsAny(v, " \t\r\n")
}

func setClaim(m *map[string]interface{}, name, value string) {
	if *m == nil {
		*m = map[string]interface{}{}
	}
	(*m)[name] = value
}
