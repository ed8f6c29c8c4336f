package cfncheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// worstDescription is the longest validator version Description the
// parameters allow: every capped string parameter at its MaxLength, the data
// store id at its 32 characters, every enumerated one at each of its values.
// A parameter that reaches the Description uncapped fails the test.
func worstDescription(t *testing.T, d deployment) string {
	t.Helper()
	descExpr := d.tmpl.Resources["ValidatorVersion"].Properties["Description"]
	var fixed []string   // kv pairs at their maximum
	var enums [][]string // per enumerated parameter: kv pairs
	for _, p := range d.tmpl.References(descExpr) {
		par, ok := d.tmpl.Parameters[p]
		if !ok {
			continue
		}
		var val string
		switch {
		case len(par.AllowedValues) > 0:
			var kvs []string
			for _, v := range par.AllowedValues {
				kvs = append(kvs, p, v.(string))
			}
			enums = append(enums, kvs)
			continue
		case p == "DatastoreEndpoint":
			// Only the id reaches the Description; the pattern caps it.
			re := regexp.MustCompile(par.AllowedPattern)
			val = "https://healthlake.us-east-1.amazonaws.com/datastore/" + strings.Repeat("a", 32) + "/r4/"
			require.False(t, re.MatchString(strings.Replace(val, "/r4/", "a/r4/", 1)), "%s: the data store id must be capped at 32", d.name)
		case par.MaxLength > 0:
			val = strings.Repeat("a", par.MaxLength)
		default:
			t.Fatalf("%s: parameter %s reaches the version Description without MaxLength or AllowedValues", d.name, p)
		}
		if par.AllowedPattern != "" {
			require.Regexp(t, par.AllowedPattern, val, "%s: %s maximum", d.name, p)
		}
		fixed = append(fixed, p, val)
	}
	worst := ""
	var walk func(i int, kv []string)
	walk = func(i int, kv []string) {
		if i == len(enums) {
			s := d.with(kv...).props(t, "ValidatorVersion")["Description"].(string)
			if len(s) > len(worst) {
				worst = s
			}
			return
		}
		for j := 0; j+1 < len(enums[i]); j += 2 {
			walk(i+1, append(slices.Clone(kv), enums[i][j], enums[i][j+1]))
		}
	}
	walk(0, fixed)
	return worst
}

// TestDatastoreParametersSayReplaces: a change of anything the data store's
// properties name replaces it (Metadata, strategy, preload): every
// parameter that reaches them, directly or through a condition, says so.
func TestDatastoreParametersSayReplaces(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			var params []string
			for _, r := range d.tmpl.References(d.tmpl.Resources["Datastore"].Properties) {
				if p, ok := d.tmpl.Parameters[r]; ok {
					params = append(params, r)
					assert.Contains(t, strings.Join(strings.Fields(p.Description), " "), "REPLACES the data store",
						"%s feeds the data store: its description must say that changing it REPLACES the data store", r)
				}
			}
			want := map[string][]string{
				"cognito.yaml":  {"AccessLevel", "AuthorizationStrategy", "DomainPrefix", "FineGrainedAuthorization", "PreTokenTrigger", "PreloadData"},
				"keycloak.yaml": {"AuthorizationStrategy", "KeycloakHostname", "PreloadData"},
			}[d.file]
			assert.Equal(t, want, params)
		})
	}
}

// TestGroupScopesOnlyInPractitionerClient: the pre-token trigger adds the
// practitioners' user/ scopes in PractitionerAppClient only, never in the
// patient app AppClient, and the validator accepts that client's tokens.
func TestGroupScopesOnlyInPractitionerClient(t *testing.T) {
	d := deployments(t)[0]
	require.Equal(t, "cognito.yaml", d.file)
	for _, v := range []deployment{d, d.with("AccessLevel", "read-write"), d.with("PreTokenTrigger", "V3_0")} {
		env := Dig(v.props(t, "PreTokenFunction"), "Environment", "Variables").(map[string]any)
		assert.Equal(t, practID, env["GROUP_SCOPE_CLIENTS"], "%s: the practitioner app is the only group-scope client", v.name)
		assert.Contains(t, strings.Split(v.validatorEnv(t)["COGNITO_CLIENT_IDS"], ","), practID, v.name)
	}
	off := d.with("FineGrainedAuthorization", "false")
	env := Dig(off.props(t, "PreTokenFunction"), "Environment", "Variables").(map[string]any)
	assert.NotContains(t, env, "GROUP_SCOPE_CLIENTS")
	assert.NotContains(t, env, "GROUP_SCOPES")
	// The client cannot ask for resource scopes itself.
	for _, s := range d.props(t, "PractitionerAppClient")["AllowedOAuthScopes"].([]any) {
		assert.NotContains(t, s, "/", "PractitionerAppClient lists %s", s)
	}
}

