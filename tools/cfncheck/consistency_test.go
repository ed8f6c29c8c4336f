package cfncheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/providers/cognito/pretoken"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// fineGrained is the data store's FineGrainedAuthorizationEnabled under d.
func fineGrained(t *testing.T, d deployment) bool {
	t.Helper()
	v := Dig(d.props(t, "Datastore"), "IdentityProviderConfiguration", "FineGrainedAuthorizationEnabled")
	b, ok := v.(bool)
	require.True(t, ok, "%s: FineGrainedAuthorizationEnabled is %#v", d.name, v)
	return b
}

func userScopes(list []string) []string {
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s, "user/") {
			out = append(out, s)
		}
	}
	return out
}

func strings_(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestNoPublicUserScopesWithoutFineGrained: without fine-grained
// authorization HealthLake does not limit user/ scopes by fhirUser, so a
// token with user/*.rs reads the whole data store. No public client (whose
// users pick their own scopes: patients too) may obtain a user/ scope unless
// the data store has fine-grained authorization; on Cognito, user/ scopes
// come only from the pre-token trigger's practitioners group.
func TestNoPublicUserScopesWithoutFineGrained(t *testing.T) {
	ds := deployments(t)
	t.Run("cognito", func(t *testing.T) {
		d := ds[0]
		require.Equal(t, "cognito.yaml", d.file)
		assert.Equal(t, "true", d.tmpl.Parameters["FineGrainedAuthorization"].Default, "fine-grained by default")
		var cases []deployment
		for _, fga := range []string{"true", "false"} {
			for _, level := range []string{"read-only", "read-write"} {
				for _, trig := range []string{"V2_0", "V3_0"} {
					cases = append(cases, d.with("FineGrainedAuthorization", fga, "AccessLevel", level, "PreTokenTrigger", trig))
				}
			}
		}
		cases = append(cases, d.with("FineGrainedAuthorization", "false", "PreTokenTrigger", "off", "UserPoolTier", "LITE"))
		for _, c := range cases {
			fga := fineGrained(t, c)
			public := map[string]bool{} // client IDs
			for name, r := range c.tmpl.Resources {
				if r.Type != "AWS::Cognito::UserPoolClient" {
					continue
				}
				p := c.props(t, name)
				if p["GenerateSecret"] == true {
					continue
				}
				public[c.eval(t, ref(name)).(string)] = true
				assert.Empty(t, userScopes(strings_(p["AllowedOAuthScopes"])),
					"%s: public client %s may request user/ scopes itself", c.name, name)
			}
			require.NotEmpty(t, public, c.name)

			fn := c.props(t, "PreTokenFunction")
			var granted []string // user/ scopes the trigger adds for public clients
			if fn != nil {
				env := Dig(fn, "Environment", "Variables").(map[string]any)
				var groups map[string][]string
				if s, ok := env["GROUP_SCOPES"].(string); ok {
					require.NoError(t, json.Unmarshal([]byte(s), &groups), c.name)
				}
				var clients []string
				if s, ok := env["GROUP_SCOPE_CLIENTS"].(string); ok {
					clients = strings.Split(s, ",")
				}
				// The trigger accepts its configuration.
				_, err := pretoken.New(pretoken.Config{GroupScopes: groups, GroupScopeClients: clients, AttributesAdminControlled: true})
				require.NoError(t, err, c.name)
				for _, id := range clients {
					if public[id] {
						for _, list := range groups {
							granted = append(granted, userScopes(list)...)
						}
					}
				}
				_, hasClientScopes := env["CLIENT_SCOPES"]
				assert.False(t, hasClientScopes, "%s: CLIENT_SCOPES is not reviewed here", c.name)
			}
			if !fga {
				assert.Empty(t, granted, "%s: user/ scopes for a public client without fine-grained authorization", c.name)
				assert.Nil(t, c.props(t, "PractitionersGroup"), c.name)
				assert.NotContains(t, metadataOf(t, c)["capabilities"], "permission-user", c.name)
				for _, s := range strings_(metadataOf(t, c)["scopes_supported"]) {
					assert.False(t, strings.HasPrefix(s, "user/"), "%s: Metadata advertises %s", c.name, s)
				}
				continue
			}
			// With it, practitioners (and only they) get user/ scopes.
			assert.Contains(t, granted, "user/*.read", c.name)
			assert.Equal(t, "practitioners", c.props(t, "PractitionersGroup")["GroupName"])
			assert.Contains(t, metadataOf(t, c)["capabilities"], "permission-user", c.name)
		}
	})

	t.Run("keycloak", func(t *testing.T) {
		d := ds[1]
		require.Equal(t, "keycloak.yaml", d.file)
		realm := loadRealm(t)
		var publicUser []string
		for _, c := range realm.Clients {
			scopes := userScopes(append(slices.Clone(c.DefaultClientScopes), c.OptionalClientScopes...))
			if c.PublicClient && len(scopes) > 0 {
				publicUser = append(publicUser, c.ClientID)
			}
			if c.ClientID == "smart-app" {
				assert.Empty(t, scopes, "smart-app, the patient app, has no user/ scope")
			}
		}
		if len(publicUser) == 0 {
			return
		}
		for _, kv := range append(slices.Clone(variants), []string{"KeycloakMode", "demo", "DbJdbcUrl", "", "DbPasswordSecretArn", ""}) {
			c := d.with(kv...)
			assert.True(t, fineGrained(t, c), "%s: public clients %v grant user/ scopes, so the data store needs fine-grained authorization", c.name, publicUser)
		}
	})
}

type realmFile struct {
	Realm        string `json:"realm"`
	ClientScopes []struct {
		Name string `json:"name"`
	} `json:"clientScopes"`
	Clients []struct {
		ClientID             string   `json:"clientId"`
		PublicClient         bool     `json:"publicClient"`
		DefaultClientScopes  []string `json:"defaultClientScopes"`
		OptionalClientScopes []string `json:"optionalClientScopes"`
	} `json:"clients"`
}

func loadRealm(t *testing.T) realmFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "keycloak", "realm", "smart-realm.json"))
	require.NoError(t, err)
	var r realmFile
	require.NoError(t, json.Unmarshal(raw, &r))
	return r
}

