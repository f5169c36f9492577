package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// These tests check what the cost guard saves, each through the real
// stack: sandbox → qcc client → guard → tools.NewServer → mcp-go
// in-process client. Upstream calls are counted by the sandbox. The
// sandbox, the client, the guard and the tools share one clock, so that
// signatures, cache ages, cooldowns and validity agree.

// costEnv is the real stack with a guard between the client and the tools.
type costEnv struct {
	*env
	clock  *testkit.Clock
	guard  *guard.Guard
	server *server.MCPServer
}

// costSetup says what a costEnv is built on; the zero value means a new
// clock and a plain transport to the sandbox.
type costSetup struct {
	clock     *testkit.Clock
	transport func(http.RoundTripper) http.RoundTripper
}

// testGuardConfig is the guard's configuration in these tests: no rate
// limit and short retry delays, so that nothing waits in real time.
func testGuardConfig() guard.Config {
	return guard.Config{Rate: guard.Off, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond}
}

func newCostEnv(t *testing.T, cfg guard.Config) *costEnv {
	t.Helper()
	return newCostEnvWith(t, cfg, costSetup{})
}

func newCostEnvWith(t *testing.T, cfg guard.Config, s costSetup) *costEnv {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	st := newGuardedStack(t, cfg, s, slog.New(slog.NewTextHandler(logs, nil)))
	return &costEnv{
		env:    &env{sandbox: st.sandbox, client: newMCPClient(t, st.server), logs: logs},
		clock:  st.clock,
		guard:  st.guard,
		server: st.server,
	}
}

// guardedStack is everything below the MCP client.
type guardedStack struct {
	sandbox *sandbox.Sandbox
	clock   *testkit.Clock
	guard   *guard.Guard
	server  *server.MCPServer
}

// newGuardedStack builds sandbox → qcc client → guard → MCP server; the
// guard is closed when tb ends. It serves the benchmarks too.
func newGuardedStack(tb testing.TB, cfg guard.Config, s costSetup, log *slog.Logger) guardedStack {
	tb.Helper()
	if s.clock == nil {
		s.clock = testkit.NewClockAt(fixedNow)
	}
	sb := sandbox.New(sandbox.Config{Now: s.clock.Now})
	var rt http.RoundTripper = sb.Transport()
	if s.transport != nil {
		rt = s.transport(rt)
	}
	qc, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey,
		qcc.WithHTTPClient(&http.Client{Transport: rt}),
		qcc.WithClock(s.clock.Now), qcc.WithTimeout(30*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Now = s.clock.Now
	cfg.Logger = log
	g, err := guard.New(qc, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	srv := tools.NewServer(g, tools.Options{Now: s.clock.Now, Logger: log})
	return guardedStack{sandbox: sb, clock: s.clock, guard: g, server: srv}
}

// toolOutput is what a tool call returned, for callers that cannot use
// env.call (goroutines, which must not call t.Fatal).
type toolOutput struct {
	res        *mcp.CallToolResult
	text       string
	structured map[string]any
}

func callTool(ctx context.Context, c *client.Client, tool string, args any) (toolOutput, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return toolOutput{}, err
	}
	out := toolOutput{res: res}
	for _, content := range res.Content {
		if tc, ok := content.(mcp.TextContent); ok {
			out.text += tc.Text
		}
	}
	if res.StructuredContent != nil {
		raw, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return out, err
		}
		if err := json.Unmarshal(raw, &out.structured); err != nil {
			return out, err
		}
	}
	return out, nil
}

// mustSucceed calls a tool that must answer without isError and returns
// its text and structured content.
func (e *costEnv) mustSucceed(t *testing.T, tool string, args map[string]any) (string, map[string]any) {
	t.Helper()
	res, text, out := e.call(t, tool, args)
	if res.IsError {
		t.Fatalf("%s(%v): isError:\n%s", tool, args, text)
	}
	return text, out
}

// mustFail calls a tool that must answer with isError and returns its text.
func (e *costEnv) mustFail(t *testing.T, tool string, args map[string]any) string {
	t.Helper()
	res, text, _ := e.call(t, tool, args)
	if !res.IsError {
		t.Fatalf("%s(%v): not an error:\n%s", tool, args, text)
	}
	return text
}

// wantCalls checks the number of requests that reached the sandbox.
func (e *costEnv) wantCalls(t *testing.T, want int) {
	t.Helper()
	if got := e.sandbox.TotalCalls(); got != want {
		t.Fatalf("%d upstream calls, want %d", got, want)
	}
}

