package healthlake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/scopes"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// FuzzAuthorize: any bearer token gets a well-formed answer, allowed
// exactly when there is no error.
func FuzzAuthorize(f *testing.F) {
	f.Add(mint(f, keycloakClaims()))
	f.Add("Bearer " + mint(f, keycloakClaims("scope", "openid")))
	f.Add(signEdDSA(mustJSON(f, keycloakClaims())))
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.e30", "Bearer ", "eyJ.eyJ.", strings.Repeat("A", 100)} {
		f.Add(s)
	}
	a := mustAuthorizer(f, nil)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		d := a.Authorize(ctx, healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: raw})
		if _, err := healthlake.MarshalResponse(&d.Response); err != nil {
			t.Fatal(err)
		}
		if d.Allowed != (d.Err == nil) {
			t.Fatalf("Allowed %v with error %v", d.Allowed, d.Err)
		}
	})
}

// FuzzAuthorizeSignedPayload signs arbitrary payload bytes with a trusted
// Ed25519 key, so the fuzzer reaches the HealthLake mapping behind the
// signature: a deny is exactly the deny JSON, an allow names the data
// store, the role and at least one resource scope that parses.
func FuzzAuthorizeSignedPayload(f *testing.F) {
	for _, c := range []map[string]any{
		keycloakClaims(), keycloakClaims("scope", omit, "scp", []string{"patient/*.read", "openid"}),
		keycloakClaims("nbf", at(time.Second), "aud", []string{"a", testEndpoint}),
		keycloakClaims("scope", "patient/Observation.rs?category=laboratory user/*.cruds launch/patient"),
		keycloakClaims("patient", omit), keycloakClaims("typ", "ID"),
	} {
		f.Add(mustJSON(f, c))
	}
	for _, s := range []string{`{}`, `{"iss":"` + testIssuer + `"}`, `[]`, `null`, `{"exp":1e3}`} {
		f.Add(s)
	}
	a := mustAuthorizer(f, nil)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, payload string) {
		raw := signEdDSA(payload)
		d := a.Authorize(ctx, healthlake.Event{DatastoreEndpoint: testEndpoint, BearerToken: raw})
		out, jerr := healthlake.MarshalResponse(&d.Response)
		if jerr != nil {
			t.Fatal(jerr)
		}
		if !d.Allowed {
			if string(out) != denyJSON {
				t.Fatalf("deny response %s", out)
			}
			return
		}
		if d.Response.AuthPayload.Audience != testEndpoint || d.Response.AuthPayload.Scope == "" ||
			d.Response.IAMRoleARN != testRoleARN || !d.Response.AuthPayload.IsAuthorized {
			t.Fatalf("allowed response %s", out)
		}
		resource := false
		for _, s := range strings.Split(d.Response.AuthPayload.Scope, " ") {
			sc, err := scopes.Parse(s)
			if err != nil {
				t.Fatalf("response scope %q does not parse: %v", s, err)
			}
			resource = resource || sc.IsResource()
		}
		if !resource {
			t.Fatalf("allowed without a resource scope: %s", out)
		}
	})
}

// FuzzDecodeEvent: DecodeEvent never panics; events built from any endpoint
// and token round-trip; printing an event never depends on the token text.
func FuzzDecodeEvent(f *testing.F) {
	tok := mint(f, keycloakClaims())
	f.Add(eventJSON(f, testEndpoint, tok), testEndpoint, tok)
	f.Add([]byte(`{"datastoreEndpoint":"`+testEndpoint+`","bearerToken":"Bearer `+tok+`","x":{"y":[1,2]}}`), testEndpoint, "Bearer "+tok)
	f.Add([]byte(`null`), "", "")
	f.Add([]byte(`{"bearerToken":7}`), "http://x", "\x00")
	f.Add([]byte(`{"datastoreEndpoint":"\ud800","bearerToken":"\u00e9"}`), "\xff", "é")
	f.Add([]byte(`[`), testEndpoint, `"quoted" token`)
	a := mustAuthorizer(f, nil)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte, endpoint, token string) {
		if ev, err := healthlake.DecodeEvent(data); err == nil {
			d := a.Authorize(ctx, ev)
			if _, err := healthlake.MarshalResponse(&d.Response); err != nil {
				t.Fatal(err)
			}
			checkRedaction(t, ev)
		} else if healthlake.Reason(err) != "event" {
			t.Fatalf("DecodeEvent error without ErrEvent: %v", err)
		}

		js, err := json.Marshal(map[string]string{"datastoreEndpoint": endpoint, "bearerToken": token, "operationName": "ReadResource"})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := healthlake.DecodeEvent(js)
		if len(js) > smartauth.MaxTokenSizeLimit+16<<10 {
			if err == nil {
				t.Fatalf("oversized event (%d bytes) accepted", len(js))
			}
			return
		}
		if err != nil {
			t.Fatalf("valid event refused: %v", err)
		}
		if utf8.ValidString(endpoint) && utf8.ValidString(token) {
			if ev.DatastoreEndpoint != endpoint || ev.BearerToken != token {
				t.Fatalf("round trip: got %q/%q", ev.DatastoreEndpoint, ev.BearerToken)
			}
		}
		checkRedaction(t, ev)
	})
}

// checkRedaction: the printed forms of an event depend only on the token's
// length, never on its text.
func checkRedaction(t *testing.T, ev healthlake.Event) {
	t.Helper()
	other := ev
	other.BearerToken = strings.Repeat("x", len(ev.BearerToken))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if a, b := fmt.Sprintf(verb, ev), fmt.Sprintf(verb, other); a != b {
			t.Fatalf("%s output depends on the token:\n%s\n%s", verb, a, b)
		}
	}
	if a, b := ev.LogValue().String(), other.LogValue().String(); a != b {
		t.Fatalf("LogValue depends on the token:\n%s\n%s", a, b)
	}
}
