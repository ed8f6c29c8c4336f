package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// Problem is one reason HealthLake or a SMART client would not work with a
// Metadata document. String renders it as one line: what is wrong, why it
// matters, how to fix it.
type Problem struct {
	// Rule is a stable identifier of the failed rule, e.g.
	// "healthlake.required" or "smart.pkce-plain".
	Rule string
	// Member is the JSON member concerned; "" for the whole document.
	Member string
	// What is wrong, Why it matters and how to Fix it.
	What, Why, Fix string
}

// String returns "member: what; why; fix: fix".
func (p Problem) String() string {
	m := p.Member
	if m == "" {
		m = "Metadata"
	}
	return m + ": " + p.What + "; " + p.Why + "; fix: " + p.Fix
}

// Policy selects the rules Check applies.
type Policy struct {
	// Strategy is the data store's AuthorizationStrategy. Anything but
	// SMARTOnFHIR and SMARTOnFHIRV1 is itself a problem.
	Strategy Strategy
	// InsecureAllowLoopbackHTTP accepts http:// URLs whose host is
	// 127.0.0.1, ::1 or localhost (a test IdP on this machine). A document
	// given to HealthLake MUST NOT rely on it.
	InsecureAllowLoopbackHTTP bool
}

// Check returns the problems of doc (a Metadata JSON object, or a JSON string
// holding one, as in the HealthLake API and CloudFormation) for a data store
// with the given strategy; none means acceptable. Members Check does not know
// are allowed and not examined.
//
// Check does NOT fetch anything: it cannot tell whether the endpoints exist or
// whether the IdP supports what the document advertises.
func Check(doc []byte, strategy Strategy) []Problem {
	return Policy{Strategy: strategy}.Check(doc)
}

// Check is the package-level Check with p's settings.
func (p Policy) Check(doc []byte) []Problem {
	c := &checker{policy: p, str: map[string]string{}, arr: map[string][]string{}, bad: map[string]bool{}, badURL: map[string]bool{}}
	members, prob := decodeObject(doc)
	if prob != nil {
		return []Problem{*prob}
	}
	c.decodeMembers(members)
	c.required()
	c.urls()
	c.grantTypes()
	c.pkce()
	c.capabilityNames()
	c.strategy()
	c.capabilityNeeds()
	c.clientAuth()
	c.responseTypes()
	c.scopesSupported()
	cognito := c.cognito()
	keycloak := c.keycloak()
	if !cognito && !keycloak {
		c.sameHost()
	}
	return c.problems
}

// MaxDocument caps what Check, Build and Fetch take; real documents are a
// few KiB. Check reports a larger document as a "json" problem, so a caller
// reading a file needs to read only MaxDocument+1 bytes of it.
const MaxDocument = 1 << 20

// decodeObject parses doc as a JSON object, unwrapping one level of JSON
// string. Duplicate member names and invalid UTF-8 are rejected.
func decodeObject(doc []byte) (map[string]jsontext.Value, *Problem) {
	docProblem := func(what, why, fix string) *Problem {
		return &Problem{Rule: "json", What: what, Why: why, Fix: fix}
	}
	if len(doc) > MaxDocument {
		return nil, docProblem(fmt.Sprintf("document is more than %d bytes", MaxDocument),
			"a discovery document is a few KiB", "give the Metadata object itself")
	}
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return nil, docProblem("document is empty", "HealthLake needs a JSON object", "give the Metadata JSON object")
	}
	if doc[0] == '"' {
		var s string
		if err := json.Unmarshal(doc, &s); err != nil {
			return nil, docProblem("not a valid JSON string: "+err.Error(), "HealthLake parses Metadata as JSON",
				"give the Metadata object, or its compact form as one JSON string")
		}
		doc = bytes.TrimSpace([]byte(s))
		if len(doc) > 0 && doc[0] == '"' {
			return nil, docProblem("the JSON string holds another JSON string (encoded twice)",
				"HealthLake decodes Metadata once and would see a string, not an object",
				"quote the JSON object exactly once")
		}
	}
	if len(doc) == 0 || doc[0] != '{' {
		return nil, docProblem("not a JSON object", "HealthLake and SMART clients read Metadata as a JSON object",
			`give an object such as {"authorization_endpoint": ..., "capabilities": [...]}`)
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(doc, &m); err != nil {
		why, fix := syntaxWhy(doc, err)
		return nil, docProblem("not valid JSON: "+err.Error(), why, fix)
	}
	return m, nil
}

