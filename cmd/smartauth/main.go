// Command smartauth is the command line tool of smartauth-go: a local demo of
// the HealthLake IdP Lambda, SMART scope inspection, offline validation of
// HealthLake events and token decoding.
//
// Usage:
//
//	smartauth demo                         run the end-to-end demo (no network, no setup)
//	smartauth scopes [--json] -- SCOPE...  parse SMART scopes
//	smartauth scopes --permits "SCOPES" METHOD PATH
//	smartauth validate [flags] [EVENT_FILE] validate a HealthLake event, print the response
//	smartauth decode TOKEN                 print header and claims (NOT verified)
//	smartauth emulate [flags]              local SMART-enabled HealthLake stand-in
//	smartauth metadata SOURCE | --check F  build or check HealthLake's SMART Metadata
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `smartauth: SMART on FHIR authorization for AWS HealthLake

Usage:
  smartauth demo                           end-to-end demo: in-process IdP, tokens, Lambda decisions
  smartauth scopes [--json] [--claim "A B"] [--] SCOPE...
                                           parse SMART v1/v2/v2.2 scopes
  smartauth scopes --permits "SCOPES" [--patient ID] METHOD PATH
                                           decide one FHIR request against scopes
  smartauth validate [flags] [EVENT_FILE]  validate a HealthLake event (file or stdin), print the response
  smartauth decode TOKEN                   print a token's header and claims (NOT verified)
  smartauth emulate [flags]                local SMART-enabled HealthLake stand-in (FHIR store + IdP Lambda)
  smartauth metadata SOURCE [flags] | --check FILE
                                           build or check HealthLake's SMART Metadata (discovery document)

Run "smartauth COMMAND -h" for a command's flags.

Exit status (every command): 0 allowed or positive result, 1 denied or
negative result (denied event, invalid scope, denied request, undecodable
token), 2 usage or configuration error (no decision).
`

// run dispatches a subcommand and returns the exit status, the same
// convention for every command: 0 allowed or positive result, 1 denied or
// negative result, 2 usage or configuration error (no decision).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "scopes":
		return runScopes(args[1:], stdout, stderr)
	case "validate":
		return runValidate(ctx, args[1:], stdin, stdout, stderr)
	case "decode":
		return runDecode(args[1:], stdout, stderr)
	case "emulate":
		return runEmulate(ctx, args[1:], stdout, stderr)
	case "metadata":
		return runMetadata(ctx, args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "smartauth: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// helpOrUsage maps a flag parse error to an exit status: 0 for -h/--help,
// 2 for any other usage error.
func helpOrUsage(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
