package smartauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of RemoteKeySet; each can be changed with the RemoteOption named
// in its comment.
const (
	defaultRequestTimeout  = 500 * time.Millisecond // WithRequestTimeout
	defaultMaxBodySize     = 64 << 10               // WithMaxBodySize
	defaultMissPenalty     = 10 * time.Second       // WithMissPenalty
	defaultColdBackoff     = time.Second            // WithColdStartBackoff
	defaultMinRefresh      = time.Minute            // WithRefreshInterval
	defaultMaxRefresh      = 24 * time.Hour         // WithRefreshInterval
	defaultRefreshInterval = 15 * time.Minute       // WithDefaultRefreshInterval
)

// RemoteOption configures a RemoteKeySet. Options are applied in order by
// NewRemoteKeySet, which validates the result.
type RemoteOption func(*remoteOptions)

type remoteOptions struct {
	client         *http.Client
	clientSet      bool
	requestTimeout time.Duration
	maxBody        int64
	missPenalty    time.Duration
	coldBackoff    time.Duration
	minRefresh     time.Duration
	maxRefresh     time.Duration
	defaultRefresh time.Duration
	now            func() time.Time
	onError        func(error)
	onDropped      func([]DroppedKey)
	allowPlainHTTP bool
	errs           []error
}

// WithHTTPClient sets the client used to fetch the JWKS. A nil client is a
// configuration error. The fetch is still bounded by the request timeout
// (WithRequestTimeout) through its context, even if c.Timeout is zero. The
// client's own redirect policy applies; the default client does not follow
// redirects (a 3xx answer is a failed fetch), so keys only ever come from
// the configured URL.
//
// Without this option NewRemoteKeySet builds a dedicated client with
// Timeout set to the request timeout and a clone of
// http.DefaultTransport; it never uses http.DefaultClient.
func WithHTTPClient(c *http.Client) RemoteOption {
	return func(o *remoteOptions) {
		o.client = c
		o.clientSet = true
	}
}

// WithRequestTimeout bounds each JWKS fetch (default 500 ms, which leaves
// room inside HealthLake's 1 s budget). A fetch started on behalf of a
// caller is also bounded by that caller's context deadline, whichever is
// sooner. Must be positive.
func WithRequestTimeout(d time.Duration) RemoteOption {
	return func(o *remoteOptions) { o.requestTimeout = d }
}

// WithMaxBodySize caps the JWKS response body in bytes (default 64 KiB),
// after any transport decompression. A larger body is a failed fetch and
// the last good set is kept. Must be positive.
func WithMaxBodySize(n int64) RemoteOption {
	return func(o *remoteOptions) { o.maxBody = n }
}

// WithMissPenalty sets the penalty window (default 10 s): after a refresh
// triggered by an unknown kid still lacks that kid, further unknown kids
// fail at once with ErrKidNotFound, without any fetch, until the window
// ends. Known kids keep working. Must be positive; values under 10 s are
// not recommended (RFC 8725 §2.9, refetch storms).
func WithMissPenalty(d time.Duration) RemoteOption {
	return func(o *remoteOptions) { o.missPenalty = d }
}

// WithColdStartBackoff sets how long lookups fail at once with
// ErrKeySetUnavailable after a fetch failed while the set has never loaded
// (default 1 s). It keeps a JWKS outage at cold start from turning every
// request into a fetch that eats the Lambda budget. Hydrate and Refresh are
// not affected. Must be positive.
func WithColdStartBackoff(d time.Duration) RemoteOption {
	return func(o *remoteOptions) { o.coldBackoff = d }
}

// WithRefreshInterval sets the floor and the cap of the periodic refresh
// interval (defaults 1 min and 24 h). After each successful fetch the set
// is due for refresh after the response's Cache-Control max-age (or the
// default interval, see WithDefaultRefreshInterval), clamped to
// [minInterval, maxInterval]. "no-cache" and "no-store" count as max-age=0,
// so the floor applies. Requires 0 < minInterval <= maxInterval.
func WithRefreshInterval(minInterval, maxInterval time.Duration) RemoteOption {
	return func(o *remoteOptions) {
		o.minRefresh = minInterval
		o.maxRefresh = maxInterval
	}
}

