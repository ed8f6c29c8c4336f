package smartauth

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ksSafety bounds every wait on a channel, so a broken test fails instead of
// hanging. It is never slept on.
const ksSafety = 10 * time.Second

// ksClock is a fake clock; tests move it with Advance.
type ksClock struct {
	mu  sync.Mutex
	now time.Time
}

func newKSClock() *ksClock {
	return &ksClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *ksClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ksClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ksServer is a JWKS endpoint on 127.0.0.1 that counts requests.
type ksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu            sync.Mutex
	status        int
	body          []byte
	cacheControl  string
	contentLength bool          // send an explicit Content-Length
	gzip          bool          // send the body gzip-compressed
	gate          chan struct{} // if set, requests wait for it to close
	hang          bool          // requests wait for the client to give up
}

func newKSServer(t *testing.T, body []byte) *ksServer {
	t.Helper()
	s := &ksServer{status: http.StatusOK, body: body}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *ksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	status, body, cc, cl, gz, gate, hang := s.status, s.body, s.cacheControl, s.contentLength, s.gzip, s.gate, s.hang
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if hang {
		<-r.Context().Done()
		return
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if gz {
		body = ksGzip(body)
		w.Header().Set("Content-Encoding", "gzip")
	}
	if cl {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *ksServer) set(f func(s *ksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// ksGzip compresses body.
func ksGzip(body []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(body)
	_ = zw.Close()
	return buf.Bytes()
}

// ksRemote wraps a RemoteKeySet under test with a fake clock and a channel
// fed by its error hook.
type ksRemote struct {
	*RemoteKeySet
	clock *ksClock
	errs  chan error
}

// The timeout and penalty come from o; the other fields are set here.
func newKSRemote(t *testing.T, s *ksServer, o RemoteOptions) *ksRemote {
	t.Helper()
	r := &ksRemote{clock: newKSClock(), errs: make(chan error, 100)}
	o.InsecureHTTP, o.HTTPClient, o.Now = true, s.Client(), r.clock.Now
	o.OnError = func(err error) { r.errs <- err }
	ks, err := NewRemoteKeySet(s.URL+"/jwks", o)
	require.NoError(t, err)
	r.RemoteKeySet = ks
	return r
}

func (r *ksRemote) nextErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errs:
		return err
	case <-time.After(ksSafety):
		t.Fatal("error hook not called")
		return nil
	}
}

// assertIdle checks that no fetch is running.
func (r *ksRemote) assertIdle(t *testing.T) {
	t.Helper()
	assert.True(t, r.idle(), "a fetch is in flight")
}

// awaitWaiting waits until n callers wait for a fetch.
func awaitWaiting(t *testing.T, waiting <-chan struct{}, n int) {
	t.Helper()
	for range n {
		select {
		case <-waiting:
		case <-time.After(ksSafety):
			t.Fatal("callers did not all wait")
		}
	}
}

// ksJWKS is a JWKS document with the named fixture keys.
func ksJWKS(t *testing.T, kids ...string) []byte {
	t.Helper()
	keys := ksTestKeys()
	var entries []map[string]any
	for _, kid := range kids {
		switch kid {
		case "rsa-a":
			entries = append(entries, ksJWK(t, &keys.rsa2048.PublicKey, map[string]any{"kid": kid, "alg": "RS256", "use": "sig"}))
		case "rsa-b":
			entries = append(entries, ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": kid, "alg": "RS256", "use": "sig"}))
		case "ec":
			entries = append(entries, ksJWK(t, &keys.p256.PublicKey, map[string]any{"kid": kid, "alg": "ES256"}))
		case "enc":
			entries = append(entries, ksJWK(t, &keys.rsa2048b.PublicKey, map[string]any{"kid": kid, "alg": "RSA-OAEP", "use": "enc"}))
		default:
			t.Fatalf("unknown fixture %q", kid)
		}
	}
	return ksDoc(t, entries...)
}

func TestRemoteKeySetHydrate(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a", "ec"))
	r := newKSRemote(t, s, RemoteOptions{})
	ctx := t.Context()

	require.NoError(t, r.Hydrate(ctx))
	assert.EqualValues(t, 1, s.hits.Load())
	r.settle()

	for range 10 {
		k, err := r.Key(ctx, "rsa-a")
		require.NoError(t, err)
		assert.Equal(t, "RS256", k.Algorithm)
	}
	k, err := r.Key(ctx, "ec")
	require.NoError(t, err)
	assert.Equal(t, "ES256", k.Algorithm)

	require.NoError(t, r.Hydrate(ctx), "second Hydrate is a no-op")
	assert.EqualValues(t, 1, s.hits.Load())
	r.assertIdle(t)

	require.NoError(t, r.Refresh(ctx), "Refresh always fetches")
	assert.EqualValues(t, 2, s.hits.Load())
	r.settle()
	assert.Empty(t, r.errs)
}

// TestRemoteKeySetConcurrentColdKey: 50 callers on a cold set, all waiting
// at once, share one HTTP request.
func TestRemoteKeySetConcurrentColdKey(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a", "ec"))
	gate := make(chan struct{})
	s.set(func(s *ksServer) { s.gate = gate })
	r := newKSRemote(t, s, RemoteOptions{})
	const n = 50
	waiting := make(chan struct{}, n)

	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		kid := "rsa-a"
		if i%2 == 1 {
			kid = "ec"
		}
		wg.Go(func() {
			k, err := r.Key(newWaitingCtx(t.Context(), waiting), kid)
			if err == nil && k.ID != kid {
				err = fmt.Errorf("got kid %q", k.ID)
			}
			results[i] = err
		})
	}
	awaitWaiting(t, waiting, n)
	close(gate)
	wg.Wait()
	for i, err := range results {
		require.NoError(t, err, "caller %d", i)
	}
	assert.EqualValues(t, 1, s.hits.Load())
	r.settle()
}

// TestRemoteKeySetRotation: the IdP rotates its keys; the new kid costs
// exactly one refetch and verifies a signature.
func TestRemoteKeySetRotation(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	r := newKSRemote(t, s, RemoteOptions{})
	ctx := t.Context()
	require.NoError(t, r.Hydrate(ctx))
	r.settle()

	s.set(func(s *ksServer) { s.body = ksJWKS(t, "rsa-b", "ec") })
	token := ksSign(t, ksTestKeys().rsa2048b, "RS256", "rsa-b")

	k, err := r.Key(ctx, "rsa-b")
	require.NoError(t, err)
	assert.EqualValues(t, 2, s.hits.Load())
	r.settle()
	require.NoError(t, ksVerify(t, k, token))
	require.Error(t, ksVerify(t, k, ksSign(t, ksTestKeys().rsa2048, "RS256", "rsa-b")), "old key's signature")

	k, err = r.Key(ctx, "ec")
	require.NoError(t, err, "other new keys came with the same fetch")
	assert.Equal(t, "ES256", k.Algorithm)
	assert.EqualValues(t, 2, s.hits.Load())
	r.assertIdle(t)
}

// TestRemoteKeySetMissPenalty: a flood of unknown kids (catalogue row 8)
// costs one refetch per penalty window.
func TestRemoteKeySetMissPenalty(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	r := newKSRemote(t, s, RemoteOptions{})
	ctx := t.Context()
	require.NoError(t, r.Hydrate(ctx))
	r.settle()

	// Concurrent unknown kids share one refetch.
	gate := make(chan struct{})
	s.set(func(s *ksServer) { s.gate = gate })
	const n = 20
	waiting := make(chan struct{}, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = r.Key(newWaitingCtx(ctx, waiting), fmt.Sprintf("unknown-%d", i))
		})
	}
	awaitWaiting(t, waiting, n)
	close(gate)
	wg.Wait()
	for _, err := range errs {
		require.ErrorIs(t, err, ErrKidNotFound)
	}
	assert.EqualValues(t, 2, s.hits.Load())
	r.settle()

	// Inside the window: fail at once, no fetch; cached kids still work.
	for i := range 100 {
		_, err := r.Key(ctx, fmt.Sprintf("flood-%d", i))
		require.ErrorIs(t, err, ErrKidNotFound)
	}
	k, err := r.Key(ctx, "rsa-a")
	require.NoError(t, err)
	assert.Equal(t, "rsa-a", k.ID)
	r.clock.Advance(defaultMissPenalty - time.Nanosecond)
	_, err = r.Key(ctx, "late")
	require.ErrorIs(t, err, ErrKidNotFound)
	assert.EqualValues(t, 2, s.hits.Load())
	r.assertIdle(t)

	// Past the window: one more refetch, then a new window.
	r.clock.Advance(time.Nanosecond)
	_, err = r.Key(ctx, "after-window")
	require.ErrorIs(t, err, ErrKidNotFound)
	assert.EqualValues(t, 3, s.hits.Load())
	r.settle()
	_, err = r.Key(ctx, "after-window-2")
	require.ErrorIs(t, err, ErrKidNotFound)
	assert.EqualValues(t, 3, s.hits.Load())

	// Explicit Refresh ignores the window.
	require.NoError(t, r.Refresh(ctx))
	assert.EqualValues(t, 4, s.hits.Load())
	r.settle()
	assert.Empty(t, r.errs)
}

