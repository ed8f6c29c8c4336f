package smartauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeClaims checks and builds the claims of a payload in one go; Validate
// runs the two halves with the issuer, key and signature checks between.
func decodeClaims(payload []byte) (*Claims, error) {
	w := new(wireClaims)
	if err := decodePayload(payload, w); err != nil {
		return nil, err
	}
	c := new(Claims)
	w.claims(c, payload, string(payload))
	return c, nil
}

// payloadSentinels are the errors decodePayload may wrap.
var payloadSentinels = []error{ErrPayload, ErrClaimType, ErrIssuer, ErrExpMissing, ErrIatMissing}

// knownClaims are the member names decoded into Claims.
var knownClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "scope", "scp", "token_use", "typ",
	"client_id", "azp", "username", "preferred_username", "fhirUser", "patient", "jti", "cognito:groups",
	"realm_access", "resource_access"}

// basePayload is a valid payload with every decoded claim; member replaces
// or adds one member as raw JSON text, or removes it when raw is "".
func basePayload() map[string]string {
	return map[string]string{
		"iss":                `"https://keycloak.example.com/realms/fhir"`,
		"sub":                `"f0e1d2c3"`,
		"aud":                `["account","https://healthlake.example.com/r4/"]`,
		"exp":                `1700000300`,
		"iat":                `1699999990`,
		"nbf":                `1699999990`,
		"scope":              `"openid fhirUser launch/patient patient/*.read"`,
		"token_use":          `"access"`,
		"typ":                `"Bearer"`,
		"client_id":          `"svc"`,
		"azp":                `"svc"`,
		"username":           `"jdoe"`,
		"preferred_username": `"dr.jones"`,
		"fhirUser":           `"Practitioner/123"`,
		"patient":            `"456"`,
		"jti":                `"onrtac:3e6a3b5e"`,
		"cognito:groups":     `["clinicians"]`,
		"realm_access":       `{"roles":["fhir-user"]}`,
		"resource_access":    `{"svc":{"roles":["reader"]}}`,
		"version":            `2`,
	}
}

// payloadWith renders basePayload with kv (name, raw JSON or "" to delete)
// applied, members in a fixed order.
func payloadWith(kv ...string) string {
	m := basePayload()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "scope", "scp", "token_use", "typ",
		"client_id", "azp", "username", "preferred_username", "fhirUser", "patient", "jti", "cognito:groups",
		"realm_access", "resource_access", "version"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		delete(m, k)
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + k + `":` + v)
	}
	for k, v := range m { // extra members, one at most per call in practice
		b.WriteString(`,"` + k + `":` + v)
	}
	b.WriteByte('}')
	return b.String()
}

