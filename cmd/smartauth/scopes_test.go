package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runScopesCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runScopes(args, &out, &errb)
	return code, out.String(), errb.String()
}

// decodeRows decodes JSON lines strictly: unknown fields fail the test.
func decodeRows(t *testing.T, out string) []scopeRow {
	t.Helper()
	var rows []scopeRow
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var r scopeRow
		require.NoError(t, dec.Decode(&r), sc.Text())
		// scope and valid are always present.
		var raw map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &raw))
		assert.Contains(t, raw, "scope")
		assert.Contains(t, raw, "valid")
		rows = append(rows, r)
	}
	require.NoError(t, sc.Err())
	return rows
}

const scopesLabCategory = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"

// TestScopesSpecExamples runs illustrative parse results of SMART App Launch
// v2.2 scopes through the CLI.
func TestScopesSpecExamples(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want scopeRow
	}{
		{"spec example", "patient/Observation.rs", scopeRow{Scope: "patient/Observation.rs", Valid: true, Kind: "resource", Context: "patient",
			Resource: "Observation", Permissions: "rs", Version: "v2", V2: "patient/Observation.rs", V1: "patient/Observation.read"}},
		{"v1 wildcard", "user/*.*", scopeRow{Scope: "user/*.*", Valid: true, Kind: "resource", Context: "user",
			Resource: "*", Permissions: "cruds", Version: "v1", V2: "user/*.cruds", V1: "user/*.*"}},
		{"v1 read", "patient/Observation.read", scopeRow{Scope: "patient/Observation.read", Valid: true, Kind: "resource", Context: "patient",
			Resource: "Observation", Permissions: "rs", Version: "v1", V2: "patient/Observation.rs", V1: "patient/Observation.read"}},
		{"spec backend example", "system/Encounter.cud", scopeRow{Scope: "system/Encounter.cud", Valid: true, Kind: "resource", Context: "system",
			Resource: "Encounter", Permissions: "cud", Version: "v2", V2: "system/Encounter.cud", V1: "system/Encounter.write"}},
		{"granular; query kept raw", "patient/Observation.rs?category=" + scopesLabCategory, scopeRow{Scope: "patient/Observation.rs?category=" + scopesLabCategory,
			Valid: true, Kind: "resource", Context: "patient", Resource: "Observation", Permissions: "rs", Query: "category=" + scopesLabCategory,
			Version: "v2", V2: "patient/Observation.rs?category=" + scopesLabCategory}},
		{"out of order", "patient/Observation.sr", scopeRow{Scope: "patient/Observation.sr",
			Error: `permissions "sr" out of order: want a subset of "cruds" in that order (e.g. "rs")`}},
		{"empty permissions", "patient/Observation.", scopeRow{Scope: "patient/Observation.",
			Error: `empty permissions (want read, write, * or a subset of "cruds" in that order)`}},
		{"query on wildcard resource", "patient/*.rs?category=" + scopesLabCategory, scopeRow{Scope: "patient/*.rs?category=" + scopesLabCategory,
			Error: `granular query is not allowed on the wildcard resource "*" (HealthLake rejects it); name a resource type`}},
		{"launch/patient not clinical", "launch/patient", scopeRow{Scope: "launch/patient", Valid: true, Kind: "launch"}},
		{"extension", "__profilePhoto.manage", scopeRow{Scope: "__profilePhoto.manage", Valid: true, Kind: "extension"}},
		{"launch role", "launch/patient?role=https://example.org/r", scopeRow{Scope: "launch/patient?role=https://example.org/r", Valid: true,
			Kind: "launch", Query: "role=https://example.org/r", Role: "https://example.org/r"}},
		{"identity", "fhirUser", scopeRow{Scope: "fhirUser", Valid: true, Kind: "identity"}},
		{"refresh", "offline_access", scopeRow{Scope: "offline_access", Valid: true, Kind: "refresh"}},
		{"v2 without exact v1 form", "patient/Observation.r", scopeRow{Scope: "patient/Observation.r", Valid: true, Kind: "resource", Context: "patient",
			Resource: "Observation", Permissions: "r", Version: "v2", V2: "patient/Observation.r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runScopesCLI("--json", "--", tc.in)
			assert.Empty(t, stderr)
			rows := decodeRows(t, stdout)
			require.Len(t, rows, 1)
			if diff := cmp.Diff(tc.want, rows[0]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.want.Valid {
				assert.Equal(t, 0, code)
			} else {
				assert.Equal(t, 1, code)
			}
		})
	}
}