// WithDefaultRefreshInterval sets the refresh interval used when the JWKS
// response has no usable Cache-Control max-age (default 15 min). It is
// clamped to the bounds of WithRefreshInterval. Must be positive.
func WithDefaultRefreshInterval(d time.Duration) RemoteOption {
	return func(o *remoteOptions) { o.defaultRefresh = d }
}

// WithClock sets the clock used for the refresh schedule and the penalty
// window (default time.Now). Fetch timeouts always use real time, as they
// are context deadlines. A nil clock is a configuration error.
func WithClock(now func() time.Time) RemoteOption {
	return func(o *remoteOptions) {
		if now == nil {
			o.errs = append(o.errs, errors.New("WithClock: nil clock"))
			return
		}
		o.now = now
	}
}

// WithErrorHook sets a function that receives every failed JWKS fetch
// (network error, status, size, invalid document, no usable key), whoever
// triggered it. The key set never logs. The hook is called from the
// goroutine that ran the fetch, after waiting callers have been released;
// it must be safe for concurrent use and should return quickly.
func WithErrorHook(hook func(error)) RemoteOption {
	return func(o *remoteOptions) { o.onError = hook }
}

// WithDroppedKeysHook sets a function that receives the entries the load
// policy dropped (see ParseJWKS) after each fetch that dropped at least
// one, for diagnostics such as "why is my kid unknown". It is called like
// the error hook. Keycloak, for example, always publishes a use=enc key,
// so expect a call per fetch there.
func WithDroppedKeysHook(hook func([]DroppedKey)) RemoteOption {
	return func(o *remoteOptions) { o.onDropped = hook }
}

// WithInsecureHTTP allows an http:// JWKS URL. Without it NewRemoteKeySet
// accepts only https.
//
// It MUST NOT be used in production: keys fetched over plain HTTP can be
// replaced by anyone on the path, who can then mint accepted tokens. It
// exists for tests and local identity providers (http://127.0.0.1).
func WithInsecureHTTP() RemoteOption {
	return func(o *remoteOptions) { o.allowPlainHTTP = true }
}

// RemoteKeySet is a KeySet backed by one JWKS URL (one issuer), modelled
// on aws-jwt-verify's cache:
//
//   - Hydrate fetches the set at Lambda init, outside the handler.
//   - Key looks the kid up in an immutable snapshot, without I/O or
//     allocation on a hit. When the snapshot's refresh interval (from
//     Cache-Control max-age, clamped) has passed, a hit also starts one
//     background refresh, bounded by the request timeout; the caller does
//     not wait for it.
//   - An unknown kid triggers one refresh, shared by all concurrent
//     callers (one HTTP request), then a second lookup. If the kid is still
//     missing, Key fails with ErrKidNotFound and the penalty window starts:
//     during it, unknown kids fail at once without any fetch.
//   - A failed fetch keeps the last good set and is reported to the error
//     hook. Until a first fetch succeeds, every Key call that misses tries a
//     (shared) fetch and fails with ErrKeySetUnavailable if it cannot.
//
// No goroutine outlives a fetch: there is no ticker or refresh loop. In
// Lambda a background fetch may be frozen with the execution environment
// between invocations and then fail on its deadline, which is harmless.
//
// RemoteKeySet does NOT follow OIDC discovery, trust jku/x5u headers, or
// retry within a fetch; the URL given to NewRemoteKeySet is the only
// source of keys. It is safe for concurrent use; build it once per issuer.
type RemoteKeySet struct {
	url           string // for requests
	urlText       string // for messages: password redacted
	errPenalty    error  // prebuilt: returned for every miss inside the window
	remoteOptions        // validated settings, read-only after construction

	snap       atomic.Pointer[keySnapshot] // nil until the first good fetch
	refreshDue atomic.Int64                // UnixNano (injected clock) when a hit starts a background refresh

	mu           sync.Mutex
	inflight     *fetchCall // the fetch all callers currently share, if any
	penaltyUntil time.Time  // injected clock
	coldUntil    time.Time  // no fetch on a miss before this while the set never loaded
	lastErr      error      // cause of the last failed fetch, for ErrKeySetUnavailable

	// Test hooks, set by tests before first use. afterFetch runs at the
	// very end of every fetch goroutine (after the hooks); beforeMissWait
	// runs when Key is about to wait for a refresh after a miss.
	afterFetch     func()
	beforeMissWait func()
}

