package smartauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// The reflection-free decoders must agree with the reference decoders of
// decode_reference_test.go (the former encoding/json-based code) on
// acceptance, on the sentinel of every rejection, and on every decoded
// value, nil versus empty slices included.

// payloadSentinels are the errors decodeClaims may wrap.
var payloadSentinels = []error{ErrPayload, ErrClaimType, ErrIssuer, ErrExpMissing, ErrIatMissing}

// stringClaimNames are looked up with StringClaim on every accepted payload.
var stringClaimNames = []string{"iss", "sub", "username", "preferred_username", "token_use", "typ",
	"scope", "version", "origin_jti", "custom", "exp", "realm_access", "", "ſub"}

// diffDecode returns "" when decodeClaims and refDecodeClaims agree on
// payload, or a description of the difference.
func diffDecode(payload []byte) string {
	got, gerr := decodeClaims(payload)
	want, werr := refDecodeClaims(payload)
	if (gerr == nil) != (werr == nil) {
		return fmt.Sprintf("error mismatch: got %v, reference %v", gerr, werr)
	}
	if werr != nil {
		n := 0
		for _, s := range payloadSentinels {
			if errors.Is(gerr, s) != errors.Is(werr, s) {
				return fmt.Sprintf("sentinel mismatch: got %v, reference %v", gerr, werr)
			}
			if errors.Is(gerr, s) {
				n++
			}
		}
		if n != 1 {
			return fmt.Sprintf("error wraps %d sentinels: %v", n, gerr)
		}
		if !strings.HasPrefix(gerr.Error(), "smartauth: ") {
			return fmt.Sprintf("error text %q lacks the package prefix", gerr)
		}
		return ""
	}
	if d := cmp.Diff(want, got); d != "" {
		return "claims (-reference +got):\n" + d
	}
	for _, name := range stringClaimNames {
		gv, gok := got.StringClaim(name)
		wv, wok := refStringClaim(payload, name)
		if name == "iss" || name == "sub" { // served from the typed fields
			wv, wok = want.StringClaim(name)
		}
		if gv != wv || gok != wok {
			return fmt.Sprintf("StringClaim(%q): got %q/%v, reference %q/%v", name, gv, gok, wv, wok)
		}
	}
	return ""
}

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
	// Member count limit.
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

func TestDecodeClaimsMatchesReference(t *testing.T) {
	corpus := decodeCorpus()
	accepted := 0
	for i, p := range corpus {
		if d := diffDecode([]byte(p)); d != "" {
			t.Errorf("payload %d %s:\n%s", i, clipForLog(p), d)
		}
		if _, err := decodeClaims([]byte(p)); err == nil {
			accepted++
		}
	}
	// The corpus must exercise both outcomes substantially.
	if accepted < 50 || len(corpus)-accepted < 50 {
		t.Fatalf("corpus of %d payloads has %d accepted", len(corpus), accepted)
	}
}

func clipForLog(s string) string {
	if len(s) > 300 {
		return fmt.Sprintf("%q...", s[:300])
	}
	return fmt.Sprintf("%q", s)
}

// FuzzDecodeClaims compares the reflection-free decoder with the
// encoding/json reference on arbitrary payloads: acceptance, sentinel,
// every field (nil versus empty included) and StringClaim; and the JSON
// string unescaper with encoding/json on any input that is a JSON string.
func FuzzDecodeClaims(f *testing.F) {
	for _, p := range decodeCorpus() {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if d := diffDecode(payload); d != "" {
			t.Fatalf("payload %s:\n%s", clipForLog(string(payload)), d)
		}
		if got, want := rawStringClaimResult(payload), refStringClaimResult(payload); got != want {
			t.Fatalf("rawStringClaim on %s: got %s, reference %s", clipForLog(string(payload)), got, want)
		}
		checkUnquote(t, payload)
	})
}

func rawStringClaimResult(raw []byte) string {
	var b strings.Builder
	for _, n := range stringClaimNames {
		v, ok := rawStringClaim(raw, n)
		fmt.Fprintf(&b, "%q=%q/%v ", n, v, ok)
	}
	return b.String()
}

func refStringClaimResult(raw []byte) string {
	var b strings.Builder
	for _, n := range stringClaimNames {
		v, ok := refStringClaim(raw, n)
		fmt.Fprintf(&b, "%q=%q/%v ", n, v, ok)
	}
	return b.String()
}

