package main

import (
	"fmt"
	"time"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/config"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// configFromEnv builds the validator configuration and the HealthLake
// response settings from environment variables (getenv is os.Getenv in
// main, a map in tests), with the rules of the smartauth CLI
// (internal/config).
//
//	SMARTAUTH_PROVIDER        cognito | keycloak | generic (required)
//	SERVICE_ROLE_ARN          role returned as iamRoleARN (required)
//	COGNITO_REGION            cognito: pool region
//	COGNITO_USER_POOL_ID      cognito: pool ID
//	COGNITO_CLIENT_IDS        cognito: app client allow-list (required): client_id listed, azp listed if present
//	COGNITO_SCOPE_PREFIXES    cognito: comma-separated resource-server prefixes to strip
//	COGNITO_MULTI_REGION      cognito: "true" to also trust the issuer-cognito-idp issuer
//	KEYCLOAK_URL              keycloak: server base URL, e.g. https://abc.us-east-1.awsapprunner.com
//	KEYCLOAK_REALM            keycloak: realm
//	KEYCLOAK_PATH_PREFIX      keycloak: "/auth" for legacy servers
//	KEYCLOAK_AUDIENCES        keycloak: extra accepted aud values (comma-separated)
//	KEYCLOAK_CLIENTS          keycloak: client allow-list (optional): azp and client_id, each listed if present
//	ISSUER                    generic: the issuer (required)
//	JWKS_URL, JWKS_FILE       generic: its JWKS URL, or a JWKS file in the package (one required)
//	AUDIENCES                 generic: extra accepted aud values (comma-separated)
//	CLIENT_IDS                generic: client allow-list (comma-separated, optional): at least one of client_id, azp; each present must be listed
//	ALGORITHMS                generic, keycloak: JWS algorithm allow-list (comma-separated; default RS256)
//	SCOPE_FORMAT              "v1" for SMART_ON_FHIR_V1 data stores, else as given
//	ISAUTHORIZED_AS_STRING    "true" to emit isAuthorized as a string
//	UID_CLAIM                 claim copied to authPayload.uid (default sub)
//	DATASTORE_ENDPOINTS       comma-separated data store endpoint(s) this Lambda serves; required for
//	                          cognito and with extra audiences (their tokens do not name the data store)
//	JWKS_TIMEOUT              timeout of each JWKS fetch: at init, on a miss, in background refreshes (default 500ms)
//	TOKEN_CACHE               "off" verifies every token in full; default on: a repeat token is
//	                          answered from the verified-token cache (smartauth.CacheConfig), which
//	                          still checks exp, nbf, the audience and data store, and the key
//	TOKEN_CACHE_MAX_AGE       how long a verified token stays cached (default 5m, at most its exp)
//	SMARTAUTH_INSECURE_HTTP   TEST ONLY: "true" accepts http:// issuers and JWKS URLs (a local
//	                          Keycloak or cognito-local, e.g. under aws-lambda-rie in
//	                          scripts/integration.sh). Never set it in a deployed Lambda.
func configFromEnv(getenv func(string) string) (smartauth.Config, healthlake.Config, error) {
	s, err := settingsFromEnv(getenv)
	if err != nil {
		return smartauth.Config{}, healthlake.Config{}, err
	}
	return s.Build()
}

func settingsFromEnv(getenv func(string) string) (*config.Settings, error) {
	provider := getenv("SMARTAUTH_PROVIDER")
	s := &config.Settings{
		Provider:           provider,
		RoleARN:            getenv("SERVICE_ROLE_ARN"),
		AuthorizedAsString: getenv("ISAUTHORIZED_AS_STRING") == "true",
		UIDClaim:           getenv("UID_CLAIM"),
		Endpoints:          config.List(getenv("DATASTORE_ENDPOINTS")),
		Algorithms:         config.List(getenv("ALGORITHMS")),
		// Test-only switch (see above): both the issuer check and the key set refuse http:// without it.
		InsecureHTTP: getenv("SMARTAUTH_INSECURE_HTTP") == "true",
		JWKSTimeout:  500 * time.Millisecond,
		// The Lambda answers every FHIR request and a client reuses its
		// token: the verified-token cache is on unless TOKEN_CACHE=off.
		Cache: &smartauth.CacheConfig{},
		// SSL_CERT_FILE, SSL_CERT_DIR: the JWKS client's trust roots.
		Getenv: getenv,
	}
	switch c := getenv("TOKEN_CACHE"); c {
	case "off":
		s.Cache = nil
	case "", "on":
	default:
		return nil, fmt.Errorf("TOKEN_CACHE %q: want on or off", c)
	}
	if v := getenv("TOKEN_CACHE_MAX_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Hour {
			return nil, fmt.Errorf("TOKEN_CACHE_MAX_AGE %q: want a duration in (0, 1h]", v)
		}
		if s.Cache != nil {
			s.Cache.MaxAge = d
		}
	}
	switch f := getenv("SCOPE_FORMAT"); f {
	case "v1":
		s.V1Scopes = true
	case "", "as-given":
	default:
		return nil, fmt.Errorf("SCOPE_FORMAT %q: want v1 or as-given", f)
	}
	if v := getenv("JWKS_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 900*time.Millisecond {
			return nil, fmt.Errorf("JWKS_TIMEOUT %q: want a duration in (0, 900ms]", v)
		}
		s.JWKSTimeout = d
	}
	// Each provider reads its own variables; the others are ignored.
	names := map[string]string{"provider": "SMARTAUTH_PROVIDER", "algorithm": "ALGORITHMS"}
	switch provider {
	case "cognito":
		s.Region, s.UserPoolID = getenv("COGNITO_REGION"), getenv("COGNITO_USER_POOL_ID")
		s.ClientIDs = config.List(getenv("COGNITO_CLIENT_IDS"))
		s.ScopePrefixes = config.List(getenv("COGNITO_SCOPE_PREFIXES"))
		s.MultiRegion = getenv("COGNITO_MULTI_REGION") == "true"
		names["region"], names["user-pool-id"], names["client-id"] = "COGNITO_REGION", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_IDS"
		names["multi-region"] = "COGNITO_MULTI_REGION"
	case "keycloak":
		s.KeycloakURL, s.Realm, s.PathPrefix = getenv("KEYCLOAK_URL"), getenv("KEYCLOAK_REALM"), getenv("KEYCLOAK_PATH_PREFIX")
		s.Audiences = config.List(getenv("KEYCLOAK_AUDIENCES"))
		s.ClientIDs = config.List(getenv("KEYCLOAK_CLIENTS"))
		names["keycloak-url"], names["realm"], names["audience"], names["client-id"] = "KEYCLOAK_URL", "KEYCLOAK_REALM", "KEYCLOAK_AUDIENCES", "KEYCLOAK_CLIENTS"
		names["path-prefix"] = "KEYCLOAK_PATH_PREFIX"
	case "generic":
		s.Issuer, s.JWKSURL, s.JWKSFile = getenv("ISSUER"), getenv("JWKS_URL"), getenv("JWKS_FILE")
		s.Audiences = config.List(getenv("AUDIENCES"))
		s.ClientIDs = config.List(getenv("CLIENT_IDS"))
		names["issuer"], names["jwks-url"], names["jwks-file"], names["audience"], names["client-id"] = "ISSUER", "JWKS_URL", "JWKS_FILE", "AUDIENCES", "CLIENT_IDS"
	}
	s.Name = func(key string) string {
		if n, ok := names[key]; ok {
			return n
		}
		return key
	}
	return s, nil
}
