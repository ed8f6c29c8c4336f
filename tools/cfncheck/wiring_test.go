package cfncheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the smartauth-go module root, two levels up.
const repoRoot = "../.."

const (
	account      = "123456789012"
	region       = "us-east-1"
	stack        = "smart"
	datastoreID  = "0123456789abcdef0123456789abcdef"
	endpoint     = "https://healthlake.us-east-1.amazonaws.com/datastore/" + datastoreID + "/r4/"
	datastoreARN = "arn:aws:healthlake:us-east-1:" + account + ":datastore/fhir/" + datastoreID
	functionName = "smart-ValidatorFunction-AbC123"
	aliasARN     = "arn:aws:lambda:us-east-1:" + account + ":function:" + functionName + ":live"
	poolID       = "us-east-1_Example1"
	backendID    = "1example23456789abcdefghij"
	appID        = "2example23456789abcdefghij"
	practID      = "3example23456789abcdefghij"
	serviceURL   = "abcdefgh12.us-east-1.awsapprunner.com"
	// The Arn attribute of a log group ends in :* (it covers its streams).
	validatorLogARN = "arn:aws:logs:us-east-1:" + account + ":log-group:/smartauth/smart/validator:*"
	preTokenLogARN  = "arn:aws:logs:us-east-1:" + account + ":log-group:/smartauth/smart/pretoken:*"
)

// validatorTags are the tags of the validator function and its alarms.
var validatorTags = []any{
	map[string]any{"Key": "project", "Value": "smartauth-go"},
	map[string]any{"Key": "component", "Value": "validator"},
}

// deployment is one template with the parameter values of one deploy.
type deployment struct {
	name   string
	file   string
	tmpl   *Template
	params map[string]string
}

func (d deployment) env() Env {
	return Env{
		Params: d.params,
		Pseudo: map[string]string{
			"AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": stack,
			"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
		},
		Refs: map[string]string{
			"UserPool": poolID, "BackendClient": backendID, "AppClient": appID, "PractitionerAppClient": practID,
			"PreTokenFunction":  "smart-pretoken",
			"ValidatorFunction": functionName, "ValidatorAlias": aliasARN,
			"ValidatorLogGroup":   "/smartauth/smart/validator",
			"AdminSecret":         "arn:aws:secretsmanager:us-east-1:" + account + ":secret:admin-AbCdEf",
			"BackendClientSecret": "arn:aws:secretsmanager:us-east-1:" + account + ":secret:backend-AbCdEf",
		},
		Attrs: map[string]string{
			"Datastore.DatastoreArn":      datastoreARN,
			"Datastore.DatastoreId":       datastoreID,
			"Datastore.DatastoreEndpoint": endpoint,
			"Keycloak.ServiceUrl":         serviceURL,
			"UserPool.Arn":                "arn:aws:cognito-idp:us-east-1:" + account + ":userpool/" + poolID,
			"PreTokenFunction.Arn":        "arn:aws:lambda:us-east-1:" + account + ":function:smart-pretoken",
			"ValidatorVersion.Version":    "1",
			"ValidatorLogGroup.Arn":       validatorLogARN,
			"PreTokenLogGroup.Arn":        preTokenLogARN,
		},
	}
}

// with returns a copy of d with some parameters changed.
func (d deployment) with(kv ...string) deployment {
	p := maps.Clone(d.params)
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	d.params = p
	d.name += " " + strings.Join(kv, "=")
	return d
}

func (d deployment) eval(t *testing.T, v any) any {
	t.Helper()
	out, err := d.tmpl.Eval(v, d.env())
	require.NoError(t, err, d.name)
	return out
}

func (d deployment) cond(t *testing.T, name string) bool {
	t.Helper()
	b, err := d.tmpl.Condition(name, d.env())
	require.NoError(t, err, d.name)
	return b
}

// props evaluates a resource's properties; nil when its condition is false.
func (d deployment) props(t *testing.T, resource string) map[string]any {
	t.Helper()
	r, ok := d.tmpl.Resources[resource]
	require.True(t, ok, "%s: no resource %s", d.name, resource)
	if r.Condition != "" && !d.cond(t, r.Condition) {
		return nil
	}
	m, _ := d.eval(t, r.Properties).(map[string]any)
	return m
}

func (d deployment) validatorEnv(t *testing.T) map[string]string {
	t.Helper()
	fn := d.props(t, "ValidatorFunction")
	vars := Dig(fn, "Environment", "Variables").(map[string]any)
	out := map[string]string{}
	for k, v := range vars {
		out[k] = v.(string)
	}
	return out
}

// dig follows map keys.
func ref(name string) map[string]any { return map[string]any{"Ref": name} }

func getAtt(res, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{res, attr}}
}

func load(t *testing.T, file string) *Template {
	t.Helper()
	tmpl, err := Load(filepath.Join(repoRoot, "deploy", "cloudformation", file))
	require.NoError(t, err)
	return tmpl
}

// deployments returns both templates with their phase-2 parameters (the
// data store endpoint set); tests derive other cases with with().
func deployments(t *testing.T) []deployment {
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "cloudformation", "*.yaml"))
	require.NoError(t, err)
	require.Len(t, files, 2, "deploy/cloudformation holds cognito.yaml and keycloak.yaml")
	return []deployment{
		{name: "cognito", file: "cognito.yaml", tmpl: load(t, "cognito.yaml"), params: map[string]string{
			"CodeBucket": "smartauth-artifacts", "ValidatorCodeKey": "healthlake-lambda-arm64-0a1b2c.zip",
			"PreTokenCodeKey": "cognito-pretoken-arm64-3d4e5f.zip", "DomainPrefix": "smart-demo-123",
			"DatastoreEndpoint": endpoint,
		}},
		{name: "keycloak", file: "keycloak.yaml", tmpl: load(t, "keycloak.yaml"), params: map[string]string{
			"CodeBucket": "smartauth-artifacts", "ValidatorCodeKey": "healthlake-lambda-arm64-0a1b2c.zip",
			"KeycloakImage":       account + ".dkr.ecr.us-east-1.amazonaws.com/smart-keycloak:26.4",
			"DbJdbcUrl":           "jdbc:postgresql://db.internal:5432/keycloak",
			"DbPasswordSecretArn": "arn:aws:secretsmanager:us-east-1:" + account + ":secret:db-AbCdEf",
			"DatastoreEndpoint":   endpoint,
		}},
	}
}

