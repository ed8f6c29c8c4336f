package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownSeed is the embedded seed without anything outside Patient/456's
// compartment: the store as it would be if no other patient existed.
func ownSeed(t *testing.T) []byte {
	t.Helper()
	var b map[string]any
	require.NoError(t, json.Unmarshal(defaultSeed, &b))
	var kept []any
	for _, e := range b["entry"].([]any) {
		res := e.(map[string]any)["resource"].(map[string]any)
		if in, _ := inCompartment(res["resourceType"].(string), decodedMembers(res), "456", localRefs{testEndpoint}); in {
			kept = append(kept, e)
		}
	}
	require.Less(t, len(kept), len(b["entry"].([]any)))
	b["entry"] = kept
	out, err := json.Marshal(b)
	require.NoError(t, err)
	return out
}

// A bad search gets the same answer whether or not resources the caller may
// not see exist: every parameter is checked before the store is read, so a
// patient/ client cannot probe another patient's ids or compartment with a
// 400 that only a stored match reaches.
func TestSearchErrorsDoNotDependOnTheStore(t *testing.T) {
	inv := &fakeLambda{scope: "patient/*.cruds", patient: "456"}
	full, _ := newTestServer(t, inv)
	own, _ := newTestServer(t, inv, func(c *Config) { c.Seed = ownSeed(t) })
	// Each base selects another patient's resources in full and nothing
	// (or only 456's) in own, or nothing in either.
	bases := []string{
		"Observation?_id=obs-789-glucose", "Observation?_id=obs-nonexistent",
		"Observation?patient=789", "Observation?patient=nobody", "Condition?patient=900",
		"Condition?subject=Patient/789", "Patient?_id=789", "Patient?_id=nobody",
		"Observation?code=2339-0", "Observation",
	}
	bad := []string{
		"zzz=1", "_include=Observation:subject", "_revinclude=Provenance:target", "_sort=date",
		"_summary=true", "_elements=id", "code:text=glucose", "subject.name=x", "_count=x", "_format=xml",
		"status=final", "a.b:c=1",
	}
	for _, p := range bad {
		t.Run(p, func(t *testing.T) {
			var first response
			for i, b := range bases {
				sep := "&"
				if !strings.Contains(b, "?") {
					sep = "?"
				}
				for _, s := range []*Server{full, own} {
					r := do(t, s, http.MethodGet, b+sep+p, testToken, "")
					require.Equal(t, http.StatusBadRequest, r.status, "%s%s%s: %s", b, sep, p, r.body)
					if i == 0 && s == full {
						first = r
						continue
					}
					assert.Equal(t, first.body, r.body, "%s%s%s", b, sep, p)
				}
				// The same through POST _search.
				form := strings.TrimPrefix(strings.TrimPrefix(b, "Observation"), "?")
				if strings.HasPrefix(b, "Observation") && form != "" {
					for _, s := range []*Server{full, own} {
						r := do(t, s, http.MethodPost, "Observation/_search", testToken, form+"&"+p, "Content-Type", "application/x-www-form-urlencoded")
						require.Equal(t, http.StatusBadRequest, r.status, r.body)
						assert.Equal(t, first.body, r.body, "POST _search %s&%s", form, p)
					}
				}
			}
		})
	}
	// And the good searches differ only by what the caller may see.
	for _, b := range bases {
		rf, ro := do(t, full, http.MethodGet, b, testToken, ""), do(t, own, http.MethodGet, b, testToken, "")
		require.Equal(t, http.StatusOK, rf.status, rf.body)
		assert.Equal(t, ids(t, ro), ids(t, rf), b)
	}
}
