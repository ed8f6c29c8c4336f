package scopes

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks the "never widen" properties:
// Parse never panics, errors wrap ErrInvalid, every valid scope round-trips
// through String, and V2/V1 re-parse to the same grant.
func FuzzParse(f *testing.F) {
	for _, tc := range validCases() {
		f.Add(tc.in)
	}
	for _, tc := range invalidCases() {
		f.Add(tc.in)
	}
	for _, tc := range granularParamCases() {
		f.Add("patient/Observation.rs?" + tc.query)
	}
	f.Add(realisticClaim)
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range []Parser{{}, {AnyResourceType: true}} {
			s, err := p.Parse(in)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q): error %v does not wrap ErrInvalid", in, err)
				}
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Reason == "" || pe.Scope != in {
					t.Fatalf("Parse(%q): bad ParseError %#v", in, pe)
				}
				if !strings.HasPrefix(err.Error(), "scopes: ") {
					t.Fatalf("Parse(%q): message %q lacks the package prefix", in, err)
				}
				if s.Kind != 0 {
					t.Fatalf("Parse(%q): invalid token returned a non-zero Scope %#v", in, s)
				}
				continue
			}
			if s.String() != in {
				t.Fatalf("Parse(%q).String() = %q", in, s.String())
			}
			again, err := p.Parse(s.String())
			if err != nil {
				t.Fatalf("re-parse of %q failed: %v", in, err)
			}
			if diff := cmp.Diff(s, again); diff != "" {
				t.Fatalf("re-parse of %q differs (-first +again):\n%s", in, diff)
			}
			checkConversions(t, s, p)
			if s.Kind == KindResource && s.Permissions == 0 {
				t.Fatalf("Parse(%q): resource scope without permissions", in)
			}
			checkQueryNames(t, s)
			if !p.AnyResourceType {
				// The default R4 check only narrows what AnyResourceType accepts.
				loose, err := Parser{AnyResourceType: true}.Parse(in)
				if err != nil {
					t.Fatalf("%q valid by default but not with AnyResourceType: %v", in, err)
				}
				if diff := cmp.Diff(s, loose); diff != "" {
					t.Fatalf("%q parses differently with AnyResourceType:\n%s", in, diff)
				}
			}
		}
	})
}

// checkQueryNames: every granular parameter of a valid scope is a filter a
// server cannot mistake for something else: its "_" names are exactly the
// known filters, everything else in its name is lower case except resource
// types after ":".
func checkQueryNames(t *testing.T, s Scope) {
	t.Helper()
	for _, p := range s.Query {
		has := strings.HasPrefix(p.Name, "_has:")
		for link := range strings.SplitSeq(p.Name, ".") {
			for i, part := range strings.Split(link, ":") {
				switch {
				case strings.HasPrefix(part, "_"):
					// A "_" part opens a link, or is the parameter of a _has.
					if !(i == 0 || has && i == 3) || !isFilterParam(part) && !isExperimentalParam(part) {
						t.Fatalf("%q: parameter %q has a reserved part %q that is not a known filter", s.Raw, p.Name, part)
					}
				case isTypeName(part):
					if i == 0 || has && i != 1 && i != 4 {
						t.Fatalf("%q: parameter %q starts with a type name", s.Raw, p.Name)
					}
				case !isCode(part):
					t.Fatalf("%q: parameter %q has a part %q that is neither a code nor a type", s.Raw, p.Name, part)
				}
			}
		}
	}
}

// FuzzParseClaim: never panics; every token is either returned as a scope or
// reported as one error, in order.
func FuzzParseClaim(f *testing.F) {
	f.Add(realisticClaim)
	f.Add("openid  patient/Observation.sr ")
	f.Add("")
	f.Add(" ")
	for _, tc := range validCases() {
		f.Add(tc.in + " " + tc.in)
	}
	f.Fuzz(func(t *testing.T, claim string) {
		got, err := ParseClaim(claim)
		if claim == "" {
			if got != nil || err != nil {
				t.Fatalf("empty claim: %v, %v", got, err)
			}
			return
		}
		tokens := strings.Split(claim, " ")
		var errs []error
		if err != nil {
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("ParseClaim error is not a join: %T", err)
			}
			errs = joined.Unwrap()
		}
		if len(got)+len(errs) != len(tokens) {
			t.Fatalf("%d scopes + %d errors != %d tokens", len(got), len(errs), len(tokens))
		}
		vi, ei := 0, 0
		for i, tok := range tokens {
			if vi < len(got) && got[vi].Raw == tok {
				if _, err := Parse(tok); err != nil {
					t.Fatalf("token %d %q returned as valid but Parse fails: %v", i+1, tok, err)
				}
				vi++
				continue
			}
			var pe *ParseError
			if ei >= len(errs) || !errors.As(errs[ei], &pe) || pe.Scope != tok || pe.Index != i+1 {
				t.Fatalf("token %d %q: no matching error", i+1, tok)
			}
			ei++
		}
	})
}