// decodeCorpus covers every type rule, escape form, duplicate and
// case-variant rule of the payload decoder.
func decodeCorpus() []string {
	c := []string{
		payloadWith(),
		`{"iss":"a","exp":0,"iat":0}`,
		` {"iss" : "a" , "exp" : 1 , "iat" : 2 } `,
		"{\n\t\"iss\":\"a\",\r\n\"exp\":1,\"iat\":2}",
		`{}`, `[]`, `null`, `"x"`, `1`, `true`, ``, ` `, `{`, `{"iss":"a",}`, `{"iss":"a"}{}`,
		"\ufeff" + `{"iss":"a","exp":1,"iat":2}`,
		"{\"iss\":\"a\xff\",\"exp\":1,\"iat\":2}",
		"{\"iss\":\"a\",\"exp\":1,\"iat\":2,\"note\":\"\xc3\x28\"}",
		`{"iss":"a","exp":1}`, `{"iss":"a","iat":1}`, `{"exp":1,"iat":1}`,
		`{"iss":1,"exp":1}`, `{"iss":"a","exp":"1","iat":1,"scope":["x"]}`,
	}
	for _, v := range []string{`0`, `00`, `01`, `1`, `-0`, `-1`, `1.0`, `1.5`, `1e3`, `1E3`, `0e0`, `1.7000036e9`,
		`253402300799`, `253402300800`, `999999999999`, `2534023007990`, `9223372036854775807`,
		`92233720368547758070`, `null`, `"1"`, `true`, `false`, `{}`, `[]`, `[1]`} {
		c = append(c, payloadWith("exp", v), payloadWith("iat", v), payloadWith("nbf", v))
	}
	for _, v := range []string{`"x"`, `""`, `["a","b"]`, `[]`, `[null]`, `["a",null]`, `["a",1]`, `[["a"]]`, `[{}]`,
		`1`, `null`, `{}`, `true`, `{"aud":"x"}`} {
		c = append(c, payloadWith("aud", v), payloadWith("cognito:groups", v))
	}
	for _, v := range []string{`"a b"`, `""`, `["a"]`, `[]`, `null`, `1`, `[1]`, `{}`} {
		c = append(c, payloadWith("scope", v), payloadWith("scope", "", "scp", v))
	}
	for _, v := range []string{`["a","b"]`, `["a b"]`, `[""]`, `[null]`, `["\t"]`, `["a\n"]`, `["\u0020"]`, `["\u000d"]`,
		`["\u000b"]`, `[]`, `"a b"`, `["patient/*.read","openid"]`} {
		c = append(c, payloadWith("scope", "", "scp", v), payloadWith("scp", v))
	}
	for _, claim := range []string{"iss", "sub", "token_use", "typ", "client_id", "azp", "username",
		"preferred_username", "fhirUser", "patient", "jti"} {
		for _, v := range []string{`""`, `"x"`, `null`, `1`, `true`, `["x"]`, `{"x":1}`, `"\u0000"`} {
			c = append(c, payloadWith(claim, v))
		}
		c = append(c, payloadWith(claim, ""))
	}
	c = append(c,
		payloadWith("username", `""`), payloadWith("username", ""), payloadWith("preferred_username", ""),
		payloadWith("username", "", "preferred_username", ""))
	for _, v := range []string{`null`, `{}`, `{"roles":null}`, `{"roles":[]}`, `{"roles":["a",null]}`, `{"ROLES":["a"]}`,
		`{"roleſ":["a"]}`, `{"rol\u0065s":["a"]}`, `{"roles":["a","b"],"Roles":[null]}`, `{"roles":["a"],"roles":["b"]}`,
		`{"roles":["a","b","c"],"roles":[null],"ROLES":[null,null]}`, `{"roles":["a"],"roles":[]}`,
		`{"roles":["a"],"roles":null}`, `{"roles":"a"}`, `{"roles":[1]}`, `{"roles":{}}`, `{"other":1,"roles":["x"]}`,
		`{"other":[1,{"a":[]}]}`, `"x"`, `[]`, `1`, `true`} {
		c = append(c, payloadWith("realm_access", v),
			payloadWith("resource_access", `{"svc":`+v+`}`),
			payloadWith("resource_access", `{"a":{"roles":["r"]},"b":`+v+`}`))
	}
	for _, v := range []string{`null`, `{}`, `{"svc":{"roles":["r"]},"svc":{"roles":["s"]}}`,
		`{"svc":{"roles":["r"]},"\u0073vc":null}`, `{"":{"roles":[""]}}`, `{"s\"vc":{"roles":["\ud83d\ude00"]}}`,
		`"x"`, `[]`, `1`, `[{"roles":["r"]}]`} {
		c = append(c, payloadWith("resource_access", v))
	}
	// Escapes in values and names, including lone and paired surrogates.
	for _, v := range []string{`"\ud83d\ude00"`, `"\ud800"`, `"\udc00"`, `"\ud800x"`, `"\ud800\u0041"`, `"\udc00\ud800"`,
		`"\ud800\ud800\udc00"`, `"\\"`, `"\/"`, `"\"q\""`, `"\b\f\n\r\t"`, `"\u00e9\u00E9"`, `"é€𝄞"`,
		`"a\u0000b"`, `"\u2028"`} {
		c = append(c, payloadWith("sub", v), payloadWith("iss", v), payloadWith("aud", "["+v+","+v+"]"),
			payloadWith("scope", "", "scp", "["+v+"]"))
	}
	// Duplicates and case variants.
	for _, m := range []string{`"iss":"b"`, `"\u0069ss":"a"`, `"ISS":"a"`, `"Exp":1`, `"\u017fub":"x"`, `"ſub":"x"`,
		`"to\u212aen_use":"x"`, `"cognito:GROUPS":[]`, `"Realm_Access":{}`, `"fhiruser":"x"`, `"PATIENT":"x"`,
		`"version":3`, `"x":1,"x":2`, `"\ud800":1,"\udc00":2`, `"\ud800":1,"\ufffd":2`, `"a\u0000":1,"a":2`,
		`"issuer":"x"`, `"iss ":"x"`, `"exp2":1`, `"":1`, `"":1,"":2`} {
		js := payloadWith()
		c = append(c, js[:len(js)-1]+","+m+"}", "{"+m+","+js[1:])
	}
	// Many members: unknown ones are ignored, however many.
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"iss":"a","exp":1,"iat":2`)
		for i := 3; i < n; i++ {
			fmt.Fprintf(&b, `,"m%d":%d`, i, i)
		}
		b.WriteByte('}')
		return b.String()
	}
	c = append(c, many(255), many(256), many(257), many(300))
	// Deep unknown members.
	c = append(c, payloadWith("deep", strings.Repeat("[", 500)+strings.Repeat("]", 500)),
		payloadWith("deep", strings.Repeat(`{"a":`, 200)+"1"+strings.Repeat("}", 200)))
	return c
}

func TestDecodePayload(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    error // nil: accepted
	}{
		{payloadWith(), nil},
		{`{"iss":"a","exp":0,"iat":0}`, nil},
		{" {\"iss\" : \"a\" ,\n\t\"exp\" : 1 , \"iat\" : 2 } ", nil},
		{`{}`, ErrIssuer},
		{`[]`, ErrPayload}, {`null`, ErrPayload}, {`"x"`, ErrPayload}, {``, ErrPayload}, {`{`, ErrPayload},
		{`{"iss":"a",}`, ErrPayload}, {`{"iss":"a","exp":1,"iat":2}{}`, ErrPayload},
		{"\ufeff" + `{"iss":"a","exp":1,"iat":2}`, ErrPayload},
		{"{\"iss\":\"a\xff\",\"exp\":1,\"iat\":2}", ErrPayload},
		{"{\"iss\":\"a\",\"exp\":1,\"iat\":2,\"note\":\"\xc3\x28\"}", ErrPayload},
		{`{"iss":"a","exp":1}`, ErrIatMissing}, {`{"iss":"a","iat":1}`, ErrExpMissing}, {`{"exp":1,"iat":1}`, ErrIssuer},
		// NumericDate: integers 0..253402300799 only.
		{payloadWith("exp", `253402300799`), nil}, {payloadWith("exp", `253402300800`), ErrClaimType},
		{payloadWith("exp", `1.0`), ErrClaimType}, {payloadWith("iat", `1e3`), ErrClaimType},
		{payloadWith("nbf", `-1`), ErrClaimType}, {payloadWith("exp", `01`), ErrPayload},
		{payloadWith("exp", `"1"`), ErrClaimType}, {payloadWith("exp", `null`), ErrClaimType},
		{payloadWith("iat", `92233720368547758070`), ErrClaimType}, {payloadWith("nbf", `[1]`), ErrClaimType},
		// String claims, lists, role objects.
		{payloadWith("sub", `null`), ErrClaimType}, {payloadWith("iss", `["a"]`), ErrClaimType},
		{payloadWith("scope", `["a"]`), ErrClaimType}, {payloadWith("scope", `null`), ErrClaimType},
		{payloadWith("aud", `"x"`), nil}, {payloadWith("aud", `[]`), nil}, {payloadWith("aud", `null`), ErrClaimType},
		{payloadWith("aud", `["a",null]`), ErrClaimType}, {payloadWith("aud", `[["a"]]`), ErrClaimType},
		{payloadWith("cognito:groups", `null`), nil}, {payloadWith("cognito:groups", `"a"`), ErrClaimType},
		{payloadWith("cognito:groups", `[null]`), ErrClaimType},
		{payloadWith("scope", "", "scp", `["a","b"]`), nil}, {payloadWith("scope", "", "scp", `["a b"]`), ErrClaimType},
		{payloadWith("scope", "", "scp", `["\u0020"]`), ErrClaimType}, {payloadWith("scope", "", "scp", `[""]`), ErrClaimType},
		{payloadWith("scope", "", "scp", `[null]`), ErrClaimType},
		{payloadWith("realm_access", `null`), nil}, {payloadWith("realm_access", `{"roles":null}`), nil},
		{payloadWith("realm_access", `{"roles":["a",null]}`), ErrClaimType}, {payloadWith("realm_access", `[]`), ErrClaimType},
		{payloadWith("realm_access", `{"ROLES":["a"]}`), ErrPayload},
		{payloadWith("realm_access", `{"roles":["a"],"roleſ":["b"]}`), ErrPayload},
		{payloadWith("realm_access", `{"roles":["a"],"roles":["b"]}`), ErrPayload},
		{payloadWith("resource_access", `{"svc":null,"x":{"roles":[]}}`), nil},
		{payloadWith("resource_access", `{"svc":{"roles":["r"]},"\u0073vc":null}`), ErrPayload},
		{payloadWith("resource_access", `{"svc":"r"}`), ErrClaimType}, {payloadWith("resource_access", `[]`), ErrClaimType},
		// Names: duplicates (after unescaping, at any depth) and case variants.
		{payloadWith("x", `{"a":1,"\u0061":2}`), ErrPayload},
		{`{"iss":"a","exp":1,"iat":2,"\u0069ss":"a"}`, ErrPayload},
		{`{"iss":"a","exp":1,"iat":2,"Exp":1}`, ErrPayload},
		{`{"iss":"a","exp":1,"iat":2,"ſub":"x"}`, ErrPayload},
		{`{"iss":"a","exp":1,"iat":2,"to\u212aen_use":"x"}`, ErrPayload},
		{`{"iss":"a","exp":1,"iat":2,"COGNITO:GROUPS":[]}`, ErrPayload},
		// Not case variants: other spellings are unknown claims.
		{`{"iss":"a","exp":1,"iat":2,"tokenuse":1,"token-use":2,"clientId":3,"issuer":4,"iss ":5}`, nil},
	} {
		_, err := decodeClaims([]byte(tc.payload))
		if tc.want == nil {
			assert.NoError(t, err, "%s", clipForLog(tc.payload))
			continue
		}
		assert.ErrorIs(t, err, tc.want, "%s", clipForLog(tc.payload))
	}
}

func TestDecodeClaimsValues(t *testing.T) {
	c, err := decodeClaims([]byte(payloadWith("sub", `"\ud83d\ude00\u00e9"`, "resource_access", `{"svc":{"roles":["r"]},"s\"vc":null}`,
		"aud", `["a","b","c","d","e","f"]`)))
	require.NoError(t, err)
	assert.Equal(t, "😀é", c.Subject)
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, c.Audience)
	assert.Equal(t, map[string][]string{"svc": {"r"}, `s"vc`: nil}, c.ClientRoles)
	assert.Equal(t, "jdoe", c.Username)
	assert.Equal(t, []string{"fhir-user"}, c.RealmRoles)
	assert.Equal(t, int64(1700000300), c.ExpiresAt)
	assert.True(t, c.HasNotBefore)

	// Entries beyond the inline ones (clients, roles) keep their values.
	c, err = decodeClaims([]byte(payloadWith("resource_access",
		`{"a":{"roles":["1","2","3","4","5"]},"b":{"roles":["x"]},"c":{"roles":["6","7","8","9","10","11"]}}`)))
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"a": {"1", "2", "3", "4", "5"}, "b": {"x"}, "c": {"6", "7", "8", "9", "10", "11"}}, c.ClientRoles)

	c, err = decodeClaims([]byte(payloadWith("scope", "", "scp", `["patient/*.read","openid"]`, "username", "",
		"aud", `[]`, "cognito:groups", `null`, "resource_access", `{}`, "nbf", "")))
	require.NoError(t, err)
	assert.Equal(t, "patient/*.read openid", c.Scope)
	assert.Equal(t, "dr.jones", c.Username)
	assert.Equal(t, []string{}, c.Audience)
	assert.Nil(t, c.Groups)
	assert.Nil(t, c.ClientRoles)
	assert.False(t, c.HasNotBefore)
}

