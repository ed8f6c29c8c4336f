//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/metadata"
	smartscopes "github.com/healthlake-smart/smartauth-go/scopes"
)

// `smartauth metadata` against the REAL Keycloak: its discovery document is fetched from the realm,
// turned into HealthLake Metadata, and the Metadata's endpoints are used for real.

// fetchKeycloakDiscovery fetches the realm's discovery document the way `smartauth metadata
// --keycloak-url --realm` does.
func fetchKeycloakDiscovery(t *testing.T) []byte {
	t.Helper()
	u, err := metadata.KeycloakDiscoveryURL(mustEnv(t, envKCBase), mustEnv(t, envKCRealm))
	require.NoError(t, err)
	disc, err := metadata.Fetch(context.Background(), httpClient, u)
	require.NoError(t, err)
	return disc
}

func TestMetadataFromRealKeycloak(t *testing.T) {
	issuer := keycloakIssuer(t)
	disc := fetchKeycloakDiscovery(t)
	var raw struct {
		Scopes []string `json:"scopes_supported"`
	}
	require.NoError(t, json.Unmarshal(disc, &raw))

	appCaps := []string{"launch-standalone", "client-confidential-symmetric", "sso-openid-connect",
		"context-standalone-patient", "permission-patient", "permission-user"}
	for _, tc := range []struct {
		name     string
		strategy metadata.Strategy
		caps     []string
	}{
		{name: "SMART_ON_FHIR", strategy: metadata.SMARTOnFHIR, caps: appCaps},
		{name: "SMART_ON_FHIR_V1", strategy: metadata.SMARTOnFHIRV1, caps: appCaps},
		{name: "SMART_ON_FHIR v2.2 asymmetric", strategy: metadata.SMARTOnFHIR,
			caps: []string{"launch-ehr", "context-ehr-patient", "client-confidential-asymmetric", "permission-v2.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := metadata.Build(disc, metadata.Settings{Strategy: tc.strategy, Capabilities: tc.caps,
				GrantTypes: []string{"authorization_code", "client_credentials"}, InsecureAllowLoopbackHTTP: true})
			require.NoError(t, err)

			// It names the realm's real endpoints.
			assert.Equal(t, issuer, m.Issuer)
			assert.Equal(t, issuer+"/protocol/openid-connect/auth", m.AuthorizationEndpoint)
			assert.Equal(t, issuer+"/protocol/openid-connect/token", m.TokenEndpoint)
			assert.Equal(t, keycloakJWKSURL(t), m.JWKSURI)
			assert.Equal(t, issuer+"/protocol/openid-connect/token/introspect", m.IntrospectionEndpoint)
			assert.Equal(t, issuer+"/protocol/openid-connect/revoke", m.RevocationEndpoint)
			assert.Equal(t, []string{"S256"}, m.CodeChallengeMethods)
			assert.Equal(t, tc.strategy == metadata.SMARTOnFHIR, slices.Contains(m.Capabilities, "permission-v2"))

			// scopes_supported is the realm's SMART scopes that the strategy accepts.
			for _, s := range m.ScopesSupported {
				assert.Contains(t, raw.Scopes, s)
				sc, err := smartscopes.Parser{AnyResourceType: true}.Parse(s)
				require.NoError(t, err, s)
				if tc.strategy == metadata.SMARTOnFHIRV1 {
					assert.NotEqual(t, smartscopes.V2, sc.Version, "v2 scope %s advertised on a V1 data store", s)
				}
				if sc.IsGranular() {
					assert.Contains(t, m.Capabilities, "permission-v2.2")
				}
			}
			assert.Contains(t, m.ScopesSupported, "openid")

			// It passes Check in both the object and the API's JSON-string form.
			policy := metadata.Policy{Strategy: tc.strategy, InsecureAllowLoopbackHTTP: true}
			obj, err := m.JSON(true)
			require.NoError(t, err)
			quoted, err := m.Quoted()
			require.NoError(t, err)
			assert.Empty(t, policy.Check(obj))
			assert.Empty(t, policy.Check([]byte(quoted)))
			// Only the loopback http URLs keep it from HealthLake.
			for _, p := range metadata.Check(obj, tc.strategy) {
				assert.Equal(t, "smart.url", p.Rule, p.String())
			}
		})
	}

	t.Run("endpoints answer", func(t *testing.T) {
		// backend services: the realm's svc client uses the token endpoint the Metadata names
		m, err := metadata.Build(disc, metadata.Settings{Strategy: metadata.SMARTOnFHIR, Capabilities: []string{"client-confidential-symmetric"},
			GrantTypes: []string{"client_credentials"}, InsecureAllowLoopbackHTTP: true})
		require.NoError(t, err)
		resp, err := httpClient.Get(m.JWKSURI)
		require.NoError(t, err)
		var set jwkSet
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.NotEmpty(t, set.Keys)

		status, body := postForm(t, m.TokenEndpoint, url.Values{"grant_type": {"client_credentials"},
			"client_id": {mustEnv(t, envKCSvcID)}, "client_secret": {mustEnv(t, envKCSvcSecret)}})
		require.Equal(t, http.StatusOK, status, "token endpoint of the Metadata: %s", body)
		var tr tokenResponse
		require.NoError(t, json.Unmarshal(body, &tr))
		assert.NotEmpty(t, tr.AccessToken)
	})
}

