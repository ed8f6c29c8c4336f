// Package metadata builds and checks the SMART discovery document that AWS
// HealthLake publishes at <endpoint>/.well-known/smart-configuration: the
// IdentityProviderConfiguration.Metadata of a data store.
//
// HealthLake takes Metadata as a JSON string holding a JSON object. It
// requires authorization_endpoint, token_endpoint, grant_types_supported
// (authorization_code and/or client_credentials), a capabilities array and
// code_challenge_methods_supported with "S256". SMART App Launch 2.2 adds
// issuer and jwks_uri for sso-openid-connect, forbids the "plain" PKCE method
// and defines the capability names; HealthLake reads "permission-v2" (and
// "permission-v2.2") to enable v2 (and granular) scopes on a SMART_ON_FHIR
// data store. A wrong Metadata is accepted by the API and only shows later as
// broken SMART discovery, which is why [Check] exists.
//
// [Build] derives Metadata from an IdP's OpenID discovery document (Keycloak:
// fetched with [Fetch]; Amazon Cognito: [CognitoDiscovery], no network) plus
// the SMART settings the IdP cannot know. Build never returns a document that
// Check rejects.
//
// Check does NOT contact the IdP: it cannot tell whether the endpoints answer,
// whether the IdP really supports what the document advertises, or whether the
// issuer matches the tokens' iss claim.
//
// References:
//   - HealthLake IdentityProviderConfiguration:
//     https://docs.aws.amazon.com/healthlake/latest/APIReference/API_IdentityProviderConfiguration.html
//   - SMART App Launch 2.2 conformance (.well-known/smart-configuration):
//     https://hl7.org/fhir/smart-app-launch/conformance.html
//   - OAuth 2.0 Authorization Server Metadata: RFC 8414
//   - PKCE: RFC 7636
package metadata
