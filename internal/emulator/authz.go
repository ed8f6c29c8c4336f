package emulator

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// access is what an allowed request may touch: the union of its paths, one
// per scope context that grants the request.
type access struct {
	paths []path
	// reason is Permits' reason, for the log.
	reason string
	// refs resolve references for compartments and filters.
	refs localRefs
}

// path is one way the scopes grant a request.
type path struct {
	// patient, when set, limits every resource to that patient's compartment
	// (the path of the patient/ scopes).
	patient string
	// filters are the granular (v2.2) filters to enforce, per type.
	filters []scopes.Filter
}

// Names of the per-resource checks (OperationOutcome details and log reason).
const (
	checkCompartment = "compartment"
	checkFilter      = "granular-filter"
	// checkCompartmentType refuses a type outside every patient
	// compartment to patient/ scopes: it depends on the type alone, so it
	// hides nothing and is a 403, not a 404.
	checkCompartmentType = "compartment-type"
)

// authorize decides the request on the returned scopes (403 on refusal).
// The user/ and system/ scopes and the patient/ scopes are evaluated apart:
// the former grant without a compartment, the latter only within the
// returned patient's compartment. The request is allowed when either grants
// it, and a resource is visible when either path admits it (the union).
func (s *Server) authorize(g grant, req scopes.Request) (access, *refusal) {
	if req.Interaction == scopes.Operation || req.Interaction == scopes.Batch {
		// HealthLake supports some of these; the emulator does not, and a
		// scope refusal would mislead.
		what := "batch/transaction"
		if req.Interaction == scopes.Operation {
			what = "the operation " + shorten(req.Operation, 64)
		}
		return access{}, notSupported(what)
	}
	var patientScopes, otherScopes []scopes.Scope
	for _, sc := range g.scopes {
		if sc.Context == scopes.ContextPatient {
			patientScopes = append(patientScopes, sc)
		} else {
			otherScopes = append(otherScopes, sc)
		}
	}
	acc := access{refs: s.refs}
	var reasons []string
	d := scopes.Permits(otherScopes, req)
	if d.Allowed {
		acc.paths = append(acc.paths, path{filters: d.Filters})
		acc.reason = d.Reason
	} else if len(otherScopes) > 0 {
		reasons = append(reasons, d.Reason)
	}
	if len(patientScopes) > 0 && g.patient != "" {
		d = scopes.Checker{Patient: g.patient}.Permits(patientScopes, req)
		if d.Allowed {
			acc.paths = append(acc.paths, path{patient: g.patient, filters: d.Filters})
			if acc.reason == "" {
				acc.reason = d.Reason
			}
		} else {
			reasons = append(reasons, d.Reason)
		}
	}
	if len(acc.paths) > 0 {
		return acc, nil
	}
	if len(patientScopes) > 0 && g.patient == "" {
		// Name the missing patient only when it is what stands in the way:
		// the patient/ scopes would grant the request with one.
		d := scopes.Checker{Patient: "any"}.Permits(patientScopes, req)
		if d.Allowed {
			return access{}, forbidden("patient-context", fmt.Sprintf(
				"the returned scopes %q grant this request only through patient/ scopes, and authPayload.patient is missing or not a Patient id: patient/ scopes grant nothing without a patient in context (pass the token's patient claim through)%s",
				shorten(g.scope, 300), g.notesText()))
		}
		reasons = append(reasons, d.Reason)
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "no resource scope applies")
	}
	return access{}, forbidden("scope", fmt.Sprintf("the returned scopes %q do not permit %s %s: %s%s",
		shorten(g.scope, 300), req.Interaction, describe(req), strings.Join(reasons, "; "), g.notesText()))
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

// compartment returns the patient of the access's patient/ path, "" when it
// has none.
func (a access) compartment() string {
	for _, p := range a.paths {
		if p.patient != "" {
			return p.patient
		}
	}
	return ""
}

// grantsOutsideCompartment reports whether a path without a patient
// compartment (user/ or system/ scopes) admits res.
func (a access) grantsOutsideCompartment(rt string, res members) bool {
	return slices.ContainsFunc(a.paths, func(p path) bool {
		ok, _, _ := p.permitted(rt, res, a.refs)
		return p.patient == "" && ok
	})
}

// closedType returns why the access grants nothing on rt whatever the
// resource: every path is a patient/ path and rt is outside every patient
// compartment. A read, update or delete is then refused (403) before the
// store is read: there is nothing to hide.
func (a access) closedType(rt string) (string, bool) {
	if compartmentType(rt) || len(a.paths) == 0 || slices.ContainsFunc(a.paths, func(p path) bool { return p.patient == "" }) {
		return "", false
	}
	return notCompartmentType(rt), true
}

