// Package smartauth verifies SMART on FHIR access tokens for AWS HealthLake
// and maps them to the response of a HealthLake IdP Lambda.
//
// A Validator is built once (at Lambda init) from a Config that fails
// closed: at least one trusted issuer, each with a KeySet and an audience
// policy, and the IAM role ARN HealthLake assumes. Validate runs the
// verification pipeline, cheapest checks first:
//
//  1. strip one optional "Bearer " prefix; size cap (8 KiB by default);
//  2. compact JWS only: three parts, strict unpadded base64url;
//  3. header: a JSON object without duplicate members, only alg, kid and
//     typ; alg from the issuer's asymmetric allow-list; kid required;
//  4. payload: a JSON object without duplicate or case-variant member
//     names and with well-typed claims; the unverified iss selects the
//     issuer by exact match (unknown issuers never reach the network);
//  5. key lookup by kid (RemoteKeySet refreshes on an unknown kid, rate
//     limited), the key's pinned alg must equal the header's;
//  6. signature, verified with github.com/lestrrat-go/jwx/v3;
//  7. claims: exp and iat required, nbf honoured, bounded clock skew, the
//     token kind (Cognito token_use, Keycloak payload typ), the audience
//     policy, SMART scopes (invalid ones dropped), custom and remote checks.
//
// Authorize wraps Validate for a HealthLake Event and returns a Decision
// whose Response is what the Lambda returns: an allowed authPayload (aud =
// the event's datastoreEndpoint, nbf, exp, scope, uid, fhirUser, patient)
// plus iamRoleARN, or {"authPayload":{"isAuthorized":false}}.
//
// Every failed check returns an error wrapping exactly one exported
// sentinel (ErrExpired, ErrAudience, ErrKidNotFound, ...); Reason maps it
// to a short code for logs and metrics. Errors never contain the token.
//
// What is NOT checked: whether the FHIR request itself is permitted by the
// scopes (HealthLake enforces that; see the scopes package for a
// request-level check), and revocation: a revoked token stays valid until
// it expires unless a RemoteCheck such as Keycloak introspection is
// configured. The package does no logging and reads no environment.
//
// References:
//   - HealthLake IdP Lambda: https://docs.aws.amazon.com/healthlake/latest/devguide/reference-smart-on-fhir-token-validation.html
//   - SMART App Launch scopes: https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
//   - RFC 8725 (JWT BCP), RFC 7515 (JWS), RFC 7519 (JWT), RFC 9068 (JWT access tokens), RFC 6750 (bearer tokens)
package smartauth
