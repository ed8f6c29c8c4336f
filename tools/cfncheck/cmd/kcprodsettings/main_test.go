package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/healthlake-smart/smartauth-go/tools/cfncheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const keycloakYAML = "../../../../deploy/cloudformation/keycloak.yaml"

// envRows runs the program on the real template and returns its env rows
// (NAME -> "KIND\tVALUE") and the other settings (KEY -> VALUE).
func envRows(t *testing.T, deploy string) (env, other map[string]string) {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, run([]string{keycloakYAML, deploy}, &out))
	env, other = map[string]string{}, map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if f[0] == "env" {
			require.Len(t, f, 4, line)
			env[f[1]] = f[2] + "\t" + f[3]
			continue
		}
		require.Len(t, f, 2, line)
		other[f[0]] = f[1]
	}
	return env, other
}

func TestKeycloakProductionSettings(t *testing.T) {
	common := map[string]string{
		"KC_HTTP_ENABLED":             "literal\ttrue",
		"KC_PROXY_HEADERS":            "literal\txforwarded",
		"KC_BOOTSTRAP_ADMIN_USERNAME": "literal\tadmin",
		"SMART_AUDIENCE":              "ref:TokenAudience\t",
		"SMART_APP_REDIRECT_URI":      "ref:AppRedirectURI\t",
		"KC_DB":                       "literal\tpostgres",
		"KC_DB_URL":                   "ref:DbJdbcUrl\t",
		"KC_DB_USERNAME":              "ref:DbUsername\t",
		"KC_BOOTSTRAP_ADMIN_PASSWORD": "secret\t",
		"SMART_BACKEND_CLIENT_SECRET": "secret\t",
		"KC_DB_PASSWORD":              "secret\t",
	}
	for deploy, hostname := range map[string]map[string]string{
		// The template's !If [HasHostname, KC_HOSTNAME, KC_HOSTNAME_STRICT=false]: one or the other.
		"first":  {"KC_HOSTNAME_STRICT": "literal\tfalse"},
		"second": {"KC_HOSTNAME": "ref:KeycloakHostname\t"},
	} {
		t.Run(deploy, func(t *testing.T) {
			env, other := envRows(t, deploy)
			want := map[string]string{}
			for k, v := range common {
				want[k] = v
			}
			for k, v := range hostname {
				want[k] = v
			}
			assert.Equal(t, want, env)
			assert.Equal(t, map[string]string{
				"start_command": "/opt/keycloak/bin/smart-entrypoint.sh start --optimized --import-realm",
				"port":          "8080",
				"health_path":   "/realms/smart/.well-known/openid-configuration",
			}, other)
		})
	}
}

func TestRejectsValuesTheSmokeCannotMap(t *testing.T) {
	for name, value := range map[string]string{
		"a parameter with other text": "!Sub 'jdbc:${DbJdbcUrl}'",
		"a resource attribute":        "!GetAtt Role.Arn",
		"a pseudo parameter":          "!Ref AWS::StackName",
	} {
		t.Run(name, func(t *testing.T) {
			tmpl, err := cfncheck.Parse([]byte(`
Parameters:
  DbJdbcUrl: { Type: String }
Resources:
  Role: { Type: AWS::IAM::Role }
  Keycloak:
    Type: AWS::AppRunner::Service
    Properties:
      SourceConfiguration:
        ImageRepository:
          ImageConfiguration:
            Port: '8080'
            StartCommand: run
            RuntimeEnvironmentVariables:
              - { Name: X, Value: ` + value + ` }
            RuntimeEnvironmentSecrets:
              - { Name: S, Value: !GetAtt Role.Arn }
      HealthCheckConfiguration: { Path: /health }
`))
			require.NoError(t, err)
			_, err = settings(tmpl, false)
			assert.ErrorContains(t, err, "X is ")
		})
	}
}

func TestUsage(t *testing.T) {
	assert.ErrorContains(t, run([]string{keycloakYAML, "third"}, &bytes.Buffer{}), "usage")
}
