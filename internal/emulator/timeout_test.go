package emulator

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve runs s on a loopback listener until the test ends.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// slowLambda answers an allow after delay.
func slowLambda(delay time.Duration) *fakeLambda {
	return &fakeLambda{answer: func(ev event) ([]byte, error) {
		time.Sleep(delay)
		return allowAnswer(ev.DatastoreEndpoint, "system/*.cruds", ""), nil
	}}
}

// The read timeout covers the headers, the longest invocation and the
// body: it was 30 s whatever --lambda-timeout (up to 60 s) allowed, so a
// body sent with a request whose Lambda took 31 s failed with 400.
func TestReadTimeoutCoversInvocation(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{}, func(c *Config) { c.InvokeTimeout = MaxInvokeTimeout })
	hs := s.httpServer()
	assert.Equal(t, headerTimeout, hs.ReadHeaderTimeout)
	assert.GreaterOrEqual(t, hs.ReadTimeout, headerTimeout+MaxInvokeTimeout+DefaultBodyTimeout)
	assert.GreaterOrEqual(t, hs.WriteTimeout, MaxInvokeTimeout+DefaultBodyTimeout)
}

// The body has BodyTimeout from the IdP answer, not from the request's
// start: a Lambda slower than BodyTimeout does not cost the body its time.
func TestBodyTimeoutCountsFromTheAnswer(t *testing.T) {
	const bodyTimeout = 200 * time.Millisecond
	s, _ := newTestServer(t, slowLambda(3*bodyTimeout), func(c *Config) { c.BodyTimeout = bodyTimeout })
	addr := serve(t, s)
	// A body of 100 KB (more than the server buffers with the headers).
	body := `{"resourceType":"Observation","status":"final","note":[{"text":"` + strings.Repeat("x", 100<<10) + `"}]}`
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+testBase+"Observation", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
}

// A body that does not arrive within BodyTimeout of the answer gets 408
// saying it timed out (it got 400 "reading the request body failed").
func TestBodyTimeout(t *testing.T) {
	const bodyTimeout = 200 * time.Millisecond
	s, logs := newTestServer(t, slowLambda(50*time.Millisecond), func(c *Config) { c.BodyTimeout = bodyTimeout })
	addr := serve(t, s)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	// The headers and part of the body; the rest never comes.
	_, err = fmt.Fprintf(conn, "POST %sObservation HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n{\"resourceType\":", testBase, testToken)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	elapsed := time.Since(start)
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	var oo map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&oo))
	is := oo["issue"].([]any)[0].(map[string]any)
	assert.Equal(t, "timeout", is["code"])
	assert.Contains(t, is["diagnostics"], "timed out")
	assert.Contains(t, is["diagnostics"], bodyTimeout.String())
	assert.GreaterOrEqual(t, elapsed, bodyTimeout)
	assert.Less(t, elapsed, 5*time.Second)
	assert.Contains(t, logs.String(), "reason=body-timeout")
}
