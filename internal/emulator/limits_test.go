package emulator

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyValues is an Observation of n {"a":1} objects: the body shape that
// costs most memory per byte when decoded.
func tinyValues(n int) string {
	return `{"resourceType":"Observation","status":"final","component":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, n), ",") + `]}`
}

// The store keeps compact JSON, so its memory follows the stored bytes,
// not the decoded form (some sixty times larger for tiny values; 20
// creates of 1 MiB of {"a":1} took 1.3 GB when the store held maps).
func TestStoreMemoryFollowsBytes(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"})
	body := tinyValues(9_000) // under maxValues, 72 KB
	_, bytesBefore := s.store.usage()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 20
	for range n {
		r := do(t, s, http.MethodPost, "Observation", testToken, body)
		require.Equal(t, http.StatusCreated, r.status, r.body)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	_, bytesAfter := s.store.usage()
	stored := bytesAfter - bytesBefore
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("stored %d bytes of JSON, heap grew %d bytes", stored, grown)
	require.Greater(t, stored, int64(n*len(body)/2))
	// As maps the 20 resources took about 90 MB (9,000 small maps each).
	assert.Less(t, grown, 2*stored+4<<20, "the heap grows with the stored bytes")
	runtime.KeepAlive(s)
}

// A body of more JSON values than maxValues is refused before it is kept.
func TestTooManyValues(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"})
	r := do(t, s, http.MethodPost, "Observation", testToken, tinyValues(maxValues))
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	check, diag := issue(t, r)
	assert.Equal(t, "body", check)
	assert.Contains(t, diag, fmt.Sprintf("more than %d JSON values", maxValues))
	assert.Equal(t, 256<<10, DefaultMaxBody)
}

// Creates past MaxStoreBytes get 507, also when they race: the cap is
// checked under the store's lock.
func TestStoreByteCap(t *testing.T) {
	const maxBytes = 1 << 20
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"}, func(c *Config) { c.MaxStoreBytes = maxBytes })
	body := `{"resourceType":"Observation","status":"final","note":[{"text":"` + strings.Repeat("x", 100<<10) + `"}]}`
	_, seed := s.store.usage()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			r := do(t, s, http.MethodPost, "Observation", testToken, body)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
			if r.status == http.StatusInsufficientStorage {
				check, diag := issue(t, r)
				assert.Equal(t, "store-full", check)
				assert.Contains(t, diag, fmt.Sprintf("cap of %d bytes", maxBytes))
			}
		})
	}
	wg.Wait()
	count, stored := s.store.usage()
	assert.LessOrEqual(t, stored, int64(maxBytes))
	created := statuses[http.StatusCreated]
	require.Positive(t, created, "%v", statuses)
	assert.Equal(t, 16, created+statuses[http.StatusInsufficientStorage], "%v", statuses)
	each := (stored - seed) / int64(created)
	assert.Greater(t, stored+each, int64(maxBytes), "%v: refused only when one more would not fit", statuses)
	// An update that grows a resource past the cap is refused too, and
	// a delete frees the bytes.
	r := do(t, s, http.MethodPut, "Patient/456", testToken, `{"resourceType":"Patient","id":"456","text":{"div":"`+strings.Repeat("y", 200<<10)+`"}}`)
	assert.Equal(t, http.StatusInsufficientStorage, r.status, r.body)
	ids := s.store.list("Observation")
	r = do(t, s, http.MethodDelete, "Observation/"+ids[len(ids)-1].id, testToken, "")
	require.Equal(t, http.StatusNoContent, r.status, r.body)
	count2, stored2 := s.store.usage()
	assert.Equal(t, count-1, count2)
	assert.Less(t, stored2, stored)

	// A seed larger than the cap is a configuration error.
	_, err := New(Config{Invoker: &fakeLambda{}, DatastoreEndpoint: testEndpoint, Metadata: []byte(`{}`), MaxStoreBytes: 1000})
	assert.ErrorContains(t, err, "cap of 1000 bytes")
}
