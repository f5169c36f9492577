package logging

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// writes records each Write it is given.
type writes struct {
	mu sync.Mutex
	w  []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = append(w.w, string(p))
	return len(p), nil
}

func (w *writes) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.w...)
}

func waitWrites(t *testing.T, w *writes, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := w.get(); len(got) >= n {
			return got
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("want %d writes, got %q", n, w.get())
	return nil
}

// TestQuietLinesGoOutAtOnce: a line after a quiet spell is written before
// Write returns.
func TestQuietLinesGoOutAtOnce(t *testing.T) {
	out := &writes{}
	at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	b := newBatchWriter(out, time.Hour, func() time.Time { return at })
	b.Write([]byte("one\n"))
	at = at.Add(2 * time.Hour)
	b.Write([]byte("two\n"))
	if got := out.get(); len(got) != 2 || got[0] != "one\n" || got[1] != "two\n" {
		t.Fatalf("writes %q, want each line at once", got)
	}
}

// TestBurstGoesOutInOneWrite: the lines that follow a line within the
// delay wait for it and go out together, in order, once it has passed.
func TestBurstGoesOutInOneWrite(t *testing.T) {
	out := &writes{}
	b := newBatchWriter(out, 30*time.Millisecond, time.Now)
	start := time.Now()
	for i := range 50 {
		b.Write(fmt.Appendf(nil, "line %d\n", i))
	}
	if got := out.get(); len(got) != 1 || got[0] != "line 0\n" {
		t.Fatalf("before the delay: writes %q, want only the first line", got)
	}
	got := waitWrites(t, out, 2)
	if took := time.Since(start); took < 25*time.Millisecond {
		t.Errorf("the burst went out after %v, before the delay", took)
	}
	var want strings.Builder
	for i := 1; i < 50; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if len(got) != 2 || got[1] != want.String() {
		t.Fatalf("writes %q, want the other 49 lines in one", got)
	}
}

// TestBatchNeverExceedsItsCap: a burst larger than batchMax goes out
// without waiting for the timer, in writes of at most batchMax.
func TestBatchNeverExceedsItsCap(t *testing.T) {
	out := &writes{}
	b := newBatchWriter(out, time.Hour, time.Now)
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	for range 2 * batchMax / len(line) {
		b.Write(line)
	}
	// The writer goroutine is woken as the cap is reached, without
	// waiting for the hour.
	got := waitWrites(t, out, 2)
	for _, w := range got {
		if len(w) > batchMax+len(line) {
			t.Errorf("a write of %d bytes, over the cap of %d", len(w), batchMax)
		}
	}
}

// TestWarnFlushesTheBatch: a WARN line goes out at once, with the lines
// held before it, in order; Flush writes what is held.
func TestWarnFlushesTheBatch(t *testing.T) {
	out := &writes{}
	b := newBatchWriter(out, time.Hour, time.Now)
	log := slog.New(flushingHandler{slog.NewTextHandler(b, nil), b}).With("server", "qcc-mcp")
	log.Info("first")
	log.Info("held")
	log.Warn("failed")
	got := out.get()
	if len(got) != 2 || !strings.Contains(got[0], "msg=first") ||
		!strings.Contains(got[1], "msg=held") || !strings.Contains(got[1], "msg=failed") ||
		strings.Index(got[1], "held") > strings.Index(got[1], "failed") {
		t.Fatalf("writes %q, want the first line, then the held one with the WARN line after it", got)
	}
	log.Info("held again")
	Flush(log)
	if got := out.get(); len(got) != 3 || !strings.Contains(got[2], "held again") {
		t.Fatalf("after Flush: writes %q", got)
	}
	Flush(slog.New(slog.DiscardHandler)) // not ours: nothing to do, no panic
}

// TestNewBatchesAPipe: New batches a pipe, and what it holds arrives,
// whole and in order, after Flush.
func TestNewBatchesAPipe(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	log := New(pw, slog.LevelInfo, env())
	if _, ok := log.Handler().(flushingHandler); !ok {
		t.Fatalf("New on a pipe gave %T, want a batching handler", log.Handler())
	}
	for i := range 100 {
		log.Info("tool call", "n", i)
	}
	Flush(log)
	pw.Close()
	var got bytes.Buffer
	got.ReadFrom(pr)
	lines := strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n")
	if len(lines) != 100 {
		t.Fatalf("%d lines, want 100:\n%s", len(lines), got.String())
	}
	for i, l := range lines {
		if !strings.HasSuffix(l, fmt.Sprintf(" n=%d", i)) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	var buf bytes.Buffer
	if _, ok := New(&buf, slog.LevelInfo, env()).Handler().(flushingHandler); ok {
		t.Error("New batches an in-memory writer, which has no system call to save")
	}
}

// blockingWriter's writes wait until release is closed: a reader that has
// stopped reading a full pipe.
type blockingWriter struct {
	release chan struct{}
	writes
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.writes.Write(p)
}

// TestStuckReaderNeverBlocksTheLogger: a reader that stops reading costs
// lines, not time. Every Write and Flush returns promptly while the write
// is stuck, at most pendingMax is held, and once the reader is back the
// held lines arrive in order, followed by one saying how many were
// dropped.
func TestStuckReaderNeverBlocksTheLogger(t *testing.T) {
	out := &blockingWriter{release: make(chan struct{})}
	b := newBatchWriter(out, 10*time.Millisecond, time.Now)
	log := slog.New(flushingHandler{slog.NewTextHandler(b, nil), b})
	pad := strings.Repeat("x", 200)
	n := 3 * pendingMax / 250 // about three times what may be held
	start := time.Now()
	for i := range n {
		log.Info("line", "n", i, "pad", pad)
	}
	log.Warn("warned")
	Flush(log)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("%d lines and a Flush took %v with the reader stuck", n, took)
	}
	close(out.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		caught := b.written == b.queued && b.dropped == 0 && b.since.IsZero()
		b.mu.Unlock()
		if caught {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writes never caught up after the reader came back")
		}
		time.Sleep(time.Millisecond)
	}
	log.Info("after")
	Flush(log)

	all := strings.Join(out.get(), "")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	kept, dropped, next := 0, 0, 0
	for i, l := range lines {
		switch {
		case strings.Contains(l, "msg=line "):
			var k int
			if _, err := fmt.Sscanf(l[strings.Index(l, " n=")+1:], "n=%d", &k); err != nil || k < next {
				t.Fatalf("line %d out of order or unreadable: %.80q", i, l)
			}
			next = k + 1
			kept++
		case strings.Contains(l, "msg=warned"):
			kept++
		case strings.Contains(l, "log lines were dropped"):
			if dropped != 0 {
				t.Errorf("a second drop report: %q", l)
			}
			if !strings.Contains(l, "level=WARN") {
				t.Errorf("drop report not at WARN: %q", l)
			}
			fmt.Sscanf(l[strings.Index(l, " lines=")+1:], "lines=%d", &dropped)
		case strings.Contains(l, "msg=after"):
			if i != len(lines)-1 {
				t.Errorf("the line after the reader came back is not last")
			}
		default:
			t.Fatalf("unexpected line %d: %.120q", i, l)
		}
	}
	if dropped == 0 || kept+dropped != n+1 {
		t.Errorf("%d lines kept and %d reported dropped of %d", kept, dropped, n+1)
	}
	if held := kept * 250; held > 2*pendingMax+batchMax {
		t.Errorf("%d lines (about %d bytes) kept while the reader was stuck, over the cap", kept, held)
	}
}
