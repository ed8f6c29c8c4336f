package scopes

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// OperationPolicy decides whether a FHIR operation request ($export,
// $everything, ...) is allowed. op includes the "$". granted holds the
// scopes passed to Permits, minus patient/ scopes when no patient is in
// context (Checker.Patient).
type OperationPolicy func(op string, granted []Scope, req Request) bool

// Checker holds the request context and policy for Permits. The zero Checker
// is what the package-level Permits uses: no patient in context, operations
// denied, experimental granular filters refused. A Checker is a plain value,
// safe for concurrent use.
//
//	d := scopes.Checker{Patient: "123"}.Permits(granted, req)
type Checker struct {
	// Patient is the id of the patient in context (the token's "patient"
	// claim or launch context). When it is "", patient/ scopes grant nothing.
	// Permits does NOT check that the
	// requested resource belongs to that patient's compartment; the server
	// (HealthLake) does.
	Patient string

	// OperationPolicy decides operation requests, which no scope grants on
	// its own. nil denies them all. See ExportPolicy for the usual $export
	// rule.
	OperationPolicy OperationPolicy

	// ExperimentalFilters makes Permits honour granular scopes whose
	// parameters use features the SMART v2.2 IG marks experimental:
	// modifiers ("code:in="), chaining ("patient.birthdate="), _filter, _has
	// and _query. When false such a scope grants nothing (fail closed),
	// because the caller would have to enforce a filter
	// it probably cannot evaluate.
	ExperimentalFilters bool
}

// ExportPolicy is an OperationPolicy implementing the common rule for FHIR
// Bulk Data $export: $export, at system, type or
// instance (Group) level, is allowed only when an unfiltered system/* scope
// grants r and s ("system/*.rs", "system/*.cruds" or v1 "system/*.read").
// Every other operation is denied.
//
//	d := scopes.Checker{OperationPolicy: scopes.ExportPolicy}.Permits(granted, req)
func ExportPolicy(op string, granted []Scope, _ Request) bool {
	if op != "$export" {
		return false
	}
	for _, s := range granted {
		if s.Kind == KindResource && s.Context == ContextSystem && s.Resource == "*" &&
			!isGranular(s) && s.Permissions.Has(PermRead|PermSearch) {
			return true
		}
	}
	return false
}

// Filter is a granular scope's query that the caller MUST enforce for
// resources of ResourceType: AND across Params, OR across the Filters of the
// same ResourceType.
type Filter struct {
	// ResourceType is the type the filter applies to.
	ResourceType string
	// Scope is the granular scope the filter comes from.
	Scope string
	// Params are the scope's parameters, raw. The slice shares memory with
	// the scope's Query; do not modify its elements.
	Params []Param
}

// Decision is the result of Permits.
type Decision struct {
	// Allowed reports whether the granted scopes allow the request. When
	// Filters is not empty the permission is conditional: see Filters.
	Allowed bool
	// Filters is set when, for some resource type involved, only granular
	// (v2.2) scopes grant the request. The caller MUST enforce them:
	//   - search: AND each filter's Params into the query, OR-ing the filters
	//     of the same type (see CombinedFilter), or drop non-matching results;
	//   - read, vread, history: the returned resource must match at least one
	//     filter of its type, otherwise treat the request as denied
	//   - create, update, patch, delete: the resource written (and, for
	//     update/patch/delete, the stored one) must match at least one filter.
	// Types without filters in the list are unrestricted. Filters is empty
	// when unfiltered scopes grant everything: a wildcard or unfiltered scope
	// makes granular scopes of the same type redundant (§12 #8).
	Filters []Filter
	// Reason says why the request is allowed or denied, for logs and the CLI.
	Reason string
	// Scope is the first scope that grants the request (an unfiltered scope
	// when there is one), "" when none does.
	Scope string
	// NeedsEntryCheck is set for batch/transaction requests: they are never
	// allowed on their own; evaluate each Bundle entry with Permits and deny
	// the Bundle if any entry is denied.
	NeedsEntryCheck bool
}

