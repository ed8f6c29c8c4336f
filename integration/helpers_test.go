//go:build integration

// Package integration holds the tests that run against real servers started by
// scripts/integration.sh (Keycloak, cognito-local, the aws-jwt-verify oracle). Run them only through
// that script: it exports the SMARTAUTH_* variables below, and a missing variable fails the test.
package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Names of the variables exported by scripts/integration.sh.
const (
	envKCBase           = "SMARTAUTH_KC_BASE"           // http://127.0.0.1:PORT
	envKCRealm          = "SMARTAUTH_KC_REALM"          // fhir
	envKCIssuer         = "SMARTAUTH_KC_ISSUER"         // http://127.0.0.1:PORT/realms/fhir
	envKCAdminUser      = "SMARTAUTH_KC_ADMIN_USER"     // master-realm bootstrap admin
	envKCAdminPassword  = "SMARTAUTH_KC_ADMIN_PASSWORD" //
	envKCAudience       = "SMARTAUTH_KC_AUDIENCE"       // data store endpoint put into aud by the realm
	envKCSvcID          = "SMARTAUTH_KC_SVC_CLIENT_ID"  // svc: client_credentials
	envKCSvcSecret      = "SMARTAUTH_KC_SVC_CLIENT_SECRET"
	envKCNoAudID        = "SMARTAUTH_KC_NOAUD_CLIENT_ID" // svc-noaud: client_credentials, no data store aud, no fhirUser
	envKCNoAudSecret    = "SMARTAUTH_KC_NOAUD_CLIENT_SECRET"
	envKCAppID          = "SMARTAUTH_KC_APP_CLIENT_ID" // app: password grant (tests only)
	envKCAppSecret      = "SMARTAUTH_KC_APP_CLIENT_SECRET"
	envKCUser           = "SMARTAUTH_KC_USER" // alice
	envKCPassword       = "SMARTAUTH_KC_PASSWORD"
	envCognitoEndpoint  = "SMARTAUTH_COGNITO_ENDPOINT" // http://127.0.0.1:PORT
	envCognitoPoolID    = "SMARTAUTH_COGNITO_POOL_ID"  // local_xxxxxxxx
	envCognitoIssuer    = "SMARTAUTH_COGNITO_ISSUER"   // endpoint + "/" + pool id
	envCognitoClientID  = "SMARTAUTH_COGNITO_CLIENT_ID"
	envCognitoUser      = "SMARTAUTH_COGNITO_USER"
	envCognitoPassword  = "SMARTAUTH_COGNITO_PASSWORD"
	envCognitoGroup     = "SMARTAUTH_COGNITO_GROUP"
	envNodePrefix       = "SMARTAUTH_NODE_PREFIX" // npm prefix holding node_modules/aws-jwt-verify
	envOracle           = "SMARTAUTH_ORACLE"      // scripts/differential/oracle.mjs
	cognitoTargetPrefix = "AWSCognitoIdentityProviderService."
)

var httpClient = &http.Client{Timeout: 20 * time.Second}

// mustEnv returns the variable or fails the test: these tests never skip silently.
func mustEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("environment variable %s is not set: run the integration tests through scripts/integration.sh", name)
	}
	return v
}

// tokenResponse is an OAuth 2.0 token endpoint answer (success or error).
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// jwk is the part of a JSON Web Key the tests look at; jwkSet is a JWKS document.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

func keycloakIssuer(t testing.TB) string { return mustEnv(t, envKCIssuer) }

func keycloakTokenEndpoint(t testing.TB) string {
	return keycloakIssuer(t) + "/protocol/openid-connect/token"
}

func keycloakJWKSURL(t testing.TB) string {
	return keycloakIssuer(t) + "/protocol/openid-connect/certs"
}

