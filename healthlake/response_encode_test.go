package healthlake_test

import (
	"encoding/json"
	"testing"

	"github.com/healthlake-smart/smartauth-go/healthlake"
)

// FuzzAppendResponse: AppendResponse writes exactly what encoding/json
// writes for the same Response, for any field values.
func FuzzAppendResponse(f *testing.F) {
	f.Add("https://idp.example.com", "u<1>&\"\\\b\f\n\r\t\x00\x1f", "patient/*.rs \u2028\u2029 é \xff\xfe", int64(1), int64(-2), true, true)
	f.Add("", "", "", int64(0), int64(0), false, false)
	f.Add("\x7f", "<>", "\xe2\x80", int64(1<<62), int64(0), false, true)
	f.Fuzz(func(t *testing.T, a, b, c string, n1, n2 int64, allowed, asString bool) {
		r := healthlake.Response{AuthPayload: healthlake.AuthPayload{Issuer: a, Audience: b, IssuedAt: n1, NotBefore: n2,
			ExpiresAt: n1 ^ n2, IsAuthorized: allowed, UID: c, Scope: a + c, FHIRUser: b, Patient: c, AuthorizedAsString: asString}, IAMRoleARN: c}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got := healthlake.AppendResponse(nil, &r)
		if string(got) != string(want) {
			t.Fatalf("AppendResponse\n got %s\nwant %s", got, want)
		}
		m, err := healthlake.MarshalResponse(&r)
		if err != nil || string(m) != string(want) {
			t.Fatalf("MarshalResponse\n got %s (%v)\nwant %s", m, err, want)
		}
	})
}