// The raw Keycloak discovery document is not a valid Metadata: Check names each reason.
func TestMetadataRawKeycloakDiscoveryFails(t *testing.T) {
	disc := fetchKeycloakDiscovery(t)
	var raw struct {
		Grants []string `json:"grant_types_supported"`
		PKCE   []string `json:"code_challenge_methods_supported"`
		Scopes []string `json:"scopes_supported"`
	}
	require.NoError(t, json.Unmarshal(disc, &raw))
	require.Contains(t, raw.PKCE, "S256", "Keycloak supports PKCE S256")

	// Expected from the document itself: Keycloak never lists SMART capabilities, lists every grant
	// it implements, lists the plain PKCE method, and lists every client scope of the realm (v2 and
	// granular SMART scopes among them).
	common := []string{"healthlake.required capabilities"}
	for _, g := range raw.Grants {
		switch g {
		case "authorization_code", "client_credentials", "refresh_token":
		case "implicit", "password":
			common = append(common, "oauth.insecure-grant grant_types_supported")
		default:
			common = append(common, "smart.grant-type grant_types_supported")
		}
	}
	if slices.Contains(raw.PKCE, "plain") {
		common = append(common, "smart.pkce-plain code_challenge_methods_supported")
	}
	var v1Scope, granular []string
	for _, s := range raw.Scopes {
		sc, err := smartscopes.Parser{AnyResourceType: true}.Parse(s)
		if err != nil || !sc.IsResource() {
			continue
		}
		if sc.Version == smartscopes.V2 {
			v1Scope = append(v1Scope, "healthlake.v1-scope scopes_supported")
		}
		if sc.IsGranular() {
			granular = append(granular, "healthlake.granular-scope scopes_supported")
		}
	}
	require.NotEmpty(t, granular, "the realm has a v2.2 granular client scope")

	for strategy, want := range map[metadata.Strategy][]string{
		metadata.SMARTOnFHIR:   append(slices.Clone(common), granular...),
		metadata.SMARTOnFHIRV1: append(slices.Clone(common), v1Scope...),
	} {
		probs := metadata.Policy{Strategy: strategy, InsecureAllowLoopbackHTTP: true}.Check(disc)
		var got []string
		for _, p := range probs {
			got = append(got, p.Rule+" "+p.Member)
			t.Log(p.String())
		}
		assert.ElementsMatch(t, want, got, strategy)
		// Without the loopback allowance the realm's http URLs are problems too.
		assert.Greater(t, len(metadata.Check(disc, strategy)), len(probs))
	}
}

