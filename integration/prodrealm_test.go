//go:build integration

package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// The production realm (deploy/keycloak/realm/smart-realm.json), imported by scripts/integration.sh
// into the same Keycloak as the test realm, through the image's entrypoint, with its placeholders
// set for the test: SMART_AUDIENCE = SMARTAUTH_KC_AUDIENCE, SMART_APP_REDIRECT_URI on 127.0.0.1 and
// a generated SMART_BACKEND_CLIENT_SECRET. The realm ships with no users: the tests create them
// through the admin REST API.
const (
	envKCSmartRealm         = "SMARTAUTH_KC_SMART_REALM"             // smart
	envKCSmartAppID         = "SMARTAUTH_KC_SMART_APP_CLIENT_ID"     // smart-app: public, code + PKCE S256
	envKCSmartRedirectURI   = "SMARTAUTH_KC_SMART_REDIRECT_URI"      // smart-app's only redirect URI
	envKCSmartBackendID     = "SMARTAUTH_KC_SMART_BACKEND_CLIENT_ID" // smart-backend: client_credentials
	envKCSmartBackendSecret = "SMARTAUTH_KC_SMART_BACKEND_CLIENT_SECRET"
)

func smartIssuer(t testing.TB) string {
	return mustEnv(t, envKCBase) + "/realms/" + mustEnv(t, envKCSmartRealm)
}

func smartTokenEndpoint(t testing.TB) string {
	return smartIssuer(t) + "/protocol/openid-connect/token"
}

// newSmartRealmValidator is the validator a deployment of deploy/keycloak/ runs: keycloak.New on
// the realm, requests only from the realm's two SMART clients. With stackAudience it is configured
// as the CloudFormation stack does it: SMART_AUDIENCE accepted as a fixed audience
// (KEYCLOAK_AUDIENCES) and the data store pinned separately (DATASTORE_ENDPOINTS).
// smartPractitionerID is the realm's public client for user/ scopes (same redirect URI as
// smart-app); deploy/cloudformation/keycloak.yaml turns fine-grained authorization on for it.
const smartPractitionerID = "smart-practitioner"

func newSmartRealmValidator(t *testing.T, stackAudience bool) itValidator {
	t.Helper()
	client, _ := newCountingClient()
	var audiences, endpoints []string
	if stackAudience {
		audiences, endpoints = []string{mustEnv(t, envKCAudience)}, []string{mustEnv(t, envKCAudience)}
	}
	ic, err := keycloak.New(keycloak.Config{
		Audiences:      audiences,
		BaseURL:        mustEnv(t, envKCBase),
		Realm:          mustEnv(t, envKCSmartRealm),
		AllowedClients: []string{mustEnv(t, envKCSmartAppID), mustEnv(t, envKCSmartBackendID), smartPractitionerID},
		KeySetOptions: smartauth.RemoteOptions{
			InsecureHTTP:   true, // test-only: the local Keycloak is http://
			HTTPClient:     client,
			RequestTimeout: jwksTimeout,
		},
	})
	require.NoError(t, err)
	require.Equal(t, smartIssuer(t), ic.Issuer)
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers:                  []smartauth.IssuerConfig{ic},
		Endpoints:                endpoints,
		InsecureAllowHTTPIssuers: true, // test-only
	})
	require.NoError(t, err)
	iv := withResponse(t, v, healthlake.ScopesAsGiven)
	hydrate(t, iv)
	return iv
}

// smartTokenRaw posts form to the smart realm's token endpoint without judging the answer.
func smartTokenRaw(t testing.TB, form url.Values) (int, tokenResponse) {
	t.Helper()
	status, body := postForm(t, smartTokenEndpoint(t), form)
	var tr tokenResponse
	require.NoError(t, json.Unmarshal(body, &tr), "token endpoint answer: %s", body)
	return status, tr
}

