// Package smartauth verifies SMART on FHIR access tokens: the token layer of
// a HealthLake IdP Lambda. (Package healthlake maps a verified token to the
// HealthLake response; package scopes parses and evaluates the scopes.)
//
// A Validator is built once (at Lambda init) from a Config that holds only
// token policy and fails closed: at least one trusted issuer, each with a
// KeySet and an audience policy. Validate runs the verification pipeline,
// cheapest checks first; the step numbers are the ones used in the errors
// and comments of this package:
//
//  1. strip one optional "Bearer " prefix (any case);
//  2. size cap (8 KiB by default, Config.MaxTokenSize);
//  3. compact JWS only: three parts, strict unpadded base64url;
//  4. header: a JSON object without duplicate members, only alg, kid and
//     typ; alg one of the asymmetric JWS algorithms; kid required;
//  5. payload: a JSON object with well-typed claims, iss, exp and iat
//     present; the unverified iss selects the issuer by exact match
//     (unknown issuers never reach the network), whose allow-list must
//     hold the header alg;
//  6. key lookup by kid (RemoteKeySet refreshes on an unknown kid, rate
//     limited); the key's pinned alg must equal the header's and the key
//     material must fit it;
//  7. signature, verified with github.com/lestrrat-go/jwx/v3;
//  8. claims: exp, nbf and iat within the bounded clock skew, the token
//     kind (Cognito token_use, Keycloak payload typ), the audience policy,
//     the Config.Endpoints pin, SMART scopes (invalid ones dropped), the
//     custom check, then the remote check. The scopes come from the
//     "scope" claim (a space-separated string); when it is absent, from
//     "scp" instead (a string, or an array of non-empty, whitespace-free
//     scopes joined with single spaces), as some IdPs issue it.
//
// Every failed check returns an error wrapping one exported sentinel
// (ErrExpired, ErrAudience, ErrKidNotFound, ...) first, and possibly its
// cause (a JWKS fetch error, a custom check's error); Reason maps the
// sentinel to a short code for logs and metrics. Errors never contain the
// token.
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