// FuzzParseRequest: ParseRequest and Permits never panic, and Permits never
// allows a batch or an operation on its own.
func FuzzParseRequest(f *testing.F) {
	for _, tc := range requestCases() {
		f.Add(tc.method, tc.path)
	}
	for _, tc := range invalidRequestCases() {
		f.Add(tc[0], tc[1])
	}
	f.Add("GET", "Observation?_include=Observation:patient:Patient&_revinclude=Provenance:target&_has:Observation:patient:code=1")
	f.Add("GET", "?_type=Observation,Condition&_include=*")
	f.Add("GET", "Observation?subject:Patient.name=x&subject.name=y&performer:Practitioner.organization:Organization.name=z")
	f.Add("DELETE", "Observation?subject:Patient.name=x")
	f.Add("GET", "Observation?_filter=subject.name%20eq%20x")
	wide, err := ParseClaim("patient/*.rs user/Observation.cruds system/Patient.s patient/Condition.rs?category=x user/Condition.rs?code:in=y")
	if err != nil {
		f.Fatal(err)
	}
	narrow, err := ParseClaim("user/Observation.cruds user/Patient.rs?gender=female system/Practitioner.s patient/Organization.rs")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		req, err := ParseRequest(method, path)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			if req.Interaction != 0 {
				t.Fatalf("error with a non-zero request %#v", req)
			}
			return
		}
		if req.Interaction == 0 {
			t.Fatalf("ParseRequest(%q, %q) returned no interaction", method, path)
		}
		for _, granted := range [][]Scope{wide, narrow} {
			permitsProperties(t, granted, req)
		}
	})
}

func permitsProperties(t *testing.T, granted []Scope, req Request) {
	t.Helper()
	for _, ck := range []Checker{{}, {Patient: "p1"}, {Patient: "p1", ExperimentalFilters: true}} {
		d := ck.Permits(granted, req)
		if d.Reason == "" {
			t.Fatalf("decision without a reason: %#v", d)
		}
		switch req.Interaction {
		case Batch, Operation:
			if d.Allowed {
				t.Fatalf("%s allowed on its own", req.Interaction)
			}
		case Capabilities:
			if !d.Allowed {
				t.Fatal("capabilities denied")
			}
		}
		if d.Allowed && req.Interaction != Capabilities && d.Scope == "" {
			t.Fatalf("allowed without a scope: %#v", d)
		}
		if !d.Allowed && len(d.Filters) > 0 {
			t.Fatalf("denied with filters: %#v", d)
		}
		if d.Allowed {
			checkChainsGranted(t, granted, req, ck)
		}
		if ck.Patient == "" {
			// Without a patient only the user/ and system/ scopes count.
			for _, f := range d.Filters {
				if strings.HasPrefix(f.Scope, "patient/") {
					t.Fatalf("patient/ scope %s used without a patient", f.Scope)
				}
			}
			if strings.HasPrefix(d.Scope, "patient/") {
				t.Fatalf("patient/ scope %s used without a patient", d.Scope)
			}
		}
	}
}

// checkChainsGranted: an allowed request's chained parameters only reach
// types an unfiltered scope grants s on ("*" for an untyped link).
func checkChainsGranted(t *testing.T, granted []Scope, req Request, ck Checker) {
	t.Helper()
	for key := range req.Query {
		links := strings.Split(key, ".")
		if len(links) < 2 || strings.HasPrefix(key, "_") {
			continue
		}
		for _, link := range links[:len(links)-1] {
			_, typ, typed := strings.Cut(link, ":")
			if !typed {
				typ = "*"
			}
			covered := false
			for _, s := range granted {
				if s.Kind == KindResource && !s.IsGranular() && s.Permissions.Has(PermSearch) &&
					(s.Resource == "*" || s.Resource == typ) && (s.Context != ContextPatient || ck.Patient != "") {
					covered = true
				}
			}
			if !covered {
				t.Fatalf("%s %s allowed, but chained parameter %q reaches %s, which no unfiltered scope grants s on", req.Method, req.RawQuery, key, typ)
			}
		}
	}
}
