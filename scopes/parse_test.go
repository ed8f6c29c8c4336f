package scopes

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	labCategory = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	// realisticClaim is the claim of BenchmarkParseClaim: a standalone
	// patient app with one granular scope.
	realisticClaim = "openid fhirUser launch/patient patient/*.rs patient/Observation.rs?category=" + labCategory + " offline_access"
)

type validCase struct {
	name string
	in   string
	p    Parser
	want Scope
}

func res(raw string, ctx Context, typ string, p Permissions, v Version) Scope {
	return Scope{Raw: raw, Kind: KindResource, Context: ctx, Resource: typ, Permissions: p, Version: v}
}

func granular(raw string, ctx Context, typ string, p Permissions, rawQuery string, params ...Param) Scope {
	s := res(raw, ctx, typ, p, V2)
	s.RawQuery, s.Query = rawQuery, params
	return s
}

const (
	rs    = PermRead | PermSearch
	cud   = PermCreate | PermUpdate | PermDelete
	cruds = PermAll
)

// validCases are valid tokens with their parse result. FuzzParse seeds from
// them.
func validCases() []validCase {
	return []validCase{
		// Illustrative parse results of the SMART App Launch spec.
		{name: "§9 spec example patient/Observation.rs", in: "patient/Observation.rs",
			want: res("patient/Observation.rs", ContextPatient, "Observation", rs, V2)},
		{name: "§9 v1 wildcard user/*.*", in: "user/*.*",
			want: res("user/*.*", ContextUser, "*", cruds, V1)},
		{name: "§9 v1 read patient/Observation.read", in: "patient/Observation.read",
			want: res("patient/Observation.read", ContextPatient, "Observation", rs, V1)},
		{name: "§9 spec backend example system/Encounter.cud", in: "system/Encounter.cud",
			want: res("system/Encounter.cud", ContextSystem, "Encounter", cud, V2)},
		{name: "§9 granular, query kept raw", in: "patient/Observation.rs?category=" + labCategory,
			want: granular("patient/Observation.rs?category="+labCategory, ContextPatient, "Observation", rs,
				"category="+labCategory, Param{"category", labCategory})},
		{name: "§9 launch/patient is not clinical", in: "launch/patient",
			want: Scope{Raw: "launch/patient", Kind: KindLaunch, LaunchContext: "patient"}},
		{name: "§9 __profilePhoto.manage is an extension", in: "__profilePhoto.manage",
			want: Scope{Raw: "__profilePhoto.manage", Kind: KindExtension}},

		// §4 v1 → v2 equivalences ("v1 .write ⇒ v2 .cud", v2.2.0).
		{name: "§4 v1 write", in: "user/Observation.write",
			want: res("user/Observation.write", ContextUser, "Observation", cud, V1)},
		{name: "§4 v1 star on a type", in: "patient/Condition.*",
			want: res("patient/Condition.*", ContextPatient, "Condition", cruds, V1)},
		{name: "§2 Bulk Data v1 system/*.read", in: "system/*.read",
			want: res("system/*.read", ContextSystem, "*", rs, V1)},
		{name: "§1 user/*.read", in: "user/*.read",
			want: res("user/*.read", ContextUser, "*", rs, V1)},

		// §3 v2: "Valid suffixes are a subset of the in-order string .cruds" (v2.2.0).
		{name: "§3 v2 c", in: "patient/Patient.c", want: res("patient/Patient.c", ContextPatient, "Patient", PermCreate, V2)},
		{name: "§3 v2 r", in: "patient/Patient.r", want: res("patient/Patient.r", ContextPatient, "Patient", PermRead, V2)},
		{name: "§3 v2 u", in: "patient/Patient.u", want: res("patient/Patient.u", ContextPatient, "Patient", PermUpdate, V2)},
		{name: "§3 v2 d", in: "patient/Patient.d", want: res("patient/Patient.d", ContextPatient, "Patient", PermDelete, V2)},
		{name: "§3 v2 s", in: "patient/Patient.s", want: res("patient/Patient.s", ContextPatient, "Patient", PermSearch, V2)},
		{name: "§3 v2 cruds", in: "user/*.cruds", want: res("user/*.cruds", ContextUser, "*", cruds, V2)},
		{name: "§3 v2 cu", in: "user/Observation.cu", want: res("user/Observation.cu", ContextUser, "Observation", PermCreate|PermUpdate, V2)},
		{name: "§3 v2 rsu is not rs", in: "system/Patient.rus", want: res("system/Patient.rus", ContextSystem, "Patient", PermRead|PermUpdate|PermSearch, V2)},
		{name: "§3 v2 wildcard patient/*.rs", in: "patient/*.rs", want: res("patient/*.rs", ContextPatient, "*", rs, V2)},
		{name: "R4 Binary", in: "user/Binary.r", want: res("user/Binary.r", ContextUser, "Binary", PermRead, V2)},
		{name: "R4 Bundle", in: "system/Bundle.c", want: res("system/Bundle.c", ContextSystem, "Bundle", PermCreate, V2)},
		{name: "R4 Parameters", in: "user/Parameters.read", want: res("user/Parameters.read", ContextUser, "Parameters", rs, V1)},
		{name: "R4 VisionPrescription", in: "patient/VisionPrescription.rs", want: res("patient/VisionPrescription.rs", ContextPatient, "VisionPrescription", rs, V2)},

		// §6 granular scopes.
		{name: "§6 two params AND", in: "patient/Observation.rs?category=laboratory&code=http://loinc.org|1234-5",
			want: granular("patient/Observation.rs?category=laboratory&code=http://loinc.org|1234-5", ContextPatient, "Observation", rs,
				"category=laboratory&code=http://loinc.org|1234-5", Param{"category", "laboratory"}, Param{"code", "http://loinc.org|1234-5"})},
		{name: "§6 HealthLake accepts %7C, kept raw", in: "patient/Observation.rs?code=http://loinc.org%7C1234-5",
			want: granular("patient/Observation.rs?code=http://loinc.org%7C1234-5", ContextPatient, "Observation", rs,
				"code=http://loinc.org%7C1234-5", Param{"code", "http://loinc.org%7C1234-5"})},
		{name: "§6 spec example Condition health-concern", in: "patient/Condition.rs?category=http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern",
			want: granular("patient/Condition.rs?category=http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern", ContextPatient, "Condition", rs,
				"category=http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern",
				Param{"category", "http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern"})},
		{name: "§6 modifier is grammar-valid", in: "user/Observation.rs?code:in=http://example.org/vs",
			want: granular("user/Observation.rs?code:in=http://example.org/vs", ContextUser, "Observation", rs,
				"code:in=http://example.org/vs", Param{"code:in", "http://example.org/vs"})},
		{name: "§6 chaining is grammar-valid", in: "user/Observation.rs?patient.birthdate=gt2000",
			want: granular("user/Observation.rs?patient.birthdate=gt2000", ContextUser, "Observation", rs,
				"patient.birthdate=gt2000", Param{"patient.birthdate", "gt2000"})},
		{name: "§6 granular write", in: "user/Condition.cud?category=problem-list-item",
			want: granular("user/Condition.cud?category=problem-list-item", ContextUser, "Condition", cud,
				"category=problem-list-item", Param{"category", "problem-list-item"})},

		// §7 launch scopes.
		{name: "§7 EHR launch", in: "launch", want: Scope{Raw: "launch", Kind: KindLaunch}},
		{name: "§7 launch/encounter", in: "launch/encounter", want: Scope{Raw: "launch/encounter", Kind: KindLaunch, LaunchContext: "encounter"}},
		{name: "§7 launch/diagnosticreport all lower case", in: "launch/diagnosticreport",
			want: Scope{Raw: "launch/diagnosticreport", Kind: KindLaunch, LaunchContext: "diagnosticreport"}},
		{name: "§7 launch with one role", in: "launch/patient?role=https://example.org/role",
			want: Scope{Raw: "launch/patient?role=https://example.org/role", Kind: KindLaunch, LaunchContext: "patient",
				RawQuery: "role=https://example.org/role", Role: "https://example.org/role"}},

		// §8 identity, refresh, extension.
		{name: "§8 openid", in: "openid", want: Scope{Raw: "openid", Kind: KindIdentity}},
		{name: "§8 fhirUser", in: "fhirUser", want: Scope{Raw: "fhirUser", Kind: KindIdentity}},
		{name: "§8 profile (v1, deprecated)", in: "profile", want: Scope{Raw: "profile", Kind: KindIdentity}},
		{name: "§8 offline_access", in: "offline_access", want: Scope{Raw: "offline_access", Kind: KindRefresh}},
		{name: "§8 online_access", in: "online_access", want: Scope{Raw: "online_access", Kind: KindRefresh}},
		{name: "§1 extension URI", in: "https://ehr.example.org/scopes/x", want: Scope{Raw: "https://ehr.example.org/scopes/x", Kind: KindExtension}},
		{name: "§8 extension URN", in: "urn:example:scope", want: Scope{Raw: "urn:example:scope", Kind: KindExtension}},
		{name: "§8 extension __x", in: "__x", want: Scope{Raw: "__x", Kind: KindExtension}},

		// AnyResourceType.
		{name: "AnyResourceType accepts a custom type", in: "patient/Foo.rs", p: Parser{AnyResourceType: true},
			want: res("patient/Foo.rs", ContextPatient, "Foo", rs, V2)},
		{name: "AnyResourceType accepts R5 type", in: "user/Transport.r", p: Parser{AnyResourceType: true},
			want: res("user/Transport.r", ContextUser, "Transport", PermRead, V2)},
	}
}