// versionExempt are parameters that feed the function but not the version
// Description, with the reason.
var versionExempt = map[string]string{
	"CodeBucket":          "the content-addressed ValidatorCodeKey names the code: the same key in another bucket is the same code",
	"ReservedConcurrency": "a function setting, not part of a version: it applies to every version at once",
}

// versionAlternates are values, other than the base deployment's, of every
// parameter that may feed the validator function.
var versionAlternates = map[string]string{
	"CodeBucket":            "other-artifacts",
	"ValidatorCodeKey":      "healthlake-lambda-arm64-9f8e7d.zip",
	"DatastoreEndpoint":     "",
	"AuthorizationStrategy": "SMART_ON_FHIR_V1",
	"TokenAudience":         "https://fhir.example.com/smart",
	"KeycloakHostname":      "auth.example.com",
}

// TestVersionDescriptionCoversFunction: the alias moves only when
// CloudFormation publishes a new version, i.e. when the version's
// Description changes. Every parameter that reaches the function, and every
// literal setting, must therefore change that Description.
func TestVersionDescriptionCoversFunction(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			desc := func(d deployment) string { return d.props(t, "ValidatorVersion")["Description"].(string) }
			base := desc(d)
			fnRefs := d.tmpl.References(d.tmpl.Resources["ValidatorFunction"].Properties)
			var params []string
			for _, r := range fnRefs {
				if _, ok := d.tmpl.Parameters[r]; ok {
					params = append(params, r)
				}
			}
			require.Contains(t, params, "DatastoreEndpoint")
			for _, p := range params {
				if _, ok := versionExempt[p]; ok {
					continue
				}
				alt, ok := versionAlternates[p]
				if !assert.True(t, ok, "parameter %s feeds the validator: add it to the version Description and to versionAlternates", p) {
					continue
				}
				v := d.with(p, alt)
				assert.NotEqual(t, d.props(t, "ValidatorFunction"), v.props(t, "ValidatorFunction"), "%s: the alternate changes the function", v.name)
				assert.NotEqual(t, base, desc(v), "%s changes the function but not the version: alias live would keep the old one", p)
			}
			// Another data store's endpoint, too (the Description keeps its id).
			other := strings.Replace(endpoint, datastoreID, "fedcba9876543210fedcba9876543210", 1)
			assert.NotEqual(t, base, desc(d.with("DatastoreEndpoint", other)))
			assert.Contains(t, base, " d="+datastoreID+" ")
			assert.Contains(t, desc(d.with("DatastoreEndpoint", "")), " d= ")

			// Resources the function names are replaced only with the IdP
			// itself; they are not parameters.
			var resources []string
			for _, r := range fnRefs {
				if _, ok := d.tmpl.Resources[r]; ok {
					resources = append(resources, r)
				}
			}
			want := map[string][]string{
				"cognito.yaml":  {"AppClient", "BackendClient", "PractitionerAppClient", "UserPool", "ValidatorExecRole", "ValidatorLogGroup"},
				"keycloak.yaml": {"Keycloak", "ValidatorExecRole", "ValidatorLogGroup"},
			}[d.file]
			assert.Equal(t, want, resources)

			// Literal settings appear in the Description as m=, t=, j=.
			fn := d.props(t, "ValidatorFunction")
			assert.Contains(t, base, fmt.Sprintf(" m=%v ", fn["MemorySize"]))
			assert.Contains(t, base, fmt.Sprintf(" t=%v ", fn["Timeout"]))
			assert.True(t, strings.HasSuffix(base, " j="+d.validatorEnv(t)["JWKS_TIMEOUT"]), base)

			// The longest inputs the parameters allow stay inside Lambda's
			// 256 characters.
			worst := worstDescription(t, d)
			assert.LessOrEqual(t, len(worst), 256, worst)
		})
	}
}