// postForm posts form to u and returns the status and body.
func postForm(t testing.TB, u string, form url.Values) (int, []byte) {
	t.Helper()
	resp, err := httpClient.PostForm(u, form)
	require.NoError(t, err, "POST %s", u)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// keycloakTokenRaw posts form to the realm's token endpoint and returns the status and the decoded
// answer without judging it (for negative tests such as invalid_scope).
func keycloakTokenRaw(t testing.TB, form url.Values) (int, tokenResponse) {
	t.Helper()
	status, body := postForm(t, keycloakTokenEndpoint(t), form)
	var tr tokenResponse
	require.NoError(t, json.Unmarshal(body, &tr), "token endpoint answer: %s", body)
	return status, tr
}

// keycloakToken posts form (grant_type, client_id, client_secret, ...) to the realm's token
// endpoint and requires a 200 with an access token.
func keycloakToken(t testing.TB, form url.Values) tokenResponse {
	t.Helper()
	status, tr := keycloakTokenRaw(t, form)
	require.Equal(t, http.StatusOK, status, "token endpoint: %s: %s", tr.Error, tr.ErrorDescription)
	require.NotEmpty(t, tr.AccessToken, "no access_token")
	return tr
}

// keycloakServiceToken gets a client_credentials token for the svc client with scope.
func keycloakServiceToken(t testing.TB, scope string) tokenResponse {
	t.Helper()
	return keycloakClientToken(t, mustEnv(t, envKCSvcID), mustEnv(t, envKCSvcSecret), scope)
}

// keycloakNoAudServiceToken gets a client_credentials token for svc-noaud (no data store aud).
func keycloakNoAudServiceToken(t testing.TB, scope string) tokenResponse {
	t.Helper()
	return keycloakClientToken(t, mustEnv(t, envKCNoAudID), mustEnv(t, envKCNoAudSecret), scope)
}

// keycloakClientToken gets a client_credentials token for a confidential client.
func keycloakClientToken(t testing.TB, clientID, secret, scope string) tokenResponse {
	t.Helper()
	return keycloakToken(t, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {scope},
	})
}

// keycloakUserToken gets a password-grant token for the test user (alice) through the app client.
func keycloakUserToken(t testing.TB, scope string) tokenResponse {
	t.Helper()
	return keycloakPasswordToken(t, mustEnv(t, envKCUser), mustEnv(t, envKCPassword), scope)
}

// keycloakAdminToken returns an access token of the master-realm admin (admin-cli, password grant)
// for the admin REST API.
func keycloakAdminToken(t testing.TB) string {
	t.Helper()
	status, body := postForm(t, mustEnv(t, envKCBase)+"/realms/master/protocol/openid-connect/token", url.Values{
		"grant_type": {"password"},
		"client_id":  {"admin-cli"},
		"username":   {mustEnv(t, envKCAdminUser)},
		"password":   {mustEnv(t, envKCAdminPassword)},
	})
	require.Equal(t, http.StatusOK, status, "admin token: %s", body)
	var tr tokenResponse
	require.NoError(t, json.Unmarshal(body, &tr))
	require.NotEmpty(t, tr.AccessToken)
	return tr.AccessToken
}

// keycloakAdmin calls the admin REST API of the test realm: path is relative to
// /admin/realms/<realm> ("" for the realm itself, "/keys", "/components?type=..."). body, when not
// nil, is sent as JSON. It returns the response (body already read) and the body.
func keycloakAdmin(t testing.TB, adminToken, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	u := mustEnv(t, envKCBase) + "/admin/realms/" + mustEnv(t, envKCRealm) + path
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err, "%s %s", method, u)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

// getJSON GETs u, requires a 200 and decodes the body into out; it returns the raw body.
func getJSON(t testing.TB, u string, out any) []byte {
	t.Helper()
	resp, err := httpClient.Get(u)
	require.NoError(t, err, "GET %s", u)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", u, body)
	require.NoError(t, json.Unmarshal(body, out), "GET %s: %s", u, body)
	return body
}

// fetchJWKS returns the JWKS at u, decoded and raw.
func fetchJWKS(t testing.TB, u string) (jwkSet, json.RawMessage) {
	t.Helper()
	var set jwkSet
	raw := getJSON(t, u, &set)
	return set, raw
}

