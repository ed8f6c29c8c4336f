package keycloak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrDiscovery is wrapped by Discover errors.
var ErrDiscovery = errors.New("keycloak: discovery failed")

// maxDiscoveryBody caps the discovery document size.
const maxDiscoveryBody = 256 << 10

// Discovery holds the parts of the OpenID discovery document the library
// uses.
type Discovery struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	TokenEndpoint         string `json:"token_endpoint"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// Discover fetches <issuer>/.well-known/openid-configuration with client
// (required: pass one with a timeout) and checks that the document names
// exactly this issuer. Use it at start-up, not per request.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Discovery, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: an *http.Client is required", ErrDiscovery)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, DiscoveryURL(issuer), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrDiscovery, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	if len(body) > maxDiscoveryBody {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrDiscovery, maxDiscoveryBody)
	}
	var d Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %w", ErrDiscovery, err)
	}
	if d.Issuer != issuer {
		return nil, fmt.Errorf("%w: document issuer %q differs from %q", ErrDiscovery, d.Issuer, issuer)
	}
	if d.JWKSURI == "" {
		return nil, fmt.Errorf("%w: jwks_uri missing", ErrDiscovery)
	}
	return &d, nil
}