func clipForLog(s string) string {
	if len(s) > 300 {
		return fmt.Sprintf("%q...", s[:300])
	}
	return fmt.Sprintf("%q", s)
}

// FuzzDecodeClaims checks decodePayload against encoding/json (v1) as an
// independent reading of the same payload: a rejection wraps exactly one
// sentinel and never quotes the payload; an accepted payload is valid UTF-8
// and JSON, an object without duplicate or case-variant names, and every
// decoded claim equals what encoding/json reads (nil versus empty
// included).
func FuzzDecodeClaims(f *testing.F) {
	for _, p := range decodeCorpus() {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := decodeClaims(payload)
		if err != nil {
			n := 0
			for _, s := range payloadSentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 || !strings.HasPrefix(err.Error(), "smartauth: ") {
				t.Fatalf("error %v wraps %d sentinels", err, n)
			}
			if len(payload) > 64 && strings.Contains(err.Error(), string(payload)) {
				t.Fatalf("error quotes the payload: %v", err)
			}
			return
		}
		if d := diffV1(payload, c); d != "" {
			t.Fatalf("payload %s: %s", clipForLog(string(payload)), d)
		}
	})
}

// diffV1 compares claims accepted from payload with encoding/json's reading.
func diffV1(payload []byte, c *Claims) string {
	if !utf8.Valid(payload) || !json.Valid(payload) {
		return "accepted invalid UTF-8 or JSON"
	}
	names, ok := v1Names(payload)
	if !ok {
		return "accepted a payload that is not an object with unique names"
	}
	for _, n := range names {
		for _, k := range knownClaims {
			if n != k && strings.EqualFold(n, k) {
				return "accepted case variant " + n
			}
		}
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		return err.Error()
	}
	str := func(name string) string {
		s, _ := m[name].(string)
		return s
	}
	list := func(name string) []string {
		switch v := m[name].(type) {
		case string:
			return []string{v}
		case []any:
			out := []string{}
			for _, e := range v {
				out = append(out, e.(string)) // any other element: refused
			}
			return out
		}
		return nil
	}
	date := func(name string) int64 {
		f, _ := m[name].(float64)
		if f != math.Trunc(f) || f < 0 || f > maxNumericDate {
			panic("accepted NumericDate " + fmt.Sprint(m[name]))
		}
		return int64(f)
	}
	roles := func(v any) []string {
		o, _ := v.(map[string]any)
		r, _ := o["roles"].([]any)
		if r == nil {
			return nil
		}
		out := []string{}
		for _, e := range r {
			out = append(out, e.(string))
		}
		return out
	}
	want := Claims{Issuer: str("iss"), Subject: str("sub"), Audience: list("aud"), ExpiresAt: date("exp"),
		IssuedAt: date("iat"), Scope: str("scope"), TokenUse: str("token_use"), Type: str("typ"),
		ClientID: str("client_id"), AuthorizedParty: str("azp"), Username: str("username"), FHIRUser: str("fhirUser"),
		Patient: str("patient"), ID: str("jti"), Groups: list("cognito:groups"), RealmRoles: roles(m["realm_access"]), Raw: payload}
	if _, ok := m["nbf"]; ok {
		want.NotBefore, want.HasNotBefore = date("nbf"), true
	}
	if _, ok := m["scope"]; !ok {
		want.Scope = strings.Join(list("scp"), " ")
	}
	if want.Username == "" {
		want.Username = str("preferred_username")
	}
	if ra, _ := m["resource_access"].(map[string]any); len(ra) > 0 {
		want.ClientRoles = map[string][]string{}
		for k, v := range ra {
			want.ClientRoles[k] = roles(v)
		}
	}
	if fmt.Sprintf("%#v", want) != fmt.Sprintf("%#v", *c) {
		return fmt.Sprintf("got %#v\nencoding/json %#v", *c, want)
	}
	for _, name := range []string{"iss", "sub", "username", "version", "custom", "exp", "realm_access", "", "ſub"} {
		got, gok := c.StringClaim(name)
		s, wok := m[name].(string)
		if got != s || gok != wok {
			return fmt.Sprintf("StringClaim(%q) = %q/%v, encoding/json %q/%v", name, got, gok, s, wok)
		}
	}
	return ""
}

