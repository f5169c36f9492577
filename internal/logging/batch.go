package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Off a terminal, lines written in a burst go out together, and a reader
// that stops reading never stops the server.
//
// Each line used to be one write to stderr: a system call, and a wake-up
// of whatever reads the other end (the MCP client that started us over
// stdio, a log collector). Under load that was a measurable share of a
// tool call's cost, on both sides of the pipe. A line now goes out at once
// when none went out in the last batchDelay; one written sooner waits, at
// most batchDelay, for the lines that follow it, and all go out in one
// write. A logger that writes a line now and then is as immediate as
// before. A line at WARN or above goes out at once, with the lines before
// it: what explains a failure is never held back. What the delay costs:
// if the process is killed outright in a burst (SIGKILL, a fatal runtime
// error), the INFO lines of its last batchDelay are lost.
//
// The writes themselves are made by one goroutine of the writer's own.
// A client that keeps our stderr open but never reads it (many spawn a
// server that way) fills the pipe, and a write to a full pipe blocks: the
// server used to stop at its next log line, every call with it. Now only
// that goroutine waits; lines keep being taken up to pendingMax and past
// that dropped, and the next write that gets through says how many.
// Callers that wait for their lines (a quiet line, Flush) stop waiting
// once a write has been stuck for stuckAfter.
const (
	batchDelay = 50 * time.Millisecond
	// batchMax is the most one write carries.
	batchMax = 64 << 10
	// pendingMax is the most held while the writes do not get through.
	pendingMax = 1 << 20
	// stuckAfter is how long a write may take before callers stop
	// waiting for it: the reader has stopped reading.
	stuckAfter = 50 * time.Millisecond
	// flushWait bounds how long Flush waits for its lines to be written.
	flushWait = 500 * time.Millisecond
)

// batchWriter is the stderr of New: see batchDelay.
type batchWriter struct {
	w     io.Writer
	delay time.Duration
	now   func() time.Time // for the batching; the waits use real time

	mu       sync.Mutex
	buf      []byte    // lines not yet taken by the writer goroutine
	queued   uint64    // bytes taken from callers so far
	written  uint64    // bytes the writer goroutine is done with
	last     time.Time // when a write was last started
	since    time.Time // when the write in progress started; zero if none
	dropped  int       // lines dropped since the last report
	timer    *time.Timer
	armed    bool
	kick     chan struct{} // capacity 1: there is something to write
	progress chan struct{} // closed (and replaced) when written moves
}

func newBatchWriter(w io.Writer, delay time.Duration, now func() time.Time) *batchWriter {
	b := &batchWriter{w: w, delay: delay, now: now, kick: make(chan struct{}, 1), progress: make(chan struct{})}
	b.timer = time.AfterFunc(time.Hour, b.fire)
	b.timer.Stop()
	go b.run()
	return b
}

// Write takes one line (slog's handlers write each line with one Write).
// It never fails: slog drops a handler's write errors, and so does a batch.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	if len(b.buf)+len(p) > pendingMax {
		b.dropped++
		b.mu.Unlock()
		return len(p), nil
	}
	now := b.now()
	quiet := len(b.buf) == 0 && b.since.IsZero() && now.Sub(b.last) >= b.delay
	b.buf = append(b.buf, p...)
	b.queued += uint64(len(p))
	target := b.queued
	switch {
	case quiet:
		b.last = now
		b.wakeLocked()
	case len(b.buf) >= batchMax:
		b.wakeLocked()
	case !b.armed:
		b.armed = true
		b.timer.Reset(b.last.Add(b.delay).Sub(now))
	}
	b.mu.Unlock()
	if quiet {
		b.wait(target, stuckAfter)
	}
	return len(p), nil
}

// Flush writes the lines waiting, now, and waits (at most flushWait, and
// not at all for a write that is stuck) until they are written.
func (b *batchWriter) Flush() {
	b.mu.Lock()
	if b.armed {
		b.timer.Stop()
		b.armed = false
	}
	target := b.queued
	if len(b.buf) > 0 {
		b.wakeLocked()
	}
	b.mu.Unlock()
	b.wait(target, flushWait)
}

func (b *batchWriter) fire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	b.wakeLocked()
}

func (b *batchWriter) wakeLocked() {
	select {
	case b.kick <- struct{}{}:
	default: // already woken
	}
}

// wait returns once the first target bytes are written, a write has been
// stuck for stuckAfter, or max has passed.
func (b *batchWriter) wait(target uint64, max time.Duration) {
	deadline := time.Now().Add(max)
	for {
		b.mu.Lock()
		done := b.written >= target
		stuck := !b.since.IsZero() && time.Since(b.since) >= stuckAfter
		progress := b.progress
		b.mu.Unlock()
		left := time.Until(deadline)
		if done || stuck || left <= 0 {
			return
		}
		t := time.NewTimer(min(left, stuckAfter))
		select {
		case <-progress:
		case <-t.C:
		}
		t.Stop()
	}
}

// run is the writer goroutine: it writes what is held, at most batchMax
// at a time, cut at line ends.
func (b *batchWriter) run() {
	var out []byte
	for range b.kick {
		b.mu.Lock()
		for len(b.buf) > 0 {
			out, b.buf = b.buf, out[:0]
			dropped := b.dropped
			b.dropped = 0
			b.since = time.Now()
			b.last = b.now()
			b.mu.Unlock()

			for rest := out; len(rest) > 0; {
				n := len(rest)
				if n > batchMax {
					if i := bytes.LastIndexByte(rest[:batchMax], '\n'); i >= 0 {
						n = i + 1
					} else {
						n = batchMax
					}
				}
				_, _ = b.w.Write(rest[:n])
				rest = rest[n:]
			}
			if dropped > 0 {
				_, _ = b.w.Write(droppedLine(dropped))
			}

			b.mu.Lock()
			b.written += uint64(len(out))
			b.since = time.Time{}
			close(b.progress)
			b.progress = make(chan struct{})
			if cap(out) > batchMax {
				out = nil // a burst's buffer is not kept
			}
		}
		b.mu.Unlock()
	}
}

// droppedLine says, as a log line of New's format, that n lines were not
// written.
func droppedLine(n int) []byte {
	var buf bytes.Buffer
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "logging: stderr was not being read; log lines were dropped", 0)
	r.AddAttrs(slog.Int("lines", n))
	_ = slog.NewTextHandler(&buf, nil).Handle(context.Background(), r)
	return buf.Bytes()
}

// flushingHandler sends a batch out with every line at WARN or above, and
// lets Flush find the batch behind a logger.
type flushingHandler struct {
	slog.Handler
	b *batchWriter
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.b.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(as), h.b}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.b}
}

// Flush writes out the lines a logger of New holds back (see batchDelay),
// and waits a moment for them to be written: main calls it before it exits
// and before it writes to stderr itself. It does nothing for any other
// logger.
func Flush(l *slog.Logger) {
	if h, ok := l.Handler().(flushingHandler); ok {
		h.b.Flush()
	}
}
