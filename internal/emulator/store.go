package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// store is the in-memory FHIR store: type -> id -> the resource as compact
// JSON (sorted member names, as served). Resources are kept as bytes, not
// decoded values: a decoded body can take sixty times its JSON size in
// memory, so a cap on stored bytes bounds the store's memory only for
// bytes. They are served as stored (read, search) and, for a search
// match and the checks, split into top-level members of which only those
// read are decoded (storedMembers).
type store struct {
	mu        sync.RWMutex
	resources map[string]map[string][]byte
	count     int   // resources stored
	max       int   // cap on count
	bytes     int64 // stored JSON bytes
	maxBytes  int64 // cap on bytes
}

// storedResource is one resource of a type, as stored.
type storedResource struct {
	id  string
	raw []byte
}

// encodeResource returns the stored (and served) form of a resource.
func encodeResource(res map[string]any) ([]byte, error) {
	return encodeJSON(res)
}

// loadSeed builds a store holding at most max resources and maxBytes bytes
// of compact JSON from a Bundle (any type) whose entries carry resources
// with a resourceType and a valid id. A seed resource without
// meta.versionId gets version 1 and, without meta.lastUpdated, now: its
// first update is then version 2.
func loadSeed(bundle []byte, now time.Time, max int, maxBytes int64) (*store, error) {
	b, err := decodeStrict(bundle, 0)
	if err != nil {
		return nil, fmt.Errorf("emulator: seed: %w", err)
	}
	if b["resourceType"] != "Bundle" {
		return nil, errors.New("emulator: seed: want a Bundle")
	}
	entries, _ := b["entry"].([]any)
	if len(entries) > max {
		return nil, fmt.Errorf("emulator: seed: %d entries, more than the store's cap of %d resources", len(entries), max)
	}
	s := &store{resources: map[string]map[string][]byte{}, max: max, maxBytes: maxBytes}
	for i, e := range entries {
		em, _ := e.(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if res == nil {
			return nil, fmt.Errorf("emulator: seed: entry %d has no resource", i)
		}
		rt, _ := res["resourceType"].(string)
		id, _ := res["id"].(string)
		if !typePattern.MatchString(rt) || !idPattern.MatchString(id) {
			return nil, fmt.Errorf("emulator: seed: entry %d: want a resourceType and a valid id", i)
		}
		if s.resources[rt] == nil {
			s.resources[rt] = map[string][]byte{}
		}
		if _, dup := s.resources[rt][id]; dup {
			return nil, fmt.Errorf("emulator: seed: duplicate %s/%s", rt, id)
		}
		meta, ok := res["meta"].(map[string]any)
		if !ok {
			if _, has := res["meta"]; has {
				return nil, fmt.Errorf("emulator: seed: %s/%s: meta is not an object", rt, id)
			}
			meta = map[string]any{}
			res["meta"] = meta
		}
		if _, has := meta["versionId"]; !has {
			meta["versionId"] = "1"
		}
		if _, has := meta["lastUpdated"]; !has {
			meta["lastUpdated"] = now.UTC().Format(time.RFC3339)
		}
		raw, err := encodeResource(res)
		if err != nil {
			return nil, fmt.Errorf("emulator: seed: %s/%s: %w", rt, id, err)
		}
		if s.bytes+int64(len(raw)) > maxBytes {
			return nil, fmt.Errorf("emulator: seed: more than the store's cap of %d bytes of compact JSON", maxBytes)
		}
		s.resources[rt][id] = raw
		s.bytes += int64(len(raw))
		s.count++
	}
	return s, nil
}

// get returns rt/id as stored (never modified: a write replaces it) and
// its members.
func (s *store) get(rt, id string) ([]byte, members, bool) {
	s.mu.RLock()
	raw, ok := s.resources[rt][id]
	s.mu.RUnlock()
	if !ok {
		return nil, nil, false
	}
	m, ok := storedMembers(raw)
	return raw, m, ok
}

// list returns the stored resources of one type in id order (the byte
// slices are never modified: a write replaces them).
func (s *store) list(rt string) []storedResource {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := slices.Sorted(maps.Keys(s.resources[rt]))
	out := make([]storedResource, 0, len(ids))
	for _, id := range ids {
		out = append(out, storedResource{id: id, raw: s.resources[rt][id]})
	}
	return out
}

// types returns the stored resource types.
func (s *store) types() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.resources))
}

