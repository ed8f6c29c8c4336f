package cfncheck

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hardeningVariants are the parameter combinations the IAM, alarm and log
// group checks run under: the shared variants plus each template's own
// switches (trigger off, demo mode, ECR Public, customer-managed KMS key).
func hardeningVariants(d deployment) []deployment {
	out := []deployment{}
	for _, kv := range variants {
		out = append(out, d.with(kv...))
	}
	switch d.file {
	case "cognito.yaml":
		out = append(out, d.with("PreTokenTrigger", "off", "UserPoolTier", "LITE", "FineGrainedAuthorization", "false"),
			d.with("PreTokenTrigger", "V3_0", "AccessLevel", "read-write"))
	case "keycloak.yaml":
		out = append(out, d.with("KeycloakMode", "demo", "DbJdbcUrl", "", "DbPasswordSecretArn", ""),
			d.with("KeycloakImage", "public.ecr.aws/smartauth/keycloak:26.4"),
			d.with("DbSecretKmsKeyArn", "arn:aws:kms:us-east-1:"+account+":key/1234abcd-12ab-34cd-56ef-1234567890ab"))
	}
	return out
}

// trustedService is the one service each role trusts. A new role needs an
// entry (and a review of its permissions).
var trustedService = map[string]string{
	"ValidatorExecRole":     "lambda.amazonaws.com",
	"PreTokenRole":          "lambda.amazonaws.com",
	"HealthLakeServiceRole": "healthlake.amazonaws.com",
	"EcrAccessRole":         "build.apprunner.amazonaws.com",
	"KeycloakInstanceRole":  "tasks.apprunner.amazonaws.com",
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

// logsPolicy is the whole inline policy of a Lambda execution role: write
// its own log group's streams, nothing else.
func logsPolicy(logGroupARN string) []any {
	return []any{map[string]any{
		"PolicyName": "logs",
		"PolicyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect":   "Allow",
				"Action":   []any{"logs:CreateLogStream", "logs:PutLogEvents"},
				"Resource": logGroupARN,
			}},
		},
	}}
}

// TestRolesLeastPrivilege: IAM roles only, each trusting its one service,
// with inline policies only (no managed policy, no separate policy
// resource), no wildcard action and no * resource except ECR's
// GetAuthorizationToken, which has no resource-level permissions; the
// Lambda execution roles write their own log group and nothing else.
// (The service role's actions: TestValidatorWiring; the Keycloak roles'
// statements: TestEcrPullScopedToImageRepository, TestKeycloakInstanceRoleKMS.)
func TestRolesLeastPrivilege(t *testing.T) {
	allowedKeys := []string{"AssumeRolePolicyDocument", "Description", "Policies", "RoleName", "Tags"}
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			var roles []string
			for name, r := range d.tmpl.Resources {
				if strings.HasPrefix(r.Type, "AWS::IAM::") {
					require.Equal(t, "AWS::IAM::Role", r.Type, "%s: only roles with inline policies (a policy resource adds permissions unseen here)", name)
					roles = append(roles, name)
					require.Contains(t, trustedService, name, "new role %s: add it to trustedService and review its permissions", name)
				}
			}
			require.NotEmpty(t, roles)
			for _, v := range hardeningVariants(d) {
				for _, name := range roles {
					role := v.props(t, name)
					if role == nil {
						continue
					}
					for k := range role {
						assert.Contains(t, allowedKeys, k, "%s: %s has %s (ManagedPolicyArns, PermissionsBoundary, ... are not reviewed)", v.name, name, k)
					}
					// Trust: one statement, the role's service, sts:AssumeRole.
					trust := role["AssumeRolePolicyDocument"].(map[string]any)
					stmts := trust["Statement"].([]any)
					require.Len(t, stmts, 1, "%s: %s trust", v.name, name)
					st := maps.Clone(stmts[0].(map[string]any))
					if name == "HealthLakeServiceRole" {
						delete(st, "Condition") // TestValidatorWiring compares it exactly
					}
					assert.Equal(t, map[string]any{
						"Effect":    "Allow",
						"Principal": map[string]any{"Service": trustedService[name]},
						"Action":    "sts:AssumeRole",
					}, st, "%s: %s trust", v.name, name)

					for _, p := range role["Policies"].([]any) {
						for _, s := range Dig(p, "PolicyDocument", "Statement").([]any) {
							sm := s.(map[string]any)
							for k := range sm {
								assert.Contains(t, []string{"Action", "Condition", "Effect", "Resource", "Sid"}, k, "%s: %s: no NotAction/NotResource/Principal", v.name, name)
							}
							assert.Equal(t, "Allow", sm["Effect"], "%s: %s", v.name, name)
							actions := asStrings(sm["Action"])
							for _, a := range actions {
								assert.NotContains(t, a, "*", "%s: %s: wildcard action %s", v.name, name, a)
							}
							for _, res := range asStrings(sm["Resource"]) {
								switch {
								case res == "*":
									assert.Equal(t, []string{"ecr:GetAuthorizationToken"}, actions, "%s: %s: Resource * is for ecr:GetAuthorizationToken only", v.name, name)
								case strings.Contains(res, "*"):
									assert.Contains(t, []string{validatorLogARN, preTokenLogARN}, res, "%s: %s: wildcard resource", v.name, name)
								}
							}
						}
					}
					switch name {
					case "ValidatorExecRole":
						assert.Equal(t, logsPolicy(validatorLogARN), role["Policies"], v.name)
					case "PreTokenRole":
						assert.Equal(t, logsPolicy(preTokenLogARN), role["Policies"], v.name)
					case "HealthLakeServiceRole":
						require.Len(t, role["Policies"], 1, v.name)
						assert.Equal(t, "fhir-data-plane", Dig(role["Policies"].([]any)[0], "PolicyName"))
						roleActions(t, role) // resources: this data store only
					}
				}
			}
		})
	}
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	case string:
		var f float64
		_, err := fmt.Sscan(x, &f)
		require.NoError(t, err, x)
		return f
	}
	t.Fatalf("not a number: %#v", v)
	return 0
}