type invalidCase struct {
	name string
	in   string
	p    Parser
	why  string // substring of ParseError.Reason
}

// invalidCases lists every invalid form of the grammar. FuzzParse seeds from
// them.
func invalidCases() []invalidCase {
	return []invalidCase{
		// §9 and §3 project rules on permissions.
		{"§9 out of order .sr", "patient/Observation.sr", Parser{}, "out of order"},
		{"§9 empty permissions", "patient/Observation.", Parser{}, "empty permissions"},
		{"§3 spec .dus is not a defined scope", "patient/Observation.dus", Parser{}, "out of order"},
		{"§3 repeated .rr", "patient/Observation.rr", Parser{}, "repeated"},
		{"§3 repeated .rss", "patient/Observation.rss", Parser{}, "repeated"},
		{"§3 unknown letter .x", "patient/Observation.x", Parser{}, "unknown letter 'x'"},
		{"§3 trailing junk .rsXYZ", "patient/Observation.rsXYZ", Parser{}, "unknown letter 'X'"},
		{"§3 upper-case .READ", "patient/Observation.READ", Parser{}, "lower case"},
		{"§3 upper-case .Read", "user/*.Read", Parser{}, "lower case"},
		{"§3 upper-case letters .RS", "user/*.RS", Parser{}, "unknown letter 'R'"},
		{"double star", "user/*.**", Parser{}, "unknown letter '*'"},
		{"missing permissions", "patient/Observation", Parser{}, `missing "."`},
		{"missing type", "patient/.rs", Parser{}, "missing resource type"},
		// §2: case matters.
		{"§2 lower-case resource type", "patient/observation.rs", Parser{}, `resource type "observation" is not a FHIR R4 resource type (types are case-sensitive: did you mean "Observation"?)`},
		{"§2 lower-case resource type with AnyResourceType", "patient/observation.rs", Parser{AnyResourceType: true}, "not well-formed"},
		{"§2 upper-case context", "Patient/Observation.rs", Parser{}, `"Patient/" must be lower case`},
		{"§2 upper-case SYSTEM", "SYSTEM/*.read", Parser{}, "must be lower case"},
		{"unknown R4 type by default", "patient/Foo.rs", Parser{}, `resource type "Foo" is not a FHIR R4 resource type`},
		{"abstract Resource is not a concrete type", "user/Resource.rs", Parser{}, "not a FHIR R4 resource type"},
		{"digits in type with AnyResourceType", "user/Obs2.rs", Parser{AnyResourceType: true}, "not well-formed"},
		{"underscore in type with AnyResourceType", "user/My_Type.rs", Parser{AnyResourceType: true}, "not well-formed"},
		{"unknown context", "practitioner/Observation.rs", Parser{}, "not a SMART context"},
		{"Cognito resource-server prefix", "myapi/patient/Observation.read", Parser{}, "not a SMART context"},
		// §6 granular rules.
		{"§9 query on wildcard resource", "patient/*.rs?category=" + labCategory, Parser{}, `wildcard resource "*"`},
		{"§6 query on v1 scope", "patient/Observation.read?category=laboratory", Parser{}, "only allowed on v2"},
		{"§6 query on v1 star", "user/Observation.*?category=laboratory", Parser{}, "only allowed on v2"},
		{"§6 missing = (?category)", "patient/Observation.rs?category", Parser{}, `has no "="`},
		{"§6 missing = (?active)", "patient/Patient.rs?active", Parser{}, `has no "="`},
		{"§6 trailing ?", "patient/Observation.rs?", Parser{}, "empty query"},
		{"§6 second ?", "patient/Observation.rs?category=a?code=b", Parser{}, `second "?"`},
		{"§6 second = (?code:exact=a=b)", "patient/Observation.rs?code:exact=a=b", Parser{}, `second "="`},
		{"§6 empty name", "patient/Observation.rs?=laboratory", Parser{}, "empty name"},
		{"§6 empty value", "patient/Observation.rs?category=", Parser{}, "empty value"},
		{"§6 trailing &", "patient/Observation.rs?category=a&", Parser{}, `trailing "&"`},
		{"§6 leading &", "patient/Observation.rs?&category=a", Parser{}, `starts with "&"`},
		{"§6 double &&", "patient/Observation.rs?category=a&&code=b", Parser{}, `empty parameter ("&&")`},
		{"§6 missing = in second pair", "patient/Observation.rs?category=a&code", Parser{}, `"code" has no "="`},
		// No whitespace or control characters (RFC 6749 §3.3).
		{"space", "patient/Observation.rs ", Parser{}, "whitespace"},
		{"tab", "patient/Observation.rs\t", Parser{}, "whitespace"},
		{"newline in query", "patient/Observation.rs?category=a\nb", Parser{}, "whitespace"},
		{"NUL", "openid\x00", Parser{}, "control character"},
		{"DEL", "openid\x7f", Parser{}, "control character"},
		{"double quote", `patient/Observation.rs?code="a"`, Parser{}, "RFC 6749"},
		{"backslash", `__a\b`, Parser{}, "RFC 6749"},
		{"non-ASCII", "patient/Observation.rs?code=é", Parser{}, "RFC 6749"},
		{"empty token", "", Parser{}, "empty scope"},
		// §7 launch scopes.
		{"§7 Launch/patient", "Launch/patient", Parser{}, `"Launch/" must be lower case`},
		{"§7 launch/Patient is invalid", "launch/Patient", Parser{}, `launch context type "Patient" must be all lower case`},
		{"§7 launch/ without type", "launch/", Parser{}, "missing launch context type"},
		{"§7 launch type with digit", "launch/pat1ent", Parser{}, "lower-case letters"},
		{"§7 launch/patient/x", "launch/patient/x", Parser{}, "lower-case letters"},
		{"§7 at most one role", "launch/patient?role=a&role=b", Parser{}, "at most one parameter"},
		{"§7 role plus other param", "launch/patient?role=a&x=b", Parser{}, "at most one parameter"},
		{"§7 unknown launch param", "launch/patient?x=y", Parser{}, `unknown launch scope parameter "x"`},
		{"§7 empty role", "launch/patient?role=", Parser{}, "empty value"},
		{"§7 role without =", "launch/patient?role", Parser{}, `has no "="`},
		{"§7 empty launch query", "launch/patient?", Parser{}, "empty query"},
		{"§7 role with second =", "launch/patient?role=a=b", Parser{}, `second "="`},
		{"§7 role with second ?", "launch/patient?role=a?b", Parser{}, `second "?"`},
		{"§7 bare launch with role", "launch?role=x", Parser{}, `bare "launch"`},
		// §1 identity names are exact and case-sensitive.
		{"§1 OpenID", "OpenID", Parser{}, `did you mean "openid"`},
		{"§1 fhiruser", "fhiruser", Parser{}, `did you mean "fhirUser"`},
		{"§1 Offline_Access", "Offline_Access", Parser{}, `did you mean "offline_access"`},
		{"§1 unknown email", "email", Parser{}, "unknown scope"},
		{"§1 unknown Cognito admin scope", "aws.cognito.signin.user.admin", Parser{}, "unknown scope"},
		{"§1 launchpad is not launch", "launchpad", Parser{}, "unknown scope"},
		// §8 extension forms.
		{"§8 bare __", "__", Parser{}, `after the "__" prefix`},
		{"URI without rest", "urn:", Parser{}, "unknown scope"},
		{"URI scheme starting with digit", "1urn:x", Parser{}, "unknown scope"},
		{"colon first", ":x", Parser{}, "unknown scope"},
	}
}