func source(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	s, ok := out["source"].(map[string]any)
	if !ok {
		t.Fatalf("no source in %v", out)
	}
	return s
}

func wantCache(t *testing.T, out map[string]any, want guard.CacheState) {
	t.Helper()
	if got := source(t, out)["cache"]; got != string(want) {
		t.Errorf("source.cache = %v, want %q", got, want)
	}
}

func wantText(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, text)
		}
	}
}

// withoutCache returns out without source.cache, for comparing answers.
func withoutCache(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	delete(source(t, c), "cache")
	return c
}

// costCases are one question per tool, for tests that hold for both.
var costCases = []struct {
	tool string
	args map[string]any
}{
	{tools.SearchToolName, map[string]any{"company": docCompany}},
	{tools.DetailToolName, map[string]any{"cert_id": docCertID}},
}

func TestRepeatedCallMakesNoSecondUpstreamCall(t *testing.T) {
	t.Parallel()
	for _, tc := range costCases {
		t.Run(tc.tool, func(t *testing.T) {
			t.Parallel()
			e := newCostEnv(t, testGuardConfig())
			text1, out1 := e.mustSucceed(t, tc.tool, tc.args)
			e.wantCalls(t, 1)
			wantCache(t, out1, guard.CacheMiss)

			e.clock.Advance(5 * time.Minute) // a new fetch would show a new fetched_at
			text2, out2 := e.mustSucceed(t, tc.tool, tc.args)
			e.wantCalls(t, 1)
			wantCache(t, out2, guard.CacheHit)
			want := fixedNow.UTC().Format(time.RFC3339)
			if got1, got2 := source(t, out1)["fetched_at"], source(t, out2)["fetched_at"]; got1 != want || got2 != want {
				t.Errorf("fetched_at %v then %v, want the first fetch's %s both times", got1, got2, want)
			}
			// A cache hit says so and how old it is, and otherwise reads
			// like the fresh answer.
			if !strings.Contains(text2, "Answered from this server's cache, fetched 5 min ago") {
				t.Errorf("the cache hit's text does not say it is one, and how old:\n%s", text2)
			}
			if withoutCacheLine(text2) != text1 {
				t.Errorf("text differs beyond the cache line:\nfirst:\n%s\nsecond:\n%s", text1, text2)
			}
			if a, b := withoutCache(t, out1), withoutCache(t, out2); !reflect.DeepEqual(a, b) {
				t.Errorf("structured content differs beyond source.cache:\nfirst:  %v\nsecond: %v", a, b)
			}
		})
	}
}

func TestConcurrentIdenticalCallsMakeOneUpstreamCall(t *testing.T) {
	t.Parallel()
	const (
		clients = 5 // sub-agents, each with its own session
		callers = 50
	)
	var g *testkit.Gate
	e := newCostEnvWith(t, testGuardConfig(), costSetup{
		transport: func(rt http.RoundTripper) http.RoundTripper { g = testkit.NewGate(rt); return g },
	})
	cs := []*client.Client{e.client}
	for len(cs) < clients {
		cs = append(cs, newMCPClient(t, e.server))
	}

	outs := make([]toolOutput, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			outs[i], errs[i] = callTool(context.Background(), cs[i%clients], tools.SearchToolName, map[string]any{"company": docCompany})
		})
	}
	// One caller leads and waits in the gate; the 49 others wait on it
	// inside the guard. Only then may the answer come.
	testkit.WaitFor(t, "the leader's request to reach the transport", func() bool { return g.Arrived() > 0 })
	testkit.WaitFor(t, fmt.Sprintf("%d callers waiting in the guard", callers-1),
		func() bool { return e.guard.Usage().Waiting == callers-1 })
	if n := g.Arrived(); n != 1 {
		t.Fatalf("%d requests reached the transport, want 1", n)
	}
	g.Open()
	wg.Wait()

	e.wantCalls(t, 1)
	count := map[any]int{}
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if out.res.IsError {
			t.Fatalf("caller %d: isError:\n%s", i, out.text)
		}
		count[source(t, out.structured)["cache"]]++
		if a, b := withoutCache(t, out.structured), withoutCache(t, outs[0].structured); !reflect.DeepEqual(a, b) || out.text != outs[0].text {
			t.Errorf("caller %d got a different answer", i)
		}
	}
	if count["miss"] != 1 || count["coalesced"] != callers-1 || len(count) != 2 {
		t.Errorf("source.cache counts %v, want 1 miss and %d coalesced", count, callers-1)
	}
	if u := e.guard.Usage(); u.CacheMisses != 1 || u.Coalesced != callers-1 || u.Total() != 1 {
		t.Errorf("usage: %d misses, %d coalesced, %d upstream", u.CacheMisses, u.Coalesced, u.Total())
	}
}

