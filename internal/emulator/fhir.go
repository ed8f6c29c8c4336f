package emulator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// serveFHIR runs an authorized request against the store.
// ifNoneExist reports an If-None-Exist header (conditional create).
func (s *Server) serveFHIR(w http.ResponseWriter, req scopes.Request, body []byte, acc access, ifNoneExist bool) *refusal {
	rt := req.ResourceType
	switch req.Interaction {
	case scopes.Read, scopes.Update, scopes.Delete:
		// A type outside every patient compartment, through patient/
		// scopes only: refused whatever the store holds.
		if why, closed := acc.closedType(rt); closed && req.ID != "" {
			return forbidden(checkCompartmentType, fmt.Sprintf("%s %s/%s refused: %s", req.Interaction, rt, shorten(req.ID, 64), why))
		}
	}
	switch req.Interaction {
	case scopes.Capabilities:
		writeJSON(w, http.StatusOK, fhirJSON, s.capabilityStatement())
		return nil
	case scopes.Read:
		raw, res, ok := s.store.get(rt, req.ID)
		if !ok {
			return notFound(rt, req.ID, acc, "")
		}
		if ref := refuse(acc, "read", rt, req.ID, res, ""); ref != nil {
			return ref
		}
		writeResource(w, http.StatusOK, raw, res)
		return nil
	case scopes.SearchType:
		return s.search(w, req, acc)
	case scopes.Create:
		if ifNoneExist {
			// Ignoring the header would create a duplicate.
			return notSupported("conditional create (If-None-Exist)")
		}
		res, ref := parseBody(body, rt, "")
		if ref != nil {
			return ref
		}
		// The server assigns the id before the checks: a body's id is
		// ignored (FHIR create), so it cannot satisfy a compartment or an
		// _id filter that the stored resource would not.
		id := newID()
		res["id"] = id
		if ok, check, why := acc.permitted(rt, decodedMembers(res)); !ok {
			return forbidden(check, fmt.Sprintf("create %s refused (with its server-assigned id): %s", rt, why))
		}
		raw, _, ref := s.store.write(rt, id, res, s.cfg.Now(), func(members) *refusal { return nil })
		if ref != nil {
			return ref
		}
		w.Header().Set("Location", s.cfg.BaseURL+rt+"/"+id+"/_history/1")
		writeResource(w, http.StatusCreated, raw, decodedMembers(res))
		return nil
	case scopes.Update:
		if req.ID == "" {
			return notSupported("conditional update")
		}
		res, ref := parseBody(body, rt, req.ID)
		if ref != nil {
			return ref
		}
		if s.beforeWrite != nil {
			s.beforeWrite()
		}
		// The checks run under the store's write lock, against the version
		// the write replaces.
		raw, created, ref := s.store.write(rt, req.ID, res, s.cfg.Now(), func(old members) *refusal {
			if old != nil {
				if ref := refuse(acc, "update", rt, req.ID, old, " (stored version)"); ref != nil {
					if ref.status == http.StatusNotFound {
						return updateNotFound(rt, req.ID, acc, ref.logReason)
					}
					return ref
				}
			} else if acc.compartment() != "" && !acc.grantsOutsideCompartment(rt, decodedMembers(res)) {
				// Update as create through patient/ scopes is refused with
				// the answer of a hidden resource: a 201 for a free id next
				// to a 404 for another patient's id would tell them apart.
				return updateNotFound(rt, req.ID, acc, "update-as-create through patient/ scopes")
			}
			if ok, check, why := acc.permitted(rt, decodedMembers(res)); !ok {
				return forbidden(check, fmt.Sprintf("update %s/%s refused (new version): %s", rt, req.ID, why))
			}
			return nil
		})
		if ref != nil {
			return ref
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeResource(w, status, raw, decodedMembers(res))
		return nil
	case scopes.Delete:
		if req.ID == "" {
			return notSupported("conditional delete")
		}
		if s.beforeWrite != nil {
			s.beforeWrite()
		}
		if ref := s.store.remove(rt, req.ID, func(old members) *refusal {
			if old == nil {
				return notFound(rt, req.ID, acc, "")
			}
			return refuse(acc, "delete", rt, req.ID, old, "")
		}); ref != nil {
			return ref
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return notSupported(req.Interaction.String())
}

// refuse checks a stored resource against the access. A resource outside
// every compartment the access allows is answered as not found, with the
// text of a missing resource, so that a patient/ client cannot tell another
// patient's resources from absent ones; the log keeps the real reason.
func refuse(acc access, what, rt, id string, stored members, version string) *refusal {
	ok, check, why := acc.permitted(rt, stored)
	if ok {
		return nil
	}
	if hidden(check) {
		return notFound(rt, id, acc, check)
	}
	return forbidden(check, fmt.Sprintf("%s %s/%s refused%s: %s", what, rt, id, version, why))
}

// notFound answers a missing resource; when the access has a patient
// compartment the text covers both cases, so it reveals nothing.
// logReason, when set, is logged instead of "not-found".
func notFound(rt, id string, acc access, logReason string) *refusal {
	msg := fmt.Sprintf("%s/%s is not in the store", rt, shorten(id, 64))
	if p := acc.compartment(); p != "" {
		msg = fmt.Sprintf("%s/%s is not in the store or not visible through the granted scopes (patient/ scopes see only the compartment of Patient/%s)", rt, shorten(id, 64), p)
	}
	return &refusal{status: http.StatusNotFound, code: "not-found", check: "not-found", logReason: logReason, msg: msg}
}

// updateNotFound is the one answer to an update through patient/ scopes of
// an id that is free or outside the compartment (404 either way, same text).
func updateNotFound(rt, id string, acc access, logReason string) *refusal {
	ref := notFound(rt, id, acc, logReason)
	ref.msg += "; patient/ scopes cannot create a resource by update (PUT to a new id): use POST (create)"
	return ref
}

func notSupported(what string) *refusal {
	return &refusal{status: http.StatusNotImplemented, code: "not-supported", check: "not-supported",
		msg: fmt.Sprintf("%s is not supported by smartauth emulate (read, search, create, update and delete are)", what)}
}

func parseBody(body []byte, rt, id string) (map[string]any, *refusal) {
	if len(body) == 0 {
		return nil, badRequest("body", "the request has no body: send a "+rt+" resource as JSON")
	}
	res, err := decodeStrict(body, maxValues)
	if err == nil {
		err = checkResource(res, rt, id)
	}
	if err != nil {
		return nil, badRequest("body", err.Error())
	}
	return res, nil
}

// writeResource writes a resource as stored (raw), with its version as
// the ETag.
func writeResource(w http.ResponseWriter, status int, raw []byte, res members) {
	if m, ok := res("meta").(map[string]any); ok {
		if v, ok := m["versionId"].(string); ok {
			w.Header().Set("ETag", `W/"`+v+`"`)
		}
	}
	writeBytes(w, status, fhirJSON, raw)
}

// maxCount caps _count.
const maxCount = 1000

// search runs a type-level search, filtered by the access.
func (s *Server) search(w http.ResponseWriter, req scopes.Request, acc access) *refusal {
	rt := req.ResourceType
	count := maxCount
	// Every parameter is checked before the store is read: an error must
	// not depend on which resources exist (a patient/ client would learn
	// that another patient's resource exists from a 400 that only a
	// stored match reaches).
	var conds []matcher
	for _, name := range slices.Sorted(maps.Keys(req.Query)) {
		for _, v := range req.Query[name] {
			switch name {
			case "_count":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return badRequest("search", "_count must be a non-negative integer")
				}
				count = min(n, maxCount)
			case "_format":
				if !strings.Contains(v, "json") {
					return badRequest("search", "only JSON is served")
				}
			default:
				m, err := compileParam(rt, name, v)
				if err != nil {
					return badRequest("search", err.Error())
				}
				conds = append(conds, m)
			}
		}
	}
	var entries []any
	var notes []string
	total, size := 0, 0
	cut := false // entries left out for the response size
	for _, sr := range s.store.list(rt) {
		// Only the members the matchers and checks read are decoded: a
		// search that matches nothing costs a scan of the stored bytes.
		res, ok := storedMembers(sr.raw)
		if !ok || slices.ContainsFunc(conds, func(m matcher) bool { return !m(res, acc.refs) }) {
			continue
		}
		if ok, _, _ := acc.permitted(rt, res); !ok {
			continue
		}
		total++
		if len(entries) >= count || cut {
			continue
		}
		if size+len(sr.raw) > s.maxSearch {
			cut = true
			continue
		}
		size += len(sr.raw)
		entries = append(entries, map[string]any{
			"fullUrl":  s.cfg.BaseURL + rt + "/" + sr.id,
			"resource": jsontext.Value(sr.raw),
			"search":   map[string]any{"mode": "match"},
		})
	}
	if len(entries) < total {
		why := fmt.Sprintf("_count=%d", count)
		if cut {
			why = fmt.Sprintf("the emulator's cap of %d bytes of resources per response", s.maxSearch)
		} else if count == maxCount {
			why = fmt.Sprintf("the emulator's cap of %d entries (_count at most %d)", maxCount, maxCount)
		}
		notes = append(notes, fmt.Sprintf("the result holds %d of the %d matches (total): it was truncated to %s, and the emulator does not page (no next link): narrow the search", len(entries), total, why))
	}
	if acc.compartment() != "" && !compartmentType(rt) {
		notes = append(notes, "the patient/ scopes add no "+rt+" resources: "+notCompartmentType(rt))
	}
	for _, n := range notes {
		oo := outcome("information", "informational", "search", n)
		entries = append(entries, map[string]any{"resource": oo, "search": map[string]any{"mode": "outcome"}})
	}
	if why := acc.unevaluable(rt); len(why) > 0 {
		oo := outcome("warning", "not-supported", checkFilter, "granular scope filters the emulator cannot evaluate: "+strings.Join(why, "; "))
		entries = append(entries, map[string]any{"resource": oo, "search": map[string]any{"mode": "outcome"}})
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": total,
		"link": []any{map[string]any{"relation": "self", "url": s.cfg.BaseURL + rt}}}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	writeJSON(w, http.StatusOK, fhirJSON, bundle)
	return nil
}

// oauthURIs is the SMART App Launch extension of
// CapabilityStatement.rest.security naming the authorize and token endpoints.
const oauthURIs = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

// capabilityStatement describes what the emulator serves. /metadata, like
// every FHIR path, needs a bearer token (HealthLake sends GetCapabilities
// to the IdP Lambda); SMART discovery is .well-known/smart-configuration.
func (s *Server) capabilityStatement() map[string]any {
	var resources []any
	for _, rt := range s.store.types() {
		var params []any
		for _, p := range supportedParams {
			params = append(params, map[string]any{"name": p, "type": map[string]string{"_id": "token", "patient": "reference", "subject": "reference", "category": "token", "code": "token"}[p]})
		}
		resources = append(resources, map[string]any{
			"type": rt,
			"interaction": []any{map[string]any{"code": "read"}, map[string]any{"code": "search-type"},
				map[string]any{"code": "create"}, map[string]any{"code": "update"}, map[string]any{"code": "delete"}},
			"searchParam": params,
		})
	}
	security := map[string]any{
		"service": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}},
	}
	// The SMART App Launch oauth-uris extension, from the Metadata.
	var uris []any
	for _, m := range []struct{ url, member string }{{"authorize", "authorization_endpoint"}, {"token", "token_endpoint"}} {
		if v, ok := s.metadata[m.member].(string); ok && v != "" {
			uris = append(uris, map[string]any{"url": m.url, "valueUri": v})
		}
	}
	if len(uris) > 0 {
		security["extension"] = []any{map[string]any{"url": oauthURIs, "extension": uris}}
	}
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-01-01",
		"kind":         "instance",
		"software":     map[string]any{"name": "smartauth emulate (HealthLake stand-in)"},
		"implementation": map[string]any{"description": "local SMART-enabled HealthLake stand-in",
			"url": s.cfg.BaseURL},
		"fhirVersion": "4.0.1",
		"format":      []any{"application/fhir+json"},
		"rest": []any{map[string]any{
			"mode":     "server",
			"security": security,
			"resource": resources,
		}},
	}
}
