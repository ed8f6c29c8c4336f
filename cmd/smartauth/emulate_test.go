package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthlake-smart/smartauth-go/internal/metadata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a goroutine-safe writer for the emulator's output.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`serving (http://\S+/r4/)`)

// startEmulate runs "smartauth emulate args..." until the test ends and
// returns the FHIR base URL and the log.
func startEmulate(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"emulate", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, 0, code, "exit status after Ctrl-C; stderr: %s", errb.String())
		case <-time.After(10 * time.Second):
			t.Error("emulate did not stop on ctx cancel")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], &errb
		}
		select {
		case code := <-done:
			t.Fatalf("emulate exited with %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("emulate did not start: %s", errb.String())
	return "", nil
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return resp.StatusCode, m
}

func TestEmulate(t *testing.T) {
	jwks := writeJWKS(t)
	const kcIss = "https://kc.example.com/realms/fhir"
	base, logs := startEmulate(t, "--provider", "keycloak", "--issuer", kcIss, "--jwks-file", jwks, "--now", "1700000100",
		"--datastore-endpoint", testEndpoint)

	code, md := get(t, base+".well-known/smart-configuration", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, kcIss+"/protocol/openid-connect/token", md["token_endpoint"], "derived from the issuer flags")

	tok := signToken(t, claims(map[string]any{"iss": kcIss, "aud": testEndpoint, "typ": "Bearer", "scope": "launch/patient patient/*.rs", "patient": "456"}))
	code, bundle := get(t, base+"Patient", tok)
	require.Equal(t, http.StatusOK, code, "%v", bundle)
	assert.EqualValues(t, 1, bundle["total"], "patient/ scopes: only the patient in context")

	code, oo := get(t, base+"Patient/789", tok)
	assert.Equal(t, http.StatusNotFound, code, "another patient's resource looks absent: %v", oo)

	other := signToken(t, claims(map[string]any{"iss": kcIss, "aud": "account", "typ": "Bearer", "scope": "system/*.rs"}))
	code, oo = get(t, base+"Patient", other)
	assert.Equal(t, http.StatusUnauthorized, code, "%v", oo)

	code, _ = get(t, base+"Patient", "")
	assert.Equal(t, http.StatusUnauthorized, code)

	l := logs.String()
	assert.Contains(t, l, "decision=allow")
	assert.Contains(t, l, "reason=compartment")
	lines := strings.Split(strings.TrimSpace(l), "\n")
	assert.Len(t, lines, 5, "one log line per request:\n%s", l)
	assert.Contains(t, lines[3], "lambda_reason=aud", "the in-process Lambda's reason is in the request's line")
	assert.NotContains(t, l, tok)
	assert.NotContains(t, l, other)
}

func TestEmulateUsage(t *testing.T) {
	code, _, stderr := runCLI(t, "", "emulate", "--lambda-url", "ftp://x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "lambda URL")
	code, _, stderr = runCLI(t, "", "emulate", "--provider", "generic")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--issuer is required", "the validator flags are shared with validate")
	code, _, _ = runCLI(t, "", "emulate", "extra")
	assert.Equal(t, 2, code)
	for _, d := range []string{"2m", "0s", "-1s"} {
		code, _, stderr = runCLI(t, "", "emulate", "--lambda-timeout", d)
		assert.Equal(t, 2, code, d)
		assert.Contains(t, stderr, "--lambda-timeout", d)
	}
	// An explicit empty --role-arn would turn the role check off.
	for _, v := range []string{"--role-arn=", "--role-arn= "} {
		code, stdout, stderr := runCLI(t, "", "emulate", "--lambda-url", "http://127.0.0.1:9", v)
		assert.Equal(t, 2, code, v)
		assert.Contains(t, stderr, "--role-arn is empty", v)
		assert.NotContains(t, stdout, "serving", v)
	}
	code, _, stderr = runCLI(t, "", "emulate", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Exit status: 0 stopped by Ctrl-C, 2 usage,\nconfiguration or server error.")
}

// The default Metadata is built by internal/metadata for each provider and
// passes metadata.Check: SMART clients find the authorize and token
// endpoints and the JWKS.
func TestEmulateDefaultMetadata(t *testing.T) {
	jwks := writeJWKS(t)
	tests := []struct {
		name       string
		args       []string
		wantToken  string
		wantStderr string
	}{
		{name: "keycloak", args: []string{"--provider", "keycloak", "--keycloak-url", "https://kc.example.com", "--realm", "fhir"},
			wantToken: "https://kc.example.com/realms/fhir/protocol/openid-connect/token"},
		{name: "cognito issuer, no domain", args: []string{"--provider", "cognito", "--issuer", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Local", "--client-id", "c1"},
			wantToken: "https://us-east-1-local.auth.us-east-1.amazoncognito.com/oauth2/token", wantStderr: "no --cognito-domain"},
		{name: "cognito domain", args: []string{"--provider", "cognito", "--region", "us-east-1", "--user-pool-id", "us-east-1_Local", "--client-id", "c1", "--cognito-domain", "smart-demo"},
			wantToken: "https://smart-demo.auth.us-east-1.amazoncognito.com/oauth2/token"},
		{name: "generic", args: []string{"--issuer", "https://idp.example.com"},
			wantToken: "https://idp.example.com/token", wantStderr: "guesses"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, logs := startEmulate(t, append(tc.args, "--jwks-file", jwks)...)
			resp, err := http.Get(base + ".well-known/smart-configuration")
			require.NoError(t, err)
			defer resp.Body.Close()
			doc, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Empty(t, metadata.Check(doc, metadata.SMARTOnFHIR), "%s", doc)
			var md map[string]any
			require.NoError(t, json.Unmarshal(doc, &md))
			assert.Equal(t, tc.wantToken, md["token_endpoint"])
			for _, m := range []string{"issuer", "authorization_endpoint", "jwks_uri"} {
				assert.NotEmpty(t, md[m], m)
			}
			assert.Contains(t, md["capabilities"], "permission-v2")
			if tc.wantStderr != "" {
				assert.Contains(t, logs.String(), tc.wantStderr)
			} else {
				assert.NotContains(t, logs.String(), "warning")
			}
		})
	}
}

// --metadata goes through metadata.Check: problems that break discovery
// fail, the others are warnings.
func TestEmulateMetadataCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o600))
		return p
	}
	jwks := writeJWKS(t)
	broken := write("broken.json", `{"issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/jwks","capabilities":["permission-v2"]}`)
	code, _, stderr := runCLI(t, "", "emulate", "--addr", "127.0.0.1:0", "--issuer", "https://idp.example.com", "--jwks-file", jwks, "--metadata", broken)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "breaks SMART discovery")
	assert.Contains(t, stderr, "token_endpoint: is missing")

	plain := write("plain.json", `{"issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/jwks","authorization_endpoint":"https://idp.example.com/auth",
		"token_endpoint":"https://idp.example.com/token","grant_types_supported":["client_credentials","implicit"],"code_challenge_methods_supported":["S256"],"capabilities":["permission-v2"]}`)
	_, logs := startEmulate(t, "--issuer", "https://idp.example.com", "--jwks-file", jwks, "--metadata", plain)
	assert.Contains(t, logs.String(), "warning: --metadata "+plain+": grant_types_supported")
}