func TestParse(t *testing.T) {
	for _, tc := range validCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.Parse(tc.in)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
			assert.Equal(t, tc.in, got.String(), "String round-trips")
			assert.Equal(t, tc.want.Kind == KindResource, got.IsResource())
			assert.Equal(t, tc.want.Kind == KindResource && tc.want.RawQuery != "", got.IsGranular())
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.Parse(tc.in)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.in, pe.Scope)
			assert.Zero(t, pe.Index)
			assert.Contains(t, pe.Reason, tc.why)
			assert.True(t, strings.HasPrefix(err.Error(), "scopes: invalid scope "), err.Error())
			assert.Equal(t, Scope{}, got, "invalid tokens yield the zero Scope")
		})
	}
}

func TestParseErrorUnknown(t *testing.T) {
	for in, want := range map[string]bool{
		"email":                          true,
		"aws.cognito.signin.user.admin":  true,
		"myapi/read":                     true,
		"OpenID":                         true,
		"Patient/Observation.rs":         true,
		"launchpad":                      true,
		"patient/Observation.sr":         false,
		"patient/Foo.rs":                 false,
		"launch/Patient":                 false,
		"launch?role=x":                  false,
		"__":                             false,
		"":                               false,
		"email address":                  false,
		"patient/Observation.rs?x=a=b":   false,
		"user/*.rs?category=laboratory":  false,
		"system/Observation.read?code=x": false,
	} {
		_, err := Parse(in)
		var pe *ParseError
		require.ErrorAs(t, err, &pe, in)
		assert.Equal(t, want, pe.Unknown, in)
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("patient/Observation.sr")
	require.Error(t, err)
	assert.Equal(t, `scopes: invalid scope "patient/Observation.sr": permissions "sr" out of order: want a subset of "cruds" in that order (e.g. "rs")`, err.Error())

	long := "patient/Observation.rs?code=" + strings.Repeat("a", 500) + "="
	_, err = Parse(long)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 400, "long tokens are truncated in messages")
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, long, pe.Scope, "the full token stays available")
}

