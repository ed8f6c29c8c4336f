package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	mdKCIssuer  = "https://kc.example.com/realms/fhir"
	mdCogIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
	mdCogDomain = "https://smart-123456789012.auth.us-east-1.amazoncognito.com"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// keycloakDiscoveryDoc is the recorded Keycloak 26 discovery document with issuer.
func keycloakDiscoveryDoc(t *testing.T, issuer string) string {
	t.Helper()
	b, err := os.ReadFile("../../providers/keycloak/testdata/openid-configuration.json")
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), "{{issuer}}", issuer)
}

// Hand-written Metadata as the CloudFormation templates write it, with their
// ${...} substitutions replaced by sample values.
var (
	cfnCognitoMetadata = `{"issuer":"` + mdCogIssuer + `","authorization_endpoint":"` + mdCogDomain + `/oauth2/authorize",` +
		`"token_endpoint":"` + mdCogDomain + `/oauth2/token","jwks_uri":"` + mdCogIssuer + `/.well-known/jwks.json",` +
		`"grant_types_supported":["authorization_code","client_credentials"],"code_challenge_methods_supported":["S256"],` +
		`"capabilities":["launch-standalone","client-confidential-symmetric","sso-openid-connect","context-standalone-patient",` +
		`"permission-patient","permission-user","permission-v1","permission-v2"]}`
	cfnKeycloakMetadata = `{"issuer":"https://abc123.us-east-1.awsapprunner.com/realms/fhir",` +
		`"authorization_endpoint":"https://abc123.us-east-1.awsapprunner.com/realms/fhir/protocol/openid-connect/auth",` +
		`"token_endpoint":"https://abc123.us-east-1.awsapprunner.com/realms/fhir/protocol/openid-connect/token",` +
		`"jwks_uri":"https://abc123.us-east-1.awsapprunner.com/realms/fhir/protocol/openid-connect/certs",` +
		`"grant_types_supported":["authorization_code","client_credentials"],"code_challenge_methods_supported":["S256"],` +
		`"scopes_supported":["openid","fhirUser","launch/patient","patient/*.rs","user/*.rs","system/*.rs"],` +
		`"capabilities":["launch-standalone","client-public","client-confidential-symmetric","sso-openid-connect",` +
		`"context-standalone-patient","permission-offline","permission-patient","permission-user","permission-v1","permission-v2"]}`
	// The contract's §11.1 fragment (v1, backend only) with sample values.
	cfnV1Metadata = `{"issuer":"` + mdCogIssuer + `","authorization_endpoint":"` + mdCogDomain + `/oauth2/authorize","token_endpoint":"` +
		mdCogDomain + `/oauth2/token","jwks_uri":"` + mdCogIssuer + `/.well-known/jwks.json","grant_types_supported":["client_credentials"],` +
		`"code_challenge_methods_supported":["S256"],"capabilities":["permission-patient","permission-user"]}`
)

