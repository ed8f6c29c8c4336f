package scopes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	healthConcern      = "http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern"
	encounterDiagnosis = "http://terminology.hl7.org/CodeSystem/condition-category|encounter-diagnosis"
)

func mustClaim(t testing.TB, claim string) []Scope {
	t.Helper()
	s, err := ParseClaim(claim)
	require.NoError(t, err)
	return s
}

func mustRequest(t testing.TB, method, path string) Request {
	t.Helper()
	r, err := ParseRequest(method, path)
	require.NoError(t, err)
	return r
}

type permitCase struct {
	name   string
	claim  string
	method string
	path   string
	ck     Checker
	want   Decision
}

func runPermitCases(t *testing.T, cases []permitCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.ck.Permits(mustClaim(t, tc.claim), mustRequest(t, tc.method, tc.path))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Permits(%q, %s %s) (-want +got):\n%s", tc.claim, tc.method, tc.path, diff)
			}
		})
	}
}

var withPatient = Checker{Patient: "p1"}

// TestPermitsSpecExamples implements the allow/deny table of
// Worked examples 1-10 of the scope semantics.
func TestPermitsSpecExamples(t *testing.T) {
	runPermitCases(t, []permitCase{
		// #1 patient/Observation.rs: read allow / delete deny / other type deny.
		{"§12 #1 GET /Observation/123 allow", "patient/Observation.rs", "GET", "/Observation/123", withPatient,
			Decision{Allowed: true, Scope: "patient/Observation.rs", Reason: "granted by patient/Observation.rs"}},
		{"§12 #1 DELETE /Observation/123 deny", "patient/Observation.rs", "DELETE", "/Observation/123", withPatient,
			Decision{Reason: "no scope grants d on Observation"}},
		{"§12 #1 GET /Patient/1 deny (type mismatch)", "patient/Observation.rs", "GET", "/Patient/1", withPatient,
			Decision{Reason: "no scope grants r on Patient"}},

		// #2 user/*.cruds allows everything.
		{"§12 #2 read Patient", "user/*.cruds", "GET", "Patient/1", Checker{},
			Decision{Allowed: true, Scope: "user/*.cruds", Reason: "granted by user/*.cruds"}},
		{"§12 #2 search Observation", "user/*.cruds", "GET", "Observation?code=x", Checker{},
			Decision{Allowed: true, Scope: "user/*.cruds", Reason: "granted by user/*.cruds"}},
		{"§12 #2 update Condition", "user/*.cruds", "PUT", "Condition/7", Checker{},
			Decision{Allowed: true, Scope: "user/*.cruds", Reason: "granted by user/*.cruds"}},
		{"§12 #2 create DiagnosticReport", "user/*.cruds", "POST", "DiagnosticReport", Checker{},
			Decision{Allowed: true, Scope: "user/*.cruds", Reason: "granted by user/*.cruds"}},

		// #3 patient/Patient.s patient/Observation.r.
		{"§12 #3 search Patient allow", "patient/Patient.s patient/Observation.r", "GET", "Patient", withPatient,
			Decision{Allowed: true, Scope: "patient/Patient.s", Reason: "granted by patient/Patient.s"}},
		{"§12 #3 read Patient by id deny", "patient/Patient.s patient/Observation.r", "GET", "Patient/p1", withPatient,
			Decision{Reason: "no scope grants r on Patient"}},
		{"§12 #3 read Observation allow", "patient/Patient.s patient/Observation.r", "GET", "Observation/o1", withPatient,
			Decision{Allowed: true, Scope: "patient/Observation.r", Reason: "granted by patient/Observation.r"}},
		{"§12 #3 search Observation deny", "patient/Patient.s patient/Observation.r", "GET", "Observation", withPatient,
			Decision{Reason: "no scope grants s on Observation"}},

		// #4 no c anywhere.
		{"§12 #4 POST /Observation deny (no c)", "patient/*.rs patient/Observation.u", "POST", "/Observation", withPatient,
			Decision{Reason: "no scope grants c on Observation"}},

		// #5 type mismatch with system scopes.
		{"§12 #5 GET /Procedure?… deny", "system/DocumentReference.read system/Patient.read", "GET", "/Procedure?patient=1", Checker{},
			Decision{Reason: "no scope grants s on Procedure"}},

		// #6 granular Condition.rs?category=…|health-concern.
		{"§12 #6 search Condition allow with filter", "patient/Condition.rs?category=" + healthConcern, "GET", "Condition", withPatient,
			Decision{Allowed: true, Scope: "patient/Condition.rs?category=" + healthConcern,
				Reason:  "granted by granular scope patient/Condition.rs?category=" + healthConcern + " only: the caller MUST enforce its filter",
				Filters: []Filter{{ResourceType: "Condition", Scope: "patient/Condition.rs?category=" + healthConcern, Params: []Param{{"category", healthConcern}}}}}},
		// Permits cannot see the stored resource: a read is allowed only
		// conditionally and the caller denies it when the resource does not
		// match the filter (a non-matching Condition is denied).
		{"§12 #6 read Condition: conditional, non-matching is denied by the caller", "patient/Condition.rs?category=" + healthConcern, "GET", "Condition/c1", withPatient,
			Decision{Allowed: true, Scope: "patient/Condition.rs?category=" + healthConcern,
				Reason:  "granted by granular scope patient/Condition.rs?category=" + healthConcern + " only: the caller MUST enforce its filter",
				Filters: []Filter{{ResourceType: "Condition", Scope: "patient/Condition.rs?category=" + healthConcern, Params: []Param{{"category", healthConcern}}}}}},
		{"§12 #6 delete Condition deny", "patient/Condition.rs?category=" + healthConcern, "DELETE", "Condition/c1", withPatient,
			Decision{Reason: "no scope grants d on Condition"}},

		// #7 two granular scopes: OR within the type.
		{"§12 #7 search Condition allow, two filters", "patient/Condition.rs?category=health-concern patient/Condition.rs?category=encounter-diagnosis", "GET", "Condition", withPatient,
			Decision{Allowed: true, Scope: "patient/Condition.rs?category=health-concern",
				Reason: "granted by 2 granular scopes on Condition only: the caller MUST enforce their filters (OR across scopes)",
				Filters: []Filter{
					{ResourceType: "Condition", Scope: "patient/Condition.rs?category=health-concern", Params: []Param{{"category", "health-concern"}}},
					{ResourceType: "Condition", Scope: "patient/Condition.rs?category=encounter-diagnosis", Params: []Param{{"category", "encounter-diagnosis"}}},
				}}},

		// #8 wildcard wins.
		{"§12 #8 search Observation allow, no filter (wildcard wins)", "patient/Observation.rs?code=foo patient/*.cruds", "GET", "Observation", withPatient,
			Decision{Allowed: true, Scope: "patient/*.cruds", Reason: "granted by patient/*.cruds"}},
		{"§12 #8 order does not matter", "patient/*.cruds patient/Observation.rs?code=foo", "GET", "Observation", withPatient,
			Decision{Allowed: true, Scope: "patient/*.cruds", Reason: "granted by patient/*.cruds"}},

		// #9 $export: an operation, never granted on its own ...
		{"§12 #9 system/*.rs GET /$export: operation, not granted on its own", "system/*.rs", "GET", "/$export", Checker{},
			Decision{Reason: "operations ($export) are not granted by any scope on their own; $export usually requires system/*.rs (v1 system/*.read): set Checker.OperationPolicy to ExportPolicy"}},
		// ... but allowed with the usual policy.
		{"§12 #9 system/*.rs GET /$export with ExportPolicy allow", "system/*.rs", "GET", "/$export", Checker{OperationPolicy: ExportPolicy},
			Decision{Allowed: true, Reason: "operation $export allowed by the operation policy"}},
		{"§12 #9 system/*.read (v1) GET /$export with ExportPolicy allow", "system/*.read", "GET", "/$export", Checker{OperationPolicy: ExportPolicy},
			Decision{Allowed: true, Reason: "operation $export allowed by the operation policy"}},
		{"§12 #9 system/Observation.read GET /$export deny (system export needs *)", "system/Observation.read", "GET", "/$export", Checker{OperationPolicy: ExportPolicy},
			Decision{Reason: "operation $export denied by the operation policy"}},

		// #10 patient/ scopes without a patient grant nothing.
		{"§12 #10 patient/*.read without patient: read deny", "patient/*.read", "GET", "Observation/1", Checker{},
			Decision{Reason: "no scope grants r on Observation; patient/*.read grants nothing without a patient in context"}},
		{"§12 #10 patient/*.read without patient: search deny", "patient/*.read", "GET", "Patient?name=x", Checker{},
			Decision{Reason: "no scope grants s on Patient; patient/*.read grants nothing without a patient in context"}},
		{"§12 #10 patient/*.read without patient: system search deny", "patient/*.read", "GET", "", Checker{},
			Decision{Reason: `no scope grants s on * (system-level search and history need s on "*"); patient/*.read grants nothing without a patient in context`}},
		{"§12 #10 patient/*.* without patient: create deny", "patient/*.*", "POST", "Observation", Checker{},
			Decision{Reason: "no scope grants c on Observation; patient/*.* grants nothing without a patient in context"}},
		{"§12 #10 with a patient the same scope allows", "patient/*.read", "GET", "Observation/1", withPatient,
			Decision{Allowed: true, Scope: "patient/*.read", Reason: "granted by patient/*.read"}},
	})
}