// authPayload decodes the Lambda response's authPayload.
func authPayload(t testing.TB, out string) map[string]any {
	t.Helper()
	var resp struct {
		AuthPayload map[string]any `json:"authPayload"`
		IAMRoleARN  string         `json:"iamRoleARN"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &resp), "%s", out)
	return resp.AuthPayload
}

func TestProdRealmBackendClientCredentials(t *testing.T) {
	v := newSmartRealmValidator(t, false)
	endpoint := mustEnv(t, envKCAudience)
	id, secret := mustEnv(t, envKCSmartBackendID), mustEnv(t, envKCSmartBackendSecret)

	status, tr := smartTokenRaw(t, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"scope": {"system/*.rs system/*.read"},
	})
	require.Equal(t, http.StatusOK, status, "%s: %s", tr.Error, tr.ErrorDescription)
	require.NotEmpty(t, tr.AccessToken)
	// expires_in is exp minus Keycloak's clock at response time, so it can read
	// 299 when a second boundary passes between issuing and answering; exp-iat is exact.
	assert.InDelta(t, 300, tr.ExpiresIn, 1, "short access tokens")
	assert.Empty(t, tr.RefreshToken, "no refresh token for client credentials")
	_, claims := decodeJWT(t, tr.AccessToken)
	assert.Equal(t, float64(300), claims["exp"].(float64)-claims["iat"].(float64), "access token lifespan")
	assert.Equal(t, []string{endpoint}, audiences(t, claims), "aud is SMART_AUDIENCE only")
	assert.Equal(t, id, claims["azp"])
	assert.ElementsMatch(t, []string{"system/*.rs", "system/*.read"}, scopes(claims))
	assert.NotContains(t, claims, "fhirUser")
	assert.NotContains(t, claims, "realm_access", "fullScopeAllowed is off: no roles in tokens")

	res := invokeLambda(t, v, endpoint, tr.AccessToken)
	assert.Equal(t, "ok", res.reason, res.out)
	p := authPayload(t, res.out)
	assert.Equal(t, true, p["isAuthorized"])
	assert.Equal(t, endpoint, p["aud"])
	assert.ElementsMatch(t, []string{"system/*.rs", "system/*.read"}, strings.Fields(p["scope"].(string)))
	assert.Contains(t, res.out, itRoleARN)

	// The same token at another data store is denied (the audience is this store's).
	res = invokeLambda(t, v, otherEndpoint, tr.AccessToken)
	assert.JSONEq(t, denyJSON, res.out)
	assert.Equal(t, "aud", res.reason)

	// The stack's configuration: fixed audience, data store pinned by Endpoints.
	stack := newSmartRealmValidator(t, true)
	res = invokeLambda(t, stack, endpoint, tr.AccessToken)
	assert.Equal(t, "ok", res.reason, res.out)
	res = invokeLambda(t, stack, otherEndpoint, tr.AccessToken)
	assert.JSONEq(t, denyJSON, res.out)
	assert.NotEqual(t, "ok", res.reason)

	// The backend client has only system/ scopes, and a wrong secret gets nothing.
	status, tr = smartTokenRaw(t, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"scope": {"patient/*.rs"},
	})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_scope", tr.Error)
	assert.Empty(t, tr.AccessToken)
	status, tr = smartTokenRaw(t, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"${SMART_BACKEND_CLIENT_SECRET}"},
	})
	assert.Equal(t, http.StatusUnauthorized, status, "the placeholder text is not the secret")
	assert.Empty(t, tr.AccessToken)
}

// smartUser is a user created in the smart realm through the admin REST API.
type smartUser struct {
	id, username, password, patient, fhirUser string
}

// smartAdmin calls the admin REST API of the smart realm (path relative to /admin/realms/smart).
func smartAdmin(t testing.TB, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, mustEnv(t, envKCBase)+"/admin/realms/"+mustEnv(t, envKCSmartRealm)+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+keycloakAdminToken(t))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// createSmartUser creates an enabled user with fhirUser/patient attributes and a password that
// meets the realm's policy; requiredActions are set as given. It is deleted when the test ends.
func createSmartUser(t *testing.T, requiredActions ...string) smartUser {
	t.Helper()
	u := smartUser{
		username: "it-" + randomHex(t, 4),
		password: "It-pw-" + randomHex(t, 12),
		patient:  "p" + randomHex(t, 4),
	}
	u.fhirUser = "Patient/" + u.patient
	postSmartUser(t, &u, map[string][]string{"fhirUser": {u.fhirUser}, "patient": {u.patient}}, requiredActions)
	return u
}

// createSmartPractitioner creates a user with a Practitioner fhirUser, no patient, and the realm
// role practitioner that gates the user/ client scopes.
func createSmartPractitioner(t *testing.T) smartUser {
	t.Helper()
	u := smartUser{
		username: "it-dr-" + randomHex(t, 4),
		password: "It-pw-" + randomHex(t, 12),
		fhirUser: "Practitioner/pr" + randomHex(t, 4),
	}
	postSmartUser(t, &u, map[string][]string{"fhirUser": {u.fhirUser}}, nil)
	resp, body := smartAdmin(t, http.MethodGet, "/roles/practitioner", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the realm defines the role practitioner: %s", body)
	var role map[string]any
	require.NoError(t, json.Unmarshal(body, &role))
	resp, body = smartAdmin(t, http.MethodPost, "/users/"+u.id+"/role-mappings/realm", []map[string]any{role})
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "grant practitioner: %s", body)
	return u
}

// postSmartUser creates u through the admin API (deleted after the test) and sets u.id.
func postSmartUser(t *testing.T, u *smartUser, attrs map[string][]string, requiredActions []string) {
	t.Helper()
	resp, body := smartAdmin(t, http.MethodPost, "/users", map[string]any{
		"username": u.username, "enabled": true, "email": u.username + "@example.org", "emailVerified": true,
		"firstName": "Integration", "lastName": "User",
		"attributes":      attrs,
		"credentials":     []map[string]any{{"type": "password", "value": u.password, "temporary": false}},
		"requiredActions": append([]string{}, requiredActions...),
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "create user: %s", body)
	loc := resp.Header.Get("Location")
	u.id = loc[strings.LastIndex(loc, "/")+1:]
	require.NotEmpty(t, u.id)
	t.Cleanup(func() { smartAdmin(t, http.MethodDelete, "/users/"+u.id, nil) })
}

// smartUserAttributes reads a user's attributes through the admin API.
func smartUserAttributes(t testing.TB, id string) map[string][]string {
	t.Helper()
	resp, body := smartAdmin(t, http.MethodGet, "/users/"+id, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var u struct {
		Attributes map[string][]string `json:"attributes"`
	}
	require.NoError(t, json.Unmarshal(body, &u))
	return u.Attributes
}

// browser is a user agent with cookies that stops at every redirect, so the tests see each step
// of the login and the final redirect to the app (which nothing serves).
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, c: &http.Client{
		Jar:           jar,
		Timeout:       httpClient.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	require.NoError(b.t, err, "%s %s", req.Method, req.URL)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp, string(body)
}

var (
	formAction = regexp.MustCompile(`(?s)<form\b[^>]*?\baction="([^"]+)"`)
	// pageMessages finds Keycloak's feedback and field error texts on a page.
	pageMessages = regexp.MustCompile(`(?s)(?:kc-feedback-text|id="input-error[^"]*")[^>]*>\s*([^<]+?)\s*<`)
)