// TestPreTokenAlarm: a failing trigger fails every sign-in; its errors alarm.
func TestPreTokenAlarm(t *testing.T) {
	d := deployments(t)[0]
	require.Equal(t, "cognito.yaml", d.file)
	a := d.props(t, "PreTokenErrorsAlarm")
	require.NotNil(t, a)
	assert.Equal(t, "AWS/Lambda", a["Namespace"])
	assert.Equal(t, "Errors", a["MetricName"])
	assert.Equal(t, []any{map[string]any{"Name": "FunctionName", "Value": "smart-pretoken"}}, a["Dimensions"])
	assert.Equal(t, 0, a["Threshold"])
	assert.Equal(t, "GreaterThanThreshold", a["ComparisonOperator"])
	topic := "arn:aws:sns:us-east-1:" + account + ":ops"
	assert.Equal(t, []any{topic}, d.with("AlarmTopicArn", topic).props(t, "PreTokenErrorsAlarm")["AlarmActions"])
	assert.Nil(t, d.with("PreTokenTrigger", "off", "UserPoolTier", "LITE", "FineGrainedAuthorization", "false").props(t, "PreTokenErrorsAlarm"))
	assert.Equal(t, d.props(t, "PreTokenFunction")["Tags"], a["Tags"], "tagged like the trigger function")
}

// TestRealmUserScopesGated: in the shipped realm, every client that offers a
// user/ scope gets fhirUser as a default scope (the data store limits user/
// scopes by it), and every user/ client scope is granted only to holders of
// the realm role practitioner (a client scope with role scope mappings
// applies only to users with one of the roles).
func TestRealmUserScopesGated(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "keycloak", "realm", "smart-realm.json"))
	require.NoError(t, err)
	var r struct {
		Roles struct {
			Realm []struct {
				Name string `json:"name"`
			} `json:"realm"`
		} `json:"roles"`
		ClientScopes []struct {
			Name string `json:"name"`
		} `json:"clientScopes"`
		ScopeMappings []struct {
			ClientScope string   `json:"clientScope"`
			Client      string   `json:"client"`
			Roles       []string `json:"roles"`
		} `json:"scopeMappings"`
		Clients []struct {
			ClientID             string   `json:"clientId"`
			DefaultClientScopes  []string `json:"defaultClientScopes"`
			OptionalClientScopes []string `json:"optionalClientScopes"`
		} `json:"clients"`
	}
	require.NoError(t, json.Unmarshal(raw, &r))

	var roles []string
	for _, x := range r.Roles.Realm {
		roles = append(roles, x.Name)
	}
	require.Contains(t, roles, "practitioner")

	gated := map[string][]string{}
	for _, m := range r.ScopeMappings {
		if m.ClientScope != "" {
			gated[m.ClientScope] = append(gated[m.ClientScope], m.Roles...)
		}
	}
	var userScopes []string
	for _, cs := range r.ClientScopes {
		if strings.HasPrefix(cs.Name, "user/") {
			userScopes = append(userScopes, cs.Name)
			assert.Equal(t, []string{"practitioner"}, gated[cs.Name], "client scope %s must be role-gated", cs.Name)
		}
	}
	require.NotEmpty(t, userScopes)

	offering := 0
	for _, c := range r.Clients {
		all := append(slices.Clone(c.DefaultClientScopes), c.OptionalClientScopes...)
		if !slices.ContainsFunc(all, func(s string) bool { return strings.HasPrefix(s, "user/") }) {
			continue
		}
		offering++
		assert.Contains(t, c.DefaultClientScopes, "fhirUser", "%s offers user/ scopes: fhirUser must be a default scope", c.ClientID)
	}
	assert.Equal(t, 1, offering, "smart-practitioner is the one client with user/ scopes")

	// Keycloak stores descriptions in VARCHAR(255): a longer one fails the import.
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "description" {
					assert.LessOrEqual(t, len(s), 255, "%s/description", path)
				}
				walk(e, path+"/"+k)
			}
		case []any:
			for _, e := range x {
				walk(e, path)
			}
		}
	}
	var doc any
	require.NoError(t, json.Unmarshal(raw, &doc))
	walk(doc, "")
}

