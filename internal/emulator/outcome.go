package emulator

import (
	"net/http"
)

// writeJSON writes v as application/fhir+json (or application/json for the
// SMART configuration), encoded as stored resources are (encodeJSON).
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"encoding the response failed"}]}`)
	}
	writeBytes(w, status, contentType, b)
}

// writeBytes writes JSON bytes.
func writeBytes(w http.ResponseWriter, status int, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

const fhirJSON = "application/fhir+json"

// outcome is an OperationOutcome with one issue.
func outcome(severity, code, check, diagnostics string) map[string]any {
	issue := map[string]any{"severity": severity, "code": code, "diagnostics": diagnostics}
	if check != "" {
		issue["details"] = map[string]any{"text": "emulator check: " + check}
	}
	return map[string]any{"resourceType": "OperationOutcome", "issue": []any{issue}}
}

// refusal is a request the emulator answers with an OperationOutcome.
type refusal struct {
	status int
	code   string // OperationOutcome issue code
	check  string // short name of the failed check, also logged as the reason
	msg    string // diagnostics
	// logReason, when set, is logged instead of check (a reason the client
	// must not see).
	logReason string
}

func (r refusal) write(w http.ResponseWriter) {
	if r.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if r.status == http.StatusForbidden {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
	}
	writeJSON(w, r.status, fhirJSON, outcome("error", r.code, r.check, r.msg))
}

func unauthorized(check, msg string) *refusal {
	return &refusal{status: http.StatusUnauthorized, code: "login", check: check, msg: msg}
}

func forbidden(check, msg string) *refusal {
	return &refusal{status: http.StatusForbidden, code: "forbidden", check: check, msg: msg}
}

func badRequest(check, msg string) *refusal {
	return &refusal{status: http.StatusBadRequest, code: "invalid", check: check, msg: msg}
}