func TestCombinedFilter(t *testing.T) {
	// Example 7: filter category=health-concern,encounter-diagnosis.
	d := Checker{Patient: "p1"}.Permits(mustClaim(t, "patient/Condition.rs?category="+healthConcern+" patient/Condition.rs?category="+encounterDiagnosis),
		mustRequest(t, "GET", "Condition"))
	require.True(t, d.Allowed)
	got, ok := d.CombinedFilter("Condition")
	require.True(t, ok)
	assert.Equal(t, []Param{{"category", healthConcern + "," + encounterDiagnosis}}, got)

	none, ok := d.CombinedFilter("Observation")
	assert.True(t, ok, "no filter for the type: unrestricted")
	assert.Nil(t, none)

	tests := []struct {
		name    string
		filters []Filter
		want    []Param
		ok      bool
	}{
		{"single filter keeps AND of its params", []Filter{{ResourceType: "Observation", Params: []Param{{"category", "lab"}, {"code", "x"}}}},
			[]Param{{"category", "lab"}, {"code", "x"}}, true},
		{"same name OR", []Filter{{ResourceType: "Observation", Params: []Param{{"code", "a"}}}, {ResourceType: "Observation", Params: []Param{{"code", "b"}}}},
			[]Param{{"code", "a,b"}}, true},
		{"duplicate values merged", []Filter{{ResourceType: "Observation", Params: []Param{{"code", "a"}}}, {ResourceType: "Observation", Params: []Param{{"code", "a"}}}},
			[]Param{{"code", "a"}}, true},
		{"different names cannot be one query", []Filter{{ResourceType: "Observation", Params: []Param{{"code", "a"}}}, {ResourceType: "Observation", Params: []Param{{"category", "b"}}}},
			nil, false},
		{"multi-param filters cannot be ORed", []Filter{{ResourceType: "Observation", Params: []Param{{"code", "a"}, {"category", "c"}}}, {ResourceType: "Observation", Params: []Param{{"code", "b"}}}},
			nil, false},
		{"modifiers are not merged", []Filter{{ResourceType: "Observation", Params: []Param{{"code:not", "a"}}}, {ResourceType: "Observation", Params: []Param{{"code:not", "b"}}}},
			nil, false},
		{"other types ignored", []Filter{{ResourceType: "Observation", Params: []Param{{"code", "a"}}}, {ResourceType: "Patient", Params: []Param{{"name", "b"}}}},
			[]Param{{"code", "a"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Decision{Allowed: true, Filters: tc.filters}.CombinedFilter("Observation")
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPermitsRules(t *testing.T) {
	const cond = "patient/Condition.cruds?category=problem-list-item"
	condFilter := []Filter{{ResourceType: "Condition", Scope: cond, Params: []Param{{"category", "problem-list-item"}}}}
	condReason := "granted by granular scope " + cond + " only: the caller MUST enforce its filter"
	runPermitCases(t, []permitCase{
		{"§5 GET metadata needs no scope", "", "GET", "metadata", Checker{},
			Decision{Allowed: true, Reason: "capabilities (GET metadata) need no scope"}},
		{"§5 smart-configuration needs no scope", "openid", "GET", ".well-known/smart-configuration", Checker{},
			Decision{Allowed: true, Reason: "capabilities (GET metadata) need no scope"}},
		{"§5 batch is never granted on its own", "user/*.cruds", "POST", "/", Checker{},
			Decision{NeedsEntryCheck: true, Reason: "batch/transaction requests are not granted by any scope on their own: evaluate each entry"}},
		{"§5 $everything is an operation", "user/*.cruds", "GET", "Patient/1/$everything", Checker{},
			Decision{Reason: "operations ($everything) are not granted by any scope on their own: set Checker.OperationPolicy to allow it"}},
		{"§5 ExportPolicy denies other operations", "system/*.cruds", "POST", "$reindex", Checker{OperationPolicy: ExportPolicy},
			Decision{Reason: "operation $reindex denied by the operation policy"}},
		{"ExportPolicy: Group export", "system/*.cruds", "GET", "Group/g1/$export", Checker{OperationPolicy: ExportPolicy},
			Decision{Allowed: true, Reason: "operation $export allowed by the operation policy"}},
		{"ExportPolicy: user/*.rs is not enough", "user/*.rs", "GET", "$export", Checker{OperationPolicy: ExportPolicy},
			Decision{Reason: "operation $export denied by the operation policy"}},
		{"ExportPolicy: system/*.r is not enough", "system/*.r", "GET", "$export", Checker{OperationPolicy: ExportPolicy},
			Decision{Reason: "operation $export denied by the operation policy"}},
		{"nil OperationPolicy keeps the default", "system/*.rs", "GET", "$export", Checker{OperationPolicy: nil},
			Decision{Reason: "operations ($export) are not granted by any scope on their own; $export usually requires system/*.rs (v1 system/*.read): set Checker.OperationPolicy to ExportPolicy"}},

		// §5 letters.
		{"§5 vread needs r", "user/Observation.r", "GET", "Observation/1/_history/2", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.r", Reason: "granted by user/Observation.r"}},
		{"§5 instance history needs r", "user/Observation.s", "GET", "Observation/1/_history", Checker{},
			Decision{Reason: "no scope grants r on Observation"}},
		{"§5 type history needs s", "user/Observation.s", "GET", "Observation/_history", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.s", Reason: "granted by user/Observation.s"}},
		{"§5 POST _search needs s", "user/Observation.s", "POST", "Observation/_search", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.s", Reason: "granted by user/Observation.s"}},
		{"§5 patch needs u", "user/Observation.u", "PATCH", "Observation/1", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.u", Reason: "granted by user/Observation.u"}},
		{"§5 conditional update needs u", "user/Patient.write", "PUT", "Patient?identifier=x", Checker{},
			Decision{Allowed: true, Scope: "user/Patient.write", Reason: "granted by user/Patient.write"}},
		{"§2 write does not imply read", "user/Patient.write", "GET", "Patient/1", Checker{},
			Decision{Reason: "no scope grants r on Patient"}},
		{"§5 conditional delete needs d", "user/Patient.d", "DELETE", "Patient?x=y", Checker{},
			Decision{Allowed: true, Scope: "user/Patient.d", Reason: "granted by user/Patient.d"}},
		{"§10 union across scopes", "user/Patient.r user/Patient.s", "GET", "Patient", Checker{},
			Decision{Allowed: true, Scope: "user/Patient.s", Reason: "granted by user/Patient.s"}},
		{"§10 non-resource scopes grant nothing", "openid fhirUser launch/patient offline_access __x https://x.example/s", "GET", "Patient/1", Checker{},
			Decision{Reason: "no scope grants r on Patient"}},

		// §10 system level.
		{"§10 system search needs s on *", "user/Observation.rs user/Patient.rs", "GET", "", Checker{},
			Decision{Reason: `no scope grants s on * (system-level search and history need s on "*")`}},
		{"§10 system search with s on *", "user/*.s", "GET", "", Checker{},
			Decision{Allowed: true, Scope: "user/*.s", Reason: "granted by user/*.s"}},
		{"§10 system history needs s on *", "system/Observation.read", "GET", "_history", Checker{},
			Decision{Reason: `no scope grants s on * (system-level search and history need s on "*")`}},
		{"§10 POST _search needs s on *", "system/*.read", "POST", "_search", Checker{},
			Decision{Allowed: true, Scope: "system/*.read", Reason: "granted by system/*.read"}},
		{"§10 _type limited to types with s", "user/Observation.rs user/Condition.s", "GET", "?_type=Observation,Condition", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.rs", Reason: "_type=Observation: granted by user/Observation.rs; _type=Condition: granted by user/Condition.s"}},
		{"§10 _type with a type lacking s", "user/Observation.rs user/Condition.r", "GET", "?_type=Observation,Condition", Checker{},
			Decision{Reason: "no scope grants s on Condition (needed by _type=Condition)"}},
		{"§10 malformed _type", "user/*.rs", "GET", "?_type=observation", Checker{},
			Decision{Reason: `_type value "observation" is not a resource type: denied`}},
		{"§10 empty _type", "user/*.rs", "GET", "?_type=", Checker{},
			Decision{Reason: `_type value "" is not a resource type: denied`}},

		// §10 _include / _revinclude / _has.
		{"§10 _include with target needs s on the target", "user/Observation.rs", "GET", "Observation?_include=Observation:patient:Patient", Checker{},
			Decision{Reason: "no scope grants s on Patient (needed by _include=Observation:patient:Patient)"}},
		{"§10 _include with target granted", "user/Observation.rs user/Patient.s", "GET", "Observation?_include=Observation:patient:Patient", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.rs", Reason: "granted by user/Observation.rs; _include=Observation:patient:Patient: granted by user/Patient.s"}},
		{"§10 _include without target needs s on *", "user/Observation.rs user/Patient.s", "GET", "Observation?_include=Observation:patient", Checker{},
			Decision{Reason: `no scope grants s on * (needed by _include=Observation:patient (no target type: name it, e.g. "Observation:patient:Patient"))`}},
		{"§10 _include without target and s on *", "user/*.rs", "GET", "Observation?_include=Observation:patient", Checker{},
			Decision{Allowed: true, Scope: "user/*.rs", Reason: `granted by user/*.rs; _include=Observation:patient (no target type: name it, e.g. "Observation:patient:Patient"): granted by user/*.rs`}},
		{"§10 _include:iterate", "user/Observation.rs", "GET", "Observation?_include:iterate=Observation:patient:Patient", Checker{},
			Decision{Reason: "no scope grants s on Patient (needed by _include:iterate=Observation:patient:Patient)"}},
		{"§10 _revinclude needs s on the source", "user/Patient.rs", "GET", "Patient?_revinclude=Provenance:target", Checker{},
			Decision{Reason: "no scope grants s on Provenance (needed by _revinclude=Provenance:target)"}},
		{"§10 _revinclude=* needs s on *", "user/Patient.rs user/Provenance.s", "GET", "Patient?_revinclude=*", Checker{},
			Decision{Reason: "no scope grants s on * (needed by _revinclude=*)"}},
		{"§10 malformed _include", "user/*.rs", "GET", "Observation?_include=patient", Checker{},
			Decision{Reason: "malformed _include=patient: denied"}},
		{"§10 _has needs s on the referring type", "user/Patient.rs", "GET", "Patient?_has:Observation:patient:code=1234", Checker{},
			Decision{Reason: "no scope grants s on Observation (needed by _has:Observation:patient:code)"}},
		{"§10 malformed _has", "user/*.rs", "GET", "Patient?_has:observation:patient:code=1234", Checker{},
			Decision{Reason: "malformed _has:observation:patient:code: denied"}},
		{"§10 _include is ignored on read", "user/Observation.r", "GET", "Observation/1?_include=Observation:patient:Patient", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.r", Reason: "granted by user/Observation.r"}},

		// Granular writes are conditional too.
		{"§6 granular create: caller must enforce", cond, "POST", "Condition", withPatient,
			Decision{Allowed: true, Scope: cond, Reason: condReason, Filters: condFilter}},
		{"§6 granular update: caller must enforce", cond, "PUT", "Condition/1", withPatient,
			Decision{Allowed: true, Scope: cond, Reason: condReason, Filters: condFilter}},
		{"§6 granular delete: caller must enforce", cond, "DELETE", "Condition/1", withPatient,
			Decision{Allowed: true, Scope: cond, Reason: condReason, Filters: condFilter}},
		{"§6 unfiltered type scope beats granular", cond + " patient/Condition.d", "DELETE", "Condition/1", withPatient,
			Decision{Allowed: true, Scope: "patient/Condition.d", Reason: "granted by patient/Condition.d"}},
		{"§6 granular on another letter does not filter", "patient/Condition.r?category=x patient/Condition.s", "GET", "Condition", withPatient,
			Decision{Allowed: true, Scope: "patient/Condition.s", Reason: "granted by patient/Condition.s"}},
		{"§6 granular _include target is filtered", "user/Observation.rs user/Patient.s?active=true", "GET", "Observation?_include=Observation:patient:Patient", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.rs",
				Reason:  "granted by user/Observation.rs; _include=Observation:patient:Patient: granted by granular scope user/Patient.s?active=true only: the caller MUST enforce its filter",
				Filters: []Filter{{ResourceType: "Patient", Scope: "user/Patient.s?active=true", Params: []Param{{"active", "true"}}}}}},

		// §6 experimental parameters: refused by default (fail closed).
		{"§6 modifier refused by default", "user/Observation.rs?code:in=http://example.org/vs", "GET", "Observation", Checker{},
			Decision{Reason: `no scope grants s on Observation; granular scope user/Observation.rs?code:in=http://example.org/vs is ignored: parameter "code:in" uses a modifier, chaining or an experimental parameter (see Checker.ExperimentalFilters)`}},
		{"§6 chaining refused by default", "user/Observation.rs?patient.birthdate=gt2000", "GET", "Observation", Checker{},
			Decision{Reason: `no scope grants s on Observation; granular scope user/Observation.rs?patient.birthdate=gt2000 is ignored: parameter "patient.birthdate" uses a modifier, chaining or an experimental parameter (see Checker.ExperimentalFilters)`}},
		{"§6 _filter refused by default", "user/Observation.rs?_filter=x", "GET", "Observation/1", Checker{},
			Decision{Reason: `no scope grants r on Observation; granular scope user/Observation.rs?_filter=x is ignored: parameter "_filter" uses a modifier, chaining or an experimental parameter (see Checker.ExperimentalFilters)`}},
		{"§6 modifier honoured with ExperimentalFilters", "user/Observation.rs?code:in=http://example.org/vs", "GET", "Observation", Checker{ExperimentalFilters: true},
			Decision{Allowed: true, Scope: "user/Observation.rs?code:in=http://example.org/vs",
				Reason:  "granted by granular scope user/Observation.rs?code:in=http://example.org/vs only: the caller MUST enforce its filter",
				Filters: []Filter{{ResourceType: "Observation", Scope: "user/Observation.rs?code:in=http://example.org/vs", Params: []Param{{"code:in", "http://example.org/vs"}}}}}},
		{"§6 _tag is a plain parameter", "user/Observation.rs?_tag=x", "GET", "Observation", Checker{},
			Decision{Allowed: true, Scope: "user/Observation.rs?_tag=x",
				Reason:  "granted by granular scope user/Observation.rs?_tag=x only: the caller MUST enforce its filter",
				Filters: []Filter{{ResourceType: "Observation", Scope: "user/Observation.rs?_tag=x", Params: []Param{{"_tag", "x"}}}}}},
	})
}

func TestPermitsHandBuiltRequests(t *testing.T) {
	all := mustClaim(t, "user/*.cruds")
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"zero request", Request{}, `unknown interaction "": denied`},
		{"unknown interaction", Request{Interaction: Interaction(42)}, `unknown interaction "Interaction(42)": denied`},
		{"read without type", Request{Interaction: Read, ID: "1"}, `read request without a valid resource type (""): denied`},
		{"read with * type", Request{Interaction: Read, ResourceType: "*"}, `read request without a valid resource type ("*"): denied`},
		{"system search with a type", Request{Interaction: SearchSystem, ResourceType: "Patient"}, `system-level search-system with resource type "Patient": denied`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Permits(all, tc.req)
			assert.False(t, d.Allowed)
			assert.Equal(t, tc.want, d.Reason)
		})
	}
}

func TestOperationPolicyArguments(t *testing.T) {
	granted := mustClaim(t, "patient/*.rs user/Patient.r system/*.read")
	var gotOp string
	var gotScopes []string
	var gotReq Request
	policy := func(op string, granted []Scope, req Request) bool {
		gotOp, gotReq = op, req
		gotScopes = nil
		for _, s := range granted {
			gotScopes = append(gotScopes, s.String())
		}
		return true
	}
	req := mustRequest(t, "GET", "Patient/1/$everything")
	d := Checker{OperationPolicy: policy}.Permits(granted, req)
	assert.True(t, d.Allowed)
	assert.Equal(t, "$everything", gotOp)
	assert.Equal(t, req, gotReq)
	assert.Equal(t, []string{"user/Patient.r", "system/*.read"}, gotScopes, "patient/ scopes are hidden without a patient in context")

	Checker{OperationPolicy: policy, Patient: "p1"}.Permits(granted, req)
	assert.Equal(t, []string{"patient/*.rs", "user/Patient.r", "system/*.read"}, gotScopes)
	assert.Len(t, granted, 3, "the caller's slice is not modified")
	assert.Equal(t, "patient/*.rs", granted[0].String())
}

func TestPermitsAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	granted := mustClaim(t, realisticClaim)
	req := mustRequest(t, "GET", "Patient/1")
	got := testing.AllocsPerRun(100, func() {
		if d := (Checker{Patient: "p1"}).Permits(granted, req); !d.Allowed {
			panic(d.Reason)
		}
	})
	assert.LessOrEqual(t, got, 3.0)
}

// TestPermitsChainedParameters: chained parameters, _has and _filter read
// other types, so they need an unfiltered s on those types (paramChecks).
func TestPermitsChainedParameters(t *testing.T) {
	const chainNeedsUnfiltered = "needs an unfiltered grant: a scope's filter cannot be applied through a chain or _has"
	tests := []struct {
		name    string
		claim   string
		method  string
		path    string
		ck      Checker
		allowed bool
		reason  string // substring of Decision.Reason
	}{
		// Typed chains: s on every type along the chain.
		{"chain target without scope: deny", "user/Observation.rs", "GET", "Observation?subject:Patient.name=X", Checker{},
			false, "no scope grants s on Patient (needed by subject:Patient.name)"},
		{"chain target with s: allow", "user/Observation.rs user/Patient.s", "GET", "Observation?subject:Patient.name=X", Checker{},
			true, "granted by user/Observation.rs; subject:Patient.name: granted by user/Patient.s"},
		{"chain target with r only: deny", "user/Observation.rs user/Patient.r", "GET", "Observation?subject:Patient.name=X", Checker{},
			false, "no scope grants s on Patient"},
		{"chain target with wildcard: allow", "user/Observation.rs user/*.s", "GET", "Observation?subject:Patient.name=X", Checker{},
			true, "subject:Patient.name: granted by user/*.s"},
		{"chain target only granular: deny", "user/Observation.rs user/Patient.s?gender=female", "GET", "Observation?subject:Patient.name=X", Checker{},
			false, "only granular scopes grant s on Patient (user/Patient.s?gender=female), and subject:Patient.name " + chainNeedsUnfiltered},
		{"chain target granular but experimental on: still deny", "user/Observation.rs user/Patient.s?gender=female", "GET", "Observation?subject:Patient.name=X", Checker{ExperimentalFilters: true},
			false, chainNeedsUnfiltered},
		{"chain on own type only granular: deny", "user/Patient.rs?gender=female", "GET", "Patient?link:Patient.name=X", Checker{},
			false, chainNeedsUnfiltered},
		{"chain on own type unfiltered: allow", "user/Patient.rs", "GET", "Patient?link:Patient.name=X", Checker{},
			true, "granted by user/Patient.rs"},
		{"patient/ chain target without patient in context: deny", "user/Observation.rs patient/Patient.s", "GET", "Observation?subject:Patient.name=X", Checker{},
			false, "patient/Patient.s grants nothing without a patient in context"},
		{"patient/ chain target with patient: allow", "user/Observation.rs patient/Patient.s", "GET", "Observation?subject:Patient.name=X", Checker{Patient: "p1"},
			true, "subject:Patient.name: granted by patient/Patient.s"},
		{"long chain, last link missing: deny", "user/Observation.rs user/Patient.s", "GET", "Observation?subject:Patient.general-practitioner:Practitioner.name=X", Checker{},
			false, "no scope grants s on Practitioner (needed by subject:Patient.general-practitioner:Practitioner.name)"},
		{"long chain, every link granted: allow", "user/Observation.rs user/Patient.s user/Practitioner.s", "GET", "Observation?subject:Patient.general-practitioner:Practitioner.name=X", Checker{},
			true, "subject:Patient.general-practitioner:Practitioner.name: granted by user/Practitioner.s"},
		{"modifier at the end of a chain", "user/Observation.rs user/Patient.s", "GET", "Observation?subject:Patient.name:exact=X", Checker{},
			true, "granted by user/Patient.s"},
		{"percent-encoded chain is decoded first", "user/Observation.rs", "GET", "Observation?subject%3APatient.name=X", Checker{},
			false, "no scope grants s on Patient"},
		// Untyped chains: the target can be any type, so s on "*".
		{"untyped chain with the likely target granted: deny", "user/Observation.rs user/Patient.s", "GET", "Observation?subject.name=X", Checker{},
			false, `no scope grants s on * (needed by subject.name (untyped chain: its target can be any type; name it, e.g. "subject:Patient.name"))`},
		{"untyped chain with s on *: allow", "user/*.rs", "GET", "Observation?subject.name=X", Checker{},
			true, "granted by user/*.rs"},
		{"partly typed chain needs *", "user/Observation.rs user/Patient.s user/Organization.s", "GET", "Observation?subject:Patient.organization.name=X", Checker{},
			false, "no scope grants s on *"},
		// Malformed chains are denied.
		{"lower-case chain type: deny", "user/*.rs", "GET", "Observation?subject:patient.name=X", Checker{},
			false, `malformed chained parameter subject:patient.name ("patient" is not a resource type): denied`},
		{"empty link: deny", "user/*.rs", "GET", "Observation?.name=X", Checker{},
			false, "malformed chained parameter .name: denied"},
		{"chain through _ parameter: deny", "user/*.rs", "GET", "Observation?_id.name=X", Checker{},
			false, "malformed chained parameter _id.name: denied"},
		{"trailing dot: deny", "user/*.rs", "GET", "Observation?subject:Patient.=X", Checker{},
			false, "malformed chained parameter subject:Patient.: denied"},
		// _contained / _containedType=container can return containers of any type.
		{"_contained=true with only the searched type: deny", "user/Observation.rs", "GET", "Observation?_contained=true", Checker{},
			false, "no scope grants s on * (needed by _contained=true (container resources can be of any type))"},
		{"_contained=both: deny", "user/Observation.rs user/Patient.rs", "GET", "Observation?_contained=both&_containedType=contained", Checker{},
			false, "no scope grants s on * (needed by _contained=both"},
		{"_containedType=container: deny", "user/Observation.rs", "GET", "Observation?_containedType=container", Checker{},
			false, "no scope grants s on * (needed by _containedType=container"},
		{"_contained=true with s on *: allow", "user/*.rs", "GET", "Observation?_contained=true&_containedType=container", Checker{},
			true, "granted by user/*.rs"},
		{"_contained=true with a granular scope on the type: deny", "user/Observation.rs?category=x", "GET", "Observation?_contained=true", Checker{ExperimentalFilters: true},
			false, "_contained=true"},
		{"_contained=false: allow", "user/Observation.rs", "GET", "Observation?_contained=false", Checker{},
			true, "granted by user/Observation.rs"},
		{"_containedType=contained alone: allow", "user/Observation.rs", "GET", "Observation?_containedType=contained", Checker{},
			true, "granted by user/Observation.rs"},
		// "_" parameters are case-sensitive: a variant of a reserved name is
		// denied rather than ignored.
		{"_Contained case variant: deny", "system/Observation.rs", "GET", "Observation?_Contained=true", Checker{},
			false, `unknown parameter "_Contained" (not a FHIR "_" parameter; names are case-sensitive): denied`},
		{"_INCLUDE case variant: deny", "system/Observation.rs", "GET", "Observation?_INCLUDE=Observation:subject:Patient", Checker{},
			false, `unknown parameter "_INCLUDE"`},
		{"_Has case variant: deny", "system/Observation.rs", "GET", "Observation?_Has:Encounter:subject:status=x", Checker{},
			false, `unknown parameter "_Has:Encounter:subject:status"`},
		{"unknown _ name: deny", "system/*.rs", "GET", "Observation?_bogus=1", Checker{},
			false, `unknown parameter "_bogus"`},
		{"request-side _ parameters: allow", "system/Observation.rs", "GET",
			"Observation?_count=10&_sort=date&_summary=true&_elements=id&_total=none&_format=json&_pretty=true&_id=1&_lastUpdated=gt2020&_tag=a&_profile=p&_security=s&_source=x&_text=t&_content=c&_since=2020&_at=2020",
			Checker{}, true, "granted by system/Observation.rs"},
		// Conditional writes probe the chain's target too.
		{"conditional delete with chain: deny", "user/Observation.d", "DELETE", "Observation?subject:Patient.name=X", Checker{},
			false, "no scope grants s on Patient (needed by subject:Patient.name)"},
		{"conditional delete with chain: allow", "user/Observation.d user/Patient.s", "DELETE", "Observation?subject:Patient.name=X", Checker{},
			true, "granted by user/Observation.d; subject:Patient.name: granted by user/Patient.s"},
		{"conditional delete needs d as well as s on its own type", "user/Observation.s", "DELETE", "Observation?subject:Observation.code=X", Checker{},
			false, "no scope grants d on Observation"},
		{"conditional update with chain: deny", "user/Observation.u", "PUT", "Observation?subject:Patient.identifier=X", Checker{},
			false, "no scope grants s on Patient"},
		// System search: chains count on top of _type.
		{"system search with _type and chain: deny", "user/Observation.s", "GET", "?_type=Observation&subject:Patient.name=X", Checker{},
			false, "no scope grants s on Patient"},
		// A modifier without a chain pulls in nothing.
		{"modifier only: allow", "user/Observation.rs", "GET", "Observation?code:text=x&subject:Patient=Patient/1", Checker{},
			true, "granted by user/Observation.rs"},
		// Reverse chaining (_has).
		{"_has without scope on its type: deny", "user/Patient.rs", "GET", "Patient?_has:Observation:patient:code=1234", Checker{},
			false, "no scope grants s on Observation (needed by _has:Observation:patient:code)"},
		{"_has with s on its type: allow", "user/Patient.rs user/Observation.s", "GET", "Patient?_has:Observation:patient:code=1234", Checker{},
			true, "_has:Observation:patient:code: granted by user/Observation.s"},
		{"_has only granular: deny", "user/Patient.rs user/Observation.s?category=x", "GET", "Patient?_has:Observation:patient:code=1234", Checker{},
			false, chainNeedsUnfiltered},
		{"_has combined with chaining: deny", "user/*.rs", "GET", "Patient?_has:Observation:patient:subject:Patient.name=X", Checker{},
			false, "combines _has with chaining: denied"},
		// _filter can chain anywhere.
		{"_filter without s on *: deny", "user/Patient.rs", "GET", "Patient?_filter=name%20eq%20x", Checker{},
			false, "no scope grants s on * (needed by _filter (it can read any type))"},
		{"_query without s on *: deny", "user/Patient.rs", "GET", "Patient?_query=everyone", Checker{},
			false, "no scope grants s on * (needed by _query (it can read any type))"},
		{"_list without s on List: deny", "user/Observation.rs", "GET", "Observation?_list=42", Checker{},
			false, "no scope grants s on List (needed by _list)"},
		{"_list with s on List: allow", "user/Observation.rs user/List.s", "GET", "Observation?_list=42", Checker{},
			true, "_list: granted by user/List.s"},
		{"_filter with s on *: allow", "user/*.rs", "GET", "Patient?_filter=name%20eq%20x", Checker{},
			true, "granted by user/*.rs"},
		{"_filter with only a granular wildcard-free scope: deny", "user/Patient.rs?gender=female", "GET", "Patient?_filter=x", Checker{},
			false, "no scope grants s on *"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.ck.Permits(mustClaim(t, tc.claim), mustRequest(t, tc.method, tc.path))
			assert.Equal(t, tc.allowed, d.Allowed, d.Reason)
			assert.Contains(t, d.Reason, tc.reason)
			if !d.Allowed {
				assert.Empty(t, d.Filters)
			}
		})
	}
}

// TestPermitsHandBuiltGranularScope: a Scope not produced by Parse, with a
// parameter Parse refuses (or none at all), grants nothing.
func TestPermitsHandBuiltGranularScope(t *testing.T) {
	base := Scope{Raw: "user/Observation.rs?x", Kind: KindResource, Context: ContextUser, Resource: "Observation",
		Permissions: PermRead | PermSearch, Version: V2, RawQuery: "x"}
	req := mustRequest(t, "GET", "Observation")
	for name, q := range map[string][]Param{
		"case variant of a reserved name": {{"_INCLUDE", "Observation:patient"}},
		"result parameter":                {{"_count", "1"}},
		"upper-case name":                 {{"Category", "x"}},
		"no parameters":                   nil,
	} {
		t.Run(name, func(t *testing.T) {
			s := base
			s.Query = q
			for _, ck := range []Checker{{}, {ExperimentalFilters: true}} {
				d := ck.Permits([]Scope{s}, req)
				assert.False(t, d.Allowed, d.Reason)
				assert.Contains(t, d.Reason, "granular scope user/Observation.rs?x is ignored: ")
			}
		})
	}
}
