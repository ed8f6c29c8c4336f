package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// largeSeed is a Bundle of n Observations of Patient/123, each holding
// 9,000 {"a":1} objects (72 KB, the shape that is dearest to decode).
func largeSeed(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"resource":{"resourceType":"Observation","id":"big-%d","status":"final","subject":{"reference":"Patient/123"},"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"component":[%s]}}`,
			i, strings.TrimSuffix(strings.Repeat(`{"a":1},`, 9_000), ","))
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkSearchFullStore searches a store of large resources for a code
// that none has: the cost is the matching alone.
func BenchmarkSearchFullStore(b *testing.B) {
	const n = 100
	s, _ := newTestServer(b, &fakeLambda{scope: "system/*.rs"}, func(c *Config) { c.Seed = largeSeed(n) })
	b.ReportAllocs()
	for b.Loop() {
		r := do(b, s, http.MethodGet, "Observation?code=nomatch", testToken, "")
		if r.status != http.StatusOK {
			b.Fatal(r.status, r.body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/resource")
}

// A search decodes only the top-level members its matchers and checks
// read, not whole stored resources: a search of large resources that
// matches none allocates per resource a few dozen times, not once per
// JSON value (9,000 objects each; decoding them whole made some 72,000
// allocations per resource, 17.8 s for a full store).
func TestSearchDecodesOnlyWhatItReads(t *testing.T) {
	const n = 20
	s, _ := newTestServer(t, &fakeLambda{scope: "patient/Observation.rs", patient: "123"}, func(c *Config) { c.Seed = largeSeed(n) })
	for _, q := range []string{"Observation?code=nomatch", "Observation?category=vital-signs&subject=Patient/123", "Observation?_id=none"} {
		allocs := testing.AllocsPerRun(3, func() {
			r := do(t, s, http.MethodGet, q, testToken, "")
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Empty(t, ids(t, r))
		})
		t.Logf("%s: %.0f allocations for %d resources", q, allocs, n)
		assert.Less(t, allocs, float64(n*200), q)
	}
	// A match still carries the stored bytes unchanged, as a read does.
	raw, _, ok := s.store.get("Observation", "big-7")
	require.True(t, ok)
	r := do(t, s, http.MethodGet, "Observation?code=http://loinc.org|8867-4&_id=big-7", testToken, "")
	require.Equal(t, []string{"big-7"}, ids(t, r))
	assert.Contains(t, r.body, `"resource":`+string(raw)+`,`)
	r = do(t, s, http.MethodGet, "Observation/big-7", testToken, "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, string(raw), r.body)
	assert.Equal(t, `W/"1"`, r.header.Get("ETag"))
}
