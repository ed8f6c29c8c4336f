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
// types unless AnyResourceType is given. Invalid tokens are reported with an
// error wrapping ErrInvalid that says why; an invalid token never grants
// anything.
//
//	granted, err := scopes.ParseClaim(claim)
//	if err != nil {
//		// err joins one *scopes.ParseError per invalid token; granted holds the valid ones.
//	}
//
// # Request checks
//
// ParseRequest classifies a FHIR REST request (read, search-type, create,
// batch, $operation, ...) and Permits decides whether granted scopes allow
// it: the union of resource scopes, type must match or be "*", the
// interaction's letter must be granted, patient/ scopes need a patient in
// context (WithPatient), batch/transaction and operations are never granted
// on their own, and granular scopes grant conditionally, returning the
// Filters the caller must enforce.
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