// syntaxWhy explains a JSON error of the object doc by its kind, found from
// the error's sentinels and the input itself (json/v2's error text is not
// stable).
func syntaxWhy(doc []byte, err error) (why, fix string) {
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		return "a member named twice is ambiguous: readers disagree on which value counts",
			"keep each member once"
	case !utf8.Valid(doc):
		return "JSON text must be UTF-8 (RFC 8259); HealthLake and clients may reject or alter the bytes",
			"save the document as UTF-8"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the document ends inside the object (truncated, or a bracket or quote is not closed)",
			"give the whole object; a linter such as `jq .` shows where it breaks off"
	case trailingData(doc):
		return "HealthLake parses exactly one JSON value, and more follows the object",
			"remove what follows the object's closing brace"
	default:
		return "HealthLake rejects or misreads a document that is not valid JSON",
			"fix the JSON syntax (a linter such as `jq .` shows where)"
	}
}

// trailingData reports whether doc starts with one complete JSON value
// (duplicate names allowed) that is followed by more than white space.
func trailingData(doc []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(doc), jsontext.AllowDuplicateNames(true))
	if _, err := dec.ReadValue(); err != nil {
		return false
	}
	_, err := dec.ReadToken()
	return !errors.Is(err, io.EOF)
}

// Members Check reads. Every URL member is also a string member.
var (
	urlMembers = []string{"issuer", "jwks_uri", "authorization_endpoint", "token_endpoint",
		"introspection_endpoint", "revocation_endpoint", "registration_endpoint", "management_endpoint",
		"userinfo_endpoint", "user_access_brand_bundle"}
	// issuerEndpoints are the endpoints an IdP serves under its issuer: a
	// Keycloak realm's path (keycloak), or any other IdP's origin (sameHost).
	issuerEndpoints = []string{"jwks_uri", "authorization_endpoint", "token_endpoint", "introspection_endpoint",
		"revocation_endpoint", "userinfo_endpoint"}
	arrayMembers = []string{"grant_types_supported", "code_challenge_methods_supported", "capabilities",
		"scopes_supported", "response_types_supported", "token_endpoint_auth_methods_supported",
		"token_endpoint_auth_signing_alg_values_supported"}
)

type checker struct {
	policy   Policy
	problems []Problem
	str      map[string]string   // string members with a non-empty value
	arr      map[string][]string // array-of-string members
	bad      map[string]bool     // present with a wrong type: reported once
	badURL   map[string]bool     // URL members with a smart.url problem
	caps     map[string]bool     // the capabilities, as a set
}

func (c *checker) add(rule, member, what, why, fix string) {
	c.problems = append(c.problems, Problem{Rule: rule, Member: member, What: what, Why: why, Fix: fix})
}

func (c *checker) present(member string) bool {
	_, s := c.str[member]
	_, a := c.arr[member]
	return s || a || c.bad[member]
}

func (c *checker) has(member, value string) bool { return slices.Contains(c.arr[member], value) }

func (c *checker) capability(name string) bool { return c.caps[name] }

