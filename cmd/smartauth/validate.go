package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/internal/config"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// stringList is a repeatable string flag appending to *l.
type stringList struct{ l *[]string }

func (f stringList) String() string {
	if f.l == nil {
		return ""
	}
	return strings.Join(*f.l, ",")
}
func (f stringList) Set(v string) error { *f.l = append(*f.l, v); return nil }

// validateFlags are the validator flags of validate (and of every command
// that builds a validator the same way): they fill a config.Settings, the
// builder the example Lambda fills from its environment.
type validateFlags struct {
	config.Settings
	now string
}

// register defines the validator flags on fs. roleARN is the command's
// default for --role-arn: "" makes it required (validate); a command that
// supplies one (emulate) gets it as the flag's default, so that -h tells
// each command's truth from the one flag set.
func (f *validateFlags) register(fs *flag.FlagSet, roleARN string) {
	s := &f.Settings
	fs.StringVar(&s.Provider, "provider", "generic", "token rules: generic, cognito or keycloak")
	fs.StringVar(&s.Issuer, "issuer", "", "trusted issuer URL (generic: required; cognito, keycloak: instead of --region/--user-pool-id or --keycloak-url/--realm)")
	fs.StringVar(&s.JWKSFile, "jwks-file", "", "JWKS JSON file (offline validation)")
	fs.StringVar(&s.JWKSURL, "jwks-url", "", "JWKS URL (generic: this or --jwks-file is required; cognito, keycloak: derived from the issuer)")
	fs.Var(stringList{&s.Algorithms}, "algorithm", "allowed JWS algorithm, e.g. ES256 or PS256 (repeatable; default RS256; not for cognito)")
	fs.Var(stringList{&s.Audiences}, "audience", "accepted aud value besides the event's datastoreEndpoint (repeatable)")
	fs.Var(stringList{&s.Endpoints}, "endpoint", "data store endpoint this validator answers for (repeatable; recommended with cognito or --audience)")
	fs.Var(stringList{&s.ClientIDs}, "client-id", "allowed app client (repeatable). cognito (required): client_id must be listed, and azp too if present; keycloak/generic: at least one of client_id, azp, and each present must be listed")
	fs.Var(stringList{&s.ScopePrefixes}, "scope-prefix", "resource-server prefix stripped from scopes, e.g. https://fhir.example.com (repeatable)")
	roleUsage := "IAM role ARN returned as iamRoleARN"
	if roleARN == "" {
		roleUsage += " (required)"
	}
	fs.StringVar(&s.RoleARN, "role-arn", roleARN, roleUsage)
	fs.StringVar(&f.now, "now", "", "validate as of this time (RFC 3339 or Unix seconds)")
	fs.StringVar(&s.Region, "region", "", "cognito: AWS region of the user pool")
	fs.StringVar(&s.UserPoolID, "user-pool-id", "", "cognito: user pool ID")
	fs.BoolVar(&s.MultiRegion, "multi-region", false, "cognito: also trust the issuer-cognito-idp (multi-Region) issuer of the pool")
	fs.StringVar(&s.KeycloakURL, "keycloak-url", "", "keycloak: server base URL")
	fs.StringVar(&s.Realm, "realm", "", "keycloak: realm name")
	fs.StringVar(&s.PathPrefix, "path-prefix", "", `keycloak: path between the base URL and /realms, e.g. "/auth" for legacy servers`)
	fs.BoolVar(&s.V1Scopes, "v1-scopes", false, "emit v1 scopes (data stores created with SMART_ON_FHIR_V1)")
	fs.BoolVar(&s.AuthorizedAsString, "authorized-as-string", false, `emit isAuthorized as the string "true"`)
	fs.BoolVar(&s.AnyResourceType, "any-type", false, "accept any well-formed resource type in scopes, not only FHIR R4")
	fs.StringVar(&s.UIDClaim, "uid-claim", "", "claim copied to uid (default sub)")
	fs.BoolVar(&s.InsecureHTTP, "insecure-http", false, "allow http:// issuers and JWKS URLs (local test IdPs only)")
	fs.DurationVar(&s.JWKSTimeout, "timeout", 5*time.Second, "JWKS fetch timeout")
}

// parseNow accepts RFC 3339 or Unix seconds.
func parseNow(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--now %q: want RFC 3339 or Unix seconds", s)
	}
	return t, nil
}

// setClock sets the validation clock from --now (parsed once, here).
func (f *validateFlags) setClock() error {
	if f.now == "" {
		return nil
	}
	t, err := parseNow(f.now)
	if err != nil {
		return err
	}
	f.Now = func() time.Time { return t }
	return nil
}

// buildValidator turns the flags into a HealthLake Authorizer (with
// config.Settings.New). Call setClock first.
func (f *validateFlags) buildValidator() (*smartauth.Validator, *healthlake.Authorizer, error) {
	if f.RoleARN == "" {
		return nil, nil, errors.New("--role-arn is required")
	}
	f.Name = func(key string) string { return "--" + key }
	f.Getenv = os.Getenv // SSL_CERT_FILE, SSL_CERT_DIR: the JWKS client's roots
	return f.New()
}

const validateUsage = `usage: smartauth validate [flags] [EVENT_FILE]

Reads a HealthLake IdP Lambda event (from EVENT_FILE or stdin), validates its
bearer token and prints the response JSON on stdout (the reason goes to
stderr). Exit status: 0 allowed, 1 denied, 2 usage or configuration error,
including an internal fault that leaves no decision (for example an
unreachable JWKS).

The flags and the environment variables of examples/healthlake-lambda fill
the same settings with the same rules. The generic provider needs --issuer
and --jwks-url or --jwks-file.

Flags:
`

func runValidate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f validateFlags
	f.register(fs, "")
	fs.Usage = func() {
		fmt.Fprint(stderr, validateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	// An offline check of one event: without --endpoint, tokens whose
	// policy does not name the data store (Cognito client_id, extra
	// audiences) are accepted for the event's endpoint; the note says so.
	f.InsecureSkipEndpointCheck = len(f.Endpoints) == 0
	err := f.setClock()
	var v *healthlake.Authorizer
	if err == nil {
		_, v, err = f.buildValidator()
	}
	if err != nil {
		fmt.Fprintf(stderr, "smartauth validate: %v\n", err)
		return 2
	}
	if len(f.Endpoints) == 0 && (f.Provider == "cognito" || len(f.Audiences) > 0) {
		fmt.Fprintln(stderr, "note: these tokens do not name the data store (client_id or --audience); pass --endpoint to check the event's datastoreEndpoint as the Lambda must")
	}
	name := "-"
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	raw, err := readInput(name, stdin, 1<<20)
	if err != nil {
		fmt.Fprintf(stderr, "smartauth validate: reading event: %v\n", err)
		return 2
	}
	_, d := v.AuthorizeJSON(ctx, raw)
	if d.Internal {
		fmt.Fprintf(stderr, "smartauth validate: internal fault (%s): %v\n", d.Reason, d.Err)
		return 2
	}
	out, err := json.MarshalIndent(d.Response, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "smartauth validate: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, string(out))
	if !d.Allowed {
		fmt.Fprintf(stderr, "denied: reason=%s: %v\n", d.Reason, d.Err)
		return 1
	}
	fmt.Fprintf(stderr, "allowed: issuer=%s client=%s scopes=%d\n", d.Issuer, d.ClientID, d.Scopes)
	return 0
}
