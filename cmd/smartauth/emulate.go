package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/internal/emulator"
	"github.com/healthlake-smart/smartauth-go/internal/metadata"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
)

// emulateRoleARN is the iamRoleARN the in-process validator returns when
// --role-arn is not given: the emulator only checks its form.
const emulateRoleARN = "arn:aws:iam::000000000000:role/smartauth-emulate"

const emulateUsage = `usage: smartauth emulate [flags]

Serves a local stand-in for a SMART-enabled AWS HealthLake data store at
http://ADDR/datastore/ID/r4/: .well-known/smart-configuration, metadata and
FHIR read/search/create/update/delete on an in-memory store. Each FHIR request's
bearer token goes to the IdP Lambda as a HealthLake event, either in process
(the validator flags below, the same as "smartauth validate") or to a real
Lambda under the Runtime Interface Emulator (--lambda-url); the answer is
applied as HealthLake does: 401 without a valid allow, 403 when the returned
scopes, the patient compartment or a granular filter do not permit the
request, with an OperationOutcome saying which check failed. One log line per
request on stderr. Stops on Ctrl-C. Exit status: 0 stopped by Ctrl-C, 2 usage,
configuration or server error.

Example (Keycloak realm "fhir" on localhost):

  smartauth emulate --provider keycloak --keycloak-url http://127.0.0.1:8180 --realm fhir \
    --insecure-http --datastore-endpoint https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/

Emulator flags:
  --addr, --datastore-id, --datastore-endpoint, --metadata, --cognito-domain,
  --seed, --lambda-url, --lambda-timeout, --log-json
Validator flags (in process; ignored with --lambda-url except for the default
Metadata and --role-arn; --endpoint defaults to the datastoreEndpoint, so that
tokens are checked for this data store as the deployed Lambda checks them).
With --lambda-url, an explicit --role-arn is the iamRoleARN the Lambda must
return exactly (401 otherwise); without it only the ARN's form is checked:

Flags:
`

type emulateFlags struct {
	addr          string
	datastoreID   string
	endpoint      string
	metadataFile  string
	cognitoDomain string
	seedFile      string
	lambdaURL     string
	lambdaTimeout time.Duration
	logJSON       bool
}

// defaultAddr is the default listen address: loopback only.
const defaultAddr = "127.0.0.1:8080"

func (e *emulateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.addr, "addr", defaultAddr, "listen address (port 0 picks a free port; keep it on loopback)")
	fs.StringVar(&e.datastoreID, "datastore-id", emulator.DefaultDatastoreID, "data store id in the path /datastore/ID/r4/")
	fs.StringVar(&e.endpoint, "datastore-endpoint", "", "datastoreEndpoint sent in the event and expected as aud (default https://healthlake.REGION.amazonaws.com/datastore/ID/r4/, REGION from --region or us-east-1); set it to the endpoint your tokens name")
	fs.StringVar(&e.metadataFile, "metadata", "", "SMART configuration JSON file (the Metadata of the data store; default built from the issuer flags as \"smartauth metadata\" does)")
	fs.StringVar(&e.cognitoDomain, "cognito-domain", "", "cognito: the user pool's domain prefix or https://custom-domain, for the default Metadata's authorize and token endpoints")
	fs.StringVar(&e.seedFile, "seed", "", "FHIR Bundle JSON file to seed the store (default a small embedded synthetic seed)")
	fs.StringVar(&e.lambdaURL, "lambda-url", "", "invoke a real Lambda at this Runtime Interface Emulator URL (http://127.0.0.1:PORT) instead of the in-process validator")
	fs.DurationVar(&e.lambdaTimeout, "lambda-timeout", emulator.DefaultInvokeTimeout, "time the IdP Lambda has to answer (HealthLake: 1s; at most "+emulator.MaxInvokeTimeout.String()+")")
	fs.BoolVar(&e.logJSON, "log-json", false, "log JSON lines instead of text")
}

func runEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var e emulateFlags
	e.register(fs)
	var f validateFlags
	f.register(fs, emulateRoleARN)
	fs.Usage = func() {
		fmt.Fprint(stderr, emulateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	// An explicit --role-arn is the role the answer must name (the
	// in-process validator returns it anyway; a real Lambda must). An
	// explicit empty one would turn that check off without a word.
	var wantRole string
	roleSet := false
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "role-arn" {
			wantRole, roleSet = f.RoleARN, true
		}
	})
	if roleSet && strings.TrimSpace(wantRole) == "" {
		fmt.Fprintln(stderr, "smartauth emulate: --role-arn is empty: give the iamRoleARN the answer must carry, or leave the flag out (then only the ARN's form is checked)")
		return 2
	}
	var logger *slog.Logger
	if e.logJSON {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "smartauth emulate: %v\n", err)
		return 2
	}
	if err := f.setClock(); err != nil {
		return fail(err)
	}
	if e.lambdaTimeout <= 0 || e.lambdaTimeout > emulator.MaxInvokeTimeout {
		return fail(fmt.Errorf("--lambda-timeout %s: want more than 0 and at most %s (HealthLake allows 1s)", e.lambdaTimeout, emulator.MaxInvokeTimeout))
	}
	var rie *emulator.HTTPInvoker
	if e.lambdaURL != "" {
		var err error
		if rie, err = emulator.NewHTTPInvoker(e.lambdaURL, &http.Client{Timeout: e.lambdaTimeout + 5*time.Second}); err != nil {
			return fail(err)
		}
	}
	md, err := e.metadata(&f, stderr)
	if err != nil {
		return fail(err)
	}
	var seed []byte
	if e.seedFile != "" {
		if seed, err = readInput(e.seedFile, nil, 64<<20); err != nil {
			return fail(err)
		}
	}
	if !loopbackAddr(e.addr) {
		fmt.Fprintf(stderr, "smartauth emulate: warning: --addr %s is not a loopback address: anyone who can reach it can read the store with a valid token; use 127.0.0.1\n", e.addr)
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return fail(err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String() + "/datastore/" + e.datastoreID + "/r4/"
	endpoint := e.endpoint
	if endpoint == "" {
		// The form HealthLake sends (https): the validator can pin it.
		region := f.Region
		if region == "" {
			region = "us-east-1"
		}
		endpoint = "https://healthlake." + region + ".amazonaws.com/datastore/" + e.datastoreID + "/r4/"
	}
	var inv emulator.Invoker
	mode := "in-process validator"
	if rie != nil {
		inv, mode = rie, "Lambda at "+rie.URL()
	} else if inv, err = f.inProcess(ctx, endpoint, logger); err != nil {
		return fail(err)
	}
	srv, err := emulator.New(emulator.Config{
		Invoker: inv, DatastoreEndpoint: endpoint, BaseURL: base, DatastoreID: e.datastoreID,
		Metadata: md, Seed: seed, InvokeTimeout: e.lambdaTimeout, RoleARN: wantRole,
		AnyResourceType: f.AnyResourceType, Logger: logger, Now: f.Now,
	})
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "smartauth emulate: serving %s (datastoreEndpoint %s, %s); Ctrl-C stops\n", base, endpoint, mode)
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, net.ErrClosed) {
		return fail(err)
	}
	return 0
}

// inProcess builds the in-process IdP Lambda: the validator flags behind
// the real Lambda handler. Without --endpoint the validator pins the
// emulator's datastoreEndpoint, as the deployed Lambda pins its data store
// (validate's offline relaxation, InsecureSkipEndpointCheck, is not used).
func (f *validateFlags) inProcess(ctx context.Context, endpoint string, logger *slog.Logger) (emulator.Invoker, error) {
	if len(f.Endpoints) == 0 {
		f.Endpoints = []string{endpoint}
	}
	v, a, err := f.buildValidator()
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := v.Hydrate(hctx); err != nil {
		logger.Warn("jwks hydrate failed; the key set retries on the first request", "error", err.Error())
	}
	// The handler's decision goes into the request's log line.
	return emulator.InvokerFunc(lambdaadapter.New(a, lambdaadapter.WithLogger(emulator.LambdaLogger())).Invoke), nil
}

// loopbackAddr reports whether a listen address binds a loopback host only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// metadata returns the SMART configuration to serve: --metadata, else one
// built by internal/metadata (as "smartauth metadata" does) from the issuer
// flags. Either is checked with metadata.Check: problems that break SMART
// discovery (a missing or unusable authorization_endpoint, token_endpoint,
// grant_types_supported, capabilities or PKCE) fail, the others are warnings
// on stderr.
func (e *emulateFlags) metadata(f *validateFlags, stderr io.Writer) ([]byte, error) {
	var doc []byte
	what := "the default Metadata"
	if e.metadataFile != "" {
		b, err := readInput(e.metadataFile, nil, 1<<20)
		if err != nil {
			return nil, err
		}
		if _, err := emulator.ParseMetadata(b); err != nil {
			return nil, fmt.Errorf("--metadata %s: %w", e.metadataFile, err)
		}
		doc, what = b, "--metadata "+e.metadataFile
	} else {
		b, err := e.defaultMetadata(f, stderr)
		if err != nil {
			return nil, fmt.Errorf("the default Metadata: %w (pass --metadata FILE)", err)
		}
		doc = b
	}
	var fatal []string
	for _, p := range (metadata.Policy{Strategy: metadata.SMARTOnFHIR, InsecureAllowLoopbackHTTP: f.InsecureHTTP}).Check(doc) {
		if breaksDiscovery(p) {
			fatal = append(fatal, p.String())
			continue
		}
		fmt.Fprintf(stderr, "smartauth emulate: warning: %s: %s\n", what, p)
	}
	if len(fatal) > 0 {
		return nil, fmt.Errorf("%s breaks SMART discovery:\n  %s", what, strings.Join(fatal, "\n  "))
	}
	return doc, nil
}

