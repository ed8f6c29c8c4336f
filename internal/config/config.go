// Package config is the one configuration builder of the smartauth CLI
// (filled from flags) and the example HealthLake Lambda (filled from
// environment variables): Settings.Build applies one set of rules per
// provider and returns the token policy and the HealthLake response
// settings.
package config

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/tlsroots"
	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Settings are the validator and response settings of one issuer. Each
// setting has a key (the CLI flag name without "--"); Name spells it the
// way the caller's user wrote it, for error messages.
type Settings struct {
	// Provider selects the token rules: generic, cognito or keycloak (key
	// "provider").
	Provider string
	// Issuer is the trusted issuer (key "issuer"). generic: required.
	// cognito: instead of Region and UserPoolID (emulators). keycloak:
	// instead of KeycloakURL and Realm.
	Issuer string
	// JWKSURL overrides the derived key URL (key "jwks-url"); JWKSFile
	// loads a static key set instead (key "jwks-file"). generic: one of the
	// two is required.
	JWKSURL, JWKSFile string
	// Algorithms is the JWS allow-list (key "algorithm"); empty means RS256.
	// cognito: RS256 only.
	Algorithms []string
	// Audiences are accepted aud values besides the event's data store
	// endpoint (key "audience"). Not for cognito (no aud).
	Audiences []string
	// ClientIDs is the app-client allow-list (key "client-id"): required
	// for cognito; optional for keycloak and generic (smartauth.Clients).
	ClientIDs []string
	// ScopePrefixes are resource-server prefixes stripped from scopes.
	ScopePrefixes []string
	// Endpoints are the data store endpoints served (Config.Endpoints).
	Endpoints []string
	// Region, UserPoolID (keys "region", "user-pool-id") and MultiRegion
	// (key "multi-region"; not with Issuer): cognito only.
	Region, UserPoolID string
	MultiRegion        bool
	// KeycloakURL, Realm (keys "keycloak-url", "realm") and PathPrefix
	// (key "path-prefix"; not with Issuer): keycloak only.
	KeycloakURL, Realm, PathPrefix string
	// RoleARN, V1Scopes, AuthorizedAsString and UIDClaim are the HealthLake
	// response settings.
	RoleARN            string
	V1Scopes           bool
	AuthorizedAsString bool
	UIDClaim           string
	// AnyResourceType accepts any well-formed resource type in scopes.
	AnyResourceType bool
	// InsecureHTTP accepts http:// issuers and JWKS URLs (local test IdPs).
	InsecureHTTP bool
	// InsecureSkipEndpointCheck is smartauth.Config's (offline tools only).
	InsecureSkipEndpointCheck bool
	// JWKSTimeout bounds each JWKS request; zero or negative keeps the key
	// set default.
	JWKSTimeout time.Duration
	// Now is the validation clock; nil means time.Now.
	Now func() time.Time
	// Cache is smartauth.Config's verified-token cache; nil is off.
	Cache *smartauth.CacheConfig
	// Name returns the user's spelling of a setting key; nil gives the key.
	Name func(key string) string
	// Getenv reads SSL_CERT_FILE and SSL_CERT_DIR for the JWKS client's
	// trust roots (internal/tlsroots: Go's roots, the bundle file loaded in
	// the background); nil keeps smartauth's default client.
	Getenv func(key string) string
}

func (s *Settings) name(key string) string {
	if s.Name == nil {
		return key
	}
	return s.Name(key)
}

