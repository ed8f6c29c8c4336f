package smartauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/httpcc"
)

const (
	defaultRequestTimeout = 500 * time.Millisecond // RemoteOptions.RequestTimeout
	defaultMissPenalty    = 10 * time.Second       // RemoteOptions.MissPenalty
	coldStartPenalty      = time.Second            // penalty cap while no set has ever loaded
	maxJWKSBody           = 64 << 10               // bytes, after any decompression
	minRefresh            = time.Minute            // refresh interval floor; retry interval of a failing background refresh
	maxRefresh            = 24 * time.Hour         // refresh interval cap
	defaultRefresh        = 15 * time.Minute       // without a usable Cache-Control max-age
)

// RemoteOptions configures a RemoteKeySet. The zero value of each field
// selects its default.
type RemoteOptions struct {
	// HTTPClient fetches the JWKS; its redirect policy applies, and
	// RequestTimeout too. Default: a client that follows no redirect, uses
	// no proxy and trusts Go's system roots (loading starts in
	// NewRemoteKeySet).
	HTTPClient *http.Client
	// RequestTimeout bounds each fetch (default 500 ms). A caller stops
	// waiting at its own context deadline; the fetch it shares with others
	// does not. Negative is an error.
	RequestTimeout time.Duration
	// MissPenalty is the back-off window (see RemoteKeySet; default 10 s).
	// Negative is an error.
	MissPenalty time.Duration
	// Now is the clock of the refresh schedule and penalty window (default
	// time.Now). Fetch timeouts use real time.
	Now func() time.Time
	// OnError receives every failed fetch (the key set never logs). It runs
	// on the fetch's goroutine after waiters are released: it must be quick
	// and safe for concurrent use.
	OnError func(error)
	// InsecureHTTP allows an http:// JWKS URL, for tests and local IdPs. It
	// MUST NOT be set in production: anyone on the path could swap keys.
	InsecureHTTP bool
}

// RemoteKeySet is a KeySet backed by one issuer's JWKS URL, modelled on
// aws-jwt-verify's cache:
//
//   - Key finds a kid in an immutable snapshot without I/O or allocation.
//     Once the snapshot is due (Cache-Control max-age clamped to
//     [1 min, 24 h], 15 min without one, no-cache/no-store as the 1 min
//     floor), a hit also starts one background fetch without waiting; a
//     failing one is retried once a minute.
//   - A miss (unknown kid, or no set yet) starts one fetch shared by all
//     concurrent callers, and looks again.
//   - Back-off: when a fetch a miss started leaves any kid its misses asked
//     for unknown (also one whose caller stopped waiting; more than 16
//     distinct kids count as a flood), the penalty window opens for
//     MissPenalty (10 s), at most 1 s while no set has ever loaded, and
//     ends at most MissPenalty after the fetch's own deadline. A miss that
//     joins a background or Refresh fetch opens none. Inside it every miss fails at once with ErrKidNotFound, or
//     ErrKeySetUnavailable and the last fetch error when no set ever
//     loaded; known kids keep working. A flood of forged kids, or an
//     outage at cold start, costs one fetch per window.
//     Hydrate and Refresh ignore the window.
//   - A failed fetch keeps the last good set and goes to
//     RemoteOptions.OnError. The body is capped at 64 KiB after any
//     transport decompression.
//
// No goroutine of its own outlives a fetch (the default client's transport
// keeps idle connections; the system trust roots load once per process, in
// the background from NewRemoteKeySet). RemoteKeySet does NOT follow OIDC
// discovery, trust jku/x5u headers, or retry within a fetch. It is safe
// for concurrent use; build one per issuer.
type RemoteKeySet struct {
	url, urlText string        // urlText has the password redacted, for messages
	errPenalty   error         // prebuilt: every miss inside the window returns it
	opts         RemoteOptions // defaults filled in; read-only after construction

	snap       atomic.Pointer[keySnapshot] // nil until the first good fetch
	refreshDue atomic.Int64                // UnixNano, injected clock

	mu        sync.Mutex
	inflight  *fetchCall // the fetch all callers currently share
	missFrom  time.Time  // start of the penalty window, injected clock
	missUntil time.Time  // its end; a clock stepped back before missFrom is outside it
	lastErr   error      // cause of the last fetch if it failed
}

// keySnapshot is one good JWKS, never modified after publication.
type keySnapshot struct {
	keys    map[string]*Key
	dropped map[string]string // kid → why the load policy dropped it
}

func (s *keySnapshot) key(kid string) (*Key, bool) {
	if s == nil {
		return nil, false
	}
	k, ok := s.keys[kid]
	return k, ok
}

// fetchCall is one fetch; err is valid once done is closed.
type fetchCall struct {
	done    chan struct{}
	err     error
	started time.Time // injected clock
	// kids are the distinct kids of the misses that joined a fetch a miss
	// started (r.mu), at most maxMissKids; overflow: more came.
	kids     []string
	overflow bool
}

// maxMissKids bounds fetchCall.kids: more distinct unknown kids in one
// fetch are a flood.
const maxMissKids = 16