func TestMetadataCheck(t *testing.T) {
	quoted := `"` + strings.ReplaceAll(cfnCognitoMetadata, `"`, `\"`) + `"`
	tests := []struct {
		name       string
		doc        string
		args       []string
		wantCode   int
		wantLines  int    // problem lines on stdout
		wantStdout string // substring
		wantStderr string
	}{
		{name: "cognito template metadata", doc: cfnCognitoMetadata, wantStderr: "acceptable for SMART_ON_FHIR"},
		{name: "keycloak template metadata", doc: cfnKeycloakMetadata},
		{name: "JSON string form", doc: quoted},
		{name: "v1 fragment with v1 strategy", doc: cfnV1Metadata, args: []string{"--strategy", "SMART_ON_FHIR_V1"}, wantCode: 1, wantLines: 1,
			wantStdout: `capabilities: lacks "permission-v1" on a SMART_ON_FHIR_V1 data store`},
		{name: "v1 fragment with permission-v1, v1 strategy", doc: strings.Replace(cfnV1Metadata, `"permission-user"]`, `"permission-user","permission-v1"]`, 1),
			args: []string{"--strategy", "SMART_ON_FHIR_V1"}},
		{name: "v1 fragment with SMART_ON_FHIR", doc: cfnV1Metadata, wantCode: 1, wantLines: 1, wantStdout: `lacks "permission-v2"`},
		{name: "cognito template on V1", doc: cfnCognitoMetadata, args: []string{"--strategy=SMART_ON_FHIR_V1"}, wantCode: 1, wantLines: 1,
			wantStdout: "SMART_ON_FHIR_V1"},
		{name: "raw keycloak discovery", doc: keycloakDiscoveryDoc(t, mdKCIssuer), wantCode: 1, wantLines: 7, wantStdout: "capabilities: is missing"},
		{name: "not JSON", doc: "capabilities: []", wantCode: 1, wantLines: 1, wantStdout: "Metadata: not a JSON object"},
		{name: "cognito introspection", doc: strings.Replace(cfnCognitoMetadata, `{`, `{"introspection_endpoint":"`+mdCogDomain+`/oauth2/introspect",`, 1),
			wantCode: 1, wantLines: 1, wantStdout: "Amazon Cognito has no such endpoint"},
		{name: "bad strategy", doc: cfnCognitoMetadata, args: []string{"--strategy", "AWS_AUTH"}, wantCode: 2, wantStderr: "--strategy"},
		{name: "with a source flag", doc: cfnCognitoMetadata, args: []string{"--realm", "fhir"}, wantCode: 2, wantStderr: "--check takes only"},
		{name: "with an argument", doc: cfnCognitoMetadata, args: []string{"extra"}, wantCode: 2, wantStderr: "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "metadata.json", tc.doc)
			code, stdout, stderr := runCLI(t, "", append([]string{"metadata", "--check", file}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			if tc.wantLines == 0 {
				assert.Empty(t, stdout)
			} else {
				lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
				assert.Len(t, lines, tc.wantLines, stdout)
				for _, l := range lines {
					assert.Contains(t, l, "; fix: ")
				}
			}
			assert.Contains(t, stdout, tc.wantStdout)
			assert.Contains(t, stderr, tc.wantStderr)
		})
	}

	code, stdout, _ := runCLI(t, cfnKeycloakMetadata, "metadata", "--check", "-")
	assert.Equal(t, 0, code, stdout)
	code, _, stderr := runCLI(t, "", "metadata", "--check", filepath.Join(t.TempDir(), "missing.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no such file")
	code, _, _ = runCLI(t, "", "metadata", "--check=")
	assert.Equal(t, 2, code)
}

// An oversized document is one problem line and exit 1, whatever its size
// and source; so is an oversized discovery document.
func TestMetadataOversized(t *testing.T) {
	for _, size := range []int{1_500_000, 3_000_000, 64 << 20} {
		doc := `{"x":"` + strings.Repeat("a", size) + `"}`
		file := writeFile(t, "big.json", doc)
		for _, args := range [][]string{{"--check", file}, {"--check", "-"}} {
			stdin := ""
			if args[1] == "-" {
				stdin = doc
			}
			code, stdout, stderr := runCLI(t, stdin, append([]string{"metadata"}, args...)...)
			assert.Equal(t, 1, code, "%d bytes %v: %s", size, args, stderr)
			assert.Equal(t, "Metadata: document is more than 1048576 bytes", strings.SplitN(stdout, ";", 2)[0], "%d bytes %v", size, args)
			assert.Equal(t, 1, strings.Count(stdout, "\n"), stdout)
			assert.Contains(t, stderr, "1 problem(s)")
		}
		code, stdout, stderr := runCLI(t, "", "metadata", "--discovery", file)
		assert.Equal(t, 1, code, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "more than 1048576 bytes")
	}
}

func TestMetadataBuild(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/realms/fhir/.well-known/openid-configuration":
			_, _ = w.Write([]byte(keycloakDiscoveryDoc(t, "http://"+r.Host+"/realms/fhir")))
		case "/realms/smart/.well-known/openid-configuration": // names another IdP
			_, _ = w.Write([]byte(keycloakDiscoveryDoc(t, "https://evil.example.net/realms/smart")))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	kcFile := writeFile(t, "kc.json", keycloakDiscoveryDoc(t, mdKCIssuer))
	noS256 := writeFile(t, "nos256.json", strings.Replace(keycloakDiscoveryDoc(t, mdKCIssuer), `"plain", "S256"`, `"plain"`, 1))
	cognito := []string{"--cognito-domain", "smart-123456789012", "--region", "us-east-1", "--user-pool-id", "us-east-1_AbC123"}
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout []string // substrings
		wantStderr string
		checkArgs  []string // when set, the output must pass --check with these extra args
	}{
		{name: "cognito", args: cognito, checkArgs: []string{},
			wantStdout: []string{`"authorization_endpoint": "` + mdCogDomain + `/oauth2/authorize"`, `"permission-v2"`, `"sso-openid-connect"`}},
		{name: "cognito string", args: append([]string{"--string"}, cognito...), checkArgs: []string{}, wantStdout: []string{`"{\"issuer\":\"` + mdCogIssuer}},
		{name: "cognito custom domain, V1, backend only", args: []string{"--cognito-domain", "https://auth.example.com", "--region", "us-east-1",
			"--user-pool-id", "us-east-1_AbC123", "--strategy", "SMART_ON_FHIR_V1", "--grant-types", "client_credentials", "--compact"},
			checkArgs:  []string{"--strategy", "SMART_ON_FHIR_V1"},
			wantStdout: []string{`"token_endpoint":"https://auth.example.com/oauth2/token"`, `"capabilities":["client-confidential-symmetric","permission-patient","permission-user","permission-v1"]`}},
		{name: "discovery file with flags", args: []string{"--discovery", kcFile, "--launch", "standalone,ehr", "--clients", "public,confidential-asymmetric",
			"--permissions", "patient,offline", "--v2.2", "--capability", "context-ehr-encounter", "--scopes-supported", "openid launch patient/*.rs", "--compact"},
			checkArgs: []string{},
			wantStdout: []string{`"capabilities":["launch-ehr","launch-standalone","client-public","client-confidential-asymmetric","sso-openid-connect",` +
				`"context-ehr-patient","context-ehr-encounter","context-standalone-patient","permission-offline","permission-patient","permission-v1","permission-v2","permission-v2.2"]`,
				`"scopes_supported":["openid","launch","patient/*.rs"]`, `"token_endpoint_auth_methods_supported":["private_key_jwt"]`}},
		{name: "permission-v1 given twice, written once", args: append([]string{"--capability", "permission-v1", "--capability", "permission-v1,permission-user",
			"--permissions", "none", "--launch", "none", "--sso=false", "--compact"}, cognito...), checkArgs: []string{},
			wantStdout: []string{`"capabilities":["client-confidential-symmetric","permission-user","permission-v1","permission-v2"]`}},
		{name: "--v1=false", args: append([]string{"--v1=false", "--permissions", "none", "--launch", "none", "--sso=false", "--compact"}, cognito...),
			checkArgs: []string{}, wantStdout: []string{`"capabilities":["client-confidential-symmetric","permission-v2"]`}},
		{name: "--v1=false on V1", args: append([]string{"--v1=false", "--strategy", "SMART_ON_FHIR_V1", "--compact"}, cognito...),
			wantCode: 2, wantStderr: "--v1=false with --strategy SMART_ON_FHIR_V1: permission-v1 is that strategy's only permission version"},
		{name: "--v1=false on V1 refused before any fetch", args: []string{"--keycloak-url", srv.URL, "--realm", "nope", "--v1=false", "--strategy", "SMART_ON_FHIR_V1"},
			wantCode: 2, wantStderr: "--v1=false with --strategy SMART_ON_FHIR_V1"},
		{name: "--v1=false with --capability permission-v1", args: append([]string{"--v1=false", "--capability", "permission-v1"}, cognito...),
			wantCode: 2, wantStderr: "contradicts --v1=false"},
		{name: "discovery on stdin, no scopes", args: []string{"--discovery", "-", "--scopes-supported", "none", "--compact"}, stdin: keycloakDiscoveryDoc(t, mdKCIssuer),
			checkArgs: []string{}, wantStdout: []string{`"issuer":"` + mdKCIssuer + `"`}},
		{name: "keycloak over loopback http", args: []string{"--keycloak-url", srv.URL, "--realm", "fhir", "--insecure-allow-loopback-http"},
			checkArgs: []string{"--insecure-allow-loopback-http"}, wantStdout: []string{`"token_endpoint": "` + srv.URL + `/realms/fhir/protocol/openid-connect/token"`}},
		{name: "keycloak over http refused in the output", args: []string{"--keycloak-url", srv.URL, "--realm", "fhir"}, wantCode: 1, wantStderr: "is not https"},
		{name: "keycloak document of another issuer", args: []string{"--keycloak-url", srv.URL, "--realm", "smart", "--insecure-allow-loopback-http"},
			wantCode: 1, wantStderr: `wrong issuer: the document names "https://evil.example.net/realms/smart", not "` + srv.URL + `/realms/smart"`},
		{name: "keycloak issuer pinned by --issuer", args: []string{"--keycloak-url", srv.URL, "--realm", "smart", "--issuer", "https://evil.example.net/realms/smart"},
			checkArgs: []string{}, wantStdout: []string{`"token_endpoint": "https://evil.example.net/realms/smart/protocol/openid-connect/token"`}},
		{name: "keycloak --issuer differs", args: []string{"--keycloak-url", srv.URL, "--realm", "fhir", "--insecure-allow-loopback-http",
			"--issuer", mdKCIssuer}, wantCode: 1, wantStderr: "wrong issuer"},
		{name: "discovery file with its --issuer", args: []string{"--discovery", kcFile, "--issuer", mdKCIssuer}, checkArgs: []string{},
			wantStdout: []string{`"issuer": "` + mdKCIssuer + `"`}},
		{name: "discovery file of another issuer", args: []string{"--discovery", kcFile, "--issuer", "https://kc.example.com/realms/other"},
			wantCode: 1, wantStderr: `names "` + mdKCIssuer + `", not "https://kc.example.com/realms/other"`},
		{name: "cognito --issuer refused", args: append([]string{"--issuer", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}, cognito...),
			wantCode: 2, wantStderr: "--issuer does not go with --cognito-domain: a user pool's issuer is always " + mdCogIssuer},
		{name: "cognito --issuer refused even when it is the pool's", args: append([]string{"--issuer", mdCogIssuer}, cognito...),
			wantCode: 2, wantStderr: "--issuer does not go with --cognito-domain"},
		{name: "empty --issuer", args: []string{"--discovery", kcFile, "--issuer="}, wantCode: 2, wantStderr: "--issuer needs a URL"},
		{name: "keycloak realm missing", args: []string{"--keycloak-url", srv.URL, "--realm", "nope"}, wantCode: 1, wantStderr: "HTTP 404"},
		{name: "IdP without S256", args: []string{"--discovery", noS256}, wantCode: 1, wantStderr: "S256"},
		{name: "no source", args: nil, wantCode: 2, wantStderr: "exactly one source"},
		{name: "two sources", args: append([]string{"--discovery", kcFile}, cognito...), wantCode: 2, wantStderr: "exactly one source"},
		{name: "cognito without pool", args: []string{"--cognito-domain", "x", "--region", "us-east-1"}, wantCode: 2, wantStderr: "go together"},
		{name: "keycloak without realm", args: []string{"--keycloak-url", srv.URL}, wantCode: 2, wantStderr: "go together"},
		{name: "cognito pool in another region", args: []string{"--cognito-domain", "x", "--region", "us-east-1", "--user-pool-id", "eu-west-1_A"},
			wantCode: 2, wantStderr: "not in region"},
		{name: "bad launch", args: append([]string{"--launch", "web"}, cognito...), wantCode: 2, wantStderr: "--launch"},
		{name: "bad client", args: append([]string{"--clients", "secret"}, cognito...), wantCode: 2, wantStderr: "--clients"},
		{name: "bad permission", args: append([]string{"--permissions", "system"}, cognito...), wantCode: 2, wantStderr: "--permissions"},
		{name: "bad capability", args: append([]string{"--capability", "launch-web"}, cognito...), wantCode: 2, wantStderr: "--capability"},
		{name: "bad grant", args: append([]string{"--grant-types", "password"}, cognito...), wantCode: 2, wantStderr: "password"},
		{name: "v2.2 on V1", args: append([]string{"--v2.2", "--strategy", "SMART_ON_FHIR_V1"}, cognito...), wantCode: 2, wantStderr: "SMART_ON_FHIR"},
		{name: "cognito asymmetric", args: append([]string{"--clients", "confidential-asymmetric"}, cognito...), wantCode: 1, wantStderr: "private_key_jwt"},
		{name: "missing discovery file", args: []string{"--discovery", filepath.Join(t.TempDir(), "x.json")}, wantCode: 2, wantStderr: "no such file"},
		{name: "bad timeout", args: []string{"--keycloak-url", srv.URL, "--realm", "fhir", "--timeout", "0s"}, wantCode: 2, wantStderr: "--timeout"},
		{name: "unknown flag", args: []string{"--nope"}, wantCode: 2},
		{name: "help", args: []string{"-h"}, wantCode: 0, wantStderr: "smartauth metadata --check FILE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.stdin, append([]string{"metadata"}, tc.args...)...)
			require.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.wantStdout {
				assert.Contains(t, stdout, s)
			}
			assert.Contains(t, stderr, tc.wantStderr)
			if tc.wantCode != 0 {
				assert.Empty(t, stdout)
			}
			if tc.wantCode == 1 && !strings.Contains(stderr, "fails the checks:") { // that error lists the problems
				assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
			}
			if tc.checkArgs != nil {
				file := writeFile(t, "out.json", stdout)
				code, out, errs := runCLI(t, "", append([]string{"metadata", "--check", file}, tc.checkArgs...)...)
				assert.Equal(t, 0, code, "built Metadata fails --check:\n%s%s", out, errs)
			}
		})
	}
}
