package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// start is the fake clock's first reading.
var start = testkit.Start

// env is the real stack: sandbox → qcc.Client → Guard, on a fake clock.
type env struct {
	t      testing.TB
	clock  *testkit.Clock
	sb     *sandbox.Sandbox
	client *qcc.Client
	g      *Guard
	logs   *testkit.SyncBuffer
	cfg    Config
}

// testConfig returns cfg with what every test wants unless it says
// otherwise: no waiting between retries and no rate limit.
func testConfig(cfg Config) Config {
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = time.Microsecond
	}
	if cfg.Rate == 0 {
		cfg.Rate = Off
	}
	if cfg.CacheFileTimeout == 0 {
		cfg.CacheFileTimeout = 100 * time.Millisecond
	}
	return cfg
}

// newEnv builds the stack with cfg (through testConfig) and closes the
// Guard at the end of the test.
func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	e := &env{t: t, clock: testkit.NewClock(), logs: &testkit.SyncBuffer{}}
	e.cfg = testConfig(cfg)
	e.sb = sandbox.New(sandbox.Config{Now: e.clock.Now})
	e.client = testkit.Client(t, e.sb, e.clock.Now, nil)
	e.g = e.open()
	return e
}

// open makes a new Guard on the env's client and config, as a restarted
// server would.
func (e *env) open() *Guard {
	e.t.Helper()
	cfg := e.cfg
	cfg.Now = e.clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := New(e.client, cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(func() { _ = g.Close() })
	return g
}

// restart closes the Guard and opens a new one on the same file with a
// fresh sandbox, whose call counts start at zero.
func (e *env) restart() {
	e.t.Helper()
	if err := e.g.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.sb = sandbox.New(sandbox.Config{Now: e.clock.Now})
	e.client = testkit.Client(e.t, e.sb, e.clock.Now, nil)
	e.g = e.open()
}

func (e *env) search(key string) (*qcc.SearchResult, error) {
	e.t.Helper()
	return e.g.SearchCertification(context.Background(), qcc.SearchParams{SearchKey: key})
}

// mustSearch searches and fails the test on an error.
func (e *env) mustSearch(key string) *qcc.SearchResult {
	e.t.Helper()
	res, err := e.search(key)
	if err != nil {
		e.t.Fatalf("search %q: %v", key, err)
	}
	return res
}

// wantCalls checks how many requests reached the sandbox.
func (e *env) wantCalls(want int) {
	e.t.Helper()
	if got := e.sb.TotalCalls(); got != want {
		e.t.Fatalf("upstream calls = %d, want %d", got, want)
	}
}

// Names from the sandbox's data set.
var (
	companies = sandbox.Companies()
	company   = companies[0]                // 企查查科技有限公司, 5 certificates
	company2  = companies[1]                // 23 certificates
	company3  = companies[2]                // 6 certificates
	noResult  = companies[len(companies)-1] // answers 201
)

// asError returns err as a *qcc.Error or fails the test.
func asError(t testing.TB, err error) *qcc.Error {
	t.Helper()
	var e *qcc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *qcc.Error", err, err)
	}
	return e
}

// wantLocal checks that err is a local refusal of the given code and kind.
func wantLocal(t testing.TB, err error, code int, kind qcc.Kind, localHas string) *qcc.Error {
	t.Helper()
	e := asError(t, err)
	if e.Code != code || e.Kind != kind {
		t.Fatalf("error code %d kind %s, want %d %s: %v", e.Code, e.Kind, code, kind, err)
	}
	if e.Local == "" || !strings.Contains(e.Local, localHas) {
		t.Fatalf("error Local = %q, want it to contain %q", e.Local, localHas)
	}
	return e
}

// gated rebuilds e's Guard on a client whose requests wait at a closed
// gate, so that a test can line callers up behind one request.
func (e *env) gated() *testkit.Gate {
	e.t.Helper()
	var g *testkit.Gate
	e.client = testkit.Client(e.t, e.sb, e.clock.Now, func(rt http.RoundTripper) http.RoundTripper {
		g = testkit.NewGate(rt)
		return g
	})
	e.g = e.open()
	return g
}

// waitWaiting waits until n callers wait for another caller's request,
// as the Guard's own Usage reports.
func waitWaiting(t testing.TB, g *Guard, n int) {
	t.Helper()
	testkit.WaitFor(t, fmt.Sprintf("%d waiting callers", n), func() bool { return g.Usage().Waiting == int64(n) })
}

// The memory cache's clear and stats serve only the tests.

// clear empties the cache.
func (c *memCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	clear(c.items)
	c.bytes = 0
}

// stats returns the number of entries and their bytes.
func (c *memCache) stats() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.bytes
}
