package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/config"
	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const (
	endpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	roleARN  = "arn:aws:iam::123456789012:role/healthlake-smart"
	issuer   = "https://kc.example.com/realms/smart"
)

// TestTenantRule sends real signed tokens through lambda.NewHandler(...).Invoke:
// the built-in checks still apply, and the tenant rule is added on top.
func TestTenantRule(t *testing.T) {
	priv := testjwt.RSAKey()
	keys, err := smartauth.NewStaticKeySetFromKeys(&smartauth.Key{ID: "k1", Algorithm: "RS256", Public: &priv.PublicKey})
	require.NoError(t, err)
	now := time.Unix(1700000060, 0)
	kc := keycloak.Config{BaseURL: "https://kc.example.com", Realm: "smart", KeySet: keys}
	_, a, err := newAuthorizer(kc, "acme", []string{endpoint}, roleARN, func() time.Time { return now })
	require.NoError(t, err)
	h := lambda.NewHandler(lambdaadapter.New(a))

	base := map[string]any{
		"iss": issuer, "sub": "u1", "typ": "Bearer", "azp": "smart-app", "aud": endpoint,
		"iat": 1700000000, "exp": 1700000300, "scope": "launch/patient patient/*.rs", "patient": "456",
	}
	tests := []struct {
		name    string
		set     map[string]any
		allowed bool
	}{
		{"tenant matches", map[string]any{"tenant": "acme"}, true},
		{"other tenant", map[string]any{"tenant": "globex"}, false},
		{"no tenant claim", nil, false},
		{"tenant is not a string", map[string]any{"tenant": []string{"acme"}}, false},
		{"right tenant, wrong data store", map[string]any{"tenant": "acme", "aud": "https://other.example/r4/"}, false},
		{"right tenant, expired", map[string]any{"tenant": "acme", "exp": 1700000000}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := testjwt.Sign(t, priv, jwa.RS256(), "k1", "JWT", testjwt.With(base, tc.set))
			ev, err := json.Marshal(map[string]string{"datastoreEndpoint": endpoint, "operationName": "Read", "bearerToken": token})
			require.NoError(t, err)
			out, err := h.Invoke(context.Background(), ev)
			require.NoError(t, err)
			var resp healthlake.Response
			require.NoError(t, json.Unmarshal(out, &resp))
			if !tc.allowed {
				assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, string(out))
				return
			}
			assert.Equal(t, roleARN, resp.IAMRoleARN)
			assert.Contains(t, string(out), `"isAuthorized":true`)
			assert.Contains(t, string(out), `"patient":"456"`)
		})
	}
}

func TestNewValidatorNeedsTenantAndEndpoint(t *testing.T) {
	kc := keycloak.Config{BaseURL: "https://kc.example.com", Realm: "smart"}
	_, _, err := newAuthorizer(kc, "", []string{endpoint}, roleARN, nil)
	require.ErrorContains(t, err, "TENANT")
	_, _, err = newAuthorizer(kc, "acme", nil, roleARN, nil)
	require.ErrorContains(t, err, "DATASTORE_ENDPOINT")
}

// TestEnvNamesAsHealthlakeLambda: every variable this Lambda reads (but its
// own TENANT) is one examples/healthlake-lambda reads, with the same meaning,
// so a stack's validator environment configures either.
func TestEnvNamesAsHealthlakeLambda(t *testing.T) {
	names := func(file, pattern string) []string {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		var out []string
		for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(string(src), -1) {
			out = append(out, m[1])
		}
		require.NotEmpty(t, out, file)
		return out
	}
	stock := names("../healthlake-lambda/config.go", `getenv\("([A-Z0-9_]+)"\)`)
	for _, n := range names("main.go", `os\.Getenv\("([A-Z0-9_]+)"\)`) {
		if n != "TENANT" {
			assert.Contains(t, stock, n)
		}
	}
	for _, in := range []string{" a, ,b ", "a,b", "a b, c\t", ",", "", " x ,y z,\n"} {
		assert.Equal(t, config.List(in), list(in), "%q: lists are read as in healthlake-lambda (internal/config.List)", in)
	}
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	assert.NotContains(t, string(src), "smartauth-go/internal/", "a user copying main.go cannot import internal packages")
	assert.Less(t, strings.Count(string(src), "\n"), 80, "main.go stays under 80 lines")
}
