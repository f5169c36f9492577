package guard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// start is the fake clock's first reading: 10:00 in Beijing on the day the
// sandbox's data set is dated, far from midnight.
var start = time.Date(2026, 11, 27, 10, 0, 0, 0, qcc.Beijing)

// clock is a fake time source that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: start} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is the real stack: sandbox → qcc.Client → Guard, on a fake clock.
type env struct {
	t      testing.TB
	clock  *clock
	sb     *sandbox.Sandbox
	client *qcc.Client
	g      *Guard
	logs   *logBuffer
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
	e := &env{t: t, clock: newClock(), logs: &logBuffer{}}
	e.cfg = testConfig(cfg)
	e.sb = sandbox.New(sandbox.Config{Now: e.clock.Now})
	e.client = newClient(t, e.sb, e.clock, nil)
	e.g = e.open()
	return e
}

// newClient returns a client of sb; wrap, when set, wraps its transport.
func newClient(t testing.TB, sb *sandbox.Sandbox, c *clock, wrap func(http.RoundTripper) http.RoundTripper) *qcc.Client {
	t.Helper()
	rt := sb.Transport()
	if wrap != nil {
		rt = wrap(rt)
	}
	client, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey,
		qcc.WithHTTPClient(&http.Client{Transport: rt}), qcc.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	return client
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
	e.client = newClient(e.t, e.sb, e.clock, nil)
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

// gate is a transport that holds every request until opened, so that a
// test can line callers up behind one request without timing.
type gate struct {
	next http.RoundTripper
	open chan struct{}
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case <-g.open:
		return g.next.RoundTrip(req)
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

// waitFollowers waits until n callers wait on the flight for key.
func waitFollowers(t testing.TB, g *Guard, key string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g.flightsMu.Lock()
		f := g.flights[key]
		got := 0
		if f != nil {
			got = f.followers
		}
		g.flightsMu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d followers after 30s, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}
