package emulator

import (
	"context"
	"log/slog"
	"sync"
)

// LambdaLogger returns the logger to give an in-process Lambda handler
// (lambdaadapter.WithLogger): it writes nothing itself; the Server folds the
// "reason" and "detail" of the handler's decision line into the request's
// own log line (lambda_reason, lambda_detail), so that each request logs one
// line. Lines logged outside a Server invocation are dropped.
func LambdaLogger() *slog.Logger { return slog.New(noteHandler{}) }

type noteKey struct{}

// note collects what the in-process Lambda logged during one invocation.
type note struct {
	mu             sync.Mutex
	reason, detail string
}

func (n *note) get() (reason, detail string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reason, n.detail
}

// noteHandler is a slog.Handler that records the reason and detail
// attributes into the invocation's note.
type noteHandler struct{ attrs []slog.Attr }

func (noteHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h noteHandler) Handle(ctx context.Context, r slog.Record) error {
	n, _ := ctx.Value(noteKey{}).(*note)
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	set := func(a slog.Attr) bool {
		switch a.Key {
		case "reason":
			n.reason = shorten(a.Value.String(), 100)
		case "detail":
			n.detail = shorten(a.Value.String(), 300)
		}
		return true
	}
	for _, a := range h.attrs {
		set(a)
	}
	r.Attrs(set)
	return nil
}

func (h noteHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return noteHandler{attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h noteHandler) WithGroup(string) slog.Handler { return h }
