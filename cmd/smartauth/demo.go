package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

const (
	demoEndpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	demoRoleARN  = "arn:aws:iam::123456789012:role/smartauth-demo-healthlake-smart"
	demoKid      = "demo-key-1"
)

// demoCase is one token minted by the demo IdP.
type demoCase struct {
	name   string
	want   string // "allow" or "deny"
	claims map[string]any
	forged bool // signed with a key the IdP never published
}

// demoIdP is an in-process identity provider: a fresh RSA key whose JWKS is
// served over real HTTPS on 127.0.0.1.
type demoIdP struct {
	key    *rsa.PrivateKey
	srv    *httptest.Server
	issuer string
	hits   atomic.Int64
}

func newDemoIdP() (*demoIdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pub, err := jwk.Import(key.Public())
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]any{jwk.KeyIDKey: demoKid, jwk.AlgorithmKey: jwa.RS256(), jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(k, v); err != nil {
			return nil, err
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	idp := &demoIdP{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/realms/demo/protocol/openid-connect/certs", func(w http.ResponseWriter, _ *http.Request) {
		idp.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(jwks)
	})
	idp.srv = httptest.NewTLSServer(mux) // binds 127.0.0.1
	idp.issuer = idp.srv.URL + "/realms/demo"
	return idp, nil
}

func (idp *demoIdP) sign(claims map[string]any, forged bool) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	key := idp.key
	if forged {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return "", err
		}
	}
	hdr := jws.NewHeaders()
	for k, v := range map[string]any{jws.KeyIDKey: demoKid, jws.TypeKey: "JWT"} {
		if err := hdr.Set(k, v); err != nil {
			return "", err
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), key, jws.WithProtectedHeaders(hdr)))
	return string(tok), err
}

// decisionLog captures the adapter's structured decision lines.
type decisionLog struct{ lines []map[string]any }

func (d *decisionLog) handler() slog.Handler {
	return &captureHandler{log: d}
}

type captureHandler struct {
	log   *decisionLog
	attrs []slog.Attr
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &captureHandler{log: h.log, attrs: append(append([]slog.Attr{}, h.attrs...), a...)}
}
func (h *captureHandler) WithGroup(string) slog.Handler { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	line := map[string]any{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool { line[a.Key] = a.Value.String(); return true })
	h.log.lines = append(h.log.lines, line)
	return nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: smartauth demo\n\nStarts an in-process identity provider (fresh RSA key, JWKS over HTTPS on\n127.0.0.1), mints tokens for typical SMART clients and attacks, and runs each\nthrough the HealthLake Lambda handler. Needs no network and no setup.\nExit status: 0 every decision as expected, 1 otherwise, 2 usage error.")
	}
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if err := demo(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "smartauth demo: %v\n", err)
		return 1
	}
	return 0
}