func TestParseClaim(t *testing.T) {
	tests := []struct {
		name      string
		claim     string
		p         Parser
		want      []string // String() of the valid scopes, in order
		wantErrs  []string // substrings, one per invalid token, in order
		wantIndex []int
	}{
		{name: "empty claim", claim: ""},
		{name: "§1 mixed kinds", claim: realisticClaim,
			want: []string{"openid", "fhirUser", "launch/patient", "patient/*.rs", "patient/Observation.rs?category=" + labCategory, "offline_access"}},
		{name: "§3 mixing v1 and v2 is allowed", claim: "patient/Observation.read patient/Condition.rs user/*.write",
			want: []string{"patient/Observation.read", "patient/Condition.rs", "user/*.write"}},
		{name: "§3 never widen: invalid tokens dropped and reported", claim: "openid patient/Observation.sr patient/Condition.rs email",
			want:     []string{"openid", "patient/Condition.rs"},
			wantErrs: []string{"out of order", "unknown scope"}, wantIndex: []int{2, 4}},
		{name: "§1 double space yields an empty token", claim: "openid  fhirUser",
			want: []string{"openid", "fhirUser"}, wantErrs: []string{"empty scope"}, wantIndex: []int{2}},
		{name: "leading and trailing space", claim: " openid ",
			want: []string{"openid"}, wantErrs: []string{"empty scope", "empty scope"}, wantIndex: []int{1, 3}},
		{name: "single space only", claim: " ", wantErrs: []string{"empty scope", "empty scope"}, wantIndex: []int{1, 2}},
		{name: "tab is not a separator", claim: "openid\tfhirUser", wantErrs: []string{"whitespace"}, wantIndex: []int{1}},
		{name: "duplicates kept", claim: "openid openid", want: []string{"openid", "openid"}},
		{name: "AnyResourceType applies to every token", claim: "patient/Foo.rs user/Bar.r", p: Parser{AnyResourceType: true},
			want: []string{"patient/Foo.rs", "user/Bar.r"}},
		{name: "default R4 check applies to every token", claim: "patient/Foo.rs user/Bar.r",
			wantErrs: []string{`"Foo"`, `"Bar"`}, wantIndex: []int{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.p.ParseClaim(tc.claim)
			gotStrings := make([]string, 0, len(got))
			for _, s := range got {
				gotStrings = append(gotStrings, s.String())
			}
			if diff := cmp.Diff(tc.want, gotStrings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("valid scopes (-want +got):\n%s", diff)
			}
			if len(tc.wantErrs) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			joined, ok := err.(interface{ Unwrap() []error })
			require.True(t, ok, "ParseClaim joins one error per invalid token")
			errs := joined.Unwrap()
			require.Len(t, errs, len(tc.wantErrs))
			for i, e := range errs {
				var pe *ParseError
				require.ErrorAs(t, e, &pe)
				assert.Contains(t, pe.Reason, tc.wantErrs[i])
				assert.Equal(t, tc.wantIndex[i], pe.Index)
				assert.Contains(t, e.Error(), "(token "+strconv.Itoa(tc.wantIndex[i])+")")
			}
		})
	}
}

