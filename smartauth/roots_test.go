package smartauth

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRemoteKeySetDefaultClientRoots: the default client verifies the
// server against Go's system roots (which do not hold the test CA); a
// user's client is used as given.
func TestRemoteKeySetDefaultClientRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()

	ks, err := NewRemoteKeySet(srv.URL, RemoteOptions{})
	require.NoError(t, err)
	err = ks.Refresh(context.Background())
	require.ErrorIs(t, err, ErrJWKSFetch)
	var uae x509.UnknownAuthorityError
	require.ErrorAs(t, err, &uae, "an unknown CA is refused, never skipped")

	user := srv.Client() // trusts the test CA
	ks, err = NewRemoteKeySet(srv.URL, RemoteOptions{HTTPClient: user})
	require.NoError(t, err)
	assert.Same(t, user, ks.opts.HTTPClient)
	// The JWKS has no keys: the fetch itself (TLS included) succeeded.
	require.ErrorIs(t, ks.Refresh(context.Background()), ErrNoUsableKeys)
}
