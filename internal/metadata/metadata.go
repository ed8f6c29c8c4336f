package metadata

import (
	"errors"
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ErrStrategy is returned by ParseStrategy for anything but the two SMART
// authorization strategies.
var ErrStrategy = errors.New("metadata: not a SMART authorization strategy")

// Strategy is a HealthLake AuthorizationStrategy that uses Metadata.
type Strategy string

// The SMART authorization strategies (AWS_AUTH uses no Metadata).
const (
	// SMARTOnFHIR accepts SMART v1 and v2 scopes; v2 needs "permission-v2"
	// in capabilities.
	SMARTOnFHIR Strategy = "SMART_ON_FHIR"
	// SMARTOnFHIRV1 accepts SMART v1 scopes only (read, write, *).
	SMARTOnFHIRV1 Strategy = "SMART_ON_FHIR_V1"
)

// ParseStrategy returns the Strategy named s, or an error wrapping
// ErrStrategy.
func ParseStrategy(s string) (Strategy, error) {
	switch Strategy(s) {
	case SMARTOnFHIR, SMARTOnFHIRV1:
		return Strategy(s), nil
	}
	return "", fmt.Errorf("%w: %q (want %s or %s)", ErrStrategy, s, SMARTOnFHIR, SMARTOnFHIRV1)
}

// SMART capability names used by the rules.
const (
	CapLaunchEHR                    = "launch-ehr"
	CapLaunchStandalone             = "launch-standalone"
	CapAuthorizePost                = "authorize-post"
	CapClientPublic                 = "client-public"
	CapClientConfidentialSymmetric  = "client-confidential-symmetric"
	CapClientConfidentialAsymmetric = "client-confidential-asymmetric"
	CapSSOOpenIDConnect             = "sso-openid-connect"
	CapContextEHRPatient            = "context-ehr-patient"
	CapContextStandalonePatient     = "context-standalone-patient"
	CapPermissionPatient            = "permission-patient"
	CapPermissionUser               = "permission-user"
	CapPermissionV1                 = "permission-v1"
	CapPermissionV2                 = "permission-v2"
	// CapPermissionV22 is HealthLake's switch for SMART v2.2 granular scopes
	// ("patient/Observation.rs?category=laboratory"); it needs CapPermissionV2.
	CapPermissionV22 = "permission-v2.2"
)

// capabilities lists every capability name Check accepts: SMART App Launch
// 2.2 plus HealthLake's permission-v2.2.
var capabilities = map[string]bool{
	"launch-ehr": true, "launch-standalone": true,
	"authorize-post": true,
	"client-public":  true, "client-confidential-symmetric": true, "client-confidential-asymmetric": true,
	"sso-openid-connect": true,
	"context-banner":     true, "context-style": true,
	"context-ehr-patient": true, "context-ehr-encounter": true,
	"context-standalone-patient": true, "context-standalone-encounter": true,
	"permission-offline": true, "permission-online": true,
	"permission-patient": true, "permission-user": true,
	"permission-v1": true, "permission-v2": true, CapPermissionV22: true,
	"smart-app-state": true,
}

// renamedCapabilities maps SMART 1.0 names to their 2.x replacements.
var renamedCapabilities = map[string]string{
	"context-passthrough-banner": "context-banner",
	"context-passthrough-style":  "context-style",
}

// IsCapability reports whether name is a SMART App Launch 2.2 capability or
// HealthLake's permission-v2.2.
func IsCapability(name string) bool { return capabilities[name] }

// Grant types HealthLake and SMART use.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// Metadata is the SMART discovery document HealthLake publishes. Build fills
// it; members without a value are left out of the JSON.
type Metadata struct {
	Issuer                string `json:"issuer,omitempty"`
	JWKSURI               string `json:"jwks_uri,omitempty"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	// TokenEndpointAuthMethods: client_secret_basic, client_secret_post,
	// private_key_jwt.
	TokenEndpointAuthMethods     []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	TokenEndpointAuthSigningAlgs []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	GrantTypes                   []string `json:"grant_types_supported"`
	ResponseTypes                []string `json:"response_types_supported,omitempty"`
	ScopesSupported              []string `json:"scopes_supported,omitempty"`
	IntrospectionEndpoint        string   `json:"introspection_endpoint,omitempty"`
	RevocationEndpoint           string   `json:"revocation_endpoint,omitempty"`
	CodeChallengeMethods         []string `json:"code_challenge_methods_supported"`
	Capabilities                 []string `json:"capabilities"`
}

// JSON returns m as a JSON object, indented with two spaces when pretty.
func (m *Metadata) JSON(pretty bool) ([]byte, error) {
	opts := []json.Options{jsontext.Multiline(false)}
	if pretty {
		opts = []json.Options{jsontext.WithIndent("  ")}
	}
	b, err := json.Marshal(m, opts...)
	if err != nil {
		return nil, fmt.Errorf("metadata: encode: %w", err)
	}
	return b, nil
}

// Quoted returns the compact JSON object as a JSON string literal: the form
// the HealthLake API (IdentityProviderConfiguration.Metadata) takes.
func (m *Metadata) Quoted() (string, error) {
	b, err := m.JSON(false)
	if err != nil {
		return "", err
	}
	q, err := jsontext.AppendQuote(nil, b)
	if err != nil {
		return "", fmt.Errorf("metadata: quote: %w", err)
	}
	return string(q), nil
}
