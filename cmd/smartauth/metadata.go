package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/internal/metadata"
	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
)

const metadataUsage = `usage: smartauth metadata SOURCE [flags]       build IdentityProviderConfiguration.Metadata
       smartauth metadata --check FILE [--strategy S] check an existing Metadata ("-": stdin)

SOURCE is one of
  --keycloak-url URL --realm NAME        fetch URL/realms/NAME/.well-known/openid-configuration
  --cognito-domain DOMAIN --region R --user-pool-id ID
                                         no network: Cognito's endpoints are fixed; DOMAIN is the
                                         pool's domain prefix or a custom domain as https://host
  --discovery FILE                       an OpenID discovery document ("-": stdin)

The document's issuer must be the IdP's (OpenID Discovery §4.3): URL/realms/NAME
for Keycloak, https://cognito-idp.R.amazonaws.com/ID for Cognito, --issuer when
given. --issuer overrides the Keycloak one (a Keycloak whose public hostname
differs from URL) and checks a discovery file, which is not checked without it;
it does not go with the Cognito source, whose issuer is always the pool's.

The SMART capabilities come from the flags: launch modes, client types,
permissions, sso-openid-connect, plus --capability for any other SMART 2.2
capability. permission-v1 is on by default (both strategies accept v1 scopes;
--v1=false leaves it out, with SMART_ON_FHIR only) and SMART_ON_FHIR always adds
permission-v2; each capability is written once. Without authorization_code
in --grant-types the launch modes and sso-openid-connect default to off.

Output: the Metadata JSON object (indented; --compact), or with --string the
compact object as one JSON string, the form the HealthLake API and
CloudFormation take. The result always passes --check.

--check reads the Metadata as a JSON object or as a JSON string holding one,
and prints one line per problem (what is wrong; why it matters; fix: how).

Exit status: 0 success / acceptable; 1 the IdP cannot support the requested
Metadata, fetching failed, or --check found problems; 2 usage errors.

Flags:
`

// metadataFlags are the parsed flags of "smartauth metadata".
type metadataFlags struct {
	check                                    string
	strategy                                 string
	keycloakURL, realm                       string
	cognitoDomain, region, poolID            string
	discovery, issuer                        string
	launch, clients, permissions, grantTypes string
	scopesSupported                          string
	v1, v22, sso, compact, quoted, insecure  bool
	extra                                    []string
	timeout                                  time.Duration
	set                                      map[string]bool
}