func TestParseClaimEqualsParse(t *testing.T) {
	for _, tc := range validCases() {
		got, err := tc.p.ParseClaim(tc.in)
		require.NoError(t, err, tc.in)
		require.Len(t, got, 1)
		want, err := tc.p.Parse(tc.in)
		require.NoError(t, err)
		if diff := cmp.Diff(want, got[0]); diff != "" {
			t.Errorf("%q (-Parse +ParseClaim):\n%s", tc.in, diff)
		}
	}
}

func TestParser(t *testing.T) {
	for _, tc := range validCases() {
		if tc.p != (Parser{}) {
			continue
		}
		want, err := Parse(tc.in)
		require.NoError(t, err)
		got, err := Parser{}.Parse(tc.in)
		require.NoError(t, err)
		assert.Equal(t, want, got, "zero Parser = Parse: %s", tc.in)
		claim, err := Parser{}.ParseClaim(tc.in + " " + tc.in)
		require.NoError(t, err)
		assert.Equal(t, []Scope{want, want}, claim, tc.in)
	}
	_, err := Parser{}.Parse("patient/Foo.rs")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Parser{AnyResourceType: true}.Parse("patient/Foo.rs")
	require.NoError(t, err)
}

func TestCanonicalForms(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		v2     string
		v1     string
		v1OK   bool
		perms  string
		compat string // HL7 IG quote
	}{
		{"§4 v1 read ⇒ v2 rs", "patient/Observation.read", "patient/Observation.rs", "patient/Observation.read", true, "rs", `"v1 .read ⇒ v2 .rs"`},
		{"§4 v1 write ⇒ v2 cud", "user/Observation.write", "user/Observation.cud", "user/Observation.write", true, "cud", `"v1 .write ⇒ v2 .cud"`},
		{"§4 v1 * ⇒ v2 cruds", "user/*.*", "user/*.cruds", "user/*.*", true, "cruds", `"v1 .* ⇒ v2 .cruds"`},
		{"§4 v2 rs ⇒ v1 read", "patient/Observation.rs", "patient/Observation.rs", "patient/Observation.read", true, "rs", ""},
		{"§4 v2 cud ⇒ v1 write", "system/Encounter.cud", "system/Encounter.cud", "system/Encounter.write", true, "cud", ""},
		{"§4 v2 cruds ⇒ v1 *", "system/*.cruds", "system/*.cruds", "system/*.*", true, "cruds", ""},
		{"§2 r alone has no v1 form (write does not imply read)", "patient/Observation.r", "patient/Observation.r", "", false, "r", ""},
		{"s alone has no v1 form", "patient/Observation.s", "patient/Observation.s", "", false, "s", ""},
		{"rsu has no v1 form", "patient/Observation.rus", "patient/Observation.rus", "", false, "rus", ""},
		{"cr has no v1 form", "user/Patient.cr", "user/Patient.cr", "", false, "cr", ""},
		{"§6 granular has no v1 form", "patient/Observation.rs?category=laboratory", "patient/Observation.rs?category=laboratory", "", false, "rs", ""},
		{"launch keeps its text, no v1 form", "launch/patient", "launch/patient", "", false, "", ""},
		{"openid keeps its text", "openid", "openid", "", false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.v2, s.V2())
			v1, ok := s.V1()
			assert.Equal(t, tc.v1OK, ok)
			assert.Equal(t, tc.v1, v1)
			assert.Equal(t, tc.perms, s.Permissions.String())
		})
	}
}

