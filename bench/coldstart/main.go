// Command coldstart measures the cold start of the example HealthLake Lambda
// (examples/healthlake-lambda built as "bootstrap") under aws-lambda-rie:
// it serves the JWKS over HTTPS on 127.0.0.1 with a throwaway CA, starts the
// emulator with the Lambda configured as a generic OIDC issuer, sends one
// event with a valid token and reports the time to that first answer, the
// emulator's Init Duration and when the Lambda fetched the JWKS. Each run
// uses a fresh emulator and Lambda; the CA variants (which certificates Go
// loads on the first TLS handshake) are interleaved run by run.
//
// With -certpool it also times x509.SystemCertPool() in fresh processes of
// the certpool command under the same variants. bench/coldstart.sh builds
// everything and runs it.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"github.com/healthlake-smart/smartauth-go/bench/internal/runinfo"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/healthlake-smart/smartauth-go/bench/internal/fixture"
)

const (
	systemBundle = "/etc/ssl/certs/ca-certificates.crt"
	roleARN      = "arn:aws:iam::123456789012:role/healthlake-smart-bench"
	invokePath   = "/2015-03-31/functions/function/invocations"
)

// variant is one way of telling Go which roots to trust.
type variant struct {
	name string
	env  []string
}

func main() {
	rie := flag.String("rie", "", "aws-lambda-rie binary")
	bootstrap := flag.String("bootstrap", "", "the Lambda bootstrap binary")
	certpool := flag.String("certpool", "", "certpool binary (optional): time x509.SystemCertPool per variant")
	runs := flag.Int("runs", 5, "cold starts per variant")
	poolRuns := flag.Int("pool-runs", 15, "certpool processes per variant")
	rtt := flag.Duration("rtt", 5*time.Millisecond, "simulated network time before the certificate arrives, for the prewarm experiment")
	work := flag.String("workdir", "", "scratch directory (CA files, logs)")
	flag.Parse()
	if *rie == "" || *bootstrap == "" || *work == "" {
		fail(errors.New("-rie, -bootstrap and -workdir are required"))
	}
	f, err := fixture.New(time.Now())
	if err != nil {
		fail(err)
	}
	caPEM, cert, err := throwawayCA()
	if err != nil {
		fail(err)
	}
	srv, err := startJWKS(f.JWKS, caPEM, cert, 0)
	if err != nil {
		fail(err)
	}
	defer srv.close()
	slow, err := startJWKS(f.JWKS, caPEM, cert, *rtt)
	if err != nil {
		fail(err)
	}
	defer slow.close()
	variants, err := makeVariants(*work, caPEM)
	if err != nil {
		fail(err)
	}

	if *certpool != "" {
		poolTimes := map[string][]float64{}
		counts := map[string]string{}
		for range *poolRuns {
			for _, v := range variants {
				ms, n, err := timePool(*certpool, v)
				if err != nil {
					fail(fmt.Errorf("certpool (%s): %w", v.name, err))
				}
				poolTimes[v.name] = append(poolTimes[v.name], ms)
				counts[v.name] = n
			}
		}
		fmt.Printf("x509.SystemCertPool() in a fresh process, median of %d (load %s):\n\n", *poolRuns, runinfo.LoadAvg())
		fmt.Println("| roots | certificates | ms |")
		fmt.Println("|---|---:|---:|")
		for _, v := range variants {
			fmt.Printf("| %s | %s | %.1f |\n", v.name, counts[v.name], runinfo.Median(poolTimes[v.name]))
		}
		fmt.Println()

		// The first HTTPS GET of a fresh process, sequential (the pool loads
		// when the certificate arrives) or with the pool prewarmed in a
		// goroutine started first thing in main.
		type key struct {
			v       string
			delay   bool
			prewarm bool
		}
		gets := map[key][]float64{}
		for range *poolRuns {
			for _, v := range variants[:2] {
				for _, s := range []*jwksServer{srv, slow} {
					for _, pre := range []bool{false, true} {
						ms, err := timeGet(*certpool, v, s.url, pre)
						if err != nil {
							fail(fmt.Errorf("certpool -get (%s): %w", v.name, err))
						}
						k := key{v.name, s == slow, pre}
						gets[k] = append(gets[k], ms)
					}
				}
			}
		}
		fmt.Printf("First HTTPS GET of the JWKS in a fresh process (main to response), median of %d (load %s):\n\n", *poolRuns, runinfo.LoadAvg())
		fmt.Println("| roots | delay before the server's certificate | pool loaded on first use, ms | pool prewarmed in a goroutine, ms |")
		fmt.Println("|---|---:|---:|---:|")
		for _, v := range variants[:2] {
			for _, d := range []bool{false, true} {
				delay := "0 (loopback)"
				if d {
					delay = rtt.String()
				}
				fmt.Printf("| %s | %s | %.1f | %.1f |\n", v.name, delay, runinfo.Median(gets[key{v.name, d, false}]), runinfo.Median(gets[key{v.name, d, true}]))
			}
		}
		fmt.Println()
	}

	event, err := json.Marshal(map[string]string{
		"datastoreEndpoint":    fixture.Endpoint,
		"bearerToken":          f.Good,
		"operationName":        "Read",
		"datastoreId":          "0123456789abcdef0123456789abcdef",
		"datastoreTypeVersion": "R4",
	})
	if err != nil {
		fail(err)
	}
	res := map[string][]result{}
	for i := range *runs {
		for vi, v := range variants {
			r, err := coldStart(*rie, *bootstrap, v, srv, event, filepath.Join(*work, fmt.Sprintf("rie-%d-%d.log", i, vi)))
			if err != nil {
				fail(fmt.Errorf("%s: %w", v.name, err))
			}
			res[v.name] = append(res[v.name], r)
		}
		fmt.Fprintf(os.Stderr, "cold-start round %d/%d done (load %s)\n", i+1, *runs, runinfo.LoadAvg())
	}
	fmt.Printf("Cold start under aws-lambda-rie, median of %d per row (load %s):\n\n", *runs, runinfo.LoadAvg())
	fmt.Println("| roots | first answer ms | Init Duration ms | JWKS fetched at ms | 2nd invoke ms |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, v := range variants {
		rs := res[v.name]
		col := func(g func(result) float64) float64 {
			xs := make([]float64, len(rs))
			for i, r := range rs {
				xs[i] = g(r)
			}
			return runinfo.Median(xs)
		}
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %.2f |\n", v.name,
			col(func(r result) float64 { return r.firstAnswer }),
			col(func(r result) float64 { return r.initDuration }),
			col(func(r result) float64 { return r.jwksAt }),
			col(func(r result) float64 { return r.warm }))
	}
}

