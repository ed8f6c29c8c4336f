package scopes_test

import (
	"errors"
	"fmt"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

func ExampleParse() {
	s, err := scopes.Parse("patient/Observation.read")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Kind, s.Context, s.Resource, s.Permissions, s.Version)

	_, err = scopes.Parse("patient/Observation.sr")
	fmt.Println(errors.Is(err, scopes.ErrInvalid))
	fmt.Println(err)
	// Output:
	// resource patient Observation rs v1
	// true
	// scopes: invalid scope "patient/Observation.sr": permissions "sr" out of order: want a subset of "cruds" in that order (e.g. "rs")
}

func ExampleParse_granular() {
	s, err := scopes.Parse("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.IsGranular(), s.Resource, s.Permissions)
	for _, p := range s.Query {
		fmt.Printf("%s = %s\n", p.Name, p.Value)
	}
	// Output:
	// true Observation rs
	// category = http://terminology.hl7.org/CodeSystem/observation-category|laboratory
}

func ExampleParser() {
	_, err := scopes.Parse("patient/Foo.rs")
	fmt.Println(err)
	s, err := scopes.Parser{AnyResourceType: true}.Parse("patient/Foo.rs")
	fmt.Println(s.Resource, err)
	// Output:
	// scopes: invalid scope "patient/Foo.rs": resource type "Foo" is not a FHIR R4 resource type
	// Foo <nil>
}

func ExampleParseClaim() {
	granted, err := scopes.ParseClaim("openid fhirUser launch/patient patient/*.rs patient/Observation.sr  offline_access")
	for _, s := range granted {
		fmt.Printf("%-16s %s\n", s.Kind, s)
	}
	fmt.Println(err)
	// Output:
	// identity         openid
	// identity         fhirUser
	// launch           launch/patient
	// resource         patient/*.rs
	// refresh          offline_access
	// scopes: invalid scope "patient/Observation.sr" (token 5): permissions "sr" out of order: want a subset of "cruds" in that order (e.g. "rs")
	// scopes: invalid scope "" (token 6): empty scope (double, leading or trailing space in the claim?)
}

func ExampleScope_V2() {
	for _, in := range []string{"user/*.*", "patient/Observation.read", "system/Encounter.write", "patient/Condition.rs"} {
		s, _ := scopes.Parse(in)
		fmt.Println(in, "=>", s.V2())
	}
	// Output:
	// user/*.* => user/*.cruds
	// patient/Observation.read => patient/Observation.rs
	// system/Encounter.write => system/Encounter.cud
	// patient/Condition.rs => patient/Condition.rs
}

func ExampleScope_V1() {
	for _, in := range []string{"patient/Observation.rs", "system/*.cruds", "user/Patient.cud", "patient/Observation.r", "patient/Observation.rs?category=laboratory"} {
		s, _ := scopes.Parse(in)
		v1, ok := s.V1()
		fmt.Printf("%s => %q %v\n", in, v1, ok)
	}
	// Output:
	// patient/Observation.rs => "patient/Observation.read" true
	// system/*.cruds => "system/*.*" true
	// user/Patient.cud => "user/Patient.write" true
	// patient/Observation.r => "" false
	// patient/Observation.rs?category=laboratory => "" false
}

func ExamplePermits() {
	granted, _ := scopes.ParseClaim("patient/Observation.rs")
	for _, r := range [][2]string{{"GET", "Observation/123"}, {"DELETE", "Observation/123"}, {"GET", "Patient/1"}} {
		req, _ := scopes.ParseRequest(r[0], r[1])
		d := scopes.Checker{Patient: "p1"}.Permits(granted, req)
		fmt.Println(r[0], r[1], d.Allowed, d.Reason)
	}
	// Output:
	// GET Observation/123 true granted by patient/Observation.rs
	// DELETE Observation/123 false no scope grants d on Observation
	// GET Patient/1 false no scope grants r on Patient
}

func ExamplePermits_granularFilter() {
	granted, _ := scopes.ParseClaim("patient/Condition.rs?category=health-concern patient/Condition.rs?category=encounter-diagnosis")
	req, _ := scopes.ParseRequest("GET", "Condition?clinical-status=active")
	d := scopes.Checker{Patient: "p1"}.Permits(granted, req)
	fmt.Println(d.Allowed, len(d.Filters))
	for _, f := range d.Filters {
		fmt.Println(" filter from", f.Scope, f.Params)
	}
	// AND the combined filter into the search.
	params, ok := d.CombinedFilter("Condition")
	fmt.Println(params, ok)
	// Output:
	// true 2
	//  filter from patient/Condition.rs?category=health-concern [category=health-concern]
	//  filter from patient/Condition.rs?category=encounter-diagnosis [category=encounter-diagnosis]
	// [category=health-concern,encounter-diagnosis] true
}

func ExamplePermits_export() {
	granted, _ := scopes.ParseClaim("system/*.rs")
	req, _ := scopes.ParseRequest("GET", "/$export")
	fmt.Println(scopes.Permits(granted, req).Reason)
	d := scopes.Checker{OperationPolicy: scopes.ExportPolicy}.Permits(granted, req)
	fmt.Println(d.Allowed, d.Reason)
	// Output:
	// operations ($export) are not granted by any scope on their own; $export usually requires system/*.rs (v1 system/*.read): set Checker.OperationPolicy to ExportPolicy
	// true operation $export allowed by the operation policy
}

func ExamplePermits_chainedSearch() {
	// A chained parameter reads the chain's target type: it needs an
	// unfiltered s on it, or the client could probe Patient through Observation.
	granted, _ := scopes.ParseClaim("user/Observation.rs")
	req, _ := scopes.ParseRequest("GET", "Observation?subject:Patient.name=Smith")
	fmt.Println(scopes.Permits(granted, req).Reason)
	granted, _ = scopes.ParseClaim("user/Observation.rs user/Patient.s")
	fmt.Println(scopes.Permits(granted, req).Allowed)
	// Output:
	// no scope grants s on Patient (needed by subject:Patient.name)
	// true
}

func ExampleParse_granularParameters() {
	// A granular scope's parameters must be filters: a server that ignored
	// one would grant more than the scope says.
	for _, in := range []string{
		"patient/Observation.rs?category=laboratory",
		"patient/Observation.rs?_INCLUDE=Observation:patient",
		"patient/Observation.rs?_count=1",
		"patient/Observation.rs?Category=laboratory",
	} {
		_, err := scopes.Parse(in)
		fmt.Println(err)
	}
	// Output:
	// <nil>
	// scopes: invalid scope "patient/Observation.rs?_INCLUDE=Observation:patient": parameter "_INCLUDE": parameter names are case-sensitive (did you mean "_include"?)
	// scopes: invalid scope "patient/Observation.rs?_count=1": parameter "_count" does not filter resources (it shapes the result), so a scope cannot be restricted by it
	// scopes: invalid scope "patient/Observation.rs?Category=laboratory": parameter "Category": search parameter names are lower case (did you mean "category"?)
}

func ExamplePermits_batch() {
	granted, _ := scopes.ParseClaim("user/*.cruds")
	req, _ := scopes.ParseRequest("POST", "/")
	d := scopes.Permits(granted, req)
	fmt.Println(d.Allowed, d.NeedsEntryCheck)
	fmt.Println(d.Reason)
	// Output:
	// false true
	// batch/transaction requests are not granted by any scope on their own: evaluate each entry
}
