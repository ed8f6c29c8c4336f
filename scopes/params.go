package scopes

import (
	"fmt"
	"strings"
)

// Granular scope parameter names. A granular scope's
// query is a filter: a server that ignores one of its parameters (FHIR's
// default "Prefer: handling=lenient" ignores unknown parameters) grants more
// than the scope says. So a parameter name must be recognisably a filter:
//
//	name     = has | chain
//	chain    = *( code [":" Type] "." ) segment     chaining, experimental
//	segment  = base [":" modifier]                  modifier: experimental
//	base     = code | one of filterParams
//	code     = [a-z][a-z0-9-]*                      every FHIR R4 search parameter code
//	modifier = one of modifiers | Type
//	has      = "_has:" Type ":" code ":" code [":" modifier]   experimental
//
// plus the experimental "_filter" and "_query" on their own. Everything else
// is refused at parse time: case variants ("_INCLUDE", "Category"), result
// parameters ("_include", "_count", "_type", ...), unknown "_" names and
// modifiers, nested _has.

// filterParamList lists the "_" search parameters that narrow the result set.
const filterParamList = "_id, _lastUpdated, _tag, _profile, _security, _source, _text, _content, _list"

// isFilterParam reports whether s is in filterParamList.
func isFilterParam(s string) bool {
	switch s {
	case "_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content", "_list":
		return true
	}
	return false
}

// isResultParam reports whether s is a "_" parameter that shapes the result
// instead of filtering it; a scope cannot be restricted by it.
func isResultParam(s string) bool {
	switch s {
	case "_include", "_revinclude", "_sort", "_count", "_summary", "_elements", "_total",
		"_contained", "_containedType", "_type", "_format", "_pretty", "_since", "_at":
		return true
	}
	return false
}

// isExperimentalParam reports whether s is a filter the SMART IG marks
// experimental in scopes; it parses, and Permits honours it only with
// Checker.ExperimentalFilters.
func isExperimentalParam(s string) bool { return s == "_filter" || s == "_query" || s == "_has" }

// modifierList lists the FHIR R4 search modifiers
// (https://hl7.org/fhir/R4/search.html#modifiers), besides a resource type.
const modifierList = "missing, exact, contains, text, not, above, below, in, not-in, of-type, identifier"

func isModifier(s string) bool {
	switch s {
	case "missing", "exact", "contains", "text", "not", "above", "below", "in", "not-in", "of-type", "identifier":
		return true
	}
	return false
}

// paramNameProblem returns why name cannot be a granular scope parameter, or
// "" when it can. anyType is Parser.AnyResourceType (for type modifiers).
func paramNameProblem(name string, anyType bool) string {
	if strings.HasPrefix(name, "_has:") {
		return hasProblem(name, anyType)
	}
	rest := name
	for {
		seg, tail, chained := strings.Cut(rest, ".")
		if !chained {
			return segmentProblem(name, seg, anyType)
		}
		// A chain link: a reference parameter, optionally with its target type.
		base, mod, hasMod := strings.Cut(seg, ":")
		if !isCode(base) {
			if p := baseProblem(name, base); p != "" {
				return p
			}
			return fmt.Sprintf("parameter %q: %q cannot be chained (only a reference search parameter can)", clip(name), clip(base))
		}
		if hasMod {
			if p := typeModifierProblem(name, mod, anyType); p != "" {
				return p
			}
		}
		rest = tail
	}
}

// segmentProblem checks the last (or only) segment: base[:modifier].
func segmentProblem(name, seg string, anyType bool) string {
	base, mod, hasMod := strings.Cut(seg, ":")
	if isCode(base) || isFilterParam(base) {
		if !hasMod {
			return ""
		}
		return modifierProblem(name, mod, anyType)
	}
	if isExperimentalParam(base) {
		switch {
		case base == "_has":
			return fmt.Sprintf(`parameter %q: malformed _has (want "_has:Type:reference:parameter")`, clip(name))
		case hasMod || seg != name:
			return fmt.Sprintf("parameter %q: %s takes no modifier and cannot be chained", clip(name), base)
		}
		return ""
	}
	return baseProblem(name, base)
}