// CombinedFilter merges the filters for resourceType into one list of search
// parameters to AND into a search:
//   - no filter for the type: (nil, true), the search is unrestricted;
//   - one filter: its Params, true;
//   - several filters that each hold exactly one parameter with the same
//     name and no modifier or chaining: that parameter with the values
//     joined by "," (FHIR OR), true, e.g. category=health-concern,encounter-diagnosis;
//   - otherwise (nil, false): the OR cannot be written as one query; run one
//     search per filter or filter the results.
func (d Decision) CombinedFilter(resourceType string) ([]Param, bool) {
	var fs []Filter
	for _, f := range d.Filters {
		if f.ResourceType == resourceType {
			fs = append(fs, f)
		}
	}
	switch len(fs) {
	case 0:
		return nil, true
	case 1:
		return slices.Clone(fs[0].Params), true
	}
	name := ""
	values := make([]string, 0, len(fs))
	for i, f := range fs {
		if len(f.Params) != 1 || strings.ContainsAny(f.Params[0].Name, ":.") {
			return nil, false
		}
		if i == 0 {
			name = f.Params[0].Name
		} else if f.Params[0].Name != name {
			return nil, false
		}
		if !slices.Contains(values, f.Params[0].Value) {
			values = append(values, f.Params[0].Value)
		}
	}
	return []Param{{Name: name, Value: strings.Join(values, ",")}}, true
}

// Permits evaluates one request against the granted scopes
// with the zero Checker: no patient in context,
// so patient/ scopes grant nothing; operations denied; experimental granular
// filters refused. The rules:
//
//   - access is the union of all resource scopes; other kinds grant nothing;
//   - the request's type must equal the scope's type or the scope's type is
//     "*"; the interaction's letter (Interaction.Permission) must be in the
//     scope's permissions;
//   - system-level search and history need s on "*", except a system search
//     with _type, which needs s on every listed type;
//   - a search's _include and _revinclude parameters need s on the types
//     they pull in; an _include without a target type ("Observation:patient")
//     needs s on "*" (name the target: "Observation:patient:Patient");
//   - parameters that read other types, in a search or a conditional update,
//     patch or delete, need s from an unfiltered scope (a granular scope's
//     filter cannot be applied through them) on those types: a chained
//     parameter ("subject:Patient.name") on every type along the chain, an
//     untyped chain link ("subject.name") on "*" since its target can be any
//     type, reverse chaining ("_has:Observation:patient:code") on the type it
//     names, _list on List, and _filter, _query (a named query the server
//     defines), _contained other than false and _containedType other than
//     contained (both can return containers of any type) on "*"; a
//     malformed chain is denied;
//   - patient/ scopes grant nothing without Checker.Patient;
//   - GET metadata is allowed without scopes;
//   - batch/transaction is never allowed on its own (NeedsEntryCheck);
//   - operations are never allowed on their own unless
//     Checker.OperationPolicy says so;
//   - granular scopes grant conditionally, see Decision.Filters; one whose
//     parameters Parse would refuse (a hand-built Scope) grants nothing.
//
// Permits does NOT check compartment membership for patient/ scopes, the
// user's own permissions for user/ scopes, or the body of POST _search
// unless the caller merged it into req.Query. A Request not produced by ParseRequest is evaluated as is; an
// unknown interaction is denied.
func Permits(granted []Scope, req Request) Decision { return Checker{}.Permits(granted, req) }