// TestConversionsNeverWiden: for every valid resource scope, Parse(V2())
// grants the same set, and so does Parse(V1()) when a v1 form exists
// ("never widen").
func TestConversionsNeverWiden(t *testing.T) {
	for _, tc := range validCases() {
		s, err := tc.p.Parse(tc.in)
		require.NoError(t, err)
		checkConversions(t, s, tc.p)
	}
	// Every permission set on a concrete and a wildcard type, both grammars.
	for p := Permissions(1); p <= PermAll; p++ {
		for _, typ := range []string{"Observation", "*"} {
			for _, ctx := range []string{"patient", "user", "system"} {
				s, err := Parse(ctx + "/" + typ + "." + p.String())
				require.NoError(t, err)
				assert.Equal(t, p, s.Permissions)
				checkConversions(t, s, Parser{})
			}
		}
	}
}

func checkConversions(t testing.TB, s Scope, p Parser) {
	t.Helper()
	v2, err := p.Parse(s.V2())
	require.NoError(t, err, "V2 of %q", s)
	if s.Kind != KindResource {
		assert.Equal(t, s, v2)
		_, ok := s.V1()
		assert.False(t, ok)
		return
	}
	assert.Equal(t, V2, v2.Version, "V2 of %q", s)
	assert.Equal(t, s.Permissions, v2.Permissions, "V2 of %q", s)
	assert.Equal(t, s.Context, v2.Context)
	assert.Equal(t, s.Resource, v2.Resource)
	assert.Equal(t, s.RawQuery, v2.RawQuery)
	if diff := cmp.Diff(s.Query, v2.Query); diff != "" {
		t.Errorf("V2 of %q changed the query:\n%s", s, diff)
	}
	if v1s, ok := s.V1(); ok {
		v1, err := p.Parse(v1s)
		require.NoError(t, err, "V1 of %q", s)
		assert.Equal(t, V1, v1.Version)
		assert.Equal(t, s.Permissions, v1.Permissions, "V1 of %q", s)
		assert.Equal(t, s.Context, v1.Context)
		assert.Equal(t, s.Resource, v1.Resource)
		assert.False(t, s.IsGranular(), "granular scopes have no v1 form")
	}
}

func TestStringers(t *testing.T) {
	assert.Equal(t, []string{"", "resource", "launch", "identity", "refresh", "extension", "Kind(6)"},
		[]string{Kind(0).String(), KindResource.String(), KindLaunch.String(), KindIdentity.String(), KindRefresh.String(), KindExtension.String(), Kind(6).String()})
	assert.Equal(t, []string{"", "patient", "user", "system", "Context(4)"},
		[]string{Context(0).String(), ContextPatient.String(), ContextUser.String(), ContextSystem.String(), Context(4).String()})
	assert.Equal(t, []string{"", "v1", "v2", "Version(3)"},
		[]string{Version(0).String(), V1.String(), V2.String(), Version(3).String()})
	assert.Equal(t, "", Permissions(0).String())
	assert.Equal(t, "cruds", PermAll.String())
	assert.Equal(t, "rs", (PermSearch | PermRead).String())
	assert.Equal(t, "cd", (PermDelete | PermCreate).String())
	assert.Equal(t, "cruds", Permissions(0xff).String(), "bits above s are ignored")
	assert.True(t, PermAll.Has(PermRead|PermSearch))
	assert.False(t, PermRead.Has(PermRead|PermSearch))
	assert.Equal(t, "category=x", Param{"category", "x"}.String())
}