// makeVariants writes the root files: the system bundle with the throwaway
// CA appended (what a deployed Lambda loads, plus the local CA), the CA alone,
// and an empty directory for SSL_CERT_DIR.
func makeVariants(work string, caPEM []byte) ([]variant, error) {
	sys, err := os.ReadFile(systemBundle)
	if err != nil {
		return nil, err
	}
	bundle := filepath.Join(work, "bundle-with-ca.pem")
	if err := os.WriteFile(bundle, append(append(sys, '\n'), caPEM...), 0o644); err != nil {
		return nil, err
	}
	ca := filepath.Join(work, "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o644); err != nil {
		return nil, err
	}
	empty := filepath.Join(work, "empty-cert-dir")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return nil, err
	}
	return []variant{
		{"system bundle + cert dirs (Go default)", []string{"SSL_CERT_FILE=" + bundle}},
		{"system bundle only (SSL_CERT_DIR empty)", []string{"SSL_CERT_FILE=" + bundle, "SSL_CERT_DIR=" + empty}},
		{"CA file only (SSL_CERT_DIR empty)", []string{"SSL_CERT_FILE=" + ca, "SSL_CERT_DIR=" + empty}},
	}, nil
}

func timePool(bin string, v variant) (ms float64, count string, err error) {
	cmd := exec.Command(bin)
	cmd.Env = append(baseEnv(), v.env...)
	out, err := cmd.Output()
	if err != nil {
		return 0, "", err
	}
	fields := strings.Fields(string(out))
	if len(fields) != 2 {
		return 0, "", fmt.Errorf("unexpected output %q", out)
	}
	us, err := strconv.ParseFloat(fields[0], 64)
	return us / 1000, fields[1], err
}

