package healthlake_test

import (
	"encoding/json"
	"testing"

	"github.com/healthlake-smart/smartauth-go/healthlake"
)

// refResponse is the HealthLake response as plain encoding/json structs:
// the reference AppendResponse is compared with.
type refResponse struct {
	AuthPayload struct {
		Iss          string `json:"iss,omitempty"`
		Aud          string `json:"aud,omitempty"`
		Iat          *int64 `json:"iat,omitempty"`
		Nbf          *int64 `json:"nbf,omitempty"`
		Exp          *int64 `json:"exp,omitempty"`
		IsAuthorized any    `json:"isAuthorized"`
		UID          string `json:"uid,omitempty"`
		Scope        string `json:"scope,omitempty"`
		FHIRUser     string `json:"fhirUser,omitempty"`
		Patient      string `json:"patient,omitempty"`
	} `json:"authPayload"`
	IAMRoleARN string `json:"iamRoleARN,omitempty"`
}

func reference(r *healthlake.Response) refResponse {
	p := &r.AuthPayload
	var ref refResponse
	w := &ref.AuthPayload
	w.Iss, w.Aud, w.UID, w.Scope, w.FHIRUser, w.Patient = p.Issuer, p.Audience, p.UID, p.Scope, p.FHIRUser, p.Patient
	if p.IssuedAt != 0 {
		w.Iat = &p.IssuedAt
	}
	if p.IsAuthorized || p.NotBefore != 0 || p.ExpiresAt != 0 { // HealthLake requires both when allowed
		w.Nbf, w.Exp = &p.NotBefore, &p.ExpiresAt
	}
	w.IsAuthorized = p.IsAuthorized
	if p.AuthorizedAsString {
		w.IsAuthorized = map[bool]string{true: "true", false: "false"}[p.IsAuthorized]
	}
	ref.IAMRoleARN = r.IAMRoleARN
	return ref
}

// FuzzAppendResponse: AppendResponse, MarshalResponse and encoding/json
// (through AuthPayload.MarshalJSON) write exactly what encoding/json writes
// for the reference structs, for any field values.
func FuzzAppendResponse(f *testing.F) {
	f.Add("https://idp.example.com", "u<1>&\"\\\b\f\n\r\t\x00\x1f", "patient/*.rs \u2028\u2029 é \xff\xfe", int64(1), int64(-2), true, true)
	f.Add("", "", "", int64(0), int64(0), false, false)
	f.Add("\x7f", "<>", "\xe2\x80", int64(1<<62), int64(0), false, true)
	f.Fuzz(func(t *testing.T, a, b, c string, n1, n2 int64, allowed, asString bool) {
		r := healthlake.Response{AuthPayload: healthlake.AuthPayload{Issuer: a, Audience: b, IssuedAt: n1, NotBefore: n2,
			ExpiresAt: n1 ^ n2, IsAuthorized: allowed, UID: c, Scope: a + c, FHIRUser: b, Patient: c, AuthorizedAsString: asString}, IAMRoleARN: c}
		want, err := json.Marshal(reference(&r))
		if err != nil {
			t.Fatal(err)
		}
		if got := healthlake.AppendResponse(nil, &r); string(got) != string(want) {
			t.Fatalf("AppendResponse\n got %s\nwant %s", got, want)
		}
		if m, err := healthlake.MarshalResponse(&r); err != nil || string(m) != string(want) {
			t.Fatalf("MarshalResponse\n got %s (%v)\nwant %s", m, err, want)
		}
		if m, err := json.Marshal(r); err != nil || string(m) != string(want) {
			t.Fatalf("encoding/json\n got %s (%v)\nwant %s", m, err, want)
		}
	})
}
