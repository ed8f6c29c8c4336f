package smartauth_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// TestClients covers both client allow-lists: Clients (either claim:
// Keycloak AllowedClients, the generic --client-id) and ClientIDs (the
// access-token audience policy: client_id required, RFC 9068 §2.2).
func TestClients(t *testing.T) {
	l := smartauth.Clients{"app", "svc"}
	for _, tc := range []struct {
		name          string
		clientID, azp string
		clients, ids  bool // allowed by Clients, by ClientIDs
		client        string
	}{
		{name: "client_id listed (Cognito)", clientID: "app", clients: true, ids: true, client: "app"},
		{name: "azp only, listed (Keycloak; an ID token under ClientIDs)", azp: "svc", clients: true, client: "svc"},
		{name: "both listed and equal", clientID: "svc", azp: "svc", clients: true, ids: true, client: "svc"},
		{name: "both listed, different", clientID: "app", azp: "svc", clients: true, ids: true, client: "app"},
		{name: "client_id listed, azp not", clientID: "app", azp: "evil", client: "app"},
		{name: "azp listed, client_id not", clientID: "evil", azp: "app", client: "evil"},
		{name: "neither claim"},
		{name: "not listed", clientID: "evil", client: "evil"},
		{name: "case differs", clientID: "APP", client: "APP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &smartauth.Claims{ClientID: tc.clientID, AuthorizedParty: tc.azp}
			assert.Equal(t, tc.clients, l.Allows(c))
			assert.Equal(t, tc.client, smartauth.ClientOf(c))
			for _, p := range []struct {
				policy smartauth.AudiencePolicy
				want   bool
			}{{l, tc.clients}, {smartauth.ClientIDs(l...), tc.ids}} {
				err := p.policy.CheckAudience(c, testEndpoint)
				if p.want {
					assert.NoError(t, err)
					continue
				}
				require.ErrorIs(t, err, smartauth.ErrClientID)
				assert.Equal(t, "client_id", smartauth.Reason(err))
			}
		})
	}
	assert.False(t, smartauth.Clients(nil).Allows(&smartauth.Claims{ClientID: "app"}), "an empty list allows nobody")
}

// TestAllOf: every policy must accept, the first error wins, and the
// combination binds the endpoint when one part does.
func TestAllOf(t *testing.T) {
	p := smartauth.AllOf(smartauth.EndpointAudience(), smartauth.Clients{"app"})
	ok := &smartauth.Claims{Audience: []string{testEndpoint}, ClientID: "app"}
	require.NoError(t, p.CheckAudience(ok, testEndpoint))
	require.ErrorIs(t, p.CheckAudience(&smartauth.Claims{Audience: []string{"other"}, ClientID: "app"}, testEndpoint), smartauth.ErrAudience)
	err := p.CheckAudience(&smartauth.Claims{Audience: []string{testEndpoint}, AuthorizedParty: "evil"}, testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrClientID)
	assert.NotErrorIs(t, err, smartauth.ErrAudience)
	require.ErrorIs(t, smartauth.AllOf(nil).CheckAudience(ok, testEndpoint), smartauth.ErrConfig, "a nil policy fails closed")
}

func TestMappedScopes(t *testing.T) {
	table := map[string][]string{"clinicians": {"user/*.rs"}, "admins": {"user/*.cruds", "system/*.rs"}}
	groups := func(c *smartauth.Claims) []string { return c.Groups }
	f := smartauth.MappedScopes([]string{"app"}, func(c *smartauth.Claims) string { return c.ClientID }, table, groups)
	table["clinicians"][0] = "user/*.cruds" // the table is copied
	for _, tc := range []struct {
		name   string
		claims smartauth.Claims
		want   []string
	}{
		{name: "listed client, mapped groups in token order", claims: smartauth.Claims{ClientID: "app", Groups: []string{"admins", "clinicians"}},
			want: []string{"user/*.cruds", "system/*.rs", "user/*.rs"}},
		{name: "unmapped group", claims: smartauth.Claims{ClientID: "app", Groups: []string{"nurses"}}},
		{name: "unlisted client", claims: smartauth.Claims{ClientID: "third-party", Groups: []string{"admins"}}},
		{name: "no client", claims: smartauth.Claims{Groups: []string{"admins"}}},
		{name: "listed client only in azp: the gate claim is client_id", claims: smartauth.Claims{AuthorizedParty: "app", Groups: []string{"admins"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, f(&tc.claims))
		})
	}
}

// TestAllOfRefusedByConfig: NewValidator refuses an AllOf that would accept
// every token (no policies) or that holds a nil policy, nested ones included.
func TestAllOfRefusedByConfig(t *testing.T) {
	ks := newTestKeySet(issuerAKeys())
	build := func(p smartauth.AudiencePolicy) error {
		_, err := smartauth.NewValidator(smartauth.Config{
			Issuers:   []smartauth.IssuerConfig{{Issuer: testIssuer, KeySet: ks, Audience: p}},
			Endpoints: []string{testEndpoint},
			Now:       fixedNow,
		})
		return err
	}
	for name, tc := range map[string]struct {
		policy smartauth.AudiencePolicy
		want   string
	}{
		"empty":           {smartauth.AllOf(), "AllOf has no policies"},
		"nil member":      {smartauth.AllOf(smartauth.EndpointAudience(), nil), "AllOf policy 1 is nil"},
		"nested empty":    {smartauth.AllOf(smartauth.EndpointAudience(), smartauth.AllOf()), "AllOf has no policies"},
		"nested nil":      {smartauth.AllOf(smartauth.AllOf(nil), smartauth.Clients{"app"}), "AllOf policy 0 is nil"},
		"only AllOf(nil)": {smartauth.AllOf(nil), "AllOf policy 0 is nil"},
	} {
		t.Run(name, func(t *testing.T) {
			err := build(tc.policy)
			require.ErrorIs(t, err, smartauth.ErrConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	require.NoError(t, build(smartauth.AllOf(smartauth.EndpointAudience(), smartauth.AllOf(smartauth.Clients{"app"}))))
}