// variants are parameter combinations every template must evaluate under.
var variants = [][]string{
	nil,
	{"DatastoreEndpoint", ""},
	{"AuthorizationStrategy", "SMART_ON_FHIR_V1"},
	{"AccessLevel", "read-write", "FineGrainedAuthorization", "true"},
	{"ProvisionedConcurrency", "2", "InvokePermissionSourceArn", "false", "AlarmTopicArn", "arn:aws:sns:us-east-1:" + account + ":ops"},
}

var pseudoParams = []string{"AWS::AccountId", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackName", "AWS::URLSuffix"}

// TestTemplatesEvaluate: every reference names something that exists and
// every resource and output evaluates, so the assertions below see real
// values and not evaluator gaps.
func TestTemplatesEvaluate(t *testing.T) {
	for _, d := range deployments(t) {
		for name, r := range d.tmpl.Resources {
			for _, ref := range d.tmpl.References(r.Properties) {
				cond, isCond := strings.CutPrefix(ref, "Condition:")
				switch {
				case isCond:
					assert.Contains(t, d.tmpl.Conditions, cond, "%s: %s", d.name, name)
				case slices.Contains(pseudoParams, ref):
				default:
					_, isParam := d.tmpl.Parameters[ref]
					_, isRes := d.tmpl.Resources[ref]
					assert.True(t, isParam || isRes, "%s: %s refers to unknown %q", d.name, name, ref)
				}
			}
		}
		extra := [][]string{{"PreTokenTrigger", "off", "UserPoolTier", "LITE", "FineGrainedAuthorization", "false"}, {"PreTokenTrigger", "V3_0"}}
		if d.file == "keycloak.yaml" {
			extra = [][]string{
				{"KeycloakMode", "demo", "DbJdbcUrl", "", "DbPasswordSecretArn", ""},
				{"KeycloakImage", "public.ecr.aws/smartauth/keycloak:26.4", "KeycloakHostname", "auth.example.com",
					"TokenAudience", "https://fhir.example.com", "VpcSubnetIds", "subnet-1,subnet-2", "VpcSecurityGroupIds", "sg-1"},
			}
		}
		for _, kv := range append(slices.Clone(variants), extra...) {
			v := d.with(kv...)
			for name := range v.tmpl.Resources {
				v.props(t, name)
			}
			v.eval(t, v.tmpl.Outputs)
		}
	}
}

// TestValidatorWiring: the data store calls the validator through its alias,
// HealthLake may invoke that alias, and the role the validator returns is the
// role that trusts HealthLake for this data store.
func TestValidatorWiring(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			ds := d.tmpl.Resources["Datastore"]
			require.Equal(t, "AWS::HealthLake::FHIRDatastore", ds.Type)
			idp := Dig(ds.Properties, "IdentityProviderConfiguration").(map[string]any)
			assert.Equal(t, ref("ValidatorAlias"), idp["IdpLambdaArn"], "IdpLambdaArn names the alias, never the function")
			// Kept on stack deletion and replacement, deleted by the rollback
			// of the deploy that created it (no orphaned, billed data store).
			assert.Equal(t, "RetainExceptOnCreate", ds.DeletionPolicy)
			assert.Equal(t, "Retain", ds.UpdateReplacePolicy)

			alias := d.tmpl.Resources["ValidatorAlias"]
			assert.Equal(t, "AWS::Lambda::Alias", alias.Type)
			assert.Equal(t, ref("ValidatorFunction"), alias.Properties["FunctionName"])
			assert.Equal(t, getAtt("ValidatorVersion", "Version"), alias.Properties["FunctionVersion"])
			assert.Equal(t, "live", alias.Properties["Name"])
			assert.Equal(t, ref("ValidatorFunction"), d.tmpl.Resources["ValidatorVersion"].Properties["FunctionName"])

			// Exactly one permission lets HealthLake invoke, and it names the alias.
			var perms []string
			for name, r := range d.tmpl.Resources {
				if r.Type == "AWS::Lambda::Permission" && r.Properties["Principal"] == "healthlake.amazonaws.com" {
					perms = append(perms, name)
				}
			}
			require.Len(t, perms, 1)
			perm := d.tmpl.Resources[perms[0]]
			assert.Equal(t, ref("ValidatorAlias"), perm.Properties["FunctionName"])
			assert.Equal(t, "lambda:InvokeFunction", perm.Properties["Action"])
			assert.Equal(t, ref("AWS::AccountId"), perm.Properties["SourceAccount"])
			assert.Contains(t, ds.DependsOn, perms[0], "the permission exists before the data store")
			sourceArn, _ := d.props(t, perms[0])["SourceArn"].(string)
			assert.True(t, stringLike(sourceArn, datastoreARN), "SourceArn %q covers the data store %s", sourceArn, datastoreARN)
			assert.True(t, stringLike(sourceArn, "arn:aws:healthlake:us-east-1:"+account+":datastore/"+datastoreID), "and its other ARN spelling")
			assert.False(t, stringLike(sourceArn, "arn:aws:healthlake:us-east-1:210987654321:datastore/fhir/"+datastoreID), "not another account's")
			assert.True(t, strings.HasPrefix(sourceArn, "arn:aws:healthlake:"+region+":"+account+":"), "limited to this account and region")
			assert.NotContains(t, d.with("InvokePermissionSourceArn", "false").props(t, perms[0]), "SourceArn")

			// The role HealthLake assumes is the role the validator names.
			env := d.validatorEnv(t)
			role := d.props(t, "HealthLakeServiceRole")
			assert.Equal(t, "arn:aws:iam::"+account+":role/"+role["RoleName"].(string), env["SERVICE_ROLE_ARN"])
			assert.NotContains(t, d.tmpl.References(d.tmpl.Resources["ValidatorFunction"].Properties), "HealthLakeServiceRole",
				"the function names the role by its fixed name (a reference would be a cycle)")
			stmts := Dig(role, "AssumeRolePolicyDocument", "Statement").([]any)
			require.Len(t, stmts, 1)
			trust := stmts[0].(map[string]any)
			assert.Equal(t, "Allow", trust["Effect"])
			assert.Equal(t, "sts:AssumeRole", trust["Action"])
			assert.Equal(t, map[string]any{"Service": "healthlake.amazonaws.com"}, trust["Principal"])
			// Exactly these conditions and values (no wildcard: ArnLike would
			// honour one), the data store's ARN in the three spellings.
			assert.Equal(t, map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": account},
				"ArnLike": map[string]any{"aws:SourceArn": []any{
					datastoreARN,
					"arn:aws:healthlake:us-east-1:" + account + ":datastore/fhir/" + datastoreID,
					"arn:aws:healthlake:us-east-1:" + account + ":datastore/" + datastoreID,
				}},
			}, trust["Condition"], "the trust names this data store only")
			assert.Equal(t, []string{"Action", "Condition", "Effect", "Principal"}, slices.Sorted(maps.Keys(trust)))

			// Permissions follow AccessLevel and name the data store.
			read := []string{"healthlake:GetCapabilities", "healthlake:GetHistoryByResourceId", "healthlake:ReadResource", "healthlake:SearchEverything",
				"healthlake:SearchWithGet", "healthlake:SearchWithPost", "healthlake:VersionReadResource"}
			write := []string{"healthlake:CreateResource", "healthlake:DeleteResource", "healthlake:PatchResource",
				"healthlake:ProcessBundle", "healthlake:UpdateResource"}
			assert.Equal(t, read, roleActions(t, role))
			assert.Equal(t, slices.Sorted(slices.Values(append(slices.Clone(read), write...))),
				roleActions(t, d.with("AccessLevel", "read-write").props(t, "HealthLakeServiceRole")))

			// Code, runtime and logs.
			fn := d.props(t, "ValidatorFunction")
			assert.Equal(t, "provided.al2023", fn["Runtime"])
			assert.Equal(t, []any{"arm64"}, fn["Architectures"])
			assert.Equal(t, "bootstrap", fn["Handler"])
			assert.Equal(t, map[string]any{"S3Bucket": "smartauth-artifacts", "S3Key": "healthlake-lambda-arm64-0a1b2c.zip"}, fn["Code"])
			assert.LessOrEqual(t, fn["Timeout"], 3)
			assert.Equal(t, ref("ValidatorLogGroup"), Dig(d.tmpl.Resources["ValidatorFunction"].Properties, "LoggingConfig", "LogGroup"))
			assert.Equal(t, "90", fmtAny(d.props(t, "ValidatorLogGroup")["RetentionInDays"]))

			// Every variable the template sets is one the validator reads.
			known := envNamesRead(t, "examples/healthlake-lambda/config.go")
			for k := range env {
				assert.Contains(t, known, k, "examples/healthlake-lambda does not read %s", k)
			}
			assert.Equal(t, endpoint, env["DATASTORE_ENDPOINTS"])
			assert.Equal(t, "as-given", env["SCOPE_FORMAT"])
			assert.Equal(t, "v1", d.with("AuthorizationStrategy", "SMART_ON_FHIR_V1").validatorEnv(t)["SCOPE_FORMAT"])
		})
	}
}

