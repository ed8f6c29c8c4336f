package scopes

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Parse and ParseClaim return. The
// concrete error is a *ParseError that says why the token was rejected.
var ErrInvalid = errors.New("scopes: invalid scope")

// ParseError describes one rejected scope token. It unwraps to ErrInvalid, so
// errors.Is(err, ErrInvalid) holds for it and for the errors.Join that
// ParseClaim returns.
type ParseError struct {
	// Scope is the rejected token, exactly as given.
	Scope string
	// Index is the 1-based position of the token in the claim when the error
	// comes from ParseClaim, 0 when it comes from Parse.
	Index int
	// Reason says why the token is invalid, e.g. `permissions "sr" out of
	// order: want a subset of "cruds" in that order`.
	Reason string
	// Unknown is true when the token matches no scope kind at all ("email",
	// "aws.cognito.signin.user.admin", "myapi/read", "OpenID"), as opposed to
	// a malformed SMART scope ("patient/Observation.sr", "launch/Patient").
	// Callers that pass non-SMART tokens through unchanged can
	// use it; such tokens never grant anything here.
	Unknown bool
}

// maxQuotedScope bounds how much of a rejected token Error repeats.
const maxQuotedScope = 160

// Error returns "scopes: invalid scope <quoted token>[ (token N)]: <reason>",
// with very long tokens shortened.
func (e *ParseError) Error() string {
	s := e.Scope
	if len(s) > maxQuotedScope {
		s = s[:maxQuotedScope] + "..."
	}
	if e.Index > 0 {
		return "scopes: invalid scope " + strconv.Quote(s) + " (token " + strconv.Itoa(e.Index) + "): " + e.Reason
	}
	return "scopes: invalid scope " + strconv.Quote(s) + ": " + e.Reason
}

// Unwrap returns ErrInvalid.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// clip shortens a piece of a token quoted in a Reason.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func invalid(scope, format string, args ...any) error {
	if len(args) == 0 { // a fixed reason: no formatting on a common path (Cognito's aws.cognito.* scopes)
		return &ParseError{Scope: scope, Reason: format}
	}
	return &ParseError{Scope: scope, Reason: fmt.Sprintf(format, args...)}
}

// Kind classifies a scope token. The zero value means
// "not classified" and only appears in a zero Scope.
type Kind int

// Scope kinds.
const (
	// KindResource: patient/, user/ or system/ FHIR resource (clinical) scopes.
	KindResource Kind = iota + 1
	// KindLaunch: launch and launch/<type>[?role=...].
	KindLaunch
	// KindIdentity: openid, fhirUser, profile.
	KindIdentity
	// KindRefresh: offline_access, online_access.
	KindRefresh
	// KindExtension: "__"-prefixed names and absolute URIs. They grant nothing
	// in FHIR terms.
	KindExtension
)

