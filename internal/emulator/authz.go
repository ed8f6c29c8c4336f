package emulator

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// access is what an allowed request may touch.
type access struct {
	// patient, when set, limits every resource to that patient's compartment
	// (the request is granted by patient/ scopes only).
	patient string
	// filters are the granular (v2.2) filters to enforce, per type.
	filters []scopes.Filter
	// reason is Permits' reason, for the log.
	reason string
}

// authorize decides the request on the returned scopes (403 on refusal).
// user/ and system/ scopes are tried first: when they grant the request it
// is not limited to a compartment. Otherwise patient/ scopes may grant it,
// limited to the returned patient's compartment.
func (s *Server) authorize(g grant, req scopes.Request) (access, *refusal) {
	var nonPatient []scopes.Scope
	hasPatientScopes := false
	for _, sc := range g.scopes {
		if sc.Context == scopes.ContextPatient {
			hasPatientScopes = true
		} else {
			nonPatient = append(nonPatient, sc)
		}
	}
	d := scopes.Permits(nonPatient, req)
	if d.Allowed {
		return access{filters: d.Filters, reason: d.Reason}, nil
	}
	if hasPatientScopes {
		if g.patient == "" {
			return access{}, forbidden("patient-context", fmt.Sprintf(
				"the returned scopes %q grant this request only through patient/ scopes, and authPayload.patient is missing or not a Patient id: patient/ scopes grant nothing without a patient in context (pass the token's patient claim through)",
				shorten(g.scope, 300)))
		}
		d = scopes.Checker{Patient: g.patient}.Permits(g.scopes, req)
		if d.Allowed {
			return access{patient: g.patient, filters: d.Filters, reason: d.Reason}, nil
		}
	}
	return access{}, forbidden("scope", fmt.Sprintf("the returned scopes %q do not permit %s %s: %s",
		shorten(g.scope, 300), req.Interaction, describe(req), d.Reason))
}

func describe(req scopes.Request) string {
	switch {
	case req.ResourceType == "":
		return "at system level"
	case req.ID != "":
		return req.ResourceType + "/" + req.ID
	default:
		return "on " + req.ResourceType
	}
}

// permitted checks one resource against the access: compartment and
// granular filters. The message says why it is refused.
func (a access) permitted(rt string, res map[string]any) (bool, string) {
	if a.patient != "" {
		if ok, why := inCompartment(rt, res, a.patient); !ok {
			return false, "patient compartment: " + why
		}
	}
	var mine []scopes.Filter
	for _, f := range a.filters {
		if f.ResourceType == rt {
			mine = append(mine, f)
		}
	}
	if len(mine) == 0 {
		return true, ""
	}
	var whys []string
	for _, f := range mine {
		ok, why := filterMatches(f, res)
		if ok {
			return true, ""
		}
		whys = append(whys, why)
	}
	return false, "granular scope filter: " + strings.Join(whys, "; ")
}

// filterMatches evaluates one granular filter (AND across its params).
func filterMatches(f scopes.Filter, res map[string]any) (bool, string) {
	for _, p := range f.Params {
		v, err := url.QueryUnescape(p.Value)
		if err != nil {
			return false, fmt.Sprintf("%s: value of %s is not percent-decodable", f.Scope, p.Name)
		}
		ok, err := matchParam(res, p.Name, v)
		if err != nil {
			return false, fmt.Sprintf("%s: %v (fails closed)", f.Scope, err)
		}
		if !ok {
			return false, fmt.Sprintf("%s: the resource does not match %s=%s", f.Scope, p.Name, v)
		}
	}
	return true, ""
}