// messages lists the feedback and error texts of a Keycloak page (for failure messages).
func messages(page string) []string {
	var out []string
	for _, m := range pageMessages.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// follow GETs u and follows redirects until a page (200) or a redirect to the app's redirect URI
// (returned as the parsed URL, with page "").
func (b *browser) follow(u, redirectURI string) (page string, final *url.URL) {
	b.t.Helper()
	for range 10 {
		if strings.HasPrefix(u, redirectURI) {
			f, err := url.Parse(u)
			require.NoError(b.t, err)
			return "", f
		}
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(b.t, err)
		resp, body := b.do(req)
		switch {
		case resp.StatusCode == http.StatusOK:
			return body, nil
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			u = resp.Header.Get("Location")
		default:
			b.t.Fatalf("GET %s: status %d: %.400s", u, resp.StatusCode, body)
		}
	}
	b.t.Fatalf("too many redirects")
	return "", nil
}

// submit posts form to the action of the first form on page and follows the answer like follow.
func (b *browser) submit(page string, form url.Values, redirectURI string) (string, *url.URL) {
	b.t.Helper()
	m := formAction.FindStringSubmatch(page)
	require.NotNil(b.t, m, "no form on the page: %.600s", page)
	req, err := http.NewRequest(http.MethodPost, html.UnescapeString(m[1]), strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := b.do(req)
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusFound, http.StatusSeeOther:
		return b.follow(resp.Header.Get("Location"), redirectURI)
	}
	b.t.Fatalf("POST form: status %d: %.400s", resp.StatusCode, body)
	return "", nil
}

// pkce returns a fresh RFC 7636 code verifier and its S256 challenge.
func pkce(t testing.TB) (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(randomHex(t, 24)))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is smart-app's authorization request; extra sets or (with "") removes parameters.
func authorizeURL(t testing.TB, clientID, redirectURI, scope, challenge string, extra map[string]string) string {
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {randomHex(t, 8)},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return smartIssuer(t) + "/protocol/openid-connect/auth?" + q.Encode()
}

// login drives the real login form: authorization request, username/password, (optionally) the
// pages in between through more, and returns the redirect back to the app.
func (b *browser) login(authURL, redirectURI string, u smartUser, more func(page string) (string, *url.URL)) *url.URL {
	b.t.Helper()
	page, final := b.follow(authURL, redirectURI)
	if final != nil {
		return final // existing SSO session: no form
	}
	require.Contains(b.t, page, `name="password"`, "expected the login form: %.600s", page)
	page, final = b.submit(page, url.Values{"username": {u.username}, "password": {u.password}, "credentialId": {""}}, redirectURI)
	if final == nil && more != nil {
		page, final = more(page)
	}
	require.NotNil(b.t, final, "no redirect to the app after login; page messages: %q", messages(page))
	return final
}

func TestProdRealmAuthorizationCodePKCE(t *testing.T) {
	v := newSmartRealmValidator(t, false)
	endpoint := mustEnv(t, envKCAudience)
	appID, redirectURI := mustEnv(t, envKCSmartAppID), mustEnv(t, envKCSmartRedirectURI)
	u := createSmartUser(t)
	b := newBrowser(t)
	const scope = "openid fhirUser launch/patient patient/*.rs"

	verifier, challenge := pkce(t)
	final := b.login(authorizeURL(t, appID, redirectURI, scope, challenge, nil), redirectURI, u, nil)
	code := final.Query().Get("code")
	require.NotEmpty(t, code, "redirect: %s", final.Redacted())
	assert.Equal(t, smartIssuer(t), final.Query().Get("iss"), "RFC 9207 iss in the authorization response")

	exchange := func(code string, extra url.Values) (int, tokenResponse) {
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {appID}, "code": {code}, "redirect_uri": {redirectURI}}
		for k, vs := range extra {
			form[k] = vs
		}
		return smartTokenRaw(t, form)
	}

	t.Run("code without verifier refused", func(t *testing.T) {
		status, tr := exchange(code, nil)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", tr.Error)
		assert.Empty(t, tr.AccessToken)
	})

	// A refused exchange burns the code: a fresh one (SSO session, no form) for the next cases.
	newCode := func(t *testing.T) (string, string) {
		verifier, challenge := pkce(t)
		final := b.login(authorizeURL(t, appID, redirectURI, scope, challenge, nil), redirectURI, u, nil)
		require.NotEmpty(t, final.Query().Get("code"))
		return final.Query().Get("code"), verifier
	}

	t.Run("wrong verifier refused", func(t *testing.T) {
		code, _ := newCode(t)
		other, _ := pkce(t)
		status, tr := exchange(code, url.Values{"code_verifier": {other}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", tr.Error)
		assert.Empty(t, tr.AccessToken)
	})

	t.Run("authorization code + PKCE S256 accepted by the Lambda", func(t *testing.T) {
		var code string
		code, verifier = newCode(t)
		status, tr := exchange(code, url.Values{"code_verifier": {verifier}})
		require.Equal(t, http.StatusOK, status, "%s: %s", tr.Error, tr.ErrorDescription)
		_, claims := decodeJWT(t, tr.AccessToken)
		assert.Equal(t, appID, claims["azp"])
		assert.Equal(t, []string{endpoint}, audiences(t, claims))
		assert.Equal(t, u.patient, claims["patient"], "patient from the admin-set user attribute")
		assert.Equal(t, u.fhirUser, claims["fhirUser"], "fhirUser from the admin-set user attribute")
		assert.Subset(t, scopes(claims), []string{"openid", "fhirUser", "launch/patient", "patient/*.rs"})
		assert.NotContains(t, scopes(claims), "user/*.rs", "only the requested optional scopes")

		res := invokeLambda(t, v, endpoint, tr.AccessToken)
		assert.Equal(t, "ok", res.reason, res.out)
		p := authPayload(t, res.out)
		assert.Equal(t, true, p["isAuthorized"])
		assert.Equal(t, u.patient, p["patient"])
		assert.Contains(t, strings.Fields(p["scope"].(string)), "patient/*.rs")
		assert.Contains(t, strings.Fields(p["scope"].(string)), "launch/patient")
	})

	t.Run("plain challenge method refused", func(t *testing.T) {
		_, challenge := pkce(t)
		final := b.login(authorizeURL(t, appID, redirectURI, scope, challenge, map[string]string{"code_challenge_method": "plain"}), redirectURI, u, nil)
		assert.Empty(t, final.Query().Get("code"), "no code for a plain challenge")
		assert.Equal(t, "invalid_request", final.Query().Get("error"))
	})

	t.Run("no code challenge refused", func(t *testing.T) {
		final := b.login(authorizeURL(t, appID, redirectURI, scope, "", map[string]string{"code_challenge": "", "code_challenge_method": ""}), redirectURI, u, nil)
		assert.Empty(t, final.Query().Get("code"), "no code without PKCE")
		assert.Equal(t, "invalid_request", final.Query().Get("error"))
	})

	t.Run("unregistered redirect URI refused", func(t *testing.T) {
		_, challenge := pkce(t)
		req, err := http.NewRequest(http.MethodGet, authorizeURL(t, appID, "http://127.0.0.1/evil", scope, challenge, nil), nil)
		require.NoError(t, err)
		resp, body := b.do(req)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "Keycloak shows an error page, never redirects: %.300s", body)
		assert.Empty(t, resp.Header.Get("Location"))
	})
}

func TestProdRealmPasswordGrantRefused(t *testing.T) {
	u := createSmartUser(t)
	appID := mustEnv(t, envKCSmartAppID)
	status, tr := smartTokenRaw(t, url.Values{
		"grant_type": {"password"}, "client_id": {appID}, "username": {u.username}, "password": {u.password},
		"scope": {"openid launch/patient patient/*.rs"},
	})
	assert.Contains(t, []int{http.StatusBadRequest, http.StatusUnauthorized}, status)
	assert.Equal(t, "unauthorized_client", tr.Error, tr.ErrorDescription)
	assert.Empty(t, tr.AccessToken)

	// Nor may the public app use client credentials, or the backend client the password grant.
	status, tr = smartTokenRaw(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}})
	assert.NotEqual(t, http.StatusOK, status)
	assert.Empty(t, tr.AccessToken)
	status, tr = smartTokenRaw(t, url.Values{
		"grant_type": {"password"}, "client_id": {mustEnv(t, envKCSmartBackendID)},
		"client_secret": {mustEnv(t, envKCSmartBackendSecret)}, "username": {u.username}, "password": {u.password},
	})
	assert.NotEqual(t, http.StatusOK, status)
	assert.Equal(t, "unauthorized_client", tr.Error)
	assert.Empty(t, tr.AccessToken)
}