// cognitoCall makes one call of cognito-local's JSON API (X-Amz-Target
// AWSCognitoIdentityProviderService.<target>) and decodes a 200 answer into out (may be nil).
func cognitoCall(t testing.TB, target string, in, out any) {
	t.Helper()
	status, body := cognitoCallRaw(t, target, in)
	require.Equal(t, http.StatusOK, status, "cognito-local %s: %s", target, body)
	if out != nil {
		require.NoError(t, json.Unmarshal(body, out), "cognito-local %s: %s", target, body)
	}
}

// cognitoCallRaw is cognitoCall without judging the answer.
func cognitoCallRaw(t testing.TB, target string, in any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(in)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, mustEnv(t, envCognitoEndpoint)+"/", bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", cognitoTargetPrefix+target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := httpClient.Do(req)
	require.NoError(t, err, "cognito-local %s", target)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// cognitoTokens is InitiateAuth's AuthenticationResult.
type cognitoTokens struct {
	AccessToken  string `json:"AccessToken"`
	IDToken      string `json:"IdToken"`
	RefreshToken string `json:"RefreshToken"`
}

// cognitoLogin signs the test user in to cognito-local (InitiateAuth, USER_PASSWORD_AUTH).
func cognitoLogin(t testing.TB) cognitoTokens {
	t.Helper()
	var out struct {
		AuthenticationResult cognitoTokens `json:"AuthenticationResult"`
	}
	cognitoCall(t, "InitiateAuth", map[string]any{
		"ClientId": mustEnv(t, envCognitoClientID),
		"AuthFlow": "USER_PASSWORD_AUTH",
		"AuthParameters": map[string]string{
			"USERNAME": mustEnv(t, envCognitoUser),
			"PASSWORD": mustEnv(t, envCognitoPassword),
		},
	}, &out)
	require.NotEmpty(t, out.AuthenticationResult.AccessToken, "InitiateAuth returned no access token")
	return out.AuthenticationResult
}

// cognitoJWKSURL is where cognito-local serves the pool's JWKS.
func cognitoJWKSURL(t testing.TB) string {
	return mustEnv(t, envCognitoEndpoint) + "/" + mustEnv(t, envCognitoPoolID) + "/.well-known/jwks.json"
}

// decodeJWT splits a compact JWS and decodes header and payload WITHOUT verifying anything (tests
// only: it looks at what real servers issue).
func decodeJWT(t testing.TB, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "not a compact JWS")
	return decodeSegment(t, parts[0]), decodeSegment(t, parts[1])
}

func decodeSegment(t testing.TB, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err, "segment is not unpadded base64url")
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "segment is not a JSON object: %s", b)
	return m
}

// audiences returns aud as a list whatever its JSON form (absent, string or array).
func audiences(t testing.TB, payload map[string]any) []string {
	t.Helper()
	switch v := payload["aud"].(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			s, ok := a.(string)
			require.True(t, ok, "aud element %v is not a string", a)
			out = append(out, s)
		}
		return out
	default:
		t.Fatalf("aud has unexpected type %T", v)
		return nil
	}
}

// scopes splits the space-separated scope claim.
func scopes(payload map[string]any) []string {
	s, _ := payload["scope"].(string)
	return strings.Fields(s)
}

// --- Keycloak key management (admin REST API) -----------------------------------------------------
//
// Rotation, as the admin console does it:
//   GET    /admin/realms/{realm}                                   → "id" (parentId of key components)
//   GET    /admin/realms/{realm}/components?type=org.keycloak.keys.KeyProvider
//   POST   /admin/realms/{realm}/components  {"name","providerId":"rsa-generated",
//          "providerType":"org.keycloak.keys.KeyProvider","parentId":<realm id>,
//          "config":{"priority":["200"],"enabled":["true"],"active":["true"],"algorithm":["RS256"],"keySize":["2048"]}}
//          → 201, Location: …/components/{id}; the highest-priority active key signs from then on
//   PUT    /admin/realms/{realm}/components/{id}  (the GET representation with config.active=["false"]:
//          passive = still published in the JWKS, no longer signing; config.enabled=["false"]: gone
//          from the JWKS) → 204
//   DELETE /admin/realms/{realm}/components/{id} → 204
//   GET    /admin/realms/{realm}/keys → {"active":{"RS256":kid,…},"keys":[{kid,algorithm,status,providerId,…}]}

