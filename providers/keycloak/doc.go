// Package keycloak adapts smartauth to Keycloak realms: it derives the
// issuer (<base>/realms/<realm>, with a legacy /auth or custom path prefix)
// and the certs endpoint, and sets Keycloak's access-token rules (payload
// typ "Bearer", aud containing the data store endpoint through an audience
// mapper, optional azp allow-list, optional role-to-scope mapping).
//
// Keycloak's JWKS also lists encryption keys (use "enc"); the key set skips
// them. Optional RFC 7662 token introspection (Config.Introspection), for
// deployments that must honour logout and revocation before a token
// expires, runs only for tokens that passed every local check. Keycloak 26
// introspects a token only when its aud names the introspecting client.
//
// Reference: https://www.keycloak.org/docs/latest/server_admin/ (client
// scopes, audience and user-attribute mappers).
package keycloak
