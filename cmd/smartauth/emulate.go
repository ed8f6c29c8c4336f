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
	"os"
	"strings"
	"time"

	"github.com/healthlake-smart/smartauth-go/internal/emulator"
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
request on stderr. Stops on Ctrl-C.

Example (Keycloak realm "fhir" on localhost):

  smartauth emulate --provider keycloak --keycloak-url http://127.0.0.1:8180 --realm fhir \
    --insecure-http --datastore-endpoint https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/

Emulator flags:
  --addr, --datastore-id, --datastore-endpoint, --metadata, --seed,
  --lambda-url, --lambda-timeout, --log-json
Validator flags (in process; ignored with --lambda-url; --role-arn defaults to
` + emulateRoleARN + `):

Flags:
`

type emulateFlags struct {
	addr          string
	datastoreID   string
	endpoint      string
	metadataFile  string
	seedFile      string
	lambdaURL     string
	lambdaTimeout time.Duration
	logJSON       bool
}

func (e *emulateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	fs.StringVar(&e.datastoreID, "datastore-id", emulator.DefaultDatastoreID, "data store id in the path /datastore/ID/r4/")
	fs.StringVar(&e.endpoint, "datastore-endpoint", "", "datastoreEndpoint sent in the event and expected as aud (default this server's http://ADDR/datastore/ID/r4/); set it to the endpoint your tokens name")
	fs.StringVar(&e.metadataFile, "metadata", "", "SMART configuration JSON file (the Metadata of the data store; default derived from the issuer flags)")
	fs.StringVar(&e.seedFile, "seed", "", "FHIR Bundle JSON file to seed the store (default a small embedded synthetic seed)")
	fs.StringVar(&e.lambdaURL, "lambda-url", "", "invoke a real Lambda at this Runtime Interface Emulator URL (http://127.0.0.1:PORT) instead of the in-process validator")
	fs.DurationVar(&e.lambdaTimeout, "lambda-timeout", emulator.DefaultInvokeTimeout, "time the IdP Lambda has to answer (HealthLake: 1s)")
	fs.BoolVar(&e.logJSON, "log-json", false, "log JSON lines instead of text")
}

func runEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var e emulateFlags
	e.register(fs)
	var f validateFlags
	f.register(fs)
	if fl := fs.Lookup("role-arn"); fl != nil && fl.Value.Set(emulateRoleARN) == nil {
		fl.DefValue = emulateRoleARN
	}
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

	var inv emulator.Invoker
	mode := "in-process validator"
	if e.lambdaURL != "" {
		u, err := emulator.InvokeURL(e.lambdaURL)
		if err != nil {
			return fail(err)
		}
		inv = emulator.HTTPInvoker{URL: u}
		mode = "Lambda at " + u
	} else {
		v, a, err := f.buildValidator()
		if err != nil {
			return fail(err)
		}
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := v.Hydrate(hctx); err != nil {
			logger.Warn("jwks hydrate failed; the key set retries on the first request", "error", err.Error())
		}
		cancel()
		inv = emulator.InvokerFunc(lambdaadapter.New(a, lambdaadapter.WithLogger(logger.With("component", "lambda"))).Invoke)
	}

	metadata, err := e.metadata(fs)
	if err != nil {
		return fail(err)
	}
	var seed []byte
	if e.seedFile != "" {
		if seed, err = readFileCapped(e.seedFile, 64<<20); err != nil {
			return fail(err)
		}
	}
	now := time.Now
	if n := flagValue(fs, "now"); n != "" {
		t, err := parseNow(n)
		if err != nil {
			return fail(err)
		}
		now = func() time.Time { return t }
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return fail(err)
	}
	base := "http://" + ln.Addr().String() + "/datastore/" + e.datastoreID + "/r4/"
	endpoint := e.endpoint
	if endpoint == "" {
		endpoint = base
	}
	srv, err := emulator.New(emulator.Config{
		Invoker: inv, DatastoreEndpoint: endpoint, BaseURL: base, DatastoreID: e.datastoreID,
		Metadata: metadata, Seed: seed, InvokeTimeout: e.lambdaTimeout,
		AnyResourceType: boolFlag(fs, "any-type"), Logger: logger, Now: now,
	})
	if err != nil {
		ln.Close()
		return fail(err)
	}
	fmt.Fprintf(stdout, "smartauth emulate: serving %s (datastoreEndpoint %s, %s); Ctrl-C stops\n", base, endpoint, mode)
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(stderr, "smartauth emulate: %v\n", err)
		return 1
	}
	return 0
}

func boolFlag(fs *flag.FlagSet, name string) bool {
	fl := fs.Lookup(name)
	return fl != nil && fl.Value.String() == "true"
}

func flagValue(fs *flag.FlagSet, name string) string {
	if fl := fs.Lookup(name); fl != nil {
		return fl.Value.String()
	}
	return ""
}

func readFileCapped(name string, limit int64) ([]byte, error) {
	file, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}

// metadata returns the SMART configuration to serve: --metadata, else one
// derived from the issuer flags (Keycloak: its OIDC endpoints; Cognito and
// generic: the issuer and JWKS only), else a minimal one. The derived and
// minimal documents name no endpoints the flags do not determine.
func (e *emulateFlags) metadata(fs *flag.FlagSet) ([]byte, error) {
	if e.metadataFile != "" {
		b, err := readFileCapped(e.metadataFile, 1<<20)
		if err != nil {
			return nil, err
		}
		if _, err := emulator.ParseMetadata(b); err != nil {
			return nil, fmt.Errorf("--metadata %s: %w", e.metadataFile, err)
		}
		return b, nil
	}
	md := map[string]any{
		"grant_types_supported":            []string{"client_credentials", "authorization_code"},
		"code_challenge_methods_supported": []string{"S256"},
		"capabilities": []string{"launch-standalone", "client-confidential-symmetric", "context-standalone-patient",
			"permission-patient", "permission-user", "permission-v2"},
		"scopes_supported": []string{"openid", "fhirUser", "launch/patient", "patient/*.rs", "user/*.rs", "system/*.rs"},
	}
	issuer := strings.TrimSuffix(flagValue(fs, "issuer"), "/")
	switch flagValue(fs, "provider") {
	case "keycloak":
		if issuer == "" {
			issuer, _ = keycloak.IssuerURL(flagValue(fs, "keycloak-url"), flagValue(fs, "realm"), "")
		}
		if issuer != "" {
			md["authorization_endpoint"] = issuer + "/protocol/openid-connect/auth"
			md["token_endpoint"] = issuer + "/protocol/openid-connect/token"
			md["jwks_uri"] = keycloak.JWKSURL(issuer)
		}
	case "cognito":
		if issuer == "" {
			issuer, _ = cognito.IssuerURL(flagValue(fs, "region"), flagValue(fs, "user-pool-id"))
		}
		if issuer != "" {
			md["jwks_uri"] = cognito.JWKSURL(issuer)
		}
	}
	if issuer != "" {
		md["issuer"] = issuer
	}
	return json.Marshal(md)
}
