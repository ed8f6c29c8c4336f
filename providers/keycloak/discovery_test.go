package keycloak_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const (
	discoveryPath = "/realms/fhir/.well-known/openid-configuration"
	certsPath     = "/realms/fhir/protocol/openid-connect/certs"
)

// discoveryDoc returns testdata/openid-configuration.json (a Keycloak 26
// discovery document) for the given issuer.
func discoveryDoc(t testing.TB, iss string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "openid-configuration.json"))
	require.NoError(t, err)
	return bytes.ReplaceAll(data, []byte("{{issuer}}"), []byte(iss))
}

// realmServer serves a realm's discovery document (through the discovery
// handler) and its certs (jwksFixture), counting hits per path.
type realmServer struct {
	*httptest.Server
	issuer string
	hits   map[string]*atomic.Int32
}

func newRealmServer(t testing.TB, tls bool, discovery func(w http.ResponseWriter, iss string)) *realmServer {
	t.Helper()
	rs := &realmServer{hits: map[string]*atomic.Int32{
		discoveryPath: {}, certsPath: {}, "other": {},
	}}
	jwks := jwksFixture(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case discoveryPath:
			rs.hits[discoveryPath].Add(1)
			if r.Header.Get("Accept") != "application/json" {
				http.Error(w, "want Accept: application/json", http.StatusNotAcceptable)
				return
			}
			discovery(w, rs.issuer)
		case certsPath:
			rs.hits[certsPath].Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(jwks)
		default:
			rs.hits["other"].Add(1)
			http.NotFound(w, r)
		}
	})
	if tls {
		rs.Server = httptest.NewTLSServer(h)
	} else {
		rs.Server = httptest.NewServer(h)
	}
	t.Cleanup(rs.Close)
	rs.issuer = rs.URL + "/realms/fhir"
	return rs
}

func goodDiscovery(t testing.TB) func(http.ResponseWriter, string) {
	return func(w http.ResponseWriter, iss string) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(discoveryDoc(t, iss))
	}
}

func TestDiscover(t *testing.T) {
	srv := newRealmServer(t, false, goodDiscovery(t))
	d, err := keycloak.Discover(context.Background(), srv.Client(), srv.issuer)
	require.NoError(t, err)
	want := &keycloak.Discovery{
		Issuer:                srv.issuer,
		JWKSURI:               srv.issuer + "/protocol/openid-connect/certs",
		TokenEndpoint:         srv.issuer + "/protocol/openid-connect/token",
		AuthorizationEndpoint: srv.issuer + "/protocol/openid-connect/auth",
		IntrospectionEndpoint: srv.issuer + "/protocol/openid-connect/token/introspect",
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	assert.Equal(t, keycloak.JWKSURL(srv.issuer), d.JWKSURI, "Keycloak's jwks_uri is the derived certs URL")
	assert.Equal(t, int32(1), srv.hits[discoveryPath].Load())
	assert.Zero(t, srv.hits["other"].Load())
}

func TestDiscoverErrors(t *testing.T) {
	write := func(status int, body string) func(http.ResponseWriter, string) {
		return func(w http.ResponseWriter, _ string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, iss string)
	}{
		{"issuer of another realm", func(w http.ResponseWriter, iss string) {
			_, _ = w.Write(discoveryDoc(t, strings.Replace(iss, "/realms/fhir", "/realms/master", 1)))
		}},
		{"issuer with trailing slash", func(w http.ResponseWriter, iss string) {
			_, _ = w.Write(discoveryDoc(t, iss+"/"))
		}},
		{"issuer of another host", func(w http.ResponseWriter, _ string) {
			_, _ = w.Write(discoveryDoc(t, "https://evil.example.com/realms/fhir"))
		}},
		{"404", write(http.StatusNotFound, `{"error":"Realm does not exist"}`)},
		{"500", write(http.StatusInternalServerError, `{}`)},
		{"redirect not followed by the client", func(w http.ResponseWriter, iss string) {
			w.Header().Set("Location", iss+"/elsewhere")
			w.WriteHeader(http.StatusFound)
		}},
		{"oversized body", func(w http.ResponseWriter, iss string) {
			doc := discoveryDoc(t, iss)
			pad := `"x-padding":"` + strings.Repeat("a", 256<<10) + `",`
			_, _ = w.Write(bytes.Replace(doc, []byte("{"), []byte("{"+pad), 1))
		}},
		{"not JSON", write(http.StatusOK, `<html>Keycloak is starting</html>`)},
		{"JSON array", write(http.StatusOK, `[]`)},
		{"jwks_uri missing", func(w http.ResponseWriter, iss string) {
			_, _ = w.Write([]byte(`{"issuer":"` + iss + `","token_endpoint":"` + iss + `/protocol/openid-connect/token"}`))
		}},
		{"issuer missing", write(http.StatusOK, `{"jwks_uri":"https://kc.example.com/realms/fhir/protocol/openid-connect/certs"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRealmServer(t, false, tc.handler)
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			d, err := keycloak.Discover(context.Background(), client, srv.issuer)
			require.ErrorIs(t, err, keycloak.ErrDiscovery)
			assert.Nil(t, d)
		})
	}
}

func TestDiscoverClientErrors(t *testing.T) {
	t.Run("nil client", func(t *testing.T) {
		d, err := keycloak.Discover(context.Background(), nil, issuer)
		require.ErrorIs(t, err, keycloak.ErrDiscovery)
		assert.Nil(t, d)
	})
	t.Run("server gone", func(t *testing.T) {
		srv := newRealmServer(t, false, goodDiscovery(t))
		client := srv.Client()
		srv.Close()
		_, err := keycloak.Discover(context.Background(), client, srv.issuer)
		require.ErrorIs(t, err, keycloak.ErrDiscovery)
	})
	t.Run("context already cancelled", func(t *testing.T) {
		srv := newRealmServer(t, false, goodDiscovery(t))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := keycloak.Discover(ctx, srv.Client(), srv.issuer)
		require.ErrorIs(t, err, keycloak.ErrDiscovery)
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, srv.hits[discoveryPath].Load())
	})
	t.Run("issuer not a URL", func(t *testing.T) {
		_, err := keycloak.Discover(context.Background(), &http.Client{Timeout: time.Second}, "http://[::1")
		require.ErrorIs(t, err, keycloak.ErrDiscovery)
	})
}

// TestDiscoverThenValidate wires Discover into New the way a Lambda's init
// does: the discovered jwks_uri feeds the remote key set.
func TestDiscoverThenValidate(t *testing.T) {
	srv := newRealmServer(t, true, goodDiscovery(t))
	d, err := keycloak.Discover(context.Background(), srv.Client(), srv.issuer)
	require.NoError(t, err)

	base := strings.TrimSuffix(srv.issuer, "/realms/fhir")
	ic, err := keycloak.New(keycloak.Config{
		BaseURL:       base,
		Realm:         "fhir",
		JWKSURL:       d.JWKSURI,
		KeySetOptions: smartauth.RemoteOptions{HTTPClient: srv.Client()},
	})
	require.NoError(t, err)
	require.Equal(t, d.Issuer, ic.Issuer)
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{ic}, Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	require.NoError(t, v.Hydrate(context.Background()))
	assert.Equal(t, int32(1), srv.hits[certsPath].Load())

	tok := signKC(t, with(fixture(t, "access-token.json"), map[string]any{"iss": srv.issuer}))
	for range 3 {
		_, err := v.Validate(context.Background(), tok, endpoint)
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), srv.hits[certsPath].Load(), "keys served from the cache")
	assert.Zero(t, srv.hits["other"].Load())
}