// TestMetadataCLIAgainstProdRealm runs the `smartauth metadata` command (built from cmd/smartauth)
// against the realm the Keycloak stack deploys (deploy/keycloak/realm/smart-realm.json, realm
// smart), checks its output with `smartauth metadata --check`, and compares it with the Metadata
// deploy/cloudformation/keycloak.yaml writes by hand for that realm.
func TestMetadataCLIAgainstProdRealm(t *testing.T) {
	dir := t.TempDir()
	cli := filepath.Join(dir, "smartauth")
	build := exec.Command("go", "build", "-o", cli, "./cmd/smartauth")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/smartauth: %s", out)

	run := func(args ...string) (string, error) {
		cmd := exec.Command(cli, append([]string{"metadata"}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return stdout.String(), fmt.Errorf("%w: %s", err, stderr.String())
		}
		return stdout.String(), nil
	}

	// The capabilities keycloak.yaml advertises for this realm (it adds permission-v1: a
	// SMART_ON_FHIR data store takes v1 scopes as well as v2).
	built, err := run("--keycloak-url", mustEnv(t, envKCBase), "--realm", mustEnv(t, envKCSmartRealm),
		"--strategy", "SMART_ON_FHIR", "--launch", "standalone", "--clients", "public,confidential-symmetric",
		"--permissions", "patient,user", "--capability", "permission-v1",
		"--grant-types", "authorization_code,client_credentials", "--insecure-allow-loopback-http")
	require.NoError(t, err)
	// The realm's issuer is checked: a pinned issuer it does not name is refused.
	_, err = run("--keycloak-url", mustEnv(t, envKCBase), "--realm", mustEnv(t, envKCSmartRealm),
		"--issuer", "https://kc.example.com/realms/smart", "--insecure-allow-loopback-http")
	require.ErrorContains(t, err, "wrong issuer")
	file := filepath.Join(dir, "metadata.json")
	require.NoError(t, os.WriteFile(file, []byte(built), 0o600))
	checked, err := run("--strategy", "SMART_ON_FHIR", "--insecure-allow-loopback-http", "--check", file)
	require.NoError(t, err, "--check rejected the CLI's own Metadata:\n%s\n%s", checked, built)

	var cliMeta map[string]any
	require.NoError(t, json.Unmarshal([]byte(built), &cliMeta), built)
	tmpl := keycloakTemplateMetadata(t, smartIssuer(t))
	for _, k := range []string{"issuer", "jwks_uri", "authorization_endpoint", "token_endpoint", "introspection_endpoint",
		"revocation_endpoint"} {
		assert.Equal(t, cliMeta[k], tmpl[k], "%s: keycloak.yaml and the CLI disagree", k)
	}
	assert.ElementsMatch(t, cliMeta["capabilities"], tmpl["capabilities"])
	assert.ElementsMatch(t, cliMeta["code_challenge_methods_supported"], tmpl["code_challenge_methods_supported"])
	// The template advertises no scope the realm does not offer.
	assert.Subset(t, cliMeta["scopes_supported"], tmpl["scopes_supported"])
}

// keycloakTemplateMetadata is the Metadata of deploy/cloudformation/keycloak.yaml (SMART_ON_FHIR)
// with the realm URL replaced by issuer: the folded string under `Metadata: !Sub`, its ${Realm},
// ${Scopes} and ${Capabilities} filled in from the template's own SMART_ON_FHIR values.
func keycloakTemplateMetadata(t *testing.T, issuer string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "cloudformation", "keycloak.yaml"))
	require.NoError(t, err)
	src := string(raw)
	m := regexp.MustCompile(`(?s)Metadata: !Sub\n\s+- >-\n(.*?)\n\s+- Realm:`).FindStringSubmatch(src)
	require.NotNil(t, m, "keycloak.yaml: Metadata: !Sub [ >- ..., {Realm: ...} ]")
	var lines []string
	for _, l := range strings.Split(m[1], "\n") {
		lines = append(lines, strings.TrimSpace(l))
	}
	doc := strings.Join(lines, " ")
	scopes := regexp.MustCompile(`(?s)Scopes: !If\n\s+- IsSmartV2\n\s+- '([^']*)'`).FindStringSubmatch(src)
	require.NotNil(t, scopes, "keycloak.yaml: Scopes: !If [IsSmartV2, '...', ...]")
	caps := regexp.MustCompile(`Capabilities: !If \[IsSmartV2, '([^']*)', ''\]`).FindStringSubmatch(src)
	require.NotNil(t, caps, "keycloak.yaml: Capabilities: !If [IsSmartV2, '...', '']")
	doc = strings.NewReplacer("${Realm}", issuer, "${Scopes}", scopes[1], "${Capabilities}", caps[1]).Replace(doc)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &out), doc)
	return out
}
