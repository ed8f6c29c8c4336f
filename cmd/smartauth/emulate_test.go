package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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
	assert.Equal(t, http.StatusForbidden, code, "%v", oo)

	other := signToken(t, claims(map[string]any{"iss": kcIss, "aud": "account", "typ": "Bearer", "scope": "system/*.rs"}))
	code, oo = get(t, base+"Patient", other)
	assert.Equal(t, http.StatusUnauthorized, code, "%v", oo)

	code, _ = get(t, base+"Patient", "")
	assert.Equal(t, http.StatusUnauthorized, code)

	l := logs.String()
	assert.Contains(t, l, "decision=allow")
	assert.Contains(t, l, "reason=compartment")
	assert.Contains(t, l, "component=lambda", "the in-process Lambda logs its own decision")
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
}
