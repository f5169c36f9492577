package tools_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

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
	clock *testkit.Clock
	guard *guard.Guard
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
	logs := &testkit.SyncBuffer{}
	st := newGuardedStack(t, cfg, costSetup{}, slog.New(slog.NewTextHandler(logs, nil)))
	return &costEnv{
		env:   &env{sandbox: st.sandbox, client: newMCPClient(t, st.server), logs: logs},
		clock: st.clock,
		guard: st.guard,
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
	sb := testkit.Sandbox(s.clock.Now)
	qc := testkit.Client(tb, sb, s.clock.Now, s.transport, qcc.WithTimeout(30*time.Second))
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

// TestLocalRefusalsSayTheyAreLocal: once QCC has paused calls (110 for a
// query, 116 for the day, 101 for the credentials) or the daily budget is
// spent, the next call is refused without reaching QCC, and its words say
// so, why, and until when. How long each pause lasts, what still goes
// through meanwhile and that cached answers are still served are the
// guard's tests (qcc/guard); internal/replicas checks them end to end.
func TestLocalRefusalsSayTheyAreLocal(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		budget     int            // MaxCallsPerDay; 0: none
		first      map[string]any // the search that makes QCC (or the budget) pause calls
		firstWords []string       // words of QCC's own answer to it
		next       map[string]any // a search refused locally after it
		nextWords  []string
		later      time.Duration // when set, the refusal again this much later...
		laterWords []string      // ...with these words
	}{
		"110 for one query": {
			first:      map[string]any{"company": "sandbox-status-110"},
			firstWords: []string{"QCC status 110"},
			next:       map[string]any{"company": "sandbox-status-110"},
			nextWords:  []string{"QCC status 110", "Answered locally, without calling QCC", "until 2026-11-27T12:00:00+08:00"},
			later:      time.Hour + 59*time.Minute,
			laterWords: []string{"Answered locally, without calling QCC", "until 2026-11-27T12:00:00+08:00", "(in 1 min)"},
		},
		"116 for the day": {
			first:      map[string]any{"company": "sandbox-status-116"},
			firstWords: []string{"QCC status 116"},
			next:       map[string]any{"company": bigCompany},
			nextWords:  []string{"QCC status 116", "Answered locally, without calling QCC", "2026-11-28 00:00"},
		},
		"101 for the credentials": {
			first:      map[string]any{"company": "sandbox-status-101"},
			firstWords: []string{"QCC status 101"},
			next:       map[string]any{"company": docCompany},
			nextWords: []string{"QCC status 101", "Answered locally, without calling QCC",
				"paused until " + fixedNow.Add(guard.DefaultCredentialCooldown).Format(time.RFC3339)},
		},
		"daily budget, a forced fetch": {
			budget:    1,
			first:     map[string]any{"company": docCompany},
			next:      map[string]any{"company": docCompany, "max_age_seconds": 0},
			nextWords: []string{"daily budget of 1 QCC calls used up", "Answered locally, without calling QCC", "00:00 Beijing"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testGuardConfig()
			cfg.MaxCallsPerDay = tc.budget
			e := newCostEnv(t, cfg)
			res, text, _ := e.call(t, tools.SearchToolName, tc.first)
			e.wantCalls(t, 1) // none of these is retried
			if res.IsError != (tc.firstWords != nil) {
				t.Fatalf("first call: isError %v:\n%s", res.IsError, text)
			}
			wantText(t, text, tc.firstWords...)
			if strings.Contains(text, "Answered locally") {
				t.Errorf("QCC's own answer is described as local:\n%s", text)
			}

			wantText(t, e.mustFail(t, tools.SearchToolName, tc.next), tc.nextWords...)
			e.wantCalls(t, 1)
			if tc.later > 0 {
				e.clock.Advance(tc.later)
				wantText(t, e.mustFail(t, tools.SearchToolName, tc.next), tc.laterWords...)
				e.wantCalls(t, 1)
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