func TestR4ResourceTypes(t *testing.T) {
	types := R4ResourceTypes()
	assert.Len(t, types, 146, "FHIR R4 4.0.1 defines 146 concrete resource types")
	assert.True(t, slices.IsSorted(types))
	assert.Len(t, slices.Compact(slices.Clone(types)), len(types), "no duplicates")
	for _, typ := range types {
		assert.True(t, IsR4ResourceType(typ), typ)
		assert.True(t, isTypeName(typ), typ)
	}
	for _, typ := range []string{"", "Resource", "DomainResource", "observation", "OBSERVATION", "Transport", "Foo", "*"} {
		assert.False(t, IsR4ResourceType(typ), typ)
	}
	types[0] = "changed"
	assert.Equal(t, "Account", R4ResourceTypes()[0], "callers get a fresh slice")
}

// TestParseAllocs pins the hot-path cost: Parse allocates nothing for
// non-granular scopes and one slice for a granular one.
func TestParseAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	tests := []struct {
		in   string
		want float64
	}{
		{"patient/Observation.rs", 0},
		{"user/*.read", 0},
		{"openid", 0},
		{"launch/patient", 0},
		{"https://ehr.example.org/scopes/x", 0},
		{"patient/Observation.rs?category=" + labCategory, 1},
		{"patient/Observation.rs?category=laboratory&code=1234-5", 1},
	}
	for _, tc := range tests {
		got := testing.AllocsPerRun(100, func() {
			if _, err := Parse(tc.in); err != nil {
				panic(err)
			}
		})
		assert.Equal(t, tc.want, got, tc.in)
	}
	p := Parser{AnyResourceType: true}
	got := testing.AllocsPerRun(100, func() {
		if _, err := p.Parse("patient/Foo.rs"); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, got, "Parser.Parse: settings cost nothing per call")
	got = testing.AllocsPerRun(100, func() {
		if _, err := ParseClaim(realisticClaim); err != nil {
			panic(err)
		}
	})
	assert.Equal(t, 2.0, got, "ParseClaim: the result slice and one granular query")
}

