// Package callpool caps the tool calls running at once, and can run them
// on goroutines it keeps for the purpose.
//
// A call served over HTTP runs on its connection's goroutine, under
// net/http's and mcp-go's frames: about 10 KB of stack before the tool
// starts, so every call grows that goroutine's stack from 16 to 32 KiB,
// and with hundreds of clients every connection holds a 32 KiB stack that
// GC only slowly shrinks back. Run hands the call to one of at most Limit
// goroutines instead, each of which keeps its grown stack from call to
// call; the connection's goroutine waits with a shallow stack, and a call
// waiting for a slot has not been handed to mcp-go at all. Acquire is the
// same cap for calls that stay on their own goroutine (stdio, legacy SSE,
// in-process clients).
//
// The pool knows nothing of HTTP or MCP: the HTTP front decides which
// requests Run, the tools' middleware calls Acquire, and a call Run
// started carries its slot in its context, so Acquire does not take a
// second one.
package callpool

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	// DefaultWait is how long a call over the cap waits for a slot before
	// it is refused: long enough to ride out a burst of quick calls (a
	// cache hit takes well under a millisecond), short enough that an
	// overloaded server answers at once rather than turning overload into
	// client timeouts.
	DefaultWait = 500 * time.Millisecond
	// DefaultIdleTimeout is how long a worker goroutine waits for another
	// call before it exits.
	DefaultIdleTimeout = 10 * time.Second
)

// Config configures a Pool.
type Config struct {
	// Limit caps the calls running at once, with Run and Acquire together.
	Limit int
	// Wait bounds how long a call waits for a slot (default DefaultWait).
	Wait time.Duration
	// IdleTimeout ends a worker goroutine idle this long (default
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	// OnPanic, if set, is told of a panic in a function given to Run,
	// with the stack of the worker where it happened, before Run panics
	// again with the same value in its caller.
	OnPanic func(v any, stack []byte)
}

// Pool is the cap on running calls and the workers of Run. A nil *Pool is
// no cap: Acquire always admits and Run runs fn on the caller's goroutine.
type Pool struct {
	cfg   Config
	slots chan struct{}
	work  chan *job // unbuffered: a send succeeds when a worker is idle
	quit  chan struct{}
	once  sync.Once

	workers atomic.Int64 // worker goroutines alive (Workers)
	jobs    sync.Pool    // *job
}

// job is one function handed to a worker; done carries its end back.
type job struct {
	ctx      context.Context
	fn       func(context.Context)
	done     chan struct{} // capacity 1, reused with the job
	panicked bool
	value    any
}

// New returns a pool for cfg, or nil (no cap) when cfg.Limit is 0 or less.
func New(cfg Config) *Pool {
	if cfg.Limit <= 0 {
		return nil
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	return &Pool{cfg: cfg, slots: make(chan struct{}, cfg.Limit), work: make(chan *job), quit: make(chan struct{})}
}

// Limit returns the cap (0 for a nil pool: none).
func (p *Pool) Limit() int {
	if p == nil {
		return 0
	}
	return p.cfg.Limit
}

// Workers returns how many worker goroutines are alive.
func (p *Pool) Workers() int {
	if p == nil {
		return 0
	}
	return int(p.workers.Load())
}

// ctxKey marks the context of a call that holds a slot already (true,
// given by Run) or was refused one already (false, see Refused).
type ctxKey struct{}

// slotCtx is a context with the mark, in one allocation.
type slotCtx struct {
	context.Context
	held bool
}

func (c *slotCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return c.held
	}
	return c.Context.Value(key)
}

// Refused marks ctx as that of a call Run could not find a slot for, so
// that Acquire refuses it at once instead of making it wait a second time.
func Refused(ctx context.Context) context.Context { return &slotCtx{ctx, false} }

// Acquire takes a slot for a call that runs on the caller's goroutine,
// waiting up to the pool's Wait. ok false means the call must be refused
// as busy: no slot in time, ctx ended, or Run already waited in vain (see
// Refused). release true means a slot was taken and the caller must
// Release it; a call Run started holds its slot already, and Acquire
// admits it without taking another.
func (p *Pool) Acquire(ctx context.Context) (ok, release bool) {
	if p == nil {
		return true, false
	}
	if held, marked := ctx.Value(ctxKey{}).(bool); marked {
		return held, false
	}
	ok = p.take(ctx)
	return ok, ok
}

// Release gives back a slot Acquire took.
func (p *Pool) Release() { <-p.slots }

// take waits up to the pool's Wait for a slot.
func (p *Pool) take(ctx context.Context) bool {
	select {
	case p.slots <- struct{}{}:
		return true
	default:
	}
	wait := time.NewTimer(p.cfg.Wait)
	defer wait.Stop()
	select {
	case p.slots <- struct{}{}:
		return true
	case <-wait.C:
	case <-ctx.Done():
	}
	return false
}

// Run waits up to the pool's Wait for a slot, runs fn on a worker
// goroutine with ctx marked as holding that slot, and returns true once
// fn has returned. It returns false, without running fn, when no slot
// came in time or ctx ended first; the caller answers busy, for example
// by handing the call on with Refused(ctx). A panic in fn is recovered on
// the worker, reported to Config.OnPanic, and raised again here, in the
// caller, with the same value. A nil pool runs fn on the caller's
// goroutine with ctx unmarked.
func (p *Pool) Run(ctx context.Context, fn func(context.Context)) bool {
	if p == nil {
		fn(ctx)
		return true
	}
	if !p.take(ctx) {
		return false
	}
	j, _ := p.jobs.Get().(*job)
	if j == nil {
		j = &job{done: make(chan struct{}, 1)}
	}
	j.ctx, j.fn = &slotCtx{ctx, true}, fn
	select {
	case p.work <- j:
	default:
		// No worker is idle: start one. Slots bound the busy workers to
		// Limit; one finishing as this call came may make one more,
		// which ends after IdleTimeout.
		p.workers.Add(1)
		go p.worker(j)
	}
	<-j.done
	panicked, v := j.panicked, j.value
	*j = job{done: j.done}
	p.jobs.Put(j)
	p.Release()
	if panicked {
		panic(v)
	}
	return true
}

// worker runs j, then the jobs sent to it, until it has been idle for
// IdleTimeout or the pool is closed.
func (p *Pool) worker(j *job) {
	defer p.workers.Add(-1)
	idle := time.NewTimer(p.cfg.IdleTimeout)
	defer idle.Stop()
	for {
		p.runJob(j)
		idle.Reset(p.cfg.IdleTimeout)
		select {
		case j = <-p.work:
		case <-idle.C:
			return
		case <-p.quit:
			return
		}
	}
}

// runJob runs one job and signals its end, a panic included.
func (p *Pool) runJob(j *job) {
	defer func() {
		if v := recover(); v != nil {
			j.panicked, j.value = true, v
			if p.cfg.OnPanic != nil {
				p.cfg.OnPanic(v, debug.Stack())
			}
		}
		j.done <- struct{}{}
	}()
	j.fn(j.ctx)
}

// Close ends the idle workers, and each busy one once its call returns.
// Run after Close still works, on workers it starts; Close is for the end
// of the process and of tests.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() { close(p.quit) })
}