// NewRemoteKeySet returns a key set for the https JWKS URL jwksURL. It
// does no network I/O (call Hydrate at init; the default client starts
// loading the system trust roots in the background); invalid arguments
// wrap ErrConfig.
func NewRemoteKeySet(jwksURL string, opts RemoteOptions) (*RemoteKeySet, error) {
	u, err := url.Parse(jwksURL)
	switch {
	case err != nil:
	case u.Host == "" || u.Scheme != "https" && (u.Scheme != "http" || !opts.InsecureHTTP):
		err = fmt.Errorf("JWKS URL %q is not absolute https (http needs InsecureHTTP)", u.Redacted())
	case opts.RequestTimeout < 0 || opts.MissPenalty < 0:
		err = errors.New("negative request timeout or miss penalty")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: remote key set: %w", ErrConfig, err)
	}
	opts.RequestTimeout = cmp.Or(opts.RequestTimeout, defaultRequestTimeout)
	opts.MissPenalty = cmp.Or(opts.MissPenalty, defaultMissPenalty)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		rt := defaultJWKSTransport() // roots.go: system roots, loading started now
		noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		opts.HTTPClient = &http.Client{Transport: rt, Timeout: opts.RequestTimeout, CheckRedirect: noRedirect}
	}
	return &RemoteKeySet{url: u.String(), urlText: u.Redacted(), opts: opts,
		errPenalty: fmt.Errorf("%w: unknown kid inside the miss penalty window of %s", ErrKidNotFound, u.Redacted()),
	}, nil
}

// Hydrate fetches the JWKS unless a set is loaded. A failed Hydrate is not
// fatal: the next Key call fetches again.
func (r *RemoteKeySet) Hydrate(ctx context.Context) error {
	if r.snap.Load() != nil {
		return nil
	}
	return r.Refresh(ctx)
}

// Refresh fetches the JWKS now (sharing a fetch in flight) and waits for
// it or ctx. On failure the last good set is kept and the error (wrapping
// ErrJWKSFetch, ErrJWKSInvalid, ErrNoUsableKeys, or ctx.Err()) returned.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	r.mu.Lock()
	c, err := r.awaitLocked(ctx, "")
	if err != nil {
		return fmt.Errorf("smartauth: JWKS refresh: %w", err)
	}
	return c.err
}

// Key returns the key for kid (see RemoteKeySet). Errors wrap
// ErrKidNotFound or, when no fetch ever succeeded, ErrKeySetUnavailable
// (an empty or over-long kid is always ErrKidNotFound).
// Key does NOT compare the header alg with Key.Algorithm; the caller must.
func (r *RemoteKeySet) Key(ctx context.Context, kid string) (*Key, error) {
	if k, ok := r.snap.Load().key(kid); ok {
		// Once due, one hit moves the deadline by the floor (so concurrent
		// hits start one fetch) and starts a background fetch.
		now, due := r.opts.Now().UnixNano(), r.refreshDue.Load()
		if now >= due && r.refreshDue.CompareAndSwap(due, now+int64(minRefresh)) {
			r.mu.Lock()
			r.startLocked(context.Background())
			r.mu.Unlock()
		}
		return k, nil
	}
	return r.miss(ctx, kid)
}

func (r *RemoteKeySet) miss(ctx context.Context, kid string) (*Key, error) {
	if kid == "" || len(kid) > maxKidLen { // the load policy admits no such kid
		return nil, fmt.Errorf("%w: kid empty or longer than %d bytes", ErrKidNotFound, maxKidLen)
	}
	r.mu.Lock()
	s, last := r.snap.Load(), r.lastErr
	if k, ok := s.key(kid); ok { // published while we were waiting for the lock
		r.mu.Unlock()
		return k, nil
	}
	if now := r.opts.Now(); !now.Before(r.missFrom) && now.Before(r.missUntil) {
		r.mu.Unlock()
		if s != nil {
			return nil, r.errPenalty
		}
		return nil, fmt.Errorf("%w: inside the miss penalty window after a failed fetch: %w", ErrKeySetUnavailable, last)
	}
	c, err := r.awaitLocked(ctx, kid)
	if err != nil { // the caller gave up; a fetch in flight goes on for the others
		switch {
		case r.snap.Load() != nil:
			return nil, fmt.Errorf("%w: refresh not awaited: %w", ErrKidNotFound, err)
		case last != nil:
			return nil, fmt.Errorf("%w: %w (last fetch: %w)", ErrKeySetUnavailable, err, last)
		}
		return nil, fmt.Errorf("%w: %w", ErrKeySetUnavailable, err)
	}

	s = r.snap.Load() // if a miss started the fetch and kid is still unknown, it opened the window
	if k, ok := s.key(kid); ok {
		return k, nil
	}
	switch {
	case s == nil:
		return nil, fmt.Errorf("%w: %w", ErrKeySetUnavailable, c.err)
	case c.err != nil:
		return nil, fmt.Errorf("%w: refresh failed, last good set kept: %w", ErrKidNotFound, c.err)
	case s.dropped[kid] != "":
		return nil, fmt.Errorf("%w: JWKS entry dropped by the load policy: %s", ErrKidNotFound, s.dropped[kid])
	}
	return nil, fmt.Errorf("%w: not in JWKS after refresh", ErrKidNotFound)
}

