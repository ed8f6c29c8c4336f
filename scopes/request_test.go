package scopes

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type requestCase struct {
	name         string
	method, path string
	want         Request
}

// requestCases cover every interaction kind. FuzzParseRequest seeds from
// them.
func requestCases() []requestCase {
	q := func(raw string) url.Values {
		v, err := url.ParseQuery(raw)
		if err != nil {
			panic(err)
		}
		return v
	}
	return []requestCase{
		{"§5 r: read", "GET", "Observation/123",
			Request{Method: "GET", ResourceType: "Observation", ID: "123", Interaction: Read}},
		{"§5 r: read with leading slash", "GET", "/Observation/123",
			Request{Method: "GET", ResourceType: "Observation", ID: "123", Interaction: Read}},
		{"§5 r: read with _elements", "GET", "Observation/a-1.B?_elements=code",
			Request{Method: "GET", ResourceType: "Observation", ID: "a-1.B", Interaction: Read, RawQuery: "_elements=code", Query: q("_elements=code")}},
		{"§5 r: vread", "GET", "Observation/123/_history/2",
			Request{Method: "GET", ResourceType: "Observation", ID: "123", VersionID: "2", Interaction: VRead}},
		{"§5 r: instance history", "GET", "Observation/123/_history",
			Request{Method: "GET", ResourceType: "Observation", ID: "123", Interaction: InstanceHistory}},
		{"§5 s: type search with params", "GET", "Observation?code=x",
			Request{Method: "GET", ResourceType: "Observation", Interaction: SearchType, RawQuery: "code=x", Query: q("code=x")}},
		{"§5 s: type search without params", "GET", "Observation",
			Request{Method: "GET", ResourceType: "Observation", Interaction: SearchType}},
		{"§5 s: POST _search", "POST", "Observation/_search",
			Request{Method: "POST", ResourceType: "Observation", Interaction: SearchType}},
		{"§5 s: type history", "GET", "Observation/_history",
			Request{Method: "GET", ResourceType: "Observation", Interaction: HistoryType}},
		{"§5 s: system history", "GET", "_history",
			Request{Method: "GET", Interaction: HistorySystem}},
		{"§5 s: system search with _type", "GET", "?_type=Observation,Condition",
			Request{Method: "GET", Interaction: SearchSystem, RawQuery: "_type=Observation,Condition", Query: q("_type=Observation,Condition")}},
		{"§5 s: system search, empty path", "GET", "",
			Request{Method: "GET", Interaction: SearchSystem}},
		{"§5 s: system search, slash", "GET", "/",
			Request{Method: "GET", Interaction: SearchSystem}},
		{"§5 s: POST _search", "POST", "_search",
			Request{Method: "POST", Interaction: SearchSystem}},
		{"§5 c: create", "POST", "Patient",
			Request{Method: "POST", ResourceType: "Patient", Interaction: Create}},
		{"§5 u: update", "PUT", "Patient/1",
			Request{Method: "PUT", ResourceType: "Patient", ID: "1", Interaction: Update}},
		{"§5 u: conditional update", "PUT", "Patient?identifier=x",
			Request{Method: "PUT", ResourceType: "Patient", Interaction: Update, RawQuery: "identifier=x", Query: q("identifier=x")}},
		{"§5 u: patch", "PATCH", "Patient/1",
			Request{Method: "PATCH", ResourceType: "Patient", ID: "1", Interaction: Patch}},
		{"§5 u: conditional patch", "PATCH", "Patient?identifier=x",
			Request{Method: "PATCH", ResourceType: "Patient", Interaction: Patch, RawQuery: "identifier=x", Query: q("identifier=x")}},
		{"§5 d: delete", "DELETE", "Patient/1",
			Request{Method: "DELETE", ResourceType: "Patient", ID: "1", Interaction: Delete}},
		{"§5 d: conditional delete", "DELETE", "Patient?x=y",
			Request{Method: "DELETE", ResourceType: "Patient", Interaction: Delete, RawQuery: "x=y", Query: q("x=y")}},
		{"§5 batch/transaction POST /", "POST", "/",
			Request{Method: "POST", Interaction: Batch}},
		{"§5 batch/transaction POST (empty)", "POST", "",
			Request{Method: "POST", Interaction: Batch}},
		{"§5 instance operation $everything", "GET", "Patient/1/$everything",
			Request{Method: "GET", ResourceType: "Patient", ID: "1", Interaction: Operation, Operation: "$everything"}},
		{"§5 system operation POST $export", "POST", "$export",
			Request{Method: "POST", Interaction: Operation, Operation: "$export"}},
		{"§12 #9 GET /$export", "GET", "/$export",
			Request{Method: "GET", Interaction: Operation, Operation: "$export"}},
		{"§5 type operation GET Patient/$export", "GET", "Patient/$export?_type=Observation",
			Request{Method: "GET", ResourceType: "Patient", Interaction: Operation, Operation: "$export", RawQuery: "_type=Observation", Query: q("_type=Observation")}},
		{"§5 operation with dash", "POST", "CodeSystem/$validate-code",
			Request{Method: "POST", ResourceType: "CodeSystem", Interaction: Operation, Operation: "$validate-code"}},
		{"§5 capabilities GET metadata", "GET", "metadata",
			Request{Method: "GET", Interaction: Capabilities}},
		{"§5 capabilities GET /metadata?mode=full", "GET", "/metadata?mode=full",
			Request{Method: "GET", Interaction: Capabilities, RawQuery: "mode=full", Query: q("mode=full")}},
		{"§5 smart-configuration needs no scope", "GET", ".well-known/smart-configuration",
			Request{Method: "GET", Interaction: Capabilities}},
		{"custom type is well-formed", "GET", "Foo/1",
			Request{Method: "GET", ResourceType: "Foo", ID: "1", Interaction: Read}},
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest(tc.method, tc.path)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRequest(%q, %q) (-want +got):\n%s", tc.method, tc.path, diff)
			}
		})
	}
}

