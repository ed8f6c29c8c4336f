package smartauth

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
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBundleFile(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	exists := func(files ...string) func(string) bool {
		return func(f string) bool {
			for _, x := range files {
				if x == f {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		name   string
		goos   string
		env    map[string]string
		exists []string
		want   string
	}{
		{"Debian", "linux", nil, []string{certFiles[0], certFiles[1]}, certFiles[0]},
		{"RHEL family (AL2023)", "linux", nil, []string{certFiles[1]}, certFiles[1]},
		{"SSL_CERT_FILE replaces the list", "linux", map[string]string{"SSL_CERT_FILE": "/opt/ca.pem"}, []string{"/opt/ca.pem", certFiles[0]}, "/opt/ca.pem"},
		{"SSL_CERT_FILE missing: system pool, as crypto/x509 reads no other file", "linux", map[string]string{"SSL_CERT_FILE": "/opt/ca.pem"}, []string{certFiles[0]}, ""},
		{"SSL_CERT_DIR set: system pool", "linux", map[string]string{"SSL_CERT_DIR": "/opt/certs"}, []string{certFiles[0]}, ""},
		{"no bundle: system pool", "linux", nil, nil, ""},
		{"not Linux: system pool", "darwin", nil, []string{certFiles[0]}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, bundleFile(tc.goos, env(tc.env), exists(tc.exists...)))
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

func TestBundleTransport(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	other := otherCA(t) // httptest servers all share one certificate

	get := func(t *testing.T, rt http.RoundTripper) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	base := func() *http.Transport { return http.DefaultTransport.(*http.Transport).Clone() }

	t.Run("the bundle's CA is trusted, concurrently from the first request", func(t *testing.T) {
		bt := newBundleTransport(base(), writePEM(t, other, srv.Certificate()))
		defer bt.CloseIdleConnections()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { assert.NoError(t, get(t, bt)) })
		}
		wg.Wait()
	})
	t.Run("a CA outside the bundle is not", func(t *testing.T) {
		bt := newBundleTransport(base(), writePEM(t, other))
		defer bt.CloseIdleConnections()
		var uae x509.UnknownAuthorityError
		require.ErrorAs(t, get(t, bt), &uae)
	})
	t.Run("an unusable bundle falls back to the system pool, never to no verification", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bundle.pem")
		require.NoError(t, os.WriteFile(bad, []byte("not PEM"), 0o600))
		bt := newBundleTransport(base(), bad)
		defer bt.CloseIdleConnections()
		err := get(t, bt) // during or after the load: refused either way
		require.Error(t, err)
		<-bt.ready
		require.ErrorContains(t, bt.err, "no certificates")
		var uae x509.UnknownAuthorityError
		require.ErrorAs(t, get(t, bt), &uae, "the system pool does not trust the test CA")
	})
}

// TestRemoteKeySetDefaultClientRoots: the default client trusts what the
// bundle (SSL_CERT_FILE) holds; a user's client is used as given.
func TestRemoteKeySetDefaultClientRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	t.Setenv("SSL_CERT_DIR", "")
	t.Setenv("SSL_CERT_FILE", writePEM(t, srv.Certificate()))
	ks, err := NewRemoteKeySet(srv.URL)
	require.NoError(t, err)
	if isRegularFile(os.Getenv("SSL_CERT_FILE")) && bundleFile(runtime.GOOS, os.Getenv, isRegularFile) != "" {
		_, ok := ks.client.Transport.(*bundleTransport)
		require.True(t, ok, "default client on Linux loads the bundle")
	}
	// The JWKS has no keys: the fetch itself (TLS included) succeeded.
	require.ErrorIs(t, ks.Refresh(context.Background()), ErrNoUsableKeys)

	user := &http.Client{}
	ks, err = NewRemoteKeySet(srv.URL, WithHTTPClient(user))
	require.NoError(t, err)
	assert.Same(t, user, ks.client)
}
