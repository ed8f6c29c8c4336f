package smartauth

import (
	"context"
	"sync"
)

// Test seams of RemoteKeySet. They read its state from outside; the
// production struct carries no test hooks.

// settle waits until the fetch in flight, if any, has published its
// result. A background refresh is in flight as soon as the Key call that
// started it returns. OnError runs after publication: tests that
// expect a call wait for it on a channel.
func (r *RemoteKeySet) settle() {
	r.mu.Lock()
	c := r.inflight
	r.mu.Unlock()
	if c != nil {
		<-c.done
	}
}

// idle reports whether no fetch is in flight.
func (r *RemoteKeySet) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight == nil
}

// waitingCtx is a caller context that reports on waiting when a miss
// starts waiting for a fetch: Key reads a caller's Done channel only there
// (the fetch it shares gets a context without the caller's cancellation).
type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting chan<- struct{}
}

func newWaitingCtx(parent context.Context, waiting chan<- struct{}) *waitingCtx {
	return &waitingCtx{Context: parent, waiting: waiting}
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { c.waiting <- struct{}{} })
	return c.Context.Done()
}