func TestRemoteKeySetMissPenaltyOption(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	r := newKSRemote(t, s, RemoteOptions{MissPenalty: time.Minute})
	ctx := t.Context()
	require.NoError(t, r.Hydrate(ctx))
	_, err := r.Key(ctx, "x")
	require.ErrorIs(t, err, ErrKidNotFound)
	r.settle()
	r.clock.Advance(30 * time.Second)
	_, err = r.Key(ctx, "y")
	require.ErrorIs(t, err, ErrKidNotFound)
	assert.EqualValues(t, 2, s.hits.Load())
	r.clock.Advance(30 * time.Second)
	_, err = r.Key(ctx, "z")
	require.ErrorIs(t, err, ErrKidNotFound)
	assert.EqualValues(t, 3, s.hits.Load())
	r.settle()
}

// TestRemoteKeySetOneBackOffRule: one rule follows a failed fetch at cold
// start and an unknown kid after a good one; the window is
// min(MissPenalty, 1 s) until a set has loaded.
func TestRemoteKeySetOneBackOffRule(t *testing.T) {
	for _, tc := range []struct {
		name           string
		penalty, ccold time.Duration
	}{
		{"long penalty: 1 s at cold start", time.Minute, time.Second},
		{"default penalty: 1 s at cold start", defaultMissPenalty, time.Second},
		{"short penalty applies at cold start too", 200 * time.Millisecond, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newKSServer(t, ksJWKS(t, "rsa-a"))
			s.set(func(s *ksServer) { s.status = http.StatusBadGateway })
			r := newKSRemote(t, s, RemoteOptions{MissPenalty: tc.penalty})
			ctx := t.Context()
			_, err := r.Key(ctx, "rsa-a")
			require.ErrorIs(t, err, ErrKeySetUnavailable)
			require.ErrorIs(t, r.nextErr(t), ErrJWKSFetch)

			s.set(func(s *ksServer) { s.status = http.StatusOK })
			r.clock.Advance(tc.ccold - time.Nanosecond)
			_, err = r.Key(ctx, "rsa-a")
			require.ErrorIs(t, err, ErrKeySetUnavailable, "cold start, inside the window")
			assert.EqualValues(t, 1, s.hits.Load())
			r.clock.Advance(time.Nanosecond)
			_, err = r.Key(ctx, "rsa-a")
			require.NoError(t, err)
			assert.EqualValues(t, 2, s.hits.Load())

			_, err = r.Key(ctx, "unknown")
			require.ErrorIs(t, err, ErrKidNotFound)
			r.clock.Advance(tc.penalty - time.Nanosecond)
			_, err = r.Key(ctx, "unknown-2")
			require.ErrorIs(t, err, ErrKidNotFound)
			assert.EqualValues(t, 3, s.hits.Load(), "loaded set, inside the full window")
			r.clock.Advance(time.Nanosecond)
			_, err = r.Key(ctx, "unknown-3")
			require.ErrorIs(t, err, ErrKidNotFound)
			assert.EqualValues(t, 4, s.hits.Load())
			r.assertIdle(t)
		})
	}
}