func TestRestartOnSameCacheFileMakesNoUpstreamCall(t *testing.T) {
	t.Parallel()
	for _, tc := range costCases {
		t.Run(tc.tool, func(t *testing.T) {
			t.Parallel()
			cfg := testGuardConfig()
			cfg.CacheFile = filepath.Join(t.TempDir(), "cache.db")
			first := newCostEnv(t, cfg)
			text1, out1 := first.mustSucceed(t, tc.tool, tc.args)
			first.wantCalls(t, 1)
			wantCache(t, out1, guard.CacheMiss)
			// The process ends: its MCP session and its guard close.
			first.client.Close()
			if err := first.guard.Close(); err != nil {
				t.Fatal(err)
			}

			// A new process, an hour later, with a new sandbox that
			// counts from zero.
			clock := testkit.NewClockAt(fixedNow)
			clock.Advance(time.Hour)
			second := newCostEnvWith(t, cfg, costSetup{clock: clock})
			text2, out2 := second.mustSucceed(t, tc.tool, tc.args)
			second.wantCalls(t, 0)
			wantCache(t, out2, guard.CacheHit)
			if !strings.Contains(text2, "Answered from this server's cache, fetched 1 h ago") || withoutCacheLine(text2) != text1 {
				t.Errorf("text differs after the restart beyond the cache line:\nbefore:\n%s\nafter:\n%s", text1, text2)
			}
			if a, b := withoutCache(t, out1), withoutCache(t, out2); !reflect.DeepEqual(a, b) {
				t.Errorf("structured content differs after the restart:\nbefore: %v\nafter:  %v", a, b)
			}
		})
	}
}

func TestQueryThrottledBy110IsAnsweredLocallyForTwoHours(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		company   string
		setup     func(sb *sandbox.Sandbox)
		laterFail bool // whether QCC still answers 110 after the two hours
	}{
		"real company, one 110": {
			company: docCompany,
			setup:   func(sb *sandbox.Sandbox) { sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 110}) },
		},
		"sandbox trigger, always 110": {
			company:   "sandbox-status-110",
			setup:     func(*sandbox.Sandbox) {},
			laterFail: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newCostEnv(t, testGuardConfig())
			tc.setup(e.sandbox)
			throttled := map[string]any{"company": tc.company}

			text := e.mustFail(t, tools.SearchToolName, throttled)
			e.wantCalls(t, 1) // 110 is never retried
			wantText(t, text, "QCC status 110")

			until := fixedNow.Add(2 * time.Hour).Format(time.RFC3339) // 2026-11-27T12:00:00+08:00
			text = e.mustFail(t, tools.SearchToolName, throttled)
			e.wantCalls(t, 1)
			wantText(t, text, "QCC status 110", "Answered locally, without calling QCC", "until "+until)

			// Other questions still go to QCC.
			_, out := e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": bigCompany})
			e.wantCalls(t, 2)
			wantCache(t, out, guard.CacheMiss)
			e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": tc.company + "x", "exact": false})
			e.wantCalls(t, 3)

			e.clock.Advance(time.Hour + 59*time.Minute)
			text = e.mustFail(t, tools.SearchToolName, throttled)
			e.wantCalls(t, 3)
			wantText(t, text, "QCC status 110", "Answered locally, without calling QCC", "until "+until, "(in 1 min)")

			e.clock.Advance(2 * time.Minute) // 2h01m after the 110
			res, text, out := e.call(t, tools.SearchToolName, throttled)
			e.wantCalls(t, 4)
			if strings.Contains(text, "Answered locally") {
				t.Errorf("still answered locally after two hours:\n%s", text)
			}
			if res.IsError != tc.laterFail {
				t.Errorf("after two hours: isError %v, want %v:\n%s", res.IsError, tc.laterFail, text)
			}
			if !tc.laterFail {
				wantCache(t, out, guard.CacheMiss)
			}
		})
	}
}