// unique returns the distinct values of a in order: problems are reported
// once per value, and no rule is quadratic in a hostile document.
func unique(a []string) []string {
	seen := make(map[string]bool, len(a))
	out := make([]string, 0, len(a))
	for _, v := range a {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func (c *checker) decodeMembers(m map[string]jsontext.Value) {
	for _, name := range urlMembers {
		v, ok := m[name]
		if !ok {
			continue
		}
		var s string
		if v.Kind() != '"' || json.Unmarshal(v, &s) != nil {
			c.bad[name] = true
			c.add("type", name, "is not a JSON string", "clients read it as a URL", "give the URL as a string")
			continue
		}
		if s == "" {
			c.bad[name] = true
			c.add("type", name, "is empty", "clients would use an empty URL", "give the URL, or leave the member out")
			continue
		}
		c.str[name] = s
	}
	for _, name := range arrayMembers {
		v, ok := m[name]
		if !ok {
			continue
		}
		var a []string
		if v.Kind() != '[' || json.Unmarshal(v, &a) != nil {
			c.bad[name] = true
			c.add("type", name, "is not an array of strings", "HealthLake and SMART clients read it as one",
				`write it as ["...", "..."]`)
			continue
		}
		if slices.Contains(a, "") {
			c.bad[name] = true
			c.add("type", name, "contains an empty string or null", "clients cannot use an empty value", "remove it")
			continue
		}
		c.arr[name] = a
	}
	c.caps = make(map[string]bool, len(c.arr["capabilities"]))
	for _, v := range c.arr["capabilities"] {
		c.caps[v] = true
	}
}

// required: HealthLake's API reference lists these members as required.
func (c *checker) required() {
	for _, r := range []struct{ member, fix string }{
		{"authorization_endpoint", "add the IdP's OAuth authorize URL"},
		{"token_endpoint", "add the IdP's OAuth token URL"},
		{"grant_types_supported", `add ["authorization_code", "client_credentials"] (the grants your clients use)`},
		{"capabilities", `add the SMART capabilities, e.g. ["launch-standalone", "client-confidential-symmetric", "permission-v2"]`},
		{"code_challenge_methods_supported", `add ["S256"]`},
	} {
		if !c.present(r.member) {
			c.add("healthlake.required", r.member, "is missing",
				"HealthLake requires it in Metadata and SMART clients cannot authorize without it", r.fix)
		}
	}
}

func (c *checker) urls() {
	for _, name := range urlMembers {
		s, ok := c.str[name]
		if !ok {
			continue
		}
		if what := c.urlProblem(name, s); what != "" {
			c.badURL[name] = true
			c.add("smart.url", name, fmt.Sprintf("%q %s", s, what),
				"SMART requires absolute https URLs (tokens and client secrets travel over them)",
				"use the IdP's public https URL")
		}
	}
}

// urlProblem says what is wrong with URL member name, or "".
func (c *checker) urlProblem(name, s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Host == "" || !u.IsAbs():
		return "is not an absolute URL"
	case u.User != nil:
		return "has user information"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "has a fragment"
	case name == "issuer" && u.RawQuery != "":
		return "has a query (an OpenID issuer has none)"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && c.policy.InsecureAllowLoopbackHTTP && isLoopback(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return "is not https"
	}
	return "has scheme " + u.Scheme + ", not https"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *checker) grantTypes() {
	g, ok := c.arr["grant_types_supported"]
	if !ok {
		return
	}
	if !slices.Contains(g, GrantAuthorizationCode) && !slices.Contains(g, GrantClientCredentials) {
		c.add("healthlake.grant-types", "grant_types_supported", "has neither authorization_code nor client_credentials",
			"HealthLake requires at least one of them (app launch, backend services)",
			"list the grants your clients use")
	}
	for _, t := range unique(g) {
		switch t {
		case GrantAuthorizationCode, GrantClientCredentials, "refresh_token":
		case "implicit", "password":
			c.add("oauth.insecure-grant", "grant_types_supported", fmt.Sprintf("advertises %q", t),
				"the OAuth 2.0 Security BCP (RFC 9700) forbids it and SMART never uses it",
				"remove it (and disable the flow in the IdP)")
		default:
			c.add("smart.grant-type", "grant_types_supported", fmt.Sprintf("advertises %q", t),
				"SMART App Launch 2.2 and HealthLake name only authorization_code and client_credentials (and refresh_token); apps would try a flow HealthLake does not expect",
				"remove it")
		}
	}
}

func (c *checker) pkce() {
	m, ok := c.arr["code_challenge_methods_supported"]
	if !ok {
		return
	}
	if !slices.Contains(m, "S256") {
		c.add("healthlake.s256", "code_challenge_methods_supported", `does not contain "S256"`,
			"HealthLake and SMART require PKCE with S256", `set it to ["S256"] (the IdP must enforce PKCE S256)`)
	}
	if slices.Contains(m, "plain") {
		c.add("smart.pkce-plain", "code_challenge_methods_supported", `contains "plain"`,
			"SMART App Launch 2.2 forbids it: a plain challenge gives no protection once intercepted",
			`remove "plain" (and disallow it in the IdP)`)
	}
}

func (c *checker) capabilityNames() {
	all := c.arr["capabilities"]
	names := unique(all)
	if len(names) < len(all) {
		c.add("smart.capability-duplicate", "capabilities", fmt.Sprintf("lists %d names more than once", len(all)-len(names)),
			"a capability is a set member", "list each once")
	}
	for _, name := range names {
		switch {
		case renamedCapabilities[name] != "":
			c.add("smart.capability-unknown", "capabilities", fmt.Sprintf("%q is the SMART 1.0 name", name),
				"SMART App Launch 2.2 clients look for the new name", fmt.Sprintf("use %q", renamedCapabilities[name]))
		case !capabilities[name]:
			c.add("smart.capability-unknown", "capabilities", fmt.Sprintf("%q is not a SMART App Launch 2.2 capability", name),
				"clients ignore it, so the feature it was meant to announce stays invisible (names are case-sensitive)",
				"fix the spelling or remove it")
		}
	}
}

func (c *checker) strategy() {
	if c.policy.Strategy != SMARTOnFHIR && c.policy.Strategy != SMARTOnFHIRV1 {
		c.add("healthlake.strategy", "", fmt.Sprintf("authorization strategy %q is not SMART_ON_FHIR or SMART_ON_FHIR_V1", c.policy.Strategy),
			"only the SMART strategies use Metadata", "choose SMART_ON_FHIR (v1 and v2 scopes) or SMART_ON_FHIR_V1")
		return
	}
	if _, ok := c.arr["capabilities"]; !ok {
		return
	}
	switch c.policy.Strategy {
	case SMARTOnFHIR:
		if !c.capability(CapPermissionV2) {
			c.add("healthlake.permission-v2", "capabilities", `lacks "permission-v2"`,
				"a SMART_ON_FHIR data store honours v2 scopes (patient/*.rs) only when it is advertised",
				`add "permission-v2", or use strategy SMART_ON_FHIR_V1 for v1 scopes only`)
		}
		if c.capability(CapPermissionV22) && !c.capability(CapPermissionV2) {
			c.add("healthlake.permission-v2.2", "capabilities", `has "permission-v2.2" without "permission-v2"`,
				"granular v2.2 scopes are v2 scopes", `add "permission-v2"`)
		}
	case SMARTOnFHIRV1:
		if !c.capability(CapPermissionV1) {
			c.add("healthlake.permission-v1", "capabilities", `lacks "permission-v1" on a SMART_ON_FHIR_V1 data store`,
				"that strategy accepts v1 scopes only, and without a permission version apps cannot tell which scopes to request",
				`add "permission-v1"`)
		}
		for _, name := range []string{CapPermissionV2, CapPermissionV22} {
			if c.capability(name) {
				c.add("healthlake.v1-permission", "capabilities", fmt.Sprintf("has %q on a SMART_ON_FHIR_V1 data store", name),
					"that strategy rejects v2 scopes, so apps that follow the advertisement fail",
					fmt.Sprintf("remove %q, or use strategy SMART_ON_FHIR", name))
			}
		}
	}
}

// capabilityNeeds: capabilities that only make sense with other members.
func (c *checker) capabilityNeeds() {
	if c.capability(CapSSOOpenIDConnect) {
		for _, m := range []string{"issuer", "jwks_uri"} {
			if !c.present(m) {
				c.add("smart.sso-openid-connect", m, `is missing while capabilities has "sso-openid-connect"`,
					"SMART App Launch 2.2 requires it so apps can validate the id_token",
					fmt.Sprintf(`add the IdP's %s (from its OpenID discovery document), or remove "sso-openid-connect"`, m))
			}
		}
	}
	if _, ok := c.arr["grant_types_supported"]; ok && !c.has("grant_types_supported", GrantAuthorizationCode) {
		for _, name := range []string{CapLaunchEHR, CapLaunchStandalone, CapClientPublic, CapAuthorizePost, CapSSOOpenIDConnect} {
			if c.capability(name) {
				c.add("smart.needs-authorization-code", "grant_types_supported",
					fmt.Sprintf("lacks authorization_code while capabilities has %q", name),
					"that capability is an authorization code flow",
					fmt.Sprintf("add authorization_code, or remove %q", name))
			}
		}
	}
	for _, name := range unique(c.arr["capabilities"]) {
		var launch string
		switch {
		case strings.HasPrefix(name, "context-ehr-"):
			launch = CapLaunchEHR
		case strings.HasPrefix(name, "context-standalone-"):
			launch = CapLaunchStandalone
		default:
			continue
		}
		if !c.capability(launch) {
			c.add("smart.context-needs-launch", "capabilities", fmt.Sprintf("has %q without %q", name, launch),
				"a launch context exists only in that launch mode", fmt.Sprintf("add %q, or remove %q", launch, name))
		}
	}
}

func (c *checker) clientAuth() {
	const methods = "token_endpoint_auth_methods_supported"
	_, listed := c.arr[methods]
	if c.capability(CapClientConfidentialAsymmetric) && !c.has(methods, "private_key_jwt") && !c.bad[methods] {
		c.add("smart.asymmetric-auth", methods, `lacks "private_key_jwt" while capabilities has "client-confidential-asymmetric"`,
			"asymmetric clients authenticate with a private_key_jwt assertion (absent means client_secret_basic only)",
			`add "private_key_jwt" (if the IdP supports it), or remove "client-confidential-asymmetric"`)
	}
	if algs, ok := c.arr["token_endpoint_auth_signing_alg_values_supported"]; ok && c.capability(CapClientConfidentialAsymmetric) &&
		!slices.Contains(algs, "RS384") && !slices.Contains(algs, "ES384") {
		c.add("smart.asymmetric-alg", "token_endpoint_auth_signing_alg_values_supported", "has neither RS384 nor ES384",
			"SMART asymmetric client authentication requires servers to support them", "add RS384 and ES384")
	}
	if listed && c.capability(CapClientConfidentialSymmetric) &&
		!c.has(methods, "client_secret_basic") && !c.has(methods, "client_secret_post") {
		c.add("smart.symmetric-auth", methods, `has neither "client_secret_basic" nor "client_secret_post" while capabilities has "client-confidential-symmetric"`,
			"symmetric clients authenticate with a client secret", `add "client_secret_basic", or remove "client-confidential-symmetric"`)
	}
}

func (c *checker) responseTypes() {
	rt, ok := c.arr["response_types_supported"]
	if ok && c.has("grant_types_supported", GrantAuthorizationCode) && !slices.Contains(rt, "code") {
		c.add("oauth.response-type-code", "response_types_supported", `lacks "code" while grant_types_supported has authorization_code`,
			"apps request response_type=code", `add "code"`)
	}
}

func (c *checker) scopesSupported() {
	for _, s := range unique(c.arr["scopes_supported"]) {
		if !strings.HasPrefix(s, "patient/") && !strings.HasPrefix(s, "user/") && !strings.HasPrefix(s, "system/") {
			continue // identity, launch and IdP-specific scopes are not SMART resource scopes
		}
		sc, err := scopes.Parser{AnyResourceType: true}.Parse(s)
		if err != nil {
			c.add("smart.scope-invalid", "scopes_supported", fmt.Sprintf("%q is not a valid SMART resource scope", s),
				"HealthLake ignores or rejects it", "write it as context/Type.permissions, e.g. patient/Observation.rs")
			continue
		}
		switch {
		case c.policy.Strategy == SMARTOnFHIRV1 && sc.Version == scopes.V2:
			c.add("healthlake.v1-scope", "scopes_supported", fmt.Sprintf("%q is a SMART v2 scope on a SMART_ON_FHIR_V1 data store", s),
				"that strategy accepts v1 scopes only (read, write, *)", "use the v1 form or strategy SMART_ON_FHIR")
		case sc.IsGranular() && !c.capability(CapPermissionV22):
			c.add("healthlake.granular-scope", "scopes_supported", fmt.Sprintf(`%q is a granular (v2.2) scope but capabilities lacks "permission-v2.2"`, s),
				"HealthLake silently ignores granular scopes without it", `add "permission-v2.2" (strategy SMART_ON_FHIR)`)
		}
	}
}

var (
	cognitoIssuerHost = regexp.MustCompile(`^(?:issuer-)?cognito-idp\.([a-z0-9-]+)\.amazonaws\.com$`)
	cognitoDomainHost = regexp.MustCompile(`^[a-z0-9-]+\.auth(?:-fips)?\.([a-z0-9-]+)\.amazoncognito\.com$`)
	cognitoPoolPath   = regexp.MustCompile(`^/(([a-z]{2}(?:-[a-z]+)+-[0-9]+)_[0-9A-Za-z]+)$`)
	keycloakRealmPath = regexp.MustCompile(`/realms/[^/]+/?$`)
)

func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func pathOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Path
}

// cognito: rules for a Cognito user pool, recognised by its issuer
// (cognito-idp.<region>.amazonaws.com) or its hosted UI domain. It reports
// whether it recognised one.
func (c *checker) cognito() bool {
	issuer := c.str["issuer"]
	im := cognitoIssuerHost.FindStringSubmatch(hostOf(issuer))
	dm := cognitoDomainHost.FindStringSubmatch(hostOf(c.str["authorization_endpoint"]))
	if im == nil && dm == nil {
		return false
	}
	if im == nil && issuer != "" && !c.badURL["issuer"] {
		c.add("cognito.issuer", "issuer", fmt.Sprintf("%q is not a Cognito user pool issuer while authorization_endpoint is a Cognito domain", issuer),
			"tokens of that pool carry iss https://cognito-idp.<region>.amazonaws.com/<user pool ID>; another issuer (and its jwks_uri) is not the pool's",
			"use the pool's issuer and <issuer>/.well-known/jwks.json")
	}
	for _, m := range []string{"introspection_endpoint", "registration_endpoint", "management_endpoint"} {
		if c.present(m) {
			c.add("cognito.no-endpoint", m, "is advertised but Amazon Cognito has no such endpoint",
				"apps that use it get errors", "remove it")
		}
	}
	if c.capability(CapClientConfidentialAsymmetric) || c.has("token_endpoint_auth_methods_supported", "private_key_jwt") {
		c.add("cognito.private-key-jwt", "capabilities", "advertises asymmetric client authentication (private_key_jwt)",
			"Amazon Cognito app clients authenticate with a client secret only",
			`remove "client-confidential-asymmetric" and private_key_jwt; use "client-confidential-symmetric"`)
	}
	if im != nil {
		pm := cognitoPoolPath.FindStringSubmatch(pathOf(issuer))
		switch {
		case pm == nil:
			c.add("cognito.issuer", "issuer", fmt.Sprintf("%q is not https://cognito-idp.<region>.amazonaws.com/<user pool ID>", issuer),
				"it must equal the iss claim of the pool's tokens", "use the pool's issuer without a trailing slash")
		case pm[2] != im[1]:
			c.add("cognito.issuer", "issuer", fmt.Sprintf("user pool %q is not in region %q", pm[1], im[1]),
				"it must equal the iss claim of the pool's tokens", "use the region the pool ID starts with")
		}
		if j, ok := c.str["jwks_uri"]; ok && j != strings.TrimSuffix(issuer, "/")+"/.well-known/jwks.json" {
			c.add("cognito.jwks-uri", "jwks_uri", fmt.Sprintf("%q is not <issuer>/.well-known/jwks.json", j),
				"the pool's signing keys are published there", fmt.Sprintf("use %q", strings.TrimSuffix(issuer, "/")+"/.well-known/jwks.json"))
		}
		if dm != nil && dm[1] != im[1] {
			c.add("cognito.hosted-ui", "authorization_endpoint", fmt.Sprintf("hosted UI domain is in region %q but the issuer in %q", dm[1], im[1]),
				"a user pool's domain is in the pool's region", "use the pool's own domain")
		}
	}
	authHost := hostOf(c.str["authorization_endpoint"])
	if cognitoIssuerHost.MatchString(authHost) {
		authHost = "" // reported below; comparing hosts with it says nothing more
	}
	for _, e := range []struct{ member, path string }{
		{"authorization_endpoint", "/oauth2/authorize"},
		{"token_endpoint", "/oauth2/token"},
		{"revocation_endpoint", "/oauth2/revoke"},
	} {
		s, ok := c.str[e.member]
		if !ok {
			continue
		}
		h := hostOf(s)
		switch {
		case cognitoIssuerHost.MatchString(h):
			c.add("cognito.hosted-ui", e.member, fmt.Sprintf("%q is on the cognito-idp API host", s),
				"OAuth endpoints live on the user pool domain (https://<prefix>.auth.<region>.amazoncognito.com or a custom domain)",
				"use https://<domain>"+e.path)
		case pathOf(s) != e.path:
			c.add("cognito.hosted-ui", e.member, fmt.Sprintf("%q does not end in %s", s, e.path),
				"that is the Cognito endpoint path", "use https://<domain>"+e.path)
		case e.member != "authorization_endpoint" && authHost != "" && h != authHost:
			c.add("cognito.hosted-ui", e.member, fmt.Sprintf("host %q differs from the authorization_endpoint's %q", h, authHost),
				"a user pool serves its OAuth endpoints from one domain", "use the same domain")
		}
	}
	return true
}

// keycloak: every realm endpoint lives under the realm's issuer, which has
// no trailing slash. A Keycloak realm is recognised by its issuer's path
// (.../realms/<name>, with or without a slash). It reports whether it
// recognised one (an issuer with a smart.url problem counts: it is reported).
func (c *checker) keycloak() bool {
	issuer, ok := c.str["issuer"]
	if !ok || !keycloakRealmPath.MatchString(pathOf(issuer)) || cognitoIssuerHost.MatchString(hostOf(issuer)) {
		return false
	}
	if c.badURL["issuer"] {
		return true
	}
	if strings.HasSuffix(issuer, "/") {
		c.add("keycloak.issuer", "issuer", fmt.Sprintf("%q ends in a slash", issuer),
			"a Keycloak realm's iss claim has none, and OpenID clients compare the issuer character for character",
			fmt.Sprintf("use %q", strings.TrimSuffix(issuer, "/")))
	}
	prefix := strings.TrimSuffix(issuer, "/") + "/protocol/openid-connect/"
	for _, m := range issuerEndpoints {
		if s, ok := c.str[m]; ok && !c.badURL[m] && !strings.HasPrefix(s, prefix) {
			c.add("keycloak.realm", m, fmt.Sprintf("%q is not under %s", s, prefix),
				"a Keycloak realm serves its endpoints under its issuer; another host or realm means keys and tokens that do not match",
				"copy it from the realm's /.well-known/openid-configuration")
		}
	}
	return true
}

// sameHost: for an IdP that is neither Cognito nor Keycloak, the endpoints
// are served from the issuer's scheme and host (as Okta, Entra ID, Auth0 and
// Ping do): one on another host is a copy-paste error or another IdP's, and a
// jwks_uri elsewhere lets that host sign id_tokens apps accept.
func (c *checker) sameHost() {
	issuer, ok := c.str["issuer"]
	if !ok || c.badURL["issuer"] {
		return
	}
	iu, err := url.Parse(issuer)
	if err != nil {
		return
	}
	for _, m := range issuerEndpoints {
		s, ok := c.str[m]
		if !ok || c.badURL[m] {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (strings.EqualFold(u.Scheme, iu.Scheme) && strings.EqualFold(u.Host, iu.Host)) {
			continue
		}
		c.add("oidc.same-host", m, fmt.Sprintf("%q is not on the issuer's host %s", s, iu.Host),
			"an IdP serves its endpoints from its issuer's origin; another host is another IdP's (a jwks_uri there signs id_tokens apps would accept)",
			"copy it from <issuer>/.well-known/openid-configuration")
	}
}