// The default --addr is loopback; another address is served with a warning.
func TestEmulateAddr(t *testing.T) {
	var e emulateFlags
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	e.register(fs)
	require.NoError(t, fs.Parse(nil))
	assert.True(t, loopbackAddr(e.addr), "default --addr %s", e.addr)
	assert.True(t, loopbackAddr("[::1]:0"))
	assert.True(t, loopbackAddr("localhost:80"))
	for _, a := range []string{":8080", "0.0.0.0:8080", "192.0.2.1:80", "[::]:80", "bad"} {
		assert.False(t, loopbackAddr(a), a)
	}
	// 192.0.2.1 (TEST-NET-1) is not on this machine: the listen fails after
	// the warning, and nothing binds a non-loopback address.
	_, _, stderr := runCLI(t, "", "emulate", "--issuer", "https://idp.example.com", "--jwks-file", writeJWKS(t), "--addr", "192.0.2.1:0")
	assert.Contains(t, stderr, "warning: --addr 192.0.2.1:0 is not a loopback address")
}

// Without --endpoint the in-process validator pins the emulator's
// datastoreEndpoint (as the deployed Lambda pins its data store): a Cognito
// token, which names no data store, is refused for an event of another one.
func TestEmulateInProcessPinsEndpoint(t *testing.T) {
	const cogIss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var f validateFlags
	f.register(fs, "")
	require.NoError(t, fs.Parse([]string{"--provider", "cognito", "--issuer", cogIss, "--client-id", "app1", "--jwks-file", writeJWKS(t),
		"--role-arn", testRole, "--now", "1700000100"}))
	require.NoError(t, f.setClock())
	inv, err := f.inProcess(context.Background(), testEndpoint, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.False(t, f.InsecureSkipEndpointCheck)
	tok := signToken(t, claims(map[string]any{"iss": cogIss, "token_use": "access", "client_id": "app1", "scope": "system/*.rs"}))
	for _, tc := range []struct {
		endpoint string
		allowed  bool
	}{
		{testEndpoint, true},
		{"https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/", false},
	} {
		ev, err := json.Marshal(map[string]string{"datastoreEndpoint": tc.endpoint, "bearerToken": tok, "operationName": "SearchWithGet",
			"datastoreId": "0123456789abcdef0123456789abcdef"})
		require.NoError(t, err)
		out, err := inv.Invoke(context.Background(), ev)
		require.NoError(t, err)
		assert.Equal(t, tc.allowed, bytes.Contains(out, []byte(`"isAuthorized":true`)), "%s: %s", tc.endpoint, out)
	}
}

// One validator flag set, each command's own --role-arn help: validate
// requires it, emulate defaults it.
func TestRoleARNHelp(t *testing.T) {
	roleHelp := func(stderr string) string {
		_, after, ok := strings.Cut(stderr, "-role-arn string\n")
		require.True(t, ok, stderr)
		line, _, _ := strings.Cut(after, "\n")
		return strings.TrimSpace(line)
	}
	code, _, stderr := runCLI(t, "", "validate", "-h")
	assert.Equal(t, 0, code)
	assert.Equal(t, "IAM role ARN returned as iamRoleARN (required)", roleHelp(stderr))
	code, _, stderr = runCLI(t, "", "emulate", "-h")
	assert.Equal(t, 0, code)
	assert.Equal(t, `IAM role ARN returned as iamRoleARN (default "`+emulateRoleARN+`")`, roleHelp(stderr))
	assert.NotContains(t, stderr, "iamRoleARN (required)")
	// The default is the one emulate uses.
	var f validateFlags
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f.register(fs, emulateRoleARN)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, emulateRoleARN, f.RoleARN)
}