func TestServerErrorIsRetried(t *testing.T) {
	t.Parallel()
	t.Run("502 then success", func(t *testing.T) {
		t.Parallel()
		e := newCostEnv(t, testGuardConfig())
		e.sandbox.FailNext(qcc.MethodSearch, 1, sandbox.Fault{HTTPStatus: 502})
		_, out := e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": docCompany})
		e.wantCalls(t, 2)
		wantCache(t, out, guard.CacheMiss)
		if n := len(out["certifications"].([]any)); n != 5 {
			t.Errorf("%d certifications, want 5", n)
		}
		if u := e.guard.Usage(); u.UpstreamCalls["http_502"] != 1 || u.UpstreamCalls["200"] != 1 {
			t.Errorf("upstream calls by outcome: %v", u.UpstreamCalls)
		}
	})
	t.Run("502 three times", func(t *testing.T) {
		t.Parallel()
		e := newCostEnv(t, testGuardConfig())
		e.sandbox.FailNext(qcc.MethodSearch, 3, sandbox.Fault{HTTPStatus: 502})
		text := e.mustFail(t, tools.SearchToolName, map[string]any{"company": docCompany})
		e.wantCalls(t, 3) // the first try and two retries
		wantText(t, text, "HTTP 502")
		// The failure is not cached: the next call asks again.
		e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": docCompany})
		e.wantCalls(t, 4)
	})
}

func TestCredentialErrorIsNotRetriedAndPausesUpstreamCalls(t *testing.T) {
	t.Parallel()
	e := newCostEnv(t, testGuardConfig())
	cached := map[string]any{"company": bigCompany}
	e.mustSucceed(t, tools.SearchToolName, cached)
	e.wantCalls(t, 1)

	text := e.mustFail(t, tools.SearchToolName, map[string]any{"company": "sandbox-status-101"})
	e.wantCalls(t, 2) // not retried
	wantText(t, text, "QCC status 101")
	if strings.Contains(text, "Answered locally") {
		t.Errorf("QCC's own 101 is described as local:\n%s", text)
	}

	// Any other question is refused locally during the cooldown...
	until := fixedNow.Add(guard.DefaultCredentialCooldown).Format(time.RFC3339)
	text = e.mustFail(t, tools.SearchToolName, map[string]any{"company": docCompany})
	e.wantCalls(t, 2)
	wantText(t, text, "QCC status 101", "Answered locally, without calling QCC", "paused until "+until)
	text = e.mustFail(t, tools.DetailToolName, map[string]any{"cert_id": docCertID})
	e.wantCalls(t, 2)
	wantText(t, text, "Answered locally, without calling QCC")

	// ...while cached answers are still served.
	_, out := e.mustSucceed(t, tools.SearchToolName, cached)
	e.wantCalls(t, 2)
	wantCache(t, out, guard.CacheHit)

	e.clock.Advance(guard.DefaultCredentialCooldown + time.Second)
	e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": docCompany})
	e.wantCalls(t, 3)
}

func TestDailyBudgetStopsUpstreamCalls(t *testing.T) {
	t.Parallel()
	t.Run("answers", func(t *testing.T) {
		t.Parallel()
		const budget = 3
		cfg := testGuardConfig()
		cfg.MaxCallsPerDay = budget
		e := newCostEnv(t, cfg)
		for _, company := range []string{docCompany, bigCompany, noneCompany} {
			e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": company})
		}
		e.wantCalls(t, budget)

		for _, tc := range []struct {
			tool string
			args map[string]any
		}{
			{tools.SearchToolName, map[string]any{"company": parenCompany}},
			{tools.SearchToolName, map[string]any{"company": docCompany, "max_age_seconds": 0}},
			{tools.DetailToolName, map[string]any{"cert_id": docCertID}},
		} {
			text := e.mustFail(t, tc.tool, tc.args)
			wantText(t, text, "daily budget of 3 QCC calls used up", "Answered locally, without calling QCC", "00:00 Beijing")
		}
		e.wantCalls(t, budget)

		// Answers already paid for are still served, the no-result one too.
		for _, company := range []string{docCompany, bigCompany, noneCompany} {
			_, out := e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": company})
			wantCache(t, out, guard.CacheHit)
		}
		e.wantCalls(t, budget)

		// A new Beijing day, a new budget (10:00 + 14h01m = 00:01).
		e.clock.Advance(14*time.Hour + time.Minute)
		e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": parenCompany})
		e.wantCalls(t, budget+1)
	})
	t.Run("retries count", func(t *testing.T) {
		t.Parallel()
		cfg := testGuardConfig()
		cfg.MaxCallsPerDay = 2
		e := newCostEnv(t, cfg)
		e.sandbox.FailNext(qcc.MethodSearch, 1, sandbox.Fault{HTTPStatus: 502})
		e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": docCompany})
		e.wantCalls(t, 2)
		text := e.mustFail(t, tools.SearchToolName, map[string]any{"company": bigCompany})
		e.wantCalls(t, 2)
		wantText(t, text, "daily budget")
	})
}

