//go:build integration

package integration

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Real cognito-local user-pool tokens (InitiateAuth, USER_PASSWORD_AUTH) verified against the pool's
// real JWKS, fetched over HTTP from the URL providers/cognito derives from the issuer.
//
// cognito-local signs every pool's tokens with ONE fixed RSA key (kid "CognitoLocal") whose private
// half ships inside the npm package: anyone can mint "cognito-local" tokens. It also cannot issue
// client_credentials (M2M) tokens or custom/resource-server scopes; its access-token scope is always
// aws.cognito.signin.user.admin. That is why SMART-scoped and M2M Cognito tokens are signed by the
// tests themselves (unit tests in providers/cognito, and the Cognito-shaped tokens of the
// differential test); here the SMART scope comes from cognito:groups through GroupScopes.

// practitionerScopes maps the test user's group (scripts/lib/cognito-local.sh) to a SMART scope:
// a system/ one, since cognito-local cannot put fhirUser into access tokens and user/ scopes grant
// nothing without it (healthlake.Config; see the "user/ scopes without fhirUser" case below).
var practitionerScopes = map[string][]string{"practitioners": {"system/*.rs"}}

// newCognitoValidator builds a validator for the cognito-local pool the way a deployment does
// (cognito.New, remote key set on the derived JWKS URL) with the test-only http:// switches.
func newCognitoValidator(t *testing.T, groupScopes map[string][]string, clientIDs ...string) (itValidator, *countingTransport) {
	t.Helper()
	client, ct := newCountingClient()
	ics, err := cognito.New(cognito.Config{
		Issuer:      mustEnv(t, envCognitoIssuer),
		ClientIDs:   clientIDs,
		GroupScopes: groupScopes,
		// Group scopes go to the first (the real) client only.
		GroupScopeClients: clientIDs[:1],
		KeySetOptions: smartauth.RemoteOptions{
			InsecureHTTP:   true, // test-only: cognito-local is http://
			HTTPClient:     client,
			RequestTimeout: jwksTimeout,
		},
	})
	require.NoError(t, err)
	require.Len(t, ics, 1)
	require.Equal(t, mustEnv(t, envCognitoIssuer), ics[0].Issuer)
	sv, err := smartauth.NewValidator(smartauth.Config{
		Issuers:                  ics,
		InsecureAllowHTTPIssuers: true, // test-only: the cognito-local issuer is http://
		// Cognito access tokens have no aud: the Lambda pins its data store.
		Endpoints: []string{mustEnv(t, envKCAudience)},
	})
	require.NoError(t, err)
	v := withResponse(t, sv, healthlake.ScopesAsGiven)
	hydrate(t, v)
	require.Equal(t, 1, ct.count())
	return v, ct
}

func TestCognitoLocalLambdaAllowedThroughGroupScopes(t *testing.T) {
	aud := mustEnv(t, envKCAudience) // the pinned data store: Cognito access tokens have no aud
	v, ct := newCognitoValidator(t, practitionerScopes, mustEnv(t, envCognitoClientID))
	tok := cognitoLogin(t).AccessToken
	_, p := decodeJWT(t, tok)
	require.Equal(t, "aws.cognito.signin.user.admin", p["scope"])

	res := invokeLambda(t, v, aud, tok)
	require.Equal(t, "ok", res.reason, "%s", res.log)
	// Every field exactly: the cognito-local scope is dropped, the group's scope is the only grant;
	// no fhirUser/patient (cognito-local cannot put custom claims into access tokens).
	want, err := json.Marshal(map[string]any{
		"authPayload": map[string]any{
			"iss":          mustEnv(t, envCognitoIssuer),
			"aud":          aud,
			"iat":          int64(p["iat"].(float64)),
			"nbf":          int64(p["iat"].(float64)),
			"exp":          int64(p["exp"].(float64)),
			"isAuthorized": true,
			"uid":          p["sub"],
			"scope":        "system/*.rs",
		},
		"iamRoleARN": itRoleARN,
	})
	require.NoError(t, err)
	assert.JSONEq(t, string(want), res.out)

	vt, err := v.Validate(validateCtx(t), tok, aud)
	require.NoError(t, err)
	require.Len(t, vt.Scopes, 1)
	assert.Equal(t, "system/*.rs", vt.Scopes[0].String())
	assert.Equal(t, 1, vt.DroppedScopes, "aws.cognito.signin.user.admin is not a SMART scope")
	assert.Equal(t, []string{mustEnv(t, envCognitoGroup)}, vt.Claims.Groups)
	assert.Equal(t, 1, ct.count())
}