// usage returns the number of stored resources and their JSON bytes.
func (s *store) usage() (count int, bytes int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count, s.bytes
}

// write stores res under rt/id with a new meta.versionId and lastUpdated
// once check approves the stored version (nil when there is none); check
// runs under the write lock, so no other write slips in between the
// decision and the write, and so do the caps (no concurrent create can
// overshoot them). It returns the stored bytes and whether the resource is
// new, or the refusal: check's, or a full store's (507: the count or the
// bytes cap).
func (s *store) write(rt, id string, res map[string]any, now time.Time, check func(old members) *refusal) (raw []byte, created bool, ref *refusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldRaw, old, exists, ref := s.stored(rt, id)
	if ref != nil {
		return nil, false, ref
	}
	if ref := check(old); ref != nil {
		return nil, false, ref
	}
	version := 1
	if exists {
		if m, ok := old("meta").(map[string]any); ok {
			if v, err := strconv.Atoi(fmt.Sprint(m["versionId"])); err == nil {
				version = v + 1
			}
		}
	} else if s.count >= s.max {
		return nil, false, &refusal{status: http.StatusInsufficientStorage, code: "too-costly", check: "store-full",
			msg: fmt.Sprintf("the emulator's store holds its cap of %d resources: delete some or restart it", s.max)}
	}
	res["id"] = id
	meta, _ := res["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = strconv.Itoa(version)
	meta["lastUpdated"] = now.UTC().Format(time.RFC3339)
	res["meta"] = meta
	raw, err := encodeResource(res)
	if err != nil {
		return nil, false, badRequest("body", "the resource cannot be encoded")
	}
	if grown := s.bytes - int64(len(oldRaw)) + int64(len(raw)); grown > s.maxBytes {
		return nil, false, &refusal{status: http.StatusInsufficientStorage, code: "too-costly", check: "store-full",
			msg: fmt.Sprintf("the emulator's store would exceed its cap of %d bytes of JSON (holds %d, this version %d): delete some resources or restart it", s.maxBytes, s.bytes, len(raw))}
	}
	if !exists {
		created = true
		s.count++
	}
	if s.resources[rt] == nil {
		s.resources[rt] = map[string][]byte{}
	}
	s.bytes += int64(len(raw)) - int64(len(oldRaw))
	s.resources[rt][id] = raw
	return raw, created, nil
}

// stored returns the version of rt/id that a write or remove replaces, and
// its members (nil when there is none); the caller holds the write lock.
func (s *store) stored(rt, id string) (raw []byte, old members, exists bool, ref *refusal) {
	raw, exists = s.resources[rt][id]
	if !exists {
		return nil, nil, false, nil
	}
	old, ok := storedMembers(raw)
	if !ok {
		return nil, nil, false, &refusal{status: http.StatusInternalServerError, code: "exception", check: "store", msg: "the stored version cannot be decoded"}
	}
	return raw, old, true, nil
}

// remove deletes rt/id once check approves the stored version (nil when
// there is none), under the write lock like write.
func (s *store) remove(rt, id string, check func(old members) *refusal) *refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldRaw, old, exists, ref := s.stored(rt, id)
	if ref != nil {
		return ref
	}
	if ref := check(old); ref != nil {
		return ref
	}
	if exists {
		delete(s.resources[rt], id)
		s.count--
		s.bytes -= int64(len(oldRaw))
	}
	return nil
}

// newID returns a random 32-hex-digit id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// --- matching ---------------------------------------------------------------------------------

// supportedParams are the search parameters the emulator evaluates.
var supportedParams = []string{"_id", "patient", "subject", "category", "code"}

// matcher reports whether a resource matches one search parameter.
type matcher func(res members, l localRefs) bool