// String returns "resource", "launch", "identity", "refresh" or "extension";
// "" for the zero Kind.
func (k Kind) String() string {
	switch k {
	case 0:
		return ""
	case KindResource:
		return "resource"
	case KindLaunch:
		return "launch"
	case KindIdentity:
		return "identity"
	case KindRefresh:
		return "refresh"
	case KindExtension:
		return "extension"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Context is the access context of a resource scope. The zero value means
// "none" (non-resource scopes).
type Context int

// Resource scope contexts.
const (
	// ContextPatient: patient/ scopes, limited to the patient in context.
	ContextPatient Context = iota + 1
	// ContextUser: user/ scopes, bounded by what the user may access.
	ContextUser
	// ContextSystem: system/ scopes (backend services), bounded by client policy.
	ContextSystem
)

// String returns "patient", "user" or "system"; "" for the zero Context.
func (c Context) String() string {
	switch c {
	case 0:
		return ""
	case ContextPatient:
		return "patient"
	case ContextUser:
		return "user"
	case ContextSystem:
		return "system"
	}
	return "Context(" + strconv.Itoa(int(c)) + ")"
}

// Permissions is a set of SMART v2 permission letters c, r, u, d, s
// v1 permissions are normalised into it: read = rs,
// write = cud, * = cruds.
type Permissions uint8

// Permission bits, in "cruds" order.
const (
	PermCreate Permissions = 1 << iota // c: type-level create
	PermRead                           // r: read, vread, instance history
	PermUpdate                         // u: update, patch
	PermDelete                         // d: delete
	PermSearch                         // s: type/system search and history

	// PermAll is "cruds", the v1 "*".
	PermAll = PermCreate | PermRead | PermUpdate | PermDelete | PermSearch
)

const permLetters = "cruds"

// String returns the letters of p in "cruds" order, e.g. "rs"; "" for none.
func (p Permissions) String() string {
	p &= PermAll
	if p == PermAll {
		return permLetters
	}
	var b [5]byte
	n := 0
	for i := range len(permLetters) {
		if p&(1<<i) != 0 {
			b[n] = permLetters[i]
			n++
		}
	}
	return string(b[:n])
}

// Has reports whether p contains every permission in q.
func (p Permissions) Has(q Permissions) bool { return p&q == q }

// Version is the SMART grammar a resource scope is written in. The zero value
// means "not a resource scope".
type Version int

// Resource scope grammar versions.
const (
	// V1: SMART App Launch 1.0.0, permissions read, write or *.
	V1 Version = iota + 1
	// V2: SMART App Launch 2.x, permissions a subset of cruds, optionally with
	// a v2.2 granular query.
	V2
)

// String returns "v1" or "v2"; "" for the zero Version.
func (v Version) String() string {
	switch v {
	case 0:
		return ""
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return "Version(" + strconv.Itoa(int(v)) + ")"
}

// Param is one name=value pair of a granular (v2.2) scope query or of a
// decision filter. Name and Value are kept raw (not percent-decoded).
type Param struct {
	Name, Value string
}

// String returns "name=value".
func (p Param) String() string { return p.Name + "=" + p.Value }

// Scope is one parsed scope token. Only the fields that apply to its Kind are
// set. Strings share memory with the parsed input.
type Scope struct {
	// Raw is the token exactly as given; String returns it.
	Raw string
	// Kind classifies the token.
	Kind Kind

	// Context is patient, user or system (resource scopes only).
	Context Context
	// Resource is a FHIR resource type such as "Observation", or "*"
	// (resource scopes only).
	Resource string
	// Permissions is the normalised permission set (resource scopes only).
	Permissions Permissions
	// Version tells whether the token used v1 or v2 permissions (resource
	// scopes only).
	Version Version
	// Query holds the granular (v2.2) parameters in order; nil when the scope
	// has no query (resource scopes only).
	Query []Param

	// RawQuery is the text after "?" (granular resource scopes, and launch
	// scopes with a role), not percent-decoded.
	RawQuery string
	// LaunchContext is the context type of a launch/<type> scope, e.g.
	// "patient"; "" for a bare "launch".
	LaunchContext string
	// Role is the value of a launch/<type>?role=<value> scope.
	Role string
}

// String returns the token exactly as it was parsed.
func (s Scope) String() string { return s.Raw }

// IsResource reports whether s is a patient/, user/ or system/ resource scope.
func (s Scope) IsResource() bool { return s.Kind == KindResource }

// IsGranular reports whether s is a resource scope with a v2.2 query
// ("patient/Observation.rs?category=laboratory").
func (s Scope) IsGranular() bool { return s.Kind == KindResource && s.RawQuery != "" }

// V2 returns the canonical v2 form of a resource scope:
// context/Type.letters[?query], e.g. "user/*.cruds" for "user/*.*". For every
// other kind it returns String. V2 never widens: parsing the result yields the
// same context, resource, permissions and query.
func (s Scope) V2() string {
	if s.Kind != KindResource || s.Version != V1 {
		return s.Raw // v2 tokens are already canonical: the grammar is strict
	}
	return s.Context.String() + "/" + s.Resource + "." + s.Permissions.String()
}

// V1 returns the exact v1 form of a resource scope when one exists: rs→read,
// cud→write, cruds→*. ok is false for other permission sets (".r", ".s",
// ".rsu", ...), for any granular scope, and for non-resource scopes. V1 never
// widens: parsing the result grants exactly the same permissions.
func (s Scope) V1() (v1 string, ok bool) {
	if s.Kind != KindResource || s.RawQuery != "" {
		return "", false
	}
	if s.Version == V1 {
		return s.Raw, true
	}
	var perm string
	switch s.Permissions {
	case PermRead | PermSearch:
		perm = "read"
	case PermCreate | PermUpdate | PermDelete:
		perm = "write"
	case PermAll:
		perm = "*"
	default:
		return "", false
	}
	return s.Context.String() + "/" + s.Resource + "." + perm, true
}

// Parse parses one scope token. It accepts:
//
//   - resource scopes: patient|user|system "/" Type|"*" "." permissions, where
//     permissions are v1 read, write, * or a non-empty in-order subset of
//     "cruds", optionally followed by a v2.2 query "?name=value&..." (v2 and
//     a concrete type only);
//   - launch scopes: "launch", "launch/<type>" with a lower-case type, and
//     "launch/<type>?role=<value>";
//   - identity scopes: "openid", "fhirUser", "profile";
//   - refresh scopes: "offline_access", "online_access";
//   - extension scopes: "__name" or an absolute URI ("scheme:rest").
//
// Everything is case-sensitive. Resource types must be FHIR R4 types (see
// Parser.AnyResourceType). Granular query parameter names must be filters
// (see "Granular scope parameters" in the package doc): a case variant of a
// reserved name ("_INCLUDE"), a parameter that shapes the result instead of
// filtering it ("_include", "_count", "_type"), an unknown "_" name, a name
// that is not lower case, an unknown modifier or a malformed chain or _has
// makes the token invalid, because a server that ignores the parameter would
// grant more than the scope says. Tokens must consist of RFC 6749 §3.3 scope
// characters (printable ASCII except space, '"' and '\').
//
// The error wraps ErrInvalid and is a *ParseError that says why. Parse does
// NOT check that the server supports a scope, that a granular parameter is
// defined for the scope's resource type, or that a launch context type
// exists.
//
//	s, err := scopes.Parse("patient/Observation.read")
//	// s.Permissions == scopes.PermRead|scopes.PermSearch, s.V2() == "patient/Observation.rs"
func Parse(s string) (Scope, error) { return Parser{}.Parse(s) }

// ParseClaim parses a space-delimited scope claim (RFC 6749 §3.3). It splits
// on single spaces, so a double, leading or trailing space yields an empty
// token that is reported as invalid. It returns the valid scopes in claim
// order (duplicates kept) and an errors.Join of one *ParseError per invalid
// token (nil when all are valid). An empty claim yields no scopes and no
// error. ParseClaim never panics.
//
// Callers decide what to do with invalid tokens; an invalid token never
// grants anything (never widen).
func ParseClaim(claim string) ([]Scope, error) { return Parser{}.ParseClaim(claim) }

// maxPrealloc bounds the scopes ParseClaim allocates room for up front.
const maxPrealloc = 32

func parseClaim(claim string, o Parser) ([]Scope, error) {
	if claim == "" {
		return nil, nil
	}
	// Preallocate for the usual claim, but bound it: a claim of spaces must
	// not make one huge allocation up front.
	out := make([]Scope, 0, min(strings.Count(claim, " ")+1, maxPrealloc))
	var errs []error
	rest := claim
	for i := 1; ; i++ {
		tok, tail, more := strings.Cut(rest, " ")
		sc, err := parse(tok, o)
		if err != nil {
			if pe, ok := err.(*ParseError); ok {
				pe.Index = i
			}
			errs = append(errs, err)
		} else {
			out = append(out, sc)
		}
		if !more {
			break
		}
		rest = tail
	}
	return out, errors.Join(errs...)
}

// Parser parses scopes with settings other than the defaults. The zero Parser
// is what the package-level Parse and ParseClaim use. A Parser is a plain
// value, safe for concurrent use; build it once (e.g. at Lambda init).
//
//	p := scopes.Parser{AnyResourceType: true}
//	s, err := p.Parse("patient/Foo.rs") // valid: Foo is well-formed
type Parser struct {
	// AnyResourceType accepts any well-formed resource type name
	// ([A-Z][A-Za-z]*), in the scope's type and in type modifiers of granular
	// parameters, instead of only the FHIR R4 resource types. Use it for
	// custom or newer-version types; the server still decides whether the
	// type exists.
	AnyResourceType bool
}

// Parse is like the package-level Parse with p's settings.
func (p Parser) Parse(s string) (Scope, error) { return parse(s, p) }

// ParseClaim is like the package-level ParseClaim with p's settings.
func (p Parser) ParseClaim(claim string) ([]Scope, error) { return parseClaim(claim, p) }

func parse(s string, o Parser) (Scope, error) {
	if s == "" {
		return Scope{}, invalid(s, "empty scope (double, leading or trailing space in the claim?)")
	}
	if err := checkChars(s); err != nil {
		return Scope{}, err
	}
	switch {
	case strings.HasPrefix(s, "patient/"):
		return parseResource(s, ContextPatient, len("patient/"), o)
	case strings.HasPrefix(s, "user/"):
		return parseResource(s, ContextUser, len("user/"), o)
	case strings.HasPrefix(s, "system/"):
		return parseResource(s, ContextSystem, len("system/"), o)
	case s == "launch":
		return Scope{Raw: s, Kind: KindLaunch}, nil
	case strings.HasPrefix(s, "launch/"):
		return parseLaunch(s)
	case strings.HasPrefix(s, "launch?"):
		return Scope{}, invalid(s, `a bare "launch" takes no query; a role needs a context type, e.g. "launch/patient?role=..."`)
	case s == "openid" || s == "fhirUser" || s == "profile":
		return Scope{Raw: s, Kind: KindIdentity}, nil
	case s == "offline_access" || s == "online_access":
		return Scope{Raw: s, Kind: KindRefresh}, nil
	case strings.HasPrefix(s, "__"):
		if len(s) == 2 {
			return Scope{}, invalid(s, `extension scope needs a name after the "__" prefix`)
		}
		return Scope{Raw: s, Kind: KindExtension}, nil
	case isAbsoluteURI(s):
		return Scope{Raw: s, Kind: KindExtension}, nil
	}
	return Scope{}, unknown(s)
}

// checkChars enforces RFC 6749 §3.3 scope-token characters:
// %x21 / %x23-5B / %x5D-7E.
func checkChars(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c == 0x7f:
			return invalid(s, "whitespace or control character %q at byte %d", c, i)
		case c == '"' || c == '\\' || c >= 0x80:
			return invalid(s, "character %q at byte %d is not allowed in a scope token (RFC 6749 §3.3: printable ASCII except space, '\"' and '\\')", c, i)
		}
	}
	return nil
}

// unknown builds the error for a token that matches no kind, with a hint for
// case mistakes. It runs only on the error path.
func unknown(s string) error {
	err := unknownReason(s).(*ParseError)
	err.Unknown = true
	return err
}

func unknownReason(s string) error {
	for _, n := range [...]string{"launch", "openid", "fhirUser", "profile", "offline_access", "online_access"} {
		if strings.EqualFold(s, n) {
			return invalid(s, "unknown scope: scope names are case-sensitive (did you mean %q?)", n)
		}
	}
	if prefix, _, ok := strings.Cut(s, "/"); ok && !strings.Contains(prefix, ":") {
		for _, n := range [...]string{"patient", "user", "system", "launch"} {
			if strings.EqualFold(prefix, n) {
				return invalid(s, "unknown scope: %q must be lower case (%q)", prefix+"/", n+"/")
			}
		}
		return invalid(s, `unknown scope: %q is not a SMART context (want "patient/", "user/", "system/" or "launch/")`, clip(prefix)+"/")
	}
	return invalid(s, `unknown scope: not a SMART resource, launch, identity (openid, fhirUser, profile) or refresh (offline_access, online_access) scope, nor an extension ("__" prefix or absolute URI)`)
}

// isAbsoluteURI reports whether s is scheme ":" rest with
// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1) and a
// non-empty rest. Characters were already checked by checkChars.
func isAbsoluteURI(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return i+1 < len(s)
		case isAlpha(c) || isDigit(c) || c == '+' || c == '-' || c == '.':
		default:
			return false
		}
	}
	return false
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// isTypeName reports whether t matches [A-Z][A-Za-z]*.
func isTypeName(t string) bool {
	if t == "" || !isUpper(t[0]) {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isAlpha(t[i]) {
			return false
		}
	}
	return true
}