// TestAlarmSettings: each template's alarms fire on what they say, not only
// in step with the other template (TestSharedBlocksIdentical): above the
// threshold, errors and throttles summed, duration at p99 in milliseconds
// within half of the 1 s budget, missing data (no traffic) not breaching.
func TestAlarmSettings(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, v := range hardeningVariants(d) {
				for name, r := range v.tmpl.Resources {
					if r.Type != "AWS::CloudWatch::Alarm" {
						continue
					}
					a := v.props(t, name)
					if a == nil {
						continue
					}
					seen[name] = true
					where := v.name + ": " + name
					assert.Equal(t, "AWS/Lambda", a["Namespace"], where)
					assert.Equal(t, "GreaterThanThreshold", a["ComparisonOperator"], where)
					assert.Equal(t, "notBreaching", a["TreatMissingData"], where)
					for _, k := range []string{"Metrics", "ActionsEnabled", "EvaluateLowSampleCountPercentile", "ThresholdMetricId"} {
						assert.NotContains(t, a, k, where)
					}
					period := toFloat(t, a["Period"])
					assert.True(t, period >= 60 && period <= 300, "%s: Period %v", where, period)
					evals := toFloat(t, a["EvaluationPeriods"])
					if dp, ok := a["DatapointsToAlarm"]; ok {
						assert.LessOrEqual(t, toFloat(t, dp), evals, where)
					}
					// Validator alarms watch the alias HealthLake invokes;
					// TestPreTokenAlarm checks the trigger's dimension.
					if strings.HasPrefix(name, "Validator") {
						assert.Equal(t, []any{
							map[string]any{"Name": "FunctionName", "Value": functionName},
							map[string]any{"Name": "Resource", "Value": functionName + ":live"},
						}, a["Dimensions"], where)
					}
					switch a["MetricName"] {
					case "Errors", "Throttles":
						assert.Equal(t, "Sum", a["Statistic"], where)
						assert.NotContains(t, a, "ExtendedStatistic", where)
						assert.Equal(t, 0.0, toFloat(t, a["Threshold"]), "%s: any error or throttle", where)
						if u, ok := a["Unit"]; ok {
							assert.Equal(t, "Count", u, where)
						}
					case "Duration":
						assert.Equal(t, "p99", a["ExtendedStatistic"], where)
						assert.NotContains(t, a, "Statistic", where)
						if u, ok := a["Unit"]; ok {
							assert.Equal(t, "Milliseconds", u, where)
						}
						th := toFloat(t, a["Threshold"])
						assert.True(t, th > 0 && th <= 500, "%s: threshold %v ms: at most half of HealthLake's 1 s budget", where, th)
					default:
						t.Errorf("%s: unreviewed metric %v", where, a["MetricName"])
					}
				}
			}
			want := []string{"ValidatorDurationAlarm", "ValidatorErrorsAlarm", "ValidatorThrottlesAlarm"}
			if d.file == "cognito.yaml" {
				want = append(want, "PreTokenErrorsAlarm")
			}
			assert.ElementsMatch(t, want, slices.Collect(maps.Keys(seen)))
		})
	}
}

