package tlsroots

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBundleTransportRetriesThroughFallback: a request that picked the
// bundle transport while the bundle was loading is sent again through the
// system-pool transport when the load fails, instead of failing with the
// load error. The bundle is a FIFO, so the load ends only when the test
// writes it, after the request has dialled.
func TestBundleTransportRetriesThroughFallback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	fifo := filepath.Join(t.TempDir(), "bundle.pem")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))

	base := http.DefaultTransport.(*http.Transport).Clone()
	dialled := make(chan struct{})
	var once sync.Once
	var d net.Dialer
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		once.Do(func() { close(dialled) })
		return d.DialContext(ctx, network, addr)
	}
	bt := newBundleTransport(base, fifo)
	defer bt.CloseIdleConnections()

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp, err := bt.RoundTrip(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	<-dialled // the request is on the bundle transport, waiting for the load
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = w.WriteString("not PEM")
	require.NoError(t, err)
	require.NoError(t, w.Close())

	r := <-done
	<-bt.ready
	require.ErrorContains(t, bt.err, "no certificates", "the load failed")
	require.NoError(t, r.err, "retried through the fallback")
	assert.Equal(t, http.StatusOK, r.status)
}

func TestReplayable(t *testing.T) {
	for _, tc := range []struct {
		method string
		body   bool
		want   bool
	}{
		{http.MethodGet, false, true},
		{http.MethodHead, false, true},
		{http.MethodPost, false, false},
		{http.MethodGet, true, false},
	} {
		var body io.Reader
		if tc.body {
			body = strings.NewReader("{}")
		}
		req, err := http.NewRequestWithContext(context.Background(), tc.method, "https://example.com/jwks", body)
		require.NoError(t, err)
		assert.Equal(t, tc.want, replayable(req), "%s body=%v", tc.method, tc.body)
	}
}