// hasProblem checks "_has:Type:reference:parameter[:modifier]".
func hasProblem(name string, anyType bool) string {
	if strings.IndexByte(name, '.') >= 0 {
		return fmt.Sprintf("parameter %q: _has cannot be combined with chaining", clip(name))
	}
	parts := strings.SplitN(name, ":", 6)
	if len(parts) < 4 || len(parts) > 5 || !isCode(parts[2]) || !isCode(parts[3]) && !isFilterParam(parts[3]) {
		return fmt.Sprintf(`parameter %q: malformed _has (want "_has:Type:reference:parameter", e.g. "_has:Observation:patient:code"; nested _has is not supported)`, clip(name))
	}
	if p := typeModifierProblem(name, parts[1], anyType); p != "" {
		return p
	}
	if len(parts) == 5 {
		return modifierProblem(name, parts[4], anyType)
	}
	return ""
}

// baseProblem explains why base is not a parameter a scope may use; "" if it is.
func baseProblem(name, base string) string {
	switch {
	case base == "":
		return fmt.Sprintf("parameter %q: empty parameter name in a chain or before a modifier", clip(name))
	case isCode(base), isFilterParam(base), isExperimentalParam(base):
		return ""
	case isResultParam(base):
		return fmt.Sprintf("parameter %q does not filter resources (it shapes the result), so a scope cannot be restricted by it", clip(base))
	}
	for known := range strings.SplitSeq(filterParamList+", _filter, _query, _has, _include, _revinclude, _sort, _count, "+
		"_summary, _elements, _total, _contained, _containedType, _type, _format, _pretty, _since, _at", ", ") {
		if strings.EqualFold(base, known) {
			return fmt.Sprintf("parameter %q: parameter names are case-sensitive (did you mean %q?)", clip(base), known)
		}
	}
	if base[0] == '_' {
		return fmt.Sprintf("unknown parameter %q: the \"_\" parameters a scope may use are %s (and the experimental _filter, _query, _has)",
			clip(base), filterParamList)
	}
	if lower := strings.ToLower(base); isCode(lower) {
		return fmt.Sprintf("parameter %q: search parameter names are lower case (did you mean %q?)", clip(base), clip(lower))
	}
	return fmt.Sprintf("parameter %q is not a search parameter name (want [a-z][a-z0-9-]*, a \"_\" filter such as _id, or name:modifier)", clip(base))
}

// modifierProblem checks a search modifier: one of modifiers or a resource type.
func modifierProblem(name, mod string, anyType bool) string {
	if isModifier(mod) {
		return ""
	}
	// Case variants first: with AnyResourceType "EXACT" is a well-formed type name.
	for known := range strings.SplitSeq(modifierList, ", ") {
		if strings.EqualFold(mod, known) {
			return fmt.Sprintf("parameter %q: modifiers are case-sensitive (did you mean %q?)", clip(name), known)
		}
	}
	if isTypeName(mod) {
		return typeModifierProblem(name, mod, anyType)
	}
	return fmt.Sprintf("parameter %q: unknown modifier %q (want one of %s, or a resource type)", clip(name), clip(mod), modifierList)
}

// typeModifierProblem checks a resource type used in a parameter name.
func typeModifierProblem(name, typ string, anyType bool) string {
	if anyType && isTypeName(typ) || !anyType && IsR4ResourceType(typ) {
		return ""
	}
	return fmt.Sprintf("parameter %q: %q is not a resource type%s", clip(name), clip(typ), caseHint(typ))
}

// isCode reports whether s matches [a-z][a-z0-9-]*, the shape of every FHIR
// R4 search parameter code other than the "_" ones.
func isCode(s string) bool {
	if s == "" || !isLower(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLower(c) && !isDigit(c) && c != '-' {
			return false
		}
	}
	return true
}