// TestSharedBlocksIdentical: the validator, its alias, permission, alarms,
// metric filter and the HealthLake service role are the same in both
// templates (one copy each, kept in step by this test rather than by nested
// stacks, which would need a second S3 upload and package step).
func TestSharedBlocksIdentical(t *testing.T) {
	ds := deployments(t)
	cog, kc := ds[0].tmpl, ds[1].tmpl
	for _, name := range []string{"ValidatorLogGroup", "ValidatorDenyMetricFilter", "ValidatorExecRole", "ValidatorAlias",
		"HealthLakeInvokePermission", "ValidatorErrorsAlarm", "ValidatorThrottlesAlarm", "ValidatorDurationAlarm", "HealthLakeServiceRole"} {
		assert.Equal(t, cog.Resources[name], kc.Resources[name], name)
	}

	// The function and its version differ only in the provider settings.
	fn := func(tm *Template) (Resource, map[string]any) {
		r := tm.Resources["ValidatorFunction"]
		p := maps.Clone(r.Properties)
		env := maps.Clone(Dig(p, "Environment", "Variables").(map[string]any))
		p["Environment"] = nil
		r.Properties = p
		shared := map[string]any{}
		for _, k := range []string{"SERVICE_ROLE_ARN", "DATASTORE_ENDPOINTS", "SCOPE_FORMAT", "JWKS_TIMEOUT"} {
			shared[k] = env[k]
		}
		return r, shared
	}
	cf, cenv := fn(cog)
	kf, kenv := fn(kc)
	assert.Equal(t, cf, kf, "ValidatorFunction")
	assert.Equal(t, cenv, kenv, "ValidatorFunction environment")

	ver := func(tm *Template) (Resource, string) {
		r := tm.Resources["ValidatorVersion"]
		p := maps.Clone(r.Properties)
		sub := Dig(p, "Description", "Fn::Sub").([]any)
		format := regexp.MustCompile(` a=\$\{TokenAudience\} h=\$\{KeycloakHostname\}`).ReplaceAllString(sub[0].(string), "")
		p["Description"] = []any{format, sub[1]}
		r.Properties = p
		return r, format
	}
	cv, _ := ver(cog)
	kv, _ := ver(kc)
	assert.Equal(t, cv, kv, "ValidatorVersion")

	// Shared parameters and conditions.
	for _, name := range []string{"CodeBucket", "ValidatorCodeKey", "DatastoreEndpoint", "AuthorizationStrategy", "AccessLevel",
		"PreloadData", "ProvisionedConcurrency", "ReservedConcurrency", "InvokePermissionSourceArn", "LogRetentionDays", "AlarmTopicArn"} {
		c, k := cog.Parameters[name], kc.Parameters[name]
		c.Description, k.Description = "", "" // worded for each stack
		assert.Equal(t, c, k, name)
	}
	for _, name := range []string{"IsSmartV2", "IsReadWrite", "IsPreloaded", "HasEndpoint", "HasProvisioned", "HasReservedConcurrency", "HasAlarmTopic", "RestrictSourceArn"} {
		assert.Equal(t, cog.Conditions[name], kc.Conditions[name], name)
	}

	// The data store differs in its IdP settings only.
	store := func(tm *Template) Resource {
		r := tm.Resources["Datastore"]
		p := maps.Clone(r.Properties)
		idp := maps.Clone(p["IdentityProviderConfiguration"].(map[string]any))
		delete(idp, "Metadata")
		delete(idp, "FineGrainedAuthorizationEnabled")
		p["IdentityProviderConfiguration"] = idp
		r.Properties = p
		return r
	}
	assert.Equal(t, store(cog), store(kc), "Datastore")
}