func TestProdRealmUserCannotSetPatient(t *testing.T) {
	t.Run("account REST API", func(t *testing.T) {
		u := createSmartUser(t)
		b := newBrowser(t)
		// The realm's built-in account console client, signed in through the same login form.
		redirectURI := smartIssuer(t) + "/account/"
		verifier, challenge := pkce(t)
		final := b.login(authorizeURL(t, "account-console", redirectURI, "openid", challenge, nil), redirectURI, u, nil)
		code := final.Query().Get("code")
		require.NotEmpty(t, code, "redirect: %s", final.Redacted())
		status, tr := smartTokenRaw(t, url.Values{
			"grant_type": {"authorization_code"}, "client_id": {"account-console"}, "code": {code},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier},
		})
		require.Equal(t, http.StatusOK, status, "%s: %s", tr.Error, tr.ErrorDescription)

		body, err := json.Marshal(map[string]any{
			"username": u.username, "email": u.username + "@example.org", "firstName": "Integration", "lastName": "Patient",
			"attributes": map[string][]string{"patient": {"999"}, "fhirUser": {"Practitioner/1"}},
		})
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, smartIssuer(t)+"/account/", strings.NewReader(string(body)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, out := b.do(req)
		// In this realm the built-in account-console client gets no client scopes (the realm file
		// lists its own), so its tokens carry no manage-account role: Keycloak answers 403.
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the account API refuses the update: %s", out)
		attrs := smartUserAttributes(t, u.id)
		assert.Equal(t, []string{u.patient}, attrs["patient"])
		assert.Equal(t, []string{u.fhirUser}, attrs["fhirUser"])
	})

	t.Run("update-profile form", func(t *testing.T) {
		// The user profile (realm component) makes patient and fhirUser admin-only: a user who is
		// asked to update their profile at login is not shown them, and a form that adds them is
		// refused (shown again, no code) while the same form without them goes through.
		u := createSmartUser(t, "UPDATE_PROFILE")
		b := newBrowser(t)
		appID, redirectURI := mustEnv(t, envKCSmartAppID), mustEnv(t, envKCSmartRedirectURI)
		_, challenge := pkce(t)
		profile := url.Values{"email": {u.username + "@example.org"}, "firstName": {"Changed"}, "lastName": {"Patient"}}
		var refused bool
		final := b.login(authorizeURL(t, appID, redirectURI, "openid launch/patient patient/*.rs", challenge, nil), redirectURI, u,
			func(page string) (string, *url.URL) {
				require.Contains(t, page, `name="firstName"`, "expected the update-profile form: %.600s", page)
				assert.NotContains(t, page, `name="patient"`, "patient is not shown to the user")
				assert.NotContains(t, page, `name="fhirUser"`, "fhirUser is not shown to the user")
				forged := url.Values{"patient": {"999"}, "fhirUser": {"Practitioner/1"}}
				for k, vs := range profile {
					forged[k] = vs
				}
				page, final := b.submit(page, forged, redirectURI)
				require.Nil(t, final, "a profile update that sets patient must not complete the login")
				require.Contains(t, page, `name="firstName"`, "the form is shown again")
				refused = true
				attrs := smartUserAttributes(t, u.id)
				assert.Equal(t, []string{u.patient}, attrs["patient"])
				assert.Equal(t, []string{u.fhirUser}, attrs["fhirUser"])
				return b.submit(page, profile, redirectURI)
			})
		require.True(t, refused)
		require.NotEmpty(t, final.Query().Get("code"), "the profile update without admin-only fields succeeds: %s", final.Redacted())
		attrs := smartUserAttributes(t, u.id)
		assert.Equal(t, []string{u.patient}, attrs["patient"])
		assert.Equal(t, []string{u.fhirUser}, attrs["fhirUser"])
		resp, body := smartAdmin(t, http.MethodGet, "/users/"+u.id, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, string(body), `"firstName":"Changed"`, "the form did save the fields the user may edit")
	})
}