// breaksDiscovery reports whether a Check problem stops a SMART client
// from getting a token (as opposed to a HealthLake or style rule).
func breaksDiscovery(p metadata.Problem) bool {
	switch p.Rule {
	case "healthlake.required", "healthlake.s256", "healthlake.grant-types":
		return true
	case "smart.url":
		return p.Member == "authorization_endpoint" || p.Member == "token_endpoint"
	}
	return false
}

// defaultMetadata builds the Metadata of the IdP the validator flags name,
// without network: Keycloak's and Cognito's endpoints are fixed paths; the
// generic provider's authorize and token endpoints are guessed (warned).
func (e *emulateFlags) defaultMetadata(f *validateFlags, stderr io.Writer) ([]byte, error) {
	issuer := strings.TrimSuffix(f.Issuer, "/")
	var disc []byte
	var err error
	switch f.Provider {
	case "keycloak":
		if issuer == "" {
			if issuer, err = keycloak.IssuerURL(f.KeycloakURL, f.Realm, ""); err != nil {
				return nil, err
			}
		}
		disc, err = json.Marshal(map[string]any{
			"issuer":                                issuer,
			"authorization_endpoint":                issuer + "/protocol/openid-connect/auth",
			"token_endpoint":                        issuer + "/protocol/openid-connect/token",
			"jwks_uri":                              keycloak.JWKSURL(issuer),
			"grant_types_supported":                 []string{metadata.GrantAuthorizationCode, metadata.GrantClientCredentials, "refresh_token"},
			"code_challenge_methods_supported":      []string{"S256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		})
	case "cognito":
		region, pool := f.Region, f.UserPoolID
		if issuer != "" {
			if region, pool, err = cognitoCoordinates(issuer); err != nil {
				return nil, err
			}
		}
		domain := e.cognitoDomain
		if domain == "" {
			domain = strings.ToLower(strings.ReplaceAll(pool, "_", "-"))
			fmt.Fprintf(stderr, "smartauth emulate: warning: no --cognito-domain: the default Metadata names the placeholder domain %s.auth.%s.amazoncognito.com; pass your pool's domain (or --metadata)\n", domain, region)
		}
		disc, err = metadata.CognitoDiscovery(region, pool, domain)
	default:
		if issuer == "" {
			return nil, errors.New("--issuer is required")
		}
		jwks := f.JWKSURL
		if jwks == "" {
			jwks = issuer + "/.well-known/jwks.json"
		}
		fmt.Fprintf(stderr, "smartauth emulate: warning: provider %s: the default Metadata guesses %s/authorize and %s/token; pass --metadata with your IdP's endpoints\n", f.Provider, issuer, issuer)
		disc, err = json.Marshal(map[string]any{
			"issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token", "jwks_uri": jwks,
			"grant_types_supported":            []string{metadata.GrantAuthorizationCode, metadata.GrantClientCredentials},
			"code_challenge_methods_supported": []string{"S256"},
		})
	}
	if err != nil {
		return nil, err
	}
	m, err := metadata.Build(disc, metadata.Settings{
		Strategy: metadata.SMARTOnFHIR,
		Capabilities: []string{metadata.CapLaunchStandalone, metadata.CapClientConfidentialSymmetric, metadata.CapContextStandalonePatient,
			metadata.CapPermissionPatient, metadata.CapPermissionUser, metadata.CapPermissionV22},
		GrantTypes:                []string{metadata.GrantAuthorizationCode, metadata.GrantClientCredentials},
		ScopesSupported:           []string{"openid", "fhirUser", "launch/patient", "patient/*.rs", "user/*.rs", "system/*.rs"},
		InsecureAllowLoopbackHTTP: f.InsecureHTTP,
	})
	if err != nil {
		return nil, err
	}
	return m.JSON(false)
}

// cognitoCoordinates reads region and user pool id from a Cognito issuer
// (https://cognito-idp.<region>.amazonaws.com/<pool>).
func cognitoCoordinates(issuer string) (region, pool string, err error) {
	u, perr := url.Parse(issuer)
	if perr == nil {
		if r, ok := strings.CutPrefix(u.Host, "cognito-idp."); ok {
			if r, ok = strings.CutSuffix(r, ".amazonaws.com"); ok {
				region, pool = r, strings.Trim(u.Path, "/")
				if iss, err := cognito.IssuerURL(region, pool); err == nil && iss == issuer {
					return region, pool, nil
				}
			}
		}
	}
	return "", "", fmt.Errorf("--issuer %q is not a Cognito user pool issuer https://cognito-idp.<region>.amazonaws.com/<pool id>", issuer)
}
