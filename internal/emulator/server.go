package emulator

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/healthlake-smart/smartauth-go/scopes"
)

// DefaultDatastoreID is the data store id served when Config.DatastoreID is
// empty; it matches the test realm's audience (testdata/keycloak).
const DefaultDatastoreID = "0123456789abcdef0123456789abcdef"

// DefaultInvokeTimeout is HealthLake's limit for the IdP Lambda.
const DefaultInvokeTimeout = time.Second

// MaxInvokeTimeout is the longest InvokeTimeout accepted; the served
// connections' read and write timeouts are derived from it (timeouts).
const MaxInvokeTimeout = time.Minute

// DefaultBodyTimeout is the default Config.BodyTimeout.
const DefaultBodyTimeout = 30 * time.Second

// headerTimeout bounds reading a request's headers.
const headerTimeout = 10 * time.Second

// writeTimeout is the time a response has beyond the invocation and the
// body.
const writeTimeout = 30 * time.Second

// DefaultMaxBody caps request bodies (256 KiB: FHIR resources are rarely
// larger; the Postman collection's are under 1 KiB).
const DefaultMaxBody = 256 << 10

// DefaultMaxStoreBytes caps the compact JSON bytes of the store's
// resources, seed included.
const DefaultMaxStoreBytes = 64 << 20

// maxSearchBytes caps the resources' bytes in one search response; a
// search beyond it is cut short and says so in an outcome entry.
const maxSearchBytes = 8 << 20

// DefaultMaxResources caps the number of resources in the store.
const DefaultMaxResources = 10_000

// defaultSeed is the embedded synthetic seed Bundle (a few patients,
// practitioners, observations, conditions and an encounter; nothing real).
//
//go:embed testdata/seed.json
var defaultSeed []byte

// Config configures a Server.
type Config struct {
	// Invoker runs the IdP Lambda. Required.
	Invoker Invoker
	// DatastoreEndpoint is the event's datastoreEndpoint and the aud the
	// answer must echo, with the trailing "/", e.g.
	// "http://127.0.0.1:8080/datastore/<id>/r4/". Required. It need not be
	// this server's URL: use the endpoint your tokens name.
	DatastoreEndpoint string
	// BaseURL is the served FHIR base URL with the trailing "/", used in
	// Location headers and Bundle links (default DatastoreEndpoint).
	BaseURL string
	// DatastoreID is the id in the served path /datastore/<id>/r4/
	// (default DefaultDatastoreID).
	DatastoreID string
	// DatastoreName is sent as the event's datastoreName (default "smartauth-emulate").
	DatastoreName string
	// Metadata is the SMART configuration JSON object served at
	// .well-known/smart-configuration. Required.
	Metadata []byte
	// Seed is the Bundle the store starts with; nil means the embedded synthetic seed.
	Seed []byte
	// InvokeTimeout bounds each invocation (default DefaultInvokeTimeout, at
	// most MaxInvokeTimeout).
	InvokeTimeout time.Duration
	// BodyTimeout bounds reading a request body, counted from the IdP
	// answer: the body is read only for an authenticated request (default
	// DefaultBodyTimeout). A body not read in time gets 408.
	BodyTimeout time.Duration
	// MaxBody caps request bodies in bytes (default DefaultMaxBody).
	MaxBody int64
	// MaxResources caps the resources in the store, seed included
	// (default DefaultMaxResources); a create beyond it gets 507.
	MaxResources int
	// MaxStoreBytes caps the stored resources' compact JSON bytes, seed
	// included (default DefaultMaxStoreBytes); a create or update beyond
	// it gets 507. Request bodies are also capped at maxValues JSON values,
	// so memory stays near the stored bytes.
	MaxStoreBytes int64
	// RoleARN, when set, is the iamRoleARN the answer must carry exactly
	// (401 otherwise); when empty only its form is checked.
	RoleARN string
	// AnyResourceType makes scope parsing accept non-R4 type names.
	AnyResourceType bool
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
	// Now is the clock for exp/nbf checks and meta.lastUpdated (default time.Now).
	Now func() time.Time
}

// Server is the HealthLake stand-in; it implements http.Handler.
type Server struct {
	cfg      Config
	base     string // "/datastore/<id>/r4/"
	metadata map[string]any
	store    *store
	parser   scopes.Parser
	caps     capabilities
	refs     localRefs
	// maxSearch caps the resources' bytes in one search response
	// (maxSearchBytes; tests lower it).
	maxSearch int
	// beforeWrite, when set (tests only), runs between the authorization
	// of an update or delete and its store write.
	beforeWrite func()
}