// TestScopesInvalidForms lists every invalid form of the grammar.
func TestScopesInvalidForms(t *testing.T) {
	invalid := map[string]string{
		"patient/Observation.dus":                         "out of order",
		"patient/Observation.rr":                          "repeated",
		"patient/Observation.":                            "empty permissions",
		"patient/Observation.sr":                          "out of order",
		"patient/Observation.x":                           "unknown letter",
		"patient/Observation.rsXYZ":                       "unknown letter",
		"Patient/Observation.rs":                          "lower case",
		"patient/observation.rs":                          "is not a FHIR R4 resource type",
		"patient/Observation.READ":                        "lower case",
		"Launch/patient":                                  "lower case",
		"launch/Patient":                                  "lower case",
		"OpenID":                                          `did you mean "openid"`,
		"patient/Foo.rs":                                  `resource type "Foo" is not a FHIR R4 resource type`,
		"patient/Observation.rs?=laboratory":              "empty name",
		"patient/Observation.rs?category=":                "empty value",
		"patient/Observation.rs?category=a?code=b":        `second "?"`,
		"patient/Observation.rs?code:exact=a=b":           `second "="`,
		"patient/Observation.rs?category":                 `no "="`,
		"patient/Observation.rs?category=a&":              `trailing "&"`,
		"patient/Observation.rs?":                         "empty query",
		"patient/Observation.read?category=laboratory":    "only allowed on v2",
		"patient/*.rs?category=laboratory":                "wildcard",
		"patient/Observation.rs\t":                        "whitespace",
		"patient/Observation.rs\x01":                      "control character",
		"launch/patient?role=":                            "empty value",
		"launch/patient?role=a&role=b":                    "at most one parameter",
		"launch/patient?x=y":                              "only \"role\"",
		"launch?role=x":                                   "bare \"launch\"",
		"__":                                              "after the \"__\" prefix",
		"email":                                           "unknown scope",
		"patient/Observation":                             "missing \".\"",
		"myapi/patient/Observation.read":                  "not a SMART context",
		"patient/Observation.rs?category=a&&code=b":       "&&",
		"patient/Observation.rs?code=http://loinc.org|x=": `second "="`,
	}
	args := []string{"--json", "--"}
	for in := range invalid {
		args = append(args, in)
	}
	code, stdout, stderr := runScopesCLI(args...)
	assert.Equal(t, 1, code)
	assert.Empty(t, stderr)
	rows := decodeRows(t, stdout)
	require.Len(t, rows, len(invalid))
	for i, r := range rows {
		assert.Equal(t, args[i+2], r.Scope, "rows keep argument order")
		assert.False(t, r.Valid, r.Scope)
		assert.Contains(t, r.Error, invalid[r.Scope], r.Scope)
		assert.Empty(t, r.Kind+r.Context+r.Resource+r.Permissions+r.Version+r.V2+r.V1, "no fields for invalid scopes")
	}
}

func TestScopesAnyType(t *testing.T) {
	code, stdout, _ := runScopesCLI("--json", "--any-type", "--", "patient/Foo.rs")
	assert.Equal(t, 0, code)
	rows := decodeRows(t, stdout)
	require.Len(t, rows, 1)
	assert.True(t, rows[0].Valid)
	assert.Equal(t, "Foo", rows[0].Resource)
}

func TestScopesClaim(t *testing.T) {
	code, stdout, _ := runScopesCLI("--json", "--claim", "openid  patient/*.rs", "--", "user/Observation.write")
	assert.Equal(t, 1, code, "the empty token from the double space is invalid")
	rows := decodeRows(t, stdout)
	got := make([]string, 0, len(rows))
	for _, r := range rows {
		got = append(got, r.Scope)
	}
	assert.Equal(t, []string{"openid", "", "patient/*.rs", "user/Observation.write"}, got, "claim tokens first, then positional scopes")
	assert.Contains(t, rows[1].Error, "empty scope")

	code, stdout, _ = runScopesCLI("--claim", "openid fhirUser launch/patient patient/*.rs offline_access")
	assert.Equal(t, 0, code)
	assert.Equal(t, 6, strings.Count(stdout, "\n"), "header and five rows")
}