// TestProdRealmUserScopes: user/ scopes read beyond one patient, so the patient app smart-app
// never grants them, whatever the user asks; smart-practitioner grants them only to holders of the
// realm role practitioner (scopeMappings), always with fhirUser (a default scope there), and the
// stack's data store limits them by fhirUser (fine-grained authorization).
func TestProdRealmUserScopes(t *testing.T) {
	v := newSmartRealmValidator(t, false)
	endpoint := mustEnv(t, envKCAudience)
	redirectURI := mustEnv(t, envKCSmartRedirectURI)

	authorize := func(t *testing.T, b *browser, u smartUser, clientID, scope string) (code, verifier string, final *url.URL) {
		verifier, challenge := pkce(t)
		final = b.login(authorizeURL(t, clientID, redirectURI, scope, challenge, nil), redirectURI, u, nil)
		return final.Query().Get("code"), verifier, final
	}
	refused := func(t *testing.T, b *browser, u smartUser, clientID, scope string) {
		code, _, final := authorize(t, b, u, clientID, scope)
		assert.Empty(t, code, "%s granted %q: %s", clientID, scope, final.Redacted())
		assert.Equal(t, "invalid_scope", final.Query().Get("error"))
	}
	token := func(t *testing.T, b *browser, u smartUser, scope string) map[string]any {
		code, verifier, final := authorize(t, b, u, smartPractitionerID, scope)
		require.NotEmpty(t, code, "redirect: %s", final.Redacted())
		status, tr := smartTokenRaw(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {smartPractitionerID},
			"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}})
		require.Equal(t, http.StatusOK, status, "%s: %s", tr.Error, tr.ErrorDescription)
		_, claims := decodeJWT(t, tr.AccessToken)
		assert.Equal(t, smartPractitionerID, claims["azp"])
		assert.Equal(t, []string{endpoint}, audiences(t, claims), "smart-audience is a default scope")
		claims["raw"] = tr.AccessToken
		return claims
	}

	patient := createSmartUser(t)
	t.Run("smart-app refuses user/ scopes", func(t *testing.T) {
		b := newBrowser(t)
		for _, scope := range []string{"openid patient/*.rs user/*.rs", "openid user/*.read", "openid launch/patient user/*.rs"} {
			refused(t, b, patient, mustEnv(t, envKCSmartAppID), scope)
		}
	})
	t.Run("smart-practitioner grants no user/ scope without the practitioner role", func(t *testing.T) {
		b := newBrowser(t)
		refused(t, b, patient, smartPractitionerID, "openid user/*.rs patient/*.rs")
		refused(t, b, patient, smartPractitionerID, "openid launch/patient user/*.rs")

		claims := token(t, b, patient, "openid user/*.rs user/*.read")
		for _, s := range scopes(claims) {
			assert.False(t, strings.HasPrefix(s, "user/"), "a user without the role got %q", s)
		}
		assert.Equal(t, patient.fhirUser, claims["fhirUser"], "fhirUser is a default scope of smart-practitioner")
		res := invokeLambda(t, v, endpoint, claims["raw"].(string))
		assert.JSONEq(t, denyJSON, res.out)
		assert.Equal(t, "scope", res.reason)
	})
	t.Run("smart-practitioner grants user/ scopes and fhirUser to a practitioner", func(t *testing.T) {
		dr := createSmartPractitioner(t)
		b := newBrowser(t)
		// fhirUser is not asked for: it is a default scope.
		claims := token(t, b, dr, "openid user/*.rs")
		assert.Contains(t, scopes(claims), "user/*.rs")
		assert.Contains(t, scopes(claims), "fhirUser")
		assert.Equal(t, dr.fhirUser, claims["fhirUser"], "fine-grained authorization needs the token's fhirUser")

		res := invokeLambda(t, v, endpoint, claims["raw"].(string))
		require.Equal(t, "ok", res.reason, res.out)
		p := authPayload(t, res.out)
		assert.Equal(t, true, p["isAuthorized"])
		assert.Equal(t, dr.fhirUser, p["fhirUser"])
		assert.Contains(t, strings.Fields(p["scope"].(string)), "user/*.rs")
	})
}

// TestProdRealmAdminChanges: the realm is imported once (--import-realm skips an existing realm), so
// deploy/README.md changes the smart-backend secret and the redirect URIs through the admin REST
// API. These are the calls it documents, against the real realm; the originals are restored.
func TestProdRealmAdminChanges(t *testing.T) {
	clientUUID := func(clientID string) string {
		resp, body := smartAdmin(t, http.MethodGet, "/clients?clientId="+url.QueryEscape(clientID), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		var list []struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(body, &list))
		require.Len(t, list, 1, clientID)
		return list[0].ID
	}

	t.Run("rotate the backend secret", func(t *testing.T) {
		backend, old := mustEnv(t, envKCSmartBackendID), mustEnv(t, envKCSmartBackendSecret)
		id := clientUUID(backend)
		t.Cleanup(func() {
			resp, body := smartAdmin(t, http.MethodGet, "/clients/"+id, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			var rep map[string]any
			require.NoError(t, json.Unmarshal(body, &rep))
			rep["secret"] = old
			resp, body = smartAdmin(t, http.MethodPut, "/clients/"+id, rep)
			require.Equal(t, http.StatusNoContent, resp.StatusCode, "restore the secret: %s", body)
		})
		resp, body := smartAdmin(t, http.MethodPost, "/clients/"+id+"/client-secret", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		var cred struct {
			Value string `json:"value"`
		}
		require.NoError(t, json.Unmarshal(body, &cred))
		require.GreaterOrEqual(t, len(cred.Value), 32, "the entry point accepts it as SMART_BACKEND_CLIENT_SECRET")
		require.NotContains(t, cred.Value, "${")

		grant := func(secret string) int {
			status, _ := smartTokenRaw(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {backend},
				"client_secret": {secret}, "scope": {"system/*.rs"}})
			return status
		}
		assert.Equal(t, http.StatusOK, grant(cred.Value), "the new secret works at once")
		assert.Equal(t, http.StatusUnauthorized, grant(old), "the old one stops working")
	})

	t.Run("change the redirect URI", func(t *testing.T) {
		const newURI = "https://app.example.com/callback"
		redirect := mustEnv(t, envKCSmartRedirectURI)
		for _, c := range []string{mustEnv(t, envKCSmartAppID), smartPractitionerID} {
			id := clientUUID(c)
			resp, body := smartAdmin(t, http.MethodGet, "/clients/"+id, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			var rep map[string]any
			require.NoError(t, json.Unmarshal(body, &rep))
			assert.Equal(t, []any{redirect}, rep["redirectUris"], c)
			rep["redirectUris"] = []string{newURI}
			resp, body = smartAdmin(t, http.MethodPut, "/clients/"+id, rep)
			require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s", body)
			t.Cleanup(func() {
				rep["redirectUris"] = []string{redirect}
				resp, body := smartAdmin(t, http.MethodPut, "/clients/"+id, rep)
				require.Equal(t, http.StatusNoContent, resp.StatusCode, "restore redirectUris: %s", body)
			})

			authorize := func(uri string) int {
				_, challenge := pkce(t)
				resp, err := httpClient.Get(authorizeURL(t, c, uri, "openid", challenge, nil))
				require.NoError(t, err)
				resp.Body.Close()
				return resp.StatusCode
			}
			assert.Equal(t, http.StatusOK, authorize(newURI), "%s: the login form for the new URI", c)
			assert.Equal(t, http.StatusBadRequest, authorize(redirect), "%s: the old URI is refused", c)
		}
	})
}
