package keycloak

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// Introspection defaults.
const (
	// DefaultIntrospectionTimeout bounds one introspection request; it must
	// fit in HealthLake's 1 s Lambda budget together with everything else.
	DefaultIntrospectionTimeout = 300 * time.Millisecond
	// DefaultIntrospectionCacheTTL is how long an "active" answer is reused.
	DefaultIntrospectionCacheTTL = 30 * time.Second
	// MaxIntrospectionCacheTTL caps the cache TTL: a longer one would hide
	// revocations for longer than users expect.
	MaxIntrospectionCacheTTL = 5 * time.Minute
	maxIntrospectionBody     = 64 << 10
	maxIntrospectionEntries  = 10000
)

// ErrIntrospection is wrapped when the introspection endpoint could not
// give an answer (network, timeout, HTTP status, malformed body). The token
// is denied: introspection fails closed.
var ErrIntrospection = errors.New("keycloak: token introspection failed")

// ErrTokenInactive is wrapped when the endpoint answers "active": false
// (revoked, logged out, expired at the IdP) or names another subject.
var ErrTokenInactive = errors.New("keycloak: token is not active")

// Introspection configures optional RFC 7662 token introspection for
// deployments that must honour revocation before a token expires. It runs
// only after every local check has passed, so invalid tokens never cause a
// network call. Answers are cached briefly (keyed by a SHA-256 of the
// token; the token itself is not stored).
type Introspection struct {
	// Endpoint overrides <issuer>/protocol/openid-connect/token/introspect.
	Endpoint string
	// ClientID and ClientSecret authenticate the Lambda to Keycloak (a
	// confidential client allowed to introspect). Required.
	ClientID, ClientSecret string
	// HTTPClient sends the requests. Required: pass a client with a timeout.
	HTTPClient *http.Client
	// Timeout bounds each request (default DefaultIntrospectionTimeout).
	Timeout time.Duration
	// CacheTTL is how long an active answer is reused (default
	// DefaultIntrospectionCacheTTL, at most MaxIntrospectionCacheTTL, never
	// past the token's exp). Inactive answers are cached until exp.
	CacheTTL time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// InsecureHTTP allows an http:// endpoint (local test servers). It MUST
	// NOT be set in production: the client secret would travel in clear.
	InsecureHTTP bool
}

// Introspector performs RFC 7662 introspection with a short cache. It is
// safe for concurrent use.
type Introspector struct {
	endpoint     string
	clientID     string
	clientSecret string
	client       *http.Client
	timeout      time.Duration
	ttl          time.Duration
	now          func() time.Time
	mu           sync.Mutex
	cache        map[[sha256.Size]byte]introspectionEntry
}

type introspectionEntry struct {
	active  bool
	expires time.Time
}

// NewIntrospector checks cfg. issuer is used to derive the default
// endpoint.
func NewIntrospector(issuer string, cfg Introspection) (*Introspector, error) {
	in := &Introspector{
		endpoint:     cfg.Endpoint,
		clientID:     cfg.ClientID,
		clientSecret: cfg.ClientSecret,
		client:       cfg.HTTPClient,
		timeout:      cfg.Timeout,
		ttl:          cfg.CacheTTL,
		now:          cfg.Now,
		cache:        map[[sha256.Size]byte]introspectionEntry{},
	}
	if in.endpoint == "" {
		in.endpoint = strings.TrimSuffix(issuer, "/") + "/protocol/openid-connect/token/introspect"
	}
	var errs []error
	u, err := url.Parse(in.endpoint)
	switch {
	case err != nil || u.Host == "":
		errs = append(errs, fmt.Errorf("%w: introspection endpoint %q is not an absolute URL", ErrConfig, in.endpoint))
	case u.Scheme == "http" && !cfg.InsecureHTTP:
		errs = append(errs, fmt.Errorf("%w: introspection endpoint must be https (InsecureHTTP is off)", ErrConfig))
	case u.Scheme != "https" && u.Scheme != "http":
		errs = append(errs, fmt.Errorf("%w: introspection endpoint scheme %q", ErrConfig, u.Scheme))
	}
	if in.clientID == "" || in.clientSecret == "" {
		errs = append(errs, fmt.Errorf("%w: introspection needs ClientID and ClientSecret", ErrConfig))
	}
	if in.client == nil {
		errs = append(errs, fmt.Errorf("%w: introspection needs an *http.Client", ErrConfig))
	}
	if in.timeout == 0 {
		in.timeout = DefaultIntrospectionTimeout
	}
	if in.timeout < 0 || in.timeout > 900*time.Millisecond {
		errs = append(errs, fmt.Errorf("%w: introspection timeout %s outside (0, 900ms]", ErrConfig, in.timeout))
	}
	if in.ttl == 0 {
		in.ttl = DefaultIntrospectionCacheTTL
	}
	if in.ttl < 0 || in.ttl > MaxIntrospectionCacheTTL {
		errs = append(errs, fmt.Errorf("%w: introspection cache TTL %s outside (0, %s]", ErrConfig, in.ttl, MaxIntrospectionCacheTTL))
	}
	if in.now == nil {
		in.now = time.Now
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return in, nil
}

// Check asks the introspection endpoint whether token is active. It has
// the signature of smartauth.IssuerConfig.RemoteCheck.
func (in *Introspector) Check(ctx context.Context, token string, c *smartauth.Claims) error {
	key := sha256.Sum256([]byte(token))
	now := in.now()
	in.mu.Lock()
	e, ok := in.cache[key]
	in.mu.Unlock()
	if ok && now.Before(e.expires) {
		if !e.active {
			return ErrTokenInactive
		}
		return nil
	}
	active, sub, err := in.introspect(ctx, token)
	if err != nil {
		return err
	}
	if active && sub != "" && c.Subject != "" && sub != c.Subject {
		active = false
	}
	exp := time.Unix(c.ExpiresAt, 0)
	until := now.Add(in.ttl)
	if !active || until.After(exp) {
		until = exp
	}
	in.store(key, introspectionEntry{active: active, expires: until}, now)
	if !active {
		return ErrTokenInactive
	}
	return nil
}

func (in *Introspector) store(key [sha256.Size]byte, e introspectionEntry, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.cache) >= maxIntrospectionEntries {
		for k, old := range in.cache {
			if !now.Before(old.expires) {
				delete(in.cache, k)
			}
		}
		if len(in.cache) >= maxIntrospectionEntries {
			clear(in.cache)
		}
	}
	in.cache[key] = e
}

func (in *Introspector) introspect(ctx context.Context, token string) (active bool, sub string, err error) {
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, "", fmt.Errorf("%w: building request", ErrIntrospection)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.clientSecret))
	resp, err := in.client.Do(req)
	if err != nil {
		// Never wrap the transport error text: it may quote the URL, not the
		// token, but keep the message generic anyway.
		if ctx.Err() != nil {
			return false, "", fmt.Errorf("%w: timeout", ErrIntrospection)
		}
		return false, "", fmt.Errorf("%w: request failed", ErrIntrospection)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, "", fmt.Errorf("%w: HTTP %d", ErrIntrospection, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBody+1))
	if err != nil || len(body) > maxIntrospectionBody {
		return false, "", fmt.Errorf("%w: response body unreadable or too large", ErrIntrospection)
	}
	var r struct {
		Active *bool  `json:"active"`
		Sub    string `json:"sub"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Active == nil {
		return false, "", fmt.Errorf("%w: response is not an RFC 7662 JSON object", ErrIntrospection)
	}
	return *r.Active, r.Sub, nil
}