func TestScopesTable(t *testing.T) {
	code, stdout, stderr := runScopesCLI("--", "patient/Observation.read", "patient/Observation.sr", "")
	assert.Equal(t, 1, code)
	assert.Empty(t, stderr)
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, []string{"SCOPE", "VALID", "KIND", "CONTEXT", "RESOURCE", "PERMS", "VERSION", "V2", "V1", "ERROR"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"patient/Observation.read", "yes", "resource", "patient", "Observation", "rs", "v1", "patient/Observation.rs", "patient/Observation.read", "-"},
		strings.Fields(lines[1]))
	assert.True(t, strings.HasPrefix(lines[2], "patient/Observation.sr "))
	assert.Contains(t, lines[2], "out of order")
	assert.True(t, strings.HasPrefix(lines[3], `"" `), "empty tokens are quoted")
	// Columns are aligned: VALID starts at the same offset in every line.
	col := strings.Index(lines[0], "VALID")
	for _, l := range lines[1:] {
		assert.Contains(t, []string{"yes", "no "}, l[col:col+3])
	}
}

func TestScopesUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no scopes", nil, "no scopes given"},
		{"only --json", []string{"--json"}, "no scopes given"},
		{"empty claim", []string{"--claim", ""}, "no scopes given"},
		{"unknown flag", []string{"--frob", "openid"}, "flag provided but not defined"},
		{"--permits without request", []string{"--permits", "user/*.rs"}, "--permits needs METHOD PATH"},
		{"--permits with extra args", []string{"--permits", "user/*.rs", "GET", "Patient", "x"}, "--permits needs METHOD PATH"},
		{"--permits with --claim", []string{"--permits", "user/*.rs", "--claim", "openid", "GET", "Patient"}, "cannot be combined"},
		{"--patient without --permits", []string{"--patient", "p1", "openid"}, "need --permits"},
		{"malformed request", []string{"--permits", "user/*.rs", "GET", "Patient//1"}, "scopes: invalid request"},
		{"unknown method", []string{"--permits", "user/*.rs", "TRACE", "Patient"}, "unsupported method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runScopesCLI(tc.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.want)
		})
	}
	code, _, stderr := runScopesCLI("-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "usage: smartauth scopes")
}