// compileParam checks one search parameter of a search on type rt, whose
// value is a comma-separated (FHIR OR) list of decoded values, and returns
// its matcher. Every error comes from the type, the name and the value
// alone, never from a stored resource: a search checks all its parameters
// before it reads the store, so that its answer cannot tell whether a
// resource the caller may not see exists (and the matcher cannot fail).
//
// patient matches the references that put a resource of rt into a patient
// compartment (compartmentFields), nothing else: a resource cannot enter
// one patient's compartment through subject and another's search results
// through a patient element. It is refused on Patient (a patient is found
// by _id) and on types whose compartment the emulator does not know.
func compileParam(rt, name, value string) (matcher, error) {
	values := strings.Split(value, ",")
	switch name {
	case "_id":
		return func(res members, _ localRefs) bool {
			id, _ := res("id").(string)
			return slices.Contains(values, id)
		}, nil
	case "patient", "subject":
		var fields []string
		if name == "patient" {
			switch {
			case rt == "Patient":
				return nil, errors.New("search parameter patient is not defined for Patient: find a patient by _id")
			case compartmentFields[rt] == nil:
				return nil, fmt.Errorf("search parameter patient: the emulator evaluates it only on the patient-compartment types it knows (%s), not on %s", strings.Join(slices.Sorted(maps.Keys(compartmentFields)), ", "), rt)
			}
			fields = compartmentFields[rt]
		} else {
			if rt == "Patient" {
				return nil, errors.New("search parameter subject is not defined for Patient: find a patient by _id")
			}
			if f, known := compartmentFields[rt]; known && !slices.Contains(f, "subject") {
				return nil, fmt.Errorf("search parameter subject is not defined for %s: use patient", rt)
			}
			fields = []string{"subject"}
		}
		return func(res members, l localRefs) bool {
			for _, f := range fields {
				ref := referenceOf(res(f))
				for _, v := range values {
					if ref != "" && l.sameReference(ref, v, name == "patient") {
						return true
					}
				}
			}
			return false
		}, nil
	case "category", "code":
		return func(res members, _ localRefs) bool {
			var concepts []any
			if name == "category" {
				switch c := res("category").(type) {
				case []any:
					concepts = c
				case map[string]any:
					concepts = []any{c}
				}
			} else {
				concepts = []any{res("code"), res("medicationCodeableConcept")}
			}
			for _, v := range values {
				for _, c := range concepts {
					if conceptMatches(c, v) {
						return true
					}
				}
			}
			return false
		}, nil
	}
	if strings.ContainsAny(name, ":.") {
		return nil, fmt.Errorf("search parameter %q: modifiers and chaining are not supported by the emulator (it evaluates %s)", shorten(name, 64), strings.Join(supportedParams, ", "))
	}
	return nil, fmt.Errorf("unsupported search parameter %q (the emulator evaluates %s)", shorten(name, 64), strings.Join(supportedParams, ", "))
}

// referenceOf returns Reference.reference of v, "" when v is not one.
func referenceOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["reference"].(string)
	return s
}