var _ KeySet = (*RemoteKeySet)(nil)

// keySnapshot is one good JWKS, never modified after publication.
type keySnapshot struct {
	keys map[string]*Key
}

// fetchCall is one in-flight fetch; err is valid once done is closed.
type fetchCall struct {
	done chan struct{}
	err  error
}

// NewRemoteKeySet returns a key set for the JWKS at jwksURL. It performs no
// I/O; call Hydrate at init to fetch the keys before the first request.
// The URL must be absolute https (http only with WithInsecureHTTP). Invalid
// arguments or options give an error wrapping ErrConfig.
//
//	ks, err := smartauth.NewRemoteKeySet(
//		"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/.well-known/jwks.json",
//		smartauth.WithErrorHook(func(err error) { logger.Warn("jwks", "err", err) }),
//	)
func NewRemoteKeySet(jwksURL string, opts ...RemoteOption) (*RemoteKeySet, error) {
	o := remoteOptions{
		requestTimeout: defaultRequestTimeout,
		maxBody:        defaultMaxBodySize,
		missPenalty:    defaultMissPenalty,
		coldBackoff:    defaultColdBackoff,
		minRefresh:     defaultMinRefresh,
		maxRefresh:     defaultMaxRefresh,
		defaultRefresh: defaultRefreshInterval,
		now:            time.Now,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	errs := o.errs
	u, err := url.Parse(jwksURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("JWKS URL: %w", err))
	case u.Scheme != "https" && !(u.Scheme == "http" && o.allowPlainHTTP):
		errs = append(errs, fmt.Errorf("JWKS URL must use https, got scheme %q", u.Scheme))
	case u.Host == "":
		errs = append(errs, errors.New("JWKS URL has no host"))
	}
	if o.clientSet && o.client == nil {
		errs = append(errs, errors.New("WithHTTPClient: nil client"))
	}
	if o.requestTimeout <= 0 {
		errs = append(errs, errors.New("request timeout must be positive"))
	}
	if o.maxBody <= 0 {
		errs = append(errs, errors.New("max body size must be positive"))
	}
	if o.missPenalty <= 0 {
		errs = append(errs, errors.New("miss penalty must be positive"))
	}
	if o.coldBackoff <= 0 {
		errs = append(errs, errors.New("cold-start backoff must be positive"))
	}
	if o.minRefresh <= 0 || o.maxRefresh < o.minRefresh {
		errs = append(errs, errors.New("refresh interval needs 0 < min <= max"))
	}
	if o.defaultRefresh <= 0 {
		errs = append(errs, errors.New("default refresh interval must be positive"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: remote key set: %w", ErrConfig, errors.Join(errs...))
	}
	if o.client == nil {
		o.client = newJWKSClient(o.requestTimeout)
	}
	o.errs = nil
	return &RemoteKeySet{
		url:           u.String(),
		urlText:       u.Redacted(),
		remoteOptions: o,
		errPenalty: fmt.Errorf("%w: unknown kid inside the miss penalty window of %s",
			ErrKidNotFound, u.Redacted()),
	}, nil
}

// newJWKSClient builds the default client: its own transport, a timeout,
// and no redirects.
func newJWKSClient(timeout time.Duration) *http.Client {
	var rt http.RoundTripper = http.DefaultTransport
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		rt = t.Clone()
	}
	return &http.Client{
		Transport: rt,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Hydrate fetches the JWKS unless a good set is already loaded; call it at
// Lambda init (outside the handler), as aws-jwt-verify's hydrate(). It
// returns the fetch error, if any; the error is also given to the error
// hook. A failed Hydrate is not fatal: later Key calls retry the fetch.
// Like every fetch it is bounded by the request timeout (WithRequestTimeout)
// as well as by ctx.
func (r *RemoteKeySet) Hydrate(ctx context.Context) error {
	if r.snap.Load() != nil {
		return nil
	}
	return r.Refresh(ctx)
}

// Refresh fetches the JWKS now, sharing any fetch already in flight, and
// waits for it or for ctx. It bypasses the penalty window and the refresh
// schedule. On failure the last good set is kept and the error (wrapping
// ErrJWKSFetch, ErrJWKSInvalid or ErrNoUsableKeys, or ctx.Err()) is
// returned.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("smartauth: JWKS refresh: %w", err)
	}
	r.mu.Lock()
	c := r.startFetchLocked(ctx)
	r.mu.Unlock()
	if err := waitFetch(ctx, c); err != nil {
		return fmt.Errorf("smartauth: JWKS refresh: %w", err)
	}
	return c.err
}

// Key returns the key for kid. See RemoteKeySet for the cache behaviour.
// Errors wrap ErrKidNotFound (unknown kid, also during the penalty window
// or when ctx ends while a refresh is pending) or ErrKeySetUnavailable (no
// fetch has ever succeeded). A refresh started by a miss ends at ctx's
// deadline or after the request timeout, whichever comes first.
//
// Key does NOT compare the token's header alg with Key.Algorithm; the
// caller must (pipeline step 6).
func (r *RemoteKeySet) Key(ctx context.Context, kid string) (*Key, error) {
	if s := r.snap.Load(); s != nil {
		if k, ok := s.keys[kid]; ok {
			r.maybeRefreshInBackground()
			return k, nil
		}
	}
	return r.keyMiss(ctx, kid)
}

// maybeRefreshInBackground starts one background refresh when the refresh
// deadline has passed. The CAS moves the deadline by the floor interval so
// that a failing endpoint is retried at most once per floor interval and
// concurrent hits start one fetch.
func (r *RemoteKeySet) maybeRefreshInBackground() {
	now := r.now().UnixNano()
	due := r.refreshDue.Load()
	if now < due || !r.refreshDue.CompareAndSwap(due, now+int64(r.minRefresh)) {
		return
	}
	r.mu.Lock()
	r.startFetchLocked(nil)
	r.mu.Unlock()
}

func (r *RemoteKeySet) keyMiss(ctx context.Context, kid string) (*Key, error) {
	if kid == "" || len(kid) > maxKidLen {
		// The load policy admits no such kid: never worth a fetch.
		return nil, fmt.Errorf("%w: kid empty or longer than %d bytes", ErrKidNotFound, maxKidLen)
	}
	r.mu.Lock()
	s := r.snap.Load()
	if s != nil {
		if k, ok := s.keys[kid]; ok { // published while we were getting the lock
			r.mu.Unlock()
			return k, nil
		}
		if r.now().Before(r.penaltyUntil) {
			r.mu.Unlock()
			return nil, r.errPenalty
		}
	} else if r.now().Before(r.coldUntil) {
		cause := r.lastErr
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: inside the cold-start backoff after a failed fetch: %w", ErrKeySetUnavailable, cause)
	}
	if err := ctx.Err(); err != nil {
		r.mu.Unlock()
		return nil, r.missError(s != nil, err)
	}
	c := r.startFetchLocked(ctx)
	r.mu.Unlock()

	if r.beforeMissWait != nil {
		r.beforeMissWait()
	}
	if err := waitFetch(ctx, c); err != nil {
		return nil, r.missError(r.snap.Load() != nil, err)
	}
	s = r.snap.Load()
	if s == nil {
		r.mu.Lock()
		if until := r.now().Add(r.coldBackoff); until.After(r.coldUntil) {
			r.coldUntil = until
		}
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %w", ErrKeySetUnavailable, c.err)
	}
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	r.mu.Lock()
	if until := r.now().Add(r.missPenalty); until.After(r.penaltyUntil) {
		r.penaltyUntil = until
	}
	r.mu.Unlock()
	if c.err != nil {
		return nil, fmt.Errorf("%w: refresh failed, last good set kept: %w", ErrKidNotFound, c.err)
	}
	return nil, fmt.Errorf("%w: not in JWKS after refresh", ErrKidNotFound)
}

// missError is the error for a miss whose refresh could not be awaited.
func (r *RemoteKeySet) missError(haveSet bool, cause error) error {
	if haveSet {
		return fmt.Errorf("%w: refresh not awaited: %w", ErrKidNotFound, cause)
	}
	r.mu.Lock()
	last := r.lastErr
	r.mu.Unlock()
	if last != nil {
		return fmt.Errorf("%w: %w (last fetch: %w)", ErrKeySetUnavailable, cause, last)
	}
	return fmt.Errorf("%w: %w", ErrKeySetUnavailable, cause)
}

// waitFetch waits for c or ctx, preferring a finished fetch.
func waitFetch(ctx context.Context, c *fetchCall) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		select {
		case <-c.done:
			return nil
		default:
			return ctx.Err()
		}
	}
}

