package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/providers/cognito/pretoken"
)

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"GROUP_SCOPES":                `{"practitioners":["user/*.rs"]}`,
		"CLIENT_SCOPES":               `{"svc":["system/*.rs"]}`,
		"ID_TOKEN_FHIRUSER":           "true",
		"GROUP_SCOPE_CLIENTS":         "app1, app2",
		"ATTRIBUTES_ADMIN_CONTROLLED": "true",
	}
	cfg, err := configFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"practitioners": {"user/*.rs"}}, cfg.GroupScopes)
	assert.Equal(t, map[string][]string{"svc": {"system/*.rs"}}, cfg.ClientScopes)
	assert.True(t, cfg.IDToken)
	assert.True(t, cfg.AttributesAdminControlled)
	assert.Equal(t, []string{"app1", "app2"}, cfg.GroupScopeClients)
	_, err = pretoken.New(cfg)
	require.NoError(t, err)

	env["GROUP_SCOPES"] = `["not", "an", "object"]`
	_, err = configFromEnv(func(k string) string { return env[k] })
	require.ErrorContains(t, err, "GROUP_SCOPES")

	env["GROUP_SCOPES"] = `{"practitioners":["user/*.READ"]}`
	cfg, err = configFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	_, err = pretoken.New(cfg)
	require.ErrorIs(t, err, pretoken.ErrConfig, "invalid SMART scopes in the table are refused at start-up")
}
