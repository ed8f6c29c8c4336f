package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// configFromEnv builds the validator configuration from environment
// variables (getenv is os.Getenv in main, a map in tests).
//
//	SMARTAUTH_PROVIDER        cognito | keycloak | generic (required)
//	SERVICE_ROLE_ARN          role returned as iamRoleARN (required)
//	COGNITO_REGION            cognito: pool region
//	COGNITO_USER_POOL_ID      cognito: pool ID
//	COGNITO_CLIENT_IDS        cognito: comma-separated app client allow-list (required)
//	COGNITO_SCOPE_PREFIXES    cognito: comma-separated resource-server prefixes to strip
//	COGNITO_MULTI_REGION      cognito: "true" to also trust the issuer-cognito-idp issuer
//	KEYCLOAK_URL              keycloak: server base URL, e.g. https://abc.us-east-1.awsapprunner.com
//	KEYCLOAK_REALM            keycloak: realm
//	KEYCLOAK_PATH_PREFIX      keycloak: "/auth" for legacy servers
//	KEYCLOAK_AUDIENCES        keycloak: extra accepted aud values (comma-separated)
//	KEYCLOAK_CLIENTS          keycloak: azp allow-list (comma-separated, optional)
//	ISSUER, JWKS_URL          generic: issuer and its JWKS URL
//	AUDIENCES                 generic: extra accepted aud values
//	SCOPE_FORMAT              "v1" for SMART_ON_FHIR_V1 data stores, else as given
//	ISAUTHORIZED_AS_STRING    "true" to emit isAuthorized as a string
//	DATASTORE_ENDPOINTS       comma-separated data store endpoint(s) this Lambda serves; required for
//	                          cognito and with extra audiences (their tokens do not name the data store)
//	JWKS_TIMEOUT              request-path JWKS timeout (default 500ms)
//	SMARTAUTH_INSECURE_HTTP   TEST ONLY: "true" accepts http:// issuers and JWKS URLs (a local
//	                          Keycloak or cognito-local, e.g. under aws-lambda-rie in
//	                          scripts/integration.sh). Never set it in a deployed Lambda.
func configFromEnv(getenv func(string) string) (smartauth.Config, healthlake.Config, error) {
	hl := healthlake.Config{
		RoleARN:            getenv("SERVICE_ROLE_ARN"),
		AuthorizedAsString: getenv("ISAUTHORIZED_AS_STRING") == "true",
	}
	cfg := smartauth.Config{Endpoints: list(getenv("DATASTORE_ENDPOINTS"))}
	switch f := getenv("SCOPE_FORMAT"); f {
	case "v1":
		hl.ScopeFormat = healthlake.ScopesV1
	case "", "as-given":
	default:
		return cfg, hl, fmt.Errorf("SCOPE_FORMAT %q: want v1 or as-given", f)
	}
	timeout := 500 * time.Millisecond
	if s := getenv("JWKS_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 900*time.Millisecond {
			return cfg, hl, fmt.Errorf("JWKS_TIMEOUT %q: want a duration in (0, 900ms]", s)
		}
		timeout = d
	}
	ksOpts := []smartauth.RemoteOption{smartauth.WithRequestTimeout(timeout)}
	// Test-only switch (see above): both the issuer check and the key set refuse http:// without it.
	if getenv("SMARTAUTH_INSECURE_HTTP") == "true" {
		cfg.InsecureAllowHTTPIssuers = true
		ksOpts = append(ksOpts, smartauth.WithInsecureHTTP())
	}
	switch p := getenv("SMARTAUTH_PROVIDER"); p {
	case "cognito":
		ics, err := cognito.New(cognito.Config{
			Region:            getenv("COGNITO_REGION"),
			UserPoolID:        getenv("COGNITO_USER_POOL_ID"),
			ClientIDs:         list(getenv("COGNITO_CLIENT_IDS")),
			ScopePrefixes:     list(getenv("COGNITO_SCOPE_PREFIXES")),
			MultiRegionIssuer: getenv("COGNITO_MULTI_REGION") == "true",
			KeySetOptions:     ksOpts,
		})
		if err != nil {
			return cfg, hl, err
		}
		cfg.Issuers = ics
	case "keycloak":
		ic, err := keycloak.New(keycloak.Config{
			BaseURL:        getenv("KEYCLOAK_URL"),
			Realm:          getenv("KEYCLOAK_REALM"),
			PathPrefix:     getenv("KEYCLOAK_PATH_PREFIX"),
			Audiences:      list(getenv("KEYCLOAK_AUDIENCES")),
			AllowedClients: list(getenv("KEYCLOAK_CLIENTS")),
			KeySetOptions:  ksOpts,
		})
		if err != nil {
			return cfg, hl, err
		}
		cfg.Issuers = []smartauth.IssuerConfig{ic}
	case "generic":
		iss, jwks := getenv("ISSUER"), getenv("JWKS_URL")
		if iss == "" || jwks == "" {
			return cfg, hl, errors.New("generic provider needs ISSUER and JWKS_URL")
		}
		ks, err := smartauth.NewRemoteKeySet(jwks, ksOpts...)
		if err != nil {
			return cfg, hl, err
		}
		cfg.Issuers = []smartauth.IssuerConfig{{
			Issuer: iss, KeySet: ks, Audience: smartauth.EndpointAudience(list(getenv("AUDIENCES"))...),
		}}
	default:
		return cfg, hl, fmt.Errorf("SMARTAUTH_PROVIDER %q: want cognito, keycloak or generic", p)
	}
	return cfg, hl, nil
}

// list splits a comma-separated value, dropping blanks.
func list(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