func TestDamagedCacheFileIsRebuilt(t *testing.T) {
	t.Parallel()
	for name, damage := range map[string]func(t *testing.T, path string){
		// Plain garbage is not recognisably a cache file and is refused
		// (qcc/guard tests it); a cache file whose first pages were
		// overwritten still is, and is rebuilt.
		"first pages overwritten": func(t *testing.T, path string) {
			cfg := testGuardConfig()
			cfg.CacheFile = path
			e := newCostEnv(t, cfg)
			e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": bigCompany})
			e.client.Close()
			if err := e.guard.Close(); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte(strings.Repeat("this is no cache file\n", 400)), 0); err != nil {
				t.Fatal(err)
			}
		},
		"truncated": func(t *testing.T, path string) {
			// A real cache file with answers in it, cut in half as by a
			// full disk or a copy interrupted halfway.
			cfg := testGuardConfig()
			cfg.CacheFile = path
			e := newCostEnv(t, cfg)
			for _, company := range []string{docCompany, bigCompany, parenCompany} {
				e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": company, "page_size": 20})
			}
			e.client.Close()
			if err := e.guard.Close(); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, info.Size()/2); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "cache.db")
			damage(t, path)
			cfg := testGuardConfig()
			cfg.CacheFile = path

			e := newCostEnv(t, cfg)
			wantText(t, e.logs.String(), "cache file was damaged")
			aside, err := filepath.Glob(path + ".corrupt-*")
			if err != nil || len(aside) != 1 {
				t.Errorf("damaged file moved aside to %v (%v), want one file", aside, err)
			}
			_, out := e.mustSucceed(t, tools.SearchToolName, map[string]any{"company": docCompany})
			e.wantCalls(t, 1)
			wantCache(t, out, guard.CacheMiss)
			e.client.Close()
			if err := e.guard.Close(); err != nil {
				t.Fatal(err)
			}

			// The rebuilt file works: a restart answers from it.
			again := newCostEnv(t, cfg)
			_, out = again.mustSucceed(t, tools.SearchToolName, map[string]any{"company": docCompany})
			again.wantCalls(t, 0)
			wantCache(t, out, guard.CacheHit)
			if strings.Contains(again.logs.String(), "damaged") {
				t.Errorf("the rebuilt file is reported damaged:\n%s", again.logs.String())
			}
		})
	}
}

func TestMaxAgeSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range costCases {
		t.Run(tc.tool, func(t *testing.T) {
			t.Parallel()
			e := newCostEnv(t, testGuardConfig())
			with := func(maxAge int) map[string]any {
				args := map[string]any{"max_age_seconds": maxAge}
				for k, v := range tc.args {
					args[k] = v
				}
				return args
			}
			fetchedAt := func(out map[string]any) any { return source(t, out)["fetched_at"] }
			_, out := e.mustSucceed(t, tc.tool, tc.args)
			e.wantCalls(t, 1)
			first := fetchedAt(out)

			e.clock.Advance(10 * time.Minute)
			_, out = e.mustSucceed(t, tc.tool, with(3600))
			e.wantCalls(t, 1)
			wantCache(t, out, guard.CacheHit)
			if fetchedAt(out) != first {
				t.Errorf("max_age_seconds=3600: fetched_at %v, want %v", fetchedAt(out), first)
			}

			_, out = e.mustSucceed(t, tc.tool, with(60))
			e.wantCalls(t, 2)
			wantCache(t, out, guard.CacheMiss)
			if want := e.clock.Now().UTC().Format(time.RFC3339); fetchedAt(out) != want {
				t.Errorf("max_age_seconds=60: fetched_at %v, want %v", fetchedAt(out), want)
			}

			// The new answer replaced the old one.
			_, out = e.mustSucceed(t, tc.tool, with(60))
			e.wantCalls(t, 2)
			wantCache(t, out, guard.CacheHit)

			_, out = e.mustSucceed(t, tc.tool, with(0))
			e.wantCalls(t, 3)
			wantCache(t, out, guard.CacheMiss)
		})
	}
}

// TestCacheOff is the --cache-ttl 0 setting: every call goes upstream.
func TestCacheOff(t *testing.T) {
	t.Parallel()
	cfg := testGuardConfig()
	cfg.CacheTTL = guard.Off
	e := newCostEnv(t, cfg)
	for _, tc := range costCases {
		for i := 1; i <= 3; i++ {
			_, out := e.mustSucceed(t, tc.tool, tc.args)
			wantCache(t, out, guard.CacheMiss)
		}
	}
	e.wantCalls(t, 3*len(costCases))
}

// withoutCacheLine drops the line a cached answer adds to the text.
func withoutCacheLine(text string) string {
	var keep []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "Answered from this server's cache") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
