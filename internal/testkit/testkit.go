// Package testkit holds the pieces the tests of several packages share: a
// synchronised buffer for logs written by many goroutines, a fake clock, a
// gate that holds upstream requests until a test opens it, polling helpers,
// and QCC clients wired to the sandbox. It is imported by tests only.
package testkit

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/syncbuf"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// Start is the fake clock's default first reading: 10:00 in Beijing on the
// day the sandbox's data set is dated, far from midnight.
var Start = time.Date(2026, 11, 27, 10, 0, 0, 0, qcc.Beijing)

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for logs.
type SyncBuffer = syncbuf.Buffer

// Clock is a fake time source that moves only when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading Start.
func NewClock() *Clock { return &Clock{t: Start} }

// NewClockAt returns a clock reading t.
func NewClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Gate is a transport that holds every request until Open is called, and
// counts the requests that arrived, so that a test can line callers up
// behind one request without relying on timing.
type Gate struct {
	next    http.RoundTripper
	open    chan struct{}
	once    sync.Once
	arrived atomic.Int32
}

// NewGate returns a closed gate in front of next.
func NewGate(next http.RoundTripper) *Gate {
	return &Gate{next: next, open: make(chan struct{})}
}

// RoundTrip waits for the gate to open (or the request to be canceled).
func (g *Gate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.arrived.Add(1)
	select {
	case <-g.open:
		return g.next.RoundTrip(req)
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

// Open lets every held and later request through.
func (g *Gate) Open() { g.once.Do(func() { close(g.open) }) }

// Arrived returns how many requests reached the gate.
func (g *Gate) Arrived() int { return int(g.arrived.Load()) }

// WaitFor polls cond every millisecond until it holds, failing the test
// after a minute with what it waited for.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after a minute", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Sandbox returns a sandbox on now (nil: the real clock).
func Sandbox(now func() time.Time) *sandbox.Sandbox {
	return sandbox.New(sandbox.Config{Now: now})
}

// Client returns a QCC client with the demo keys that reaches sb in
// process, through wrap when it is not nil (a Gate, a counter), on now
// (nil: the real clock), with any further options.
func Client(t testing.TB, sb *sandbox.Sandbox, now func() time.Time, wrap func(http.RoundTripper) http.RoundTripper, opts ...qcc.Option) *qcc.Client {
	t.Helper()
	var rt http.RoundTripper = sb.Transport()
	if wrap != nil {
		rt = wrap(rt)
	}
	all := []qcc.Option{qcc.WithHTTPClient(&http.Client{Transport: rt})}
	if now != nil {
		all = append(all, qcc.WithClock(now))
	}
	c, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey, append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