// TestRemoteKeySetFailedRefreshKeepsLastGood covers catalogue row 31: a
// broken endpoint never replaces the last good set.
func TestRemoteKeySetFailedRefreshKeepsLastGood(t *testing.T) {
	oversize := append(ksJWKS(t, "rsa-a"), bytes.Repeat([]byte(" "), maxJWKSBody)...)
	tests := []struct {
		name    string
		breakIt func(*ksServer)
		want    error
		slow    bool // calls get a 200 ms deadline
	}{
		{"HTTP 500", func(s *ksServer) { s.status = http.StatusInternalServerError }, ErrJWKSFetch, false},
		{"HTTP 404", func(s *ksServer) { s.status = http.StatusNotFound }, ErrJWKSFetch, false},
		{"junk body", func(s *ksServer) { s.body = []byte("<html>maintenance</html>") }, ErrJWKSInvalid, false},
		{"no keys member", func(s *ksServer) { s.body = []byte(`{"error":"x"}`) }, ErrJWKSInvalid, false},
		{"empty set", func(s *ksServer) { s.body = []byte(`{"keys":[]}`) }, ErrNoUsableKeys, false},
		{"only dropped keys", func(s *ksServer) { s.body = ksJWKS(t, "enc") }, ErrNoUsableKeys, false},
		{"oversize streamed", func(s *ksServer) { s.body = oversize }, ErrJWKSFetch, false},
		{"oversize declared", func(s *ksServer) { s.body, s.contentLength = oversize, true }, ErrJWKSFetch, false},
		{"slow response", func(s *ksServer) { s.hang = true }, context.DeadlineExceeded, true},
		{"server down", func(s *ksServer) { s.Close() }, ErrJWKSFetch, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newKSServer(t, ksJWKS(t, "rsa-a"))
			r := newKSRemote(t, s, RemoteOptions{RequestTimeout: 5 * time.Second})
			require.NoError(t, r.Hydrate(t.Context()))
			r.settle()

			ctx := t.Context()
			if tc.slow {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
			}
			s.set(tc.breakIt)
			err := r.Refresh(ctx)
			require.ErrorIs(t, err, tc.want)
			r.settle()
			require.ErrorIs(t, r.nextErr(t), tc.want, "hook gets the refresh error")

			k, err := r.Key(ctx, "rsa-a")
			require.NoError(t, err, "last good set kept")
			assert.Equal(t, "rsa-a", k.ID)

			if tc.slow { // the first deadline has passed
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
				defer cancel()
			}
			_, err = r.Key(ctx, "rotated")
			require.ErrorIs(t, err, ErrKidNotFound)
			require.ErrorIs(t, err, tc.want, "miss error carries the refresh failure")
			r.settle()
			require.ErrorIs(t, r.nextErr(t), tc.want)

			_, err = r.Key(ctx, "rotated-2")
			require.ErrorIs(t, err, ErrKidNotFound, "penalty applies after a failed refresh too")
			r.assertIdle(t)
		})
	}
}

