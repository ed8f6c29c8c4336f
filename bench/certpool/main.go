// Command certpool measures what the JWKS client's first TLS handshake pays
// for the system roots. Go loads them once per process, so each measurement
// is a new process; run it under different SSL_CERT_FILE / SSL_CERT_DIR.
//
//	certpool                        prints "<µs for x509.SystemCertPool()> <certificates>"
//	certpool -get URL [-prewarm]    prints "<µs from main to the HTTPS response>"; with -prewarm
//	                                a goroutine loads the system pool while the request dials
package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	start := time.Now()
	get := flag.String("get", "", "HTTPS URL to fetch with the default transport")
	prewarm := flag.Bool("prewarm", false, "load the system pool concurrently with the request")
	flag.Parse()
	if *get == "" {
		pool, err := x509.SystemCertPool()
		d := time.Since(start)
		if err != nil {
			fail(err)
		}
		//lint:ignore SA1019 Subjects only counts the certificates here.
		fmt.Println(d.Microseconds(), len(pool.Subjects()))
		return
	}
	if *prewarm {
		go func() { _, _ = x509.SystemCertPool() }()
	}
	resp, err := http.Get(*get)
	if err != nil {
		fail(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("GET: HTTP %d, %v", resp.StatusCode, err))
	}
	fmt.Println(time.Since(start).Microseconds())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "certpool:", err)
	os.Exit(1)
}
