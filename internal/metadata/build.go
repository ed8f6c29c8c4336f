package metadata

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/scopes"
)

// Errors of Build and the discovery helpers.
var (
	// ErrDiscovery: the IdP's discovery document is malformed or lacks what
	// the requested Metadata needs.
	ErrDiscovery = errors.New("metadata: unusable discovery document")
	// ErrSettings: the Settings (or IdP coordinates) are invalid.
	ErrSettings = errors.New("metadata: invalid settings")
	// ErrInvalid: the built document fails Check; the error lists the problems.
	ErrInvalid = errors.New("metadata: built document fails the checks")
	// ErrIssuer: the discovery document names another issuer than
	// Settings.Issuer (OpenID Connect Discovery 1.0 §4.3). It also wraps
	// ErrDiscovery.
	ErrIssuer = fmt.Errorf("%w: wrong issuer", ErrDiscovery)
)

// Settings are the SMART choices the IdP's discovery document cannot know.
type Settings struct {
	// Strategy is the data store's AuthorizationStrategy (required).
	// SMARTOnFHIR adds "permission-v2" to the capabilities.
	Strategy Strategy
	// OmitPermissionV1 leaves out "permission-v1", which Build otherwise
	// adds for both strategies: both accept v1 scopes (patient/*.read), and
	// SMART App Launch 2.2 says servers SHOULD advertise it. Listing it in
	// Capabilities as well, or omitting it with SMARTOnFHIRV1 (whose only
	// permission version it is), is an ErrSettings.
	OmitPermissionV1 bool
	// Capabilities are the SMART capabilities to advertise, e.g.
	// "launch-standalone", "client-confidential-symmetric",
	// "sso-openid-connect", "permission-patient". Unknown names are an error.
	// They are written in SMART's order, without duplicates.
	Capabilities []string
	// GrantTypes lists authorization_code and/or client_credentials
	// (required). Each must be supported by the IdP.
	GrantTypes []string
	// ScopesSupported, when not nil, is written as scopes_supported as is
	// (empty: left out). When nil, the IdP's scopes_supported is used, keeping
	// only SMART scopes the strategy accepts.
	ScopesSupported []string
	// Issuer, when not empty, is the issuer the discovery document must name,
	// character for character: the issuer whose discovery URL was fetched
	// (OpenID Connect Discovery 1.0 §4.3). A document naming another issuer
	// is refused (ErrIssuer): its endpoints are not that IdP's. Empty: not
	// checked (a discovery file of unknown origin).
	Issuer string
	// InsecureAllowLoopbackHTTP lets http:// endpoints on 127.0.0.1, ::1 and
	// localhost through (a test IdP). Metadata for HealthLake MUST NOT be
	// built with it.
	InsecureAllowLoopbackHTTP bool
}

// capabilityOrder is SMART App Launch 2.2's order of capabilities, used for
// a stable output.
var capabilityOrder = []string{
	"launch-ehr", "launch-standalone", "authorize-post",
	"client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
	"sso-openid-connect", "context-banner", "context-style",
	"context-ehr-patient", "context-ehr-encounter", "context-standalone-patient", "context-standalone-encounter",
	"permission-offline", "permission-online", "permission-patient", "permission-user",
	"permission-v1", "permission-v2", CapPermissionV22, "smart-app-state",
}