// stringLike is IAM's StringLike (Lambda compares SourceArn with it): *
// matches any run of characters, / included; ? matches one.
func stringLike(pattern, s string) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(re)
	return regexp.MustCompile("^" + re + "$").MatchString(s)
}

func roleActions(t *testing.T, role map[string]any) []string {
	t.Helper()
	var actions []string
	for _, p := range role["Policies"].([]any) {
		for _, s := range Dig(p, "PolicyDocument", "Statement").([]any) {
			// Both spellings: the GetAtt form and datastore/fhir/<id>.
			assert.ElementsMatch(t, []any{datastoreARN, "arn:aws:healthlake:us-east-1:" + account + ":datastore/fhir/" + datastoreID},
				Dig(s, "Resource"), "data-plane permissions name the data store")
			for _, a := range Dig(s, "Action").([]any) {
				actions = append(actions, a.(string))
			}
		}
	}
	slices.Sort(actions)
	return actions
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// getenvCall finds getenv("NAME") and the names of a name -> destination
// table read in a loop ("GROUP_SCOPES": &cfg.GroupScopes).
var getenvCall = regexp.MustCompile(`getenv\("([A-Z0-9_]+)"\)|"([A-Z0-9_]+)": &`)

// envNamesRead lists the environment variables a program reads through its
// getenv function (the examples' configFromEnv).
func envNamesRead(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, file))
	require.NoError(t, err)
	var names []string
	for _, m := range getenvCall.FindAllSubmatch(src, -1) {
		names = append(names, string(m[1])+string(m[2]))
	}
	require.NotEmpty(t, names, file)
	return names
}

