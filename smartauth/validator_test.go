package smartauth_test

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
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/scopes"
	"github.com/healthlake-smart/smartauth-go/smartauth"

	"github.com/healthlake-smart/smartauth-go/internal/testjwt"
)

// vcase is one row of the token attack catalogue (the 34 rows numbered #1 to
// #34 in the case names: RFC 8725, RFC 7515/7519/9068 and JOSE CVEs) or one
// of the boundary/provider rows around it.
type vcase struct {
	name   string
	token  func(tb testing.TB) string
	config func(*smartauth.Config) // applied to baseConfig; may be nil
	// endpoint is the event's datastoreEndpoint; "" means testEndpoint and
	// noEndpoint sends an empty one.
	endpoint   string
	noEndpoint bool
	// wantErr is the sentinel the rejection must wrap; nil means valid.
	wantErr error
	check   func(t *testing.T, env testEnv, tok *smartauth.Token)
}

// Token builders used by the rows.

func kcToken(overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string { return mint(tb, keycloakClaims(overrides...)) }
}

func kidToken(kid string, overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string { return mintKid(tb, kid, keycloakClaims(overrides...)) }
}

func cognitoToken(overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string { return mint(tb, cognitoClaims(overrides...)) }
}

// headerToken signs a hand-made header (and the default Keycloak payload)
// with the RSA key.
func headerToken(header string, overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string { return rawRS256(tb, header, mustJSON(tb, keycloakClaims(overrides...))) }
}

// payloadToken signs hand-made payload JSON under the default header.
func payloadToken(payload string) func(testing.TB) string {
	return func(tb testing.TB) string { return rawRS256(tb, rsHeader, payload) }
}

// manyClaims is a Keycloak token with n extra string claims c000, c001, ...
func manyClaims(n int) func(testing.TB) string {
	return func(tb testing.TB) string {
		over := []any{}
		for i := range n {
			over = append(over, fmt.Sprintf("c%03d", i), "v")
		}
		return rawRS256(tb, rsHeader, mustJSON(tb, keycloakClaims(over...)))
	}
}

// claimRaw replaces one Keycloak claim by raw JSON text.
func claimRaw(claim, rawValue string) func(testing.TB) string {
	return func(tb testing.TB) string {
		return rawRS256(tb, rsHeader, payloadWith(tb, keycloakClaims(), claim, rawValue))
	}
}

// appendMember appends raw member text to the Keycloak payload (duplicates).
func appendMember(member string, overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string {
		js := mustJSON(tb, keycloakClaims(overrides...))
		return rawRS256(tb, rsHeader, js[:len(js)-1]+","+member+"}")
	}
}

// prependMember puts raw member text first in the Keycloak payload.
func prependMember(member string, overrides ...any) func(testing.TB) string {
	return func(tb testing.TB) string {
		js := mustJSON(tb, keycloakClaims(overrides...))
		return rawRS256(tb, rsHeader, "{"+member+","+js[1:])
	}
}

// literal is a fixed token text.
func literal(s string) func(testing.TB) string { return func(testing.TB) string { return s } }

// transform applies f to the token made by base.
func transform(base func(testing.TB) string, f func(string) string) func(testing.TB) string {
	return func(tb testing.TB) string { return f(base(tb)) }
}

// withSig replaces the signature segment of a compact token.
func withSig(tok string, sig []byte) string {
	i := strings.LastIndexByte(tok, '.')
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// signSegments signs already-encoded header and payload segments.
func signSegments(tb testing.TB, kid, hseg, pseg string) string {
	tb.Helper()
	s := signers()[kid]
	input := hseg + "." + pseg
	return input + "." + base64.RawURLEncoding.EncodeToString(testjwt.Signature(tb, s.alg, s.priv, []byte(input)))
}

// countingServer serves issuer B's JWKS and counts requests: a URL an
// attacker would like the validator to fetch.
func countingServer(tb testing.TB, hits *atomic.Int64) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwksJSON(tb, jwkMembers(tb, &rsaKeyB().PublicKey, "evil", "RS256", "sig")))
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// jwkMembers is the public JWK of pub with kid/alg/use set ("" omits).
func jwkMembers(tb testing.TB, pub any, kid, alg, use string) map[string]any {
	tb.Helper()
	if r, ok := pub.(*rsa.PublicKey); ok {
		// By hand: jwx refuses to import the weak keys some rows need.
		m := map[string]any{
			"kty": "RSA",
			"n":   base64.RawURLEncoding.EncodeToString(r.N.Bytes()),
			"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(r.E)).Bytes()),
		}
		for name, v := range map[string]string{"kid": kid, "alg": alg, "use": use} {
			if v != "" {
				m[name] = v
			}
		}
		return m
	}
	k, err := jwk.Import(pub)
	require.NoError(tb, err)
	for name, v := range map[string]string{"kid": kid, "alg": alg, "use": use} {
		if v != "" {
			require.NoError(tb, k.Set(name, v))
		}
	}
	b, err := json.Marshal(k)
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m))
	return m
}

func jwksJSON(tb testing.TB, keys ...map[string]any) []byte {
	tb.Helper()
	return []byte(mustJSON(tb, map[string]any{"keys": keys}))
}

// setNow moves the validator clock.
func setNow(t time.Time) func(*smartauth.Config) {
	return func(c *smartauth.Config) { c.Now = func() time.Time { return t } }
}

// wantScopes checks the granted scopes of a valid token.
func wantScopes(want []string, dropped int, resource bool) func(*testing.T, testEnv, *smartauth.Token) {
	return func(t *testing.T, _ testEnv, tok *smartauth.Token) {
		t.Helper()
		if diff := cmp.Diff(want, scopeStrings(tok), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}
		assert.Equal(t, dropped, tok.DroppedScopes, "DroppedScopes")
		assert.Equal(t, resource, tok.HasResourceScope(), "HasResourceScope")
	}
}

// wantKids checks which kids issuer A's key set was asked for.
func wantKids(kids ...string) func(*testing.T, testEnv, *smartauth.Token) {
	return func(t *testing.T, env testEnv, _ *smartauth.Token) {
		t.Helper()
		assert.Equal(t, kids, env.A.askedFor(), "kids asked of issuer A's key set")
	}
}