// TestRemoteKeySetGzipBodyCap: the body cap bounds the decompressed
// document. A gzipped JWKS under the cap loads; a small gzip body that
// inflates beyond the cap is refused and the last good set is kept.
func TestRemoteKeySetGzipBodyCap(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	s.set(func(s *ksServer) { s.gzip = true })
	r := newKSRemote(t, s, RemoteOptions{})
	require.NoError(t, r.Hydrate(t.Context()), "the transport decompresses the JWKS")

	bomb := append(ksJWKS(t, "rsa-b"), bytes.Repeat([]byte(" "), 4*maxJWKSBody)...)
	require.Less(t, len(ksGzip(bomb)), maxJWKSBody/10, "compressed, the body is far under the cap")
	s.set(func(s *ksServer) { s.body = bomb })
	err := r.Refresh(t.Context())
	require.ErrorIs(t, err, ErrJWKSFetch)
	require.ErrorContains(t, err, "body exceeds")
	require.ErrorIs(t, r.nextErr(t), ErrJWKSFetch)

	k, err := r.Key(t.Context(), "rsa-a")
	require.NoError(t, err, "last good set kept")
	assert.Equal(t, "rsa-a", k.ID)
	assert.EqualValues(t, 2, s.hits.Load())
	r.assertIdle(t)
}

// TestRemoteKeySetNeverGood: without any good fetch, Key fails with
// ErrKeySetUnavailable and each miss retries (the window is 1 s, not 10 s,
// until a set has loaded); the first success recovers.
func TestRemoteKeySetNeverGood(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	s.set(func(s *ksServer) { s.status = http.StatusServiceUnavailable })
	r := newKSRemote(t, s, RemoteOptions{})
	ctx := t.Context()

	err := r.Hydrate(ctx)
	require.ErrorIs(t, err, ErrJWKSFetch)
	r.settle()
	require.ErrorIs(t, r.nextErr(t), ErrJWKSFetch)

	for i := range 3 {
		_, err = r.Key(ctx, "rsa-a")
		require.ErrorIs(t, err, ErrKeySetUnavailable)
		require.ErrorIs(t, err, ErrJWKSFetch)
		assert.NotErrorIs(t, err, ErrKidNotFound)
		assert.EqualValues(t, 2+i, s.hits.Load(), "one fetch per penalty window")
		r.settle()
		require.ErrorIs(t, r.nextErr(t), ErrJWKSFetch)

		// Inside the window: fail at once with the last cause, no fetch.
		for range 20 {
			_, err = r.Key(ctx, "any-kid")
			require.ErrorIs(t, err, ErrKeySetUnavailable)
			require.ErrorIs(t, err, ErrJWKSFetch, "the last fetch error is kept as the cause")
		}
		r.clock.Advance(coldStartPenalty - time.Nanosecond)
		_, err = r.Key(ctx, "rsa-a")
		require.ErrorIs(t, err, ErrKeySetUnavailable)
		assert.EqualValues(t, 2+i, s.hits.Load(), "no fetch inside the penalty window")
		r.clock.Advance(time.Nanosecond)
	}

	s.set(func(s *ksServer) { s.body = []byte(`{"keys":[]}`); s.status = http.StatusOK })
	_, err = r.Key(ctx, "rsa-a")
	require.ErrorIs(t, err, ErrKeySetUnavailable)
	require.ErrorIs(t, err, ErrNoUsableKeys)
	r.settle()
	require.ErrorIs(t, r.nextErr(t), ErrNoUsableKeys)

	s.set(func(s *ksServer) { s.body = ksJWKS(t, "rsa-a") })
	_, err = r.Key(ctx, "rsa-a")
	require.ErrorIs(t, err, ErrNoUsableKeys, "still inside the penalty window: no fetch yet")
	r.clock.Advance(coldStartPenalty)
	k, err := r.Key(ctx, "rsa-a")
	require.NoError(t, err)
	assert.Equal(t, "rsa-a", k.ID)
	r.settle()
	assert.Empty(t, r.errs)
}

// TestRemoteKeySetCacheControl: a hit after the refresh deadline starts one
// background refresh; the deadline follows max-age within [floor, cap].
func TestRemoteKeySetCacheControl(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		want         time.Duration
	}{
		{"max-age", "public, max-age=300", 300 * time.Second},
		{"max-age under floor", "max-age=5", minRefresh},
		{"max-age zero", "max-age=0", minRefresh},
		{"no header", "", defaultRefresh},
		{"no-store", "no-store", minRefresh},
		{"no-cache with max-age", "no-cache, max-age=3600", minRefresh},
		{"case-insensitive names", "Max-Age=300", 300 * time.Second},
		{"malformed max-age", "max-age=soon", defaultRefresh},
		{"max-age over cap", "max-age=999999999999", maxRefresh},
		// httpcc refuses the quoted form (RFC 9111 §5.2.2.1 defines
		// max-age as a token): the header is unusable, the default applies.
		{"quoted max-age", `max-age="120"`, defaultRefresh},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newKSServer(t, ksJWKS(t, "rsa-a"))
			s.set(func(s *ksServer) { s.cacheControl = tc.cacheControl })
			r := newKSRemote(t, s, RemoteOptions{})
			ctx := t.Context()
			require.NoError(t, r.Hydrate(ctx))
			r.settle()

			r.clock.Advance(tc.want - time.Nanosecond)
			_, err := r.Key(ctx, "rsa-a")
			require.NoError(t, err)
			r.assertIdle(t)
			assert.EqualValues(t, 1, s.hits.Load())

			r.clock.Advance(time.Nanosecond)
			_, err = r.Key(ctx, "rsa-a")
			require.NoError(t, err, "the hit is served at once")
			_, err = r.Key(ctx, "rsa-a")
			require.NoError(t, err)
			r.settle()
			assert.EqualValues(t, 2, s.hits.Load(), "one background refresh")
			r.assertIdle(t)
			assert.Empty(t, r.errs)
		})
	}
}