const keyProviderType = "org.keycloak.keys.KeyProvider"

// keyComponent is a key provider component of the realm.
type keyComponent struct {
	ID           string              `json:"id,omitempty"`
	Name         string              `json:"name"`
	ProviderID   string              `json:"providerId"`
	ProviderType string              `json:"providerType"`
	ParentID     string              `json:"parentId"`
	Config       map[string][]string `json:"config"`
}

// realmKeys is GET /admin/realms/{realm}/keys.
type realmKeys struct {
	Active map[string]string `json:"active"`
	Keys   []struct {
		Kid              string `json:"kid"`
		Algorithm        string `json:"algorithm"`
		Status           string `json:"status"`     // ACTIVE, PASSIVE, DISABLED
		Use              string `json:"use"`        // SIG, ENC
		ProviderID       string `json:"providerId"` // the component id
		ProviderPriority int    `json:"providerPriority"`
	} `json:"keys"`
}

func keycloakRealmID(t testing.TB, adminToken string) string {
	t.Helper()
	resp, body := keycloakAdmin(t, adminToken, http.MethodGet, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var r struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &r))
	require.NotEmpty(t, r.ID)
	return r.ID
}

func keycloakRealmKeys(t testing.TB, adminToken string) realmKeys {
	t.Helper()
	resp, body := keycloakAdmin(t, adminToken, http.MethodGet, "/keys", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var k realmKeys
	require.NoError(t, json.Unmarshal(body, &k))
	return k
}

func keycloakKeyComponent(t testing.TB, adminToken, id string) keyComponent {
	t.Helper()
	resp, body := keycloakAdmin(t, adminToken, http.MethodGet, "/components/"+id, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var c keyComponent
	require.NoError(t, json.Unmarshal(body, &c))
	return c
}

// keycloakAddRSAKey adds an rsa-generated RS256 key provider with priority and returns its
// component id. With a priority above every other active RS256 key, it signs the next tokens.
func keycloakAddRSAKey(t testing.TB, adminToken, name string, priority int) string {
	t.Helper()
	resp, body := keycloakAdmin(t, adminToken, http.MethodPost, "/components", keyComponent{
		Name:         name,
		ProviderID:   "rsa-generated",
		ProviderType: keyProviderType,
		ParentID:     keycloakRealmID(t, adminToken),
		Config: map[string][]string{
			"priority":  {strconv.Itoa(priority)},
			"enabled":   {"true"},
			"active":    {"true"},
			"algorithm": {"RS256"},
			"keySize":   {"2048"},
		},
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	loc := resp.Header.Get("Location")
	require.NotEmpty(t, loc)
	return loc[strings.LastIndex(loc, "/")+1:]
}

// keycloakSetKeyFlags sets config.active / config.enabled of a key component (PUT of the full
// representation; the admin API omits the private key from GET and keeps it on PUT).
func keycloakSetKeyFlags(t testing.TB, adminToken, id string, active, enabled bool) {
	t.Helper()
	c := keycloakKeyComponent(t, adminToken, id)
	if c.Config == nil {
		c.Config = map[string][]string{}
	}
	c.Config["active"] = []string{strconv.FormatBool(active)}
	c.Config["enabled"] = []string{strconv.FormatBool(enabled)}
	resp, body := keycloakAdmin(t, adminToken, http.MethodPut, "/components/"+id, c)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", body)
}

func keycloakDeleteComponent(t testing.TB, adminToken, id string) {
	t.Helper()
	resp, body := keycloakAdmin(t, adminToken, http.MethodDelete, "/components/"+id, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", body)
}

// jwksKids lists the kids of the realm JWKS (what a validator sees).
func jwksKids(t testing.TB) []string {
	t.Helper()
	set, _ := fetchJWKS(t, keycloakJWKSURL(t))
	kids := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}