// catalogueCases returns every row. It builds fresh closures on each call,
// so per-row state (hit counters) is never shared.
func catalogueCases() []vcase {
	rsaPEM := func(tb testing.TB) []byte {
		der, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
		require.NoError(tb, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	rsaDER := func(tb testing.TB) []byte {
		der, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
		require.NoError(tb, err)
		return der
	}
	kcJSON := func(tb testing.TB, overrides ...any) string { return mustJSON(tb, keycloakClaims(overrides...)) }
	// esToken signs an ES256 header naming kid with the P-256 key; signAlg
	// "ES256-DER" makes an ASN.1 signature.
	esToken := func(signAlg, kid string) func(testing.TB) string {
		return func(tb testing.TB) string {
			return testjwt.SignRaw(tb, signAlg, p256Key(), `{"alg":"ES256","kid":"`+kid+`"}`, kcJSON(tb))
		}
	}
	restrictA := func(algs ...string) func(*smartauth.Config) {
		return func(c *smartauth.Config) { c.Issuers[0].Algorithms = algs }
	}
	tokenKindA := func(rule smartauth.TokenKindRule) func(*smartauth.Config) {
		return func(c *smartauth.Config) { c.Issuers[0].TokenKind = rule }
	}
	audienceA := func(p smartauth.AudiencePolicy) func(*smartauth.Config) {
		return func(c *smartauth.Config) {
			c.Issuers[0].Audience = p
			// These rows test the audience policy alone; the data store pin
			// (Endpoints) has tests of its own (TestEndpointPin).
			c.InsecureSkipEndpointCheck = true
		}
	}
	longKid := strings.Repeat("k", 256)

	var jkuHits, x5uHits, issHits atomic.Int64

	cases := []vcase{
		// Valid controls: the validator accepts what real IdPs issue.
		{name: "valid Keycloak RS256 token", token: kcToken(), check: func(t *testing.T, _ testEnv, tok *smartauth.Token) {
			assert.Equal(t, testIssuer, tok.Issuer)
			assert.Equal(t, "rs256", tok.KeyID)
			assert.Equal(t, "RS256", tok.Algorithm)
			wantScopes([]string{"openid", "fhirUser", "launch/patient", "patient/*.read"}, 0, true)(t, testEnv{}, tok)
		}},
		{name: "valid Keycloak aud as string", token: kcToken("aud", testEndpoint)},
		{name: "valid Keycloak aud as array", token: kcToken("aud", []string{"account", testEndpoint})},
		{name: "valid aud without trailing slash, endpoint with one", token: kcToken("aud", strings.TrimSuffix(testEndpoint, "/"))},
		{name: "valid aud with trailing slash, endpoint without one", token: kcToken(), endpoint: strings.TrimSuffix(testEndpoint, "/")},
		{name: "valid ExactAudience ignores the event endpoint", token: kcToken("aud", "https://api.example.com/fhir"),
			config: audienceA(smartauth.ExactAudience("https://api.example.com/fhir/")), endpoint: otherEndpoint},
		{name: "valid EndpointAudience extra audience", token: kcToken("aud", "account-fhir"),
			config: audienceA(smartauth.EndpointAudience("account-fhir"))},
		{name: "valid Cognito access token (cognito-idp issuer)", token: cognitoToken(), config: useCognito,
			check: wantScopes([]string{"openid", "patient/*.read", "launch/patient"}, 1, true)},
		{name: "valid Cognito access token (issuer-cognito-idp issuer)", token: cognitoToken("iss", cognitoIssuerNew), config: useCognito,
			check: func(t *testing.T, _ testEnv, tok *smartauth.Token) { assert.Equal(t, cognitoIssuerNew, tok.Issuer) }},
		{name: "valid Keycloak RequirePayloadType Bearer", token: kcToken(), config: tokenKindA(smartauth.RequirePayloadType("Bearer"))},
		{name: "valid token without payload typ or token_use (default rule)", token: kcToken("typ", omit)},
		{name: "valid Okta scp array joined", token: kcToken("scope", omit, "scp", []string{"openid", "patient/Observation.rs", "user/*.read"}),
			check: wantScopes([]string{"openid", "patient/Observation.rs", "user/*.read"}, 0, true)},
		{name: "valid scp as a space-separated string", token: kcToken("scope", omit, "scp", "openid patient/Observation.rs"),
			check: wantScopes([]string{"openid", "patient/Observation.rs"}, 0, true)},
		{name: "valid duplicate scopes kept once", token: kcToken("scope", "patient/*.read patient/*.read openid"),
			check: wantScopes([]string{"patient/*.read", "openid"}, 0, true)},
		{name: "valid v2.2 granular scope kept verbatim", token: kcToken("scope", "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"),
			check: wantScopes([]string{"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}, 0, true)},
		{name: "valid token without scope has no resource scope", token: kcToken("scope", omit), check: wantScopes(nil, 0, false)},
		{name: "valid ExtraScopes derive scopes from verified claims", token: kcToken("scope", "openid"),
			config: func(c *smartauth.Config) {
				c.Issuers[0].ExtraScopes = func(cl *smartauth.Claims) []string {
					var out []string
					for _, r := range cl.RealmRoles {
						if r == "fhir-user" {
							out = append(out, "user/Patient.rs", "not a scope")
						}
					}
					return out
				}
			},
			check: wantScopes([]string{"openid", "user/Patient.rs"}, 1, true)},
		{name: "valid custom Check hook sees verified claims", token: kcToken(), config: func(c *smartauth.Config) {
			c.Issuers[0].Check = func(cl *smartauth.Claims) error {
				if cl.AuthorizedParty != "svc" {
					return errors.New("azp not svc")
				}
				return nil
			}
		}},
		{name: "custom Check hook rejects", token: kcToken("azp", "rogue-client"), wantErr: smartauth.ErrCustomCheck,
			config: func(c *smartauth.Config) {
				c.Issuers[0].Check = func(cl *smartauth.Claims) error {
					if cl.AuthorizedParty != "svc" {
						return errors.New("client not onboarded")
					}
					return nil
				}
			}},
		{name: "valid issuer B token verifies with issuer B's key", token: func(tb testing.TB) string {
			return testjwt.SignJWX(tb, "RS256", rsaKeyB(), map[string]any{"kid": "b-only"}, []byte(mustJSON(tb, keycloakClaims("iss", otherIssuer))))
		}, check: func(t *testing.T, env testEnv, tok *smartauth.Token) {
			assert.Equal(t, otherIssuer, tok.Issuer)
			assert.Zero(t, env.A.calls.Load(), "issuer A's key set consulted for issuer B")
		}},

		// #1 alg none
		{name: "#1 alg none with empty signature", wantErr: smartauth.ErrMalformed, token: func(tb testing.TB) string {
			return b64(`{"alg":"none","kid":"rs256"}`) + "." + b64(kcJSON(tb)) + "."
		}},
		{name: "#1 alg none with a signature", wantErr: smartauth.ErrAlgorithm, token: headerToken(`{"alg":"none","kid":"rs256"}`)},
		{name: "#1 alg none from an unconfigured issuer fails at the header", wantErr: smartauth.ErrAlgorithm,
			token: headerToken(`{"alg":"none","kid":"rs256"}`, "iss", "https://evil.example.com")},
		{name: "#1 alg None spelled differently", wantErr: smartauth.ErrAlgorithm, token: headerToken(`{"alg":"None","kid":"rs256"}`)},
		{name: "#1 alg missing", wantErr: smartauth.ErrAlgorithm, token: headerToken(`{"kid":"rs256","typ":"JWT"}`)},
		{name: "#1 alg empty", wantErr: smartauth.ErrAlgorithm, token: headerToken(`{"alg":"","kid":"rs256"}`)},

		// #2 key confusion
		{name: "#2 HS256 keyed with the RSA public key (PEM)", wantErr: smartauth.ErrAlgorithm, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "HS256", rsaPEM(tb), `{"alg":"HS256","kid":"rs256","typ":"JWT"}`, kcJSON(tb))
		}},
		{name: "#2 HS256 keyed with the RSA public key (DER)", wantErr: smartauth.ErrAlgorithm, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "HS256", rsaDER(tb), `{"alg":"HS256","kid":"rs256"}`, kcJSON(tb))
		}},
		{name: "#2 HS512 keyed with the RSA public key", wantErr: smartauth.ErrAlgorithm, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "HS512", rsaPEM(tb), `{"alg":"HS512","kid":"rs256"}`, kcJSON(tb))
		}},
		{name: "#2 RS256 header under a key pinned to HS256", wantErr: smartauth.ErrKeyMismatch, token: headerToken(`{"alg":"RS256","kid":"hs256"}`)},
		{name: "#2 ES256 header, RSA key (kty does not fit alg)", wantErr: smartauth.ErrKeyMismatch, token: esToken("ES256", "es256-rsa")},
		{name: "#2 RS256 header, EC key (kty does not fit alg)", wantErr: smartauth.ErrKeyMismatch, token: headerToken(`{"alg":"RS256","kid":"rs256-ec"}`)},
		{name: "#2 RS256 header, Ed25519 key (kty does not fit alg)", wantErr: smartauth.ErrKeyMismatch, token: headerToken(`{"alg":"RS256","kid":"rs256-ed"}`)},
		{name: "#2 EdDSA header, RSA key (kty does not fit alg)", wantErr: smartauth.ErrKeyMismatch, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "EdDSA", edKey(), `{"alg":"EdDSA","kid":"eddsa-rsa"}`, kcJSON(tb))
		}},

		// #3 embedded jwk
		{name: "#3 embedded jwk header (self-signed with the attacker key)", wantErr: smartauth.ErrHeaderParameter, token: func(tb testing.TB) string {
			h := mustJSON(tb, map[string]any{"alg": "RS256", "kid": "rs256", "jwk": jwkMembers(tb, &rsaKeyB().PublicKey, "rs256", "RS256", "sig")})
			return testjwt.SignRaw(tb, "RS256", rsaKeyB(), h, kcJSON(tb))
		}},
		{name: "#3 embedded jwk header via jwx", wantErr: smartauth.ErrHeaderParameter, token: func(tb testing.TB) string {
			k, err := jwk.Import(&rsaKeyB().PublicKey)
			require.NoError(tb, err)
			return testjwt.SignJWX(tb, "RS256", rsaKeyB(), map[string]any{"kid": "rs256", "jwk": k}, []byte(kcJSON(tb)))
		}},

		// #4 jku / x5u
		{name: "#4 jku to an attacker URL is refused and never fetched", wantErr: smartauth.ErrHeaderParameter,
			token: func(tb testing.TB) string {
				u := countingServer(tb, &jkuHits)
				return testjwt.SignRaw(tb, "RS256", rsaKeyB(), `{"alg":"RS256","kid":"evil","jku":"`+u+`"}`, kcJSON(tb))
			},
			check: func(t *testing.T, _ testEnv, _ *smartauth.Token) { assert.Zero(t, jkuHits.Load(), "jku fetched") }},
		{name: "#4 x5u to an attacker URL is refused and never fetched", wantErr: smartauth.ErrHeaderParameter,
			token: func(tb testing.TB) string {
				u := countingServer(tb, &x5uHits)
				return testjwt.SignRaw(tb, "RS256", rsaKeyB(), `{"alg":"RS256","kid":"evil","x5u":"`+u+`"}`, kcJSON(tb))
			},
			check: func(t *testing.T, _ testEnv, _ *smartauth.Token) { assert.Zero(t, x5uHits.Load(), "x5u fetched") }},
		{name: "#4 jku spelled with a JSON escape", wantErr: smartauth.ErrHeaderParameter,
			token: headerToken(`{"alg":"RS256","kid":"rs256","\u006aku":"https://evil.example.com/jwks.json"}`)},

		// #5 x5c / x5t
		{name: "#5 x5c chain", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","x5c":["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}`)},
		{name: "#5 x5t thumbprint", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","x5t":"dGh1bWJwcmludA"}`)},
		{name: "#5 x5t#S256 thumbprint", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","x5t#S256":"dGh1bWJwcmludA"}`)},

		// #6 kid injection
		{name: "#6 kid path traversal is an opaque key-set miss", wantErr: smartauth.ErrKidNotFound,
			token: headerToken(`{"alg":"RS256","kid":"../../../../etc/passwd"}`), check: wantKids("../../../../etc/passwd")},
		{name: "#6 kid SQL injection is an opaque key-set miss", wantErr: smartauth.ErrKidNotFound,
			token: headerToken(`{"alg":"RS256","kid":"x' OR '1'='1' --"}`), check: wantKids("x' OR '1'='1' --")},
		{name: "#6 kid with RTL override is not normalised", wantErr: smartauth.ErrKidNotFound,
			token: headerToken(`{"alg":"RS256","kid":"rs256\u202e"}`), check: wantKids("rs256\u202e")},
		{name: "#6 kid with NUL is not truncated", wantErr: smartauth.ErrKidNotFound,
			token: headerToken(`{"alg":"RS256","kid":"rs256\u0000x"}`), check: wantKids("rs256\x00x")},
		{name: "#6 kid differing in case is a miss", wantErr: smartauth.ErrKidNotFound,
			token: headerToken(`{"alg":"RS256","kid":"RS256"}`), check: wantKids("RS256")},
		{name: "#6 kid of 256 bytes reaches the key set", wantErr: smartauth.ErrKidNotFound,
			token: headerToken(`{"alg":"RS256","kid":"` + longKid + `"}`), check: wantKids(longKid)},
		{name: "#6 kid of 257 bytes", wantErr: smartauth.ErrKidMissing, token: headerToken(`{"alg":"RS256","kid":"` + longKid + `k"}`)},
		{name: "#6 kid as a number", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"RS256","kid":256}`)},
		{name: "#6 kid as an object", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"RS256","kid":{"$ne":""}}`)},
		{name: "#6 kid null", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"RS256","kid":null}`)},

		// #7 missing kid
		{name: "#7 missing kid", wantErr: smartauth.ErrKidMissing, token: headerToken(`{"alg":"RS256","typ":"JWT"}`)},
		{name: "#7 empty kid", wantErr: smartauth.ErrKidMissing, token: headerToken(`{"alg":"RS256","kid":""}`)},

		// #8 unknown-kid flood: only tokens that pass steps 1-5 reach Key.
		{name: "#8 unknown kid of a configured issuer costs one key-set call", wantErr: smartauth.ErrKidNotFound,
			token: headerToken(`{"alg":"RS256","kid":"flood-0001"}`), check: wantKids("flood-0001")},
		{name: "#8 unknown kid with an unknown issuer never reaches a key set", wantErr: smartauth.ErrUnknownIssuer,
			token: headerToken(`{"alg":"RS256","kid":"flood-0002"}`, "iss", "https://evil.example.com/realms/fhir")},
		{name: "#8 unknown kid with a malformed payload never reaches a key set", wantErr: smartauth.ErrPayload,
			token: func(tb testing.TB) string { return rawRS256(tb, `{"alg":"RS256","kid":"flood-0003"}`, `not json`) }},
		{name: "#8 unknown kid with an alg the issuer does not allow never reaches a key set", wantErr: smartauth.ErrAlgorithm,
			token: func(tb testing.TB) string {
				return testjwt.SignRaw(tb, "PS256", rsaKey(), `{"alg":"PS256","kid":"flood-0004"}`, kcJSON(tb, "iss", otherIssuer))
			}},
		{name: "#8 unknown kid with a forbidden header never reaches a key set", wantErr: smartauth.ErrHeaderParameter,
			token: headerToken(`{"alg":"RS256","kid":"flood-0005","cty":"JWT"}`)},
		{name: "#8 unknown kid without exp never reaches a key set", wantErr: smartauth.ErrExpMissing,
			token: headerToken(`{"alg":"RS256","kid":"flood-0006"}`, "exp", omit)},

		// #9 unconfigured issuer
		{name: "#9 unconfigured issuer", wantErr: smartauth.ErrUnknownIssuer, token: kcToken("iss", "https://evil.example.com/realms/fhir")},
		{name: "#9 unconfigured issuer serving a JWKS is never fetched", wantErr: smartauth.ErrUnknownIssuer,
			token: func(tb testing.TB) string {
				u := countingServer(tb, &issHits)
				return testjwt.SignJWX(tb, "RS256", rsaKeyB(), map[string]any{"kid": "evil"}, []byte(kcJSON(tb, "iss", u)))
			},
			check: func(t *testing.T, _ testEnv, _ *smartauth.Token) {
				assert.Zero(t, issHits.Load(), "issuer URL fetched")
			}},
		{name: "#9 issuer with an extra trailing slash", wantErr: smartauth.ErrUnknownIssuer, token: kcToken("iss", testIssuer+"/")},
		{name: "#9 issuer differing in case", wantErr: smartauth.ErrUnknownIssuer, token: kcToken("iss", strings.ToUpper(testIssuer))},
		{name: "#9 issuer empty", wantErr: smartauth.ErrUnknownIssuer, token: kcToken("iss", "")},
		{name: "#9 issuer missing", wantErr: smartauth.ErrIssuer, token: kcToken("iss", omit)},
		{name: "#9 Cognito issuer format not configured", wantErr: smartauth.ErrUnknownIssuer, token: cognitoToken("iss", cognitoIssuerNew),
			config: func(c *smartauth.Config) {
				c.Issuers = []smartauth.IssuerConfig{cognitoIssuerConfig(cognitoIssuer, c.Issuers[0].KeySet)}
				c.Endpoints = []string{testEndpoint}
			}},

		// #10 right signature, wrong issuer
		{name: "#10 issuer A's key never verifies issuer B's token (same kid)", wantErr: smartauth.ErrSignature,
			token: kidToken("shared", "iss", otherIssuer),
			check: func(t *testing.T, env testEnv, _ *smartauth.Token) {
				assert.Zero(t, env.A.calls.Load(), "issuer A's key set consulted for an issuer B token")
				assert.Equal(t, []string{"shared"}, env.B.askedFor())
			}},
		{name: "#10 issuer A's kid is unknown to issuer B", wantErr: smartauth.ErrKidNotFound, token: kidToken("a-only", "iss", otherIssuer)},
		{name: "#10 issuer B's key never verifies issuer A's token", wantErr: smartauth.ErrSignature, token: func(tb testing.TB) string {
			return testjwt.SignJWX(tb, "RS256", rsaKeyB(), map[string]any{"kid": "shared"}, []byte(kcJSON(tb)))
		}},

		// #11 audience
		{name: "#11 aud names another data store", wantErr: smartauth.ErrAudience, token: kcToken("aud", otherEndpoint)},
		{name: "#11 aud missing", wantErr: smartauth.ErrAudience, token: kcToken("aud", omit)},
		{name: "#11 aud empty array", wantErr: smartauth.ErrAudience, token: kcToken("aud", []string{})},
		{name: "#11 aud array without this data store", wantErr: smartauth.ErrAudience, token: kcToken("aud", []string{"account", otherEndpoint})},
		{name: "#11 aud is a prefix of the endpoint", wantErr: smartauth.ErrAudience, token: kcToken("aud", "https://healthlake.us-east-1.amazonaws.com/datastore/")},
		{name: "#11 aud extends the endpoint", wantErr: smartauth.ErrAudience, token: kcToken("aud", testEndpoint+"Patient")},
		{name: "#11 aud with two trailing slashes", wantErr: smartauth.ErrAudience, token: kcToken("aud", testEndpoint+"/")},
		{name: "#11 aud differing in case", wantErr: smartauth.ErrAudience, token: kcToken("aud", strings.ToUpper(testEndpoint))},
		{name: "#11 event without endpoint", wantErr: smartauth.ErrAudience, token: kcToken(), noEndpoint: true},
		{name: "#11 token for another data store presented to this one", wantErr: smartauth.ErrAudience, token: kcToken(), endpoint: otherEndpoint},
		{name: "#11 ExactAudience with another aud", wantErr: smartauth.ErrAudience, token: kcToken(),
			config: audienceA(smartauth.ExactAudience("https://api.example.com/fhir"))},
		{name: "#11 Cognito client_id not on the allow-list", wantErr: smartauth.ErrClientID, token: cognitoToken("client_id", "other-client"), config: useCognito},
		{name: "#11 Cognito client_id missing", wantErr: smartauth.ErrClientID, token: cognitoToken("client_id", omit), config: useCognito},
		{name: "#12 Cognito ID token (aud = client id, no client_id): token kind is checked before audience", wantErr: smartauth.ErrTokenUse, config: useCognito,
			token: cognitoToken("client_id", omit, "aud", testClientID, "token_use", "id")},

		// #12 ID token as access token
		{name: "#12 Cognito ID token with client_id (token_use id)", wantErr: smartauth.ErrTokenUse, token: cognitoToken("token_use", "id"), config: useCognito},
		{name: "#12 Cognito token without token_use", wantErr: smartauth.ErrTokenUse, token: cognitoToken("token_use", omit), config: useCognito},
		{name: "#12 Cognito token_use Access (case)", wantErr: smartauth.ErrTokenUse, token: cognitoToken("token_use", "Access"), config: useCognito},
		{name: "#12 Keycloak ID token (RequirePayloadType)", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", "ID"),
			config: tokenKindA(smartauth.RequirePayloadType("Bearer"))},
		{name: "#12 Keycloak token without payload typ (RequirePayloadType)", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", omit),
			config: tokenKindA(smartauth.RequirePayloadType("Bearer"))},
		{name: "#12 default rule rejects token_use id", wantErr: smartauth.ErrTokenUse, token: kcToken("token_use", "id")},
		{name: "#12 default rule rejects payload typ ID", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", "ID")},

		// #13 refresh / offline
		{name: "#13 Keycloak Refresh token", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", "Refresh"),
			config: tokenKindA(smartauth.RequirePayloadType("Bearer"))},
		{name: "#13 Keycloak Offline token", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", "Offline"),
			config: tokenKindA(smartauth.RequirePayloadType("Bearer"))},
		{name: "#13 default rule rejects Refresh", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", "Refresh")},
		{name: "#13 default rule rejects Offline", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", "Offline")},
		{name: "#13 payload typ bearer in lower case", wantErr: smartauth.ErrTokenUse, token: kcToken("typ", "bearer"),
			config: tokenKindA(smartauth.RequirePayloadType("Bearer"))},

		// #14 header typ
		{name: "#14 header typ JOSE+JSON", wantErr: smartauth.ErrType, token: headerToken(`{"alg":"RS256","kid":"rs256","typ":"JOSE+JSON"}`)},
		{name: "#14 header typ dpop+jwt", wantErr: smartauth.ErrType, token: headerToken(`{"alg":"RS256","kid":"rs256","typ":"dpop+jwt"}`)},
		{name: "#14 header typ JOSE", wantErr: smartauth.ErrType, token: headerToken(`{"alg":"RS256","kid":"rs256","typ":"JOSE"}`)},
		{name: "#14 header typ secevent+jwt", wantErr: smartauth.ErrType, token: headerToken(`{"alg":"RS256","kid":"rs256","typ":"secevent+jwt"}`)},
		{name: "#14 header typ empty", wantErr: smartauth.ErrType, token: headerToken(`{"alg":"RS256","kid":"rs256","typ":""}`)},
		{name: "#14 header typ as a number", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"RS256","kid":"rs256","typ":1}`)},
		{name: "valid header typ absent", token: headerToken(`{"alg":"RS256","kid":"rs256"}`)},
		{name: "valid header typ at+jwt", token: headerToken(`{"alg":"RS256","kid":"rs256","typ":"at+jwt"}`)},
		{name: "valid header typ application/at+jwt", token: headerToken(`{"alg":"RS256","kid":"rs256","typ":"application/at+jwt"}`)},
		{name: "valid header typ jwt (media types are case-insensitive)", token: headerToken(`{"alg":"RS256","kid":"rs256","typ":"jwt"}`)},

		// #15 expiry, boundaries around now + skew
		{name: "#15 expired: now = exp + skew", wantErr: smartauth.ErrExpired, token: kcToken("exp", at(-skew), "iat", at(-time.Hour))},
		{name: "#15 expired: now = exp + skew + 1s", wantErr: smartauth.ErrExpired, token: kcToken("exp", at(-skew-time.Second), "iat", at(-time.Hour))},
		{name: "#15 valid: now = exp + skew - 1s", token: kcToken("exp", at(-skew+time.Second), "iat", at(-time.Hour))},
		{name: "#15 valid: exp = now", token: kcToken("exp", at(0), "iat", at(-time.Hour))},
		{name: "#15 expired a day ago", wantErr: smartauth.ErrExpired, token: kcToken("exp", at(-24*time.Hour), "iat", at(-25*time.Hour))},
		{name: "#15 expired with a custom skew of 2 min", wantErr: smartauth.ErrExpired, token: kcToken("exp", at(-2*time.Minute), "iat", at(-time.Hour)),
			config: func(c *smartauth.Config) { c.ClockSkew = 2 * time.Minute }},
		{name: "#15 valid just inside a custom skew of 2 min", token: kcToken("exp", at(-2*time.Minute+time.Second), "iat", at(-time.Hour)),
			config: func(c *smartauth.Config) { c.ClockSkew = 2 * time.Minute }},

		// #16 exp missing
		{name: "#16 exp missing", wantErr: smartauth.ErrExpMissing, token: kcToken("exp", omit)},

		// #17 nbf
		{name: "#17 nbf = now + skew + 1s", wantErr: smartauth.ErrNotYetValid, token: kcToken("nbf", at(skew+time.Second))},
		{name: "#17 nbf an hour ahead", wantErr: smartauth.ErrNotYetValid, token: kcToken("nbf", at(time.Hour), "exp", at(2*time.Hour))},
		{name: "#17 valid nbf = now + skew", token: kcToken("nbf", at(skew))},
		{name: "#17 valid nbf in the past", token: kcToken("nbf", at(-time.Minute))},

		// #18 iat
		{name: "#18 iat = now + skew + 1s", wantErr: smartauth.ErrIssuedInFuture, token: kcToken("iat", at(skew+time.Second))},
		{name: "#18 valid iat = now + skew", token: kcToken("iat", at(skew))},
		{name: "#18 iat missing", wantErr: smartauth.ErrIatMissing, token: kcToken("iat", omit)},

		// #19 NumericDate abuse: wrong type or out of range, never "absent"
		{name: "#19 exp as a string", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", fmt.Sprintf(`"%d"`, at(time.Hour)))},
		{name: "#19 exp as a float", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", fmt.Sprintf(`%d.5`, at(time.Hour)))},
		{name: "#19 exp as a float with zero fraction", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", fmt.Sprintf(`%d.0`, at(time.Hour)))},
		{name: "#19 exp with an exponent", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `1.7000036e9`)},
		{name: "#19 exp negative", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `-1`)},
		{name: "#19 exp negative zero", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `-0`)},
		{name: "#19 exp int64 max", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `9223372036854775807`)},
		{name: "#19 exp beyond int64", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `92233720368547758070`)},
		{name: "#19 exp just past 9999-12-31", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `253402300800`)},
		{name: "#19 valid exp 9999-12-31T23:59:59Z", token: claimRaw("exp", `253402300799`)},
		{name: "#19 exp null", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `null`)},
		{name: "#19 exp true", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `true`)},
		{name: "#19 exp object", wantErr: smartauth.ErrClaimType, token: claimRaw("exp", `{"$date":1}`)},
		{name: "#19 exp 0 is expired, not absent", wantErr: smartauth.ErrExpired, token: kcToken("exp", 0, "iat", 0)},
		{name: "#19 iat null", wantErr: smartauth.ErrClaimType, token: claimRaw("iat", `null`)},
		{name: "#19 iat as a string", wantErr: smartauth.ErrClaimType, token: claimRaw("iat", `"1700000000"`)},
		{name: "#19 nbf null", wantErr: smartauth.ErrClaimType, token: claimRaw("nbf", `null`)},
		{name: "#19 nbf negative", wantErr: smartauth.ErrClaimType, token: claimRaw("nbf", `-100`)},
		{name: "#19 nbf as a float", wantErr: smartauth.ErrClaimType, token: claimRaw("nbf", `1699999999.9`)},

		// #20 claim type confusion
		{name: "#20 iss as an array", wantErr: smartauth.ErrClaimType, token: kcToken("iss", []string{testIssuer})},
		{name: "#20 iss as a number", wantErr: smartauth.ErrClaimType, token: claimRaw("iss", `1`)},
		{name: "#20 iss null", wantErr: smartauth.ErrClaimType, token: claimRaw("iss", `null`)},
		{name: "#20 aud as a number", wantErr: smartauth.ErrClaimType, token: kcToken("aud", 42)},
		{name: "#20 aud array with a number", wantErr: smartauth.ErrClaimType, token: claimRaw("aud", `["`+testEndpoint+`",1]`)},
		{name: "#20 aud as an object", wantErr: smartauth.ErrClaimType, token: claimRaw("aud", `{"aud":"`+testEndpoint+`"}`)},
		{name: "#20 aud null", wantErr: smartauth.ErrClaimType, token: claimRaw("aud", `null`)},
		{name: "#20 scope as an array", wantErr: smartauth.ErrClaimType, token: kcToken("scope", []string{"patient/*.read"})},
		{name: "#20 scope as a number", wantErr: smartauth.ErrClaimType, token: claimRaw("scope", `1`)},
		{name: "#20 scope null", wantErr: smartauth.ErrClaimType, token: claimRaw("scope", `null`)},
		{name: "#20 scp array element with a space", wantErr: smartauth.ErrClaimType, token: kcToken("scope", omit, "scp", []string{"openid patient/*.read"})},
		{name: "#20 scp array element empty", wantErr: smartauth.ErrClaimType, token: kcToken("scope", omit, "scp", []string{"", "patient/*.read"})},
		{name: "#20 token_use as a number", wantErr: smartauth.ErrClaimType, token: cognitoToken("token_use", 1), config: useCognito},
		{name: "#20 token_use as an array", wantErr: smartauth.ErrClaimType, token: cognitoToken("token_use", []string{"access"}), config: useCognito},
		{name: "#20 payload typ as a boolean", wantErr: smartauth.ErrClaimType, token: kcToken("typ", true)},
		{name: "#20 client_id as an array", wantErr: smartauth.ErrClaimType, token: cognitoToken("client_id", []string{testClientID}), config: useCognito},
		{name: "#20 sub as a number", wantErr: smartauth.ErrClaimType, token: kcToken("sub", 7)},
		{name: "#20 fhirUser as an object", wantErr: smartauth.ErrClaimType, token: kcToken("fhirUser", map[string]any{"reference": "Practitioner/1"})},
		{name: "#20 patient as a number", wantErr: smartauth.ErrClaimType, token: kcToken("patient", 456)},
		{name: "#20 cognito:groups as a string", wantErr: smartauth.ErrClaimType, token: cognitoToken("cognito:groups", "admins"), config: useCognito},
		{name: "#20 realm_access as a string", wantErr: smartauth.ErrClaimType, token: kcToken("realm_access", "admin")},
		// null is not a string: an array element that is null used to
		// decode as "" and pass.
		{name: "#20 aud array with null", wantErr: smartauth.ErrClaimType, token: claimRaw("aud", `["`+testEndpoint+`",null]`)},
		{name: "#20 aud array of null", wantErr: smartauth.ErrClaimType, token: claimRaw("aud", `[null]`)},
		{name: "#20 scp array with null", wantErr: smartauth.ErrClaimType, token: kcToken("scope", omit, "scp", []any{"patient/*.read", nil})},
		{name: "#20 cognito:groups with null", wantErr: smartauth.ErrClaimType, token: cognitoToken("cognito:groups", []any{"clinicians", nil}), config: useCognito},
		{name: "#20 realm_access roles with null", wantErr: smartauth.ErrClaimType, token: claimRaw("realm_access", `{"roles":["fhir-user",null]}`)},
		{name: "#20 resource_access roles with null", wantErr: smartauth.ErrClaimType, token: claimRaw("resource_access", `{"svc":{"roles":[null,"reader"]}}`)},
		{name: "#20 resource_access client as an array", wantErr: smartauth.ErrClaimType, token: claimRaw("resource_access", `{"svc":["reader"]}`)},

		// #21 scope smuggling: split on single spaces, exact parse, no substring matching
		{name: "#21 xpatient/*.read dropped", token: kcToken("scope", "xpatient/*.read openid"), check: wantScopes([]string{"openid"}, 1, false)},
		{name: "#21 comma-separated list dropped", token: kcToken("scope", "patient/*.read,user/*.read"), check: wantScopes(nil, 1, false)},
		{name: "#21 Patient/ context in upper case dropped", token: kcToken("scope", "Patient/*.read PATIENT/*.read"), check: wantScopes(nil, 2, false)},
		{name: "#21 permission in upper case dropped", token: kcToken("scope", "patient/*.READ patient/Observation.RS"), check: wantScopes(nil, 2, false)},
		{name: "#21 resource type in lower case dropped", token: kcToken("scope", "patient/observation.rs"), check: wantScopes(nil, 1, false)},
		{name: "#21 tab-separated scopes are one invalid token", token: kcToken("scope", "patient/*.read\tuser/*.read"), check: wantScopes(nil, 1, false)},
		{name: "#21 newline-separated scopes are one invalid token", token: kcToken("scope", "openid\npatient/*.read"), check: wantScopes(nil, 1, false)},
		{name: "#21 concatenated scopes dropped", token: kcToken("scope", "openidpatient/*.read patient/*.readuser/*.write"), check: wantScopes(nil, 2, false)},
		{name: "#21 suffix trick launch/patient/*.read dropped", token: kcToken("scope", "launch/patient/*.read"), check: wantScopes(nil, 1, false)},
		{name: "#21 out-of-order v2 permissions dropped", token: kcToken("scope", "patient/Observation.sr patient/Observation.rr"), check: wantScopes(nil, 2, false)},
		{name: "#21 wildcard with a granular query dropped", token: kcToken("scope", "patient/*.rs?category=laboratory"), check: wantScopes(nil, 1, false)},
		{name: "#21 double and edge spaces leave empty tokens dropped", token: kcToken("scope", " patient/*.read  openid "),
			check: wantScopes([]string{"patient/*.read", "openid"}, 2, true)},
		{name: "#21 extension scope carrying a SMART scope grants nothing", token: kcToken("scope", "__patient/*.read"), check: wantScopes([]string{"__patient/*.read"}, 0, false)},
		{name: "#21 Cognito prefix stripped exactly", token: cognitoToken("scope", testScopePrefix+"/patient/*.read "+testScopePrefix+"/launch/patient"), config: useCognito,
			check: wantScopes([]string{"patient/*.read", "launch/patient"}, 0, true)},
		{name: "#21 Cognito look-alike prefix .evil dropped", token: cognitoToken("scope", testScopePrefix+".evil/patient/*.read openid"), config: useCognito,
			check: wantScopes([]string{"openid"}, 1, false)},
		{name: "#21 Cognito prefix without separator dropped", token: cognitoToken("scope", testScopePrefix+"patient/*.read"), config: useCognito,
			check: wantScopes(nil, 1, false)},
		{name: "#21 Cognito prefix with a double slash dropped", token: cognitoToken("scope", testScopePrefix+"//patient/*.read"), config: useCognito,
			check: wantScopes(nil, 1, false)},
		{name: "#21 Cognito prefix in another case dropped", token: cognitoToken("scope", "HTTPS://FHIR.EXAMPLE.COM/patient/*.read"), config: useCognito,
			check: wantScopes(nil, 1, false)},
		{name: "#21 Cognito prefix stripped once only", token: cognitoToken("scope", testScopePrefix+"/"+testScopePrefix+"/patient/*.read"), config: useCognito,
			check: wantScopes(nil, 1, false)},
		{name: "#21 Cognito admin and email scopes dropped", token: cognitoToken("scope", "aws.cognito.signin.user.admin email phone "+testScopePrefix+"/system/*.read"), config: useCognito,
			check: wantScopes([]string{"system/*.read"}, 3, true)},

		// #22 crit
		{name: "#22 crit with an unknown extension", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","crit":["exp"],"exp":1}`)},
		{name: "#22 crit with b64 false", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","b64":false,"crit":["b64"]}`)},
		{name: "#22 b64 without crit", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","b64":true}`)},
		{name: "#22 empty crit", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","crit":[]}`)},
		{name: "#22 crit spelled with a JSON escape", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","\u0063rit":["x"]}`)},

		// #23 nested JWT / JWE
		{name: "#23 nested JWT (cty JWT)", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","cty":"JWT"}`)},
		{name: "#23 JWE compact (5 parts)", wantErr: smartauth.ErrMalformed,
			token: literal(b64(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rs256"}`) + ".OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ")},
		{name: "#23 encrypted header (enc) on a three-part token", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","enc":"A256GCM"}`)},
		{name: "#23 compressed payload (zip)", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","zip":"DEF"}`)},
		{name: "#23 four parts", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return s + ".e30" })},
		{name: "#23 two parts", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return s[:strings.LastIndexByte(s, '.')] })},
		{name: "#23 trailing dot", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return s + "." })},

		// #24 serialization, whitespace, Bearer handling
		{name: "#24 JWS JSON general serialization", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string {
			p := strings.Split(s, ".")
			return fmt.Sprintf(`{"payload":"%s","signatures":[{"protected":"%s","signature":"%s"},{"protected":"%s","signature":"%s"}]}`, p[1], p[0], p[2], p[0], p[2])
		})},
		{name: "#24 JWS JSON flattened serialization", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string {
			p := strings.Split(s, ".")
			return fmt.Sprintf(`{"payload":"%s","protected":"%s","signature":"%s"}`, p[1], p[0], p[2])
		})},
		{name: "#24 leading space", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return " " + s })},
		{name: "#24 trailing newline", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return s + "\n" })},
		{name: "#24 trailing CRLF", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return s + "\r\n" })},
		{name: "#24 Bearer with two spaces", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return "Bearer  " + s })},
		{name: "#24 Bearer with a tab", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return "Bearer\t" + s })},
		{name: "#24 Bearer twice", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return "Bearer Bearer " + s })},
		{name: "#24 other scheme", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return "DPoP " + s })},
		{name: "valid Bearer prefix stripped", token: transform(kcToken(), func(s string) string { return "Bearer " + s })},
		{name: "valid bearer prefix (lower case) stripped", token: transform(kcToken(), func(s string) string { return "bearer " + s })},
		{name: "valid BEARER prefix (upper case) stripped", token: transform(kcToken(), func(s string) string { return "BEARER " + s })},

		// #25 size
		{name: "#25 empty token", wantErr: smartauth.ErrTokenMissing, token: literal("")},
		{name: "#25 Bearer prefix only", wantErr: smartauth.ErrTokenMissing, token: literal("Bearer ")},
		{name: "#25 token over 8 KiB", wantErr: smartauth.ErrTokenTooLarge, token: kcToken("pad", strings.Repeat("x", 8<<10))},
		{name: "#25 8 KiB + 1 of dots", wantErr: smartauth.ErrTokenTooLarge, token: literal(strings.Repeat(".", smartauth.DefaultMaxTokenSize+1))},
		{name: "#25 many dots", wantErr: smartauth.ErrMalformed, token: literal(strings.Repeat("a.", 2000))},
		{name: "#25 only dots", wantErr: smartauth.ErrMalformed, token: literal("..")},
		{name: "#25 header decoding to 1025 bytes", wantErr: smartauth.ErrHeader, token: func(tb testing.TB) string {
			h := `{"alg":"RS256","kid":"rs256"` + strings.Repeat(" ", 1025-29) + `}`
			require.Len(tb, h, 1025)
			return rawRS256(tb, h, kcJSON(tb))
		}},
		{name: "valid header decoding to exactly 1024 bytes", token: func(tb testing.TB) string {
			h := `{"alg":"RS256","kid":"rs256"` + strings.Repeat(" ", 1024-29) + `}`
			require.Len(tb, h, 1024)
			return rawRS256(tb, h, kcJSON(tb))
		}},
		{name: "#25 token over a configured cap of 2 KiB", wantErr: smartauth.ErrTokenTooLarge, token: kcToken("pad", strings.Repeat("x", 1200)),
			config: func(c *smartauth.Config) { c.MaxTokenSize = 2048 }},
		{name: "valid token under a configured cap", token: kcToken(), config: func(c *smartauth.Config) { c.MaxTokenSize = 2048 }},

		// #26 non-canonical base64url
		{name: "#26 padded signature", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string { return s + "==" })},
		{name: "#26 padded header", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string {
			p := strings.SplitN(s, ".", 2)
			return p[0] + "=." + p[1]
		})},
		{name: "#26 standard alphabet (+ and /)", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string {
			return strings.NewReplacer("-", "+", "_", "/").Replace(s) + "+/"
		})},
		{name: "#26 whitespace inside the payload", wantErr: smartauth.ErrMalformed, token: transform(kcToken(), func(s string) string {
			i := strings.IndexByte(s, '.') + 10
			return s[:i] + " " + s[i:]
		})},
		{name: "#26 stray trailing bits in the signature", wantErr: smartauth.ErrMalformed, token: func(tb testing.TB) string {
			tok := mint(tb, keycloakClaims())
			i := strings.LastIndexByte(tok, '.')
			sig, ok := nonCanonical(tok[i+1:])
			require.True(tb, ok, "RS256-2048 signatures have spare bits")
			lenient, err := base64.RawURLEncoding.DecodeString(sig)
			require.NoError(tb, err)
			strict, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
			require.Equal(tb, strict, lenient, "same signature bytes, second encoding")
			return tok[:i+1] + sig
		}},
		{name: "#26 stray trailing bits in the header (re-signed)", wantErr: smartauth.ErrMalformed, token: func(tb testing.TB) string {
			for pad := 0; ; pad++ {
				h, ok := nonCanonical(b64(`{"alg":"RS256","kid":"rs256"` + strings.Repeat(" ", pad) + `}`))
				if ok {
					return signSegments(tb, "rs256", h, b64(kcJSON(tb)))
				}
			}
		}},
		{name: "#26 stray trailing bits in the payload (re-signed)", wantErr: smartauth.ErrMalformed, token: func(tb testing.TB) string {
			js := kcJSON(tb)
			for pad := 0; ; pad++ {
				p, ok := nonCanonical(b64(js[:len(js)-1] + strings.Repeat(" ", pad) + "}"))
				if ok {
					return signSegments(tb, "rs256", b64(rsHeader), p)
				}
			}
		}},

		// #27 duplicate members, UTF-8, BOM, non-objects
		{name: "#27 header alg twice (RS256 then none)", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"RS256","kid":"rs256","alg":"none"}`)},
		{name: "#27 header alg twice (PS256 then RS256)", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"PS256","kid":"rs256","alg":"RS256"}`)},
		{name: "#27 header kid twice", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"RS256","kid":"rs256","kid":"es256"}`)},
		{name: "#27 header duplicate via JSON escape", wantErr: smartauth.ErrHeader, token: headerToken(`{"alg":"RS256","kid":"rs256","\u0061lg":"RS256"}`)},
		{name: "#27 header member in another case", wantErr: smartauth.ErrHeaderParameter, token: headerToken(`{"alg":"RS256","kid":"rs256","ALG":"none"}`)},
		{name: "#27 payload iss twice (foreign last)", wantErr: smartauth.ErrPayload, token: appendMember(`"iss":"https://evil.example.com"`)},
		{name: "#27 payload iss twice (foreign first)", wantErr: smartauth.ErrPayload, token: prependMember(`"iss":"https://evil.example.com"`)},
		{name: "#27 payload exp twice", wantErr: smartauth.ErrPayload, token: appendMember(fmt.Sprintf(`"exp":%d`, at(1000*time.Hour)))},
		{name: "#27 payload duplicate via JSON escape", wantErr: smartauth.ErrPayload, token: appendMember(fmt.Sprintf(`"\u0065xp":%d`, at(1000*time.Hour)))},
		{name: "#27 payload exp duplicated in another case", wantErr: smartauth.ErrPayload,
			token: appendMember(fmt.Sprintf(`"EXP":%d`, at(1000*time.Hour)), "exp", at(-time.Hour), "iat", at(-2*time.Hour))},
		{name: "#27 payload aud duplicated in another case", wantErr: smartauth.ErrPayload,
			token: appendMember(`"Aud":"`+testEndpoint+`"`, "aud", otherEndpoint)},
		{name: "#27 payload claim only in another case (ISS)", wantErr: smartauth.ErrPayload,
			token: appendMember(`"ISS":"`+testIssuer+`"`, "iss", omit)},
		{name: "#27 payload patient only in another case (Patient)", wantErr: smartauth.ErrPayload,
			token: appendMember(`"Patient":"999"`, "patient", omit)},
		{name: "#27 payload claim folding to sub (long s)", wantErr: smartauth.ErrPayload,
			token: appendMember(`"\u017fub":"someone-else"`)},
		{name: "#27 header invalid UTF-8", wantErr: smartauth.ErrHeader, token: headerToken("{\"alg\":\"RS256\",\"kid\":\"rs\xff256\"}")},
		{name: "#27 payload invalid UTF-8", wantErr: smartauth.ErrPayload, token: func(tb testing.TB) string {
			js := kcJSON(tb)
			return rawRS256(tb, rsHeader, js[:len(js)-1]+",\"note\":\"\xc3\x28\"}")
		}},
		{name: "#27 header with BOM", wantErr: smartauth.ErrHeader, token: headerToken("\ufeff" + rsHeader)},
		{name: "#27 payload with BOM", wantErr: smartauth.ErrPayload, token: func(tb testing.TB) string { return rawRS256(tb, rsHeader, "\ufeff"+kcJSON(tb)) }},
		{name: "#27 header is an array", wantErr: smartauth.ErrHeader, token: headerToken(`["RS256","rs256"]`)},
		{name: "#27 header is a string", wantErr: smartauth.ErrHeader, token: headerToken(`"RS256"`)},
		{name: "#27 header is null", wantErr: smartauth.ErrHeader, token: headerToken(`null`)},
		{name: "#27 header is not JSON", wantErr: smartauth.ErrHeader, token: headerToken(`alg=RS256`)},
		{name: "#27 header has trailing data", wantErr: smartauth.ErrHeader, token: headerToken(rsHeader + `{}`)},
		{name: "#27 header empty object", wantErr: smartauth.ErrAlgorithm, token: headerToken(`{}`)},
		{name: "#27 payload is an array", wantErr: smartauth.ErrPayload, token: payloadToken(`[{"iss":"` + testIssuer + `"}]`)},
		{name: "#27 payload is null", wantErr: smartauth.ErrPayload, token: payloadToken(`null`)},
		{name: "#27 payload is a string", wantErr: smartauth.ErrPayload, token: payloadToken(`"` + testIssuer + `"`)},
		{name: "#27 payload has trailing data", wantErr: smartauth.ErrPayload, token: func(tb testing.TB) string { return rawRS256(tb, rsHeader, kcJSON(tb)+"{}") }},
		// Unknown claims are ignored (RFC 7519 §4), however many: the token
		// size cap is the bound.
		{name: "#27 payload with 300 unknown claims (4.7 KB token)", token: manyClaims(300),
			check: func(t *testing.T, _ testEnv, tok *smartauth.Token) {
				v, ok := tok.Claims.StringClaim("c299")
				assert.True(t, ok)
				assert.Equal(t, "v", v)
			}},
		{name: "#27 payload with 500 unknown claims (over 8 KiB)", wantErr: smartauth.ErrTokenTooLarge, token: manyClaims(500)},
		{name: "#27 payload duplicate inside an unknown claim", wantErr: smartauth.ErrPayload,
			token: appendMember(`"ext":{"role":"viewer","role":"admin"}`)},
		{name: "#27 realm_access roles only in another case", wantErr: smartauth.ErrPayload,
			token: claimRaw("realm_access", `{"Roles":["admin"]}`)},
		{name: "#27 payload empty object", wantErr: smartauth.ErrIssuer, token: payloadToken(`{}`)},

		// #28 weak keys handed out by a key set
		{name: "#28 RSA-1024 key from a key set", wantErr: smartauth.ErrKeyMismatch, token: kidToken("rsa1024")},

		// #29 ECDSA
		{name: "valid ES256", token: kidToken("es256")},
		{name: "valid ES384", token: kidToken("es384")},
		{name: "valid ES512", token: kidToken("es512")},
		{name: "valid EdDSA", token: kidToken("eddsa")},
		{name: "#29 ES256 with a DER-encoded signature", wantErr: smartauth.ErrSignature, token: esToken("ES256-DER", "es256")},
		{name: "#29 ES256 signature one byte short", wantErr: smartauth.ErrSignature, token: transform(esToken("ES256", "es256"), func(s string) string {
			i := strings.LastIndexByte(s, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(s[i+1:])
			return withSig(s, sig[:63])
		})},
		{name: "#29 ES256 signature one byte long", wantErr: smartauth.ErrSignature, token: transform(esToken("ES256", "es256"), func(s string) string {
			i := strings.LastIndexByte(s, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(s[i+1:])
			return withSig(s, append([]byte{0}, sig...))
		})},
		{name: "#29 ES256 r = s = 0 (psychic signature)", wantErr: smartauth.ErrSignature,
			token: transform(esToken("ES256", "es256"), func(s string) string { return withSig(s, make([]byte, 64)) })},
		{name: "#29 ES256 r = s = n (curve order)", wantErr: smartauth.ErrSignature, token: transform(esToken("ES256", "es256"), func(s string) string {
			n := p256Key().Curve.Params().N
			sig := make([]byte, 64)
			n.FillBytes(sig[:32])
			n.FillBytes(sig[32:])
			return withSig(s, sig)
		})},
		{name: "#29 ES256 header, P-384 key (curve mismatch)", wantErr: smartauth.ErrKeyMismatch, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "ES256", p384Key(), `{"alg":"ES256","kid":"es256-p384"}`, kcJSON(tb))
		}},
		{name: "#29 ES512 header, P-256 key (curve mismatch)", wantErr: smartauth.ErrKeyMismatch, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "ES256", p256Key(), `{"alg":"ES512","kid":"es512-p256"}`, kcJSON(tb))
		}},
		{name: "#29 ES256 with an off-curve public key", wantErr: smartauth.ErrSignature, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "ES256", p256Key(), `{"alg":"ES256","kid":"es256-offcurve"}`, kcJSON(tb))
		}},
		{name: "#29 ES256 signed by another P-256 key", wantErr: smartauth.ErrSignature, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "ES256", testjwt.NewECKey(p256Key().Curve), `{"alg":"ES256","kid":"es256"}`, kcJSON(tb))
		}},

		// #30 downgrade within a family, per-issuer allow-list
		{name: "#30 PS256 token under an RS256-pinned key", wantErr: smartauth.ErrKeyMismatch, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "PS256", rsaKey(), `{"alg":"PS256","kid":"rs256"}`, kcJSON(tb))
		}},
		{name: "#30 RS256 token under a PS256-pinned key", wantErr: smartauth.ErrKeyMismatch, token: headerToken(`{"alg":"RS256","kid":"ps256"}`)},
		{name: "#30 RS512 token under an RS256-pinned key", wantErr: smartauth.ErrKeyMismatch, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "RS512", rsaKey(), `{"alg":"RS512","kid":"rs256"}`, kcJSON(tb))
		}},
		{name: "#30 RS256 token under an RS512-pinned key", wantErr: smartauth.ErrKeyMismatch, token: headerToken(`{"alg":"RS256","kid":"rs512"}`)},
		{name: "#30 key without a pinned alg (no inference)", wantErr: smartauth.ErrKeyMismatch, token: headerToken(`{"alg":"RS256","kid":"noalg"}`)},
		{name: "#30 alg allowed globally but not for this issuer", wantErr: smartauth.ErrAlgorithm, token: kidToken("es256"), config: restrictA("RS256")},
		{name: "#30 PS256 refused by an RS256-only issuer", wantErr: smartauth.ErrAlgorithm, token: kidToken("ps256"), config: restrictA("RS256")},
		{name: "#30 default issuer allow-list is RS256 only", wantErr: smartauth.ErrAlgorithm, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "RS512", rsaKeyB(), `{"alg":"RS512","kid":"rs256"}`, kcJSON(tb, "iss", otherIssuer))
		}},
		{name: "#30 Cognito issuer refuses ES256", wantErr: smartauth.ErrAlgorithm, token: func(tb testing.TB) string {
			return mintKid(tb, "es256", cognitoClaims())
		}, config: useCognito},
		{name: "valid PS256", token: kidToken("ps256")},
		{name: "valid PS384", token: kidToken("ps384")},
		{name: "valid PS512", token: kidToken("ps512")},
		{name: "valid RS384", token: kidToken("rs384")},
		{name: "valid RS512", token: kidToken("rs512")},

		// #31 key set failures
		{name: "#31 key set unavailable (JWKS unreachable, nothing cached)", wantErr: smartauth.ErrKeySetUnavailable, token: kcToken(),
			config: func(c *smartauth.Config) {
				c.Issuers[0].KeySet.(*testKeySet).err = fmt.Errorf("%w: test: connection refused", smartauth.ErrKeySetUnavailable)
			}},
		{name: "#31 key set returning neither key nor error fails closed", wantErr: smartauth.ErrKeyMismatch, token: headerToken(`{"alg":"RS256","kid":"ghost"}`),
			config: func(c *smartauth.Config) { c.Issuers[0].KeySet.(*testKeySet).nilOK = true }},

		// #32 forged token: error text is generic
		{name: "#32 forged signature", wantErr: smartauth.ErrSignature, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, "RS256", rsaKeyB(), rsHeader, kcJSON(tb))
		}},
		{name: "#32 payload altered after signing", wantErr: smartauth.ErrSignature, token: func(tb testing.TB) string {
			tok := mint(tb, keycloakClaims())
			p := strings.Split(tok, ".")
			return p[0] + "." + b64(kcJSON(tb, "scope", "user/*.*")) + "." + p[2]
		}},

		// #33 revocation is invisible to local validation
		{name: "#33 revoked token stays valid until exp", token: kcToken("exp", at(10*time.Minute)),
			check: func(t *testing.T, env testEnv, tok *smartauth.Token) {
				// The IdP revoked this token (Cognito RevokeToken / logout)
				// right after issuing it; nothing tells the validator.
				raw := mint(t, keycloakClaims("exp", at(10*time.Minute)))
				for _, d := range []time.Duration{time.Minute, 10*time.Minute + skew - time.Second} {
					later := mustValidator(t, setNow(testNow.Add(d)))
					_, err := later.Validate(context.Background(), raw, testEndpoint)
					assert.NoError(t, err, "at now+%s", d)
				}
				expired := mustValidator(t, setNow(testNow.Add(10*time.Minute+skew)))
				_, err := expired.Validate(context.Background(), raw, testEndpoint)
				assert.ErrorIs(t, err, smartauth.ErrExpired)
			}},

		// #34 leeway capped at configuration time; the cap still bounds expiry
		{name: "#34 maximum skew still rejects exp + 5 min", wantErr: smartauth.ErrExpired, token: kcToken("exp", at(-smartauth.MaxClockSkew), "iat", at(-time.Hour)),
			config: func(c *smartauth.Config) { c.ClockSkew = smartauth.MaxClockSkew }},
		{name: "#34 valid just inside the maximum skew", token: kcToken("exp", at(-smartauth.MaxClockSkew+time.Second), "iat", at(-time.Hour)),
			config: func(c *smartauth.Config) { c.ClockSkew = smartauth.MaxClockSkew }},
	}
	return cases
}

func TestValidateCatalogue(t *testing.T) {
	for _, tc := range catalogueCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustValidator(t, tc.config)
			raw := tc.token(t)
			endpoint := tc.endpoint
			if endpoint == "" && !tc.noEndpoint {
				endpoint = testEndpoint
			}
			tok, err := env.Validate(context.Background(), raw, endpoint)
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.NotNil(t, tok)
				assert.Equal(t, int64(1), env.keyCalls(), "key-set calls")
			} else {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, tok)
				if raw != "" {
					assert.NotContains(t, err.Error(), raw)
				}
				assertNoLeak(t, err, raw)
				assert.Len(t, matchedSentinels(err), 1, "error should wrap exactly one sentinel: %v", err)
				assert.NotEqual(t, "internal", smartauth.Reason(err), "no reason code for %v", err)
				assert.True(t, strings.HasPrefix(err.Error(), "smartauth: "), "error text %q lacks the package prefix", err)
				// Row 8: steps 1-5 never reach a key set.
				want := int64(1)
				if isPreKey(err) {
					want = 0
				}
				assert.Equal(t, want, env.keyCalls(), "key-set calls")
			}
			if tc.check != nil {
				tc.check(t, env, tok)
			}
		})
	}
}

// TestCatalogueCoversEveryRow fails when one of the catalogue rows #1 to #34
// has no case in the catalogue table.
func TestCatalogueCoversEveryRow(t *testing.T) {
	seen := map[int]bool{}
	for _, tc := range append(catalogueCases(), keyLoadCases()...) {
		var n int
		if _, err := fmt.Sscanf(tc.name, "#%d ", &n); err == nil {
			seen[n] = true
		}
	}
	for n := 1; n <= 34; n++ {
		assert.True(t, seen[n], "catalogue row #%d has no test case", n)
	}
}

// keyLoadCases are the catalogue rows about key material (#28, #31) checked
// through StaticKeySet's load policy: a weak or junk key never becomes a key
// set entry, so a token naming it is a miss.
func keyLoadCases() []vcase {
	doc := func(tb testing.TB) []byte {
		weakE := &rsa.PublicKey{N: rsaKeyB().N, E: 3}
		return jwksJSON(tb,
			jwkMembers(tb, &rsaKey().PublicKey, "good", "RS256", "sig"),
			jwkMembers(tb, &rsa1024Key().PublicKey, "weak-1024", "RS256", "sig"),
			jwkMembers(tb, &rsaKey().PublicKey, "enc-key", "RS256", "enc"),
			jwkMembers(tb, weakE, "e3", "RS256", "sig"),
			jwkMembers(tb, &rsaKey().PublicKey, "dup", "RS256", "sig"),
			jwkMembers(tb, &rsaKeyB().PublicKey, "dup", "RS256", "sig"),
			jwkMembers(tb, &rsaKey().PublicKey, "no-alg", "", "sig"),
			jwkMembers(tb, &p384Key().PublicKey, "es256-on-p384", "ES256", "sig"),
			jwkMembers(tb, &p256Key().PublicKey, "es256", "ES256", "sig"),
		)
	}
	row := func(name, kid, alg string, signer any, wantErr error) vcase {
		return vcase{name: name, wantErr: wantErr, token: func(tb testing.TB) string {
			return testjwt.SignRaw(tb, alg, signer, `{"alg":"`+alg+`","kid":"`+kid+`"}`, mustJSON(tb, keycloakClaims()))
		}, config: func(c *smartauth.Config) {
			c.Issuers[0].KeySet.(*testKeySet).next = func(tb testing.TB) smartauth.KeySet {
				ks, err := smartauth.NewStaticKeySet(doc(tb))
				require.NoError(tb, err)
				return ks
			}
		}}
	}
	return []vcase{
		row("valid StaticKeySet RS256 key", "good", "RS256", rsaKey(), nil),
		row("valid StaticKeySet ES256 key", "es256", "ES256", p256Key(), nil),
		row("#28 RSA-1024 JWK dropped on load", "weak-1024", "RS256", rsa1024Key(), smartauth.ErrKidNotFound),
		row("#28 use enc JWK (Keycloak encryption key) skipped", "enc-key", "RS256", rsaKey(), smartauth.ErrKidNotFound),
		row("#28 RSA exponent 3 dropped on load", "e3", "RS256", rsaKeyB(), smartauth.ErrKidNotFound),
		row("#28 duplicate kid dropped on load", "dup", "RS256", rsaKey(), smartauth.ErrKidNotFound),
		row("#30 JWK without alg dropped on load (no inference)", "no-alg", "RS256", rsaKey(), smartauth.ErrKidNotFound),
		row("#29 JWK curve not fitting alg dropped on load", "es256-on-p384", "ES256", p384Key(), smartauth.ErrKidNotFound),
	}
}

func TestValidateKeyLoadPolicy(t *testing.T) {
	for _, tc := range keyLoadCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustValidator(t, tc.config)
			if env.A.next != nil {
				env.A.delegate = env.A.next(t)
			}
			raw := tc.token(t)
			tok, err := env.Validate(context.Background(), raw, testEndpoint)
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.NotNil(t, tok)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			assertNoLeak(t, err, raw)
		})
	}
}

func TestStaticKeySetRefusesJunk(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want error
	}{
		{"#31 JWKS not JSON", `<html>502 Bad Gateway</html>`, smartauth.ErrJWKSInvalid},
		{"#31 JWKS without keys", `{"kids":[]}`, smartauth.ErrJWKSInvalid},
		{"#31 JWKS empty set", `{"keys":[]}`, smartauth.ErrNoUsableKeys},
		{"#31 JWKS with only symmetric keys", `{"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0"}]}`, smartauth.ErrNoUsableKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := smartauth.NewStaticKeySet([]byte(tc.doc))
			require.ErrorIs(t, err, smartauth.ErrConfig)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := smartauth.NewStaticKeySetFromKeys(&smartauth.Key{ID: "weak", Algorithm: "RS256", Public: &rsa1024Key().PublicKey})
	require.ErrorIs(t, err, smartauth.ErrConfig, "#28 RSA-1024 refused by NewStaticKeySetFromKeys")
}

// TestKidFloodNeverReachesKeySetBeforeStep5 sends many tokens with fresh
// kids: only those that pass steps 1-5 cost a key-set call (row 8). Rate
// limiting the refetches is RemoteKeySet's job (penalty box).
func TestKidFloodNeverReachesKeySetBeforeStep5(t *testing.T) {
	env := mustValidator(t, nil)
	ctx := context.Background()
	payload := mustJSON(t, keycloakClaims())
	foreign := mustJSON(t, keycloakClaims("iss", "https://evil.example.com"))
	sig := base64.RawURLEncoding.EncodeToString(make([]byte, 256))
	for i := range 200 {
		kid := fmt.Sprintf("flood-%04d", i)
		for _, raw := range []string{
			b64(`{"alg":"RS256","kid":"`+kid+`"}`) + "." + b64(foreign) + "." + sig,                  // unknown issuer
			b64(`{"alg":"RS256","kid":"`+kid+`","jku":"x"}`) + "." + b64(payload) + "." + sig,        // forbidden header
			b64(`{"alg":"HS256","kid":"`+kid+`"}`) + "." + b64(payload) + "." + sig,                  // alg
			b64(`{"alg":"RS256","kid":"`+kid+`"}`) + "." + b64(payload[:len(payload)-1]) + "." + sig, // payload JSON
		} {
			_, err := env.Validate(ctx, raw, testEndpoint)
			require.Error(t, err)
		}
	}
	assert.Zero(t, env.keyCalls(), "pre-parse rejects reached the key set")

	for i := range 50 {
		raw := b64(`{"alg":"RS256","kid":"`+fmt.Sprintf("flood-%04d", i)+`"}`) + "." + b64(payload) + "." + sig
		_, err := env.Validate(ctx, raw, testEndpoint)
		require.ErrorIs(t, err, smartauth.ErrKidNotFound)
	}
	assert.Equal(t, int64(50), env.A.calls.Load(), "one lookup per well-formed token of a known issuer")
	assert.Zero(t, env.B.calls.Load())
}

// TestValidateClaims checks the typed claims of verified Keycloak and
// Cognito tokens.
func TestValidateClaims(t *testing.T) {
	ctx := context.Background()
	t.Run("keycloak", func(t *testing.T) {
		env := mustValidator(t, nil)
		tok, err := env.Validate(ctx, mint(t, keycloakClaims("aud", []string{"account", testEndpoint})), testEndpoint)
		require.NoError(t, err)
		want := &smartauth.Claims{
			Issuer:          testIssuer,
			Subject:         "f0e1d2c3-b4a5-4697-8899-aabbccddeeff",
			Audience:        []string{"account", testEndpoint},
			ExpiresAt:       at(5 * time.Minute),
			IssuedAt:        at(-10 * time.Second),
			Scope:           "openid fhirUser launch/patient patient/*.read",
			Type:            "Bearer",
			AuthorizedParty: "svc",
			Username:        "dr.jones",
			FHIRUser:        "Practitioner/123",
			Patient:         "456",
			ID:              "onrtac:3e6a3b5e-4f0e-4a47-9d8b-1c0d2e3f4a5b",
			RealmRoles:      []string{"fhir-user"},
			ClientRoles:     map[string][]string{"svc": {"reader"}},
		}
		if diff := cmp.Diff(want, tok.Claims, cmpopts.IgnoreFields(smartauth.Claims{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		v, ok := tok.Claims.StringClaim("preferred_username")
		assert.True(t, ok)
		assert.Equal(t, "dr.jones", v)
		_, ok = tok.Claims.StringClaim("realm_access")
		assert.False(t, ok, "object claim is not a string")
		_, ok = tok.Claims.StringClaim("absent")
		assert.False(t, ok)
	})
	t.Run("cognito", func(t *testing.T) {
		env := mustValidator(t, useCognito)
		tok, err := env.Validate(ctx, mint(t, cognitoClaims()), testEndpoint)
		require.NoError(t, err)
		want := &smartauth.Claims{
			Issuer:    cognitoIssuer,
			Subject:   "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
			ExpiresAt: at(time.Hour),
			IssuedAt:  at(-time.Minute),
			Scope:     "openid " + testScopePrefix + "/patient/*.read launch/patient aws.cognito.signin.user.admin",
			TokenUse:  "access",
			ClientID:  testClientID,
			Username:  "jdoe",
			ID:        "abcdefab-cdef-abcd-efab-cdefabcdefab",
			Groups:    []string{"clinicians"},
		}
		if diff := cmp.Diff(want, tok.Claims, cmpopts.IgnoreFields(smartauth.Claims{}, "Raw"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		parsed := make([]scopes.Kind, 0, len(tok.Scopes))
		for _, s := range tok.Scopes {
			parsed = append(parsed, s.Kind)
		}
		assert.Equal(t, []scopes.Kind{scopes.KindIdentity, scopes.KindResource, scopes.KindLaunch}, parsed)
	})
}

// TestCustomCheck checks the hook's error wrapping and that it runs last,
// only on otherwise valid tokens.
func TestCustomCheck(t *testing.T) {
	errNotOnboarded := errors.New("client not onboarded")
	var calls atomic.Int64
	env := mustValidator(t, func(c *smartauth.Config) {
		c.Issuers[0].Check = func(cl *smartauth.Claims) error {
			calls.Add(1)
			if cl.AuthorizedParty != "svc" {
				return errNotOnboarded
			}
			return nil
		}
	})
	ctx := context.Background()
	_, err := env.Validate(ctx, mint(t, keycloakClaims("azp", "rogue")), testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrCustomCheck)
	require.ErrorIs(t, err, errNotOnboarded)
	assert.Equal(t, "custom", smartauth.Reason(err))

	_, err = env.Validate(ctx, mint(t, keycloakClaims("azp", "rogue", "aud", otherEndpoint)), testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrAudience, "audience fails before the hook")
	_, err = env.Validate(ctx, mint(t, keycloakClaims("azp", "rogue", "exp", at(-time.Hour), "iat", at(-2*time.Hour))), testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrExpired, "expiry fails before the hook")
	assert.Equal(t, int64(1), calls.Load(), "hook ran for rejected tokens")

	_, err = env.Validate(ctx, mint(t, keycloakClaims()), testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, int64(2), calls.Load())
}

// RemoteCheck (introspection) runs last, only for tokens that passed every
// local check, receives the raw token without the Bearer prefix, and denies
// with ErrRemoteCheck.
func TestRemoteCheck(t *testing.T) {
	errRevoked := errors.New("revoked at the IdP")
	var calls atomic.Int64
	var seen string
	env := mustValidator(t, func(c *smartauth.Config) {
		c.Issuers[0].RemoteCheck = func(ctx context.Context, token string, cl *smartauth.Claims) error {
			calls.Add(1)
			seen = token
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no deadline")
			}
			if cl.AuthorizedParty == "revoked" {
				return errRevoked
			}
			return nil
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	good := mint(t, keycloakClaims())
	_, err := env.Validate(ctx, "Bearer "+good, testEndpoint)
	require.NoError(t, err)
	assert.Equal(t, good, seen, "the hook gets the token without the Bearer prefix")

	_, err = env.Validate(ctx, mint(t, keycloakClaims("azp", "revoked")), testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrRemoteCheck)
	require.ErrorIs(t, err, errRevoked)
	assert.Equal(t, "remote_check", smartauth.Reason(err))

	before := calls.Load()
	_, err = env.Validate(ctx, mint(t, keycloakClaims("aud", otherEndpoint)), testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrAudience)
	_, err = env.Validate(ctx, good+"x", testEndpoint)
	require.Error(t, err)
	assert.Equal(t, before, calls.Load(), "tokens failing a local check never reach the remote check")
}

func TestNewValidatorConfigErrors(t *testing.T) {
	ks := newTestKeySet(issuerAKeys())
	issuer := func(mut func(*smartauth.IssuerConfig)) smartauth.IssuerConfig {
		ic := smartauth.IssuerConfig{Issuer: testIssuer, KeySet: ks, Audience: smartauth.EndpointAudience()}
		if mut != nil {
			mut(&ic)
		}
		return ic
	}
	valid := func() smartauth.Config {
		return smartauth.Config{Issuers: []smartauth.IssuerConfig{issuer(nil)}, Now: fixedNow}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*smartauth.Config)
		ok     bool
	}{
		{name: "valid minimal config", mutate: func(*smartauth.Config) {}, ok: true},
		{name: "zero Config", mutate: func(c *smartauth.Config) { *c = smartauth.Config{} }},
		{name: "no issuer", mutate: func(c *smartauth.Config) { c.Issuers = nil }},
		{name: "empty issuer", mutate: func(c *smartauth.Config) { c.Issuers[0].Issuer = "" }},
		{name: "no key set", mutate: func(c *smartauth.Config) { c.Issuers[0].KeySet = nil }},
		{name: "no audience policy", mutate: func(c *smartauth.Config) { c.Issuers[0].Audience = nil }},
		{name: "#34 skew above 5 min", mutate: func(c *smartauth.Config) { c.ClockSkew = smartauth.MaxClockSkew + time.Second }},
		{name: "#34 skew of an hour", mutate: func(c *smartauth.Config) { c.ClockSkew = time.Hour }},
		{name: "#34 negative skew", mutate: func(c *smartauth.Config) { c.ClockSkew = -time.Second }},
		{name: "#34 skew of exactly 5 min", mutate: func(c *smartauth.Config) { c.ClockSkew = smartauth.MaxClockSkew }, ok: true},
		{name: "http issuer without InsecureAllowHTTPIssuers", mutate: func(c *smartauth.Config) { c.Issuers[0].Issuer = "http://127.0.0.1:18080/realms/fhir" }},
		{name: "http issuer with InsecureAllowHTTPIssuers", ok: true, mutate: func(c *smartauth.Config) {
			c.Issuers[0].Issuer = "http://127.0.0.1:18080/realms/fhir"
			c.InsecureAllowHTTPIssuers = true
		}},
		{name: "issuer not a URL", mutate: func(c *smartauth.Config) { c.Issuers[0].Issuer = "keycloak/realms/fhir" }},
		{name: "issuer with another scheme", mutate: func(c *smartauth.Config) { c.Issuers[0].Issuer = "ftp://idp.example.com/realms/fhir" }},
		{name: "#1 alg none in Algorithms", mutate: func(c *smartauth.Config) { c.Issuers[0].Algorithms = []string{"none"} }},
		{name: "#2 HS256 in Algorithms", mutate: func(c *smartauth.Config) { c.Issuers[0].Algorithms = []string{"RS256", "HS256"} }},
		{name: "unknown alg in Algorithms", mutate: func(c *smartauth.Config) { c.Issuers[0].Algorithms = []string{"RS257"} }},
		{name: "alg in the wrong case in Algorithms", mutate: func(c *smartauth.Config) { c.Issuers[0].Algorithms = []string{"rs256"} }},
		{name: "duplicate issuer", mutate: func(c *smartauth.Config) { c.Issuers = append(c.Issuers, issuer(nil)) }},
		{name: "empty scope prefix", mutate: func(c *smartauth.Config) { c.Issuers[0].ScopePrefixes = []string{"/"} }},
		{name: "scope prefix that is a SMART context", mutate: func(c *smartauth.Config) { c.Issuers[0].ScopePrefixes = []string{"patient"} }},
		{name: "scope prefix launch/", mutate: func(c *smartauth.Config) { c.Issuers[0].ScopePrefixes = []string{"launch/"} }},
		{name: "MaxTokenSize above the limit", mutate: func(c *smartauth.Config) { c.MaxTokenSize = smartauth.MaxTokenSizeLimit + 1 }},
		{name: "negative MaxTokenSize", mutate: func(c *smartauth.Config) { c.MaxTokenSize = -1 }},
		{name: "empty endpoint in Endpoints", mutate: func(c *smartauth.Config) { c.Endpoints = []string{""} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(&cfg)
			v, err := smartauth.NewValidator(cfg)
			if tc.ok {
				require.NoError(t, err)
				require.NotNil(t, v)
				return
			}
			require.ErrorIs(t, err, smartauth.ErrConfig)
			assert.Nil(t, v)
			assert.Equal(t, "config", smartauth.Reason(err))
		})
	}

	t.Run("every problem is reported", func(t *testing.T) {
		_, err := smartauth.NewValidator(smartauth.Config{
			Issuers:   []smartauth.IssuerConfig{{Issuer: "http://a.example.com"}},
			ClockSkew: time.Hour,
		})
		require.ErrorIs(t, err, smartauth.ErrConfig)
		for _, want := range []string{"ClockSkew", "not https", "no KeySet", "no audience policy"} {
			assert.Contains(t, err.Error(), want)
		}
	})
}

// TestValidateConcurrent runs one validator from many goroutines (-race).
func TestValidateConcurrent(t *testing.T) {
	env := mustValidator(t, nil)
	good := mint(t, keycloakClaims())
	bad := mint(t, keycloakClaims("aud", otherEndpoint))
	done := make(chan error, 64)
	for i := range 64 {
		go func() {
			raw := good
			if i%2 == 1 {
				raw = bad
			}
			_, err := env.Validate(context.Background(), raw, testEndpoint)
			if i%2 == 1 && !errors.Is(err, smartauth.ErrAudience) {
				done <- fmt.Errorf("goroutine %d: %v", i, err)
				return
			}
			if i%2 == 0 && err != nil {
				done <- fmt.Errorf("goroutine %d: %v", i, err)
				return
			}
			done <- nil
		}()
	}
	for range 64 {
		require.NoError(t, <-done)
	}
}

// Role lists feed role-to-scope tables, so an ambiguous one is refused
// rather than decoded last-wins (JSON parser differential).
func TestAmbiguousRoleObjectsRejected(t *testing.T) {
	env := mustValidator(t, nil)
	for name, claims := range map[string]map[string]any{
		"realm_access roles twice (case variant)": keycloakClaims("realm_access", json.RawMessage(`{"roles":["viewer"],"roleſ":["admin"]}`)),
		"realm_access roles twice (exact)":        keycloakClaims("realm_access", json.RawMessage(`{"roles":["viewer"],"roles":["admin"]}`)),
		"resource_access client twice":            keycloakClaims("resource_access", json.RawMessage(`{"svc":{"roles":["viewer"]},"svc":{"roles":["admin"]}}`)),
		"resource_access client twice (escaped)":  keycloakClaims("resource_access", json.RawMessage(`{"svc":{"roles":["viewer"]},"\u0073vc":{"roles":["admin"]}}`)),
		"resource_access entry roles twice":       keycloakClaims("resource_access", json.RawMessage(`{"svc":{"roles":["viewer"],"ROLES":["admin"]}}`)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := env.Validate(context.Background(), mint(t, claims), testEndpoint)
			require.ErrorIs(t, err, smartauth.ErrPayload)
		})
	}
}

// NoClockSkew applies no tolerance; the zero value keeps the 30 s default.
func TestNoClockSkew(t *testing.T) {
	strict := mustValidator(t, func(c *smartauth.Config) { c.ClockSkew = smartauth.NoClockSkew })
	lenient := mustValidator(t, nil)
	justExpired := mint(t, keycloakClaims("exp", at(-time.Second), "iat", at(-time.Minute)))
	_, err := strict.Validate(context.Background(), justExpired, testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrExpired)
	_, err = lenient.Validate(context.Background(), justExpired, testEndpoint)
	require.NoError(t, err, "within the default 30 s skew")

	atNow := mint(t, keycloakClaims("exp", at(time.Minute), "iat", at(0)))
	_, err = strict.Validate(context.Background(), atNow, testEndpoint)
	require.NoError(t, err, "iat == now is not in the future")
	inOneSecond := mint(t, keycloakClaims("exp", at(time.Minute), "iat", at(time.Second)))
	_, err = strict.Validate(context.Background(), inOneSecond, testEndpoint)
	require.ErrorIs(t, err, smartauth.ErrIssuedInFuture)

	_, err = smartauth.NewValidator(smartauth.Config{ClockSkew: -2 * time.Second})
	require.ErrorIs(t, err, smartauth.ErrConfig, "other negative values are refused")
}

// Audience policies that do not tie a token to the event's data store
// (client_id, fixed audiences, custom policies) require Config.Endpoints,
// and the pin is enforced by Validate as well as by Authorize.
func TestEndpointPin(t *testing.T) {
	ks := newTestKeySet(issuerAKeys())
	build := func(p smartauth.AudiencePolicy, mutate func(*smartauth.Config)) (*smartauth.Validator, error) {
		cfg := smartauth.Config{
			Issuers: []smartauth.IssuerConfig{{Issuer: testIssuer, KeySet: ks, Audience: p}},
			Now:     fixedNow,
		}
		if mutate != nil {
			mutate(&cfg)
		}
		return smartauth.NewValidator(cfg)
	}
	custom := smartauth.AudienceFunc(func(*smartauth.Claims, string) error { return nil })
	for name, p := range map[string]smartauth.AudiencePolicy{
		"ClientIDs": smartauth.ClientIDs("svc"), "ExactAudience": smartauth.ExactAudience("https://api.example.com"),
		"EndpointAudience with extra": smartauth.EndpointAudience("account"), "custom AudienceFunc": custom,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := build(p, nil)
			require.ErrorIs(t, err, smartauth.ErrConfig, "refused without Endpoints")
			assert.Contains(t, err.Error(), "Endpoints")
			_, err = build(p, func(c *smartauth.Config) { c.Endpoints = []string{testEndpoint} })
			require.NoError(t, err)
			_, err = build(p, func(c *smartauth.Config) { c.InsecureSkipEndpointCheck = true })
			require.NoError(t, err)
		})
	}
	_, err := build(smartauth.EndpointAudience(), nil)
	require.NoError(t, err, "EndpointAudience() names the data store itself")
	for _, bad := range []string{"/", "", "datastore/r4/", "http://healthlake.example.com/r4/"} {
		_, err = build(smartauth.ClientIDs("svc"), func(c *smartauth.Config) { c.Endpoints = []string{bad} })
		require.ErrorIs(t, err, smartauth.ErrConfig, "endpoint %q", bad)
	}

	// The pin in Validate: a token whose policy ignores the endpoint is
	// still refused for a data store the validator does not serve.
	v, err := build(smartauth.EndpointAudience("account"), func(c *smartauth.Config) { c.Endpoints = []string{testEndpoint} })
	require.NoError(t, err)
	tok := mint(t, keycloakClaims("aud", "account"))
	_, err = v.Validate(context.Background(), tok, testEndpoint)
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), tok, strings.TrimSuffix(testEndpoint, "/"))
	require.NoError(t, err, "one trailing slash is ignored")
	for _, ep := range []string{otherEndpoint, "", strings.ToUpper(testEndpoint)} {
		_, err = v.Validate(context.Background(), tok, ep)
		require.ErrorIs(t, err, smartauth.ErrAudience, "endpoint %q", ep)
	}

	// "/" as an extra audience must not turn into an empty one.
	v, err = build(smartauth.EndpointAudience("/"), func(c *smartauth.Config) { c.Endpoints = []string{testEndpoint} })
	require.NoError(t, err)
	for _, aud := range []any{"", "/", []string{""}} {
		_, err = v.Validate(context.Background(), mint(t, keycloakClaims("aud", aud)), testEndpoint)
		require.ErrorIs(t, err, smartauth.ErrAudience, "aud %v", aud)
	}
}

// TestValidateCustomKeySetBadKeys: a custom KeySet may return any Key; the
// load policy runs again at verification, so a key that no JWKS load would
// admit is refused as a key mismatch, never a panic or an accepted token.
func TestValidateCustomKeySetBadKeys(t *testing.T) {
	e3 := rsaKey().PublicKey
	e3.E = 3
	for name, tc := range map[string]struct {
		alg    string
		signer any
		public any
	}{
		"EC key without coordinates":    {"ES256", p256Key(), &ecdsa.PublicKey{Curve: elliptic.P256()}},
		"EC key on another curve":       {"ES256", p256Key(), &p384Key().PublicKey},
		"RSA exponent 3":                {"RS256", rsaKey(), &e3},
		"RSA key without modulus":       {"RS256", rsaKey(), &rsa.PublicKey{E: 65537}},
		"RSA key with negative modulus": {"RS256", rsaKey(), &rsa.PublicKey{N: new(big.Int).Neg(rsaKey().N), E: 65537}},
		"nil RSA key":                   {"RS256", rsaKey(), (*rsa.PublicKey)(nil)},
		"RSA key for an EC alg":         {"ES256", p256Key(), &rsaKey().PublicKey},
		"short Ed25519 key":             {"EdDSA", edKey(), ed25519.PublicKey(make([]byte, 16))},
		"unsupported key type":          {"ES256", p256Key(), []byte("not a key")},
	} {
		t.Run(name, func(t *testing.T) {
			env := mustValidator(t, func(c *smartauth.Config) {
				c.Issuers[0].Algorithms = []string{tc.alg}
				c.Issuers[0].KeySet = newTestKeySet(map[string]*smartauth.Key{"k": {ID: "k", Algorithm: tc.alg, Public: tc.public}})
			})
			raw := testjwt.SignRaw(t, tc.alg, tc.signer, `{"alg":"`+tc.alg+`","kid":"k"}`, mustJSON(t, keycloakClaims()))
			_, err := env.Validate(context.Background(), raw, testEndpoint)
			require.ErrorIs(t, err, smartauth.ErrKeyMismatch)
			assertNoLeak(t, err, raw)
		})
	}
}