// TestProviderSettings: the validator trusts exactly the IdP the template
// creates, and the Metadata advertises that same IdP.
func TestProviderSettings(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			env := d.validatorEnv(t)
			meta := metadataOf(t, d)
			out := d.eval(t, d.tmpl.Outputs).(map[string]any)
			assert.Equal(t, meta["token_endpoint"], Dig(out, "TokenUrl", "Value"))
			assert.Equal(t, meta["issuer"], Dig(out, "Issuer", "Value"))
			assert.Equal(t, endpoint, Dig(out, "DatastoreEndpoint", "Value"))
			switch d.file {
			case "cognito.yaml":
				assert.Equal(t, "cognito", env["SMARTAUTH_PROVIDER"])
				assert.Equal(t, region, env["COGNITO_REGION"])
				assert.Equal(t, poolID, env["COGNITO_USER_POOL_ID"])
				assert.ElementsMatch(t, []string{backendID, appID, practID}, strings.Split(env["COGNITO_CLIENT_IDS"], ","))
				assert.Empty(t, env["COGNITO_SCOPE_PREFIXES"], "resource servers are named after the SMART prefixes: nothing to strip")
				// What providers/cognito derives from region and pool.
				assert.Equal(t, "https://cognito-idp."+region+".amazonaws.com/"+poolID, meta["issuer"])
				assert.Equal(t, meta["issuer"].(string)+"/.well-known/jwks.json", meta["jwks_uri"])
				assert.Equal(t, "https://smart-demo-123.auth.us-east-1.amazoncognito.com/oauth2/authorize", meta["authorization_endpoint"])
				assert.Equal(t, Dig(out, "AuthorizeUrl", "Value"), meta["authorization_endpoint"])
				assert.Equal(t, backendID, Dig(out, "BackendClientId", "Value"))
				assert.Equal(t, appID, Dig(out, "AppClientId", "Value"))
				assert.Equal(t, practID, Dig(out, "PractitionerAppClientId", "Value"))
			case "keycloak.yaml":
				assert.Equal(t, "keycloak", env["SMARTAUTH_PROVIDER"])
				assert.Equal(t, "https://"+serviceURL, env["KEYCLOAK_URL"])
				assert.Equal(t, "smart", env["KEYCLOAK_REALM"])
				assert.ElementsMatch(t, []string{"smart-backend", "smart-app", "smart-practitioner"}, strings.Split(env["KEYCLOAK_CLIENTS"], ","))
				assert.Equal(t, env["KEYCLOAK_URL"]+"/realms/"+env["KEYCLOAK_REALM"], meta["issuer"])
				assert.Equal(t, meta["issuer"].(string)+"/protocol/openid-connect/certs", meta["jwks_uri"])
				// The audience the realm puts in tokens is the one the validator accepts.
				for _, v := range []deployment{d, d.with("TokenAudience", "https://fhir.example.com/smart")} {
					kc := appRunnerEnv(t, v)
					venv := v.validatorEnv(t)
					assert.NotEmpty(t, kc["SMART_AUDIENCE"])
					assert.Equal(t, kc["SMART_AUDIENCE"], venv["KEYCLOAK_AUDIENCES"], v.name)
				}
				assert.Equal(t, "urn:smartauth:smart:fhir", appRunnerEnv(t, d)["SMART_AUDIENCE"])
				// A custom domain moves issuer, validator and Metadata together.
				h := d.with("KeycloakHostname", "auth.example.com")
				assert.Equal(t, "https://auth.example.com", h.validatorEnv(t)["KEYCLOAK_URL"])
				assert.Equal(t, "https://auth.example.com/realms/smart", metadataOf(t, h)["issuer"])
				assert.Equal(t, "auth.example.com", appRunnerEnv(t, h)["KC_HOSTNAME"])
			default:
				t.Fatalf("unexpected template %s", d.file)
			}
		})
	}
}

func appRunnerEnv(t *testing.T, d deployment) map[string]string {
	t.Helper()
	img := Dig(d.props(t, "Keycloak"), "SourceConfiguration", "ImageRepository", "ImageConfiguration")
	out := map[string]string{}
	for _, kv := range Dig(img, "RuntimeEnvironmentVariables").([]any) {
		out[Dig(kv, "Name").(string)] = Dig(kv, "Value").(string)
	}
	for _, kv := range Dig(img, "RuntimeEnvironmentSecrets").([]any) {
		out[Dig(kv, "Name").(string)] = "secret:" + Dig(kv, "Value").(string)
	}
	return out
}

// TestKeycloakService: the App Runner service runs the image the way
// deploy/keycloak expects, in both modes.
func TestKeycloakService(t *testing.T) {
	d := deployments(t)[1]
	require.Equal(t, "keycloak.yaml", d.file)
	tests := []struct {
		name     string
		d        deployment
		start    string
		db       bool
		imageTyp string
		ecrRole  bool
	}{
		{"production", d, "/opt/keycloak/bin/smart-entrypoint.sh start --optimized --import-realm", true, "ECR", true},
		{"demo from ECR Public", d.with("KeycloakMode", "demo", "DbJdbcUrl", "", "DbPasswordSecretArn", "",
			"KeycloakImage", "public.ecr.aws/smartauth/keycloak:26.4"), "/opt/keycloak/bin/smart-entrypoint.sh start-dev --import-realm", false, "ECR_PUBLIC", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := tt.d.props(t, "Keycloak")
			repo := Dig(svc, "SourceConfiguration", "ImageRepository")
			assert.Equal(t, tt.imageTyp, Dig(repo, "ImageRepositoryType"))
			assert.Equal(t, "8080", Dig(repo, "ImageConfiguration", "Port"))
			assert.Equal(t, tt.start, Dig(repo, "ImageConfiguration", "StartCommand"))
			assert.Equal(t, tt.ecrRole, Dig(svc, "SourceConfiguration", "AuthenticationConfiguration") != nil)
			env := appRunnerEnv(t, tt.d)
			assert.Equal(t, "xforwarded", env["KC_PROXY_HEADERS"])
			assert.Equal(t, "true", env["KC_HTTP_ENABLED"])
			assert.Equal(t, "false", env["KC_HOSTNAME_STRICT"])
			assert.Equal(t, "https://localhost/callback", env["SMART_APP_REDIRECT_URI"])
			assert.True(t, strings.HasPrefix(env["KC_BOOTSTRAP_ADMIN_PASSWORD"], "secret:arn:aws:secretsmanager:"))
			assert.True(t, strings.HasPrefix(env["SMART_BACKEND_CLIENT_SECRET"], "secret:arn:aws:secretsmanager:"))
			for _, k := range []string{"KC_DB", "KC_DB_URL", "KC_DB_USERNAME", "KC_DB_PASSWORD"} {
				_, has := env[k]
				assert.Equal(t, tt.db, has, k)
			}
			if tt.db {
				assert.Equal(t, "postgres", env["KC_DB"])
				assert.Equal(t, "secret:"+tt.d.params["DbPasswordSecretArn"], env["KC_DB_PASSWORD"])
			}
			hc := Dig(svc, "HealthCheckConfiguration")
			assert.Equal(t, "HTTP", Dig(hc, "Protocol"))
			assert.Equal(t, "/realms/smart/.well-known/openid-configuration", Dig(hc, "Path"))
			assert.Equal(t, 1, Dig(tt.d.props(t, "KeycloakScaling"), "MaxSize"), "one instance: no shared caches on App Runner")
			assert.NotContains(t, svc, "ServiceName", "a ServiceName change would replace the service and its URL")
			// deploy/keycloak/entrypoint.sh refuses a client secret under 32
			// characters or one holding "${" (an import placeholder).
			gen := Dig(tt.d.props(t, "BackendClientSecret"), "GenerateSecretString")
			assert.GreaterOrEqual(t, Dig(gen, "PasswordLength"), 32)
			assert.Equal(t, true, Dig(gen, "ExcludePunctuation"))
		})
	}
}

