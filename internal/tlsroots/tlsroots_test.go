package tlsroots

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

func TestBundleFile(t *testing.T) {
	exists := func(files ...string) func(string) bool {
		return func(f string) bool { return slices.Contains(files, f) }
	}
	for _, tc := range []struct {
		name              string
		goos              string
		certFile, certDir string
		exists            []string
		want              string
	}{
		{"Debian", "linux", "", "", []string{certFiles[0], certFiles[1]}, certFiles[0]},
		{"RHEL family (AL2023)", "linux", "", "", []string{certFiles[1]}, certFiles[1]},
		{"SSL_CERT_FILE replaces the list", "linux", "/opt/ca.pem", "", []string{"/opt/ca.pem", certFiles[0]}, "/opt/ca.pem"},
		{"SSL_CERT_FILE missing: system pool, as crypto/x509 reads no other file", "linux", "/opt/ca.pem", "", []string{certFiles[0]}, ""},
		{"SSL_CERT_DIR set: system pool", "linux", "", "/opt/certs", []string{certFiles[0]}, ""},
		{"no bundle: system pool", "linux", "", "", nil, ""},
		{"not Linux: system pool", "darwin", "", "", []string{certFiles[0]}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, bundleFile(tc.goos, tc.certFile, tc.certDir, exists(tc.exists...)))
		})
	}
}

// writePEM writes certs as a PEM bundle and returns its path.
func writePEM(t *testing.T, certs ...*x509.Certificate) string {
	t.Helper()
	var data []byte
	for _, c := range certs {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(t.TempDir(), "bundle.pem")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// otherCA is a self-signed CA certificate that signed nothing.
func otherCA(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// jwksServer is a real TLS server with an empty key set.
func jwksServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, rt http.RoundTripper) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestBundleTransport(t *testing.T) {
	srv := jwksServer(t)
	other := otherCA(t) // httptest servers all share one certificate
	base := func() *http.Transport { return http.DefaultTransport.(*http.Transport).Clone() }

	t.Run("the bundle's CA is trusted, concurrently from the first request", func(t *testing.T) {
		bt := newBundleTransport(base(), writePEM(t, other, srv.Certificate()))
		defer bt.CloseIdleConnections()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { assert.NoError(t, get(t, srv.URL, bt)) })
		}
		wg.Wait()
	})
	t.Run("a CA outside the bundle is not", func(t *testing.T) {
		bt := newBundleTransport(base(), writePEM(t, other))
		defer bt.CloseIdleConnections()
		var uae x509.UnknownAuthorityError
		require.ErrorAs(t, get(t, srv.URL, bt), &uae)
	})
	t.Run("an unusable bundle falls back to the system pool, never to no verification", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bundle.pem")
		require.NoError(t, os.WriteFile(bad, []byte("not PEM"), 0o600))
		bt := newBundleTransport(base(), bad)
		defer bt.CloseIdleConnections()
		err := get(t, srv.URL, bt) // during or after the load: refused either way
		require.Error(t, err)
		<-bt.ready
		require.ErrorContains(t, bt.err, "no certificates")
		var uae x509.UnknownAuthorityError
		require.ErrorAs(t, get(t, srv.URL, bt), &uae, "the system pool does not trust the test CA")
	})
}

// TestClientWithRemoteKeySet: the client, passed to smartauth's remote key
// set, trusts what SSL_CERT_FILE's bundle holds; with SSL_CERT_DIR set it
// leaves the roots to Go (the system pool, which does not hold the test CA).
func TestClientWithRemoteKeySet(t *testing.T) {
	srv := jwksServer(t)
	bundle := writePEM(t, srv.Certificate())
	refresh := func(c *http.Client) error {
		ks, err := smartauth.NewRemoteKeySet(srv.URL, smartauth.RemoteOptions{HTTPClient: c})
		require.NoError(t, err)
		return ks.Refresh(context.Background())
	}

	c := Client(bundle, "")
	defer c.CloseIdleConnections()
	if runtime.GOOS == "linux" {
		_, ok := c.Transport.(*bundleTransport)
		require.True(t, ok, "on Linux the client loads the bundle")
		// The JWKS has no keys: the fetch itself (TLS included) succeeded.
		require.ErrorIs(t, refresh(c), smartauth.ErrNoUsableKeys)
	}

	c = Client(bundle, t.TempDir())
	defer c.CloseIdleConnections()
	_, ok := c.Transport.(*bundleTransport)
	require.False(t, ok, "SSL_CERT_DIR set: Go's own roots")
	err := refresh(c)
	require.ErrorIs(t, err, smartauth.ErrJWKSFetch)
	assert.NotErrorIs(t, err, smartauth.ErrNoUsableKeys)
}