// Build checks the settings and returns the token policy and the HealthLake
// response settings. smartauth.NewValidator and healthlake.New check them
// further (fail closed: for example a missing role ARN).
func (s *Settings) Build() (smartauth.Config, healthlake.Config, error) {
	hl := healthlake.Config{RoleARN: s.RoleARN, AuthorizedAsString: s.AuthorizedAsString, UIDClaim: s.UIDClaim}
	if s.V1Scopes {
		hl.ScopeFormat = healthlake.ScopesV1
	}
	cfg := smartauth.Config{
		Now:                       s.Now,
		Endpoints:                 s.Endpoints,
		AnyResourceType:           s.AnyResourceType,
		InsecureAllowHTTPIssuers:  s.InsecureHTTP,
		InsecureSkipEndpointCheck: s.InsecureSkipEndpointCheck,
		Cache:                     s.Cache,
	}
	if err := s.checkCombination(); err != nil {
		return cfg, hl, err
	}
	ksOpts := smartauth.RemoteOptions{RequestTimeout: max(s.JWKSTimeout, 0), InsecureHTTP: s.InsecureHTTP}
	if s.Getenv != nil && s.JWKSFile == "" {
		ksOpts.HTTPClient = tlsroots.Client(s.Getenv("SSL_CERT_FILE"), s.Getenv("SSL_CERT_DIR"))
	}
	// An explicit key source; nil lets the provider derive its JWKS URL.
	var ks smartauth.KeySet
	switch {
	case s.JWKSFile != "" && s.JWKSURL != "":
		return cfg, hl, fmt.Errorf("give %s or %s, not both", s.name("jwks-file"), s.name("jwks-url"))
	case s.JWKSFile != "":
		sks, err := staticKeySet(s.JWKSFile)
		if err != nil {
			return cfg, hl, err
		}
		ks = sks
	case s.JWKSURL != "" && s.Provider != "keycloak":
		rks, err := smartauth.NewRemoteKeySet(s.JWKSURL, ksOpts)
		if err != nil {
			return cfg, hl, err
		}
		ks = rks
	}
	switch s.Provider {
	case "generic":
		if s.Issuer == "" {
			return cfg, hl, fmt.Errorf("%s is required", s.name("issuer"))
		}
		if ks == nil {
			return cfg, hl, fmt.Errorf("the generic provider needs a key set: %s or %s", s.name("jwks-url"), s.name("jwks-file"))
		}
		ic := smartauth.IssuerConfig{
			Issuer:        s.Issuer,
			KeySet:        ks,
			Algorithms:    s.Algorithms,
			Audience:      smartauth.EndpointAudience(s.Audiences...),
			ScopePrefixes: s.ScopePrefixes,
		}
		if len(s.ClientIDs) > 0 {
			ic.Audience = smartauth.AllOf(ic.Audience, smartauth.Clients(slices.Clone(s.ClientIDs)))
		}
		cfg.Issuers = []smartauth.IssuerConfig{ic}
	case "cognito":
		ics, err := cognito.New(cognito.Config{
			Region: s.Region, UserPoolID: s.UserPoolID, Issuer: s.Issuer, MultiRegionIssuer: s.MultiRegion,
			ClientIDs: s.ClientIDs, ScopePrefixes: s.ScopePrefixes, KeySet: ks, KeySetOptions: ksOpts,
		})
		if err != nil {
			return cfg, hl, err
		}
		cfg.Issuers = ics
	case "keycloak":
		kc := keycloak.Config{BaseURL: s.KeycloakURL, Realm: s.Realm, PathPrefix: s.PathPrefix,
			Audiences: s.Audiences, AllowedClients: s.ClientIDs, Algorithms: s.Algorithms,
			JWKSURL: s.JWKSURL, KeySet: ks, KeySetOptions: ksOpts}
		if s.Issuer != "" {
			base, realm, ok := strings.Cut(s.Issuer, "/realms/")
			if !ok {
				return cfg, hl, fmt.Errorf("%s %q is not a Keycloak realm URL (<base>/realms/<realm>)", s.name("issuer"), s.Issuer)
			}
			kc.BaseURL, kc.Realm = base, realm
		}
		ic, err := keycloak.New(kc)
		if err != nil {
			return cfg, hl, err
		}
		ic.ScopePrefixes = s.ScopePrefixes
		cfg.Issuers = []smartauth.IssuerConfig{ic}
	default:
		return cfg, hl, fmt.Errorf("%s %q: want generic, cognito or keycloak", s.name("provider"), s.Provider)
	}
	return cfg, hl, nil
}