// TestLogGroupsAndRetention: every log group keeps its events for
// LogRetentionDays (never forever), and the stateful resources are kept on
// deletion and replacement, but deleted by the rollback of a failed first
// deploy (RetainExceptOnCreate: no orphaned, billed data store or pool).
func TestLogGroupsAndRetention(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			groups := 0
			for name, r := range d.tmpl.Resources {
				switch r.Type {
				case "AWS::Logs::LogGroup":
					groups++
					for _, days := range []string{"30", "3653"} {
						v := d.with("LogRetentionDays", days)
						assert.Equal(t, days, fmtAny(v.props(t, name)["RetentionInDays"]), "%s: %s", v.name, name)
					}
				case "AWS::HealthLake::FHIRDatastore", "AWS::Cognito::UserPool":
					assert.Equal(t, "RetainExceptOnCreate", r.DeletionPolicy, name)
					assert.Equal(t, "Retain", r.UpdateReplacePolicy, name)
				}
			}
			assert.Equal(t, map[string]int{"cognito.yaml": 2, "keycloak.yaml": 1}[d.file], groups)
			if d.file == "cognito.yaml" {
				assert.Contains(t, d.tmpl.Resources, "UserPool")
			}
		})
	}
}

// TestRealmClientsHardened: the shipped realm's clients, flag by flag, as
// the SMART app and backend service profiles require. Keycloak defaults
// some of these flags to the permissive value (fullScopeAllowed true), so
// each is required explicitly.
func TestRealmClientsHardened(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "keycloak", "realm", "smart-realm.json"))
	require.NoError(t, err)
	var r struct {
		RegistrationAllowed *bool                       `json:"registrationAllowed"`
		SSLRequired         string                      `json:"sslRequired"`
		Clients             []map[string]any            `json:"clients"`
		Components          map[string][]map[string]any `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &r))
	require.NotNil(t, r.RegistrationAllowed)
	assert.False(t, *r.RegistrationAllowed, "no self-registration")
	assert.Contains(t, []string{"external", "all"}, r.SSLRequired)

	ids := map[string]map[string]any{}
	for _, c := range r.Clients {
		ids[c["clientId"].(string)] = c
	}
	assert.ElementsMatch(t, []string{"smart-app", "smart-practitioner", "smart-backend"}, slices.Collect(maps.Keys(ids)),
		"a new client needs a review here")
	for id, c := range ids {
		for k, want := range map[string]any{
			"enabled": true, "protocol": "openid-connect",
			"implicitFlowEnabled": false, "directAccessGrantsEnabled": false, "fullScopeAllowed": false,
		} {
			assert.Equal(t, want, c[k], "%s: %s", id, k)
		}
		attrs, _ := c["attributes"].(map[string]any)
		assert.Equal(t, "false", attrs["oauth2.device.authorization.grant.enabled"], id)
		assert.Equal(t, "false", attrs["oidc.ciba.grant.enabled"], id)
		if c["publicClient"] == true {
			assert.Equal(t, true, c["standardFlowEnabled"], id)
			assert.Equal(t, false, c["serviceAccountsEnabled"], id)
			assert.Equal(t, "S256", attrs["pkce.code.challenge.method"], "%s: public clients require PKCE S256", id)
			assert.Equal(t, []any{"${SMART_APP_REDIRECT_URI}"}, c["redirectUris"], id)
			assert.NotContains(t, c, "secret", id)
			continue
		}
		assert.Equal(t, "smart-backend", id, "the only confidential client")
		assert.Equal(t, false, c["publicClient"], id)
		assert.Equal(t, true, c["serviceAccountsEnabled"], id)
		assert.Equal(t, false, c["standardFlowEnabled"], "%s: client credentials only", id)
		assert.Equal(t, "client-secret", c["clientAuthenticatorType"], id)
		assert.Equal(t, "${SMART_BACKEND_CLIENT_SECRET}", c["secret"], id)
		assert.Empty(t, c["redirectUris"], id)
		assert.Equal(t, "false", attrs["use.refresh.tokens"], id)
		assert.Equal(t, "false", attrs["client_credentials.use_refresh_token"], id)
	}

	// fhirUser and patient (the SMART launch context HealthLake trusts) are
	// set by administrators only: a user who could edit them could choose
	// whose data they read.
	providers := r.Components["org.keycloak.userprofile.UserProfileProvider"]
	require.Len(t, providers, 1)
	cfg := Dig(providers[0], "config", "kc.user.profile.config").([]any)
	require.Len(t, cfg, 1)
	var profile struct {
		Attributes []struct {
			Name        string              `json:"name"`
			Permissions map[string][]string `json:"permissions"`
		} `json:"attributes"`
	}
	require.NoError(t, json.Unmarshal([]byte(cfg[0].(string)), &profile))
	found := 0
	for _, a := range profile.Attributes {
		if a.Name == "fhirUser" || a.Name == "patient" {
			found++
			assert.Equal(t, []string{"admin"}, a.Permissions["edit"], "%s: admin-only", a.Name)
		}
	}
	assert.Equal(t, 2, found, "the user profile declares fhirUser and patient")
}