// filterTerm is one `$.field = "value"` of a CloudWatch Logs JSON filter.
var filterTerm = regexp.MustCompile(`^\$\.([A-Za-z0-9_]+)\s*=\s*"([^"*]*)"$`)

// matchJSONFilter evaluates a CloudWatch Logs JSON filter pattern of the
// form { $.a = "x" && $.b = "y" } (the only form the templates use; any
// other fails the test) against one log event.
func matchJSONFilter(t *testing.T, pattern string, event map[string]any) bool {
	t.Helper()
	body, ok := strings.CutPrefix(strings.TrimSpace(pattern), "{")
	require.True(t, ok, pattern)
	body, ok = strings.CutSuffix(body, "}")
	require.True(t, ok, pattern)
	match := true
	for _, term := range strings.Split(body, "&&") {
		m := filterTerm.FindStringSubmatch(strings.TrimSpace(term))
		require.NotNil(t, m, "unsupported filter term %q", term)
		v, isString := event[m[1]].(string)
		match = match && isString && v == m[2]
	}
	return match
}

// fixedAuthorizer answers every event with one decision.
type fixedAuthorizer struct{ d healthlake.Decision }

func (a fixedAuthorizer) AuthorizeJSON(context.Context, []byte) (healthlake.Event, healthlake.Decision) {
	return healthlake.Event{OperationName: "read", DatastoreID: datastoreID}, a.d
}

