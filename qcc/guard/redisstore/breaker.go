package redisstore

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// breaker is the circuit breaker in front of Redis. After `threshold`
// consecutive failures it opens: every call fails at once, without touching
// Redis, so that an outage costs callers nothing but the first few
// deadlines. While open, a background probe tries Redis every openFor; the
// first success closes the breaker. Recovery therefore needs no traffic, and
// the up/down state that is exported stays true to Redis even when idle.
type breaker struct {
	threshold int
	openFor   time.Duration
	log       *slog.Logger
	probe     func() error

	isUp     atomic.Bool
	failures atomic.Int32

	mu        sync.Mutex // orders state changes and their notifications
	listeners []func(up bool)
	stop      chan struct{}
	stopOnce  sync.Once
	probing   sync.WaitGroup
}

func newBreaker(threshold int, openFor time.Duration, log *slog.Logger, probe func() error) *breaker {
	b := &breaker{threshold: threshold, openFor: openFor, log: log, probe: probe, stop: make(chan struct{})}
	b.isUp.Store(true)
	return b
}

func (b *breaker) up() bool    { return b.isUp.Load() }
func (b *breaker) allow() bool { return b.isUp.Load() }

func (b *breaker) onChange(f func(up bool)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.listeners = append(b.listeners, f)
}

func (b *breaker) success() { b.failures.Store(0) }

// failure counts one failed operation and opens the breaker at the
// threshold.
func (b *breaker) failure(err error) {
	if int(b.failures.Add(1)) >= b.threshold {
		b.trip(err)
	}
}

// trip opens the breaker now (a failed first contact needs no threshold).
func (b *breaker) trip(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.stop:
		return
	default:
	}
	if !b.isUp.CompareAndSwap(true, false) {
		return // already open: the outage was reported once
	}
	b.log.Warn("redis down: shared state unavailable, degrading until it is back",
		"error", err.Error(), "retry_every", b.openFor)
	for _, f := range b.listeners {
		f(false)
	}
	b.probing.Add(1)
	go b.recover()
}

// recover probes Redis every openFor until it answers, then closes the
// breaker.
func (b *breaker) recover() {
	defer b.probing.Done()
	t := time.NewTicker(b.openFor)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		if b.probe() != nil {
			continue
		}
		b.mu.Lock()
		b.failures.Store(0)
		b.isUp.Store(true)
		b.log.Info("redis back: shared state in use again")
		for _, f := range b.listeners {
			f(true)
		}
		b.mu.Unlock()
		return
	}
}

// close ends the probe, if one runs, and waits for it.
func (b *breaker) close() {
	b.mu.Lock() // so that no trip starts a probe after this
	b.stopOnce.Do(func() { close(b.stop) })
	b.mu.Unlock()
	b.probing.Wait()
}
