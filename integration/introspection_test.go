//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// carol is the realm's third user (testdata/keycloak/fhir-realm.json); this
// test logs her out, so no other test uses her. Keycloak 26 introspects a
// token only when its aud names the introspecting client: the optional
// client scope introspection-audience adds the introspector client to aud.
const (
	carolUser          = "carol"
	carolPassword      = "carol-password"
	introspectorID     = "introspector"
	introspectorSecret = "introspector-secret"
)

// newIntrospectingValidator is newKeycloakValidator plus RFC 7662
// introspection against the real Keycloak endpoint, authenticated as the
// dedicated introspector client.
func newIntrospectingValidator(t *testing.T, introspect bool) itValidator {
	t.Helper()
	cfg := keycloak.Config{
		BaseURL: mustEnv(t, envKCBase),
		Realm:   mustEnv(t, envKCRealm),
		KeySetOptions: smartauth.RemoteOptions{
			InsecureHTTP:   true, // test-only: the local Keycloak is http://
			RequestTimeout: jwksTimeout,
		},
	}
	if introspect {
		cfg.Introspection = &keycloak.Introspection{
			ClientID:     introspectorID,
			ClientSecret: introspectorSecret,
			HTTPClient:   &http.Client{Timeout: 5 * time.Second},
			Timeout:      900 * time.Millisecond, // the loaded CI machine; production keeps the 300 ms default
			InsecureHTTP: true,                   // test-only
		}
	}
	ic, err := keycloak.New(cfg)
	require.NoError(t, err)
	sv, err := smartauth.NewValidator(smartauth.Config{
		Issuers:                  []smartauth.IssuerConfig{ic},
		InsecureAllowHTTPIssuers: true,
	})
	require.NoError(t, err)
	v := withResponse(t, sv, healthlake.ScopesAsGiven)
	hydrate(t, v)
	return v
}

// Catalogue row 33: local verification cannot see a logout; introspection
// can. After carol's sessions are ended through the admin API her token is
// still locally valid (signature, exp, aud) but Keycloak reports it
// inactive, and the introspecting validator denies it.
func TestKeycloakIntrospectionSeesLogout(t *testing.T) {
	tok := keycloakPasswordToken(t, carolUser, carolPassword, "openid fhirUser launch/patient patient/*.rs introspection-audience")
	endpoint := mustEnv(t, envKCAudience)
	ctx := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		return c
	}

	local := newIntrospectingValidator(t, false)
	checked := newIntrospectingValidator(t, true)
	d := checked.Authorize(ctx(), healthlake.Event{DatastoreEndpoint: endpoint, BearerToken: tok.AccessToken})
	require.True(t, d.Allowed, "active token: %v", d.Err)
	assert.Equal(t, "Patient/789", d.Response.AuthPayload.FHIRUser)

	admin := keycloakAdminToken(t)
	resp, body := keycloakAdmin(t, admin, http.MethodGet, "/users?exact=true&username="+carolUser, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var users []struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &users))
	require.Len(t, users, 1)
	resp, body = keycloakAdmin(t, admin, http.MethodPost, "/users/"+users[0].ID+"/logout", nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, string(body))

	// The local-only validator cannot know: the token stays valid until exp.
	d = local.Authorize(ctx(), healthlake.Event{DatastoreEndpoint: endpoint, BearerToken: tok.AccessToken})
	assert.True(t, d.Allowed, "local verification does not see revocation (documented)")

	// A fresh introspecting validator (empty cache) asks Keycloak: inactive.
	fresh := newIntrospectingValidator(t, true)
	d = fresh.Authorize(ctx(), healthlake.Event{DatastoreEndpoint: endpoint, BearerToken: tok.AccessToken})
	assert.False(t, d.Allowed)
	require.ErrorIs(t, d.Err, keycloak.ErrTokenInactive)
	assert.Equal(t, "remote_check", d.Reason)
	assert.JSONEq(t, `{"authPayload":{"isAuthorized":false}}`, mustMarshal(t, d.Response))
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