// New builds the validator and the HealthLake Authorizer.
func (s *Settings) New() (*smartauth.Validator, *healthlake.Authorizer, error) {
	cfg, hl, err := s.Build()
	if err != nil {
		return nil, nil, err
	}
	v, err := smartauth.NewValidator(cfg)
	if err != nil {
		return nil, nil, err
	}
	a, err := healthlake.New(v, hl)
	if err != nil {
		return nil, nil, err
	}
	return v, a, nil
}

// checkCombination refuses settings where one setting would decide the
// trusted issuer and another the key URL, and settings a provider ignores.
func (s *Settings) checkCombination() error {
	cognitoSet := s.Region != "" || s.UserPoolID != ""
	keycloakSet := s.KeycloakURL != "" || s.Realm != ""
	switch s.Provider {
	case "cognito":
		switch {
		case s.Issuer != "" && cognitoSet:
			return fmt.Errorf("give %s or %s/%s, not both", s.name("issuer"), s.name("region"), s.name("user-pool-id"))
		case len(s.Audiences) > 0:
			return fmt.Errorf("%s does not apply to cognito (access tokens have no aud): use %s", s.name("audience"), s.name("client-id"))
		case len(s.Algorithms) > 0:
			return fmt.Errorf("%s does not apply to cognito (Cognito signs with RS256 only)", s.name("algorithm"))
		case s.Issuer != "" && s.MultiRegion:
			return fmt.Errorf("%s needs %s/%s, not %s", s.name("multi-region"), s.name("region"), s.name("user-pool-id"), s.name("issuer"))
		case keycloakSet || s.PathPrefix != "":
			return fmt.Errorf("%s, %s and %s need %s keycloak", s.name("keycloak-url"), s.name("realm"), s.name("path-prefix"), s.name("provider"))
		}
	case "keycloak":
		switch {
		case s.Issuer != "" && keycloakSet:
			return fmt.Errorf("give %s or %s/%s, not both", s.name("issuer"), s.name("keycloak-url"), s.name("realm"))
		case s.Issuer != "" && s.PathPrefix != "":
			return fmt.Errorf("%s needs %s/%s, not %s (which holds the prefix)", s.name("path-prefix"), s.name("keycloak-url"), s.name("realm"), s.name("issuer"))
		case cognitoSet || s.MultiRegion:
			return fmt.Errorf("%s, %s and %s need %s cognito", s.name("region"), s.name("user-pool-id"), s.name("multi-region"), s.name("provider"))
		}
	default:
		if cognitoSet || keycloakSet || s.MultiRegion || s.PathPrefix != "" {
			return fmt.Errorf("%s, %s, %s, %s, %s and %s need %s cognito or keycloak", s.name("region"), s.name("user-pool-id"),
				s.name("multi-region"), s.name("keycloak-url"), s.name("realm"), s.name("path-prefix"), s.name("provider"))
		}
	}
	return nil
}

// List splits a comma-separated value, dropping blanks.
func List(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// maxJWKSFile caps a JWKS file (1 MiB): far above any real key set.
const maxJWKSFile = 1 << 20

// staticKeySet reads a JWKS document from path (at most maxJWKSFile bytes)
// into a smartauth.StaticKeySet.
func staticKeySet(path string) (*smartauth.StaticKeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: JWKS file: %w", smartauth.ErrConfig, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJWKSFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: JWKS file: %w", smartauth.ErrConfig, err)
	}
	if len(data) > maxJWKSFile {
		return nil, fmt.Errorf("%w: JWKS file %s is larger than %d bytes", smartauth.ErrConfig, path, maxJWKSFile)
	}
	return smartauth.NewStaticKeySet(data)
}