// TestCognitoPool: the pre-token trigger is wired with its permission,
// clients depend on the resource servers of the scopes they list, and those
// scopes exist.
func TestCognitoPool(t *testing.T) {
	d := deployments(t)[0]
	require.Equal(t, "cognito.yaml", d.file)
	pool := d.tmpl.Resources["UserPool"]
	lcIf, ok := Dig(pool.Properties, "LambdaConfig", "Fn::If").([]any)
	require.True(t, ok && len(lcIf) == 3, "LambdaConfig is conditional on the trigger")
	assert.Equal(t, "TriggerOn", lcIf[0])
	// The pool names the trigger by its fixed name (a reference would be a
	// cycle: the trigger's environment names the app client)...
	assert.NotContains(t, d.tmpl.References(pool.Properties), "PreTokenFunction")
	ptg := Dig(d.props(t, "UserPool"), "LambdaConfig", "PreTokenGenerationConfig")
	assert.Equal(t, "V2_0", Dig(ptg, "LambdaVersion"))
	// ...which is the function's name.
	assert.Equal(t, "arn:aws:lambda:us-east-1:"+account+":function:"+d.props(t, "PreTokenFunction")["FunctionName"].(string), Dig(ptg, "LambdaArn"))
	assert.Equal(t, "V3_0", Dig(d.with("PreTokenTrigger", "V3_0").props(t, "UserPool"), "LambdaConfig", "PreTokenGenerationConfig", "LambdaVersion"))

	var perm string
	for name, r := range d.tmpl.Resources {
		if r.Type == "AWS::Lambda::Permission" && r.Properties["Principal"] == "cognito-idp.amazonaws.com" {
			require.Empty(t, perm, "one Cognito permission")
			perm = name
		}
	}
	require.NotEmpty(t, perm)
	p := d.tmpl.Resources[perm]
	assert.Equal(t, getAtt("PreTokenFunction", "Arn"), p.Properties["FunctionName"])
	assert.Equal(t, getAtt("UserPool", "Arn"), p.Properties["SourceArn"])
	assert.Equal(t, ref("AWS::AccountId"), p.Properties["SourceAccount"])

	fn := d.props(t, "PreTokenFunction")
	require.NotNil(t, fn)
	known := envNamesRead(t, "examples/cognito-pretoken/main.go")
	for k := range Dig(fn, "Environment", "Variables").(map[string]any) {
		assert.Contains(t, known, k, "examples/cognito-pretoken does not read %s", k)
	}
	assert.Equal(t, "true", Dig(fn, "Environment", "Variables", "ATTRIBUTES_ADMIN_CONTROLLED"))
	assert.Equal(t, map[string]any{"S3Bucket": "smartauth-artifacts", "S3Key": "cognito-pretoken-arm64-3d4e5f.zip"}, fn["Code"])
	// ATTRIBUTES_ADMIN_CONTROLLED is true only because no client may write the attributes.
	for _, c := range []string{"AppClient", "PractitionerAppClient", "BackendClient"} {
		w, ok := d.props(t, c)["WriteAttributes"].([]any)
		require.True(t, ok, "%s lists WriteAttributes (absent means all attributes)", c)
		for _, a := range w {
			assert.False(t, strings.HasPrefix(a.(string), "custom:"), "%s may write %s", c, a)
		}
	}

	off := d.with("PreTokenTrigger", "off", "UserPoolTier", "LITE", "FineGrainedAuthorization", "false")
	assert.NotContains(t, off.props(t, "UserPool"), "LambdaConfig")
	assert.Nil(t, off.props(t, "PreTokenFunction"))
	assert.Nil(t, off.props(t, perm))

	for _, v := range []deployment{d, d.with("AccessLevel", "read-write")} {
		servers := map[string]string{} // identifier -> resource name
		for name, r := range v.tmpl.Resources {
			if r.Type == "AWS::Cognito::UserPoolResourceServer" {
				servers[v.props(t, name)["Identifier"].(string)] = name
			}
		}
		assert.ElementsMatch(t, []string{"system", "patient", "user", "launch"}, slices.Collect(maps.Keys(servers)))
		for name, r := range v.tmpl.Resources {
			if r.Type != "AWS::Cognito::UserPoolClient" {
				continue
			}
			for _, s := range v.props(t, name)["AllowedOAuthScopes"].([]any) {
				id, scope, custom := strings.Cut(s.(string), "/")
				if !custom {
					continue
				}
				rs, ok := servers[id]
				require.True(t, ok, "%s: %s lists %s without a resource server", v.name, name, s)
				assert.Contains(t, r.DependsOn, rs, "%s: %s must depend on %s", v.name, name, rs)
				var names []string
				for _, sc := range v.props(t, rs)["Scopes"].([]any) {
					names = append(names, Dig(sc, "ScopeName").(string))
				}
				assert.Contains(t, names, scope, "%s: %s lists %s", v.name, name, s)
			}
		}
	}
	backend := d.props(t, "BackendClient")
	assert.Equal(t, []any{"client_credentials"}, backend["AllowedOAuthFlows"])
	assert.Equal(t, true, backend["GenerateSecret"])
	app := d.props(t, "AppClient")
	assert.Equal(t, []any{"code"}, app["AllowedOAuthFlows"])
	assert.Equal(t, false, app["GenerateSecret"], "the SMART app is a public PKCE client")
	assert.Equal(t, []any{"https://localhost/callback"}, app["CallbackURLs"])
	pract := d.props(t, "PractitionerAppClient")
	assert.Equal(t, []any{"code"}, pract["AllowedOAuthFlows"])
	assert.Equal(t, false, pract["GenerateSecret"], "the practitioner app is a public PKCE client")
	assert.Equal(t, app["CallbackURLs"], pract["CallbackURLs"], "same callback parameter")
}

