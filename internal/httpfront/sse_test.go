package httpfront

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// stalledSSE opens a legacy SSE stream on a raw connection, reads only its
// endpoint event and then never reads again: a client that stays behind.
// It returns the /message URL of the stream's session.
func stalledSSE(t *testing.T, base string) (messageURL string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// A small receive buffer makes the stall show after a few answers, as
	// it would after a few megabytes on a real network.
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the SSE stream's start: %v", err)
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			if i := strings.Index(rest, "/message?"); i >= 0 {
				return base + rest[i:]
			}
		}
	}
}

// TestSSEClientThatNeverReadsIsBounded: answers queued for a stream whose
// client does not read must not pile up without bound. The front closes
// such a stream and drops its answers, with a log line, and the goroutines
// and memory they held are released.
//
// QCC_SSE_STALL_CALLS=3000 go test ./internal/httpfront -run NeverReads -v
// prints the figures for 3,000 calls.
func TestSSEClientThatNeverReadsIsBounded(t *testing.T) {
	calls := 600
	if v, err := strconv.Atoi(os.Getenv("QCC_SSE_STALL_CALLS")); err == nil && v > 0 {
		calls = v
	}
	logs, o := captureLogs()
	_, ts := newTestServer(t, o)
	msgURL := stalledSSE(t, ts.URL)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	// Answers of about 30 KB each, like a long certificate list.
	text := strings.Repeat("x", 30<<10)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":%q}}}`, i+10, text)
			resp, err := http.Post(msgURL, "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	// The figures below are only logged; what the test requires is that
	// the goroutines settle and the stall is logged, both waited for.
	var peak runtime.MemStats
	runtime.ReadMemStats(&peak)
	grown := runtime.NumGoroutine() - goroutinesBefore
	t.Logf("%d calls on a stream that is never read: %d goroutines more, heap in use %.1f MiB more",
		calls, grown, float64(int64(peak.HeapInuse)-int64(before.HeapInuse))/(1<<20))

	var settled int
	deadline := time.Now().Add(10 * time.Second)
	for {
		settled = runtime.NumGoroutine() - goroutinesBefore
		if settled < 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if settled >= 50 {
		t.Errorf("%d goroutines still held for a client that never reads, after %d calls", settled, calls)
	}
	checkStallLogged(t, logs, "answers waiting")
}

func checkStallLogged(t *testing.T, logs *testkit.SyncBuffer, reason string) {
	t.Helper()
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "not reading its SSE stream") && strings.Contains(line, reason) {
			t.Log(line)
			return
		}
	}
	t.Errorf("no log line about the stalled SSE client (%s):\n%s", reason, logs.String())
}

// TestSSEWriteStallEndsTheStream: a client that stops reading after a few
// answers, well under the queue bound, is noticed by the write deadline
// and its stream ends; the server's goroutines return to where they were.
func TestSSEWriteStallEndsTheStream(t *testing.T) {
	logs, o := captureLogs()
	f, ts := newTestServer(t, o, func(o *Options) { o.SSEWriteTimeout = 300 * time.Millisecond })
	msgURL := stalledSSE(t, ts.URL)
	text := strings.Repeat("y", 256<<10) // a few answers fill the socket buffers
	for i := range 40 {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":%q}}}`, i+10, text)
		if resp, err := http.Post(msgURL, "application/json", strings.NewReader(body)); err == nil {
			resp.Body.Close()
		}
	}
	testkit.WaitFor(t, "the stalled stream to end", func() bool { return f.OpenSSEStreams() == 0 })
	checkStallLogged(t, logs, "write stalled")
	if n := f.inFlight.Load(); n != 0 {
		t.Errorf("%d answers still counted in flight after the stream ended", n)
	}
}

// captureLogs returns a log buffer and the option that sends the front's
// log there.
func captureLogs() (*testkit.SyncBuffer, func(*Options)) {
	logs := &testkit.SyncBuffer{}
	return logs, func(o *Options) { o.Logger = logging.New(logs, slog.LevelInfo, func(string) string { return "1" }) }
}