// discovery is the part of an OpenID Provider / RFC 8414 discovery document
// Build reads.
type discovery struct {
	Issuer                string   `json:"issuer,omitempty"`
	JWKSURI               string   `json:"jwks_uri,omitempty"`
	AuthorizationEndpoint string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string   `json:"token_endpoint,omitempty"`
	IntrospectionEndpoint string   `json:"introspection_endpoint,omitempty"`
	RevocationEndpoint    string   `json:"revocation_endpoint,omitempty"`
	GrantTypes            []string `json:"grant_types_supported,omitempty"`
	ResponseTypes         []string `json:"response_types_supported,omitempty"`
	ScopesSupported       []string `json:"scopes_supported,omitempty"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported,omitempty"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	TokenAuthSigningAlgs  []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
}

// Build returns the Metadata for a data store whose IdP publishes the OpenID
// discovery document disc (the JSON object from
// <issuer>/.well-known/openid-configuration, or from CognitoDiscovery).
//
// It copies issuer, jwks_uri, the authorization, token, introspection and
// revocation endpoints, keeps only the SMART client authentication methods
// the chosen client types use, writes code_challenge_methods_supported as
// ["S256"] and never copies registration or other endpoints. It fails
// (ErrDiscovery) when the IdP does not support a requested grant type, PKCE
// S256 for authorization_code, or private_key_jwt for
// client-confidential-asymmetric; and (ErrInvalid) when the result fails
// Check, e.g. http endpoints.
//
// Build does NOT verify that the IdP's endpoints answer or that its clients
// are configured as advertised.
func Build(disc []byte, s Settings) (*Metadata, error) {
	if _, err := ParseStrategy(string(s.Strategy)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	caps, err := orderCapabilities(s)
	if err != nil {
		return nil, err
	}
	if prob := checkGrantSettings(s.GrantTypes); prob != "" {
		return nil, fmt.Errorf("%w: %s", ErrSettings, prob)
	}
	if _, prob := decodeObject(disc); prob != nil {
		return nil, fmt.Errorf("%w: %s", ErrDiscovery, prob.What)
	}
	var d discovery
	if err := json.Unmarshal(disc, &d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	for _, m := range []struct{ name, v string }{
		{"issuer", d.Issuer}, {"authorization_endpoint", d.AuthorizationEndpoint}, {"token_endpoint", d.TokenEndpoint}, {"jwks_uri", d.JWKSURI},
	} {
		if m.v == "" {
			return nil, fmt.Errorf("%w: %s is missing", ErrDiscovery, m.name)
		}
	}
	if s.Issuer != "" && d.Issuer != s.Issuer {
		return nil, fmt.Errorf("%w: the document names %q, not %q (OpenID Discovery §4.3: they must be identical; its endpoints are not that IdP's)",
			ErrIssuer, d.Issuer, s.Issuer)
	}
	isCognito := cognitoIssuerHost.MatchString(hostOf(d.Issuer))
	if isCognito {
		// Cognito's own discovery document omits what its OAuth server does
		// support: both grants, PKCE S256, client secret authentication.
		d.GrantTypes = orDefault(d.GrantTypes, []string{GrantAuthorizationCode, GrantClientCredentials, "refresh_token"})
		d.CodeChallengeMethods = orDefault(d.CodeChallengeMethods, []string{"S256"})
		d.TokenAuthMethods = orDefault(d.TokenAuthMethods, []string{"client_secret_basic", "client_secret_post"})
		d.IntrospectionEndpoint = "" // Cognito has none
	}
	// RFC 8414: an absent grant_types_supported means authorization_code and implicit.
	idpGrants := orDefault(d.GrantTypes, []string{GrantAuthorizationCode, "implicit"})
	for _, g := range s.GrantTypes {
		if !slices.Contains(idpGrants, g) {
			return nil, fmt.Errorf("%w: the IdP does not list grant type %s in grant_types_supported", ErrDiscovery, g)
		}
	}
	authCode := slices.Contains(s.GrantTypes, GrantAuthorizationCode)
	if authCode && !slices.Contains(d.CodeChallengeMethods, "S256") {
		return nil, fmt.Errorf("%w: the IdP does not list S256 in code_challenge_methods_supported (PKCE is required for authorization_code)", ErrDiscovery)
	}
	if authCode && d.ResponseTypes != nil && !slices.Contains(d.ResponseTypes, "code") {
		return nil, fmt.Errorf(`%w: the IdP does not list "code" in response_types_supported`, ErrDiscovery)
	}
	m := &Metadata{
		Issuer:                d.Issuer,
		JWKSURI:               d.JWKSURI,
		AuthorizationEndpoint: d.AuthorizationEndpoint,
		TokenEndpoint:         d.TokenEndpoint,
		GrantTypes:            slices.Clone(s.GrantTypes),
		IntrospectionEndpoint: d.IntrospectionEndpoint,
		RevocationEndpoint:    d.RevocationEndpoint,
		CodeChallengeMethods:  []string{"S256"},
		Capabilities:          caps,
	}
	if authCode {
		m.ResponseTypes = []string{"code"}
	}
	if err := clientAuth(m, d, caps); err != nil {
		return nil, err
	}
	if s.ScopesSupported != nil {
		m.ScopesSupported = slices.Clone(s.ScopesSupported)
	} else {
		m.ScopesSupported = smartScopes(d.ScopesSupported, s.Strategy, slices.Contains(caps, CapPermissionV22))
	}
	raw, err := m.JSON(false)
	if err != nil {
		return nil, err
	}
	if probs := (Policy{Strategy: s.Strategy, InsecureAllowLoopbackHTTP: s.InsecureAllowLoopbackHTTP}).Check(raw); len(probs) > 0 {
		lines := make([]string, len(probs))
		for i, p := range probs {
			lines[i] = p.String()
		}
		return nil, fmt.Errorf("%w:\n%s", ErrInvalid, strings.Join(lines, "\n"))
	}
	return m, nil
}

func orDefault(v, def []string) []string {
	if v == nil {
		return def
	}
	return v
}

func checkGrantSettings(grants []string) string {
	if len(grants) == 0 {
		return "at least one grant type (authorization_code, client_credentials) is required"
	}
	for i, g := range grants {
		if g != GrantAuthorizationCode && g != GrantClientCredentials {
			return fmt.Sprintf("grant type %q is not authorization_code or client_credentials", g)
		}
		if slices.Contains(grants[:i], g) {
			return fmt.Sprintf("grant type %q is listed twice", g)
		}
	}
	return ""
}

// orderCapabilities validates s.Capabilities, adds permission-v1 (unless
// omitted) and permission-v2 for SMART_ON_FHIR and returns them in SMART's
// order, each once.
func orderCapabilities(s Settings) ([]string, error) {
	want := map[string]bool{}
	for _, c := range s.Capabilities {
		if !IsCapability(c) {
			return nil, fmt.Errorf("%w: %q is not a SMART App Launch 2.2 capability", ErrSettings, c)
		}
		want[c] = true
	}
	if s.OmitPermissionV1 && want[CapPermissionV1] {
		return nil, fmt.Errorf("%w: permission-v1 is both listed and omitted", ErrSettings)
	}
	want[CapPermissionV1] = !s.OmitPermissionV1
	switch s.Strategy {
	case SMARTOnFHIR:
		want[CapPermissionV2] = true
	case SMARTOnFHIRV1:
		if want[CapPermissionV2] || want[CapPermissionV22] {
			return nil, fmt.Errorf("%w: permission-v2 and permission-v2.2 need strategy SMART_ON_FHIR", ErrSettings)
		}
		if s.OmitPermissionV1 {
			return nil, fmt.Errorf("%w: SMART_ON_FHIR_V1 needs permission-v1 (its only permission version)", ErrSettings)
		}
	}
	out := make([]string, 0, len(want))
	for _, c := range capabilityOrder {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// clientAuth fills the token endpoint authentication members for the client
// types in caps from what the IdP lists.
func clientAuth(m *Metadata, d discovery, caps []string) error {
	var methods []string
	if slices.Contains(caps, CapClientConfidentialSymmetric) {
		for _, a := range []string{"client_secret_basic", "client_secret_post"} {
			if slices.Contains(d.TokenAuthMethods, a) {
				methods = append(methods, a)
			}
		}
		if d.TokenAuthMethods != nil && len(methods) == 0 {
			return fmt.Errorf("%w: client-confidential-symmetric needs client_secret_basic or client_secret_post, which the IdP does not list", ErrDiscovery)
		}
	}
	if slices.Contains(caps, CapClientConfidentialAsymmetric) {
		if !slices.Contains(d.TokenAuthMethods, "private_key_jwt") {
			return fmt.Errorf("%w: client-confidential-asymmetric needs private_key_jwt in token_endpoint_auth_methods_supported, which the IdP does not list", ErrDiscovery)
		}
		methods = append(methods, "private_key_jwt")
		if d.TokenAuthSigningAlgs != nil {
			for _, a := range []string{"RS384", "ES384"} {
				if slices.Contains(d.TokenAuthSigningAlgs, a) {
					m.TokenEndpointAuthSigningAlgs = append(m.TokenEndpointAuthSigningAlgs, a)
				}
			}
			if len(m.TokenEndpointAuthSigningAlgs) == 0 {
				return fmt.Errorf("%w: client-confidential-asymmetric needs RS384 or ES384 in token_endpoint_auth_signing_alg_values_supported", ErrDiscovery)
			}
		}
	}
	m.TokenEndpointAuthMethods = methods
	return nil
}

// smartScopes keeps the SMART scopes (resource, launch, identity, refresh)
// of an IdP's scopes_supported that the strategy accepts, in their order.
// It returns nil when none is left.
func smartScopes(idp []string, st Strategy, granular bool) []string {
	var out []string
	for _, raw := range idp {
		sc, err := scopes.Parser{AnyResourceType: true}.Parse(raw)
		if err != nil || sc.Kind == scopes.KindExtension {
			continue
		}
		if sc.IsResource() && ((st == SMARTOnFHIRV1 && sc.Version == scopes.V2) || (sc.IsGranular() && !granular)) {
			continue
		}
		if !slices.Contains(out, raw) {
			out = append(out, raw)
		}
	}
	return out
}

var cognitoDomainPrefix = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// CognitoDiscovery returns the discovery document of an Amazon Cognito user
// pool, for Build, without network: Cognito's endpoints are fixed.
// domain is the pool's domain prefix ("smart-123456789012", giving
// https://smart-123456789012.auth.<region>.amazoncognito.com) or a custom
// domain as a full https URL without path ("https://auth.example.com").
//
// The document names issuer https://cognito-idp.<region>.amazonaws.com/<pool>,
// jwks_uri <issuer>/.well-known/jwks.json, the domain's /oauth2/authorize,
// /oauth2/token and /oauth2/revoke, both SMART grants, PKCE S256 and client
// secret authentication. It does NOT know whether the pool has that domain,
// app clients or resource servers.
func CognitoDiscovery(region, poolID, domain string) ([]byte, error) {
	issuer, err := cognito.IssuerURL(region, poolID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	base, err := cognitoDomainURL(region, domain)
	if err != nil {
		return nil, err
	}
	d := discovery{
		Issuer:                issuer,
		JWKSURI:               cognito.JWKSURL(issuer),
		AuthorizationEndpoint: base + "/oauth2/authorize",
		TokenEndpoint:         base + "/oauth2/token",
		RevocationEndpoint:    base + "/oauth2/revoke",
		GrantTypes:            []string{GrantAuthorizationCode, GrantClientCredentials, "refresh_token"},
		ResponseTypes:         []string{"code"},
		CodeChallengeMethods:  []string{"S256"},
		TokenAuthMethods:      []string{"client_secret_basic", "client_secret_post"},
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("metadata: encode: %w", err)
	}
	return b, nil
}

func cognitoDomainURL(region, domain string) (string, error) {
	if cognitoDomainPrefix.MatchString(domain) {
		return "https://" + domain + ".auth." + region + ".amazoncognito.com", nil
	}
	u, err := url.Parse(domain)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Port() != "" ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(domain, "#") {
		return "", fmt.Errorf("%w: Cognito domain %q is neither a domain prefix (lowercase letters, digits, hyphens) nor an https URL without path", ErrSettings, domain)
	}
	return "https://" + u.Host, nil
}

// KeycloakDiscoveryURL returns <baseURL>/realms/<realm>/.well-known/openid-configuration.
func KeycloakDiscoveryURL(baseURL, realm string) (string, error) {
	issuer, err := keycloak.IssuerURL(baseURL, realm, "")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSettings, err)
	}
	return keycloak.DiscoveryURL(issuer), nil
}
