package lambdaadapter

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/healthlake-smart/smartauth-go/healthlake"
)

// DefaultBudget is the validation time budget when the invocation context
// has no deadline: HealthLake allows the whole Lambda less than 1 s.
const DefaultBudget = 800 * time.Millisecond

// DefaultDeadlineMargin is kept free before the invocation deadline for
// encoding and returning the response.
const DefaultDeadlineMargin = 100 * time.Millisecond

// ErrInternal is the generic function error returned for internal faults.
// Its text carries no token content or claim values.
var ErrInternal = errors.New("lambdaadapter: internal authorization error")

// Authorizer is what the handler needs (normally a *healthlake.Authorizer).
type Authorizer interface {
	AuthorizeJSON(ctx context.Context, event []byte) (healthlake.Event, healthlake.Decision)
}

// Handler answers HealthLake IdP Lambda invocations.
type Handler struct {
	auth   Authorizer
	logger *slog.Logger
	budget time.Duration
	margin time.Duration
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the decision logger. Default: a logger that discards.
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) {
		if l != nil {
			h.logger = l
		}
	}
}

// WithBudget caps validation time per invocation (default DefaultBudget),
// applied on top of the invocation deadline.
func WithBudget(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.budget = d
		}
	}
}

// WithDeadlineMargin sets the time kept free before the invocation deadline
// (default DefaultDeadlineMargin).
func WithDeadlineMargin(d time.Duration) Option {
	return func(h *Handler) {
		if d >= 0 {
			h.margin = d
		}
	}
}

// New returns a Handler over auth (normally a *healthlake.Authorizer).
func New(auth Authorizer, opts ...Option) *Handler {
	h := &Handler{
		auth:   auth,
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		budget: DefaultBudget,
		margin: DefaultDeadlineMargin,
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Invoke implements the aws-lambda-go lambda.Handler interface, so that
// lambda.Start(h) hands the payload bytes to the handler unparsed: a
// payload that is not JSON at all, or is empty, still gets a well-formed
// deny. The response is Handle's, encoded by healthlake.MarshalResponse.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	d, err := h.decide(ctx, payload)
	if err != nil {
		return nil, err
	}
	return healthlake.MarshalResponse(&d.Response)
}

// Handle is the Lambda entry point for a typed handler
// (lambda.Start(h.Handle) or lambda.NewHandler(h.Handle)). It takes the raw
// event so that an event with wrong-typed or missing fields still gets a
// well-formed deny instead of a runtime decode error. The runtime itself
// decodes the payload into json.RawMessage first, so a payload that is not
// valid JSON (or is empty) fails there, as a function error, before Handle
// runs; use lambda.Start(h) (see Invoke) to deny those too.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*healthlake.Response, error) {
	d, err := h.decide(ctx, raw)
	if err != nil {
		return nil, err
	}
	return &d.Response, nil
}

// decide authorizes one event and logs the decision.
func (h *Handler) decide(ctx context.Context, raw []byte) (healthlake.Decision, error) {
	if h.auth == nil {
		h.logger.LogAttrs(ctx, slog.LevelError, "authorization", slog.String("decision", "error"),
			slog.String("reason", "config"))
		return healthlake.Decision{}, ErrInternal
	}
	bctx, cancel := h.withBudget(ctx)
	ev, d := h.auth.AuthorizeJSON(bctx, raw)
	if cancel != nil {
		cancel()
	}
	h.log(ctx, &d, &ev)
	if d.Internal {
		return healthlake.Decision{}, ErrInternal
	}
	return d, nil
}

// withBudget bounds the context by the budget and by the invocation
// deadline minus the margin. When the invocation deadline itself is the
// bound (no margin, not later than the budget) ctx is returned as is with
// a nil cancel: no timer, no allocation.
func (h *Handler) withBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(h.budget)
	if d, ok := ctx.Deadline(); ok {
		if h.margin == 0 && !d.After(deadline) {
			return ctx, nil
		}
		if d2 := d.Add(-h.margin); d2.Before(deadline) {
			deadline = d2
		}
	}
	return context.WithDeadline(ctx, deadline)
}

// logAttrs is the most attributes log writes.
const logAttrs = 10

func (h *Handler) log(ctx context.Context, d *healthlake.Decision, ev *healthlake.Event) {
	decision, level := "deny", slog.LevelWarn
	switch {
	case d.Allowed:
		decision, level = "allow", slog.LevelInfo
	case d.Internal:
		decision, level = "error", slog.LevelError
	}
	lh := h.logger.Handler()
	if !lh.Enabled(ctx, level) {
		return
	}
	var buf [logAttrs]slog.Attr
	attrs := append(buf[:0],
		slog.String("decision", decision),
		slog.String("reason", d.Reason),
		slog.String("operation", ev.OperationName),
		slog.String("datastoreId", ev.DatastoreID),
		slog.String("issuer", d.Issuer),
		slog.String("client", d.ClientID),
		slog.Int("scopes", d.Scopes),
		slog.Duration("latency", d.Latency),
	)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("requestId", lc.AwsRequestID))
	}
	if d.Err != nil && !d.Allowed {
		// Sentinel texts and check details only; errors never carry the token.
		attrs = append(attrs, slog.String("detail", d.Err.Error()))
	}
	// The record goes to the handler directly: Logger.LogAttrs would also
	// capture the caller's program counter (runtime.Callers) on every
	// invocation, for a source position inside this function.
	r := slog.NewRecord(time.Now(), level, "authorization", 0)
	r.AddAttrs(attrs...)
	_ = lh.Handle(ctx, r) // as Logger.LogAttrs: a handler error is dropped
}
