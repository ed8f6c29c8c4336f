package scopes

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrInvalidRequest is wrapped by every error ParseRequest returns.
var ErrInvalidRequest = errors.New("scopes: invalid request")

// Interaction is the FHIR RESTful interaction a request performs
// (https://hl7.org/fhir/R4/http.html). The zero value is "unknown" and is
// never permitted.
type Interaction int

// FHIR interactions recognised by ParseRequest.
const (
	Create          Interaction = iota + 1 // POST [type]
	Read                                   // GET [type]/[id]
	VRead                                  // GET [type]/[id]/_history/[vid]
	InstanceHistory                        // GET [type]/[id]/_history
	Update                                 // PUT [type]/[id], PUT [type]?[params]
	Patch                                  // PATCH [type]/[id], PATCH [type]?[params]
	Delete                                 // DELETE [type]/[id], DELETE [type]?[params]
	SearchType                             // GET [type]?..., POST [type]/_search
	SearchSystem                           // GET ?..., GET (empty path), POST _search
	HistoryType                            // GET [type]/_history
	HistorySystem                          // GET _history
	Batch                                  // POST (empty path): batch or transaction Bundle
	Operation                              // [type[/id]/]$op, GET or POST
	Capabilities                           // GET metadata, GET .well-known/smart-configuration
)

// String returns the FHIR interaction code ("read", "search-type", ...), or
// "batch", "operation", "capabilities".
func (i Interaction) String() string {
	switch i {
	case 0:
		return ""
	case Create:
		return "create"
	case Read:
		return "read"
	case VRead:
		return "vread"
	case InstanceHistory:
		return "history-instance"
	case Update:
		return "update"
	case Patch:
		return "patch"
	case Delete:
		return "delete"
	case SearchType:
		return "search-type"
	case SearchSystem:
		return "search-system"
	case HistoryType:
		return "history-type"
	case HistorySystem:
		return "history-system"
	case Batch:
		return "batch"
	case Operation:
		return "operation"
	case Capabilities:
		return "capabilities"
	}
	return "Interaction(" + strconv.Itoa(int(i)) + ")"
}

// Permission returns the SMART permission letter the interaction needs
// or 0 for Batch, Operation and Capabilities, which no
// permission letter grants on its own.
func (i Interaction) Permission() Permissions {
	switch i {
	case Create:
		return PermCreate
	case Read, VRead, InstanceHistory:
		return PermRead
	case Update, Patch:
		return PermUpdate
	case Delete:
		return PermDelete
	case SearchType, SearchSystem, HistoryType, HistorySystem:
		return PermSearch
	}
	return 0
}

// SystemLevel reports whether the interaction spans all resource types
// (system search and system history).
func (i Interaction) SystemLevel() bool { return i == SearchSystem || i == HistorySystem }

// Request is a FHIR REST request reduced to what scope checks need.
type Request struct {
	// Method is the HTTP method: GET, POST, PUT, PATCH or DELETE.
	Method string
	// ResourceType is the type in the path, "" for system-level requests.
	ResourceType string
	// ID is the logical id for instance-level requests.
	ID string
	// VersionID is the version for vread.
	VersionID string
	// Interaction is the FHIR interaction.
	Interaction Interaction
	// Operation is the operation name including "$", e.g. "$everything".
	Operation string
	// RawQuery is the URL query (text after "?"), as given.
	RawQuery string
	// Query is RawQuery decoded. For POST [type]/_search and POST _search the
	// search parameters travel in the form body: merge them into Query
	// before calling Permits, or the body's _type/_include are not seen.
	Query url.Values
}

