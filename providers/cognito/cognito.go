package cognito

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("cognito: invalid configuration")

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	poolPattern   = regexp.MustCompile(`^([a-z]{2}(-[a-z]+)+-[0-9]+)_[0-9A-Za-z]+$`)
)

// Config describes one Cognito user pool.
type Config struct {
	// Region and UserPoolID name the pool, e.g. "us-east-1" and
	// "us-east-1_AbCdEf123". The pool ID must start with the region.
	Region     string
	UserPoolID string
	// Issuer overrides the derived issuer, for Cognito emulators such as
	// cognito-local (http://127.0.0.1:9229/<pool>). Region and UserPoolID
	// are then optional. Production code leaves it empty.
	Issuer string
	// MultiRegionIssuer also trusts the second issuer format
	// https://issuer-cognito-idp.<region>.amazonaws.com/<pool>, with its own
	// key set. Hydrating it fails for pools that have not opted in, which the
	// validator reports but does not treat as fatal.
	MultiRegionIssuer bool
	// ClientIDs is the app-client allow-list checked against client_id.
	// Required: Cognito access tokens carry no aud.
	ClientIDs []string
	// ScopePrefixes are resource-server identifiers that prefix custom
	// scopes, e.g. "https://fhir.example.com" turns
	// "https://fhir.example.com/patient/*.read" into "patient/*.read".
	ScopePrefixes []string
	// GroupScopes maps cognito:groups names to SMART scopes added to the
	// token's own (for pools that model permissions as groups). Off when nil.
	GroupScopes map[string][]string
	// GroupScopeClients lists the app client IDs (client_id) whose tokens
	// receive GroupScopes. Required with GroupScopes: a practitioner signing
	// in to a third-party patient app must not receive practitioner scopes.
	GroupScopeClients []string
	// KeySet replaces the remote JWKS key set (tests, offline use).
	KeySet smartauth.KeySet
	// KeySetOptions configures the remote key set (HTTP client, timeouts).
	KeySetOptions smartauth.RemoteOptions
	// Check is an optional extra check on verified claims.
	Check func(*smartauth.Claims) error
}

// IssuerURL returns https://cognito-idp.<region>.amazonaws.com/<poolID>.
func IssuerURL(region, poolID string) (string, error) {
	if err := checkPool(region, poolID); err != nil {
		return "", err
	}
	return "https://cognito-idp." + region + ".amazonaws.com/" + poolID, nil
}

// MultiRegionIssuerURL returns
// https://issuer-cognito-idp.<region>.amazonaws.com/<poolID>.
func MultiRegionIssuerURL(region, poolID string) (string, error) {
	if err := checkPool(region, poolID); err != nil {
		return "", err
	}
	return "https://issuer-cognito-idp." + region + ".amazonaws.com/" + poolID, nil
}

// JWKSURL returns <issuer>/.well-known/jwks.json.
func JWKSURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/jwks.json"
}

func checkPool(region, poolID string) error {
	if !regionPattern.MatchString(region) {
		return fmt.Errorf("%w: region %q is not an AWS region name", ErrConfig, region)
	}
	m := poolPattern.FindStringSubmatch(poolID)
	if m == nil {
		return fmt.Errorf("%w: user pool ID %q is not <region>_<id>", ErrConfig, poolID)
	}
	if m[1] != region {
		return fmt.Errorf("%w: user pool ID %q is not in region %q", ErrConfig, poolID, region)
	}
	return nil
}

// New returns the issuer configurations for the pool: one, or two with
// MultiRegionIssuer. Put them in smartauth.Config.Issuers.
func New(cfg Config) ([]smartauth.IssuerConfig, error) {
	if len(cfg.ClientIDs) == 0 || slices.Contains(cfg.ClientIDs, "") {
		return nil, fmt.Errorf("%w: at least one app client ID is required (Cognito access tokens have no aud)", ErrConfig)
	}
	if slices.Contains(cfg.GroupScopeClients, "") {
		return nil, fmt.Errorf("%w: empty entry in GroupScopeClients", ErrConfig)
	}
	if len(cfg.GroupScopes) > 0 && len(cfg.GroupScopeClients) == 0 {
		return nil, fmt.Errorf("%w: GroupScopes needs GroupScopeClients (the app clients allowed to receive group scopes)", ErrConfig)
	}
	if cfg.Issuer != "" && cfg.MultiRegionIssuer {
		return nil, fmt.Errorf("%w: MultiRegionIssuer needs Region and UserPoolID, not Issuer", ErrConfig)
	}
	var issuers []string
	if cfg.Issuer != "" {
		if u, err := url.Parse(cfg.Issuer); err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: issuer %q is not an absolute URL", ErrConfig, cfg.Issuer)
		}
		issuers = append(issuers, strings.TrimSuffix(cfg.Issuer, "/"))
	} else {
		iss, err := IssuerURL(cfg.Region, cfg.UserPoolID)
		if err != nil {
			return nil, err
		}
		issuers = append(issuers, iss)
		if cfg.MultiRegionIssuer {
			mr, _ := MultiRegionIssuerURL(cfg.Region, cfg.UserPoolID)
			issuers = append(issuers, mr)
		}
	}
	// smartauth checks the token kind (token_use) before the audience policy,
	// so a Cognito ID token (no client_id) is reported as ErrTokenUse.
	tokenUse := smartauth.RequireTokenUse("access")
	audience := smartauth.ClientIDs(cfg.ClientIDs...)
	out := make([]smartauth.IssuerConfig, 0, len(issuers))
	for _, iss := range issuers {
		ks := cfg.KeySet
		if ks == nil {
			rks, err := smartauth.NewRemoteKeySet(JWKSURL(iss), cfg.KeySetOptions)
			if err != nil {
				return nil, fmt.Errorf("%w: key set: %w", ErrConfig, err)
			}
			ks = rks
		}
		ic := smartauth.IssuerConfig{
			Issuer:        iss,
			KeySet:        ks,
			Algorithms:    []string{"RS256"},
			Audience:      audience,
			TokenKind:     tokenUse,
			ScopePrefixes: cfg.ScopePrefixes,
			Check:         cfg.Check,
		}
		if len(cfg.GroupScopes) > 0 {
			ic.ExtraScopes = smartauth.MappedScopes(cfg.GroupScopeClients, clientID, cfg.GroupScopes, groups)
		}
		out = append(out, ic)
	}
	return out, nil
}

func groups(c *smartauth.Claims) []string { return c.Groups }

func clientID(c *smartauth.Claims) string { return c.ClientID }