func BenchmarkParseClaim(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseClaim(realisticClaim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{"patient/Observation.rs", "user/*.read", "patient/Observation.rs?category=" + labCategory, "openid"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestParseGranularParams covers the parameter-name rules of a granular
// scope's query (params.go): filters parse, anything a lenient server could
// ignore (and so grant more than written) is invalid.
func TestParseGranularParams(t *testing.T) {
	for _, tc := range granularParamCases() {
		t.Run(tc.name, func(t *testing.T) {
			in := "patient/Observation.rs?" + tc.query
			got, err := tc.p.Parse(in)
			if tc.why == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.query, got.RawQuery)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, pe.Reason, tc.why)
			assert.False(t, pe.Unknown, "a malformed SMART scope, not an unknown token")
			assert.Equal(t, Scope{}, got)
		})
	}
}

type granularParamCase struct {
	name  string
	query string // after "patient/Observation.rs?"
	p     Parser
	why   string // "" = valid; else a substring of ParseError.Reason
}

// granularParamCases: FuzzParse seeds from them too.
func granularParamCases() []granularParamCase {
	return []granularParamCase{
		// Allowed: search parameter codes and the "_" filters.
		{"code with hyphen", "value-quantity=5", Parser{}, ""},
		{"code with digit", "component-code2=x", Parser{}, ""},
		{"_id", "_id=1", Parser{}, ""},
		{"_lastUpdated", "_lastUpdated=gt2020-01-01", Parser{}, ""},
		{"_tag, _profile, _security, _source", "_tag=a&_profile=b&_security=c&_source=d", Parser{}, ""},
		{"_text, _content, _list", "_text=a&_content=b&_list=c", Parser{}, ""},
		// Allowed, experimental (Permits refuses them by default).
		{"modifier exact", "code:exact=x", Parser{}, ""},
		{"modifier not-in", "code:not-in=http://example.org/vs", Parser{}, ""},
		{"modifier of-type", "identifier:of-type=a|b|c", Parser{}, ""},
		{"modifier on a _ filter", "_tag:not=x", Parser{}, ""},
		{"type modifier", "subject:Patient=Patient/1", Parser{}, ""},
		{"typed chain", "subject:Patient.name=x", Parser{}, ""},
		{"untyped chain", "patient.birthdate=gt2000", Parser{}, ""},
		{"long chain with modifier at the end", "subject:Patient.general-practitioner:Practitioner.name:exact=x", Parser{}, ""},
		{"chain ending in _id", "subject:Patient._id=1", Parser{}, ""},
		{"custom type in chain with AnyResourceType", "subject:Foo.name=x", Parser{AnyResourceType: true}, ""},
		{"_has", "_has:Observation:patient:code=1234", Parser{}, ""},
		{"_has with modifier", "_has:Observation:patient:code:exact=1234", Parser{}, ""},
		{"_has on a _ filter", "_has:Observation:patient:_id=1", Parser{}, ""},
		{"_has with a custom type and AnyResourceType", "_has:Foo:patient:code=1", Parser{AnyResourceType: true}, ""},
		{"_filter", "_filter=name%20eq%20x", Parser{}, ""},
		{"_query", "_query=current", Parser{}, ""},

		// Case variants of reserved names.
		{"_INCLUDE", "_INCLUDE=Observation:patient", Parser{}, `parameter "_INCLUDE": parameter names are case-sensitive (did you mean "_include"?)`},
		{"_Type", "_Type=Patient", Parser{}, `did you mean "_type"?`},
		{"_ID", "_ID=1", Parser{}, `did you mean "_id"?`},
		{"_lastupdated", "_lastupdated=gt2020", Parser{}, `did you mean "_lastUpdated"?`},
		{"_HAS", "_HAS:Observation:patient:code=1", Parser{}, `did you mean "_has"?`},
		{"_Filter", "_Filter=x", Parser{}, `did you mean "_filter"?`},
		{"upper-case code", "Category=laboratory", Parser{}, `search parameter names are lower case (did you mean "category"?)`},
		{"upper-case modifier", "code:EXACT=x", Parser{}, `modifiers are case-sensitive (did you mean "exact"?)`},
		{"upper-case modifier with AnyResourceType", "code:Missing=true", Parser{AnyResourceType: true}, `did you mean "missing"?`},
		// Result parameters do not filter.
		{"_include", "_include=Observation:patient", Parser{}, `"_include" does not filter resources`},
		{"_revinclude", "_revinclude=Provenance:target", Parser{}, `"_revinclude" does not filter resources`},
		{"_type", "_type=Patient", Parser{}, `"_type" does not filter resources`},
		{"_count", "_count=1", Parser{}, `"_count" does not filter resources`},
		{"_sort", "_sort=date", Parser{}, `"_sort" does not filter`},
		{"_summary", "_summary=count", Parser{}, `"_summary" does not filter`},
		{"_elements", "_elements=id", Parser{}, `"_elements" does not filter`},
		{"_include:iterate", "_include:iterate=Observation:patient", Parser{}, `"_include" does not filter`},
		{"result parameter after a valid one", "category=a&_count=1", Parser{}, `"_count" does not filter`},
		// Unknown names and modifiers.
		{"unknown _ name", "_foo=x", Parser{}, `unknown parameter "_foo"`},
		{"__ name", "__x=y", Parser{}, `unknown parameter "__x"`},
		{"underscore inside a code", "cat_egory=x", Parser{}, "not a search parameter name"},
		{"digit first", "1code=x", Parser{}, "not a search parameter name"},
		{"percent-encoded colon", "code%3Aexact=x", Parser{}, "not a search parameter name"},
		{"unknown modifier", "code:foo=x", Parser{}, `unknown modifier "foo"`},
		{"iterate is not a filter modifier", "code:iterate=x", Parser{}, `unknown modifier "iterate"`},
		{"two modifiers", "code:in:not=x", Parser{}, `unknown modifier "in:not"`},
		{"empty modifier", "code:=x", Parser{}, `unknown modifier ""`},
		{"type modifier not R4", "subject:Foo=x", Parser{}, `"Foo" is not a resource type`},
		{"lower-case type modifier", "subject:patient=x", Parser{}, `unknown modifier "patient"`},
		// Malformed chains.
		{"chain through a non-R4 type", "subject:Foo.name=x", Parser{}, `"Foo" is not a resource type`},
		{"chain link with a modifier", "subject:exact.name=x", Parser{}, `"exact" is not a resource type`},
		{"chain through a lower-case type", "subject:patient.name=x", Parser{}, `"patient" is not a resource type (types are case-sensitive: did you mean "Patient"?)`},
		{"chain through _id", "_id.name=x", Parser{}, `"_id" cannot be chained`},
		{"chain through a result parameter", "_include.name=x", Parser{}, `"_include" does not filter`},
		{"chain starting with .", ".name=x", Parser{}, "empty parameter name"},
		{"chain ending with .", "subject.=x", Parser{}, "empty parameter name"},
		{"double dot", "subject..name=x", Parser{}, "empty parameter name"},
		{"chained _filter", "subject:Patient._filter=x", Parser{}, "_filter takes no modifier and cannot be chained"},
		{"_filter with a modifier", "_filter:x=y", Parser{}, "_filter takes no modifier"},
		// Malformed _has.
		{"bare _has", "_has=x", Parser{}, "malformed _has"},
		{"_has without parameter", "_has:Observation:patient=x", Parser{}, "malformed _has"},
		{"nested _has", "_has:Observation:patient:_has:AuditEvent:entity:agent=x", Parser{}, "malformed _has"},
		{"_has with a non-type", "_has:observation:patient:code=x", Parser{}, `"observation" is not a resource type`},
		{"_has with chaining", "_has:Observation:patient:code.name=x", Parser{}, "_has cannot be combined with chaining"},
		{"_has with an unknown modifier", "_has:Observation:patient:code:foo=x", Parser{}, `unknown modifier "foo"`},
	}
}
