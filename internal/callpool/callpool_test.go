package callpool

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRunAndAcquireShareTheCap fills the cap with calls run on workers
// and with calls holding a slot on their own goroutine: one more of
// either kind waits the pool's Wait and is refused, and gets in once a
// slot is free.
func TestRunAndAcquireShareTheCap(t *testing.T) {
	p := New(Config{Limit: 2, Wait: 50 * time.Millisecond})
	defer p.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if !p.Run(context.Background(), func(context.Context) { close(started); <-release }) {
			t.Error("the first call was refused")
		}
	}()
	<-started
	ok, rel := p.Acquire(context.Background())
	if !ok || !rel {
		t.Fatalf("Acquire with a slot free: ok %v release %v, want true true", ok, rel)
	}

	start := time.Now()
	if p.Run(context.Background(), func(context.Context) { t.Error("a call over the cap ran") }) {
		t.Error("Run over the cap reported true")
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("Run over the cap gave up after %v, want about the Wait of 50ms", waited)
	}
	if ok, rel := p.Acquire(context.Background()); ok || rel {
		t.Errorf("Acquire over the cap: ok %v release %v, want false false", ok, rel)
	}

	p.Release()
	ran := false
	if !p.Run(context.Background(), func(context.Context) { ran = true }) || !ran {
		t.Error("Run after a Release: the call did not run")
	}
	close(release)
	wg.Wait()
}

// TestHeldAndRefusedMarks: a call Run started holds its slot, so Acquire
// inside it admits it without taking a second one (with a cap of 1 it
// would otherwise wait and be refused); a call marked Refused is refused
// at once, without a second wait.
func TestHeldAndRefusedMarks(t *testing.T) {
	p := New(Config{Limit: 1, Wait: time.Second})
	defer p.Close()
	p.Run(context.Background(), func(ctx context.Context) {
		start := time.Now()
		ok, rel := p.Acquire(ctx)
		if !ok || rel {
			t.Errorf("Acquire inside Run: ok %v release %v, want true false", ok, rel)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("Acquire inside Run waited %v", d)
		}
	})

	start := time.Now()
	if ok, _ := p.Acquire(Refused(context.Background())); ok {
		t.Error("Acquire of a call marked Refused admitted it")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Acquire of a refused call waited %v, want no wait", d)
	}
	// The marks are the pool's own: other values pass through.
	type key struct{}
	ctx := Refused(context.WithValue(context.Background(), key{}, "v"))
	if ctx.Value(key{}) != "v" {
		t.Error("Refused hides the context's other values")
	}
}

// TestRunGivesUpWhenTheContextEnds: a caller that leaves while waiting
// for a slot is not kept waiting for the whole Wait.
func TestRunGivesUpWhenTheContextEnds(t *testing.T) {
	p := New(Config{Limit: 1, Wait: time.Minute})
	defer p.Close()
	ok, _ := p.Acquire(context.Background())
	if !ok {
		t.Fatal("Acquire on an empty pool refused")
	}
	defer p.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if p.Run(ctx, func(context.Context) { t.Error("ran without a slot") }) {
		t.Error("Run reported true without a slot")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run waited %v after its context ended", d)
	}
}

// TestRunUsesKeptWorkers: calls run on goroutines other than the
// caller's, which are kept and used again, never more than the cap for
// calls one after the other, and which end after IdleTimeout.
func TestRunUsesKeptWorkers(t *testing.T) {
	p := New(Config{Limit: 4, IdleTimeout: 100 * time.Millisecond})
	defer p.Close()
	var callerFrames string
	for range 50 {
		p.Run(context.Background(), func(context.Context) {
			buf := make([]byte, 4<<10)
			callerFrames = string(buf[:runtime.Stack(buf, false)])
		})
	}
	if strings.Contains(callerFrames, "testing.tRunner") || !strings.Contains(callerFrames, "(*Pool).worker") {
		t.Errorf("the call ran on the caller's goroutine:\n%s", callerFrames)
	}
	// One worker does them all, or a few where a call came before the
	// worker that had just finished was waiting again; never one a call.
	if n := p.Workers(); n < 1 || n > 4 {
		t.Errorf("%d workers alive after 50 calls one after the other, want 1 to 4 (the cap): they are not reused", n)
	}

	var wg sync.WaitGroup
	var running, most atomic.Int32
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !p.Run(context.Background(), func(context.Context) {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
			}) {
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > 4 {
		t.Errorf("%d calls ran at once, over the cap of 4", m)
	}
	waitFor(t, "idle workers to end", func() bool { return p.Workers() == 0 })
}

// TestClose ends idle workers at once.
func TestClose(t *testing.T) {
	p := New(Config{Limit: 3, IdleTimeout: time.Hour})
	p.Run(context.Background(), func(context.Context) {})
	if p.Workers() != 1 {
		t.Fatalf("%d workers after one call, want 1", p.Workers())
	}
	p.Close()
	p.Close()
	waitFor(t, "the idle worker to end after Close", func() bool { return p.Workers() == 0 })
}

// TestPanicReachesTheCaller: a panic in a call is raised again in Run's
// caller with the same value, after OnPanic got it with the worker's
// stack; the slot is given back and the pool goes on.
func TestPanicReachesTheCaller(t *testing.T) {
	errBoom := errors.New("boom")
	var gotValue any
	var gotStack string
	p := New(Config{Limit: 1, Wait: 10 * time.Millisecond, OnPanic: func(v any, stack []byte) {
		gotValue, gotStack = v, string(stack)
	}})
	defer p.Close()
	func() {
		defer func() {
			if v := recover(); v != errBoom {
				t.Errorf("Run's caller recovered %v, want the call's own panic value", v)
			}
		}()
		p.Run(context.Background(), func(context.Context) { explode(errBoom) })
		t.Error("Run returned after a panic")
	}()
	if gotValue != errBoom || !strings.Contains(gotStack, "callpool.explode") {
		t.Errorf("OnPanic got %v and a stack without the panicking function:\n%s", gotValue, gotStack)
	}
	if !p.Run(context.Background(), func(context.Context) {}) {
		t.Error("the slot of the call that panicked was not given back")
	}
}

//go:noinline
func explode(err error) { panic(err) }

// TestNilPoolIsNoCap: without a cap, calls run on the caller's goroutine
// and Acquire admits everything.
func TestNilPoolIsNoCap(t *testing.T) {
	p := New(Config{Limit: 0})
	if p != nil {
		t.Fatal("New with Limit 0 returned a pool")
	}
	ok, rel := p.Acquire(context.Background())
	if !ok || rel {
		t.Errorf("nil pool Acquire: ok %v release %v, want true false", ok, rel)
	}
	ran := false
	if !p.Run(context.Background(), func(context.Context) { ran = true }) || !ran {
		t.Error("nil pool Run did not run the call")
	}
	if p.Limit() != 0 || p.Workers() != 0 {
		t.Error("nil pool has a limit or workers")
	}
	p.Close()
}