// Permits is like the package-level Permits with c's context and policy.
func (ck Checker) Permits(granted []Scope, req Request) Decision {
	o := &ck
	switch req.Interaction {
	case Capabilities:
		return Decision{Allowed: true, Reason: "capabilities (GET metadata) need no scope"}
	case Batch:
		return Decision{NeedsEntryCheck: true, Reason: "batch/transaction requests are not granted by any scope on their own: evaluate each entry"}
	case Operation:
		return permitOperation(granted, req, o)
	}
	letter := req.Interaction.Permission()
	if letter == 0 {
		return Decision{Reason: fmt.Sprintf("unknown interaction %q: denied", req.Interaction.String())}
	}

	var checks []check
	if req.Interaction.SystemLevel() {
		if req.ResourceType != "" {
			return Decision{Reason: fmt.Sprintf("system-level %s with resource type %q: denied", req.Interaction, req.ResourceType)}
		}
		types, reason := typeParam(req)
		if reason != "" {
			return Decision{Reason: reason}
		}
		if len(types) == 0 {
			checks = append(checks, check{typ: "*", letter: letter})
		}
		for _, t := range types {
			checks = addCheck(checks, check{typ: t, why: "_type=" + t, letter: PermSearch})
		}
	} else {
		if !isTypeName(req.ResourceType) {
			return Decision{Reason: fmt.Sprintf("%s request without a valid resource type (%q): denied", req.Interaction, req.ResourceType)}
		}
		checks = append(checks, check{typ: req.ResourceType, letter: letter})
	}
	checks, reason := paramChecks(checks, req)
	if reason != "" {
		return Decision{Reason: reason}
	}

	var d Decision
	var reasons []string
	for i, c := range checks {
		g := grantFor(granted, c.typ, c.letter, o)
		if g.scope == "" {
			msg := "no scope grants " + c.letter.String() + " on " + c.typ
			if c.why != "" {
				msg += " (needed by " + c.why + ")"
			} else if c.typ == "*" {
				msg += ` (system-level search and history need s on "*")`
			}
			return Decision{Reason: msg + g.hint}
		}
		if c.unfiltered && !g.unfiltered {
			return Decision{Reason: "only granular scopes grant " + c.letter.String() + " on " + c.typ + " (" + g.scope +
				"), and " + c.why + " needs an unfiltered grant: a scope's filter cannot be applied through a chain or _has"}
		}
		if i == 0 {
			d.Scope = g.scope
		}
		d.Filters = append(d.Filters, g.filters...)
		reasons = append(reasons, g.reason(c))
	}
	d.Allowed = true
	d.Reason = strings.Join(reasons, "; ")
	return d
}

// check is one resource type a request needs: letter on typ. why is "" for
// the request's own type, else the parameter that pulls the type in (those
// need s). unfiltered is set when a granular scope's filter cannot be
// enforced for the type (chains, _has, _filter): only an unfiltered scope
// grants it.
type check struct {
	typ, why   string
	letter     Permissions
	unfiltered bool
}

// addCheck appends c unless an equal or stricter check is already there.
func addCheck(checks []check, c check) []check {
	for _, x := range checks {
		if x.typ == c.typ && x.letter == c.letter && (x.unfiltered || !c.unfiltered) {
			return checks
		}
	}
	return append(checks, c)
}