// TestSecondDeployKeepsDatastore: setting DatastoreEndpoint on the second
// deploy changes the validator (new version, alias moved) and nothing the
// data store is made of, so the data store can be neither updated nor
// replaced by it.
func TestSecondDeployKeepsDatastore(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			phase1 := d.with("DatastoreEndpoint", "", "ProvisionedConcurrency", "2")
			phase2 := d.with("ProvisionedConcurrency", "2")
			ds := d.tmpl.Resources["Datastore"]
			assert.NotContains(t, d.tmpl.References(ds.Properties), "DatastoreEndpoint",
				"no data store property (or condition it uses) may read DatastoreEndpoint")
			assert.Equal(t, phase1.props(t, "Datastore"), phase2.props(t, "Datastore"))
			assert.Equal(t, aliasARN, Dig(phase2.props(t, "Datastore"), "IdentityProviderConfiguration", "IdpLambdaArn"))

			// The alias ARN is made of the function's name and the alias name,
			// neither of which may follow the endpoint.
			assert.NotContains(t, d.tmpl.Resources["ValidatorFunction"].Properties, "FunctionName")
			alias := d.tmpl.Resources["ValidatorAlias"].Properties
			assert.NotContains(t, d.tmpl.References(alias["Name"]), "DatastoreEndpoint")
			assert.NotContains(t, d.tmpl.References(alias["FunctionName"]), "DatastoreEndpoint")

			// The validator does change: environment and a new (replaced) version.
			assert.Empty(t, phase1.validatorEnv(t)["DATASTORE_ENDPOINTS"])
			assert.Equal(t, endpoint, phase2.validatorEnv(t)["DATASTORE_ENDPOINTS"])
			v1 := phase1.props(t, "ValidatorVersion")["Description"]
			v2 := phase2.props(t, "ValidatorVersion")["Description"]
			assert.NotEqual(t, v1, v2, "the version's Description must change so that CloudFormation publishes a new version")
			assert.NotEqual(t, v2, d.with("ValidatorCodeKey", "healthlake-lambda-arm64-9f8e7d.zip").props(t, "ValidatorVersion")["Description"],
				"new code publishes a new version too")
			assert.Equal(t, "Retain", d.tmpl.Resources["ValidatorVersion"].UpdateReplacePolicy)

			// An unconfigured validator cannot initialise, so provisioned
			// concurrency (which would fail the deploy) waits for phase 2.
			assert.NotContains(t, phase1.props(t, "ValidatorAlias"), "ProvisionedConcurrencyConfig")
			assert.Equal(t, map[string]any{"ProvisionedConcurrentExecutions": "2"}, phase2.props(t, "ValidatorAlias")["ProvisionedConcurrencyConfig"])
			assert.NotContains(t, d.props(t, "ValidatorAlias"), "ProvisionedConcurrencyConfig", "none by default")

			if d.file != "keycloak.yaml" {
				return
			}
			// The Keycloak stack's second deploy also sets KeycloakHostname
			// to the service's own host (deploy/README.md): the Metadata
			// string, and so the whole data store, stays byte-identical,
			// while the issuer is pinned (KC_HOSTNAME instead of
			// KC_HOSTNAME_STRICT=false) and the validator's URL is unchanged.
			pinned := phase2.with("KeycloakHostname", serviceURL)
			assert.Equal(t, phase1.props(t, "Datastore"), pinned.props(t, "Datastore"))
			assert.Equal(t, metadataOf(t, phase1), metadataOf(t, pinned))
			assert.Equal(t, phase2.validatorEnv(t)["KEYCLOAK_URL"], pinned.validatorEnv(t)["KEYCLOAK_URL"])
			assert.Equal(t, phase2.eval(t, d.tmpl.Outputs), pinned.eval(t, d.tmpl.Outputs), "every output, KeycloakUrl and Issuer included")
			before, after := appRunnerEnv(t, phase2), appRunnerEnv(t, pinned)
			assert.Equal(t, "false", before["KC_HOSTNAME_STRICT"])
			assert.NotContains(t, before, "KC_HOSTNAME")
			assert.Equal(t, serviceURL, after["KC_HOSTNAME"])
			assert.NotContains(t, after, "KC_HOSTNAME_STRICT")
			// Another host name would be a new issuer: that one does
			// replace the data store.
			assert.NotEqual(t, phase2.props(t, "Datastore"), phase2.with("KeycloakHostname", "auth.example.com").props(t, "Datastore"))
		})
	}
}

// TestValidatorConcurrency: reserved concurrency is unset unless asked for
// (a value caps the validator as well as guaranteeing it).
func TestValidatorConcurrency(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			p := d.tmpl.Parameters["ReservedConcurrency"]
			assert.Equal(t, 0, p.Default)
			assert.NotContains(t, d.props(t, "ValidatorFunction"), "ReservedConcurrentExecutions", "none by default")
			assert.NotContains(t, d.with("DatastoreEndpoint", "").props(t, "ValidatorFunction"), "ReservedConcurrentExecutions")
			assert.Equal(t, "20", d.with("ReservedConcurrency", "20").props(t, "ValidatorFunction")["ReservedConcurrentExecutions"])
			// Reserved concurrency is not versioned: the alias stays where it is.
			assert.Equal(t, d.props(t, "ValidatorVersion"), d.with("ReservedConcurrency", "20").props(t, "ValidatorVersion"))
		})
	}
}

