package metadata

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFetch(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/realms/fhir/.well-known/openid-configuration":
			assert.Equal(t, "application/json", r.Header.Get("Accept"))
			_, _ = w.Write(keycloakDiscovery(t, "http://"+r.Host+"/realms/fhir"))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat(" ", MaxDocument+1)))
		case "/redirect-out":
			http.Redirect(w, r, "http://idp.example.com/x", http.StatusFound)
		case "/redirect-in":
			http.Redirect(w, r, "/realms/fhir/.well-known/openid-configuration", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	ctx := context.Background()

	u, err := KeycloakDiscoveryURL(srv.URL, "fhir")
	require.NoError(t, err)
	body, err := Fetch(ctx, client, u)
	require.NoError(t, err)
	m, err := Build(body, Settings{Strategy: SMARTOnFHIR, Capabilities: appCaps, GrantTypes: bothGrants, InsecureAllowLoopbackHTTP: true})
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/realms/fhir/protocol/openid-connect/token", m.TokenEndpoint)

	body, err = Fetch(ctx, client, srv.URL+"/redirect-in")
	require.NoError(t, err)
	assert.Contains(t, string(body), "openid-connect")

	before := hits.Load()
	for _, tc := range []struct {
		name    string
		client  *http.Client
		url     string
		wantMsg string
	}{
		{"nil client", nil, u, "http.Client"},
		{"http off loopback", client, "http://idp.example.com/.well-known/openid-configuration", "not https"},
		{"not absolute", client, "/realms/fhir", "not an absolute URL"},
		{"user info", client, "https://u:p@idp.example.com/", "user information"},
		{"ftp", client, "ftp://127.0.0.1/x", "not https"},
	} {
		_, err := Fetch(ctx, tc.client, tc.url)
		require.ErrorIs(t, err, ErrFetch, tc.name)
		assert.Contains(t, err.Error(), tc.wantMsg, tc.name)
		assert.NotContains(t, err.Error(), "u:p", tc.name)
	}
	assert.Equal(t, before, hits.Load(), "rejected URLs are never requested")

	for _, tc := range []struct{ path, wantMsg string }{
		{"/missing", "HTTP 404"},
		{"/big", "larger than"},
		{"/redirect-out", "not https"},
	} {
		_, err := Fetch(ctx, client, srv.URL+tc.path)
		require.ErrorIs(t, err, ErrFetch, tc.path)
		assert.Contains(t, err.Error(), tc.wantMsg, tc.path)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Fetch(cctx, client, srv.URL+"/slow")
	require.ErrorIs(t, err, ErrFetch)
	assert.ErrorIs(t, err, context.Canceled)
}