// awaitLocked starts or joins a fetch unless ctx is done (a miss names its
// kid), releases r.mu, and waits for the fetch or ctx, preferring a
// finished fetch.
func (r *RemoteKeySet) awaitLocked(ctx context.Context, kid string) (*fetchCall, error) {
	if err := ctx.Err(); err != nil {
		r.mu.Unlock()
		return nil, err
	}
	fresh := r.inflight == nil
	c := r.startLocked(ctx)
	// A miss joining a fetch a hit or Refresh started (maybe before a key
	// rotation) leaves the window alone: the next miss fetches again.
	switch {
	case kid == "" || (!fresh && c.kids == nil) || slices.Contains(c.kids, kid):
	case len(c.kids) < maxMissKids:
		c.kids = append(c.kids, kid)
	default:
		c.overflow = true
	}
	r.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		select {
		case <-c.done:
		default:
			return nil, ctx.Err()
		}
	}
	return c, nil
}

// startLocked returns the fetch in flight, starting one if none; r.mu is
// held. parent lends its values, not its cancellation or deadline: a caller
// with little time left must not fail the fetch others share (each caller
// stops waiting at its own deadline). When a fetch a miss started ends, a
// kid its misses asked for that is still unknown (or more than maxMissKids
// of them) opens the penalty window, in the same critical section that
// ends the fetch, so no miss slips in between.
// The window ends at most MissPenalty after the fetch's own deadline: a
// fetch frozen with its Lambda environment cannot open a fresh one on thaw.
func (r *RemoteKeySet) startLocked(parent context.Context) *fetchCall {
	if r.inflight != nil {
		return r.inflight
	}
	c := &fetchCall{done: make(chan struct{}), started: r.opts.Now()}
	r.inflight = c
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), r.opts.RequestTimeout)
	go func() {
		defer cancel()
		s, interval, err := r.fetch(ctx)
		now := r.opts.Now()
		r.mu.Lock()
		if err == nil {
			// Deadline first: a hit on the new snapshot must not see the old one.
			r.refreshDue.Store(now.Add(interval).UnixNano())
			r.snap.Store(s)
		}
		cur := r.snap.Load()
		if c.overflow || slices.ContainsFunc(c.kids, func(kid string) bool { _, ok := cur.key(kid); return !ok }) {
			penalty := r.opts.MissPenalty
			if cur == nil {
				penalty = min(penalty, coldStartPenalty)
			}
			until := now.Add(penalty)
			// Two Adds: the sum of two huge durations would overflow.
			if last := c.started.Add(r.opts.RequestTimeout).Add(penalty); last.Before(until) {
				until = last
			}
			if until.After(r.missUntil) {
				r.missFrom, r.missUntil = now, until
			}
		}
		r.lastErr, c.err, r.inflight = err, err, nil
		r.mu.Unlock()
		close(c.done)
		if err != nil && r.opts.OnError != nil {
			r.opts.OnError(err)
		}
	}()
	return c
}

// fetch GETs and parses the JWKS and its refresh interval.
func (r *RemoteKeySet) fetch(ctx context.Context) (*keySnapshot, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrJWKSFetch, r.urlText, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrJWKSFetch, r.urlText, err)
	}
	defer resp.Body.Close()
	// The transport has undone any gzip: the cap bounds the document.
	var body []byte
	if resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP status %d", resp.StatusCode)
	} else if body, err = io.ReadAll(io.LimitReader(resp.Body, maxJWKSBody+1)); err == nil && len(body) > maxJWKSBody {
		err = fmt.Errorf("body exceeds %d bytes", maxJWKSBody)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrJWKSFetch, r.urlText, err)
	}
	keys, dropped, err := ParseJWKS(body)
	if err != nil {
		return nil, 0, fmt.Errorf("smartauth: JWKS from %s: %w", r.urlText, err)
	}
	s := &keySnapshot{keys: keys, dropped: make(map[string]string, len(dropped))}
	for _, d := range dropped {
		s.dropped[d.ID] = d.Reason
	}
	return s, refreshInterval(resp.Header), nil
}

// refreshInterval reads Cache-Control (RFC 9111 §5.2.2) as RemoteKeySet
// describes.
func refreshInterval(h http.Header) time.Duration {
	d := defaultRefresh
	directives, err := httpcc.ParseResponseDirectives(strings.Join(h.Values("Cache-Control"), ","))
	if err != nil {
		return d
	}
	for _, dir := range directives {
		switch strings.ToLower(dir.Name) {
		case httpcc.NoCache, httpcc.NoStore:
			return minRefresh
		case httpcc.MaxAge:
			if secs, err := strconv.ParseUint(dir.Value, 10, 63); err == nil {
				d = time.Duration(min(secs, uint64(maxRefresh/time.Second))) * time.Second
			}
		}
	}
	return min(max(d, minRefresh), maxRefresh)
}
