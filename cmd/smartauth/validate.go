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
	"github.com/healthlake-smart/smartauth-go/providers/cognito"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// validateFlags are the validator settings shared by validate.
type validateFlags struct {
	provider     string
	issuer       string
	jwksFile     string
	jwksURL      string
	audiences    stringList
	endpoints    stringList
	clientIDs    stringList
	scopePrefix  stringList
	roleARN      string
	now          string
	region       string
	userPoolID   string
	keycloakURL  string
	realm        string
	v1Scopes     bool
	asString     bool
	anyType      bool
	uidClaim     string
	insecureHTTP bool
	timeout      time.Duration
}

func (f *validateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "generic", "token rules: generic, cognito or keycloak")
	fs.StringVar(&f.issuer, "issuer", "", "trusted issuer URL (derived from --region/--user-pool-id or --keycloak-url/--realm when omitted)")
	fs.StringVar(&f.jwksFile, "jwks-file", "", "JWKS JSON file (offline validation)")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "JWKS URL (default derived from the issuer)")
	fs.Var(&f.audiences, "audience", "accepted aud value besides the event's datastoreEndpoint (repeatable)")
	fs.Var(&f.endpoints, "endpoint", "data store endpoint this validator answers for (repeatable; recommended with cognito or --audience)")
	fs.Var(&f.clientIDs, "client-id", "allowed app client_id (repeatable; required for cognito)")
	fs.Var(&f.scopePrefix, "scope-prefix", "resource-server prefix stripped from scopes, e.g. https://fhir.example.com (repeatable)")
	fs.StringVar(&f.roleARN, "role-arn", "", "IAM role ARN returned as iamRoleARN (required)")
	fs.StringVar(&f.now, "now", "", "validate as of this time (RFC 3339 or Unix seconds)")
	fs.StringVar(&f.region, "region", "", "cognito: AWS region of the user pool")
	fs.StringVar(&f.userPoolID, "user-pool-id", "", "cognito: user pool ID")
	fs.StringVar(&f.keycloakURL, "keycloak-url", "", "keycloak: server base URL")
	fs.StringVar(&f.realm, "realm", "", "keycloak: realm name")
	fs.BoolVar(&f.v1Scopes, "v1-scopes", false, "emit v1 scopes (data stores created with SMART_ON_FHIR_V1)")
	fs.BoolVar(&f.asString, "authorized-as-string", false, `emit isAuthorized as the string "true"`)
	fs.BoolVar(&f.anyType, "any-type", false, "accept any well-formed resource type in scopes, not only FHIR R4")
	fs.StringVar(&f.uidClaim, "uid-claim", "", "claim copied to uid (default sub)")
	fs.BoolVar(&f.insecureHTTP, "insecure-http", false, "allow http:// issuers and JWKS URLs (local test IdPs only)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "JWKS fetch timeout")
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

// buildValidator turns the flags into a HealthLake Authorizer.
func (f *validateFlags) buildValidator() (*healthlake.Authorizer, error) {
	if f.roleARN == "" {
		return nil, errors.New("--role-arn is required")
	}
	hl := healthlake.Config{RoleARN: f.roleARN, AuthorizedAsString: f.asString, UIDClaim: f.uidClaim}
	cfg := smartauth.Config{
		AnyResourceType:          f.anyType,
		InsecureAllowHTTPIssuers: f.insecureHTTP,
		Endpoints:                f.endpoints,
		// An offline check of one event: without --endpoint, tokens whose
		// policy does not name the data store (Cognito client_id, extra
		// audiences) are accepted for the event's endpoint; runValidate says so.
		InsecureSkipEndpointCheck: len(f.endpoints) == 0,
	}
	if f.v1Scopes {
		hl.ScopeFormat = healthlake.ScopesV1
	}
	if f.now != "" {
		t, err := parseNow(f.now)
		if err != nil {
			return nil, err
		}
		cfg.Now = func() time.Time { return t }
	}
	if err := f.checkCombination(); err != nil {
		return nil, err
	}
	issuer, jwksDefault, err := f.resolveIssuer()
	if err != nil {
		return nil, err
	}
	ks, err := f.keySet(jwksDefault)
	if err != nil {
		return nil, err
	}
	switch f.provider {
	case "generic":
		cfg.Issuers = []smartauth.IssuerConfig{{
			Issuer:        issuer,
			KeySet:        ks,
			Audience:      smartauth.EndpointAudience(f.audiences...),
			ScopePrefixes: f.scopePrefix,
		}}
		if len(f.clientIDs) > 0 {
			ids := append([]string(nil), f.clientIDs...)
			cfg.Issuers[0].Check = func(c *smartauth.Claims) error {
				for _, id := range ids {
					if id == c.ClientID || id == c.AuthorizedParty {
						return nil
					}
				}
				return errors.New("client not on the --client-id list")
			}
		}
	case "cognito":
		ics, err := cognito.New(cognito.Config{
			Region: f.region, UserPoolID: f.userPoolID, Issuer: f.issuerOverride(),
			ClientIDs: f.clientIDs, ScopePrefixes: f.scopePrefix, KeySet: ks,
		})
		if err != nil {
			return nil, err
		}
		cfg.Issuers = ics
	case "keycloak":
		kcfg := keycloak.Config{BaseURL: f.keycloakURL, Realm: f.realm, Audiences: f.audiences,
			AllowedClients: f.clientIDs, KeySet: ks}
		if f.keycloakURL == "" {
			// --issuer given: split it back into base and realm.
			base, realm, ok := strings.Cut(issuer, "/realms/")
			if !ok {
				return nil, fmt.Errorf("--issuer %q is not a Keycloak realm URL (<base>/realms/<realm>)", issuer)
			}
			kcfg.BaseURL, kcfg.Realm = base, realm
		}
		ic, err := keycloak.New(kcfg)
		if err != nil {
			return nil, err
		}
		ic.ScopePrefixes = f.scopePrefix
		cfg.Issuers = []smartauth.IssuerConfig{ic}
	default:
		return nil, fmt.Errorf("--provider %q: want generic, cognito or keycloak", f.provider)
	}
	v, err := smartauth.NewValidator(cfg)
	if err != nil {
		return nil, err
	}
	return healthlake.New(v, hl)
}

// checkCombination refuses flag sets where one flag would decide the
// trusted issuer and another the key URL, and flags a provider ignores.
func (f *validateFlags) checkCombination() error {
	switch f.provider {
	case "cognito":
		if f.issuer != "" && (f.region != "" || f.userPoolID != "") {
			return errors.New("give --issuer or --region/--user-pool-id, not both")
		}
		if len(f.audiences) > 0 {
			return errors.New("--audience does not apply to cognito (access tokens have no aud): use --client-id")
		}
		if f.keycloakURL != "" || f.realm != "" {
			return errors.New("--keycloak-url and --realm need --provider keycloak")
		}
	case "keycloak":
		if f.issuer != "" && (f.keycloakURL != "" || f.realm != "") {
			return errors.New("give --issuer or --keycloak-url/--realm, not both")
		}
		if f.region != "" || f.userPoolID != "" {
			return errors.New("--region and --user-pool-id need --provider cognito")
		}
	default:
		if f.region != "" || f.userPoolID != "" || f.keycloakURL != "" || f.realm != "" {
			return fmt.Errorf("--region, --user-pool-id, --keycloak-url and --realm need --provider cognito or keycloak")
		}
	}
	return nil
}

func (f *validateFlags) issuerOverride() string {
	if f.region == "" && f.userPoolID == "" {
		return f.issuer
	}
	return ""
}

// resolveIssuer returns the issuer and its default JWKS URL.
func (f *validateFlags) resolveIssuer() (issuer, jwks string, err error) {
	switch f.provider {
	case "cognito":
		if f.issuer == "" {
			issuer, err = cognito.IssuerURL(f.region, f.userPoolID)
			if err != nil {
				return "", "", fmt.Errorf("give --issuer or --region and --user-pool-id: %w", err)
			}
		} else {
			issuer = f.issuer
		}
		return issuer, cognito.JWKSURL(issuer), nil
	case "keycloak":
		if f.issuer == "" {
			issuer, err = keycloak.IssuerURL(f.keycloakURL, f.realm, "")
			if err != nil {
				return "", "", fmt.Errorf("give --issuer or --keycloak-url and --realm: %w", err)
			}
		} else {
			issuer = f.issuer
		}
		return issuer, keycloak.JWKSURL(issuer), nil
	default:
		if f.issuer == "" {
			return "", "", errors.New("--issuer is required")
		}
		return f.issuer, strings.TrimSuffix(f.issuer, "/") + "/.well-known/jwks.json", nil
	}
}

func (f *validateFlags) keySet(jwksDefault string) (smartauth.KeySet, error) {
	if f.jwksFile != "" {
		if f.jwksURL != "" {
			return nil, errors.New("give --jwks-file or --jwks-url, not both")
		}
		return smartauth.NewStaticKeySetFromFile(f.jwksFile)
	}
	u := f.jwksURL
	if u == "" {
		u = jwksDefault
	}
	opts := []smartauth.RemoteOption{smartauth.WithRequestTimeout(f.timeout)}
	if f.insecureHTTP {
		opts = append(opts, smartauth.WithInsecureHTTP())
	}
	return smartauth.NewRemoteKeySet(u, opts...)
}

const validateUsage = `usage: smartauth validate [flags] [EVENT_FILE]

Reads a HealthLake IdP Lambda event (from EVENT_FILE or stdin), validates its
bearer token and prints the response JSON on stdout. Exit status: 0 when the
event was allowed or denied (the reason goes to stderr), 1 on an internal
fault (for example an unreachable JWKS), 2 on usage or configuration errors.

Flags:
`

func runValidate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f validateFlags
	f.register(fs)
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
	v, err := f.buildValidator()
	if err != nil {
		fmt.Fprintf(stderr, "smartauth validate: %v\n", err)
		return 2
	}
	if len(f.endpoints) == 0 && (f.provider == "cognito" || len(f.audiences) > 0) {
		fmt.Fprintln(stderr, "note: these tokens do not name the data store (client_id or --audience); pass --endpoint to check the event's datastoreEndpoint as the Lambda must")
	}
	var in io.Reader = stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		file, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "smartauth validate: %v\n", err)
			return 2
		}
		defer file.Close()
		in = file
	}
	raw, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		fmt.Fprintf(stderr, "smartauth validate: reading event: %v\n", err)
		return 2
	}
	_, d := v.AuthorizeJSON(ctx, raw)
	if d.Internal {
		fmt.Fprintf(stderr, "smartauth validate: internal fault (%s): %v\n", d.Reason, d.Err)
		return 1
	}
	out, err := json.MarshalIndent(d.Response, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "smartauth validate: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(out))
	if d.Allowed {
		fmt.Fprintf(stderr, "allowed: issuer=%s client=%s scopes=%d\n", d.Issuer, d.ClientID, d.Scopes)
	} else {
		fmt.Fprintf(stderr, "denied: reason=%s: %v\n", d.Reason, d.Err)
	}
	return 0
}