// v1Names returns the top-level member names of an object, ok false when it
// is not an object or a name repeats (at any depth).
func v1Names(data []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var names []string
	var walk func(top bool) bool
	walk = func(top bool) bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil || seen[k.(string)] {
					return false
				}
				seen[k.(string)] = true
				if top {
					names = append(names, k.(string))
				}
				if !walk(false) {
					return false
				}
			}
		case json.Delim('['):
			for dec.More() {
				if !walk(false) {
					return false
				}
			}
		default:
			return !top
		}
		_, err = dec.Token() // closing delimiter
		return err == nil
	}
	return names, walk(true)
}

// StringClaim also reads a Raw built by hand: a repeated name (the last
// wins), invalid UTF-8 (replaced), anything but one object (not found).
func TestStringClaimHandBuiltRaw(t *testing.T) {
	for raw, want := range map[string]string{
		``: "-", `null`: "-", `[]`: "-", `"x"`: "-", `{"username":1}`: "-", `{"username":"a"`: "-", `{"username":null}`: "-",
		`{"username":"a"}{}`: "-", `{"other":"a"}`: "-", `{"username":"a","username":1}`: "-",
		`{"username":"a","username":"b"}`: "b", "{\"username\":\"a\xffb\"}": "a\ufffdb", `{"us\u0065rname":"\u00e9"}`: "é",
		` { "username" : "x" } `: "x", `{"x":{"username":"no"},"username":"yes"}`: "yes",
	} {
		got, ok := (&Claims{Raw: json.RawMessage(raw)}).StringClaim("username")
		if !ok {
			got = "-"
		}
		assert.Equal(t, want, got, "%q", raw)
	}
}