// TestAlarmsAndDenyMetric: alarms watch the alias the data store invokes,
// and the metric filter matches the adapter's decision log line.
func TestAlarmsAndDenyMetric(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			metrics := map[string]map[string]any{}
			for name, r := range d.tmpl.Resources {
				if r.Type != "AWS::CloudWatch::Alarm" || strings.HasPrefix(name, "PreToken") {
					continue // TestPreTokenAlarm
				}
				a := d.props(t, name)
				metrics[a["MetricName"].(string)] = a
				assert.Equal(t, "AWS/Lambda", a["Namespace"])
				assert.ElementsMatch(t, []any{
					map[string]any{"Name": "FunctionName", "Value": functionName},
					map[string]any{"Name": "Resource", "Value": functionName + ":live"},
				}, a["Dimensions"], name)
				assert.NotContains(t, a, "AlarmActions")
				assert.Equal(t, validatorTags, a["Tags"], "%s: tagged like the validator function", name)
				topic := "arn:aws:sns:us-east-1:" + account + ":ops"
				assert.Equal(t, []any{topic}, d.with("AlarmTopicArn", topic).props(t, name)["AlarmActions"])
			}
			require.ElementsMatch(t, []string{"Errors", "Throttles", "Duration"}, slices.Collect(maps.Keys(metrics)))
			assert.Equal(t, validatorTags, d.props(t, "ValidatorFunction")["Tags"])
			assert.Equal(t, "p99", metrics["Duration"]["ExtendedStatistic"])
			assert.Equal(t, 500, metrics["Duration"]["Threshold"], "half of HealthLake's 1 s budget")
			assert.Equal(t, 0, metrics["Errors"]["Threshold"])
			assert.Equal(t, 0, metrics["Throttles"]["Threshold"])

			mf := d.props(t, "ValidatorDenyMetricFilter")
			assert.Equal(t, "/smartauth/smart/validator", mf["LogGroupName"])
			assert.Equal(t, `{ $.msg = "authorization" && $.decision = "deny" }`, mf["FilterPattern"])
			tr := mf["MetricTransformations"].([]any)[0]
			assert.Equal(t, []any{map[string]any{"Key": "reason", "Value": "$.reason"}}, Dig(tr, "Dimensions"))
			// TestDenyMetricFilterMatchesAdapterLog applies the pattern to
			// lambdaadapter's real log lines.
		})
	}
}

var (
	buildOnce sync.Map // package -> *buildResult
	buildDir  string   // binaries built by this test run, removed by TestMain
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cfncheck-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// build compiles a package of the root module once per test run.
func build(t *testing.T, pkg string) string {
	t.Helper()
	r, _ := buildOnce.LoadOrStore(pkg, &buildResult{})
	br := r.(*buildResult)
	br.once.Do(func() {
		br.path = filepath.Join(buildDir, path.Base(pkg))
		cmd := exec.Command("go", "build", "-o", br.path, pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			br.err = errors.New(string(out))
		}
	})
	require.NoError(t, br.err, "go build %s", pkg)
	return br.path
}

// TestValidatorFailsClosedUntilEndpointSet runs the real validator binary
// with the environment each deploy gives it: after the first deploy it must
// refuse to start (HealthLake then gets an error, i.e. a deny, for every
// request); after the second it must accept its configuration.
func TestValidatorFailsClosedUntilEndpointSet(t *testing.T) {
	bin := build(t, "./examples/healthlake-lambda")
	run := func(env map[string]string) (string, error) {
		cmd := exec.Command(bin)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatal("validator did not exit")
		}
		return string(out), err
	}
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			out, err := run(d.with("DatastoreEndpoint", "").validatorEnv(t))
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, out)
			assert.Equal(t, 1, exit.ExitCode())
			assert.Contains(t, out, `"msg":"configuration"`)
			assert.Contains(t, strings.ToLower(out), "endpoint", "the log says what is missing")

			// Phase 2: configuration accepted; the binary then stops only
			// because this is not a Lambda execution environment.
			out, _ = run(d.validatorEnv(t))
			assert.NotContains(t, out, `"msg":"configuration"`)
			assert.Contains(t, out, "AWS_LAMBDA_RUNTIME_API", "reached lambda.Start")
		})
	}
}

// smartauthCLI returns the smartauth CLI: $SMARTAUTH_CLI when set, else
// built from the repository.
func smartauthCLI(t *testing.T) string {
	t.Helper()
	cli := os.Getenv("SMARTAUTH_CLI")
	if cli == "" {
		cli = build(t, "./cmd/smartauth")
	}
	out, _ := exec.Command(cli, "metadata", "--strategy", "SMART_ON_FHIR", "--check", os.DevNull).CombinedOutput()
	if bytes.Contains(out, []byte(`unknown command "metadata"`)) {
		t.Fatalf("%s has no metadata command (cmd/smartauth/metadata.go); point SMARTAUTH_CLI at a CLI that has it", cli)
	}
	return cli
}

func metadataOf(t *testing.T, d deployment) map[string]any {
	t.Helper()
	s, ok := Dig(d.props(t, "Datastore"), "IdentityProviderConfiguration", "Metadata").(string)
	require.True(t, ok, "Metadata is a JSON string")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m), "%s: Metadata is not JSON: %s", d.name, s)
	return m
}