func timeGet(bin string, v variant, url string, prewarm bool) (ms float64, err error) {
	args := []string{"-get", url}
	if prewarm {
		args = append(args, "-prewarm")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(baseEnv(), v.env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, err
	}
	us, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	return us / 1000, err
}

type result struct {
	firstAnswer, initDuration, jwksAt, warm float64 // milliseconds
}

// initRe matches the emulator's init report (the REPORT line's own "Init
// Duration" only covers the emulator's bookkeeping in this version).
var initRe = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// coldStart starts a fresh emulator, waits until it listens, then times the
// first invocation (the emulator starts the bootstrap on it: exec, Go
// runtime, configuration, JWKS hydrate, first request) and a second one.
func coldStart(rie, bootstrap string, v variant, srv *jwksServer, event []byte, logPath string) (result, error) {
	var r result
	port, err := freePort()
	if err != nil {
		return r, err
	}
	apiPort, err := freePort()
	if err != nil {
		return r, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return r, err
	}
	defer logFile.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		bootstrap)
	cmd.Env = append(baseEnv(),
		"SMARTAUTH_PROVIDER=generic",
		"ISSUER="+fixture.Issuer,
		"JWKS_URL="+srv.url,
		"SERVICE_ROLE_ARN="+roleARN,
	)
	cmd.Env = append(cmd.Env, v.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer stop(cmd)
	if err := waitListening(addr, 20*time.Second); err != nil {
		return r, err
	}
	url := "http://" + addr + invokePath
	start := time.Now()
	srv.since(start)
	body, err := invoke(url, event)
	if err != nil {
		return r, err
	}
	r.firstAnswer = ms(time.Since(start))
	if !bytes.Contains(body, []byte(`"isAuthorized":true`)) {
		return r, fmt.Errorf("first answer is not an allow: %s (log %s)", body, logPath)
	}
	if at := srv.firstFetch(); !at.IsZero() {
		r.jwksAt = ms(at.Sub(start))
	} else {
		return r, fmt.Errorf("the Lambda did not fetch the JWKS during this cold start (log %s)", logPath)
	}
	warmStart := time.Now()
	if _, err := invoke(url, event); err != nil {
		return r, err
	}
	r.warm = ms(time.Since(warmStart))
	// The emulator logs its init report before the first invoke starts.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		log, err := os.ReadFile(logPath)
		if err != nil {
			return r, err
		}
		if m := initRe.FindSubmatch(log); m != nil {
			r.initDuration, err = strconv.ParseFloat(string(m[1]), 64)
			return r, err
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("no INIT REPORT in %s", logPath)
		}
	}
}

func invoke(url string, event []byte) ([]byte, error) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// stop ends the emulator's process group and the bootstrap's (the emulator
// starts the bootstrap in a process group of its own).
func stop(cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	for _, child := range children(pid) {
		if pgid, err := syscall.Getpgid(child); err == nil && pgid == child {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

// children lists the pids whose parent is pid (from /proc/*/stat).
func children(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may contain spaces, so cut at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if c, err := strconv.Atoi(filepath.Base(filepath.Dir(s))); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("emulator not listening on %s: %w", addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// jwksServer serves the JWKS over HTTPS on 127.0.0.1 with a certificate
// from a throwaway CA and records when it was first asked after since().
type jwksServer struct {
	url   string
	caPEM []byte
	srv   *http.Server
	mark  atomic.Int64 // unix ns: count fetches from here
	first atomic.Int64 // unix ns of the first fetch after mark, 0 if none
}

func startJWKS(jwks []byte, caPEM []byte, cert tls.Certificate, delay time.Duration) (*jwksServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var ln net.Listener = l
	if delay > 0 {
		ln = delayedListener{l, delay}
	}
	s := &jwksServer{url: "https://" + ln.Addr().String() + "/jwks", caPEM: caPEM}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now().UnixNano()
			if now >= s.mark.Load() {
				s.first.CompareAndSwap(0, now)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(jwks)
		}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// delayedListener holds back each connection's first write (the TLS
// server's first flight, with its certificate) by delay: a stand-in for the
// network time a Lambda spends (DNS, TCP, one TLS round trip) before it can
// verify the IdP's certificate.
type delayedListener struct {
	net.Listener
	delay time.Duration
}

func (l delayedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &delayedConn{Conn: c, delay: l.delay}, nil
}

type delayedConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *delayedConn) Write(b []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Write(b)
}

func (s *jwksServer) since(t time.Time) {
	s.first.Store(0)
	s.mark.Store(t.UnixNano())
}

func (s *jwksServer) firstFetch() time.Time {
	if ns := s.first.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

func (s *jwksServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// throwawayCA makes a P-256 CA and a server certificate for 127.0.0.1
// signed by it, both valid for a day.
func throwawayCA() (caPEM []byte, cert tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smartauth bench throwaway CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, cert, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	cert = tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), cert, nil
}

// baseEnv is the environment the emulator and the Lambda start from: PATH
// only, so no SSL_* or proxy variable of the caller leaks in.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH")}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coldstart:", err)
	os.Exit(1)
}