func headerCorpus() []string {
	c := []string{
		`{"alg":"RS256","kid":"rs256","typ":"JWT"}`, `{"alg":"RS256","kid":"rs256"}`, `{"kid":"k","alg":"EdDSA"}`,
		` {"alg" : "ES512" , "kid" : "k" , "typ" : "at+jwt" } `, `{"alg":"PS384","kid":"k","typ":"application/AT+JWT"}`,
		`{}`, `[]`, `null`, `"x"`, ``, `{"alg":"RS256","kid":"k"}{}`, "\ufeff{\"alg\":\"RS256\",\"kid\":\"k\"}",
		"{\"alg\":\"RS256\",\"kid\":\"k\xff\"}", `{"alg":"none","kid":"k"}`, `{"alg":"HS256","kid":"k"}`, `{"alg":"rs256","kid":"k"}`,
		`{"alg":"RS256"}`, `{"alg":"RS256","kid":""}`, `{"alg":"RS256","kid":"` + strings.Repeat("k", 256) + `"}`,
		`{"alg":"RS256","kid":"` + strings.Repeat("k", 257) + `"}`, `{"alg":"RS256","kid":"` + strings.Repeat(`\u006b`, 256) + `"}`,
		`{"alg":"RS256","kid":"` + strings.Repeat("é", 128) + `"}`, `{"alg":"RS256","kid":"` + strings.Repeat("é", 129) + `"}`,
		`{"alg":"RS256","kid":"k","typ":""}`, `{"alg":"RS256","kid":"k","typ":"JOSE"}`, `{"alg":"RS256","kid":"k","typ":1}`,
		`{"alg":1,"kid":"k"}`, `{"alg":null,"kid":"k"}`, `{"alg":"RS256","kid":1}`, `{"alg":"RS256","kid":{"a":1}}`,
		`{"alg":"RS256","alg":"RS256","kid":"k"}`, `{"alg":"RS256","kid":"k","kid":"k"}`, `{"alg":"RS256","kid":"k","typ":"JWT","typ":"JWT"}`,
		`{"alg":"RS256","kid":"k","\u0061lg":"none"}`, `{"\u0061lg":"RS\u0032\u00356","\u006bid":"\u006b"}`,
		`{"alg":"RS256","kid":"k","ALG":"none"}`, `{"alg":"RS256","kid":"k","crit":["exp"]}`, `{"alg":"RS256","kid":"k","\u0063rit":[]}`,
		`{"alg":1,"jku":"x"}`, `{"jku":"x","alg":1}`, `{"alg":"RS256","alg":1}`, `{"kid":"k","kid":1}`,
		`{"alg":"RS256","kid":"k\ud800"}`, `{"alg":"RS256","kid":"\ud83d\ude00"}`, `{"alg":"RS256","kid":"a\u0000b"}`,
		`{"alg":"RS256","kid":"k","typ":"\u004aWT"}`, `{"alg":"RS256","kid":"k","x5t#S256":"x"}`,
	}
	return c
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   error
	}{
		{`{"alg":"RS256","kid":"rs256","typ":"JWT"}`, nil}, {` {"kid" : "k" , "alg" : "ES512"} `, nil},
		{`{"\u0061lg":"RS\u0032\u00356","\u006bid":"\u006b"}`, nil}, {`{"alg":"PS384","kid":"k","typ":"application/AT+JWT"}`, nil},
		{`[]`, ErrHeader}, {`null`, ErrHeader}, {``, ErrHeader}, {`{"alg":"RS256","kid":"k"}{}`, ErrHeader},
		{"\ufeff{\"alg\":\"RS256\",\"kid\":\"k\"}", ErrHeader}, {"{\"alg\":\"RS256\",\"kid\":\"k\xff\"}", ErrHeader},
		{`{"alg":"RS256","alg":"RS256","kid":"k"}`, ErrHeader}, {`{"alg":"RS256","kid":"k","\u0061lg":"none"}`, ErrHeader},
		{`{"alg":1,"kid":"k"}`, ErrHeader}, {`{"alg":null,"kid":"k"}`, ErrHeader}, {`{"alg":"RS256","kid":{}}`, ErrHeader},
		{`{"alg":1,"jku":"x"}`, ErrHeader}, {`{"jku":"x","alg":1}`, ErrHeaderParameter},
		{`{"alg":"RS256","kid":"k","ALG":"none"}`, ErrHeaderParameter}, {`{"alg":"RS256","kid":"k","crit":[]}`, ErrHeaderParameter},
		{`{}`, ErrAlgorithm}, {`{"alg":"none","kid":"k"}`, ErrAlgorithm}, {`{"alg":"rs256","kid":"k"}`, ErrAlgorithm},
		{`{"alg":"RS256"}`, ErrKidMissing}, {`{"alg":"RS256","kid":""}`, ErrKidMissing},
		{`{"alg":"RS256","kid":"` + strings.Repeat("k", 256) + `"}`, nil},
		{`{"alg":"RS256","kid":"` + strings.Repeat("k", 257) + `"}`, ErrKidMissing},
		{`{"alg":"RS256","kid":"` + strings.Repeat(`\u006b`, 256) + `"}`, nil},
		{`{"alg":"RS256","kid":"k","typ":""}`, ErrType}, {`{"alg":"RS256","kid":"k","typ":"JOSE"}`, ErrType},
	} {
		_, err := parseHeader([]byte(tc.header), new(wireHeader))
		if tc.want == nil {
			assert.NoError(t, err, "%s", clipForLog(tc.header))
			continue
		}
		assert.ErrorIs(t, err, tc.want, "%s", clipForLog(tc.header))
	}
	p := parts{headerJSON: []byte(`{"alg":"RS256","kid":"a\u00e9\ud83d\ude00"}`)}
	var err error
	p.header, err = parseHeader(p.headerJSON, new(wireHeader))
	require.NoError(t, err)
	assert.Equal(t, "RS256", p.header.Alg)
	assert.Equal(t, "aé😀", p.kid())
}