// TestRemoteKeySetBackgroundRefreshFailure: a failing background refresh
// keeps the set, is reported, and is retried after the floor interval.
func TestRemoteKeySetBackgroundRefreshFailure(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	s.set(func(s *ksServer) { s.cacheControl = "max-age=60" })
	r := newKSRemote(t, s, RemoteOptions{})
	ctx := t.Context()
	require.NoError(t, r.Hydrate(ctx))
	r.settle()

	s.set(func(s *ksServer) { s.status = http.StatusBadGateway })
	r.clock.Advance(time.Minute)
	_, err := r.Key(ctx, "rsa-a")
	require.NoError(t, err)
	r.settle()
	require.ErrorIs(t, r.nextErr(t), ErrJWKSFetch)
	assert.EqualValues(t, 2, s.hits.Load())

	r.clock.Advance(minRefresh - time.Nanosecond)
	_, err = r.Key(ctx, "rsa-a")
	require.NoError(t, err, "last good set kept")
	r.assertIdle(t)
	assert.EqualValues(t, 2, s.hits.Load(), "no retry before the floor interval")

	s.set(func(s *ksServer) { s.status = http.StatusOK; s.body = ksJWKS(t, "rsa-b") })
	r.clock.Advance(time.Nanosecond)
	_, err = r.Key(ctx, "rsa-a")
	require.NoError(t, err)
	r.settle()
	assert.EqualValues(t, 3, s.hits.Load())

	_, err = r.Key(ctx, "rsa-b")
	require.NoError(t, err, "background refresh published the new set")
	_, err = r.Key(ctx, "rsa-a")
	require.ErrorIs(t, err, ErrKidNotFound, "removed key is gone")
	r.settle()
}

// TestRemoteKeySetWaiterCancel: a caller that gives up does not cancel the
// fetch other callers wait for.
func TestRemoteKeySetWaiterCancel(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	gate := make(chan struct{})
	s.set(func(s *ksServer) { s.gate = gate })
	r := newKSRemote(t, s, RemoteOptions{})
	waiting := make(chan struct{}, 2)

	ctxA, cancelA := context.WithCancel(t.Context())
	errA := make(chan error, 1)
	go func() {
		_, err := r.Key(newWaitingCtx(ctxA, waiting), "rsa-a")
		errA <- err
	}()
	<-waiting
	type result struct {
		k   *Key
		err error
	}
	resB := make(chan result, 1)
	go func() {
		k, err := r.Key(newWaitingCtx(t.Context(), waiting), "rsa-a")
		resB <- result{k, err}
	}()
	<-waiting

	cancelA()
	select {
	case err := <-errA:
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, ErrKeySetUnavailable)
	case <-time.After(ksSafety):
		t.Fatal("cancelled caller still waiting")
	}
	close(gate)
	select {
	case res := <-resB:
		require.NoError(t, res.err)
		assert.Equal(t, "rsa-a", res.k.ID)
	case <-time.After(ksSafety):
		t.Fatal("other caller hangs")
	}
	assert.EqualValues(t, 1, s.hits.Load())
	r.settle()
}

