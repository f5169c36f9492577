package logging

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Off a terminal, lines written in a burst go out together.
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
const (
	batchDelay = 50 * time.Millisecond
	// batchMax is the most a batch holds before it goes out.
	batchMax = 64 << 10
)

// batchWriter is the stderr of New: see batchDelay.
type batchWriter struct {
	w     io.Writer
	delay time.Duration
	now   func() time.Time

	mu    sync.Mutex
	buf   []byte    // lines waiting for the timer
	last  time.Time // when w was last written
	timer *time.Timer
	armed bool
}

func newBatchWriter(w io.Writer, delay time.Duration, now func() time.Time) *batchWriter {
	b := &batchWriter{w: w, delay: delay, now: now}
	b.timer = time.AfterFunc(time.Hour, b.fire)
	b.timer.Stop()
	return b
}

// Write takes one line (slog's handlers write each line with one Write).
// It never fails: slog drops a handler's write errors, and so does a batch.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.buf) == 0 && now.Sub(b.last) >= b.delay {
		b.last = now
		_, _ = b.w.Write(p)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= batchMax {
		b.flushLocked()
		return len(p), nil
	}
	if !b.armed {
		b.armed = true
		b.timer.Reset(b.last.Add(b.delay).Sub(now))
	}
	return len(p), nil
}

// Flush writes the lines waiting, now.
func (b *batchWriter) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *batchWriter) fire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	b.flushLocked()
}

func (b *batchWriter) flushLocked() {
	if b.armed {
		b.timer.Stop()
		b.armed = false
	}
	if len(b.buf) == 0 {
		return
	}
	_, _ = b.w.Write(b.buf)
	b.last = b.now()
	if cap(b.buf) > batchMax {
		b.buf = nil // a burst's buffer is not kept
	} else {
		b.buf = b.buf[:0]
	}
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

// Flush writes out the lines a logger of New holds back (see batchDelay):
// main calls it before it exits and before it writes to stderr itself. It
// does nothing for any other logger.
func Flush(l *slog.Logger) {
	if h, ok := l.Handler().(flushingHandler); ok {
		h.b.Flush()
	}
}
