// Package tlsroots builds the JWKS HTTP client of the programs (the
// example HealthLake Lambda, the smartauth CLI): the same trust roots as
// Go's default, loaded faster at a cold start. The programs read
// SSL_CERT_FILE and SSL_CERT_DIR and pass them here; the library reads no
// environment.
//
// crypto/x509 loads the Linux system roots on the first TLS handshake: it
// parses the first CA bundle file that exists and then, always, every file
// of every certificate directory, which on Debian and RHEL-family systems
// repeats the bundle (about 17 ms against 5 ms for the bundle alone at a
// Lambda cold start; see bench/README.md). Client loads only the bundle,
// in a goroutine started when the client is built (it ends when the file
// is loaded), so that it overlaps the DNS and TCP set-up of the first
// fetch.
//
// Trust is never widened, only narrowed: the bundle is the file crypto/x509
// itself reads first, and on distributions that generate the directories
// from the same trust store (Debian, RHEL, Amazon Linux) the two sets are
// equal. A CA placed only in a certificate directory, or trusted by Go
// through the directories beside a custom SSL_CERT_FILE, is not trusted
// here: the fetch then fails with a TLS error, never without verification.
// Whenever that is not clearly so, the system pool is used as Go does: not
// on Linux, SSL_CERT_DIR set (the user chose directories), or no bundle
// file. A bundle that cannot be read or holds no certificate also means
// the system pool, never an unverified connection.
package tlsroots

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
)

// certFiles is crypto/x509's list for Linux (root_linux.go, Go 1.26), in
// its order; SSL_CERT_FILE replaces it.
var certFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian/Ubuntu/Gentoo etc.
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora/RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // OpenSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS/RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine Linux
}

// Client returns a client for JWKS fetches
// (smartauth.RemoteOptions.HTTPClient): a clone of http.DefaultTransport
// whose roots are the system CA bundle file when there is one (see the
// package comment), following no redirect like smartauth's default client.
// certFile and certDir are the values of SSL_CERT_FILE and SSL_CERT_DIR
// ("" when unset).
func Client(certFile, certDir string) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &http.Client{Transport: transport(runtime.GOOS, certFile, certDir), CheckRedirect: noRedirect}
}

func transport(goos, certFile, certDir string) http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	base := t.Clone()
	file := bundleFile(goos, certFile, certDir, isRegularFile)
	if file == "" {
		return base
	}
	return newBundleTransport(base, file)
}

// bundleFile returns the CA bundle to load, or "" for the system pool,
// deciding as crypto/x509 does.
func bundleFile(goos, certFile, certDir string, isFile func(string) bool) string {
	if goos != "linux" || certDir != "" {
		return ""
	}
	files := certFiles
	if certFile != "" {
		files = []string{certFile}
	}
	for _, f := range files {
		if isFile(f) {
			return f
		}
	}
	return ""
}

func isRegularFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// bundleTransport sends requests through primary, whose roots are the
// bundle loaded in the background, once it loaded; if loading failed,
// through fallback (the system pool).
type bundleTransport struct {
	ready    chan struct{} // closed when the load ended
	err      error         // valid once ready is closed
	primary  *http.Transport
	fallback *http.Transport
}

// newBundleTransport starts loading file and returns the transport. The
// primary transport's pool is filled by the loading goroutine; every TLS
// handshake of that transport follows a dial, and the dial waits for the
// load to end, so no handshake reads the pool before it is complete.
func newBundleTransport(base *http.Transport, file string) *bundleTransport {
	bt := &bundleTransport{ready: make(chan struct{}), fallback: base, primary: base.Clone()}
	tc := &tls.Config{}
	if base.TLSClientConfig != nil {
		tc = base.TLSClientConfig.Clone()
	}
	pool := x509.NewCertPool()
	tc.RootCAs = pool
	bt.primary.TLSClientConfig = tc
	dial := bt.primary.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	bt.primary.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		select {
		case <-bt.ready:
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		}
		if bt.err != nil {
			c.Close()
			return nil, bt.err
		}
		return c, nil
	}
	go func() {
		defer close(bt.ready)
		data, err := os.ReadFile(file)
		switch {
		case err != nil:
			bt.err = fmt.Errorf("tlsroots: CA bundle: %w", err)
		case !pool.AppendCertsFromPEM(data):
			bt.err = fmt.Errorf("tlsroots: CA bundle %s: no certificates", file)
		}
	}()
	return bt
}

// RoundTrip implements http.RoundTripper. A request that went to primary
// before the load ended fails with the load error if the load failed: a
// GET or HEAD without a body (JWKS fetches) is then sent again through
// fallback.
func (bt *bundleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if bt.loadFailed() {
		return bt.fallback.RoundTrip(req)
	}
	resp, err := bt.primary.RoundTrip(req)
	if err != nil && bt.loadFailed() && replayable(req) {
		return bt.fallback.RoundTrip(req)
	}
	return resp, err
}

// loadFailed reports whether the load ended with an error.
func (bt *bundleTransport) loadFailed() bool {
	select {
	case <-bt.ready:
		return bt.err != nil
	default:
		return false
	}
}

// replayable reports whether req can be sent a second time as it is.
func replayable(req *http.Request) bool {
	return (req.Method == "" || req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach both
// transports.
func (bt *bundleTransport) CloseIdleConnections() {
	bt.primary.CloseIdleConnections()
	bt.fallback.CloseIdleConnections()
}