// New checks cfg and loads the seed.
func New(cfg Config) (*Server, error) {
	if cfg.Invoker == nil {
		return nil, errors.New("emulator: Invoker is required")
	}
	if cfg.DatastoreID == "" {
		cfg.DatastoreID = DefaultDatastoreID
	}
	if !idPattern.MatchString(cfg.DatastoreID) || strings.Contains(cfg.DatastoreID, ".") {
		return nil, fmt.Errorf("emulator: datastore id %q: want letters, digits and -", cfg.DatastoreID)
	}
	if u, err := url.Parse(cfg.DatastoreEndpoint); err != nil || u.Host == "" || !strings.HasSuffix(cfg.DatastoreEndpoint, "/") {
		return nil, fmt.Errorf("emulator: datastore endpoint %q: want an absolute URL ending in /", cfg.DatastoreEndpoint)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = cfg.DatastoreEndpoint
	}
	if cfg.DatastoreName == "" {
		cfg.DatastoreName = "smartauth-emulate"
	}
	if cfg.InvokeTimeout <= 0 {
		cfg.InvokeTimeout = DefaultInvokeTimeout
	}
	if cfg.InvokeTimeout > MaxInvokeTimeout {
		return nil, fmt.Errorf("emulator: invoke timeout %s: at most %s (HealthLake allows 1s)", cfg.InvokeTimeout, MaxInvokeTimeout)
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxResources <= 0 {
		cfg.MaxResources = DefaultMaxResources
	}
	if cfg.MaxStoreBytes <= 0 {
		cfg.MaxStoreBytes = DefaultMaxStoreBytes
	}
	if cfg.RoleARN != "" && !roleARN.MatchString(cfg.RoleARN) {
		return nil, fmt.Errorf("emulator: role ARN %q: want arn:aws:iam::<12 digits>:role/<name>", cfg.RoleARN)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	md, err := ParseMetadata(cfg.Metadata)
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == nil {
		seed = defaultSeed
	}
	st, err := loadSeed(seed, cfg.Now(), cfg.MaxResources, cfg.MaxStoreBytes)
	if err != nil {
		return nil, err
	}
	refs := localRefs{cfg.DatastoreEndpoint}
	if b := strings.TrimSuffix(cfg.BaseURL, "/") + "/"; b != cfg.DatastoreEndpoint {
		refs = append(refs, b)
	}
	return &Server{cfg: cfg, base: "/datastore/" + cfg.DatastoreID + "/r4/", metadata: md, store: st,
		parser: scopes.Parser{AnyResourceType: cfg.AnyResourceType}, caps: capabilitiesOf(md), refs: refs, maxSearch: maxSearchBytes}, nil
}

// ParseMetadata reads a SMART configuration: a JSON object, or a JSON string
// holding one (the form of the CloudFormation Metadata property), strictly
// (encoding/json/v2 semantics: valid UTF-8, no duplicate names).
func ParseMetadata(b []byte) (map[string]any, error) {
	var s string
	if json.Unmarshal(b, &s) == nil {
		b = []byte(s)
	}
	md, err := decodeStrict(b, 0)
	if err != nil {
		return nil, fmt.Errorf("emulator: metadata: %w", err)
	}
	return md, nil
}

// BasePath returns the FHIR base path, "/datastore/<id>/r4/".
func (s *Server) BasePath() string { return s.base }

// Serve serves HTTP on ln until ctx is cancelled, then shuts down gracefully
// (in-flight requests get up to 5 s).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.httpServer()
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-done
	return err
}

// httpServer returns the http.Server that Serve runs. The body is read
// after the IdP answer, so the read timeout covers the headers, the
// invocation and the body; handle then sets the body's own deadline
// (BodyTimeout from the answer). The write timeout also covers the body, so
// that the invocation never outlives the response.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       headerTimeout + s.cfg.InvokeTimeout + s.cfg.BodyTimeout,
		WriteTimeout:      s.cfg.InvokeTimeout + s.cfg.BodyTimeout + writeTimeout,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
}

// logLine accumulates what the request's single log line reports.
type logLine struct {
	operation string
	decision  string // "allow", "deny" or "" (no authorization involved)
	reason    string
	patient   string
	// lambdaReason and lambdaDetail are what an in-process Lambda with
	// LambdaLogger logged about its decision.
	lambdaReason, lambdaDetail string
}

