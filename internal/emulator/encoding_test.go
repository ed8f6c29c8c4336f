package emulator

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The store keeps what a client sent: numbers byte for byte, and text
// without HTML escaping (v1's "<" -> "\u003c" made stored bytes up to six
// times the body). A read, a search and the create's answer serve the
// same bytes.
func TestStoredEncoding(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"})
	numbers := []string{"1.10", "12345678901234567890123", "-0", "1.0E+2", "0.000000000000000000000000001", "-1.5e-7"}
	text := strings.Repeat("<b>&amp;</b> ", 100) + "\u2028 é 😀"
	body := `{"resourceType":"Observation","status":"final","valueQuantity":{"value":` + numbers[0] + `},"component":[` +
		`{"valueInteger":` + numbers[1] + `},{"valueDecimal":` + numbers[2] + `},{"valueDecimal":` + numbers[3] + `},{"valueDecimal":` + numbers[4] + `},{"valueDecimal":` + numbers[5] + `}],` +
		`"note":[{"text":"` + text + `"}]}`
	r := do(t, s, http.MethodPost, "Observation", testToken, body)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	id := r.json["id"].(string)
	raw, _, ok := s.store.get("Observation", id)
	require.True(t, ok)
	stored := string(raw)
	for _, n := range numbers {
		assert.Contains(t, stored, ":"+n+"}", "number %s kept byte for byte", n)
	}
	assert.Contains(t, stored, `"text":"`+text+`"`, "no HTML escaping")
	assert.NotContains(t, stored, `\u003c`)
	assert.Less(t, len(stored), len(body)+200, "stored size follows the body's")
	assert.Equal(t, stored, r.body, "create answers the stored bytes")

	read := do(t, s, http.MethodGet, "Observation/"+id, testToken, "")
	require.Equal(t, http.StatusOK, read.status)
	assert.Equal(t, stored, read.body)
	search := do(t, s, http.MethodGet, "Observation?_id="+id, testToken, "")
	require.Equal(t, []string{id}, ids(t, search))
	assert.Contains(t, search.body, `"resource":`+stored+`,`)

	// An update keeps them too.
	upd := strings.Replace(body, `{"resourceType":"Observation",`, `{"resourceType":"Observation","id":"`+id+`",`, 1)
	r = do(t, s, http.MethodPut, "Observation/"+id, testToken, upd)
	require.Equal(t, http.StatusOK, r.status, r.body)
	for _, n := range numbers {
		assert.Contains(t, r.body, ":"+n+"}")
	}
	assert.Contains(t, r.body, text)
}

// A message holding invalid UTF-8 (an id from a percent-encoded path) is
// still served, with U+FFFD, not as a 500.
func TestInvalidUTF8InMessage(t *testing.T) {
	s, _ := newTestServer(t, &fakeLambda{scope: "system/*.cruds"})
	rec := rawDo(t, s, http.MethodGet, "Patient/a%FFb", "")
	assert.NotEqual(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
}

// A member read by a check keeps a number beyond float64 (it decoded to
// nil, so the resource left its patient's compartment).
func TestStoredMembersKeepNumbers(t *testing.T) {
	raw := []byte(`{"id":"x","resourceType":"Observation","subject":{"extension":[{"url":"u","valueDecimal":1e400}],"reference":"Patient/456"}}`)
	m, ok := storedMembers(raw)
	require.True(t, ok)
	assert.Equal(t, "Patient/456", referenceOf(m("subject")))
	in, why := inCompartment("Observation", m, "456", localRefs{testEndpoint})
	assert.True(t, in, why)
	assert.Equal(t, "x", m("id"))
	assert.Nil(t, m("code"))
}