func parseResource(s string, ctx Context, n int, o Parser) (Scope, error) {
	rest := s[n:]
	body, query, hasQuery := strings.Cut(rest, "?")
	typ, perms, hasDot := strings.Cut(body, ".")
	if !hasDot {
		return Scope{}, invalid(s, `missing "." and permissions after the resource type (want e.g. %q)`, ctx.String()+"/Observation.rs")
	}
	if typ == "" {
		return Scope{}, invalid(s, `missing resource type (want "*" or a FHIR resource type)`)
	}
	if typ != "*" {
		if err := checkType(s, typ, o); err != nil {
			return Scope{}, err
		}
	}

	sc := Scope{Raw: s, Kind: KindResource, Context: ctx, Resource: typ}
	switch perms {
	case "read":
		sc.Permissions, sc.Version = PermRead|PermSearch, V1
	case "write":
		sc.Permissions, sc.Version = PermCreate|PermUpdate|PermDelete, V1
	case "*":
		sc.Permissions, sc.Version = PermAll, V1
	default:
		p, err := parsePerms(s, perms)
		if err != nil {
			return Scope{}, err
		}
		sc.Permissions, sc.Version = p, V2
	}

	if !hasQuery {
		return sc, nil
	}
	if sc.Version == V1 {
		return Scope{}, invalid(s, "granular query (\"?...\") is only allowed on v2 scopes, not with v1 permissions %q", perms)
	}
	if typ == "*" {
		return Scope{}, invalid(s, `granular query is not allowed on the wildcard resource "*" (HealthLake rejects it); name a resource type`)
	}
	params, err := parseQuery(s, query, o)
	if err != nil {
		return Scope{}, err
	}
	sc.Query, sc.RawQuery = params, query
	return sc, nil
}