func demo(ctx context.Context, out io.Writer) error {
	idp, err := newDemoIdP()
	if err != nil {
		return err
	}
	defer idp.srv.Close()

	ks, err := smartauth.NewRemoteKeySet(idp.issuer+"/protocol/openid-connect/certs",
		smartauth.RemoteOptions{HTTPClient: idp.srv.Client(), RequestTimeout: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:    idp.issuer,
			KeySet:    ks,
			Audience:  smartauth.EndpointAudience(),
			TokenKind: smartauth.RequirePayloadType("Bearer"),
		}},
	})
	if err != nil {
		return err
	}
	a, err := healthlake.New(v, healthlake.Config{RoleARN: demoRoleARN})
	if err != nil {
		return err
	}
	if err := v.Hydrate(ctx); err != nil { // Lambda init: fetch the JWKS once
		return err
	}
	var logs decisionLog
	h := lambdaadapter.New(a, lambdaadapter.WithLogger(slog.New(logs.handler())))
	invoke := lambda.NewHandler(h.Handle)

	now := time.Now().Unix()
	base := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": idp.issuer, "aud": []string{"account", demoEndpoint}, "iat": now - 30,
			"exp": now + 300, "typ": "Bearer", "jti": fmt.Sprintf("demo-%d", len(extra))}
		for k, val := range extra {
			c[k] = val
		}
		return c
	}
	cases := []demoCase{
		{name: "backend service (system/*.rs)", want: "allow", claims: base(map[string]any{
			"sub": "svc-bulk-export", "azp": "svc-bulk-export", "scope": "system/*.rs"})},
		{name: "patient standalone launch (v2)", want: "allow", claims: base(map[string]any{
			"sub": "8c1e0d2a-patient-user", "azp": "patient-app",
			"scope":   "openid fhirUser launch/patient patient/*.rs patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory offline_access",
			"patient": "456", "fhirUser": "Patient/456"})},
		{name: "practitioner (user/ scopes)", want: "allow", claims: base(map[string]any{
			"sub": "3f2b-practitioner", "azp": "clinician-app",
			"scope": "openid fhirUser user/*.rs user/Observation.cruds email", "fhirUser": "Practitioner/123"})},
		{name: "expired token", want: "deny", claims: base(map[string]any{
			"sub": "svc-bulk-export", "scope": "system/*.rs", "iat": now - 3600, "exp": now - 600})},
		{name: "forged signature (wrong key)", want: "deny", forged: true, claims: base(map[string]any{
			"sub": "attacker", "scope": "system/*.cruds"})},
		{name: "wrong audience (other data store)", want: "deny", claims: base(map[string]any{
			"sub": "svc-bulk-export", "scope": "system/*.rs",
			"aud": "https://healthlake.us-east-1.amazonaws.com/datastore/ffffffffffffffffffffffffffffffff/r4/"})},
		{name: "ID token instead of access token", want: "deny", claims: base(map[string]any{
			"sub": "3f2b-practitioner", "scope": "openid user/*.rs", "typ": "ID"})},
		{name: "no resource scope (openid only)", want: "deny", claims: base(map[string]any{
			"sub": "3f2b-practitioner", "scope": "openid fhirUser profile"})},
	}

	type result struct {
		c        demoCase
		response json.RawMessage
		log      map[string]any
	}
	var results []result
	for i, c := range cases {
		tok, err := idp.sign(c.claims, c.forged)
		if err != nil {
			return err
		}
		ev, _ := json.Marshal(healthlake.Event{DatastoreEndpoint: demoEndpoint, BearerToken: tok,
			OperationName: "SearchWithGet", DatastoreID: "0123456789abcdef0123456789abcdef", DatastoreTypeVersion: "R4"})
		ictx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("demo-%d", i+1)})
		resp, err := invoke.Invoke(ictx, ev)
		if err != nil {
			return fmt.Errorf("%s: Lambda function error: %w", c.name, err)
		}
		// Invoke returns a pooled buffer that the next call reuses: copy it.
		results = append(results, result{c: c, response: bytes.Clone(resp), log: logs.lines[len(logs.lines)-1]})
	}

	fmt.Fprintf(out, "smartauth demo: in-process IdP at %s (JWKS fetched %d time(s) over HTTPS on 127.0.0.1)\n", idp.issuer, idp.hits.Load())
	fmt.Fprintf(out, "data store endpoint: %s\n\n", demoEndpoint)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tEXPECTED\tDECISION\tREASON\tSCOPE SENT TO HEALTHLAKE")
	mismatches := 0
	var firstAllow, firstDeny *result
	for i := range results {
		r := &results[i]
		var resp healthlake.Response
		if err := json.Unmarshal(r.response, &resp); err != nil {
			return err
		}
		decision := "deny"
		if resp.AuthPayload.IsAuthorized {
			decision = "allow"
			if firstAllow == nil {
				firstAllow = r
			}
		} else if firstDeny == nil {
			firstDeny = r
		}
		mark := ""
		if decision != r.c.want {
			mark = "  <-- UNEXPECTED"
			mismatches++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s%s\n", r.c.name, r.c.want, decision, r.log["reason"], orDash(resp.AuthPayload.Scope), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range []*result{firstAllow, firstDeny} {
		if r == nil {
			continue
		}
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, r.response, "", "  ")
		fmt.Fprintf(out, "\nLambda response for %q:\n%s\n", r.c.name, pretty.String())
		line, _ := json.Marshal(r.log)
		fmt.Fprintf(out, "decision log line: %s\n", line)
	}
	fmt.Fprintf(out, "\nJWKS requests in total: %d (hydrated once at init; the forged token's kid is known, so no refetch)\n", idp.hits.Load())
	if mismatches > 0 {
		return fmt.Errorf("%d decision(s) differ from the expected outcome", mismatches)
	}
	return nil
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
