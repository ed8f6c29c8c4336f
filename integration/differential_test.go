//go:build integration

package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// The differential check: the same corpus of tokens, valid and invalid, real and self-signed,
// through this library's Validate and through aws-jwt-verify 5.2.1 (scripts/differential/oracle.mjs),
// each configured for the same issuer, JWKS and audience/client policy. Every disagreement must be on
// the explicit list expectedDivergences below, with its reason; any other one fails the test, and so
// does a listed divergence that no longer happens.
//
// What is compared is "is this token valid" (Validate), not the HealthLake decision (Authorize): a
// valid token without a SMART resource scope is accepted by both, and its HealthLake deny (reason
// "scope") is not a verification difference. aws-jwt-verify's own scope option is not used.
//
// Configurations, mirroring oracle.mjs:
//   - keycloak: Issuer, static key set from the case's JWKS, EndpointAudience (the case's audience[0]
//     is the event endpoint), RequirePayloadType("Bearer"), and aws-jwt-verify's algorithm list
//     (RS256/384/512, ES256/384/512, EdDSA) so that the list itself is not a difference (the keycloak
//     provider's default is RS256 only).
//   - cognito: Issuer, static key set, ClientIDs(clientId...), RequireTokenUse("access"), RS256 only,
//     as providers/cognito configures it.

// awsJwtVerifyAlgorithms is aws-jwt-verify 5.2.1's supportedSignatureAlgorithms.
var awsJwtVerifyAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"}

const (
	// Realistic issuers of the self-signed tokens.
	diffKCIssuer      = "https://keycloak.example.com/realms/fhir"
	diffCognitoPool   = "us-east-1_Diff123"
	diffCognitoIssuer = "https://cognito-idp.us-east-1.amazonaws.com/" + diffCognitoPool
	diffCognitoClient = "5diffclient0example0id0abc"
)

// divergence is an expected disagreement: the decisions of this library (ours) and of the oracle.
type divergence struct {
	ours, oracle string
	reason       string
}

// expectedDivergences is the complete list of cases where the two verifiers may disagree.
var expectedDivergences = map[string]divergence{
	// Stricter here.
	"kc-jku-header":          {"reject", "accept", "header allow-list: only alg, kid, typ; jku (key URL) is refused even though it is ignored"},
	"kc-jwk-header":          {"reject", "accept", "header allow-list: an embedded jwk is refused"},
	"kc-x5u-header":          {"reject", "accept", "header allow-list: x5u is refused"},
	"kc-crit-header":         {"reject", "accept", "crit is refused (RFC 7515 §4.1.11: an unknown critical extension MUST be rejected); aws-jwt-verify ignores crit"},
	"kc-typ-dpop":            {"reject", "accept", "header typ must be absent, JWT, at+jwt or application/at+jwt; aws-jwt-verify does not check typ"},
	"kc-typ-jose-json":       {"reject", "accept", "header typ JOSE+JSON is refused (see kc-typ-dpop)"},
	"kc-padded-base64":       {"reject", "accept", "strict unpadded base64url; aws-jwt-verify's regex and Buffer decoder accept '=' padding"},
	"kc-duplicate-iss":       {"reject", "accept", "duplicate JSON member names are refused; JSON.parse keeps the last one"},
	"kc-claim-case-variant":  {"reject", "accept", "a member differing from a known claim only by case (\"EXP\") is refused: Go's case-insensitive JSON matching would make it a second exp"},
	"kc-rsa1024":             {"reject", "accept", "RSA keys under 2048 bits are dropped from the JWKS at load (kid then unknown); aws-jwt-verify does not check the modulus size"},
	"kc-missing-exp":         {"reject", "accept", "exp is required; aws-jwt-verify checks exp only when present"},
	"kc-missing-iat":         {"reject", "accept", "iat is required; aws-jwt-verify does not check iat"},
	"kc-iat-future":          {"reject", "accept", "iat more than the clock skew in the future is refused; aws-jwt-verify does not check iat"},
	"kc-fractional-exp":      {"reject", "accept", "NumericDate must be a non-negative integer; aws-jwt-verify accepts any finite number"},
	"kc-exp-out-of-range":    {"reject", "accept", "NumericDate above 9999-12-31 is refused (a never-expiring token); aws-jwt-verify accepts any finite number"},
	"kc-oversized":           {"reject", "accept", "tokens over 8 KiB are refused before any parsing; aws-jwt-verify has no size cap"},
	"cg-es256":               {"reject", "accept", "Cognito issuers are pinned to RS256 (Cognito signs only RS256); aws-jwt-verify accepts any supported alg whose JWK matches"},
	"cg-multi-region-issuer": {"reject", "accept", "the multi-region issuer https://issuer-cognito-idp.<region>.amazonaws.com/<pool> is trusted only with cognito.Config.MultiRegionIssuer (opt-in); aws-jwt-verify 5.x CognitoJwtVerifier trusts both issuer forms of a pool"},
	// More lenient here.
	"kc-real-bearer-prefix":  {"accept", "reject", "more lenient: Validate strips one optional \"Bearer \" prefix (case-insensitive scheme, one space) before parsing"},
	"kc-real-aud-no-slash":   {"accept", "reject", "more lenient: EndpointAudience ignores one trailing \"/\" on the aud and on the data store endpoint; aws-jwt-verify compares exactly"},
	"kc-expired-within-skew": {"accept", "reject", "more lenient: default ClockSkew is 30 s for exp (aws-jwt-verify's graceSeconds defaults to 0)"},
	"kc-nbf-future-in-skew":  {"accept", "reject", "more lenient: default ClockSkew is 30 s for nbf (see kc-expired-within-skew)"},
}