// typeParam returns the types listed in _type (system search only).
func typeParam(req Request) ([]string, string) {
	if req.Interaction != SearchSystem {
		return nil, ""
	}
	vals, ok := req.Query["_type"]
	if !ok {
		return nil, ""
	}
	var types []string
	for _, v := range vals {
		for t := range strings.SplitSeq(v, ",") {
			if !isTypeName(t) {
				return nil, fmt.Sprintf("_type value %q is not a resource type: denied", t)
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if len(types) == 0 {
		return nil, "empty _type: denied"
	}
	return types, ""
}

// paramChecks adds the types a request's parameters read (they
// must be limited to types with s); it denies a "_" parameter that is not
// exactly a known name (a case variant such as "_INCLUDE" or "_Contained"
// would otherwise escape the checks below):
//   - searches: _include and _revinclude need s on the types they pull in;
//   - any interaction with a query (searches and conditional update, patch,
//     delete): a chained parameter ("subject:Patient.name") needs an
//     unfiltered s on every type along the chain, since it lets the client
//     probe those types; an untyped chain link ("subject.name") needs it on
//     "*", as its target can be any type; reverse chaining
//     ("_has:Observation:patient:code") needs an unfiltered s on the type it
//     names; _list needs it on List; _filter, _query, _contained (unless
//     false) and _containedType (unless contained), which can read or
//     return any type, need it on "*".
func paramChecks(checks []check, req Request) ([]check, string) {
	if len(req.Query) == 0 {
		return checks, ""
	}
	search := req.Interaction == SearchType || req.Interaction == SearchSystem
	for _, key := range slices.Sorted(maps.Keys(req.Query)) {
		base, _, _ := strings.Cut(key, ":")
		chained := strings.IndexByte(key, '.') >= 0
		switch {
		case isUnknownUnderscore(base):
			return nil, fmt.Sprintf(`unknown parameter %q (not a FHIR "_" parameter; names are case-sensitive): denied`, clip(key))
		case base == "_include" || base == "_revinclude":
			if !search {
				continue
			}
			for _, v := range req.Query[key] {
				why := key + "=" + v
				if v == "*" {
					checks = addCheck(checks, check{typ: "*", why: why, letter: PermSearch})
					continue
				}
				parts := strings.Split(v, ":")
				if len(parts) < 2 || len(parts) > 3 || !isTypeName(parts[0]) || parts[1] == "" ||
					(len(parts) == 3 && !isTypeName(parts[2])) {
					return nil, fmt.Sprintf("malformed %s: denied", why)
				}
				checks = addCheck(checks, check{typ: parts[0], why: why, letter: PermSearch})
				if base == "_include" {
					if len(parts) == 3 {
						checks = addCheck(checks, check{typ: parts[2], why: why, letter: PermSearch})
					} else {
						checks = addCheck(checks, check{typ: "*", why: why + ` (no target type: name it, e.g. "Observation:patient:Patient")`, letter: PermSearch})
					}
				}
			}
		case base == "_has":
			if chained {
				return nil, fmt.Sprintf("%s combines _has with chaining: denied", key)
			}
			segs := strings.Split(key, ":")
			for i := 0; i < len(segs); i++ {
				if segs[i] != "_has" {
					continue
				}
				if i+1 >= len(segs) || !isTypeName(segs[i+1]) {
					return nil, fmt.Sprintf("malformed %s: denied", key)
				}
				checks = addCheck(checks, check{typ: segs[i+1], why: key, letter: PermSearch, unfiltered: true})
			}
		case base == "_filter" || base == "_query":
			checks = addCheck(checks, check{typ: "*", why: key + " (it can read any type)", letter: PermSearch, unfiltered: true})
		case base == "_list":
			checks = addCheck(checks, check{typ: "List", why: key, letter: PermSearch, unfiltered: true})
		case base == "_contained" || base == "_containedType":
			for _, v := range req.Query[key] {
				if key == "_contained" && v == "false" || key == "_containedType" && v == "contained" {
					continue
				}
				checks = addCheck(checks, check{typ: "*", why: key + "=" + v + " (container resources can be of any type)", letter: PermSearch, unfiltered: true})
			}
		case chained:
			var reason string
			if checks, reason = chainChecks(checks, key); reason != "" {
				return nil, reason
			}
		}
	}
	return checks, ""
}

// isUnknownUnderscore reports whether the parameter name base (up to a
// chain's ".") starts with "_" and is not exactly a known "_" name.
func isUnknownUnderscore(base string) bool {
	name, _, _ := strings.Cut(base, ".")
	return strings.HasPrefix(name, "_") && !isFilterParam(name) && !isResultParam(name) && !isExperimentalParam(name)
}

// chainChecks adds an unfiltered s check for every link of a chained
// parameter "ref[:Type].ref[:Type].param[:modifier]".
func chainChecks(checks []check, key string) ([]check, string) {
	rest := key
	for {
		link, tail, more := strings.Cut(rest, ".")
		if !more {
			if link == "" {
				return nil, fmt.Sprintf("malformed chained parameter %s: denied", key)
			}
			return checks, ""
		}
		ref, typ, typed := strings.Cut(link, ":")
		switch {
		case ref == "" || strings.HasPrefix(ref, "_"):
			return nil, fmt.Sprintf("malformed chained parameter %s: denied", key)
		case !typed:
			checks = addCheck(checks, check{typ: "*", why: key + ` (untyped chain: its target can be any type; name it, e.g. "subject:Patient.name")`,
				letter: PermSearch, unfiltered: true})
		case !isTypeName(typ):
			return nil, fmt.Sprintf("malformed chained parameter %s (%q is not a resource type): denied", key, typ)
		default:
			checks = addCheck(checks, check{typ: typ, why: key, letter: PermSearch, unfiltered: true})
		}
		rest = tail
	}
}

type grant struct {
	scope      string // first unfiltered scope, else first granular scope
	unfiltered bool
	filters    []Filter
	hint       string // set when nothing grants
}

func (g grant) reason(c check) string {
	prefix := ""
	if c.why != "" {
		prefix = c.why + ": "
	}
	switch {
	case g.unfiltered:
		return prefix + "granted by " + g.scope
	case len(g.filters) == 1:
		return prefix + "granted by granular scope " + g.scope + " only: the caller MUST enforce its filter"
	}
	return prefix + "granted by " + strconv.Itoa(len(g.filters)) + " granular scopes on " + c.typ +
		" only: the caller MUST enforce their filters (OR across scopes)"
}

func isGranular(s Scope) bool { return s.RawQuery != "" || len(s.Query) > 0 }

// grantFor finds the scopes granting letter on typ ("*" for system level:
// only "*" scopes match).
func grantFor(granted []Scope, typ string, letter Permissions, o *Checker) grant {
	var g grant
	skippedPatient, skipped, skippedWhy := "", "", ""
	for i := range granted {
		s := &granted[i]
		if s.Kind != KindResource || letter == 0 || !s.Permissions.Has(letter) {
			continue
		}
		if s.Resource != "*" && s.Resource != typ {
			continue
		}
		if s.Context == ContextPatient && o.Patient == "" {
			if skippedPatient == "" {
				skippedPatient = s.Raw
			}
			continue
		}
		if !isGranular(*s) {
			return grant{scope: s.Raw, unfiltered: true}
		}
		if why := unusableParam(s.Query, o.ExperimentalFilters); why != "" {
			if skipped == "" {
				skipped, skippedWhy = s.Raw, why
			}
			continue
		}
		if g.scope == "" {
			g.scope = s.Raw
		}
		g.filters = append(g.filters, Filter{ResourceType: typ, Scope: s.Raw, Params: s.Query})
	}
	if g.scope == "" {
		if skippedPatient != "" {
			g.hint += fmt.Sprintf("; %s grants nothing without a patient in context", skippedPatient)
		}
		if skipped != "" {
			g.hint += "; granular scope " + skipped + " is ignored: " + skippedWhy
		}
	}
	return g
}

// unusableParam says why a granular scope's parameters cannot be honoured,
// or returns "" when they can: a parameter Parse would reject (a Scope built
// by hand), or, unless experimental is set, one using a modifier (":"),
// chaining ("."), _filter, _has or _query.
func unusableParam(params []Param, experimental bool) string {
	if len(params) == 0 {
		return "it has a query but no parsed parameters"
	}
	for _, p := range params {
		if problem := paramNameProblem(p.Name, true); problem != "" {
			return problem
		}
		if !experimental && (strings.ContainsAny(p.Name, ":.") || isExperimentalParam(p.Name)) {
			return fmt.Sprintf("parameter %q uses a modifier, chaining or an experimental parameter (see Checker.ExperimentalFilters)", p.Name)
		}
	}
	return ""
}

func permitOperation(granted []Scope, req Request, o *Checker) Decision {
	op := req.Operation
	if o.OperationPolicy != nil {
		eff := granted
		if o.Patient == "" {
			eff = slices.DeleteFunc(slices.Clone(granted), func(s Scope) bool {
				return s.Kind == KindResource && s.Context == ContextPatient
			})
		}
		if o.OperationPolicy(op, eff, req) {
			return Decision{Allowed: true, Reason: "operation " + op + " allowed by the operation policy"}
		}
		return Decision{Reason: "operation " + op + " denied by the operation policy"}
	}
	reason := "operations (" + op + ") are not granted by any scope on their own"
	if op == "$export" {
		reason += "; $export usually requires system/*.rs (v1 system/*.read): set Checker.OperationPolicy to ExportPolicy"
	} else {
		reason += ": set Checker.OperationPolicy to allow it"
	}
	return Decision{Reason: reason}
}