func checkType(s, typ string, o Parser) error {
	if o.AnyResourceType {
		if !isTypeName(typ) {
			return invalid(s, `resource type %q is not well-formed (want "*" or [A-Z][A-Za-z]*)%s`, clip(typ), caseHint(typ))
		}
		return nil
	}
	if !IsR4ResourceType(typ) {
		return invalid(s, "resource type %q is not a FHIR R4 resource type%s", clip(typ), caseHint(typ))
	}
	return nil
}

// caseHint suggests the R4 type that differs from typ only in case.
func caseHint(typ string) string {
	for _, t := range R4ResourceTypes() {
		if strings.EqualFold(t, typ) {
			return fmt.Sprintf(" (types are case-sensitive: did you mean %q?)", t)
		}
	}
	return ""
}

// parsePerms parses v2 permission letters: a non-empty subset of "cruds" in
// that order, no repeats.
func parsePerms(s, perms string) (Permissions, error) {
	if perms == "" {
		return 0, invalid(s, `empty permissions (want read, write, * or a subset of "cruds" in that order)`)
	}
	for _, v1 := range [...]string{"read", "write"} {
		if strings.EqualFold(perms, v1) {
			return 0, invalid(s, "permissions %q: v1 permissions are lower case (%q)", clip(perms), v1)
		}
	}
	var p Permissions
	last := -1
	for i := 0; i < len(perms); i++ {
		c := perms[i]
		idx := strings.IndexByte(permLetters, c)
		switch {
		case idx < 0:
			return 0, invalid(s, `permissions %q: unknown letter %q (want read, write, * or a subset of "cruds" in that order; letters are lower case)`, clip(perms), c)
		case idx == last || p&(1<<idx) != 0:
			return 0, invalid(s, "permissions %q: letter %q repeated", clip(perms), c)
		case idx < last:
			return 0, invalid(s, `permissions %q out of order: want a subset of "cruds" in that order (e.g. "rs")`, clip(perms))
		}
		p |= 1 << idx
		last = idx
	}
	return p, nil
}