// TestEcrPullScopedToImageRepository: App Runner's access role may pull the
// KeycloakImage repository only, and exists only for private ECR.
func TestEcrPullScopedToImageRepository(t *testing.T) {
	d := deployments(t)[1]
	require.Equal(t, "keycloak.yaml", d.file)
	const reg = account + ".dkr.ecr.us-east-1.amazonaws.com/"
	for image, repo := range map[string]string{
		reg + "smart-keycloak:26.4":                                   "smart-keycloak",
		reg + "team/smart-keycloak@sha256:" + strings.Repeat("0", 64): "team/smart-keycloak",
		"210987654321.dkr.ecr.eu-west-1.amazonaws.com/kc:v1":          "", // another account and region
	} {
		role := d.with("KeycloakImage", image).props(t, "EcrAccessRole")
		require.NotNil(t, role, image)
		assert.NotContains(t, role, "ManagedPolicyArns", "the managed ECR policy allows every repository")
		stmts := Dig(role["Policies"].([]any)[0], "PolicyDocument", "Statement").([]any)
		require.Len(t, stmts, 2)
		assert.Equal(t, "ecr:GetAuthorizationToken", Dig(stmts[0], "Action"))
		want := "arn:aws:ecr:us-east-1:" + account + ":repository/" + repo
		if repo == "" {
			want = "arn:aws:ecr:eu-west-1:210987654321:repository/kc"
		}
		assert.Equal(t, want, Dig(stmts[1], "Resource"), image)
		for _, a := range Dig(stmts[1], "Action").([]any) {
			assert.True(t, strings.HasPrefix(a.(string), "ecr:") && !strings.Contains(a.(string), "Put"), "%v", a)
		}
	}
	assert.Nil(t, d.with("KeycloakImage", "public.ecr.aws/abc123/smart-keycloak:1").props(t, "EcrAccessRole"))

	hc := Dig(d.props(t, "Keycloak"), "HealthCheckConfiguration").(map[string]any)
	assert.Equal(t, 20, hc["Interval"], "App Runner maximum")
	assert.Equal(t, 20, hc["UnhealthyThreshold"], "App Runner maximum: 400 s for start-dev")
}

// TestKeycloakInstanceRoleKMS: the instance role reads the stack's secrets
// and the database password; kms:Decrypt only with DbSecretKmsKeyArn, only
// on that key, only through Secrets Manager, and only in production.
func TestKeycloakInstanceRoleKMS(t *testing.T) {
	d := deployments(t)[1]
	require.Equal(t, "keycloak.yaml", d.file)
	stmts := func(d deployment) []any {
		role := d.props(t, "KeycloakInstanceRole")
		require.Len(t, role["Policies"].([]any), 1)
		return Dig(role["Policies"].([]any)[0], "PolicyDocument", "Statement").([]any)
	}
	secrets := []any{
		"arn:aws:secretsmanager:us-east-1:" + account + ":secret:admin-AbCdEf",
		"arn:aws:secretsmanager:us-east-1:" + account + ":secret:backend-AbCdEf",
		d.params["DbPasswordSecretArn"],
	}
	def := stmts(d)
	require.Len(t, def, 1, "no kms:Decrypt by default")
	assert.Equal(t, "secretsmanager:GetSecretValue", Dig(def[0], "Action"))
	assert.Equal(t, secrets, Dig(def[0], "Resource"))
	assert.Equal(t, "", d.tmpl.Parameters["DbSecretKmsKeyArn"].Default)

	key := "arn:aws:kms:us-east-1:" + account + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	require.Regexp(t, d.tmpl.Parameters["DbSecretKmsKeyArn"].AllowedPattern, key)
	withKey := stmts(d.with("DbSecretKmsKeyArn", key))
	require.Len(t, withKey, 2)
	assert.Equal(t, def[0], withKey[0])
	assert.Equal(t, map[string]any{
		"Effect":    "Allow",
		"Action":    "kms:Decrypt",
		"Resource":  key,
		"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
	}, withKey[1])

	demo := stmts(d.with("KeycloakMode", "demo", "DbJdbcUrl", "", "DbPasswordSecretArn", "", "DbSecretKmsKeyArn", key))
	require.Len(t, demo, 1, "demo mode reads no database secret")
	assert.Equal(t, secrets[:2], Dig(demo[0], "Resource"))
}