// hidden reports whether a refusal of permitted must look like "not found":
// every path that refused the resource did so on the compartment, so the
// client may not even learn that the resource exists.
func hidden(check string) bool { return check == checkCompartment }

// permitted checks one resource against the access: it passes when one path
// admits it. On refusal it returns the failed check (checkCompartment when
// only compartments refused it, else checkFilter) and why.
func (a access) permitted(rt string, res members) (ok bool, check, why string) {
	var whys []string
	check = checkCompartment
	for _, p := range a.paths {
		ok, c, w := p.permitted(rt, res, a.refs)
		if ok {
			return true, "", ""
		}
		if c != checkCompartment {
			check = c
		}
		whys = append(whys, w)
	}
	return false, check, strings.Join(whys, "; and ")
}

func (p path) permitted(rt string, res members, l localRefs) (ok bool, check, why string) {
	if p.patient != "" {
		if !compartmentType(rt) {
			return false, checkCompartmentType, "patient compartment: " + notCompartmentType(rt)
		}
		if ok, why := inCompartment(rt, res, p.patient, l); !ok {
			return false, checkCompartment, "patient compartment: " + why
		}
	}
	var whys []string
	for _, f := range p.filters {
		if f.ResourceType != rt {
			continue
		}
		ok, why := filterMatches(f, res, l)
		if ok {
			return true, "", ""
		}
		whys = append(whys, why)
	}
	if len(whys) == 0 {
		return true, "", ""
	}
	return false, checkFilter, "granular scope filter: " + strings.Join(whys, "; ")
}

// unevaluable explains the granular filters on rt that the emulator cannot
// evaluate: they match no resource (fail closed), which a search shows as
// fewer results, so the search says why in an outcome entry.
func (a access) unevaluable(rt string) []string {
	var out []string
	for _, p := range a.paths {
		for _, f := range p.filters {
			if f.ResourceType != rt {
				continue
			}
			for _, prm := range f.Params {
				v, err := url.QueryUnescape(prm.Value)
				if err != nil {
					out = append(out, fmt.Sprintf("%s: value of %s is not percent-decodable: the filter matches nothing (fails closed)", f.Scope, prm.Name))
					continue
				}
				if _, err := compileParam(f.ResourceType, prm.Name, v); err != nil {
					out = append(out, fmt.Sprintf("%s: %v: the filter matches nothing (fails closed)", f.Scope, err))
				}
			}
		}
	}
	return out
}

// filterMatches evaluates one granular filter (AND across its params).
func filterMatches(f scopes.Filter, res members, l localRefs) (bool, string) {
	for _, p := range f.Params {
		v, err := url.QueryUnescape(p.Value)
		if err != nil {
			return false, fmt.Sprintf("%s: value of %s is not percent-decodable", f.Scope, p.Name)
		}
		m, err := compileParam(f.ResourceType, p.Name, v)
		if err != nil {
			return false, fmt.Sprintf("%s: %v (fails closed)", f.Scope, err)
		}
		if !m(res, l) {
			return false, fmt.Sprintf("%s: the resource does not match %s=%s", f.Scope, p.Name, v)
		}
	}
	return true, ""
}

// capabilities are the Metadata capabilities that change how HealthLake
// reads the returned scopes (SMART_ON_FHIR capabilities).
type capabilities struct {
	v2, v22 bool
}

func capabilitiesOf(md map[string]any) capabilities {
	list, _ := md["capabilities"].([]any)
	has := func(name string) bool {
		return slices.ContainsFunc(list, func(v any) bool { s, _ := v.(string); return s == name })
	}
	return capabilities{v2: has("permission-v2"), v22: has("permission-v2.2")}
}

// admit drops the scopes the data store's Metadata does not enable and says
// why in notes: v2 scopes need permission-v2, granular (v2.2) scopes also
// need permission-v2.2 (HealthLake ignores them silently).
func (c capabilities) admit(granted []scopes.Scope) (kept []scopes.Scope, notes []string) {
	for _, sc := range granted {
		switch {
		case sc.IsResource() && sc.Version == scopes.V2 && !c.v2:
			notes = append(notes, fmt.Sprintf("%q is a v2 scope and the Metadata's capabilities lack permission-v2: HealthLake refuses it", shorten(sc.Raw, 120)))
		case sc.IsResource() && sc.Query != nil && !c.v22:
			notes = append(notes, fmt.Sprintf("%q is a granular (v2.2) scope and the Metadata's capabilities lack permission-v2.2: HealthLake ignores it", shorten(sc.Raw, 120)))
		default:
			kept = append(kept, sc)
		}
	}
	return kept, notes
}