// startFetchLocked returns the in-flight fetch, starting one if there is
// none. r.mu must be held. parent (nil for a background refresh) lends its
// deadline and values but not its cancellation: a caller that gives up
// does not cancel the fetch others are waiting for.
func (r *RemoteKeySet) startFetchLocked(parent context.Context) *fetchCall {
	if r.inflight != nil {
		return r.inflight
	}
	c := &fetchCall{done: make(chan struct{})}
	r.inflight = c
	base := context.Background()
	deadline := time.Now().Add(r.requestTimeout)
	if parent != nil {
		base = context.WithoutCancel(parent)
		if d, ok := parent.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
	}
	ctx, cancel := context.WithDeadline(base, deadline)
	go r.runFetch(ctx, cancel, c)
	return c
}

// runFetch performs one fetch, publishes the result, releases the waiters,
// then calls the hooks.
func (r *RemoteKeySet) runFetch(ctx context.Context, cancel context.CancelFunc, c *fetchCall) {
	defer cancel()
	keys, dropped, interval, err := r.fetch(ctx)
	now := r.now()

	r.mu.Lock()
	if err == nil {
		// Deadline first: a hit on the new snapshot must not see the old one.
		r.refreshDue.Store(now.Add(interval).UnixNano())
		r.snap.Store(&keySnapshot{keys: keys})
		r.lastErr = nil
	} else {
		r.lastErr = err
	}
	c.err = err
	r.inflight = nil
	r.mu.Unlock()
	close(c.done)

	if err != nil && r.onError != nil {
		r.onError(err)
	}
	if len(dropped) > 0 && r.onDropped != nil {
		r.onDropped(dropped)
	}
	if r.afterFetch != nil {
		r.afterFetch()
	}
}

