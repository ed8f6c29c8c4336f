package metadata

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzCheck: Check parses untrusted JSON. It never panics, is deterministic,
// renders every problem on one line, and accepts only documents that are a
// JSON object with HealthLake's required members.
func FuzzCheck(f *testing.F) {
	for _, name := range []string{"keycloak", "keycloak-v1-backend", "keycloak-asymmetric", "cognito", "cognito-custom-domain"} {
		b, err := os.ReadFile("testdata/" + name + ".golden.json")
		require.NoError(f, err)
		f.Add(b, false)
	}
	f.Add(keycloakDiscovery(f, kcIssuer), true)
	f.Add([]byte(`"{\"capabilities\":[\"permission-v2\"]}"`), false)
	f.Add([]byte(`{"a":1,"a":2}`), false)
	f.Add([]byte(`{"issuer":"https://cognito-idp.x.amazonaws.com/","scopes_supported":["patient/x.rs?a=b","user/*.*"]}`), true)
	f.Add([]byte("\xff"), false)
	f.Fuzz(func(t *testing.T, doc []byte, v1 bool) {
		st := SMARTOnFHIR
		if v1 {
			st = SMARTOnFHIRV1
		}
		probs := Check(doc, st)
		assert.Equal(t, probs, Check(doc, st), "deterministic")
		for _, p := range probs {
			assert.NotEmpty(t, p.Rule)
			assert.NotContains(t, p.String(), "\n")
		}
		if len(probs) == 0 {
			m, prob := decodeObject(doc)
			require.Nil(t, prob)
			for _, k := range []string{"authorization_endpoint", "token_endpoint", "grant_types_supported", "capabilities", "code_challenge_methods_supported"} {
				assert.Contains(t, m, k)
			}
			assert.True(t, strings.Contains(string(m["code_challenge_methods_supported"]), `"S256"`))
		}
	})
}