// With --lambda-url, an explicit --role-arn is the iamRoleARN the Lambda
// must return; without it any role ARN passes.
func TestEmulateLambdaRole(t *testing.T) {
	const otherRole = "arn:aws:iam::210987654321:role/someone-else"
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			DatastoreEndpoint string `json:"datastoreEndpoint"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		now := time.Now().Unix()
		_ = json.NewEncoder(w).Encode(map[string]any{"iamRoleARN": otherRole, "authPayload": map[string]any{
			"isAuthorized": true, "aud": ev.DatastoreEndpoint, "scope": "system/*.rs", "exp": now + 300, "nbf": now - 10}})
	}))
	t.Cleanup(lambda.Close)
	flags := []string{"--lambda-url", lambda.URL, "--provider", "keycloak", "--issuer", "https://kc.example.com/realms/fhir", "--datastore-endpoint", testEndpoint}

	base, _ := startEmulate(t, flags...)
	code, oo := get(t, base+"Patient/456", "opaque-token")
	assert.Equal(t, http.StatusOK, code, "no --role-arn: only the form is checked: %v", oo)

	base, _ = startEmulate(t, append(flags, "--role-arn", testRole)...)
	code, oo = get(t, base+"Patient/456", "opaque-token")
	require.Equal(t, http.StatusUnauthorized, code, "%v", oo)
	diag := oo["issue"].([]any)[0].(map[string]any)["diagnostics"].(string)
	assert.Contains(t, diag, `iamRoleARN "`+otherRole+`" is not the expected role "`+testRole+`" (--role-arn)`)
}
