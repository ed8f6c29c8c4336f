package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// TestTokenCacheSetting: the deployed Lambda caches verified tokens unless
// TOKEN_CACHE=off; TOKEN_CACHE_MAX_AGE bounds an entry's life.
func TestTokenCacheSetting(t *testing.T) {
	base := map[string]string{"SMARTAUTH_PROVIDER": "generic", "SERVICE_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
		"ISSUER": "https://idp.example.com", "JWKS_URL": "https://idp.example.com/jwks"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cfg, _, err := configFromEnv(env(base))
	require.NoError(t, err)
	assert.Equal(t, &smartauth.CacheConfig{}, cfg.Cache, "on by default, library defaults")

	cfg, _, err = configFromEnv(env(with("TOKEN_CACHE", "off")))
	require.NoError(t, err)
	assert.Nil(t, cfg.Cache)

	cfg, _, err = configFromEnv(env(with("TOKEN_CACHE_MAX_AGE", "90s")))
	require.NoError(t, err)
	require.NotNil(t, cfg.Cache)
	assert.Equal(t, 90*time.Second, cfg.Cache.MaxAge)

	for _, bad := range [][]string{{"TOKEN_CACHE", "yes"}, {"TOKEN_CACHE_MAX_AGE", "2h"}, {"TOKEN_CACHE_MAX_AGE", "-1s"}} {
		_, _, err = configFromEnv(env(with(bad...)))
		assert.ErrorContains(t, err, bad[0])
	}
}
