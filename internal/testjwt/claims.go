package testjwt

import "time"

// Fixed test identities shared by the smartauth and healthlake tests: the
// shapes of real Keycloak and Cognito issuers and a HealthLake endpoint.
const (
	KeycloakIssuer = "https://keycloak.example.com/realms/fhir"
	CognitoIssuer  = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	Endpoint       = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	ClientID       = "4lkg1s0example0client0id"
	ScopePrefix    = "https://fhir.example.com"
)

// Now is the fixed clock of those tests.
var Now = time.Unix(1_700_000_000, 0).UTC()

// At returns Now+d as a NumericDate.
func At(d time.Duration) int64 { return Now.Add(d).Unix() }

// KeycloakClaims is a Keycloak access token payload for Endpoint, with
// Override's name, value pairs applied.
func KeycloakClaims(overrides ...any) map[string]any {
	return Override(map[string]any{
		"exp":                At(5 * time.Minute),
		"iat":                At(-10 * time.Second),
		"jti":                "onrtac:3e6a3b5e-4f0e-4a47-9d8b-1c0d2e3f4a5b",
		"iss":                KeycloakIssuer,
		"aud":                Endpoint,
		"sub":                "f0e1d2c3-b4a5-4697-8899-aabbccddeeff",
		"typ":                "Bearer",
		"azp":                "svc",
		"scope":              "openid fhirUser launch/patient patient/*.read",
		"preferred_username": "dr.jones",
		"realm_access":       map[string]any{"roles": []string{"fhir-user"}},
		"resource_access":    map[string]any{"svc": map[string]any{"roles": []string{"reader"}}},
		"fhirUser":           "Practitioner/123",
		"patient":            "456",
	}, overrides)
}

// CognitoClaims is a Cognito access token payload (no aud), with
// Override's name, value pairs applied.
func CognitoClaims(overrides ...any) map[string]any {
	return Override(map[string]any{
		"sub":            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
		"cognito:groups": []string{"clinicians"},
		"iss":            CognitoIssuer,
		"version":        2,
		"client_id":      ClientID,
		"origin_jti":     "11111111-2222-3333-4444-555555555555",
		"event_id":       "66666666-7777-8888-9999-000000000000",
		"token_use":      "access",
		"scope":          "openid " + ScopePrefix + "/patient/*.read launch/patient aws.cognito.signin.user.admin",
		"auth_time":      At(-time.Minute),
		"exp":            At(time.Hour),
		"iat":            At(-time.Minute),
		"jti":            "abcdefab-cdef-abcd-efab-cdefabcdefab",
		"username":       "jdoe",
	}, overrides)
}
