package emulator

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// event is the HealthLake IdP Lambda event.
type event struct {
	DatastoreEndpoint    string `json:"datastoreEndpoint"`
	BearerToken          string `json:"bearerToken"`
	OperationName        string `json:"operationName"`
	DatastoreID          string `json:"datastoreId"`
	DatastoreTypeVersion string `json:"datastoreTypeVersion"`
	DatastoreName        string `json:"datastoreName"`
}

// grant is what the emulator keeps of a valid allow answer.
type grant struct {
	scopes  []scopes.Scope
	scope   string
	patient string // patient id (a "Patient/" prefix or URL stripped)
	// notes say which returned scope tokens grant nothing and why (invalid,
	// or not enabled by the Metadata's capabilities), for the diagnostics.
	notes []string
}

// notesText renders g's notes as a diagnostics suffix.
func (g grant) notesText() string {
	if len(g.notes) == 0 {
		return ""
	}
	return " (scopes that grant nothing: " + strings.Join(g.notes, "; ") + ")"
}

// roleARN is the form of an IAM role ARN.
var roleARN = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)

// checkAnswer applies the answer as HealthLake does and returns the grant, or a 401 refusal naming the failed check.
// wantRole, when set, is the iamRoleARN the answer must carry exactly.
func checkAnswer(body []byte, endpoint, wantRole string, now time.Time, parser scopes.Parser, caps capabilities) (grant, *refusal) {
	// Member names are matched case-sensitively (encoding/json would accept
	// "iamRoleArn" for iamRoleARN; HealthLake does not).
	top, err := decodeStrict(body, maxValues)
	if err != nil {
		return grant{}, unauthorized("answer", "the Lambda's answer is not the HealthLake response object {\"authPayload\":{…},\"iamRoleARN\":\"…\"}: "+strings.TrimPrefix(err.Error(), errBody.Error()+": "))
	}
	payload, ok := top["authPayload"].(map[string]any)
	if !ok {
		return grant{}, unauthorized("answer", "the Lambda's answer has no authPayload object")
	}
	switch v := payload["isAuthorized"].(type) {
	case bool:
		if !v {
			return grant{}, unauthorized("isAuthorized", "authPayload.isAuthorized is false: the Lambda denied the token (its log says which check failed; in process: lambda_reason in the emulator's log line)")
		}
	case string:
		if v != "true" {
			return grant{}, unauthorized("isAuthorized", fmt.Sprintf("authPayload.isAuthorized is %q: the Lambda denied the token (its log says which check failed; in process: lambda_reason in the emulator's log line)", shorten(v, 20)))
		}
	case nil:
		return grant{}, unauthorized("isAuthorized", "authPayload.isAuthorized is missing: the Lambda denied the request (its log says why; in process: lambda_reason in the emulator's log line)")
	default:
		return grant{}, unauthorized("isAuthorized", "authPayload.isAuthorized is neither true nor \"true\"")
	}
	role, _ := top["iamRoleARN"].(string)
	if role == "" {
		return grant{}, unauthorized("iamRoleARN", "the answer has no iamRoleARN string (exact casing): HealthLake needs the role it assumes")
	}
	if !roleARN.MatchString(role) {
		return grant{}, unauthorized("iamRoleARN", fmt.Sprintf("iamRoleARN %q is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)", shorten(role, 120)))
	}
	if wantRole != "" && role != wantRole {
		return grant{}, unauthorized("iamRoleARN", fmt.Sprintf("iamRoleARN %q is not the expected role %q (--role-arn): HealthLake would assume the returned role, which must be the data store's SMART role in its account", shorten(role, 120), wantRole))
	}
	p := struct {
		Aud, Scope, Patient *string
		Exp, Nbf            any
	}{Aud: str(payload["aud"]), Scope: str(payload["scope"]), Patient: str(payload["patient"]),
		Exp: payload["exp"], Nbf: payload["nbf"]}
	if p.Aud == nil {
		return grant{}, unauthorized("aud", fmt.Sprintf("authPayload.aud is %s: it must be a string equal to the event's datastoreEndpoint %q", missingOrKind(payload, "aud"), endpoint))
	}
	if *p.Aud != endpoint {
		return grant{}, unauthorized("aud", fmt.Sprintf("authPayload.aud %q does not equal the event's datastoreEndpoint %q byte for byte", shorten(*p.Aud, 200), endpoint))
	}
	exp, err := epoch(p.Exp)
	if err != nil {
		return grant{}, unauthorized("exp", "authPayload.exp "+err.Error())
	}
	if !now.Before(time.Unix(exp, 0)) {
		return grant{}, unauthorized("exp", fmt.Sprintf("authPayload.exp %d is not in the future (now %d)", exp, now.Unix()))
	}
	nbf, err := epoch(p.Nbf)
	if err != nil {
		return grant{}, unauthorized("nbf", "authPayload.nbf "+err.Error()+" (use the token's nbf, else iat)")
	}
	if now.Before(time.Unix(nbf, 0)) {
		return grant{}, unauthorized("nbf", fmt.Sprintf("authPayload.nbf %d is in the future (now %d)", nbf, now.Unix()))
	}
	if p.Scope == nil {
		return grant{}, unauthorized("scope", fmt.Sprintf("authPayload.scope is %s: it must be a space-separated string holding at least one FHIR resource scope", missingOrKind(payload, "scope")))
	}
	if *p.Scope == "" {
		return grant{}, unauthorized("scope", "authPayload.scope is empty: it must hold at least one FHIR resource scope")
	}
	granted, err := parser.ParseClaim(*p.Scope)
	g := grant{scope: *p.Scope}
	var pe *scopes.ParseError
	for _, e := range joined(err) {
		// Non-SMART tokens ("email", "aws.cognito.signin.user.admin") pass
		// through harmlessly; malformed SMART scopes are reported.
		if errors.As(e, &pe) && !pe.Unknown {
			g.notes = append(g.notes, fmt.Sprintf("%q is invalid: %s", shorten(pe.Scope, 120), pe.Reason))
		}
	}
	var notes []string
	g.scopes, notes = caps.admit(granted)
	g.notes = append(g.notes, notes...)
	if !slices.ContainsFunc(g.scopes, scopes.Scope.IsResource) {
		return grant{}, unauthorized("scope", fmt.Sprintf("authPayload.scope %q holds no valid FHIR resource scope (patient/, user/ or system/)%s", shorten(*p.Scope, 300), g.notesText()))
	}
	if p.Patient != nil {
		g.patient = patientID(*p.Patient)
	}
	return g, nil
}