func runMetadata(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var f metadataFlags
	fs := flag.NewFlagSet("metadata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, metadataUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.check, "check", "", "check the Metadata in `FILE` instead of building one")
	fs.StringVar(&f.strategy, "strategy", string(metadata.SMARTOnFHIR), "data store AuthorizationStrategy: SMART_ON_FHIR or SMART_ON_FHIR_V1")
	fs.StringVar(&f.keycloakURL, "keycloak-url", "", "Keycloak base `URL`, e.g. https://kc.example.com")
	fs.StringVar(&f.realm, "realm", "", "Keycloak realm `NAME`")
	fs.StringVar(&f.cognitoDomain, "cognito-domain", "", "Cognito domain prefix, or custom domain as https://host")
	fs.StringVar(&f.region, "region", "", "AWS region of the Cognito user pool")
	fs.StringVar(&f.poolID, "user-pool-id", "", "Cognito user pool `ID`, e.g. us-east-1_AbC123")
	fs.StringVar(&f.discovery, "discovery", "", "OpenID discovery document `FILE`")
	fs.StringVar(&f.issuer, "issuer", "", "the issuer `URL` the discovery document must name (default: the Keycloak realm's; not with the Cognito source)")
	fs.StringVar(&f.launch, "launch", "standalone", "launch modes, comma-separated: standalone, ehr (\"none\": none); each adds its patient context")
	fs.StringVar(&f.clients, "clients", "confidential-symmetric", "client types, comma-separated: public, confidential-symmetric, confidential-asymmetric")
	fs.StringVar(&f.permissions, "permissions", "patient,user", "scope permissions, comma-separated: patient, user, offline, online (\"none\": none)")
	fs.BoolVar(&f.v1, "v1", true, "advertise permission-v1 (v1 scopes such as patient/*.read; both strategies accept them; SMART_ON_FHIR_V1 needs it)")
	fs.BoolVar(&f.v22, "v2.2", false, "advertise permission-v2.2 (granular scopes; SMART_ON_FHIR only)")
	fs.BoolVar(&f.sso, "sso", true, "advertise sso-openid-connect (needs authorization_code)")
	fs.Func("capability", "add a SMART 2.2 capability `NAME` (repeatable)", func(s string) error {
		f.extra = append(f.extra, splitList(s)...)
		return nil
	})
	fs.StringVar(&f.grantTypes, "grant-types", "authorization_code,client_credentials", "grant types, comma-separated: authorization_code, client_credentials")
	fs.StringVar(&f.scopesSupported, "scopes-supported", "", "scopes_supported, space- or comma-separated (default: the IdP's SMART scopes; \"none\": leave out)")
	fs.BoolVar(&f.compact, "compact", false, "print the object on one line")
	fs.BoolVar(&f.quoted, "string", false, "print the compact object as a JSON string (for the API and CloudFormation)")
	fs.BoolVar(&f.insecure, "insecure-allow-loopback-http", false, "accept http:// endpoints on 127.0.0.1/localhost (local test IdP; never for HealthLake)")
	fs.DurationVar(&f.timeout, "timeout", metadata.FetchTimeout, "timeout for fetching the Keycloak discovery document")
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "smartauth metadata: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	strategy, err := metadata.ParseStrategy(f.strategy)
	if err != nil {
		return usageErr("--strategy: %v", err)
	}
	if f.set["check"] {
		for name := range f.set {
			if name != "check" && name != "strategy" && name != "insecure-allow-loopback-http" {
				return usageErr("--check takes only --strategy and --insecure-allow-loopback-http, not --%s", name)
			}
		}
		return checkMetadata(f, strategy, stdin, stdout, stderr)
	}

	if f.set["issuer"] && f.issuer == "" {
		return usageErr("--issuer needs a URL")
	}
	// the flags first: a usage error never waits for a fetch
	settings, err := metadataSettings(f, strategy)
	if err != nil {
		return usageErr("%v", err)
	}
	disc, issuer, code := discoveryDocument(ctx, f, stdin, stderr)
	if disc == nil {
		return code
	}
	settings.Issuer = issuer
	m, err := metadata.Build(disc, settings)
	if err != nil {
		fmt.Fprintf(stderr, "smartauth: %v\n", err)
		if errors.Is(err, metadata.ErrSettings) {
			return 2
		}
		return 1
	}
	var out []byte
	if f.quoted {
		s, qerr := m.Quoted()
		out, err = []byte(s), qerr
	} else {
		out, err = m.JSON(!f.compact)
	}
	if err != nil {
		fmt.Fprintf(stderr, "smartauth: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}

func checkMetadata(f metadataFlags, strategy metadata.Strategy, stdin io.Reader, stdout, stderr io.Writer) int {
	if f.check == "" {
		fmt.Fprintln(stderr, "smartauth metadata: --check needs a FILE (\"-\": stdin)")
		return 2
	}
	// An oversized document (its first MaxDocument+1 bytes) is Check's problem
	// line like any other, whatever its size.
	doc, err := readInput(f.check, stdin, metadata.MaxDocument)
	if err != nil && !errors.Is(err, errTooLarge) {
		fmt.Fprintf(stderr, "smartauth metadata: %v\n", err)
		return 2
	}
	probs := metadata.Policy{Strategy: strategy, InsecureAllowLoopbackHTTP: f.insecure}.Check(doc)
	for _, p := range probs {
		fmt.Fprintln(stdout, p.String())
	}
	if len(probs) > 0 {
		fmt.Fprintf(stderr, "smartauth metadata: %d problem(s) for %s\n", len(probs), strategy)
		return 1
	}
	fmt.Fprintf(stderr, "smartauth metadata: acceptable for %s\n", strategy)
	return 0
}

// discoveryDocument returns the IdP's discovery document from the one source
// the flags name and the issuer it must name ("": unknown), or nil and the
// exit status.
func discoveryDocument(ctx context.Context, f metadataFlags, stdin io.Reader, stderr io.Writer) ([]byte, string, int) {
	fail := func(code int, format string, a ...any) ([]byte, string, int) {
		fmt.Fprintf(stderr, "smartauth metadata: "+format+"\n", a...)
		return nil, "", code
	}
	failErr := func(code int, err error) ([]byte, string, int) {
		fmt.Fprintf(stderr, "smartauth: %v\n", err) // package errors start with "metadata: "
		return nil, "", code
	}
	// expect is the issuer the document must name: --issuer, else the IdP's.
	expect := func(idp string) string {
		if f.issuer != "" {
			return f.issuer
		}
		return idp
	}
	sources := 0
	for _, group := range [][]string{{"keycloak-url", "realm"}, {"cognito-domain", "region", "user-pool-id"}, {"discovery"}} {
		if slices.ContainsFunc(group, func(n string) bool { return f.set[n] }) {
			sources++
		}
	}
	if sources != 1 {
		return fail(2, "give exactly one source: --keycloak-url and --realm, --cognito-domain with --region and --user-pool-id, or --discovery (see -h)")
	}
	switch {
	case f.set["discovery"]:
		// An oversized document fails Build (exit 1) like a fetched one.
		b, err := readInput(f.discovery, stdin, metadata.MaxDocument)
		if err != nil && !errors.Is(err, errTooLarge) {
			return failErr(2, err)
		}
		return b, expect(""), 0
	case f.set["cognito-domain"] || f.set["region"] || f.set["user-pool-id"]:
		if f.cognitoDomain == "" || f.region == "" || f.poolID == "" {
			return fail(2, "--cognito-domain, --region and --user-pool-id go together")
		}
		if f.set["issuer"] {
			// the document is built here from the pool's fixed endpoints, so
			// its issuer is the pool's: another one could never match
			return fail(2, "--issuer does not go with --cognito-domain: a user pool's issuer is always https://cognito-idp.%s.amazonaws.com/%s", f.region, f.poolID)
		}
		b, err := metadata.CognitoDiscovery(f.region, f.poolID, f.cognitoDomain)
		if err != nil {
			return failErr(2, err)
		}
		issuer, err := cognito.IssuerURL(f.region, f.poolID)
		if err != nil {
			return failErr(2, err)
		}
		return b, expect(issuer), 0
	default:
		if f.keycloakURL == "" || f.realm == "" {
			return fail(2, "--keycloak-url and --realm go together")
		}
		issuer, err := keycloak.IssuerURL(f.keycloakURL, f.realm, "")
		if err != nil {
			return failErr(2, err)
		}
		u, err := metadata.KeycloakDiscoveryURL(f.keycloakURL, f.realm)
		if err != nil {
			return failErr(2, err)
		}
		if f.timeout <= 0 {
			return fail(2, "--timeout must be positive")
		}
		b, err := metadata.Fetch(ctx, &http.Client{Timeout: f.timeout}, u)
		if err != nil {
			return failErr(1, err)
		}
		return b, expect(issuer), 0
	}
}

// metadataSettings turns the capability flags into Build settings.
func metadataSettings(f metadataFlags, strategy metadata.Strategy) (metadata.Settings, error) {
	s := metadata.Settings{Strategy: strategy, GrantTypes: splitList(f.grantTypes), OmitPermissionV1: !f.v1,
		InsecureAllowLoopbackHTTP: f.insecure}
	if strategy == metadata.SMARTOnFHIRV1 && !f.v1 {
		return s, errors.New("--v1=false with --strategy SMART_ON_FHIR_V1: permission-v1 is that strategy's only permission version (Metadata without it advertises none)")
	}
	authCode := slices.Contains(s.GrantTypes, metadata.GrantAuthorizationCode)
	var caps []string
	launch := splitList(f.launch)
	if !authCode && !f.set["launch"] {
		launch = nil
	}
	for _, l := range launch {
		switch l {
		case "standalone":
			caps = append(caps, metadata.CapLaunchStandalone, metadata.CapContextStandalonePatient)
		case "ehr":
			caps = append(caps, metadata.CapLaunchEHR, metadata.CapContextEHRPatient)
		case "none":
		default:
			return s, fmt.Errorf("--launch: %q is not standalone, ehr or none", l)
		}
	}
	for _, c := range splitList(f.clients) {
		switch c {
		case "public", "confidential-symmetric", "confidential-asymmetric":
			caps = append(caps, "client-"+c)
		case "none":
		default:
			return s, fmt.Errorf("--clients: %q is not public, confidential-symmetric or confidential-asymmetric", c)
		}
	}
	for _, p := range splitList(f.permissions) {
		switch p {
		case "patient", "user", "offline", "online":
			caps = append(caps, "permission-"+p)
		case "none":
		default:
			return s, fmt.Errorf("--permissions: %q is not patient, user, offline or online", p)
		}
	}
	if f.sso && (authCode || f.set["sso"]) {
		caps = append(caps, metadata.CapSSOOpenIDConnect)
	}
	if f.v22 {
		caps = append(caps, metadata.CapPermissionV22)
	}
	for _, c := range f.extra {
		if !metadata.IsCapability(c) {
			return s, fmt.Errorf("--capability: %q is not a SMART App Launch 2.2 capability", c)
		}
		if c == metadata.CapPermissionV1 && !f.v1 {
			return s, fmt.Errorf("--capability %s contradicts --v1=false", c)
		}
	}
	s.Capabilities = append(caps, f.extra...)
	if f.set["scopes-supported"] {
		s.ScopesSupported = []string{}
		if f.scopesSupported != "none" {
			s.ScopesSupported = splitList(f.scopesSupported)
		}
	}
	return s, nil
}

// splitList splits on commas and white space, dropping empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}