func invalidRequestCases() [][2]string {
	return [][2]string{
		{"HEAD", "Patient/1"},
		{"get", "Patient/1"},
		{"OPTIONS", ""},
		{"", "Patient"},
		{"PUT", "Patient"},
		{"PATCH", "Patient"},
		{"DELETE", "Patient"},
		{"DELETE", "Patient?"},
		{"PUT", ""},
		{"DELETE", "/"},
		{"GET", "patient/1"},
		{"GET", "Patient_x/1"},
		{"GET", "Patient//1"},
		{"GET", "Patient/1/"},
		{"GET", "//Patient"},
		{"GET", "Patient/1/_history/"},
		{"GET", "Patient/../Observation"},
		{"GET", "Patient/.."},
		{"GET", "Patient/."},
		{"GET", "Patient/%2E%2E"},
		{"GET", "Patient/1#frag"},
		{"GET", "Patient/has space"},
		{"GET", "Patient/" + string(make([]byte, 65))},
		{"GET", "Patient/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{"POST", "Patient/1"},
		{"GET", "Patient/1/Observation"},
		{"GET", "Patient/1/_history/2/x"},
		{"GET", "Patient/1/_history/a_b"},
		{"PUT", "Patient/1/_history"},
		{"DELETE", "Patient/1/$everything"},
		{"PUT", "$export"},
		{"GET", "$"},
		{"GET", "$1x"},
		{"GET", "$export/x"},
		{"GET", "Patient/$export/x"},
		{"GET", "_search"},
		{"POST", "_history"},
		{"GET", "_history/1"},
		{"GET", "Patient/_search"},
		{"POST", "Patient/_history"},
		{"POST", "metadata"},
		{"GET", "metadata/x"},
		{"POST", ".well-known/smart-configuration"},
		{"GET", ".well-known/openid-configuration"},
		{"GET", "Patient?a=%zz"},
		{"GET", "Patient?a=1;b=2"},
		{"GET", "_x"},
		{"GET", "Patient/1/2/3/4/5"},
	}
}

func TestParseRequestInvalid(t *testing.T) {
	for _, tc := range invalidRequestCases() {
		t.Run(tc[0]+" "+tc[1], func(t *testing.T) {
			got, err := ParseRequest(tc[0], tc[1])
			require.ErrorIs(t, err, ErrInvalidRequest)
			assert.Contains(t, err.Error(), "scopes: invalid request: ")
			assert.Equal(t, Request{}, got)
		})
	}
}

func TestInteraction(t *testing.T) {
	tests := []struct {
		i     Interaction
		name  string
		perm  Permissions
		level bool
	}{
		{0, "", 0, false},
		{Create, "create", PermCreate, false},
		{Read, "read", PermRead, false},
		{VRead, "vread", PermRead, false},
		{InstanceHistory, "history-instance", PermRead, false},
		{Update, "update", PermUpdate, false},
		{Patch, "patch", PermUpdate, false},
		{Delete, "delete", PermDelete, false},
		{SearchType, "search-type", PermSearch, false},
		{SearchSystem, "search-system", PermSearch, true},
		{HistoryType, "history-type", PermSearch, false},
		{HistorySystem, "history-system", PermSearch, true},
		{Batch, "batch", 0, false},
		{Operation, "operation", 0, false},
		{Capabilities, "capabilities", 0, false},
		{Interaction(99), "Interaction(99)", 0, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.name, tc.i.String())
		assert.Equal(t, tc.perm, tc.i.Permission(), tc.name)
		assert.Equal(t, tc.level, tc.i.SystemLevel(), tc.name)
	}
}