// refTail returns the last "Type/id" of a relative or absolute reference
// (the patient claim's forms; compartments use localRefs.resolve).
func refTail(ref string) (typ, id string) {
	parts := strings.Split(strings.TrimSuffix(ref, "/"), "/")
	if len(parts) < 2 {
		return "", ref
	}
	// Type/id/_history/v: drop the version.
	if len(parts) >= 4 && parts[len(parts)-2] == "_history" {
		parts = parts[:len(parts)-2]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// localRefs are the base URLs (each ending in "/") under which an absolute
// reference names a resource of this server: BaseURL and DatastoreEndpoint.
type localRefs []string

// resolve returns the type and id of a reference to a resource of this
// server: relative "Type/id" (optionally with "/_history/v"), or absolute
// under one of the bases. A reference to any other server, or of any other
// form, is not local (ok false): it puts nothing into a compartment.
func (l localRefs) resolve(ref string) (typ, id string, ok bool) {
	if strings.Contains(ref, ":") {
		found := false
		for _, b := range l {
			if rest, cut := strings.CutPrefix(ref, b); cut {
				ref, found = rest, true
				break
			}
		}
		if !found {
			return "", "", false
		}
	}
	parts := strings.Split(ref, "/")
	if len(parts) == 4 && parts[2] == "_history" {
		parts = parts[:2]
	}
	if len(parts) != 2 || !typePattern.MatchString(parts[0]) || !idPattern.MatchString(parts[1]) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// sameReference compares a stored reference with a search value: "Type/id",
// an absolute URL under one of the bases, or a bare id (for patient: a
// Patient id).
func (l localRefs) sameReference(ref, value string, patientOnly bool) bool {
	rt, rid, ok := l.resolve(ref)
	if !ok || (patientOnly && rt != "Patient") {
		return false
	}
	if !strings.Contains(value, "/") {
		return rid == value
	}
	vt, vid, ok := l.resolve(value)
	return ok && rt == vt && rid == vid
}

// conceptMatches evaluates a token search value against a CodeableConcept:
// "code" (any system), "system|code", "|code" (no system), "system|" (any
// code of the system).
func conceptMatches(c any, value string) bool {
	m, _ := c.(map[string]any)
	codings, _ := m["coding"].([]any)
	system, code, hasBar := strings.Cut(value, "|")
	if !hasBar {
		code, system = value, ""
	}
	for _, cd := range codings {
		cm, _ := cd.(map[string]any)
		cs, _ := cm["system"].(string)
		cc, _ := cm["code"].(string)
		switch {
		case !hasBar:
			if cc == code {
				return true
			}
		case code == "":
			if cs == system {
				return true
			}
		default:
			if cs == system && cc == code {
				return true
			}
		}
	}
	return false
}

// compartmentFields are the references that put a resource into a patient's
// compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html,
// the subject/patient links of the common clinical types).
var compartmentFields = map[string][]string{
	"AllergyIntolerance":  {"patient"},
	"CarePlan":            {"subject"},
	"CareTeam":            {"subject"},
	"Condition":           {"subject"},
	"DiagnosticReport":    {"subject"},
	"DocumentReference":   {"subject"},
	"Encounter":           {"subject"},
	"Goal":                {"subject"},
	"Immunization":        {"patient"},
	"MedicationRequest":   {"subject"},
	"MedicationStatement": {"subject"},
	"Observation":         {"subject"},
	"Procedure":           {"subject"},
	"ServiceRequest":      {"subject"},
}

// inCompartment reports whether res belongs to the compartment of the
// patient with id patientID, with the reason when it does not. Only
// references to this server count (see localRefs.resolve). The caller has
// refused types outside every compartment (compartmentType); for one of
// them no reference matches.
func inCompartment(rt string, res members, patientID string, l localRefs) (bool, string) {
	if rt == "Patient" {
		id, _ := res("id").(string)
		if id == patientID {
			return true, ""
		}
		return false, fmt.Sprintf("Patient/%s is not the patient in context (Patient/%s)", id, patientID)
	}
	fields := compartmentFields[rt]
	for _, f := range fields {
		if t, id, ok := l.resolve(referenceOf(res(f))); ok && t == "Patient" && id == patientID {
			return true, ""
		}
	}
	return false, fmt.Sprintf("%s.%s does not reference Patient/%s, the patient in context", rt, strings.Join(fields, "/"), patientID)
}

// compartmentType reports whether resources of rt can be in a patient
// compartment (Patient itself, or a type of compartmentFields).
func compartmentType(rt string) bool {
	_, ok := compartmentFields[rt]
	return ok || rt == "Patient"
}

// notCompartmentType says why patient/ scopes grant nothing on rt.
func notCompartmentType(rt string) string {
	return fmt.Sprintf("%s is not a patient-compartment type the emulator knows (%s): patient/ scopes grant no access to it (use user/ or system/ scopes)",
		rt, strings.Join(append([]string{"Patient"}, slices.Sorted(maps.Keys(compartmentFields))...), ", "))
}