// TestDenyMetricFilterMatchesAdapterLog runs lambdaadapter with the JSON
// handler examples/healthlake-lambda logs with, and applies the template's
// metric filter to the real log lines: a deny is counted, with its reason as
// the dimension; an allow is not.
func TestDenyMetricFilterMatchesAdapterLog(t *testing.T) {
	logLine := func(d healthlake.Decision) map[string]any {
		var buf bytes.Buffer
		h := lambdaadapter.New(fixedAuthorizer{d}, lambdaadapter.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
		_, _ = h.Invoke(context.Background(), []byte(`{"datastoreId":"`+datastoreID+`","operationName":"read","bearerToken":"x"}`))
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		require.Len(t, lines, 1, buf.String())
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &m), lines[0])
		return m
	}
	denyErr := fmt.Errorf("decode: %w", smartauth.ErrMalformed)
	deny := logLine(healthlake.Decision{Err: denyErr, Reason: healthlake.Reason(denyErr)})
	allow := logLine(healthlake.Decision{Allowed: true, Reason: "ok", Response: healthlake.Response{}})
	require.NotEmpty(t, deny["reason"])

	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			mf := d.props(t, "ValidatorDenyMetricFilter")
			pattern := mf["FilterPattern"].(string)
			assert.True(t, matchJSONFilter(t, pattern, deny), "%s does not match the deny line %v", pattern, deny)
			assert.False(t, matchJSONFilter(t, pattern, allow), "%s matches the allow line %v", pattern, allow)
			tr := mf["MetricTransformations"].([]any)[0]
			for _, dim := range Dig(tr, "Dimensions").([]any) {
				field, ok := strings.CutPrefix(Dig(dim, "Value").(string), "$.")
				require.True(t, ok)
				assert.Equal(t, deny["reason"], deny[field], "dimension %s reads the reason code", Dig(dim, "Key"))
			}
		})
	}
}

// TestPushScriptSingleManifest: deploy/keycloak/push.sh (in --dry-run, which
// prints its commands) builds without attestations, for one platform, so
// that the registry holds a single image manifest for App Runner, and
// refuses a platform list.
func TestPushScriptSingleManifest(t *testing.T) {
	script := filepath.Join(repoRoot, "deploy", "keycloak", "push.sh")
	run := func(args ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{script, "--dry-run", "--region", region}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_ACCOUNT_ID=" + account}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	require.NoError(t, err, out)
	var build string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "+ docker buildx build ") {
			build = line
		}
	}
	require.NotEmpty(t, build, out)
	args := strings.Fields(build)
	for _, want := range []string{"--provenance=false", "--sbom=false", "--metadata-file"} {
		assert.Contains(t, args, want)
	}
	assert.NotContains(t, args, "--push", "--push exports with default attestations")
	assert.Contains(t, build, `oci-mediatypes=false`)
	assert.Equal(t, "linux/amd64", args[slices.Index(args, "--platform")+1])

	out, err = run("--platform", "linux/amd64,linux/arm64")
	require.Error(t, err, out)
	assert.Contains(t, out, "one platform")
}

// TestPushScriptContentTag: the default tag is the Keycloak version and a
// hash of what the image is built from, so a changed realm gets a new tag in
// the IMMUTABLE repository and an unchanged one the same tag.
func TestPushScriptContentTag(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "deploy", "keycloak"))))
	tag := func(args ...string) string {
		cmd := exec.Command("bash", append([]string{filepath.Join(dir, "push.sh"), "--dry-run", "--region", region}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_ACCOUNT_ID=" + account}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		image := lines[len(lines)-1]
		_, tg, ok := strings.Cut(image, "smart-keycloak:")
		require.True(t, ok, image)
		return tg
	}
	first := tag()
	assert.Regexp(t, `^26\.[0-9]+\.[0-9]+-[0-9a-f]{12}$`, first)
	assert.Equal(t, first, tag(), "same content, same tag")
	assert.NotEqual(t, first, tag("--platform", "linux/arm64"), "the platform is part of the content")
	assert.Equal(t, "v1", tag("--tag", "v1"))

	realm := filepath.Join(dir, "realm", "smart-realm.json")
	raw, err := os.ReadFile(realm)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(realm, append(raw, ' '), 0o644))
	assert.NotEqual(t, first, tag(), "a realm change is a new tag")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("changed"), 0o644))
	require.NoError(t, os.WriteFile(realm, raw, 0o644))
	assert.Equal(t, first, tag(), "the README is not part of the image")
}

