package keycloak_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// introspectionServer answers RFC 7662 requests; active decides per token.
type introspectionServer struct {
	*httptest.Server
	hits   atomic.Int64
	active func(token string) string // JSON body
	status int
}

func newIntrospectionServer(t *testing.T, active func(token string) string) *introspectionServer {
	t.Helper()
	s := &introspectionServer{active: active, status: http.StatusOK}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.URL.Path != "/realms/fhir/protocol/openid-connect/token/introspect" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok || id != "lambda" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.active(form.Get("token")))
	}))
	t.Cleanup(s.Close)
	return s
}

func introspectingValidator(t *testing.T, srv *introspectionServer, clock func() time.Time, mutate func(*keycloak.Introspection)) *smartauth.Validator {
	t.Helper()
	in := &keycloak.Introspection{ClientID: "lambda", ClientSecret: "s3cret", HTTPClient: srv.Client(), Now: clock,
		Endpoint: srv.URL + "/realms/fhir/protocol/openid-connect/token/introspect"}
	if mutate != nil {
		mutate(in)
	}
	return newValidator(t, keycloak.Config{Introspection: in})
}

func TestIntrospection(t *testing.T) {
	access := fixture(t, "access-token.json")
	good := signKC(t, access)
	revoked := signKC(t, with(access, map[string]any{"jti": "revoked-jti"}))
	otherSub := signKC(t, with(access, map[string]any{"jti": "other-sub"}))
	srv := newIntrospectionServer(t, func(token string) string {
		switch token {
		case revoked:
			return `{"active": false}`
		case otherSub:
			return `{"active": true, "sub": "someone-else"}`
		}
		return `{"active": true, "sub": "` + access["sub"].(string) + `"}`
	})
	clock := now
	v := introspectingValidator(t, srv, func() time.Time { return clock }, nil)

	d, _ := authorize(t, v, good)
	require.True(t, d.Allowed, "%v", d.Err)
	d, out := authorize(t, v, revoked)
	assert.False(t, d.Allowed)
	require.ErrorIs(t, d.Err, keycloak.ErrTokenInactive)
	assert.Equal(t, "remote_check", d.Reason)
	assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, out)
	d, _ = authorize(t, v, otherSub)
	require.ErrorIs(t, d.Err, keycloak.ErrTokenInactive, "an answer about another subject is not trusted")
	assert.Equal(t, int64(3), srv.hits.Load())

	// Cached: no new request for the same tokens within the TTL.
	authorize(t, v, good)
	authorize(t, v, revoked)
	assert.Equal(t, int64(3), srv.hits.Load())
	// After the TTL the active answer is asked again; the inactive one stays
	// cached until the token expires.
	clock = now.Add(keycloak.DefaultIntrospectionCacheTTL + time.Second)
	d, _ = authorize(t, v, good)
	require.True(t, d.Allowed)
	d, _ = authorize(t, v, revoked)
	require.False(t, d.Allowed)
	assert.Equal(t, int64(4), srv.hits.Load())

	// A token that fails a local check never reaches the endpoint.
	d, _ = authorize(t, v, signKC(t, with(access, map[string]any{"typ": "ID"})))
	require.ErrorIs(t, d.Err, smartauth.ErrTokenUse)
	assert.Equal(t, int64(4), srv.hits.Load())
}

func TestIntrospectionFailsClosed(t *testing.T) {
	access := fixture(t, "access-token.json")
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"HTTP 500", http.StatusInternalServerError, `{"active": true}`},
		{"not JSON", http.StatusOK, `<html>`},
		{"no active member", http.StatusOK, `{"sub": "x"}`},
		{"active as string", http.StatusOK, `{"active": "true"}`},
		{"oversized body", http.StatusOK, `{"active": true, "x": "` + strings.Repeat("a", 70<<10) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newIntrospectionServer(t, func(string) string { return tc.body })
			srv.status = tc.status
			v := introspectingValidator(t, srv, func() time.Time { return now }, nil)
			d, _ := authorize(t, v, signKC(t, access))
			assert.False(t, d.Allowed)
			require.ErrorIs(t, d.Err, keycloak.ErrIntrospection)
			assert.False(t, d.Internal)
		})
	}

	t.Run("wrong client secret", func(t *testing.T) {
		srv := newIntrospectionServer(t, func(string) string { return `{"active": true}` })
		v := introspectingValidator(t, srv, func() time.Time { return now }, func(in *keycloak.Introspection) { in.ClientSecret = "wrong" })
		d, _ := authorize(t, v, signKC(t, access))
		require.ErrorIs(t, d.Err, keycloak.ErrIntrospection)
	})

	t.Run("timeout inside the budget", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		defer close(release)
		in := &keycloak.Introspection{ClientID: "lambda", ClientSecret: "s3cret", HTTPClient: slow.Client(),
			Endpoint: slow.URL + "/introspect", Timeout: 50 * time.Millisecond, Now: func() time.Time { return now }}
		v := newValidator(t, keycloak.Config{Introspection: in})
		start := time.Now()
		d, _ := authorize(t, v, signKC(t, access))
		require.ErrorIs(t, d.Err, keycloak.ErrIntrospection)
		assert.Less(t, time.Since(start), 5*time.Second, "the request is bounded by the introspection timeout")
	})
}

func TestIntrospectionConfig(t *testing.T) {
	client := &http.Client{Timeout: time.Second}
	tests := []struct {
		name string
		cfg  keycloak.Introspection
	}{
		{"no client id", keycloak.Introspection{ClientSecret: "s", HTTPClient: client}},
		{"no secret", keycloak.Introspection{ClientID: "c", HTTPClient: client}},
		{"no http client", keycloak.Introspection{ClientID: "c", ClientSecret: "s"}},
		{"http endpoint", keycloak.Introspection{ClientID: "c", ClientSecret: "s", HTTPClient: client, Endpoint: "http://kc.example.com/introspect"}},
		{"timeout over budget", keycloak.Introspection{ClientID: "c", ClientSecret: "s", HTTPClient: client, Timeout: time.Second}},
		{"cache TTL too long", keycloak.Introspection{ClientID: "c", ClientSecret: "s", HTTPClient: client, CacheTTL: time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			_, err := keycloak.New(keycloak.Config{BaseURL: baseURL, Realm: realm, KeySet: staticKeys(t), Introspection: &cfg})
			require.ErrorIs(t, err, keycloak.ErrConfig)
		})
	}
	in, err := keycloak.NewIntrospector(issuer, keycloak.Introspection{ClientID: "c", ClientSecret: "s", HTTPClient: client,
		Endpoint: "http://127.0.0.1:8080/introspect", InsecureHTTP: true})
	require.NoError(t, err)
	require.NotNil(t, in)
}