// parseQuery parses a granular query "name=value(&name=value)*". Each pair is
// split on its first "="; values are kept raw.
func parseQuery(s, q string, o Parser) ([]Param, error) {
	if q == "" {
		return nil, invalid(s, `empty query after "?"`)
	}
	if strings.IndexByte(q, '?') >= 0 {
		return nil, invalid(s, `second "?" in the query`)
	}
	// Validate first so that an invalid token costs no slice allocation.
	n := 0
	for rest := q; ; {
		pair, tail, more := strings.Cut(rest, "&")
		if err := checkPair(s, pair, more, n); err != nil {
			return nil, err
		}
		name, _, _ := strings.Cut(pair, "=")
		if reason := paramNameProblem(name, o.AnyResourceType); reason != "" {
			return nil, invalid(s, "%s", reason)
		}
		n++
		if !more {
			break
		}
		rest = tail
	}
	params := make([]Param, 0, n)
	for rest := q; ; {
		pair, tail, more := strings.Cut(rest, "&")
		name, value, _ := strings.Cut(pair, "=")
		params = append(params, Param{Name: name, Value: value})
		if !more {
			break
		}
		rest = tail
	}
	return params, nil
}

func checkPair(s, pair string, more bool, i int) error {
	if pair == "" {
		switch {
		case !more:
			return invalid(s, `trailing "&" in the query`)
		case i == 0:
			return invalid(s, `query starts with "&"`)
		default:
			return invalid(s, `empty parameter ("&&") in the query`)
		}
	}
	name, value, ok := strings.Cut(pair, "=")
	switch {
	case !ok:
		return invalid(s, `query parameter %q has no "=" (want name=value)`, clip(pair))
	case name == "":
		return invalid(s, "query parameter %q has an empty name", clip(pair))
	case value == "":
		return invalid(s, "query parameter %q has an empty value", clip(name))
	case strings.IndexByte(value, '=') >= 0:
		return invalid(s, `query parameter %q has a second "=" in its value %q`, clip(name), clip(value))
	}
	return nil
}