// TestSubVariablesShadowNothing: a variable of a two-argument Fn::Sub is
// never named like a parameter, resource or pseudo parameter, whose
// ${Name} it would silently replace in the format string.
func TestSubVariablesShadowNothing(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			subs := 0
			var walk func(where string, v any)
			walk = func(where string, v any) {
				switch x := v.(type) {
				case []any:
					for _, item := range x {
						walk(where, item)
					}
				case map[string]any:
					for k, arg := range x {
						if l, ok := arg.([]any); k == "Fn::Sub" && ok && len(l) == 2 {
							vars, _ := l[1].(map[string]any)
							subs++
							for name := range vars {
								_, isParam := d.tmpl.Parameters[name]
								_, isRes := d.tmpl.Resources[name]
								assert.False(t, isParam || isRes || strings.HasPrefix(name, "AWS::"),
									"%s: Fn::Sub variable %s shadows a parameter, resource or pseudo parameter", where, name)
							}
						}
						walk(where, arg)
					}
				}
			}
			for name, r := range d.tmpl.Resources {
				walk(name, r.Properties)
			}
			walk("Outputs", d.tmpl.Outputs)
			require.Positive(t, subs, "the templates use the two-argument Fn::Sub (ValidatorVersion, Metadata)")
		})
	}
}

// TestEntrypointDemoDatabase: deploy/keycloak/entrypoint.sh runs start-dev
// on Keycloak's file database whatever KC_DB* the environment holds (the
// stack's demo mode, and a manual docker run with production settings
// left in), logs the names it drops and never a value; start leaves them.
// kc.sh is a stand-in that prints its environment and arguments.
func TestEntrypointDemoDatabase(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "keycloak", "entrypoint.sh"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "smart-entrypoint.sh"), raw, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kc.sh"),
		[]byte("#!/usr/bin/env bash\nenv | grep '^KC_DB' | sort\necho \"args: $*\"\n"), 0o755))
	run := func(env []string, args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command("bash", append([]string{filepath.Join(dir, "smart-entrypoint.sh")}, args...)...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"),
			"SMART_AUDIENCE=urn:test", "SMART_APP_REDIRECT_URI=https://app.example.com/cb",
			"SMART_BACKEND_CLIENT_SECRET=" + strings.Repeat("s", 40)}, env...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		require.NoError(t, cmd.Run(), e.String())
		return o.String(), e.String()
	}
	prod := []string{"KC_DB=postgres", "KC_DB_URL=jdbc:postgresql://db:5432/kc", "KC_DB_USERNAME=keycloak", "KC_DB_PASSWORD=pw-value-never-logged"}

	out, log := run(nil, "start-dev")
	assert.Equal(t, "KC_DB=dev-file\nargs: start-dev --import-realm\n", out)
	assert.Contains(t, log, "KC_DB=dev-file")

	out, log = run(prod, "/opt/keycloak/bin/smart-entrypoint.sh", "start-dev", "--import-realm")
	assert.Equal(t, "KC_DB=dev-file\nargs: start-dev --import-realm\n", out, "no KC_DB_* reaches start-dev")
	for _, name := range []string{"KC_DB=postgres", "KC_DB_URL", "KC_DB_USERNAME", "KC_DB_PASSWORD"} {
		assert.Contains(t, log, name+" ignored in demo mode")
	}
	assert.NotContains(t, log, "pw-value-never-logged")
	assert.NotContains(t, log, "jdbc:")

	out, _ = run(prod, "start")
	assert.Equal(t, "KC_DB=postgres\nKC_DB_PASSWORD=pw-value-never-logged\nKC_DB_URL=jdbc:postgresql://db:5432/kc\nKC_DB_USERNAME=keycloak\nargs: start --optimized --import-realm\n", out)
}