type permitsDecisionOut struct {
	Allowed         bool   `json:"allowed"`
	Reason          string `json:"reason"`
	Scope           string `json:"scope"`
	NeedsEntryCheck bool   `json:"needsEntryCheck"`
	Interaction     string `json:"interaction"`
	Filters         []struct {
		ResourceType string `json:"resourceType"`
		Scope        string `json:"scope"`
		Params       []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"params"`
	} `json:"filters"`
}

func decodeDecision(t *testing.T, out string) permitsDecisionOut {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var d permitsDecisionOut
	require.NoError(t, dec.Decode(&d), out)
	assert.False(t, dec.More(), "one JSON object")
	return d
}

// TestScopesPermits runs request-level examples (scopes.Permits) through the
// CLI.
func TestScopesPermits(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		reason     string
		scope      string
		filters    int
		entryCheck bool
	}{
		{"read allow", []string{"--permits", "patient/Observation.rs", "--patient", "p1", "GET", "/Observation/123"}, 0,
			"granted by patient/Observation.rs", "patient/Observation.rs", 0, false},
		{"delete deny", []string{"--permits", "patient/Observation.rs", "--patient", "p1", "DELETE", "/Observation/123"}, 1,
			"no scope grants d on Observation", "", 0, false},
		{"create deny", []string{"--permits", "patient/*.rs patient/Observation.u", "--patient", "p1", "POST", "Observation"}, 1,
			"no scope grants c on Observation", "", 0, false},
		{"two filters", []string{"--permits", "patient/Condition.rs?category=health-concern patient/Condition.rs?category=encounter-diagnosis", "--patient", "p1", "GET", "Condition"}, 0,
			"granted by 2 granular scopes on Condition only", "patient/Condition.rs?category=health-concern", 2, false},
		{"wildcard wins", []string{"--permits", "patient/*.cruds patient/Observation.rs?code=foo", "--patient", "p1", "GET", "Observation"}, 0,
			"granted by patient/*.cruds", "patient/*.cruds", 0, false},
		{"$export not granted on its own", []string{"--permits", "system/*.rs", "GET", "/$export"}, 1,
			"$export usually requires system/*.rs", "", 0, false},
		{"$export with --export-policy", []string{"--permits", "system/*.rs", "--export-policy", "GET", "/$export"}, 0,
			"operation $export allowed by the operation policy", "", 0, false},
		{"system/Observation.read cannot export", []string{"--permits", "system/Observation.read", "--export-policy", "GET", "/$export"}, 1,
			"operation $export denied by the operation policy", "", 0, false},
		{"no patient", []string{"--permits", "patient/*.read", "GET", "Observation/1"}, 1,
			"grants nothing without a patient in context", "", 0, false},
		{"batch needs entry check", []string{"--permits", "user/*.cruds", "POST", "/"}, 1,
			"evaluate each entry", "", 0, true},
		{"metadata needs no scope", []string{"--permits", "", "GET", "metadata"}, 0,
			"need no scope", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runScopesCLI(append([]string{"--json"}, tc.args...)...)
			assert.Equal(t, tc.code, code, stderr)
			d := decodeDecision(t, stdout)
			assert.Equal(t, tc.code == 0, d.Allowed)
			assert.Contains(t, d.Reason, tc.reason)
			assert.Equal(t, tc.scope, d.Scope)
			assert.Len(t, d.Filters, tc.filters)
			assert.Equal(t, tc.entryCheck, d.NeedsEntryCheck)

			code, stdout, _ = runScopesCLI(tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, stdout, "reason:")
			assert.Contains(t, stdout, tc.reason)
		})
	}
}

func TestScopesPermitsFiltersAndWarnings(t *testing.T) {
	code, stdout, stderr := runScopesCLI("--json", "--permits", "patient/Condition.rs?category="+scopesLabCategory+" bogus patient/Observation.sr",
		"--patient", "p1", "GET", "Condition?code=x")
	assert.Equal(t, 0, code)
	d := decodeDecision(t, stdout)
	require.Len(t, d.Filters, 1)
	assert.Equal(t, "Condition", d.Filters[0].ResourceType)
	require.Len(t, d.Filters[0].Params, 1)
	assert.Equal(t, "category", d.Filters[0].Params[0].Name)
	assert.Equal(t, scopesLabCategory, d.Filters[0].Params[0].Value)
	assert.Equal(t, "search-type", d.Interaction)
	assert.NotContains(t, stdout, `\u0026`, "no HTML escaping")
	assert.Contains(t, stderr, `ignoring invalid scope "bogus" (token 2)`)
	assert.Contains(t, stderr, `ignoring invalid scope "patient/Observation.sr" (token 3)`)

	code, stdout, _ = runScopesCLI("--permits", "patient/Condition.rs?category=a", "--patient", "p1", "GET", "Condition")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "allowed (conditional: enforce the filters)")
	assert.Contains(t, stdout, "filter:    Condition?category=a")
}

// TestScopesDispatch checks that "smartauth scopes" reaches runScopes.
func TestScopesDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"scopes", "--json", "--", "openid"}, strings.NewReader(""), &out, &errb)
	assert.Equal(t, 0, code)
	assert.JSONEq(t, `{"scope":"openid","valid":true,"kind":"identity"}`, out.String())
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestScopesOutputError: a failed write to stdout is exit status 2 (as a
// usage error), never 1, which means "invalid" or "denied".
func TestScopesOutputError(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"table", []string{"patient/*.rs"}},
		{"json", []string{"--json", "patient/*.rs"}},
		{"permits table", []string{"--permits", "user/*.rs", "GET", "Observation/1"}},
		{"permits json", []string{"--json", "--permits", "user/*.rs", "GET", "Observation/1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			assert.Equal(t, 2, runScopes(tc.args, failingWriter{}, &stderr))
			assert.Contains(t, stderr.String(), "disk full")
		})
	}
}
