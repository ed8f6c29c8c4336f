package smartauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// TestValidatorHydrate: Hydrate loads every key set that can be loaded
// ahead (RemoteKeySet), skips the others, joins the failures naming their
// issuer, and leaves the validator usable.
func TestValidatorHydrate(t *testing.T) {
	var hits atomic.Int64
	jwks := testjwt.JWKS(t, testjwt.PublicJWK{Kid: "rs256", Alg: jwa.RS256(), Key: rsaKey()})
	mux := http.NewServeMux()
	mux.HandleFunc("/good", func(w http.ResponseWriter, _ *http.Request) { hits.Add(1); _, _ = w.Write(jwks) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	remote := func(path string) smartauth.KeySet {
		ks, err := smartauth.NewRemoteKeySet(srv.URL+path, smartauth.RemoteOptions{InsecureHTTP: true})
		require.NoError(t, err)
		return ks
	}
	static, err := smartauth.NewStaticKeySet(jwks)
	require.NoError(t, err)
	issuer := func(iss string, ks smartauth.KeySet) smartauth.IssuerConfig {
		return smartauth.IssuerConfig{Issuer: iss, KeySet: ks, Audience: smartauth.EndpointAudience()}
	}
	v, err := smartauth.NewValidator(smartauth.Config{Issuers: []smartauth.IssuerConfig{
		issuer("https://good.example.com", remote("/good")),
		issuer("https://down.example.com", remote("/down")),
		issuer("https://static.example.com", static),
	}})
	require.NoError(t, err)

	err = v.Hydrate(context.Background())
	require.ErrorIs(t, err, smartauth.ErrJWKSFetch)
	assert.Contains(t, err.Error(), "https://down.example.com")
	assert.NotContains(t, err.Error(), "https://good.example.com")
	assert.NotContains(t, err.Error(), "https://static.example.com")
	assert.EqualValues(t, 1, hits.Load())

	require.ErrorIs(t, v.Hydrate(context.Background()), smartauth.ErrJWKSFetch, "the failing set retries on the next call")
	assert.EqualValues(t, 1, hits.Load(), "a loaded set is not fetched again")
}