func parseLaunch(s string) (Scope, error) {
	rest := s[len("launch/"):]
	typ, query, hasQuery := strings.Cut(rest, "?")
	if typ == "" {
		return Scope{}, invalid(s, `missing launch context type after "launch/" (e.g. "launch/patient")`)
	}
	lower := true
	for i := 0; i < len(typ); i++ {
		if !isLower(typ[i]) {
			lower = false
			break
		}
	}
	if !lower {
		if isAlphaString(typ) {
			return Scope{}, invalid(s, "launch context type %q must be all lower case (e.g. %q)", clip(typ), clip("launch/"+strings.ToLower(typ)))
		}
		return Scope{}, invalid(s, "launch context type %q is not valid (want lower-case letters, e.g. \"patient\")", clip(typ))
	}
	sc := Scope{Raw: s, Kind: KindLaunch, LaunchContext: typ}
	if !hasQuery {
		return sc, nil
	}
	if query == "" {
		return Scope{}, invalid(s, `empty query after "?"`)
	}
	if q := strings.IndexByte(query, '?'); q >= 0 {
		return Scope{}, invalid(s, `second "?" in the launch scope`)
	}
	if strings.IndexByte(query, '&') >= 0 {
		return Scope{}, invalid(s, `launch scope takes at most one parameter, "role" (use one scope per role)`)
	}
	if err := checkPair(s, query, false, 0); err != nil {
		return Scope{}, err
	}
	name, value, _ := strings.Cut(query, "=")
	if name != "role" {
		return Scope{}, invalid(s, `unknown launch scope parameter %q (only "role" is allowed)`, clip(name))
	}
	sc.RawQuery, sc.Role = query, value
	return sc, nil
}

func isAlphaString(t string) bool {
	for i := 0; i < len(t); i++ {
		if !isAlpha(t[i]) {
			return false
		}
	}
	return t != ""
}