// ServeHTTP routes one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	var ll logLine
	defer func() {
		if v := recover(); v != nil {
			ll.decision, ll.reason = "error", "panic"
			if !rec.wrote {
				writeJSON(rec, http.StatusInternalServerError, fhirJSON, outcome("fatal", "exception", "internal", "internal error"))
			}
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", shorten(r.URL.Path, 200)),
			slog.Int("status", rec.status), slog.String("operation", ll.operation),
			slog.String("decision", ll.decision), slog.String("reason", ll.reason),
			slog.Duration("latency", time.Since(start)),
		}
		if ll.patient != "" {
			attrs = append(attrs, slog.String("patient", ll.patient))
		}
		if ll.lambdaReason != "" {
			attrs = append(attrs, slog.String("lambda_reason", ll.lambdaReason))
		}
		if ll.lambdaDetail != "" {
			attrs = append(attrs, slog.String("lambda_detail", ll.lambdaDetail))
		}
		s.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "emulate request", attrs...)
	}()
	if ref := s.handle(rec, r, &ll); ref != nil {
		ll.reason = ref.check
		if ref.logReason != "" {
			ll.reason = ref.logReason
		}
		if ref.status == http.StatusUnauthorized || ref.status == http.StatusForbidden || ref.logReason != "" {
			ll.decision = "deny"
		}
		ref.write(rec)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// handle serves one request or returns the refusal to write.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, ll *logLine) *refusal {
	// The escaped path, as sent: an encoded "/" or "?" must not turn into
	// a path separator or a query after the scope decision.
	rel, ok := strings.CutPrefix(r.URL.EscapedPath(), s.base)
	if !ok {
		return &refusal{status: http.StatusNotFound, code: "not-found", check: "path",
			msg: fmt.Sprintf("not a FHIR path of this data store: the base is %s", s.base)}
	}
	if rel == ".well-known/smart-configuration" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return &refusal{status: http.StatusMethodNotAllowed, code: "not-supported", check: "method", msg: "use GET"}
		}
		writeJSON(w, http.StatusOK, "application/json", s.metadata)
		return nil
	}
	// HealthLake authenticates first: a FHIR request without a well-formed
	// bearer token gets 401 whatever its path, method or body.
	token, ref := bearer(r)
	if ref != nil {
		return ref
	}
	if low := strings.ToLower(rel); strings.Contains(low, "%2f") || strings.Contains(low, "%3f") {
		return badRequest("path", "the path holds an encoded / or ?: FHIR paths are Type[/id[/...]]")
	}
	rel, err := url.PathUnescape(rel)
	if err != nil {
		return badRequest("path", "the path is not validly percent-encoded")
	}
	if strings.HasPrefix(rel, "/") {
		// scopes.ParseRequest would drop the leading "/": base//Patient
		// must not be served as base/Patient.
		return badRequest("path", "the path has an empty segment after the base: FHIR paths are Type[/id[/...]]")
	}
	path := rel
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	req, err := scopes.ParseRequest(r.Method, path)
	if err != nil {
		return badRequest("request", "not a FHIR REST request the scope rules recognise: "+strings.TrimPrefix(err.Error(), "scopes: "))
	}
	ll.operation = operationName(req)
	// The token is checked before the body: the event needs only the
	// operation, so a body is read (size, Content-Type, form) only for an
	// authenticated request.
	g, ref := s.authenticate(r.Context(), token, ll)
	if ref != nil {
		ll.decision = "deny"
		return ref
	}
	ll.patient = g.patient
	// The body of POST _search carries search parameters: read it before the
	// decision so that Permits sees them (_include, _type, ...).
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		// The body has BodyTimeout from now, however long the IdP took
		// (an http.Server's ReadTimeout counts from the request's start).
		// A ResponseWriter without a connection (tests) has no deadline.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
		if body, ref = s.readBody(w, r, req); ref != nil {
			return ref
		}
		if req.Interaction == scopes.SearchType || req.Interaction == scopes.SearchSystem {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return badRequest("body", "the _search body is not application/x-www-form-urlencoded")
			}
			if req.Query == nil {
				req.Query = url.Values{}
			}
			for k, vs := range form {
				req.Query[k] = append(req.Query[k], vs...)
			}
		}
	}
	acc, ref := s.authorize(g, req)
	if ref != nil {
		return ref
	}
	ll.decision, ll.reason = "allow", acc.reason
	return s.serveFHIR(w, req, body, acc, len(r.Header.Values("If-None-Exist")) > 0)
}

// bearer extracts the bearer token; it never appears in a message.
func bearer(r *http.Request) (string, *refusal) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return "", unauthorized("bearer", "no Authorization header: send Authorization: Bearer <access token> (HealthLake calls the IdP Lambda only for bearer requests)")
	}
	if len(h) > 1 {
		return "", unauthorized("bearer", "more than one Authorization header")
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", unauthorized("bearer", "the Authorization header is not of the form \"Bearer <token>\"")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", unauthorized("bearer", "the bearer token is empty or contains spaces")
	}
	return tok, nil
}

