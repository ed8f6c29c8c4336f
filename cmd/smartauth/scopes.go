package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

const scopesUsage = `usage: smartauth scopes [--json] [--any-type] [--claim "A B ..."] [--] SCOPE...
       smartauth scopes --permits "SCOPES" [--patient ID] [--export-policy] [--json] [--any-type] METHOD PATH

The first form parses SMART scopes (v1, v2, v2.2 granular), one row per scope:
the tokens of --claim first (split on single spaces, so a double space shows
up as an empty, invalid token), then the positional SCOPEs. Put "--" before
the scopes. Exit status: 0 every scope is valid, 1 any is invalid, 2 usage
or output error.

The second form decides one FHIR request (PATH relative to the FHIR base,
e.g. "Observation/123" or "Condition?category=x") against the scopes in
SCOPES. Exit status: 0 allowed, 1 denied, 2 usage or output error
(including a malformed request).

Flags:
`

// scopeRow is one line of "smartauth scopes --json". Fields that do not apply
// to the scope are omitted; scope and valid are always present.
type scopeRow struct {
	Scope       string `json:"scope"`
	Valid       bool   `json:"valid"`
	Error       string `json:"error,omitempty"`
	Kind        string `json:"kind,omitempty"`
	Context     string `json:"context,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Permissions string `json:"permissions,omitempty"`
	Query       string `json:"query,omitempty"`
	Role        string `json:"role,omitempty"`
	Version     string `json:"version,omitempty"`
	V2          string `json:"v2,omitempty"`
	V1          string `json:"v1,omitempty"`
}

func newScopeRow(in string, s scopes.Scope, err error) scopeRow {
	row := scopeRow{Scope: in, Valid: err == nil}
	if err != nil {
		var pe *scopes.ParseError
		if errors.As(err, &pe) {
			row.Error = pe.Reason
		} else {
			row.Error = err.Error()
		}
		return row
	}
	row.Kind = s.Kind.String()
	row.Query = s.RawQuery
	row.Role = s.Role
	if s.IsResource() {
		row.Context = s.Context.String()
		row.Resource = s.Resource
		row.Permissions = s.Permissions.String()
		row.Version = s.Version.String()
		row.V2 = s.V2()
		row.V1, _ = s.V1()
	}
	return row
}

// permitsDecisionJSON is the output of "smartauth scopes --permits --json".
type permitsDecisionJSON struct {
	Allowed         bool                `json:"allowed"`
	Reason          string              `json:"reason"`
	Scope           string              `json:"scope,omitempty"`
	Filters         []permitsFilterJSON `json:"filters,omitempty"`
	NeedsEntryCheck bool                `json:"needsEntryCheck,omitempty"`
	Interaction     string              `json:"interaction"`
}

type permitsFilterJSON struct {
	ResourceType string             `json:"resourceType"`
	Scope        string             `json:"scope"`
	Params       []permitsParamJSON `json:"params"`
}

type permitsParamJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type scopesFlags struct {
	json, anyType, exportPolicy bool
	claim, permits, patient     string
}

// runScopes implements "smartauth scopes". args exclude the word "scopes".
func runScopes(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scopes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f scopesFlags
	fs.BoolVar(&f.json, "json", false, "print JSON lines instead of a table")
	fs.BoolVar(&f.anyType, "any-type", false, "accept any well-formed resource type, not only FHIR R4 types")
	fs.StringVar(&f.claim, "claim", "", "a whole space-delimited scope claim to parse (one row per token)")
	fs.StringVar(&f.permits, "permits", "", "decide METHOD PATH against these space-delimited scopes")
	fs.StringVar(&f.patient, "patient", "", "patient id in context (with --permits); without it patient/ scopes grant nothing")
	fs.BoolVar(&f.exportPolicy, "export-policy", false, "with --permits: allow $export when system/*.rs is granted (scopes.ExportPolicy)")
	fs.Usage = func() {
		fmt.Fprint(stderr, scopesUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	parser := scopes.Parser{AnyResourceType: f.anyType}

	if set["permits"] {
		if set["claim"] {
			return scopesUsageError(stderr, fs, "--claim cannot be combined with --permits")
		}
		if fs.NArg() != 2 {
			return scopesUsageError(stderr, fs, fmt.Sprintf("--permits needs METHOD PATH (got %d arguments)", fs.NArg()))
		}
		return runPermits(f, parser, fs.Arg(0), fs.Arg(1), stdout, stderr)
	}
	if set["patient"] || set["export-policy"] {
		return scopesUsageError(stderr, fs, "--patient and --export-policy need --permits")
	}

	var inputs []string
	if set["claim"] && f.claim != "" {
		inputs = strings.Split(f.claim, " ")
	}
	inputs = append(inputs, fs.Args()...)
	if len(inputs) == 0 {
		return scopesUsageError(stderr, fs, "no scopes given")
	}

	rows := make([]scopeRow, 0, len(inputs))
	code := 0
	for _, in := range inputs {
		s, err := parser.Parse(in)
		if err != nil {
			code = 1
		}
		rows = append(rows, newScopeRow(in, s, err))
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintf(stderr, "smartauth scopes: %v\n", err)
				return 2
			}
		}
		return code
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	// V2 shows "same" when the scope is already in canonical v2 form.
	fmt.Fprintln(tw, "SCOPE\tVALID\tKIND\tCONTEXT\tRESOURCE\tPERMS\tVERSION\tV2\tV1\tERROR")
	for _, r := range rows {
		v2 := r.V2
		if v2 == r.Scope && v2 != "" {
			v2 = "same"
		}
		valid := "yes"
		if !r.Valid {
			valid = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			displayScope(r.Scope), valid, cellOrDash(r.Kind), cellOrDash(r.Context), cellOrDash(r.Resource), cellOrDash(r.Permissions),
			cellOrDash(r.Version), cellOrDash(v2), cellOrDash(r.V1), cellOrDash(r.Error))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "smartauth scopes: %v\n", err)
		return 2
	}
	return code
}

func runPermits(f scopesFlags, parser scopes.Parser, method, path string, stdout, stderr io.Writer) int {
	granted, err := parser.ParseClaim(f.permits)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "smartauth scopes: ignoring %s\n", strings.TrimPrefix(line, "scopes: "))
		}
	}
	req, err := scopes.ParseRequest(method, path)
	if err != nil {
		fmt.Fprintf(stderr, "smartauth scopes: %v\n", err)
		return 2
	}
	ck := scopes.Checker{Patient: f.patient}
	if f.exportPolicy {
		ck.OperationPolicy = scopes.ExportPolicy
	}
	d := ck.Permits(granted, req)
	code := 1
	if d.Allowed {
		code = 0
	}

	if f.json {
		out := permitsDecisionJSON{Allowed: d.Allowed, Reason: d.Reason, Scope: d.Scope,
			NeedsEntryCheck: d.NeedsEntryCheck, Interaction: req.Interaction.String()}
		for _, fl := range d.Filters {
			fj := permitsFilterJSON{ResourceType: fl.ResourceType, Scope: fl.Scope, Params: []permitsParamJSON{}}
			for _, p := range fl.Params {
				fj.Params = append(fj.Params, permitsParamJSON(p))
			}
			out.Filters = append(out.Filters, fj)
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "smartauth scopes: %v\n", err)
			return 2
		}
		return code
	}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
		if len(d.Filters) > 0 {
			verdict = "allowed (conditional: enforce the filters)"
		}
	}
	fmt.Fprintf(tw, "decision:\t%s\n", verdict)
	fmt.Fprintf(tw, "request:\t%s %s (%s)\n", method, path, req.Interaction)
	fmt.Fprintf(tw, "reason:\t%s\n", d.Reason)
	if d.Scope != "" {
		fmt.Fprintf(tw, "scope:\t%s\n", d.Scope)
	}
	for _, fl := range d.Filters {
		params := make([]string, 0, len(fl.Params))
		for _, p := range fl.Params {
			params = append(params, p.String())
		}
		fmt.Fprintf(tw, "filter:\t%s?%s\t(from %s)\n", fl.ResourceType, strings.Join(params, "&"), fl.Scope)
	}
	if d.NeedsEntryCheck {
		fmt.Fprintf(tw, "entries:\tcheck each Bundle entry separately\n")
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "smartauth scopes: %v\n", err)
		return 2
	}
	return code
}

func scopesUsageError(stderr io.Writer, fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(stderr, "smartauth scopes: %s\n\n", msg)
	fs.Usage()
	return 2
}

// displayScope quotes tokens that would break the table: empty ones and
// ones with spaces, control or non-ASCII characters.
func displayScope(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return strconv.Quote(s)
		}
	}
	return s
}

func cellOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