// checkUnquote: when s is exactly one valid UTF-8 JSON string literal,
// appendUnquoted decodes it as encoding/json does.
func checkUnquote(t *testing.T, s []byte) {
	t.Helper()
	if len(s) < 2 || s[0] != '"' || !json.Valid(s) || !utf8.Valid(s) {
		return
	}
	if skipString(s, 0) != len(s) {
		return // surrounding whitespace or not a single literal
	}
	var want string
	if err := json.Unmarshal(s, &want); err != nil {
		t.Fatalf("reference refused %q: %v", s, err)
	}
	if got := string(appendUnquoted(nil, s[1:len(s)-1])); got != want {
		t.Fatalf("unquote %q: got %q, want %q", s, got, want)
	}
}

func TestAppendUnquoted(t *testing.T) {
	for _, lit := range []string{`""`, `"plain"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00"`, `"\ud800x"`, `"x\ud800\u0041"`,
		`"\udc00\ud800"`, `"\ud800\ud800\udc00"`, `"\udbff\udfff"`, `"\\"`, `"\/"`, `"\"q\""`, `"\b\f\n\r\t"`,
		`"\u00e9\u00E9\u00c9"`, `"é€𝄞"`, `"a\u0000b"`, `"\u2028\u2029"`, `"\\u0041"`, `"\\\u0041"`, `"\ud800\\udc00"`,
		`"\uD83D\uDE00"`, `"\ufffd"`, `"x\\"`} {
		checkUnquote(t, []byte(lit))
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		if got := string(appendUnquoted([]byte("prefix:"), []byte(lit[1:len(lit)-1]))); got != "prefix:"+want {
			t.Errorf("%s: got %q, want %q", lit, got, "prefix:"+want)
		}
	}
}

// StringClaim also accepts a Raw built by hand: invalid UTF-8, invalid
// JSON and non-objects behave as with the former map decoding.
func TestStringClaimHandBuiltRaw(t *testing.T) {
	for _, raw := range []string{``, `null`, `[]`, `"x"`, `{"username":"a","username":"b"}`, `{"username":1}`,
		"{\"username\":\"a\xffb\"}", "{\"user\xffname\":\"a\"}", `{"username":"a"`, `{"us\u0065rname":"\u00e9"}`,
		` { "username" : "x" } `, `{"username":null}`} {
		c := &Claims{Raw: json.RawMessage(raw)}
		gv, gok := c.StringClaim("username")
		wv, wok := refStringClaim([]byte(raw), "username")
		if gv != wv || gok != wok {
			t.Errorf("%q: got %q/%v, reference %q/%v", raw, gv, gok, wv, wok)
		}
	}
}

// diffHeader compares parseHeader with the former implementation.
func diffHeader(hb []byte) string {
	got, gerr := parseHeader(hb)
	want, werr := refParseHeader(hb)
	if (gerr == nil) != (werr == nil) {
		return fmt.Sprintf("error mismatch: got %v, reference %v", gerr, werr)
	}
	if werr != nil {
		for _, s := range []error{ErrHeader, ErrHeaderParameter, ErrAlgorithm, ErrKidMissing, ErrType} {
			if errors.Is(gerr, s) != errors.Is(werr, s) {
				return fmt.Sprintf("sentinel mismatch: got %v, reference %v", gerr, werr)
			}
		}
		return ""
	}
	p := parts{headerJSON: hb, header: got}
	if kid := p.kid(); got.Alg != want.Alg || kid != want.Kid {
		return fmt.Sprintf("got alg %q kid %q, reference alg %q kid %q", got.Alg, kid, want.Alg, want.Kid)
	}
	return ""
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

func TestParseHeaderMatchesReference(t *testing.T) {
	for i, h := range headerCorpus() {
		if d := diffHeader([]byte(h)); d != "" {
			t.Errorf("header %d %s:\n%s", i, clipForLog(h), d)
		}
	}
}

// FuzzParseHeader compares parseHeader with the former implementation.
func FuzzParseHeader(f *testing.F) {
	for _, h := range headerCorpus() {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, hb []byte) {
		if len(hb) > maxHeaderSize {
			return // splitToken refuses larger headers first
		}
		if d := diffHeader(hb); d != "" {
			t.Fatalf("header %s:\n%s", clipForLog(string(hb)), d)
		}
	})
}

// decodeClaims checks and decodes a payload in one go (scan, then build).
// It is the test entry point; Validate runs the two phases separately, with the issuer lookup, key
// lookup and signature check in between. The payload must be a JSON object
// with unique member names and well-typed claims.
func decodeClaims(payload []byte) (*Claims, error) {
	var sc claimScan
	if err := sc.scan(payload); err != nil {
		return nil, err
	}
	c := new(Claims)
	if err := sc.build(c, string(payload)); err != nil {
		return nil, err
	}
	return c, nil
}
