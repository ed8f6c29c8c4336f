package smartauth

import (
	"crypto/x509"
	"net/http"
)

// defaultJWKSTransport is the transport of the default JWKS client
// (RemoteKeySet without RemoteOptions.HTTPClient): a clone of http.DefaultTransport
// with Go's own trust roots. crypto/x509 loads the system roots once per
// process, on the first verification; a goroutine started here asks for
// them now, so that the load overlaps the DNS and TCP set-up of the first
// fetch. It ends when they are loaded (at once after the first time).
// It uses no proxy: the clone would read HTTPS_PROXY, and the library reads
// no environment (pass a client for a proxy). The programs of this module
// pass a client whose roots load faster (internal/tlsroots), deciding from
// SSL_CERT_FILE and SSL_CERT_DIR.
func defaultJWKSTransport() http.RoundTripper {
	go func() { _, _ = x509.SystemCertPool() }()
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.Proxy = nil
		return t
	}
	return http.DefaultTransport
}