// FuzzParseHeader checks parseHeader against encoding/json (v1): an
// accepted header is an object of unique string members alg, kid and typ
// only, with an allowed alg, a kid of 1..256 bytes and an allowed typ, read
// as encoding/json reads them.
func FuzzParseHeader(f *testing.F) {
	for _, h := range headerCorpus() {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, hb []byte) {
		if len(hb) > maxHeaderSize {
			return // splitToken refuses larger headers first
		}
		h, err := parseHeader(hb, new(wireHeader))
		if err != nil {
			n := 0
			for _, s := range []error{ErrHeader, ErrHeaderParameter, ErrAlgorithm, ErrKidMissing, ErrType} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v wraps %d sentinels", err, n)
			}
			return
		}
		names, ok := v1Names(hb)
		if !ok || !utf8.Valid(hb) {
			t.Fatalf("accepted %s", clipForLog(string(hb)))
		}
		var m map[string]string
		if err := json.Unmarshal(hb, &m); err != nil {
			t.Fatalf("accepted %s: %v", clipForLog(string(hb)), err)
		}
		for _, n := range names {
			if n != "alg" && n != "kid" && n != "typ" {
				t.Fatalf("accepted member %q", n)
			}
		}
		p := parts{headerJSON: hb, header: h}
		if h.Alg != m["alg"] || findAlgorithm(h.Alg) == nil || p.kid() != m["kid"] ||
			len(m["kid"]) == 0 || len(m["kid"]) > maxKidLen {
			t.Fatalf("accepted %s as alg %q kid %q", clipForLog(string(hb)), h.Alg, p.kid())
		}
		if typ, ok := m["typ"]; ok && !allowedHeaderType([]byte(typ)) {
			t.Fatalf("accepted typ %q", typ)
		}
	})
}

// BenchmarkDecodeClaims is step 5 plus building Claims on a Keycloak-shaped
// payload that has every decoded claim.
func BenchmarkDecodeClaims(b *testing.B) {
	p := []byte(payloadWith())
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := decodeClaims(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStringClaimTypedFields: the typed string claims are served from their
// fields when set (no Raw needed), else from Raw.
func TestStringClaimTypedFields(t *testing.T) {
	c := &Claims{Issuer: "i", Subject: "s", ClientID: "c", AuthorizedParty: "a", FHIRUser: "f", Patient: "p", ID: "j"}
	for name, want := range map[string]string{"iss": "i", "sub": "s", "client_id": "c", "azp": "a", "fhirUser": "f", "patient": "p", "jti": "j"} {
		got, ok := c.StringClaim(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	_, ok := c.StringClaim("username")
	assert.False(t, ok, "no Raw: other names are absent")
	got, ok := (&Claims{Raw: json.RawMessage(`{"patient":"from-raw"}`)}).StringClaim("patient")
	assert.True(t, ok)
	assert.Equal(t, "from-raw", got)
}