// diffCase is one corpus entry: the oracle's input, the endpoint our Validate gets, and what both
// must decide when the case is not an expected divergence.
type diffCase struct {
	oracleCase
	endpoint string // keycloak: defaults to audience[0]
	want     string // "accept" or "reject", for both verifiers
	ourErr   error  // when want is "reject": the sentinel our Validate must return (nil: any)
}

// --- signing ---------------------------------------------------------------------------------------

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

type signFunc func(signingInput []byte) []byte

// signWith signs with testjwt.Signature ("ES256-DER": an ASN.1 signature).
func signWith(t testing.TB, alg string, key any) signFunc {
	return func(in []byte) []byte { return testjwt.Signature(t, alg, key, in) }
}

func compactJWS(header, payload string, sign signFunc) string {
	in := b64url([]byte(header)) + "." + b64url([]byte(payload))
	sig := ""
	if sign != nil {
		sig = b64url(sign([]byte(in)))
	}
	return in + "." + sig
}

// signEncoded signs already encoded segments (for non-canonical encodings).
func signEncoded(h, p string, sign signFunc) string {
	in := h + "." + p
	return in + "." + b64url(sign([]byte(in)))
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// claims is a payload built as a map (json.Marshal sorts the members).
type claims map[string]any

func (c claims) with(kv ...any) claims {
	out := maps.Clone(c)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func (c claims) without(names ...string) claims {
	out := maps.Clone(c)
	for _, n := range names {
		delete(out, n)
	}
	return out
}

func (c claims) String() string { return mustJSON(map[string]any(c)) }

// header returns a JOSE header with members in the given order (alg, typ, kid, extra...).
func header(alg, kid string, extra ...string) string {
	parts := []string{`"alg":` + mustJSON(alg), `"typ":"JWT"`}
	if kid != "" {
		parts = append(parts, `"kid":`+mustJSON(kid))
	}
	parts = append(parts, extra...)
	return "{" + strings.Join(parts, ",") + "}"
}

// --- JWKS ------------------------------------------------------------------------------------------

func rsaJWK(kid, alg, use string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "alg": alg, "use": use,
		"n": b64url(k.N.Bytes()), "e": b64url(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	b, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
		"x": b64url(b[1:33]), "y": b64url(b[33:65])}
}

func okpJWK(kid string, k ed25519.PublicKey) map[string]any {
	return map[string]any{"kty": "OKP", "kid": kid, "alg": "EdDSA", "use": "sig", "crv": "Ed25519", "x": b64url(k)}
}

func jwksOf(keys ...map[string]any) json.RawMessage {
	return json.RawMessage(mustJSON(map[string]any{"keys": keys}))
}

// --- our side --------------------------------------------------------------------------------------

// ourDecision runs the case through this library's Validate, configured like the oracle.
func ourDecision(t *testing.T, c diffCase, keySets map[string]smartauth.KeySet) (string, error) {
	t.Helper()
	ks, ok := keySets[string(c.JWKS)]
	if !ok {
		s, err := smartauth.NewStaticKeySet(c.JWKS)
		require.NoError(t, err, "case %s: JWKS", c.Name)
		ks, keySets[string(c.JWKS)] = s, s
	}
	ic := smartauth.IssuerConfig{Issuer: c.Issuer, KeySet: ks}
	switch c.Kind {
	case "keycloak":
		ic.Algorithms = awsJwtVerifyAlgorithms
		ic.Audience = smartauth.EndpointAudience()
		ic.TokenKind = smartauth.RequirePayloadType("Bearer")
	case "cognito":
		ic.Algorithms = []string{"RS256"}
		ic.Audience = smartauth.ClientIDs(c.ClientID...)
		ic.TokenKind = smartauth.RequireTokenUse("access")
	default:
		t.Fatalf("case %s: kind %q", c.Name, c.Kind)
	}
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers:                  []smartauth.IssuerConfig{ic},
		InsecureAllowHTTPIssuers: true, // the real local issuers are http://
		// Validate compares token validity with aws-jwt-verify; pinning the
		// data store (Endpoints) is an Authorize concern tested elsewhere.
		InsecureSkipEndpointCheck: true,
	})
	require.NoError(t, err, "case %s", c.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := v.Validate(ctx, c.Token, c.endpoint); err != nil {
		return "reject", err
	}
	return "accept", nil
}

// runOracleCtx is runOracle (servers_test.go) with a deadline: node must answer within timeout.
func runOracleCtx(t *testing.T, cases []oracleCase, keepAt string, timeout time.Duration) map[string]oracleResult {
	t.Helper()
	in := filepath.Join(t.TempDir(), "cases.json")
	b, err := json.MarshalIndent(cases, "", " ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, b, 0o600))
	if keepAt != "" {
		// For the lead's inspection after the run; the servers and keys are gone by then.
		_ = os.WriteFile(keepAt, b, 0o600)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", mustEnv(t, envOracle), in, mustEnv(t, envNodePrefix))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "oracle failed (ctx: %v): %s", ctx.Err(), stderr.String())
	res := map[string]oracleResult{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r oracleResult
		require.NoError(t, json.Unmarshal([]byte(line), &r), "oracle line %q", line)
		require.NotContains(t, res, r.Name, "duplicate oracle answer")
		res[r.Name] = r
	}
	require.Len(t, res, len(cases), "one line per case: %s", out)
	return res
}

// --- the corpus ------------------------------------------------------------------------------------

func buildDifferentialCorpus(t *testing.T) []diffCase {
	t.Helper()
	now := time.Now().Unix()
	endpoint := mustEnv(t, envKCAudience)

	// Self-signed keys. kcRSA signs Keycloak-shaped tokens; otherRSA forges (wrong signature) and
	// is also published as a use=enc key, as Keycloak does with its RSA-OAEP key.
	kcRSA, otherRSA, cgRSA := testjwt.NewRSAKeyBits(2048), testjwt.NewRSAKeyBits(2048), testjwt.NewRSAKeyBits(2048)
	weakRSA := testjwt.NewRSAKeyBits(1024)
	ecKey, edKey := testjwt.NewECKey(elliptic.P256()), testjwt.NewEdKey()

	kcJWKS := jwksOf(
		rsaJWK("kc-rs256", "RS256", "sig", &kcRSA.PublicKey),
		rsaJWK("kc-ps256", "PS256", "sig", &kcRSA.PublicKey),
		rsaJWK("kc-rsa1024", "RS256", "sig", &weakRSA.PublicKey),
		rsaJWK("kc-enc", "RSA-OAEP", "enc", &otherRSA.PublicKey),
		ecJWK("kc-es256", &ecKey.PublicKey),
		okpJWK("kc-eddsa", edKey.Public().(ed25519.PublicKey)),
	)
	cgJWKS := jwksOf(
		rsaJWK("cg-rs256", "RS256", "sig", &cgRSA.PublicKey),
		ecJWK("cg-es256", &ecKey.PublicKey),
	)

	var cases []diffCase
	add := func(c diffCase) {
		if c.endpoint == "" && len(c.Audience) > 0 {
			c.endpoint = c.Audience[0]
		}
		cases = append(cases, c)
	}

	// --- self-signed, Keycloak-shaped ---
	kcBase := claims{
		"iss": diffKCIssuer, "sub": "8d2a8c44-5b0c-4d5e-9f3e-1a2b3c4d5e6f", "aud": []string{"account", endpoint},
		"azp": "svc", "client_id": "svc", "typ": "Bearer", "scope": "system/*.rs", "fhirUser": "Practitioner/123",
		"iat": now - 10, "exp": now + 300, "jti": "onrtcc:0d4e1a52-3f1c-4b9e-8c36-6c1f3b8f3a01",
	}
	rs := signWith(t, "RS256", kcRSA)
	h := header("RS256", "kc-rs256")
	kc := func(name, token, want string, ourErr error) {
		add(diffCase{oracleCase: oracleCase{Name: name, Token: token, Issuer: diffKCIssuer, JWKS: kcJWKS, Kind: "keycloak",
			Audience: []string{endpoint}}, want: want, ourErr: ourErr})
	}
	kc("kc-valid", compactJWS(h, kcBase.String(), rs), "accept", nil)
	kc("kc-aud-string", compactJWS(h, kcBase.with("aud", endpoint).String(), rs), "accept", nil)
	kc("kc-no-scope", compactJWS(h, kcBase.without("scope").String(), rs), "accept", nil)
	kc("kc-header-no-typ", compactJWS(`{"alg":"RS256","kid":"kc-rs256"}`, kcBase.String(), rs), "accept", nil)
	kc("kc-header-typ-at-jwt", compactJWS(`{"alg":"RS256","typ":"at+jwt","kid":"kc-rs256"}`, kcBase.String(), rs), "accept", nil)
	kc("kc-nbf-past", compactJWS(h, kcBase.with("nbf", now-60).String(), rs), "accept", nil)
	kc("kc-es256", compactJWS(header("ES256", "kc-es256"), kcBase.String(), signWith(t, "ES256", ecKey)), "accept", nil)
	kc("kc-eddsa", compactJWS(header("EdDSA", "kc-eddsa"), kcBase.String(), signWith(t, "EdDSA", edKey)), "accept", nil)
	kc("kc-expired", compactJWS(h, kcBase.with("iat", now-3900, "exp", now-3600).String(), rs), "reject", smartauth.ErrExpired)
	kc("kc-expired-within-skew", compactJWS(h, kcBase.with("iat", now-302, "exp", now-2).String(), rs), "", nil)
	kc("kc-nbf-future", compactJWS(h, kcBase.with("nbf", now+3600).String(), rs), "reject", smartauth.ErrNotYetValid)
	kc("kc-nbf-future-in-skew", compactJWS(h, kcBase.with("nbf", now+28).String(), rs), "", nil)
	kc("kc-iat-future", compactJWS(h, kcBase.with("iat", now+3600, "exp", now+7200).String(), rs), "", nil)
	kc("kc-missing-exp", compactJWS(h, kcBase.without("exp").String(), rs), "", nil)
	kc("kc-missing-iat", compactJWS(h, kcBase.without("iat").String(), rs), "", nil)
	kc("kc-string-exp", compactJWS(h, kcBase.with("exp", fmt.Sprint(now+300)).String(), rs), "reject", smartauth.ErrClaimType)
	kc("kc-fractional-exp", compactJWS(h, kcBase.with("exp", float64(now)+300.5).String(), rs), "", nil)
	kc("kc-exp-out-of-range", compactJWS(h, kcBase.with("exp", int64(1)<<53).String(), rs), "", nil)
	kc("kc-wrong-iss", compactJWS(h, kcBase.with("iss", "https://keycloak.example.com/realms/other").String(), rs), "reject", smartauth.ErrUnknownIssuer)
	kc("kc-iss-array", compactJWS(h, kcBase.with("iss", []string{diffKCIssuer}).String(), rs), "reject", smartauth.ErrClaimType)
	kc("kc-wrong-aud", compactJWS(h, kcBase.with("aud", []string{"account", otherEndpoint}).String(), rs), "reject", smartauth.ErrAudience)
	kc("kc-no-aud", compactJWS(h, kcBase.without("aud").String(), rs), "reject", smartauth.ErrAudience)
	kc("kc-aud-number", compactJWS(h, kcBase.with("aud", 42).String(), rs), "reject", smartauth.ErrClaimType)
	kc("kc-scope-array", compactJWS(h, kcBase.with("scope", []string{"system/*.rs"}).String(), rs), "reject", smartauth.ErrClaimType)
	kc("kc-typ-id", compactJWS(h, kcBase.with("typ", "ID").String(), rs), "reject", smartauth.ErrTokenUse)
	kc("kc-typ-refresh", compactJWS(h, kcBase.with("typ", "Refresh").String(), rs), "reject", smartauth.ErrTokenUse)
	kc("kc-typ-missing", compactJWS(h, kcBase.without("typ").String(), rs), "reject", smartauth.ErrTokenUse)
	kc("kc-alg-none", compactJWS(`{"alg":"none","typ":"JWT","kid":"kc-rs256"}`, kcBase.String(), nil), "reject", smartauth.ErrMalformed)
	kc("kc-alg-none-with-sig", compactJWS(`{"alg":"none","typ":"JWT","kid":"kc-rs256"}`, kcBase.String(), rs), "reject", smartauth.ErrAlgorithm)
	pubDER, err := x509.MarshalPKIXPublicKey(&kcRSA.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	kc("kc-hs256-key-confusion", compactJWS(header("HS256", "kc-rs256"), kcBase.String(), signWith(t, "HS256", pubPEM)), "reject", smartauth.ErrAlgorithm)
	kc("kc-rs384-on-rs256-key", compactJWS(header("RS384", "kc-rs256"), kcBase.String(), signWith(t, "RS384", kcRSA)), "reject", smartauth.ErrKeyMismatch)
	kc("kc-ps256", compactJWS(header("PS256", "kc-ps256"), kcBase.String(), signWith(t, "PS256", kcRSA)), "reject", smartauth.ErrAlgorithm)
	kc("kc-es256-der-signature", compactJWS(header("ES256", "kc-es256"), kcBase.String(), signWith(t, "ES256-DER", ecKey)), "reject", smartauth.ErrSignature)
	kc("kc-unknown-kid", compactJWS(header("RS256", "kc-unknown"), kcBase.String(), rs), "reject", smartauth.ErrKidNotFound)
	kc("kc-missing-kid", compactJWS(header("RS256", ""), kcBase.String(), rs), "reject", smartauth.ErrKidMissing)
	kc("kc-empty-kid", compactJWS(`{"alg":"RS256","typ":"JWT","kid":""}`, kcBase.String(), rs), "reject", smartauth.ErrKidMissing)
	kc("kc-kid-number", compactJWS(`{"alg":"RS256","typ":"JWT","kid":7}`, kcBase.String(), rs), "reject", smartauth.ErrHeader)
	kc("kc-enc-key", compactJWS(header("RS256", "kc-enc"), kcBase.String(), signWith(t, "RS256", otherRSA)), "reject", smartauth.ErrKidNotFound)
	kc("kc-wrong-signature", compactJWS(h, kcBase.String(), signWith(t, "RS256", otherRSA)), "reject", smartauth.ErrSignature)
	kc("kc-rsa1024", compactJWS(header("RS256", "kc-rsa1024"), kcBase.String(), signWith(t, "RS256", weakRSA)), "", nil)
	kc("kc-jku-header", compactJWS(header("RS256", "kc-rs256", `"jku":"https://attacker.example.com/jwks.json"`), kcBase.String(), rs), "", nil)
	jwkHeader := `"jwk":` + mustJSON(rsaJWK("kc-rs256", "RS256", "sig", &kcRSA.PublicKey))
	kc("kc-jwk-header", compactJWS(header("RS256", "kc-rs256", jwkHeader), kcBase.String(), rs), "", nil)
	kc("kc-x5u-header", compactJWS(header("RS256", "kc-rs256", `"x5u":"https://attacker.example.com/cert.pem"`), kcBase.String(), rs), "", nil)
	kc("kc-crit-header", compactJWS(header("RS256", "kc-rs256", `"crit":["urn:example:ext"]`, `"urn:example:ext":true`), kcBase.String(), rs), "", nil)
	kc("kc-typ-dpop", compactJWS(`{"alg":"RS256","typ":"dpop+jwt","kid":"kc-rs256"}`, kcBase.String(), rs), "", nil)
	kc("kc-typ-jose-json", compactJWS(`{"alg":"RS256","typ":"JOSE+JSON","kid":"kc-rs256"}`, kcBase.String(), rs), "", nil)
	// Padding: a header whose unpadded base64url length is not a multiple of 4, then "=" added and
	// signed as is (the signing input includes the padding).
	padHeader := `{"alg":"RS256","typ":"JWT","kid":"kc-rs256"}`
	for len(b64url([]byte(padHeader)))%4 == 0 {
		padHeader += " "
	}
	hb := b64url([]byte(padHeader))
	kc("kc-padded-base64", signEncoded(hb+strings.Repeat("=", 4-len(hb)%4), b64url([]byte(kcBase.String())), rs), "", nil)
	// Duplicate iss: the first says evil, the last (which JSON.parse keeps) is right.
	dup := `{"iss":"https://evil.example.com/realms/fhir",` + kcBase.String()[1:]
	kc("kc-duplicate-iss", compactJWS(h, dup, rs), "", nil)
	kc("kc-claim-case-variant", compactJWS(h, kcBase.with("EXP", now+999999).String(), rs), "", nil)
	kc("kc-oversized", compactJWS(h, kcBase.with("pad", strings.Repeat("x", 9000)).String(), rs), "", nil)
	kc("kc-payload-array", compactJWS(h, `[`+kcBase.String()+`]`, rs), "reject", smartauth.ErrPayload)
	valid := compactJWS(h, kcBase.String(), rs)
	kc("kc-trailing-newline", valid+"\n", "reject", smartauth.ErrMalformed)
	kc("kc-five-parts", valid+".AAAA.AAAA", "reject", smartauth.ErrMalformed)

	// --- self-signed, Cognito-shaped (M2M client_credentials and user access tokens) ---
	cgBase := claims{
		"iss": diffCognitoIssuer, "sub": diffCognitoClient, "client_id": diffCognitoClient, "token_use": "access",
		"scope": "https://fhir.example.com/system/*.read", "auth_time": now - 10, "iat": now - 10, "exp": now + 3600,
		"jti": "7c9a1f0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b", "version": 2,
	}
	cgUser := cgBase.with("sub", "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f6a7b8", "username", "alice",
		"cognito:groups", []string{"practitioners"}, "scope", "openid launch/patient patient/*.rs",
		"fhirUser", "Patient/456", "patient", "456", "origin_jti", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
	cgs := signWith(t, "RS256", cgRSA)
	cgh := header("RS256", "cg-rs256")
	cg := func(name, token, want string, ourErr error) {
		add(diffCase{oracleCase: oracleCase{Name: name, Token: token, Issuer: diffCognitoIssuer, JWKS: cgJWKS, Kind: "cognito",
			ClientID: []string{diffCognitoClient}}, want: want, ourErr: ourErr})
	}
	cg("cg-m2m-valid", compactJWS(cgh, cgBase.String(), cgs), "accept", nil)
	cg("cg-user-valid", compactJWS(cgh, cgUser.String(), cgs), "accept", nil)
	cg("cg-no-scope", compactJWS(cgh, cgBase.without("scope").String(), cgs), "accept", nil)
	cg("cg-id-token", compactJWS(cgh, cgUser.without("client_id", "scope").with("token_use", "id", "aud", diffCognitoClient).String(), cgs),
		"reject", smartauth.ErrTokenUse) // token kind is checked before audience
	cg("cg-token-use-missing", compactJWS(cgh, cgBase.without("token_use").String(), cgs), "reject", smartauth.ErrTokenUse)
	cg("cg-token-use-number", compactJWS(cgh, cgBase.with("token_use", 1).String(), cgs), "reject", smartauth.ErrClaimType)
	cg("cg-wrong-client-id", compactJWS(cgh, cgBase.with("client_id", "another0client0id").String(), cgs), "reject", smartauth.ErrClientID)
	cg("cg-missing-client-id", compactJWS(cgh, cgBase.without("client_id").String(), cgs), "reject", smartauth.ErrClientID)
	cg("cg-expired", compactJWS(cgh, cgBase.with("iat", now-7200, "exp", now-3600).String(), cgs), "reject", smartauth.ErrExpired)
	cg("cg-other-pool", compactJWS(cgh, cgBase.with("iss", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other99").String(), cgs),
		"reject", smartauth.ErrUnknownIssuer)
	cg("cg-multi-region-issuer", compactJWS(cgh, cgBase.with("iss", "https://issuer-cognito-idp.us-east-1.amazonaws.com/"+diffCognitoPool).String(), cgs),
		"reject", smartauth.ErrUnknownIssuer)
	cg("cg-wrong-signature", compactJWS(cgh, cgBase.String(), signWith(t, "RS256", kcRSA)), "reject", smartauth.ErrSignature)
	cg("cg-es256", compactJWS(header("ES256", "cg-es256"), cgBase.String(), signWith(t, "ES256", ecKey)), "", nil)

	// --- real Keycloak tokens ---
	kcIss := keycloakIssuer(t)
	_, kcRealJWKS := fetchJWKS(t, keycloakJWKSURL(t))
	svc := keycloakServiceToken(t, "system/*.rs").AccessToken
	alice := keycloakUserToken(t, "openid fhirUser launch/patient patient/*.rs "+v22Scope)
	bob := keycloakPasswordToken(t, bobUser, bobPassword, "openid fhirUser launch/patient patient/*.read")
	noaud := keycloakNoAudServiceToken(t, "system/*.read").AccessToken
	real := func(name, token, want string, ourErr error, audience ...string) {
		if len(audience) == 0 {
			audience = []string{endpoint}
		}
		add(diffCase{oracleCase: oracleCase{Name: name, Token: token, Issuer: kcIss, JWKS: kcRealJWKS, Kind: "keycloak",
			Audience: audience}, want: want, ourErr: ourErr})
	}
	real("kc-real-svc-access", svc, "accept", nil)
	real("kc-real-alice-access", alice.AccessToken, "accept", nil)
	real("kc-real-bob-access", bob.AccessToken, "accept", nil)
	real("kc-real-alice-id", alice.IDToken, "reject", smartauth.ErrTokenUse) // payload typ ID
	real("kc-real-alice-refresh", alice.RefreshToken, "reject", smartauth.ErrAlgorithm)
	real("kc-real-noaud-access", noaud, "reject", smartauth.ErrAudience)
	real("kc-real-other-endpoint", svc, "reject", smartauth.ErrAudience, otherEndpoint)
	real("kc-real-aud-no-slash", svc, "", nil, strings.TrimSuffix(endpoint, "/"))
	real("kc-real-bearer-prefix", "Bearer "+svc, "", nil)
	parts := strings.Split(svc, ".")
	sig := []byte(parts[2])
	if sig[10] == 'A' { // one character in the middle: all 6 bits significant, still base64url
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	real("kc-real-tampered-signature", parts[0]+"."+parts[1]+"."+string(sig), "reject", smartauth.ErrSignature)
	_, sp := decodeJWT(t, svc)
	sp["scope"] = "system/*.cruds"
	real("kc-real-tampered-payload", parts[0]+"."+b64url([]byte(mustJSON(sp)))+"."+parts[2], "reject", smartauth.ErrSignature)
	wrongIss := diffCase{oracleCase: oracleCase{Name: "kc-real-issuer-trailing-slash", Token: svc, Issuer: kcIss + "/", JWKS: kcRealJWKS,
		Kind: "keycloak", Audience: []string{endpoint}}, want: "reject", ourErr: smartauth.ErrUnknownIssuer}
	add(wrongIss)

	// --- real cognito-local tokens ---
	cgIss := mustEnv(t, envCognitoIssuer)
	_, cgRealJWKS := fetchJWKS(t, cognitoJWKSURL(t))
	login := cognitoLogin(t)
	cid := mustEnv(t, envCognitoClientID)
	local := func(name, token, want string, ourErr error, clientID string) {
		add(diffCase{oracleCase: oracleCase{Name: name, Token: token, Issuer: cgIss, JWKS: cgRealJWKS, Kind: "cognito",
			ClientID: []string{clientID}}, want: want, ourErr: ourErr})
	}
	local("cg-real-access", login.AccessToken, "accept", nil, cid)
	local("cg-real-id", login.IDToken, "reject", smartauth.ErrTokenUse, cid) // token_use id
	local("cg-real-other-client", login.AccessToken, "reject", smartauth.ErrClientID, "1example23456789abcdefghij")
	local("cg-real-refresh", login.RefreshToken, "reject", smartauth.ErrKidMissing, cid)
	return cases
}

func TestDifferentialAwsJwtVerify(t *testing.T) {
	corpus := buildDifferentialCorpus(t)
	require.GreaterOrEqual(t, len(corpus), 40)
	names := map[string]bool{}
	for _, c := range corpus {
		require.False(t, names[c.Name], "duplicate case %s", c.Name)
		names[c.Name] = true
	}
	for name := range expectedDivergences {
		require.True(t, names[name], "expected divergence %s is not in the corpus", name)
	}

	// Ours first, right after minting. The two skew cases hold for 28 s after minting: ours accepts
	// exp = mint-2 until mint+28, the oracle rejects nbf = mint+28 until then.
	ours := map[string]string{}
	ourErrs := map[string]error{}
	keySets := map[string]smartauth.KeySet{}
	for _, c := range corpus {
		ours[c.Name], ourErrs[c.Name] = ourDecision(t, c, keySets)
	}

	root := filepath.Dir(filepath.Dir(filepath.Dir(mustEnv(t, envOracle)))) // <root>/scripts/differential/oracle.mjs
	runDir := filepath.Join(root, ".cache", "run")
	oc := make([]oracleCase, len(corpus))
	for i, c := range corpus {
		oc[i] = c.oracleCase
	}
	oracle := runOracleCtx(t, oc, filepath.Join(runDir, "differential-cases.json"), 2*time.Minute)

	agree := 0
	var diverged []string
	for _, c := range corpus {
		o := oracle[c.Name]
		require.Contains(t, []string{"accept", "reject"}, o.Decision, "%s: %+v", c.Name, o)
		got := ours[c.Name]
		if d, ok := expectedDivergences[c.Name]; ok {
			if got != d.ours || o.Decision != d.oracle {
				t.Errorf("%s: listed divergence (ours %s, oracle %s: %s) did not happen: ours %s (%v), oracle %s (%s: %s)",
					c.Name, d.ours, d.oracle, d.reason, got, ourErrs[c.Name], o.Decision, o.Error, o.Message)
				continue
			}
			diverged = append(diverged, c.Name)
			t.Logf("expected divergence %-28s ours %s (%v), oracle %s (%s): %s", c.Name, got, ourErrs[c.Name], o.Decision, o.Error, d.reason)
			continue
		}
		if got != o.Decision {
			t.Errorf("%s: UNEXPECTED DIVERGENCE: ours %s (%v), aws-jwt-verify %s (%s: %s)", c.Name, got, ourErrs[c.Name], o.Decision, o.Error, o.Message)
			continue
		}
		if got != c.want {
			t.Errorf("%s: both %s, but the corpus says %s (ours: %v; oracle: %s %s)", c.Name, got, c.want, ourErrs[c.Name], o.Error, o.Message)
			continue
		}
		if c.ourErr != nil && !errors.Is(ourErrs[c.Name], c.ourErr) {
			t.Errorf("%s: rejected for the wrong reason: got %v, want %v", c.Name, ourErrs[c.Name], c.ourErr)
			continue
		}
		agree++
	}
	slices.Sort(diverged)
	summary := fmt.Sprintf("differential: %d tokens, %d agree, %d expected divergences: [%s]",
		len(corpus), agree, len(diverged), strings.Join(diverged, " "))
	t.Log(summary)
	var report strings.Builder
	report.WriteString(summary + "\n")
	for _, name := range diverged {
		d := expectedDivergences[name]
		fmt.Fprintf(&report, "  %s (ours %s, aws-jwt-verify %s): %s\n", name, d.ours, d.oracle, d.reason)
	}
	require.NoError(t, os.WriteFile(filepath.Join(runDir, "differential-summary.txt"), []byte(report.String()), 0o644))
	require.Equal(t, len(corpus), agree+len(diverged), "every case either agrees or is a listed divergence")
}
