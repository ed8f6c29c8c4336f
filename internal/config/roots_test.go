package config_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/config"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// TestBuildJWKSRootsFromGetenv: with Getenv, the remote key set trusts the
// CA bundle SSL_CERT_FILE names (internal/tlsroots); without it, the
// library's default client (Go's system roots) refuses the test CA.
func TestBuildJWKSRootsFromGetenv(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the bundle file is loaded on Linux only; elsewhere Go's roots decide")
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	env := map[string]string{"SSL_CERT_FILE": bundle}

	for _, tc := range []struct {
		name   string
		getenv func(string) string
		want   error
	}{
		{"SSL_CERT_FILE through Getenv: the bundle's CA is trusted", func(k string) string { return env[k] }, smartauth.ErrNoUsableKeys},
		{"no Getenv: the library's default client", nil, smartauth.ErrJWKSFetch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := config.Settings{Provider: "generic", Issuer: "https://idp.example.com", JWKSURL: srv.URL, Getenv: tc.getenv}
			cfg, _, err := s.Build()
			require.NoError(t, err)
			ks, ok := cfg.Issuers[0].KeySet.(*smartauth.RemoteKeySet)
			require.True(t, ok)
			// The JWKS has no keys: ErrNoUsableKeys means the fetch, TLS
			// included, succeeded.
			require.ErrorIs(t, ks.Refresh(context.Background()), tc.want)
		})
	}
}