// ParseRequest classifies a FHIR REST request. path is relative to the FHIR
// base URL (for HealthLake: after /datastore/{id}/r4/), the leading "/" is
// optional and it may carry "?query". Methods are case-sensitive (upper case).
//
// Recognised forms:
//
//	GET    [type]/[id]                  Read
//	GET    [type]/[id]/_history/[vid]   VRead
//	GET    [type]/[id]/_history         InstanceHistory
//	GET    [type][?params]              SearchType
//	POST   [type]/_search               SearchType
//	GET    [type]/_history              HistoryType
//	GET    (empty) / ?params            SearchSystem
//	POST   _search                      SearchSystem
//	GET    _history                     HistorySystem
//	POST   [type]                       Create
//	PUT    [type]/[id], [type]?params   Update
//	PATCH  [type]/[id], [type]?params   Patch
//	DELETE [type]/[id], [type]?params   Delete
//	POST   (empty)                      Batch (batch or transaction Bundle)
//	GET|POST [[type]/[[id]/]]$op        Operation
//	GET    metadata                     Capabilities
//
// Anything else, an unknown method, an empty path segment, a malformed type
// name, id or operation name, or an undecodable query is an error wrapping
// ErrInvalidRequest. ParseRequest does NOT check that the type is an R4 type
// (only that it is well-formed) nor percent-decode the path (a "%" in the
// path is rejected). Compartment searches (GET Patient/1/Observation) are
// rejected.
func ParseRequest(method, path string) (Request, error) {
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		return Request{}, badRequest("unsupported method %q (want GET, POST, PUT, PATCH or DELETE)", method)
	}
	req := Request{Method: method}
	p, rawQuery, hasQuery := strings.Cut(path, "?")
	if hasQuery {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return Request{}, fmt.Errorf("%w: query: %w", ErrInvalidRequest, err)
		}
		req.RawQuery, req.Query = rawQuery, q
	}
	p = strings.TrimPrefix(p, "/")
	if strings.ContainsAny(p, "#%\\") {
		return Request{}, badRequest("path %q contains '#', '%%' or '\\'", p)
	}

	if p == "" {
		switch method {
		case "GET":
			req.Interaction = SearchSystem
		case "POST":
			req.Interaction = Batch
		default:
			return Request{}, badRequest("%s on the FHIR base is not a FHIR interaction", method)
		}
		return req, nil
	}
	if p == ".well-known/smart-configuration" {
		if method != "GET" {
			return Request{}, badRequest("%s on %s is not allowed", method, p)
		}
		req.Interaction = Capabilities
		return req, nil
	}

	var seg [5]string
	n := 0
	for rest := p; ; {
		s, tail, more := strings.Cut(rest, "/")
		if s == "" {
			return Request{}, badRequest("empty segment in path %q", p)
		}
		if n == len(seg) {
			return Request{}, badRequest("path %q has too many segments", p)
		}
		seg[n] = s
		n++
		if !more {
			break
		}
		rest = tail
	}

	first := seg[0]
	switch {
	case first == "metadata":
		return fixedPath(req, n == 1 && method == "GET", Capabilities, "only GET metadata is allowed")
	case first == "_history":
		return fixedPath(req, n == 1 && method == "GET", HistorySystem, "only GET _history is allowed at system level")
	case first == "_search":
		return fixedPath(req, n == 1 && method == "POST", SearchSystem, "only POST _search is allowed at system level")
	case first[0] == '$':
		return operationAt(req, n == 1, first)
	case !isTypeName(first):
		return Request{}, badRequest("resource type %q is not well-formed (want [A-Z][A-Za-z]*)", first)
	}
	req.ResourceType = first

	if n == 1 {
		switch method {
		case "GET":
			req.Interaction = SearchType
		case "POST":
			req.Interaction = Create
		case "PUT":
			req.Interaction = Update
		case "PATCH":
			req.Interaction = Patch
		case "DELETE":
			req.Interaction = Delete
		}
		if req.Interaction != SearchType && req.Interaction != Create && req.RawQuery == "" {
			return Request{}, badRequest("%s %s needs an id or search parameters (conditional %s)", method, first, req.Interaction)
		}
		return req, nil
	}

	second := seg[1]
	switch {
	case second == "_search":
		return fixedPath(req, n == 2 && method == "POST", SearchType, "only POST "+first+"/_search is allowed")
	case second == "_history":
		return fixedPath(req, n == 2 && method == "GET", HistoryType, "only GET "+first+"/_history is allowed")
	case second[0] == '$':
		return operationAt(req, n == 2, second)
	case !isID(second):
		return Request{}, badRequest("id %q is not a FHIR id ([A-Za-z0-9.-]{1,64})", second)
	}
	req.ID = second

	switch n {
	case 2:
		switch method {
		case "GET":
			req.Interaction = Read
		case "PUT":
			req.Interaction = Update
		case "PATCH":
			req.Interaction = Patch
		case "DELETE":
			req.Interaction = Delete
		default:
			return Request{}, badRequest("POST on an instance (%s/%s) is not a FHIR interaction", first, second)
		}
		return req, nil
	case 3:
		third := seg[2]
		switch {
		case third == "_history":
			if method != "GET" {
				return Request{}, badRequest("only GET is allowed on instance history")
			}
			req.Interaction = InstanceHistory
			return req, nil
		case third[0] == '$':
			return operation(req, third)
		case isTypeName(third):
			return Request{}, badRequest("compartment search (%s/%s/%s) is not supported", first, second, third)
		}
		return Request{}, badRequest("unexpected segment %q after %s/%s", third, first, second)
	case 4:
		if seg[2] != "_history" || method != "GET" {
			return Request{}, badRequest("unexpected path %q", p)
		}
		if !isID(seg[3]) {
			return Request{}, badRequest("version id %q is not a FHIR id", seg[3])
		}
		req.VersionID = seg[3]
		req.Interaction = VRead
		return req, nil
	}
	return Request{}, badRequest("unexpected path %q", p)
}

// fixedPath returns req as interaction in when ok (the path and method fit a
// fixed-form interaction), else an ErrInvalidRequest with message.
func fixedPath(req Request, ok bool, in Interaction, message string) (Request, error) {
	if !ok {
		return Request{}, badRequest("%s", message)
	}
	req.Interaction = in
	return req, nil
}

// operationAt is operation for an op that must be the last path segment.
func operationAt(req Request, last bool, op string) (Request, error) {
	if !last {
		return Request{}, badRequest("unexpected segments after operation %q", op)
	}
	return operation(req, op)
}

func operation(req Request, op string) (Request, error) {
	if req.Method != "GET" && req.Method != "POST" {
		return Request{}, badRequest("operation %s: method %s not allowed (want GET or POST)", op, req.Method)
	}
	if !isOperationName(op) {
		return Request{}, badRequest("operation name %q is not valid (want $ followed by a letter and letters, digits, '-' or '_')", op)
	}
	req.Interaction = Operation
	req.Operation = op
	return req, nil
}

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// isID reports whether s is a FHIR id: [A-Za-z0-9\-\.]{1,64}. The
// path-traversal segments "." and ".." are rejected although the regex
// allows them.
func isID(s string) bool {
	if s == "" || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// isOperationName reports whether s is "$" [A-Za-z][A-Za-z0-9_-]*.
func isOperationName(s string) bool {
	if len(s) < 2 || s[0] != '$' || !isAlpha(s[1]) {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