func TestCognitoLocalLambdaDenied(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	cid := mustEnv(t, envCognitoClientID)
	tokens := cognitoLogin(t)

	t.Run("no group mapping: no resource scope", func(t *testing.T) {
		v, _ := newCognitoValidator(t, nil, cid)
		requireDenied(t, invokeLambda(t, v, aud, tokens.AccessToken), "scope")
		// The token itself is valid; only the HealthLake mapping refuses it.
		vt, err := v.Validate(validateCtx(t), tokens.AccessToken, aud)
		require.NoError(t, err)
		assert.False(t, vt.HasResourceScope())
		assert.Empty(t, vt.Scopes)
		d := v.Authorize(validateCtx(t), mustDecodeEvent(t, healthLakeEvent(t, aud, tokens.AccessToken)))
		assert.False(t, d.Allowed)
		require.ErrorIs(t, d.Err, smartauth.ErrScope)
		assert.Equal(t, cid, d.ClientID)
	})
	t.Run("user/ scopes without fhirUser grant nothing", func(t *testing.T) {
		v, _ := newCognitoValidator(t, map[string][]string{"practitioners": {"user/*.rs"}}, cid)
		requireDenied(t, invokeLambda(t, v, aud, tokens.AccessToken), "scope")
	})
	t.Run("valid token presented to another data store", func(t *testing.T) {
		v, _ := newCognitoValidator(t, practitionerScopes, cid)
		requireDenied(t, invokeLambda(t, v, otherEndpoint, tokens.AccessToken), "event")
	})
	t.Run("ID token", func(t *testing.T) {
		v, _ := newCognitoValidator(t, practitionerScopes, cid)
		requireDenied(t, invokeLambda(t, v, aud, tokens.IDToken), "token_kind")
		_, err := v.Validate(validateCtx(t), tokens.IDToken, aud)
		require.ErrorIs(t, err, smartauth.ErrTokenUse)
	})
	t.Run("client not on the allow-list", func(t *testing.T) {
		v, _ := newCognitoValidator(t, practitionerScopes, "1example23456789abcdefghij")
		requireDenied(t, invokeLambda(t, v, aud, tokens.AccessToken), "client_id")
		_, err := v.Validate(validateCtx(t), tokens.AccessToken, aud)
		require.ErrorIs(t, err, smartauth.ErrClientID)
	})
	t.Run("refresh token", func(t *testing.T) {
		// cognito-local's refresh token is a JWT without kid (real Cognito's is opaque/encrypted).
		h, _ := decodeJWT(t, tokens.RefreshToken)
		require.NotContains(t, h, "kid")
		v, ct := newCognitoValidator(t, practitionerScopes, cid)
		requireDenied(t, invokeLambda(t, v, aud, tokens.RefreshToken), "kid_missing")
		_, err := v.Validate(validateCtx(t), tokens.RefreshToken, aud)
		require.ErrorIs(t, err, smartauth.ErrKidMissing)
		assert.Equal(t, 1, ct.count(), "no fetch for a token without kid")
	})
}

func TestCognitoLocalDerivedJWKS(t *testing.T) {
	iss := mustEnv(t, envCognitoIssuer)
	require.Equal(t, cognitoJWKSURL(t), cognito.JWKSURL(iss), "derived URL is <issuer>/.well-known/jwks.json")
	_, ct := newCognitoValidator(t, practitionerScopes, mustEnv(t, envCognitoClientID))
	assert.Equal(t, []string{cognitoJWKSURL(t)}, ct.fetched(), "the key set fetched the derived URL, once")

	// The real document, through the same load policy the key set applies.
	set, raw := fetchJWKS(t, cognito.JWKSURL(iss))
	keys, dropped, err := smartauth.ParseJWKS(raw)
	require.NoError(t, err)
	assert.Empty(t, dropped, "every cognito-local key is admitted")
	require.Len(t, keys, 1)
	k, ok := keys["CognitoLocal"]
	require.True(t, ok, "cognito-local's fixed kid: %v", keys)
	assert.Equal(t, "RS256", k.Algorithm)
	require.Len(t, set.Keys, 1)
	assert.Equal(t, jwk{Kty: "RSA", Kid: "CognitoLocal", Use: "sig", Alg: "RS256", N: set.Keys[0].N, E: "AQAB"}, set.Keys[0])

	h, _ := decodeJWT(t, cognitoLogin(t).AccessToken)
	assert.Equal(t, "CognitoLocal", h["kid"])
	assert.Equal(t, "RS256", h["alg"])
}

func mustDecodeEvent(t *testing.T, b []byte) healthlake.Event {
	t.Helper()
	ev, err := healthlake.DecodeEvent(b)
	require.NoError(t, err)
	return ev
}
