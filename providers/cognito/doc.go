// Package cognito adapts smartauth to Amazon Cognito user pools: it derives
// the issuer and JWKS URL from a region and user pool ID and sets Cognito's
// access-token rules (token_use "access", client_id allow-list instead of
// aud, RS256 only, resource-server scope prefixes, optional group mapping).
//
// Cognito access tokens:
// https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
//
// The subpackage pretoken contains the Pre Token Generation trigger that puts
// fhirUser, patient and SMART scopes into access tokens.
package cognito
