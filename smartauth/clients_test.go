package smartauth_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// TestClients is the one client allow-list (Cognito ClientIDs, the
// Keycloak AllowedClients check, the CLI's generic --client-id, scope
// mapping gates).
func TestClients(t *testing.T) {
	l := smartauth.Clients{"app", "svc"}
	for _, tc := range []struct {
		name          string
		clientID, azp string
		want          bool
		client        string
	}{
		{name: "client_id listed (Cognito)", clientID: "app", want: true, client: "app"},
		{name: "azp listed (Keycloak)", azp: "svc", want: true, client: "svc"},
		{name: "both listed and equal", clientID: "svc", azp: "svc", want: true, client: "svc"},
		{name: "both listed, different", clientID: "app", azp: "svc", want: true, client: "app"},
		{name: "client_id listed, azp not", clientID: "app", azp: "evil", client: "app"},
		{name: "azp listed, client_id not", clientID: "evil", azp: "app", client: "evil"},
		{name: "neither claim"},
		{name: "not listed", clientID: "evil", client: "evil"},
		{name: "case differs", clientID: "APP", client: "APP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &smartauth.Claims{ClientID: tc.clientID, AuthorizedParty: tc.azp}
			assert.Equal(t, tc.want, l.Allows(c))
			assert.Equal(t, tc.client, smartauth.ClientOf(c))
			err := l.Check(c)
			audErr := smartauth.ClientIDs(l...).CheckAudience(c, testEndpoint)
			if tc.want {
				assert.NoError(t, err)
				assert.NoError(t, audErr)
				return
			}
			require.ErrorIs(t, err, smartauth.ErrClientID)
			require.ErrorIs(t, audErr, smartauth.ErrClientID)
			assert.Equal(t, "client_id", smartauth.Reason(err))
		})
	}
	assert.False(t, smartauth.Clients(nil).Allows(&smartauth.Claims{ClientID: "app"}), "an empty list allows nobody")
}

func TestMappedScopes(t *testing.T) {
	table := map[string][]string{"clinicians": {"user/*.rs"}, "admins": {"user/*.cruds", "system/*.rs"}}
	groups := func(c *smartauth.Claims) []string { return c.Groups }
	f := smartauth.MappedScopes(smartauth.Clients{"app"}, table, groups)
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, f(&tc.claims))
		})
	}
}