// TestRemoteKeySetFetchDeadline: a caller stops waiting at its own
// deadline; the fetch ends at the request timeout.
func TestRemoteKeySetFetchDeadline(t *testing.T) {
	t.Run("caller deadline", func(t *testing.T) {
		// The caller stops waiting at its own deadline; the fetch it started
		// runs on to the request timeout for the others.
		s := newKSServer(t, nil)
		s.set(func(s *ksServer) { s.hang = true })
		r := newKSRemote(t, s, RemoteOptions{RequestTimeout: 300 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.Key(ctx, "rsa-a")
		require.ErrorIs(t, err, ErrKeySetUnavailable)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 250*time.Millisecond, "the caller waited past its deadline")
		// The hook fires when the fetch itself ends: at the request timeout.
		require.ErrorIs(t, r.nextErr(t), context.DeadlineExceeded)
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the fetch ended with the caller's deadline")
		r.settle()
	})
	t.Run("short deadline does not fail the shared fetch", func(t *testing.T) {
		// A caller with 30 ms left starts the fetch; a patient caller joins;
		// the server answers after 100 ms with a rotated set. The patient
		// caller gets the new key, and no penalty window opens.
		s := newKSServer(t, ksJWKS(t, "rsa-a"))
		r := newKSRemote(t, s, RemoteOptions{RequestTimeout: 2 * time.Second})
		require.NoError(t, r.Hydrate(t.Context()))
		gate := make(chan struct{})
		s.set(func(s *ksServer) { s.body, s.gate = ksJWKS(t, "rsa-a", "rsa-b"), gate })
		time.AfterFunc(100*time.Millisecond, func() { close(gate) })
		short, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		shortErr, waiting := make(chan error, 1), make(chan struct{}, 1)
		go func() { _, err := r.Key(newWaitingCtx(short, waiting), "rsa-b"); shortErr <- err }()
		awaitWaiting(t, waiting, 1)
		k, err := r.Key(t.Context(), "rsa-b")
		require.NoError(t, err, "the patient caller shares the fetch")
		assert.Equal(t, "rsa-b", k.ID)
		require.ErrorIs(t, <-shortErr, context.DeadlineExceeded)
		_, err = r.Key(t.Context(), "rsa-b")
		require.NoError(t, err)
		assert.EqualValues(t, 2, s.hits.Load(), "Hydrate and one shared fetch")
		r.settle()
	})
	t.Run("request timeout", func(t *testing.T) {
		s := newKSServer(t, nil)
		s.set(func(s *ksServer) { s.hang = true })
		r := newKSRemote(t, s, RemoteOptions{RequestTimeout: 100 * time.Millisecond})
		_, err := r.Key(t.Context(), "rsa-a")
		require.ErrorIs(t, err, ErrKeySetUnavailable)
		require.ErrorIs(t, err, ErrJWKSFetch)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		r.settle()
	})
	t.Run("caller already done", func(t *testing.T) {
		s := newKSServer(t, ksJWKS(t, "rsa-a"))
		r := newKSRemote(t, s, RemoteOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := r.Key(ctx, "rsa-a")
		require.ErrorIs(t, err, ErrKeySetUnavailable)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, r.Refresh(ctx), context.Canceled)
		assert.Zero(t, s.hits.Load(), "no fetch for a finished context")
		r.assertIdle(t)
	})
}

func TestRemoteKeySetInvalidKidNeverFetches(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	r := newKSRemote(t, s, RemoteOptions{})
	for _, kid := range []string{"", string(make([]byte, maxKidLen+1))} {
		_, err := r.Key(t.Context(), kid)
		require.ErrorIs(t, err, ErrKidNotFound)
	}
	assert.Zero(t, s.hits.Load())
}

// TestRemoteKeySetDroppedKid: a kid the load policy dropped (Keycloak's
// use=enc key) is unknown, and the miss error says why.
func TestRemoteKeySetDroppedKid(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a", "enc"))
	r := newKSRemote(t, s, RemoteOptions{})
	require.NoError(t, r.Hydrate(t.Context()))
	_, err := r.Key(t.Context(), "enc")
	require.ErrorIs(t, err, ErrKidNotFound)
	assert.ErrorContains(t, err, "dropped by the load policy: "+dropUse)
	assert.EqualValues(t, 2, s.hits.Load())
	assert.Empty(t, r.errs, "dropped keys are not errors")
}

// ksFailingTransport fails every request: the tests that use it prove they
// reach no real network.
type ksFailingTransport struct{ calls atomic.Int64 }

func (f *ksFailingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.calls.Add(1)
	return nil, errors.New("ksFailingTransport: no network in tests")
}

func TestRemoteKeySetNoRealNetwork(t *testing.T) {
	ft := &ksFailingTransport{}
	hookErrs := make(chan error, 10)
	r, err := NewRemoteKeySet("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example/.well-known/jwks.json", RemoteOptions{
		HTTPClient: &http.Client{Transport: ft},
		OnError:    func(err error) { hookErrs <- err },
	})
	require.NoError(t, err)

	require.ErrorIs(t, r.Hydrate(t.Context()), ErrJWKSFetch)
	require.ErrorIs(t, <-hookErrs, ErrJWKSFetch)
	_, err = r.Key(t.Context(), "kid")
	require.ErrorIs(t, err, ErrKeySetUnavailable)
	require.ErrorContains(t, err, "no network in tests")
	require.ErrorIs(t, <-hookErrs, ErrJWKSFetch)
	assert.EqualValues(t, 2, ft.calls.Load())
}

func TestNewRemoteKeySetConfig(t *testing.T) {
	client := &http.Client{Transport: &ksFailingTransport{}}
	tests := []struct {
		name string
		url  string
		opts RemoteOptions
	}{
		{"http without insecure option", "http://127.0.0.1:8080/jwks", RemoteOptions{}},
		{"other scheme", "ftp://idp.example/jwks", RemoteOptions{InsecureHTTP: true}},
		{"relative URL", "/jwks", RemoteOptions{}},
		{"no host", "https:///jwks", RemoteOptions{}},
		{"bad URL", "https://idp.example/%zz", RemoteOptions{}},
		{"negative timeout", "https://idp.example/jwks", RemoteOptions{RequestTimeout: -time.Nanosecond}},
		{"negative penalty", "https://idp.example/jwks", RemoteOptions{MissPenalty: -time.Nanosecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.HTTPClient = client
			r, err := NewRemoteKeySet(tc.url, tc.opts)
			require.ErrorIs(t, err, ErrConfig)
			assert.Nil(t, r)
		})
	}

	r, err := NewRemoteKeySet("https://idp.example/jwks", RemoteOptions{HTTPClient: client})
	require.NoError(t, err)
	assert.Same(t, client, r.opts.HTTPClient)
	r, err = NewRemoteKeySet("http://127.0.0.1:1/jwks", RemoteOptions{InsecureHTTP: true, HTTPClient: client})
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1/jwks", r.url)

	t.Run("zero values select the defaults", func(t *testing.T) {
		r, err := NewRemoteKeySet("https://idp.example/jwks", RemoteOptions{})
		require.NoError(t, err)
		assert.Equal(t, defaultRequestTimeout, r.opts.RequestTimeout)
		assert.Equal(t, defaultMissPenalty, r.opts.MissPenalty)
		require.NotNil(t, r.opts.Now, "nil clock is time.Now")
		assert.WithinDuration(t, time.Now(), r.opts.Now(), time.Minute)
		require.NotNil(t, r.opts.HTTPClient, "nil client is the default client")
		assert.NotNil(t, r.opts.HTTPClient.CheckRedirect, "the default client follows no redirect")
		assert.Nil(t, r.opts.OnError)
	})
}

// TestRemoteKeySetDefaultClient: without HTTPClient the set builds its
// own client with a timeout, and follows no redirect.
func TestRemoteKeySetDefaultClient(t *testing.T) {
	var jwksHits atomic.Int64
	body := ksJWKS(t, "rsa-a")
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		jwksHits.Add(1)
		_, _ = w.Write(body)
	})
	mux.Handle("/moved", http.RedirectHandler("/jwks", http.StatusFound))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	r, err := NewRemoteKeySet(srv.URL+"/jwks", RemoteOptions{InsecureHTTP: true})
	require.NoError(t, err)
	assert.NotSame(t, http.DefaultClient, r.opts.HTTPClient)
	assert.NotSame(t, http.DefaultTransport, r.opts.HTTPClient.Transport)
	assert.Equal(t, defaultRequestTimeout, r.opts.HTTPClient.Timeout)
	tr, ok := r.opts.HTTPClient.Transport.(*http.Transport)
	require.True(t, ok)
	assert.Nil(t, tr.Proxy, "no proxy: the library reads no HTTPS_PROXY")
	require.NoError(t, r.Hydrate(t.Context()))
	assert.EqualValues(t, 1, jwksHits.Load())

	r, err = NewRemoteKeySet(srv.URL+"/moved", RemoteOptions{InsecureHTTP: true, RequestTimeout: 2 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, r.opts.HTTPClient.Timeout)
	err = r.Hydrate(t.Context())
	require.ErrorIs(t, err, ErrJWKSFetch)
	require.ErrorContains(t, err, "302")
	assert.EqualValues(t, 1, jwksHits.Load(), "redirect not followed")
}

