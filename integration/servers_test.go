//go:build integration

package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These smoke tests use no library code: they prove that scripts/integration.sh wired real servers
// and that the tokens they issue have the shape the validator relies on.

func TestKeycloakDiscoveryAndJWKS(t *testing.T) {
	iss := keycloakIssuer(t)
	var disc struct {
		Issuer                string   `json:"issuer"`
		JWKSURI               string   `json:"jwks_uri"`
		TokenEndpoint         string   `json:"token_endpoint"`
		IntrospectionEndpoint string   `json:"introspection_endpoint"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	}
	getJSON(t, iss+"/.well-known/openid-configuration", &disc)
	assert.Equal(t, iss, disc.Issuer)
	assert.Equal(t, keycloakJWKSURL(t), disc.JWKSURI)
	assert.Equal(t, keycloakTokenEndpoint(t), disc.TokenEndpoint)
	assert.Equal(t, iss+"/protocol/openid-connect/token/introspect", disc.IntrospectionEndpoint)
	assert.Contains(t, disc.SigningAlgs, "RS256")

	set, _ := fetchJWKS(t, disc.JWKSURI)
	var sig, enc int
	for _, k := range set.Keys {
		switch {
		case k.Kty == "RSA" && k.Use == "sig" && k.Alg == "RS256":
			sig++
			assert.NotEmpty(t, k.Kid)
			assert.NotEmpty(t, k.N)
			assert.Equal(t, "AQAB", k.E)
		case k.Kty == "RSA" && k.Use == "enc" && k.Alg == "RSA-OAEP":
			enc++
		}
	}
	assert.Equal(t, 1, sig, "exactly one RS256 signing key in a fresh realm: %+v", set.Keys)
	assert.Equal(t, 1, enc, "Keycloak also publishes an RSA-OAEP enc key the validator must skip: %+v", set.Keys)
}

func TestKeycloakClientCredentialsTokenShape(t *testing.T) {
	tr := keycloakServiceToken(t, "system/*.rs")
	assert.Equal(t, "Bearer", tr.TokenType)
	assert.Empty(t, tr.IDToken, "client_credentials issues no ID token")
	assert.Empty(t, tr.RefreshToken, "client_credentials issues no refresh token by default")

	h, p := decodeJWT(t, tr.AccessToken)
	assertKeycloakAccessToken(t, h, p)
	assert.Equal(t, mustEnv(t, envKCSvcID), p["azp"])
	assert.Equal(t, mustEnv(t, envKCSvcID), p["client_id"], "service_account scope adds client_id")
	assert.Contains(t, scopes(p), "system/*.rs")
	// The svc client's hard-coded mapper; service accounts carry no patient.
	assert.Equal(t, "Practitioner/123", p["fhirUser"])
	assert.NotContains(t, p, "patient")
}

func TestKeycloakPasswordGrantTokenShape(t *testing.T) {
	tr := keycloakUserToken(t, "openid patient/*.rs launch/patient fhirUser")
	require.NotEmpty(t, tr.IDToken, "scope openid must give an ID token")
	require.NotEmpty(t, tr.RefreshToken)

	h, p := decodeJWT(t, tr.AccessToken)
	assertKeycloakAccessToken(t, h, p)
	assert.Equal(t, mustEnv(t, envKCAppID), p["azp"])
	assert.Subset(t, scopes(p), []string{"openid", "patient/*.rs", "launch/patient", "fhirUser"})
	// User-attribute mappers (declared in the realm user profile) put these into the ACCESS token.
	assert.Equal(t, "Practitioner/123", p["fhirUser"])
	assert.Equal(t, "456", p["patient"])
	assert.Equal(t, mustEnv(t, envKCUser), p["preferred_username"])
	assert.NotEmpty(t, p["sid"])
	// The app client adds "account" too, so its aud is a JSON array (svc's is a single string).
	assert.IsType(t, []any{}, p["aud"])

	ih, ip := decodeJWT(t, tr.IDToken)
	assert.Equal(t, "RS256", ih["alg"])
	assert.Equal(t, "ID", ip["typ"])
	assert.Equal(t, mustEnv(t, envKCAppID), ip["aud"])
	assert.Equal(t, p["sub"], ip["sub"])

	rh, rp := decodeJWT(t, tr.RefreshToken)
	assert.Equal(t, "Refresh", rp["typ"])
	assert.Equal(t, "HS512", rh["alg"], "Keycloak signs refresh tokens with the realm HMAC key (not in the JWKS)")
}

func TestKeycloakNoAudienceClient(t *testing.T) {
	tr := keycloakNoAudServiceToken(t, "system/*.read")
	h, p := decodeJWT(t, tr.AccessToken)
	assert.Equal(t, "JWT", h["typ"])
	assert.Equal(t, "Bearer", p["typ"])
	assert.NotContains(t, p, "aud", "svc-noaud has no audience mapper")
	assert.NotContains(t, p, "fhirUser")
	assert.Equal(t, []string{"system/*.read"}, scopes(p))
}

func TestKeycloakUnknownScopeRefused(t *testing.T) {
	status, tr := keycloakTokenRaw(t, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {mustEnv(t, envKCSvcID)},
		"client_secret": {mustEnv(t, envKCSvcSecret)},
		"scope":         {"system/*.write"},
	})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_scope", tr.Error)
}

func TestKeycloakAdminAPI(t *testing.T) {
	at := keycloakAdminToken(t)
	resp, body := keycloakAdmin(t, at, http.MethodGet, "/keys", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var keys struct {
		Active map[string]string `json:"active"`
		Keys   []struct {
			Kid        string `json:"kid"`
			Algorithm  string `json:"algorithm"`
			Status     string `json:"status"`
			ProviderID string `json:"providerId"`
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &keys))
	assert.NotEmpty(t, keys.Active["RS256"], "active RS256 key: %s", body)

	// The key that signs tokens right now is the active RS256 key.
	h, _ := decodeJWT(t, keycloakServiceToken(t, "system/*.rs").AccessToken)
	assert.Equal(t, keys.Active["RS256"], h["kid"])
}

// TestKeycloakKeyRotationAdminAPI proves the admin REST calls a key-rotation test needs (see the
// comment above keyComponent in helpers_test.go) and puts the realm back as it found it.
func TestKeycloakKeyRotationAdminAPI(t *testing.T) {
	at := keycloakAdminToken(t)
	before := keycloakRealmKeys(t, at)
	k0 := before.Active["RS256"]
	require.NotEmpty(t, k0)
	var c0 string
	for _, k := range before.Keys {
		if k.Kid == k0 {
			c0 = k.ProviderID // the component id of the key's provider
		}
	}
	require.NotEmpty(t, c0)

	// 1. A new rsa-generated provider with a higher priority takes over signing at once.
	c1 := keycloakAddRSAKey(t, at, "rsa-rotated", 200)
	cleaned := false
	restore := func() {
		if cleaned {
			return
		}
		cleaned = true
		keycloakDeleteComponent(t, at, c1)
		keycloakSetKeyFlags(t, at, c0, true, true)
	}
	t.Cleanup(restore)
	k1 := keycloakRealmKeys(t, at).Active["RS256"]
	require.NotEqual(t, k0, k1)
	h, _ := decodeJWT(t, keycloakServiceToken(t, "system/*.rs").AccessToken)
	assert.Equal(t, k1, h["kid"])
	assert.Subset(t, jwksKids(t), []string{k0, k1}, "old and new key both published")

	// 2. Passive: no longer signs, still published (tokens it signed keep verifying).
	keycloakSetKeyFlags(t, at, c0, false, true)
	assert.Contains(t, jwksKids(t), k0, "passive keys stay in the JWKS")
	for _, k := range keycloakRealmKeys(t, at).Keys {
		if k.Kid == k0 {
			assert.Equal(t, "PASSIVE", k.Status)
		}
	}

	// 3. Disabled: gone from the JWKS.
	keycloakSetKeyFlags(t, at, c0, false, false)
	assert.NotContains(t, jwksKids(t), k0, "disabled keys leave the JWKS")
	assert.Contains(t, jwksKids(t), k1)

	// 4. Delete the new provider and re-enable the old one: back to the start.
	restore()
	assert.NotContains(t, jwksKids(t), k1, "deleted keys leave the JWKS")
	assert.Contains(t, jwksKids(t), k0)
	h, _ = decodeJWT(t, keycloakServiceToken(t, "system/*.rs").AccessToken)
	assert.Equal(t, k0, h["kid"])
}

func assertKeycloakAccessToken(t *testing.T, h, p map[string]any) {
	t.Helper()
	assert.Equal(t, "RS256", h["alg"])
	assert.Equal(t, "JWT", h["typ"], "Keycloak header typ is JWT, not at+jwt")
	require.IsType(t, "", h["kid"])

	set, _ := fetchJWKS(t, keycloakJWKSURL(t))
	found := false
	for _, k := range set.Keys {
		if k.Kid == h["kid"] {
			found = true
			assert.Equal(t, "sig", k.Use)
		}
	}
	assert.True(t, found, "kid %v not in the JWKS", h["kid"])

	assert.Equal(t, "Bearer", p["typ"])
	assert.Equal(t, keycloakIssuer(t), p["iss"])
	assert.Contains(t, audiences(t, p), mustEnv(t, envKCAudience))
	assert.NotEmpty(t, p["sub"], "sub comes from the realm's basic client scope")
	assert.NotEmpty(t, p["jti"])
	exp, ok1 := p["exp"].(float64)
	iat, ok2 := p["iat"].(float64)
	require.True(t, ok1 && ok2, "exp and iat must be numbers")
	assert.InDelta(t, 300, exp-iat, 1, "realm access token lifespan is 300 s")
	assert.InDelta(t, float64(time.Now().Unix()), iat, 120, "iat is now")
	assert.NotContains(t, p, "nbf")
}

func TestCognitoLocalJWKSAndLogin(t *testing.T) {
	set, _ := fetchJWKS(t, cognitoJWKSURL(t))
	require.Len(t, set.Keys, 1)
	k := set.Keys[0]
	assert.Equal(t, "RSA", k.Kty)
	assert.Equal(t, "RS256", k.Alg)
	assert.Equal(t, "sig", k.Use)

	tok := cognitoLogin(t)
	require.NotEmpty(t, tok.IDToken)
	require.NotEmpty(t, tok.RefreshToken)

	h, p := decodeJWT(t, tok.AccessToken)
	assert.Equal(t, "RS256", h["alg"])
	assert.Equal(t, k.Kid, h["kid"])
	assert.Equal(t, "access", p["token_use"])
	assert.Equal(t, mustEnv(t, envCognitoClientID), p["client_id"])
	assert.Equal(t, mustEnv(t, envCognitoIssuer), p["iss"])
	assert.Equal(t, mustEnv(t, envCognitoEndpoint)+"/"+mustEnv(t, envCognitoPoolID), p["iss"])
	assert.Equal(t, []any{mustEnv(t, envCognitoGroup)}, p["cognito:groups"])
	assert.NotContains(t, p, "aud", "Cognito access tokens have no aud")
	assert.NotEmpty(t, p["sub"])
	assert.Equal(t, "aws.cognito.signin.user.admin", p["scope"], "cognito-local's fixed access-token scope")

	_, ip := decodeJWT(t, tok.IDToken)
	assert.Equal(t, "id", ip["token_use"])
	assert.Equal(t, mustEnv(t, envCognitoClientID), ip["aud"])
	assert.Equal(t, mustEnv(t, envCognitoUser), ip["email"])
}

func TestCognitoLocalWrongPassword(t *testing.T) {
	status, body := cognitoCallRaw(t, "InitiateAuth", map[string]any{
		"ClientId":       mustEnv(t, envCognitoClientID),
		"AuthFlow":       "USER_PASSWORD_AUTH",
		"AuthParameters": map[string]string{"USERNAME": mustEnv(t, envCognitoUser), "PASSWORD": "wrong-Passw0rd!"},
	})
	assert.Equal(t, http.StatusBadRequest, status, "%s", body)
	assert.NotContains(t, string(body), "AuthenticationResult")
	// Real Cognito answers NotAuthorizedException; cognito-local 5.3.0 says InvalidPasswordException.
	assert.Contains(t, string(body), "InvalidPasswordException")
}

// oracleCase and oracleResult are the input and output of scripts/differential/oracle.mjs.
type oracleCase struct {
	Name     string          `json:"name"`
	Token    string          `json:"token"`
	Issuer   string          `json:"issuer"`
	JWKS     json.RawMessage `json:"jwks"`
	Kind     string          `json:"kind"`
	Audience []string        `json:"audience,omitempty"`
	ClientID []string        `json:"clientId,omitempty"`
}

type oracleResult struct {
	Name     string `json:"name"`
	Decision string `json:"decision"`
	Error    string `json:"error"`
	Message  string `json:"message"`
}

// runOracle writes cases to a file, runs the aws-jwt-verify oracle under node and returns its
// decisions by case name.
func runOracle(t *testing.T, cases []oracleCase) map[string]oracleResult {
	t.Helper()
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is required for the oracle")
	in := filepath.Join(t.TempDir(), "cases.json")
	b, err := json.Marshal(cases)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, b, 0o600))
	cmd := exec.Command(node, mustEnv(t, envOracle), in, mustEnv(t, envNodePrefix))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "oracle failed: %s", stderr.String())
	res := map[string]oracleResult{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r oracleResult
		require.NoError(t, json.Unmarshal([]byte(line), &r), "oracle line %q", line)
		res[r.Name] = r
	}
	require.Len(t, res, len(cases), "one line per case: %s", out)
	return res
}

func TestOracleSmoke(t *testing.T) {
	kcIss := keycloakIssuer(t)
	_, kcJWKS := fetchJWKS(t, keycloakJWKSURL(t))
	aud := mustEnv(t, envKCAudience)
	svc := keycloakServiceToken(t, "system/*.rs")
	user := keycloakUserToken(t, "openid patient/*.rs launch/patient fhirUser")
	noaud := keycloakNoAudServiceToken(t, "system/*.read")

	cgIss := mustEnv(t, envCognitoIssuer)
	_, cgJWKS := fetchJWKS(t, cognitoJWKSURL(t))
	cg := cognitoLogin(t)
	cid := mustEnv(t, envCognitoClientID)

	parts := strings.Split(svc.AccessToken, ".")
	// Change one character in the middle of the signature (all 6 bits significant there).
	sig := []byte(parts[2])
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	tampered := parts[0] + "." + parts[1] + "." + string(sig)

	kc := func(name, tok string, audience ...string) oracleCase {
		return oracleCase{Name: name, Token: tok, Issuer: kcIss, JWKS: kcJWKS, Kind: "keycloak", Audience: audience}
	}
	cog := func(name, tok string, clientID ...string) oracleCase {
		return oracleCase{Name: name, Token: tok, Issuer: cgIss, JWKS: cgJWKS, Kind: "cognito", ClientID: clientID}
	}
	want := map[string]string{
		"kc-svc":                  "accept",
		"kc-user":                 "accept",
		"kc-user-id-token":        "reject",
		"kc-user-refresh-token":   "reject",
		"kc-noaud-with-audience":  "reject",
		"kc-noaud-no-aud-check":   "accept",
		"kc-tampered":             "reject",
		"kc-wrong-issuer":         "reject",
		"cognito-access":          "accept",
		"cognito-access-any":      "accept",
		"cognito-id-token":        "reject",
		"cognito-wrong-client-id": "reject",
	}
	wrongIss := kc("kc-wrong-issuer", svc.AccessToken, aud)
	wrongIss.Issuer = kcIss + "-other"
	res := runOracle(t, []oracleCase{
		kc("kc-svc", svc.AccessToken, aud),
		kc("kc-user", user.AccessToken, aud),
		kc("kc-user-id-token", user.IDToken),
		kc("kc-user-refresh-token", user.RefreshToken),
		kc("kc-noaud-with-audience", noaud.AccessToken, aud),
		kc("kc-noaud-no-aud-check", noaud.AccessToken),
		kc("kc-tampered", tampered, aud),
		wrongIss,
		cog("cognito-access", cg.AccessToken, cid),
		cog("cognito-access-any", cg.AccessToken),
		cog("cognito-id-token", cg.IDToken, cid),
		cog("cognito-wrong-client-id", cg.AccessToken, "someotherclient"),
	})
	for name, decision := range want {
		assert.Equal(t, decision, res[name].Decision, "%s: %+v", name, res[name])
	}
}

// TestLogTokenShapes only logs (go test -v) the header and the sorted claim names of every kind of
// token the servers issue, as a reference for what the validator meets.
func TestLogTokenShapes(t *testing.T) {
	show := func(name, tok string) {
		h, p := decodeJWT(t, tok)
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Logf("%s: header %v; claims %v; typ=%v token_use=%v aud=%v scope=%q", name, h, keys, p["typ"], p["token_use"], p["aud"], p["scope"])
	}
	svc := keycloakServiceToken(t, "system/*.rs")
	show("keycloak svc access", svc.AccessToken)
	user := keycloakUserToken(t, "openid patient/*.rs launch/patient fhirUser")
	show("keycloak alice access", user.AccessToken)
	show("keycloak alice id", user.IDToken)
	show("keycloak alice refresh", user.RefreshToken)
	show("keycloak svc-noaud access", keycloakNoAudServiceToken(t, "system/*.read").AccessToken)
	cg := cognitoLogin(t)
	show("cognito-local access", cg.AccessToken)
	show("cognito-local id", cg.IDToken)
	show("cognito-local refresh", cg.RefreshToken)
}
