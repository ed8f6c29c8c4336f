// Package scopes parses SMART on FHIR scopes (v1, v2.0 and v2.2 granular)
// and evaluates them against FHIR REST requests. It has no JOSE, AWS or
// network dependency and keeps no package state.
//
// # Parsing
//
// Parse reads one scope token and ParseClaim a whole space-delimited "scope"
// claim. A Scope keeps the token exactly as given (String round-trips) and
// exposes its Kind (resource, launch, identity, refresh, extension) and, for
// resource scopes, its Context (patient, user, system), Resource type or "*",
// normalised Permissions (v1 read = rs, write = cud, * = cruds) and v2.2
// Query parameters. V2 and V1 give the canonical v2 form and, where one
// exists, the exact v1 form; neither conversion ever widens access.
//
// Parsing is strict and case-sensitive: permissions must be read, write, *
// or a non-empty in-order subset of "cruds"; granular queries are allowed
// only on v2 scopes with a concrete type; resource types must be FHIR R4
// types unless Parser.AnyResourceType is set. Invalid tokens are reported
// with an error wrapping ErrInvalid that says why; an invalid token never
// grants anything.
//
//	granted, err := scopes.ParseClaim(claim)
//	if err != nil {
//		// err joins one *scopes.ParseError per invalid token; granted holds the valid ones.
//	}
//
// # Granular scope parameters
//
// A granular scope ("patient/Observation.rs?category=laboratory") grants only
// what its query selects, so every parameter must be a filter the server
// cannot mistake or ignore: FHIR servers ignore unknown search parameters by
// default (Prefer: handling=lenient), and an ignored parameter would grant
// more than the scope says. Parse accepts as a parameter name:
//
//   - a search parameter code, [a-z][a-z0-9-]* ("category", "value-quantity");
//   - the "_" filters _id, _lastUpdated, _tag, _profile, _security, _source,
//     _text, _content and _list, exactly so spelt;
//   - either of these with one FHIR R4 modifier (missing, exact, contains,
//     text, not, above, below, in, not-in, of-type, identifier) or a resource
//     type ("subject:Patient");
//   - a chain of reference parameters, each optionally typed, ending in one
//     of the above ("subject:Patient.name", "patient.birthdate");
//   - "_has:Type:reference:parameter[:modifier]", "_filter" and "_query".
//
// Anything else is invalid, with a reason: a case variant of a known name
// ("_INCLUDE", "_Type", "Category", "code:EXACT"), a parameter that shapes
// the result instead of filtering it (_include, _revinclude, _type, _count,
// _sort, _summary, _elements, _total, _contained, _containedType, _format,
// _pretty, _since, _at), any other "_" name, an unknown modifier, a type that
// is not an R4 type (see AnyResourceType), a malformed chain, a nested _has.
// Modifiers, chains, _has, _filter and _query are experimental in the SMART
// v2.2 IG: they parse, but Permits honours them only with
// Checker.ExperimentalFilters.
//
// Known limit: Parse does NOT check that a lower-case parameter is defined
// for the scope's resource type, so a misspelt one
// ("patient/Observation.rs?categroy=laboratory") parses as a filter (a full
// R4 search-parameter table is out of scope). HealthLake itself refuses a
// scope with an unknown filter parameter (InvalidScope), so such a token is
// denied there; other servers may ignore the parameter.
//
// # Request checks
//
// ParseRequest classifies a FHIR REST request (read, search-type, create,
// batch, $operation, ...) and Permits decides whether granted scopes allow
// it: the union of resource scopes, type must match or be "*", the
// interaction's letter must be granted, patient/ scopes need a patient in
// context (Checker.Patient), batch/transaction and operations are never
// granted on their own, and granular scopes grant conditionally, returning
// the Filters the caller must enforce.
//
// # Chained search
//
// A request parameter that reads another type lets the client probe that
// type, so Permits requires s on it from an unfiltered scope (a granular
// scope's filter cannot be applied through a chain): every type along a
// chain ("Observation?subject:Patient.name=X" needs s on Observation and
// Patient); "*" for an untyped link ("subject.name": its target can be any
// type, so name it); the type a reverse chain names
// ("_has:Observation:patient:code"); List for _list; "*" for _filter and
// _query; "*" for _contained other than false and _containedType other
// than contained (the container returned can be any type). The same holds
// for the conditional forms of update, patch and delete. _include and
// _revinclude need s on the types they pull in. A "_" request parameter that
// is not exactly a known name (a case variant such as "_Contained" or
// "_INCLUDE", or an unknown "_bogus") is denied, as it would otherwise escape
// these checks.
//
// HealthLake enforces scopes per request itself; Permits is for callers that
// want the same decision up front (CLI, tests, extra policy in the Lambda).
//
// # References
//
//   - SMART App Launch v2.2.0 scopes: https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
//   - SMART App Launch v2.0.0 scopes: https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html
//   - SMART App Launch v1.0.0 scopes: https://hl7.org/fhir/smart-app-launch/1.0.0/scopes-and-launch-context/index.html
//   - SMART backend services (system/): https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html
//   - FHIR R4 RESTful API: https://hl7.org/fhir/R4/http.html
//   - FHIR R4 resource list: https://hl7.org/fhir/R4/resourcelist.html
//   - RFC 6749 §3.3 (scope syntax): https://www.rfc-editor.org/rfc/rfc6749#section-3.3
//   - AWS HealthLake SMART on FHIR scopes: https://docs.aws.amazon.com/healthlake/latest/devguide/reference-smart-on-fhir-oauth-scopes.html
package scopes
