package metadata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ErrFetch is wrapped by Fetch errors.
var ErrFetch = errors.New("metadata: fetching the discovery document failed")

// FetchTimeout bounds Fetch when ctx has no earlier deadline.
const FetchTimeout = 10 * time.Second

// Fetch GETs a discovery document with client (required; Fetch adds a
// FetchTimeout deadline and follows at most 5 redirects, each to an allowed
// URL) and returns its body, at most 1 MiB. The URL must be https; http is
// allowed only for 127.0.0.1, ::1 and localhost (a local test IdP). Fetch
// does NOT parse or judge the body: give it to Build.
func Fetch(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: an *http.Client is required", ErrFetch)
	}
	if err := fetchable(rawURL); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("%w: more than 5 redirects", ErrFetch)
		}
		return fetchable(req.URL.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: HTTP %d", ErrFetch, rawURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	if len(body) > MaxDocument {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrFetch, MaxDocument)
	}
	return body, nil
}

func fetchable(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrFetch, rawURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URL has user information", ErrFetch) // not quoted: may hold a password
	}
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("%w: %q is not https (http only for 127.0.0.1, ::1, localhost)", ErrFetch, rawURL)
}
