//go:build integration

package integration

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
)

// The real Lambda binary (examples/healthlake-lambda, built as "bootstrap" with -tags lambda.norpc)
// under aws-lambda-rie, started by scripts/lib/rie.sh with SMARTAUTH_PROVIDER=keycloak and the
// running realm. The test invokes it over HTTP like the Lambda Invoke API would.

const (
	envRIEURL     = "SMARTAUTH_RIE_URL"      // http://127.0.0.1:PORT of the emulator
	envRIERoleARN = "SMARTAUTH_RIE_ROLE_ARN" // SERVICE_ROLE_ARN given to the Lambda
	envRIELog     = "SMARTAUTH_RIE_LOG"      // emulator output, with the Lambda's decision log lines
)

// invokeRIE POSTs a payload to the emulator's invoke endpoint and returns the function's answer.
func invokeRIE(t *testing.T, payload []byte) string {
	t.Helper()
	u := mustEnv(t, envRIEURL) + "/2015-03-31/functions/function/invocations"
	resp, err := httpClient.Post(u, "application/json", bytes.NewReader(payload))
	require.NoError(t, err, "POST %s", u)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NotContains(t, string(body), "errorMessage", "function error instead of an answer")
	return string(body)
}

func TestRIELambdaAllowed(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	t.Run("svc client_credentials", func(t *testing.T) {
		tok := keycloakServiceToken(t, "system/*.rs").AccessToken
		out := invokeRIE(t, healthLakeEvent(t, aud, tok))
		assertAllowedJSON(t, out, tok, wantAllow{endpoint: aud, scopes: []string{"system/*.rs"}, fhirUser: "Practitioner/123"}, mustEnv(t, envRIERoleARN))
	})
	t.Run("alice password grant", func(t *testing.T) {
		tok := keycloakUserToken(t, "openid fhirUser launch/patient patient/*.rs").AccessToken
		out := invokeRIE(t, healthLakeEvent(t, aud, tok))
		assertAllowedJSON(t, out, tok, wantAllow{endpoint: aud,
			scopes:   []string{"openid", "fhirUser", "launch/patient", "patient/*.rs", "profile"},
			fhirUser: "Practitioner/123", patient: "456"}, mustEnv(t, envRIERoleARN))
	})
}

func TestRIELambdaDenied(t *testing.T) {
	aud := mustEnv(t, envKCAudience)
	real := keycloakServiceToken(t, "system/*.rs").AccessToken

	// Forged: the real token's header (the realm's kid) and claims, signed with a key of our own.
	parts := strings.Split(real, ".")
	forged := signEncoded(parts[0], parts[1], signWith(t, "RS256", testjwt.NewRSAKey()))

	cases := []struct {
		name    string
		payload []byte
	}{
		{"forged signature", healthLakeEvent(t, aud, forged)},
		{"real token for another data store", healthLakeEvent(t, otherEndpoint, real)},
		{"ID token", healthLakeEvent(t, aud, keycloakUserToken(t, "openid patient/*.rs").IDToken)},
		{"no token", healthLakeEvent(t, aud, "")},
		{"payload is not an event", []byte(`["not", "an", "event"]`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.JSONEq(t, denyJSON, invokeRIE(t, tc.payload))
		})
	}

	// The Lambda's decision log (stdout, collected by the emulator) has the reason codes and never
	// a token.
	wantReasons := []string{"signature", "aud", "token_kind", "token_missing", "event"}
	var logText string
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(mustEnv(t, envRIELog))
		require.NoError(t, err)
		logText = string(b)
		for _, r := range wantReasons {
			if !strings.Contains(logText, `"decision":"deny","reason":"`+r+`"`) {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "decision log lines for %v", wantReasons)
	assert.NotContains(t, logText, real)
	assert.NotContains(t, logText, forged)
	assert.NotContains(t, logText, parts[2], "not even the signature")
}