// TestMetadataAccepted: for every strategy and access level, the Metadata
// each template gives the data store is what `smartauth metadata --check`
// accepts, and advertises permission-v2 exactly for SMART_ON_FHIR.
func TestMetadataAccepted(t *testing.T) {
	cli := smartauthCLI(t)
	for _, d := range deployments(t) {
		cases := []deployment{d, d.with("AuthorizationStrategy", "SMART_ON_FHIR_V1"), d.with("AccessLevel", "read-write"),
			d.with("AuthorizationStrategy", "SMART_ON_FHIR_V1", "AccessLevel", "read-write")}
		if d.file == "cognito.yaml" {
			cases = append(cases, d.with("PreTokenTrigger", "off", "UserPoolTier", "LITE", "FineGrainedAuthorization", "false"),
				d.with("FineGrainedAuthorization", "false", "AccessLevel", "read-write"))
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				m := metadataOf(t, c)
				strategy := c.eval(t, ref("AuthorizationStrategy")).(string)
				caps := m["capabilities"].([]any)
				assert.Equal(t, strategy == "SMART_ON_FHIR", slices.Contains(caps, any("permission-v2")), "%v", caps)
				assert.Equal(t, []any{"S256"}, m["code_challenge_methods_supported"])
				for _, k := range []string{"issuer", "jwks_uri", "authorization_endpoint", "token_endpoint"} {
					assert.True(t, strings.HasPrefix(m[k].(string), "https://"), k)
				}
				raw := Dig(c.props(t, "Datastore"), "IdentityProviderConfiguration", "Metadata").(string)
				file := filepath.Join(t.TempDir(), "metadata.json")
				require.NoError(t, os.WriteFile(file, []byte(raw), 0o600))
				// Flags before the file: right whether --check takes the file as
				// its value or is a switch followed by the file.
				cmd := exec.Command(cli, "metadata", "--strategy", strategy, "--check", file)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				require.NoError(t, err, "smartauth metadata --check rejected the %s Metadata:\n%s\n%s", c.name, out.String(), raw)
			})
		}
	}
}

// TestKeycloakRealm: the realm deploy/keycloak imports is the one the stack
// and the validator are configured for (deploy/keycloak/realm/smart-realm.json,
// the realm scripts/integration.sh also tests).
func TestKeycloakRealm(t *testing.T) {
	d := deployments(t)[1]
	require.Equal(t, "keycloak.yaml", d.file)
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "keycloak", "realm", "smart-realm.json"))
	require.NoError(t, err, "the Keycloak image's realm file (deploy/keycloak)")
	var realm struct {
		Realm        string `json:"realm"`
		ClientScopes []struct {
			Name            string `json:"name"`
			ProtocolMappers []struct {
				ProtocolMapper string            `json:"protocolMapper"`
				Config         map[string]string `json:"config"`
			} `json:"protocolMappers"`
		} `json:"clientScopes"`
		Clients []struct {
			ClientID             string            `json:"clientId"`
			PublicClient         bool              `json:"publicClient"`
			Secret               string            `json:"secret"`
			RedirectURIs         []string          `json:"redirectUris"`
			Attributes           map[string]string `json:"attributes"`
			DefaultClientScopes  []string          `json:"defaultClientScopes"`
			OptionalClientScopes []string          `json:"optionalClientScopes"`
		} `json:"clients"`
	}
	require.NoError(t, json.Unmarshal(raw, &realm))

	env := d.validatorEnv(t)
	assert.Equal(t, env["KEYCLOAK_REALM"], realm.Realm)
	hc := Dig(d.props(t, "Keycloak"), "HealthCheckConfiguration", "Path")
	assert.Equal(t, "/realms/"+realm.Realm+"/.well-known/openid-configuration", hc)

	// Every ${ENV_VAR} the import substitutes is set on the App Runner
	// service: an unset one would be imported literally. (Lower-case ${...}
	// are Keycloak message keys, such as the user profile's ${email}.)
	kc := appRunnerEnv(t, d)
	for _, m := range regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)(:[^}]*)?\}`).FindAllStringSubmatch(string(raw), -1) {
		assert.Contains(t, kc, m[1], "the realm reads %s", m[0])
	}

	// The audience mapper writes SMART_AUDIENCE, the value the validator requires.
	audienceScopes := map[string]bool{}
	for _, s := range realm.ClientScopes {
		for _, m := range s.ProtocolMappers {
			if m.ProtocolMapper == "oidc-audience-mapper" && m.Config["included.custom.audience"] == "${SMART_AUDIENCE}" {
				assert.Equal(t, "true", m.Config["access.token.claim"], s.Name)
				audienceScopes[s.Name] = true
			}
		}
	}
	require.NotEmpty(t, audienceScopes, "no client scope maps ${SMART_AUDIENCE} into aud")
	assert.Equal(t, kc["SMART_AUDIENCE"], env["KEYCLOAK_AUDIENCES"])

	clients := map[string]int{}
	for i, c := range realm.Clients {
		clients[c.ClientID] = i
	}
	for _, id := range strings.Split(env["KEYCLOAK_CLIENTS"], ",") {
		i, ok := clients[id]
		require.True(t, ok, "validator allows client %s that the realm lacks", id)
		c := realm.Clients[i]
		has := false
		for _, s := range c.DefaultClientScopes {
			has = has || audienceScopes[s]
		}
		assert.True(t, has, "%s tokens must always carry the audience (a default client scope)", id)
	}
	app := realm.Clients[clients["smart-app"]]
	assert.True(t, app.PublicClient)
	assert.Equal(t, "S256", app.Attributes["pkce.code.challenge.method"])
	assert.Equal(t, []string{"${SMART_APP_REDIRECT_URI}"}, app.RedirectURIs)
	assert.Equal(t, "${SMART_BACKEND_CLIENT_SECRET}", realm.Clients[clients["smart-backend"]].Secret)

	// The Metadata advertises no scope the realm cannot grant.
	names := map[string]bool{"openid": true}
	for _, s := range realm.ClientScopes {
		names[s.Name] = true
	}
	for _, v := range []deployment{d, d.with("AuthorizationStrategy", "SMART_ON_FHIR_V1")} {
		for _, s := range metadataOf(t, v)["scopes_supported"].([]any) {
			assert.True(t, names[s.(string)], "%s: Metadata advertises %s, not a client scope of realm %s", v.name, s, realm.Realm)
		}
	}
}
