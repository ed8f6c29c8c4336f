// Package emulator is a local stand-in for a SMART-enabled AWS HealthLake data
// store, for trying an identity provider, an IdP Lambda and a client end to end
// without AWS (issue #8, "smartauth emulate").
//
// For every FHIR request with "Authorization: Bearer" it builds the event
// HealthLake sends to the IdP Lambda (datastoreEndpoint, bearerToken,
// operationName such as ReadResource or SearchWithGet, datastoreId), hands it
// to an Invoker as bytes, decodes the answer as bytes and applies it the way
// HealthLake does:
//
//   - the Authorization header comes first, as on HealthLake: a FHIR request
//     without a well-formed "Bearer <token>" gets 401 before any path,
//     method, Content-Type or body check (only .well-known/smart-configuration
//     is public). The path is then parsed (400; the event names the
//     operation), the IdP Lambda called, and the body read (400, 413, 415)
//     only after a valid allow;
//   - 401 when there is no bearer token, the invocation fails or times out
//     (HealthLake allows 1 s; the limit holds even when the Invoker ignores
//     its context), or the answer is not a valid allow: authPayload
//     with isAuthorized true (or "true"), aud equal to the datastoreEndpoint,
//     exp in the future, nbf not in the future, at least one FHIR resource
//     scope, and an iamRoleARN (equal to Config.RoleARN when that is set);
//     a member of the wrong JSON type (an aud or scope array) is named as
//     such;
//   - only the scopes the Metadata's capabilities enable count, as on
//     HealthLake: v2 scopes need "permission-v2", granular (v2.2) scopes also
//     "permission-v2.2" (HealthLake ignores them otherwise); the diagnostics
//     name such scopes and invalid scope tokens;
//   - 403 when the returned scopes do not permit the request (scopes.Permits)
//     or a granular (v2.2) scope's filter does not match. user/ and system/
//     scopes grant without a compartment, patient/ scopes only within the
//     returned patient's compartment; a resource is visible when either
//     grants it (the union);
//   - 404, with the text of a missing resource, when a read, update or delete
//     targets a resource that only the patient compartment keeps out, so a
//     patient/ client cannot learn that another patient's resource exists
//     (the log keeps the real reason); an update to a free id (update as
//     create) through patient/ scopes gets the same 404 as an update of
//     another patient's resource, since a 201 would tell the two apart
//     (user/ and system/ scopes may create by update);
//   - 403, not 404, when patient/ scopes alone meet a type outside every
//     patient compartment (Practitioner, ...): that depends on the type
//     alone, so it hides nothing; a search says so in an outcome entry;
//   - only references to this server put a resource into a compartment or
//     match a reference search: relative ones, and absolute ones under
//     BaseURL or DatastoreEndpoint. The patient search parameter matches
//     the same per-type reference as the compartment (Observation.subject,
//     AllergyIntolerance.patient, ...), so a resource cannot sit in one
//     patient's compartment and in another's search results; it is a 400 on
//     Patient and on types whose compartment the emulator does not know;
//   - memory is bounded: request bodies at MaxBody bytes (256 KiB) and
//     20,000 JSON values, the store keeps compact JSON (not decoded values)
//     up to MaxResources resources and MaxStoreBytes bytes (64 MiB), checked
//     under the store's lock (507 beyond either), and a search response
//     carries at most 8 MiB of resources;
//   - 501 for operations ($everything, $export), batch/transaction and
//     conditional create, update and delete (If-None-Exist, a search URL),
//     after authentication;
//   - otherwise the request runs against an in-memory FHIR store seeded from a
//     Bundle: read, search (by _id, patient, subject, category, code), create
//     (the server assigns the id before the checks), update and delete.
//     Every search parameter is checked before the store is read (400 for
//     one the emulator does not evaluate, a modifier, chaining, _include,
//     _sort, ...), so a refused search reads the same whether or not
//     resources the caller may not see exist. Searches are filtered by the
//     compartment and the granular filters, never widened; a granular filter on a parameter the emulator cannot
//     evaluate matches nothing, and a search says so in an outcome entry
//     (an OperationOutcome with search.mode "outcome"), as it does when the
//     result is cut short by _count (at most 1000) or the response size:
//     there is no paging;
//   - /metadata, like every FHIR path, needs a bearer token (HealthLake
//     sends GetCapabilities to the IdP Lambda); its CapabilityStatement
//     names the Metadata's authorize and token endpoints in the SMART
//     oauth-uris extension. SMART discovery without a token is
//     .well-known/smart-configuration.
//
// Every refusal carries an OperationOutcome whose diagnostics name the check
// that failed and why (the debugging help HealthLake does not give). The
// server logs one line per request and never the token.
//
// What it does NOT emulate: SigV4 requests, fine-grained authorization of
// user/ scopes by fhirUser (FineGrainedAuthorizationEnabled), PATCH, history,
// vread, batch/transaction, operations ($export, $everything), search
// parameters other than the five above, and IAM permissions of the returned
// role (only its presence and form, or its equality to Config.RoleARN).
//
// HealthLake reference:
// https://docs.aws.amazon.com/healthlake/latest/devguide/reference-smart-on-fhir-token-validation.html
package emulator