// fetch GETs and parses the JWKS. interval is the refresh interval derived
// from the response headers.
func (r *RemoteKeySet) fetch(ctx context.Context) (keys map[string]*Key, dropped []DroppedKey, interval time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrJWKSFetch, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrJWKSFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, 0, fmt.Errorf("%w: %s: HTTP status %d", ErrJWKSFetch, r.urlText, resp.StatusCode)
	}
	if resp.ContentLength > r.maxBody {
		return nil, nil, 0, fmt.Errorf("%w: %s: body of %d bytes exceeds %d", ErrJWKSFetch, r.urlText, resp.ContentLength, r.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBody+1))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %s: reading body: %w", ErrJWKSFetch, r.urlText, err)
	}
	if int64(len(body)) > r.maxBody {
		return nil, nil, 0, fmt.Errorf("%w: %s: body exceeds %d bytes", ErrJWKSFetch, r.urlText, r.maxBody)
	}
	keys, dropped, err = ParseJWKS(body)
	if err != nil {
		return nil, dropped, 0, fmt.Errorf("smartauth: JWKS from %s: %w", r.urlText, err)
	}
	return keys, dropped, r.refreshInterval(resp.Header), nil
}

// refreshInterval derives the refresh interval from Cache-Control max-age,
// clamped to [minRefresh, maxRefresh].
func (r *RemoteKeySet) refreshInterval(h http.Header) time.Duration {
	d := r.defaultRefresh
	if maxAge, ok := cacheMaxAge(h.Values("Cache-Control"), r.maxRefresh); ok {
		d = maxAge
	}
	return min(max(d, r.minRefresh), r.maxRefresh)
}

// cacheMaxAge returns the max-age of Cache-Control header values, capped
// at limit; "no-cache" and "no-store" count as 0. ok is false when neither
// is present or max-age is malformed.
func cacheMaxAge(values []string, limit time.Duration) (d time.Duration, ok bool) {
	for _, v := range values {
		for directive := range strings.SplitSeq(v, ",") {
			name, arg, hasArg := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				return 0, true
			case "max-age":
				if !hasArg {
					continue
				}
				secs, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(arg), `"`), 10, 63)
				if err != nil {
					continue
				}
				if secs > uint64(limit/time.Second) {
					d, ok = limit, true
				} else {
					d, ok = time.Duration(secs)*time.Second, true
				}
			}
		}
	}
	return d, ok
}