// The allocation check runs without -race and -cover only (scripts/lint.sh
// runs the *Alloc* tests so): AllocsPerRun counts process-wide allocations.
func TestRemoteKeySetKeyHitAllocFree(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	s := newKSServer(t, ksJWKS(t, "rsa-a", "ec"))
	r := newKSRemote(t, s, RemoteOptions{})
	ctx := t.Context()
	require.NoError(t, r.Hydrate(ctx))
	r.settle()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Key(ctx, "ec"); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)

	// The penalty path is allocation-free too: a flood costs nothing.
	_, err := r.Key(ctx, "unknown")
	require.ErrorIs(t, err, ErrKidNotFound)
	r.settle()
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := r.Key(ctx, "unknown"); !errors.Is(err, ErrKidNotFound) {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkRemoteKeySetKeyHit(b *testing.B) {
	body := ksDoc(b,
		ksJWK(b, &ksTestKeys().rsa2048.PublicKey, map[string]any{"kid": "rsa-a", "alg": "RS256"}),
		ksJWK(b, &ksTestKeys().p256.PublicKey, map[string]any{"kid": "ec", "alg": "ES256"}),
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	r, err := NewRemoteKeySet(srv.URL, RemoteOptions{InsecureHTTP: true, HTTPClient: srv.Client()})
	require.NoError(b, err)
	require.NoError(b, r.Hydrate(b.Context()))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Key(ctx, "rsa-a"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRemoteKeySetOneFetchPerMissBurst: a flood of forged kids from many
// goroutines costs one fetch per penalty window. The window opens in the
// critical section that ends the fetch, so no miss starts a second fetch
// between the end of the first and its waiters' wake-up.
func TestRemoteKeySetOneFetchPerMissBurst(t *testing.T) {
	for range 5 {
		s := newKSServer(t, ksJWKS(t, "rsa-a"))
		r := newKSRemote(t, s, RemoteOptions{MissPenalty: time.Hour})
		require.NoError(t, r.Hydrate(t.Context()))
		var wg sync.WaitGroup
		stop := time.Now().Add(100 * time.Millisecond)
		for g := range 64 {
			wg.Go(func() {
				for i := 0; time.Now().Before(stop); i++ {
					_, _ = r.Key(t.Context(), fmt.Sprintf("forged-%d-%d", g, i))
				}
			})
		}
		wg.Wait()
		r.settle()
		require.EqualValues(t, 2, s.hits.Load(), "Hydrate and one miss-triggered fetch")
	}
}

// TestRemoteKeySetMissKidsBounded: a fetch remembers each distinct kid of
// its misses once, at most maxMissKids of them; more mark it a flood,
// which opens the window too.
func TestRemoteKeySetMissKidsBounded(t *testing.T) {
	for _, distinct := range []int{4, maxMissKids + 8} {
		s := newKSServer(t, ksJWKS(t, "rsa-a"))
		r := newKSRemote(t, s, RemoteOptions{RequestTimeout: 2 * time.Second, MissPenalty: time.Hour})
		require.NoError(t, r.Hydrate(t.Context()))
		s.set(func(s *ksServer) { s.hang = true })
		for n := range 10 * distinct {
			ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
			_, _ = r.Key(ctx, fmt.Sprintf("forged-%d", n%distinct))
			cancel()
		}
		r.mu.Lock()
		kids, overflow := len(r.inflight.kids), r.inflight.overflow
		r.mu.Unlock()
		assert.Equal(t, min(distinct, maxMissKids), kids, "%d distinct kids", distinct)
		assert.Equal(t, distinct > maxMissKids, overflow, "%d distinct kids", distinct)
		r.settle()
		_, err := r.Key(t.Context(), "forged-0")
		require.ErrorIs(t, err, ErrKidNotFound)
		assert.EqualValues(t, 2, s.hits.Load(), "inside the window: no new fetch")
	}
}

// TestRemoteKeySetMissJoiningRefresh: a miss for a just-rotated kid that
// joins a background refresh begun before the rotation fails, but opens no
// window: the next miss fetches again and finds the key.
func TestRemoteKeySetMissJoiningRefresh(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	r := newKSRemote(t, s, RemoteOptions{MissPenalty: time.Hour})
	require.NoError(t, r.Hydrate(t.Context()))
	gate := make(chan struct{})
	s.set(func(s *ksServer) { s.gate = gate })
	r.clock.Advance(defaultRefresh)
	_, err := r.Key(t.Context(), "rsa-a") // a due hit starts a background refresh
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.hits.Load() == 2 }, ksSafety, time.Millisecond)
	s.set(func(s *ksServer) { s.body, s.gate = ksJWKS(t, "rsa-a", "rsa-b"), nil }) // rotation
	done, waiting := make(chan error, 1), make(chan struct{}, 1)
	go func() { _, err := r.Key(newWaitingCtx(t.Context(), waiting), "rsa-b"); done <- err }()
	awaitWaiting(t, waiting, 1)
	close(gate) // the refresh answers with the old set
	require.ErrorIs(t, <-done, ErrKidNotFound)
	k, err := r.Key(t.Context(), "rsa-b")
	require.NoError(t, err, "no window from a fetch the miss did not start")
	assert.Equal(t, "rsa-b", k.ID)
	assert.EqualValues(t, 3, s.hits.Load())
}

// TestRemoteKeySetFrozenFetchOpensNoFreshWindow: a fetch that outlives its
// Lambda invocation and ends after a freeze opens no window reaching past
// MissPenalty after its own deadline.
func TestRemoteKeySetFrozenFetchOpensNoFreshWindow(t *testing.T) {
	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	r := newKSRemote(t, s, RemoteOptions{RequestTimeout: 200 * time.Millisecond, MissPenalty: time.Hour})
	require.NoError(t, r.Hydrate(t.Context()))
	s.set(func(s *ksServer) { s.hang = true })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := r.Key(ctx, "rsa-b")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	r.clock.Advance(2 * time.Hour) // the environment was frozen
	s.set(func(s *ksServer) { s.hang, s.body = false, ksJWKS(t, "rsa-a", "rsa-b") })
	r.settle() // the leftover fetch fails at its request timeout
	k, err := r.Key(t.Context(), "rsa-b")
	require.NoError(t, err, "no window from a fetch begun two hours ago")
	assert.Equal(t, "rsa-b", k.ID)
}

// TestRemoteKeySetWindowExtremes: huge options (a common spelling of "no
// limit") keep the window working, and an injected clock stepped back
// does not stretch it past MissPenalty.
func TestRemoteKeySetWindowExtremes(t *testing.T) {
	for _, o := range []RemoteOptions{{RequestTimeout: math.MaxInt64}, {MissPenalty: math.MaxInt64}, {RequestTimeout: time.Second}} {
		s := newKSServer(t, ksJWKS(t, "rsa-a"))
		r := newKSRemote(t, s, o)
		require.NoError(t, r.Hydrate(t.Context()))
		for i := range 5 {
			_, err := r.Key(t.Context(), fmt.Sprintf("forged-%d", i))
			require.ErrorIs(t, err, ErrKidNotFound)
			r.settle()
		}
		assert.EqualValues(t, 2, s.hits.Load(), "RequestTimeout %v, MissPenalty %v: one fetch for 5 forged kids", o.RequestTimeout, o.MissPenalty)
	}

	s := newKSServer(t, ksJWKS(t, "rsa-a"))
	r := newKSRemote(t, s, RemoteOptions{})
	require.NoError(t, r.Hydrate(t.Context()))
	_, err := r.Key(t.Context(), "forged")
	require.ErrorIs(t, err, ErrKidNotFound)
	r.settle()
	r.clock.Advance(-time.Hour)
	s.set(func(s *ksServer) { s.body = ksJWKS(t, "rsa-a", "rsa-b") })
	r.clock.Advance(11 * time.Second)
	k, err := r.Key(t.Context(), "rsa-b")
	require.NoError(t, err, "rotated kid 11 s after the window opened, clock stepped back 1 h")
	assert.Equal(t, "rsa-b", k.ID)
}