// readBody reads a request body within the size cap.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, req scopes.Request) ([]byte, *refusal) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		search := req.Interaction == scopes.SearchType || req.Interaction == scopes.SearchSystem
		okType := err == nil && ((search && mt == "application/x-www-form-urlencoded") ||
			(!search && (mt == "application/fhir+json" || mt == "application/json" || mt == "application/json-patch+json")))
		if !okType {
			return nil, &refusal{status: http.StatusUnsupportedMediaType, code: "not-supported", check: "content-type",
				msg: fmt.Sprintf("Content-Type %q is not supported here: send application/fhir+json (or form data for _search)", shorten(ct, 80))}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &refusal{status: http.StatusRequestEntityTooLarge, code: "too-costly", check: "body-size",
				msg: fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBody)}
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			return nil, &refusal{status: http.StatusRequestTimeout, code: "timeout", check: "body-timeout",
				msg: fmt.Sprintf("reading the request body timed out: it did not arrive within %s of the IdP Lambda's answer", s.cfg.BodyTimeout)}
		}
		return nil, badRequest("body", "reading the request body failed")
	}
	return b, nil
}

// authenticate invokes the IdP Lambda and checks its answer.
func (s *Server) authenticate(ctx context.Context, token string, ll *logLine) (grant, *refusal) {
	ev, err := json.Marshal(event{
		DatastoreEndpoint:    s.cfg.DatastoreEndpoint,
		BearerToken:          token,
		OperationName:        ll.operation,
		DatastoreID:          s.cfg.DatastoreID,
		DatastoreTypeVersion: "R4",
		DatastoreName:        s.cfg.DatastoreName,
	})
	if err != nil {
		return grant{}, unauthorized("event", "encoding the event failed")
	}
	n := &note{}
	ictx, cancel := context.WithTimeout(context.WithValue(ctx, noteKey{}, n), s.cfg.InvokeTimeout)
	defer cancel()
	start := time.Now()
	// The limit holds even for an invoker that ignores its context: the
	// answer is awaited at most until ictx expires.
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- result{err: errors.New("emulator: the invoker panicked")}
			}
		}()
		out, err := s.cfg.Invoker.Invoke(ictx, ev)
		done <- result{out, err}
	}()
	var out []byte
	select {
	case r := <-done:
		out, err = r.out, r.err
		if err == nil && ictx.Err() != nil {
			err = ictx.Err()
		}
	case <-ictx.Done():
		err = ictx.Err()
	}
	ll.lambdaReason, ll.lambdaDetail = n.get()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return grant{}, unauthorized("lambda-timeout", fmt.Sprintf("Timeout during custom Idp execution. (no answer within %s; HealthLake allows less than 1 s: hydrate the JWKS at init, check cold starts)", s.cfg.InvokeTimeout))
		}
		return grant{}, unauthorized("lambda-error", fmt.Sprintf("the IdP Lambda invocation failed after %s: %s", time.Since(start).Round(time.Millisecond), shorten(err.Error(), 300)))
	}
	return checkAnswer(out, s.cfg.DatastoreEndpoint, s.cfg.RoleARN, s.cfg.Now(), s.parser, s.caps)
}

// operationName maps a request to HealthLake's operation (IAM action) name.
func operationName(req scopes.Request) string {
	switch req.Interaction {
	case scopes.Read, scopes.VRead:
		return "ReadResource"
	case scopes.InstanceHistory, scopes.HistoryType, scopes.HistorySystem:
		return "ReadResource"
	case scopes.SearchType, scopes.SearchSystem:
		if req.Method == http.MethodPost {
			return "SearchWithPost"
		}
		return "SearchWithGet"
	case scopes.Create:
		return "CreateResource"
	case scopes.Update:
		return "UpdateResource"
	case scopes.Patch:
		return "PatchResource"
	case scopes.Delete:
		return "DeleteResource"
	case scopes.Batch:
		return "ProcessBundle"
	case scopes.Capabilities:
		return "GetCapabilities"
	case scopes.Operation:
		switch req.Operation {
		case "$everything":
			return "SearchEverything"
		case "$export":
			if req.Method == http.MethodPost {
				return "StartFHIRExportJobWithPost"
			}
			return "StartFHIRExportJobWithGet"
		}
		return "ReadResource"
	}
	return "Unknown"
}