// joined returns the errors an errors.Join holds, or err itself.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// missingOrKind says why payload[name] is not a string: "missing", or
// "not a string (an array)" and the like.
func missingOrKind(payload map[string]any, name string) string {
	v, ok := payload[name]
	if !ok {
		return "missing"
	}
	kind := "a number"
	switch v.(type) {
	case []any:
		kind = "an array"
	case map[string]any:
		kind = "an object"
	case bool:
		kind = "a boolean"
	case nil:
		kind = "null"
	}
	return "not a string (" + kind + ")"
}

// str returns a pointer to v when it is a string, nil otherwise.
func str(v any) *string {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	return &s
}

// epoch reads a required integer epoch-seconds member.
func epoch(v any) (int64, error) {
	switch n := v.(type) {
	case nil:
		return 0, fmt.Errorf("is missing (required, integer epoch seconds)")
	case jsontext.Value:
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s is not an integer (epoch seconds)", shorten(n.String(), 40))
		}
		return i, nil
	default:
		return 0, fmt.Errorf("%s is not an integer (epoch seconds)", shorten(fmt.Sprint(n), 40))
	}
}

// patientID reduces a patient claim ("456", "Patient/456" or an absolute
// URL ending in Patient/456) to the id; "" when it is not usable.
func patientID(v string) string {
	if v == "" {
		return ""
	}
	if strings.Contains(v, "/") {
		t, id := refTail(v)
		if t != "Patient" {
			return ""
		}
		v = id
	}
	if !idPattern.MatchString(v) {
		return ""
	}
	return v
}
