package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

func TestQueryCooldownAfter110(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 110})
	_, err := e.search(company)
	if qe := asError(t, err); qe.Code != 110 || qe.Local != "" {
		t.Fatalf("first call: %v, want QCC's own 110", err)
	}
	e.wantCalls(1) // 110 is not retried

	_, err = e.search(" " + company) // the same query, spelled differently
	qe := wantLocal(t, err, 110, qcc.KindThrottled, "QCC answered 110 for this exact query at 2026-11-27T10:00:00+08:00; not sent again until 2026-11-27T12:00:00+08:00")
	if !qe.RetryAt().Equal(start.Add(2 * time.Hour)) {
		t.Errorf("RetryAt = %v, want %v", qe.RetryAt(), start.Add(2*time.Hour))
	}
	e.wantCalls(1)

	// Other queries still go through.
	e.mustSearch(company2)
	e.wantCalls(2)

	e.clock.Advance(time.Hour + 59*time.Minute)
	_, err = e.search(company)
	qe = wantLocal(t, err, 110, qcc.KindThrottled, "not sent again until")
	if !qe.RetryAt().Equal(start.Add(2 * time.Hour)) {
		t.Errorf("after 1h59m: RetryAt = %v, want %v", qe.RetryAt(), start.Add(2*time.Hour))
	}
	e.wantCalls(2)

	e.clock.Advance(2 * time.Minute)
	if res := e.mustSearch(company); res.Cache != CacheMiss {
		t.Fatalf("after 2h01m: Cache = %q", res.Cache)
	}
	e.wantCalls(3)
	if u := e.g.Usage(); u.LocalRefusals != 2 || u.UpstreamCalls["110"] != 1 {
		t.Errorf("usage = %+v", u)
	}
	if !strings.Contains(e.logs.String(), "code=110") {
		t.Errorf("no warning logged for the cooldown:\n%s", e.logs)
	}
}

func TestQuotaCooldownUntilBeijingMidnight(t *testing.T) {
	t.Parallel()
	midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, qcc.Beijing)
	for _, code := range []int{109, 116} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Config{})
			e.mustSearch(company) // cached before the quota runs out
			e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: code})
			if _, err := e.search(company2); asError(t, err).Code != code {
				t.Fatalf("want QCC's %d, got %v", code, err)
			}
			e.wantCalls(2)

			e.clock.Advance(13*time.Hour + 59*time.Minute) // 23:59 Beijing
			_, err := e.search(company3)
			qe := wantLocal(t, err, code, qcc.KindQuotaExhausted, "no call is sent to QCC until 00:00 Beijing time (2026-11-28T00:00:00+08:00)")
			if !qe.RetryAt().Equal(midnight) {
				t.Errorf("RetryAt = %v, want %v", qe.RetryAt(), midnight)
			}
			_, err = e.g.GetCertificationDetailByID(context.Background(), "any-id")
			wantLocal(t, err, code, qcc.KindQuotaExhausted, "00:00 Beijing")
			if res := e.mustSearch(company); res.Cache != CacheHit {
				t.Errorf("cached answer: Cache = %q, want hit", res.Cache)
			}
			e.wantCalls(2)

			e.clock.Advance(time.Minute)
			e.mustSearch(company3)
			e.wantCalls(3)
		})
	}
}

func TestCredentialCodesPauseAndAreNotRetried(t *testing.T) {
	t.Parallel()
	const pause = 5 * time.Minute
	for _, code := range []int{101, 102, 103, 104, 107, 112, 115, 119} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Config{CredentialCooldown: pause})
			e.mustSearch(company)
			e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: code})
			_, err := e.search(company2)
			if qe := asError(t, err); qe.Code != code || qe.Local != "" {
				t.Fatalf("want QCC's %d, got %v", code, err)
			}
			e.wantCalls(2) // exactly one request for the failing call

			info, _ := qcc.LookupStatus(code)
			_, err = e.search(company3)
			wantLocal(t, err, code, info.Kind, "calls to QCC are paused until 2026-11-27T10:05:00+08:00")
			if res := e.mustSearch(company); res.Cache != CacheHit {
				t.Errorf("cached answer: Cache = %q, want hit", res.Cache)
			}
			e.clock.Advance(pause - time.Second)
			_, err = e.search(company3)
			wantLocal(t, err, code, info.Kind, "paused")
			e.wantCalls(2)

			e.clock.Advance(time.Second)
			e.mustSearch(company3)
			e.wantCalls(3)
		})
	}

	t.Run("wrong secret key", func(t *testing.T) {
		t.Parallel()
		c := testkit.NewClock()
		sb := sandbox.New(sandbox.Config{Now: c.Now})
		client, err := qcc.New(sandbox.DemoAppKey, "not-the-secret-key",
			qcc.WithHTTPClient(&http.Client{Transport: sb.Transport()}), qcc.WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		g, err := New(client, testConfig(Config{Now: c.Now}))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		ctx := context.Background()
		if _, err := g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company}); asError(t, err).Code != 107 {
			t.Fatalf("want QCC's 107, got %v", err)
		}
		_, err = g.GetCertificationDetailByID(ctx, "any-id")
		wantLocal(t, err, 107, qcc.KindAuth, "paused until 2026-11-27T10:01:00+08:00")
		if n := sb.TotalCalls(); n != 1 {
			t.Fatalf("%d upstream calls, want 1", n)
		}
	})
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		faults  []sandbox.Fault
		cfg     Config
		calls   int
		wantErr string // "" for success; else the outcome's Usage label
	}{
		{"502 then success", []sandbox.Fault{{HTTPStatus: 502}}, Config{}, 2, ""},
		{"503 twice then success", []sandbox.Fault{{HTTPStatus: 503}, {HTTPStatus: 503}}, Config{}, 3, ""},
		{"500 three times", []sandbox.Fault{{HTTPStatus: 500}, {HTTPStatus: 500}, {HTTPStatus: 500}}, Config{}, 3, "http_500"},
		{"429 with a short Retry-After then success", []sandbox.Fault{{HTTPStatus: 429, RetryAfter: "1"}}, Config{}, 2, ""},
		{"429 asking for a long wait is left to the caller", []sandbox.Fault{{HTTPStatus: 429, RetryAfter: "30"}}, Config{}, 1, "http_429"},
		{"429 without Retry-After is left to the caller", []sandbox.Fault{{HTTPStatus: 429}}, Config{}, 1, "http_429"},
		{"503 with a long Retry-After is left to the caller", []sandbox.Fault{{HTTPStatus: 503, RetryAfter: "120"}}, Config{}, 1, "http_503"},
		{"205 then success", []sandbox.Fault{{QCCStatus: 205}}, Config{}, 2, ""},
		{"malformed then success", []sandbox.Fault{{Malformed: true}}, Config{}, 2, ""},
		{"truncated then success", []sandbox.Fault{{Truncated: true}}, Config{}, 2, ""},
		{"retries off", []sandbox.Fault{{HTTPStatus: 502}}, Config{MaxRetries: Off}, 1, "http_502"},
		{"one retry", []sandbox.Fault{{HTTPStatus: 502}, {HTTPStatus: 502}}, Config{MaxRetries: 1}, 2, "http_502"},
		{"404 is not retried", []sandbox.Fault{{HTTPStatus: 404}}, Config{}, 1, "http_404"},
		{"403 is not retried", []sandbox.Fault{{HTTPStatus: 403}}, Config{}, 1, "http_403"},
		{"202 is not retried", []sandbox.Fault{{QCCStatus: 202}}, Config{}, 1, "202"},
		{"203 (a minute) is not retried", []sandbox.Fault{{QCCStatus: 203}}, Config{}, 1, "203"},
		{"120 (a minute) is not retried", []sandbox.Fault{{QCCStatus: 120}}, Config{}, 1, "120"},
		{"106 is not retried", []sandbox.Fault{{QCCStatus: 106}}, Config{}, 1, "106"},
		{"110 is not retried", []sandbox.Fault{{QCCStatus: 110}}, Config{}, 1, "110"},
		{"109 is not retried", []sandbox.Fault{{QCCStatus: 109}}, Config{}, 1, "109"},
		{"101 is not retried", []sandbox.Fault{{QCCStatus: 101}}, Config{}, 1, "101"},
		{"a retry past the deadline is not started", []sandbox.Fault{{HTTPStatus: 502}},
			Config{RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour}, 1, "http_502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.cfg)
			for _, f := range tt.faults {
				e.sb.FailNext(qcc.MethodSearch, 1, f)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company})
			e.wantCalls(tt.calls)
			if tt.wantErr == "" {
				if err != nil || len(res.Items) == 0 {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			if got := outcome(nil, err); got != tt.wantErr {
				t.Fatalf("error %v, want %s", err, tt.wantErr)
			}
			if u := e.g.Usage(); u.UpstreamCalls[tt.wantErr] != tt.calls {
				t.Errorf("usage %v, want %d × %s", u.UpstreamCalls, tt.calls, tt.wantErr)
			}
		})
	}
}

func TestDailyBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxCallsPerDay: 4})
	e.mustSearch(company)                                                // 1
	e.sb.FailNext(qcc.MethodSearch, 3, sandbox.Fault{HTTPStatus: 502})   // retried twice: 3 more
	if _, err := e.search(company2); asError(t, err).HTTPStatus != 502 { // 4
		t.Fatalf("want the 502, got %v", err)
	}
	e.wantCalls(4)

	_, err := e.search(company3)
	qe := wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 4 QCC calls used up; resets at 00:00 Beijing (2026-11-28T00:00:00+08:00)")
	if !qe.Operator || !qe.RetryAt().Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, qcc.Beijing)) {
		t.Errorf("Operator %v, RetryAt %v", qe.Operator, qe.RetryAt())
	}
	if res := e.mustSearch(company); res.Cache != CacheHit {
		t.Errorf("cached answer: Cache = %q, want hit", res.Cache)
	}
	e.wantCalls(4)
	if u := e.g.Usage(); u.BudgetLimit != 4 || u.BudgetUsedToday != 4 || u.LocalRefusals != 1 {
		t.Errorf("usage = %+v", u)
	}

	e.clock.Advance(14 * time.Hour) // 00:00 Beijing: a new day
	e.mustSearch(company3)
	e.wantCalls(5)
	if u := e.g.Usage(); u.BudgetUsedToday != 1 {
		t.Errorf("new day: used %d, want 1", u.BudgetUsedToday)
	}
}

// A retry that the budget stops leaves the caller with the failure being
// retried, not with the budget error.
func TestBudgetStopsRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxCallsPerDay: 2})
	e.sb.FailNext(qcc.MethodSearch, 3, sandbox.Fault{HTTPStatus: 502})
	_, err := e.search(company)
	if qe := asError(t, err); qe.HTTPStatus != 502 {
		t.Fatalf("got %v, want the 502", err)
	}
	e.wantCalls(2)
	_, err = e.search(company)
	wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 2")
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	// One request per 10 seconds: the second request cannot get a slot
	// within a deadline of 2 seconds, however slow the machine.
	e := newEnv(t, Config{Rate: 0.1, Burst: 1})
	e.mustSearch(company)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company2})
	qe := wantLocal(t, err, 0, qcc.KindLocalLimit, "rate limit of 0.1 calls/s")
	if !qe.Retry.Retryable || qe.Retry.After <= 0 || ctx.Err() != nil {
		t.Errorf("Retry %+v, ctx %v: want a retryable refusal before the deadline", qe.Retry, ctx.Err())
	}
	// Cache hits need no slot.
	if res, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company}); err != nil || res.Cache != CacheHit {
		t.Fatalf("cache hit: %v", err)
	}
	e.wantCalls(1)
}

// enteredLimiter is the real token bucket, telling the test when a caller
// has started to wait on it.
type enteredLimiter struct {
	*rate.Limiter
	entered chan struct{}
}

func (l enteredLimiter) Wait(ctx context.Context) error {
	l.entered <- struct{}{}
	return l.Limiter.Wait(ctx)
}

// TestRateLimitWaitEndsWhenCanceled: without a deadline a call waits for
// its slot until canceled. The cancel comes only once the call waits on
// the limiter, so a guard that did not wait would answer instead.
func TestRateLimitWaitEndsWhenCanceled(t *testing.T) {
	t.Parallel()
	lim := enteredLimiter{rate.NewLimiter(0.1, 1), make(chan struct{}, 1)}
	e := newEnv(t, Config{Limiter: lim})
	e.mustSearch(company) // takes the one slot of the next 10 seconds
	select {
	case <-lim.entered:
	default:
		t.Fatal("the first call did not ask the limiter for a slot")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company3})
		done <- err
	}()
	select {
	case <-lim.entered:
	case err := <-done:
		t.Fatalf("the call ended without waiting for a slot: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, qcc.KindCanceled) {
		t.Fatalf("canceled wait: %v", err)
	}
	e.wantCalls(1)
}

// TestRateLimitOff sends 20 calls within one 2-second deadline with a
// burst of 1: any rate limit of 10 calls/s or less would refuse some.
func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Rate: Off, Burst: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for i := range 20 {
		p := qcc.SearchParams{SearchKey: company2, PageSize: 1, PageIndex: i + 1}
		if _, err := e.g.SearchCertification(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	e.wantCalls(20)
}

func TestSecretKeyNeverInErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxCallsPerDay: 8, CredentialCooldown: time.Hour})
	var errs []error
	collect := func(_ any, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	e.sb.FailNext(qcc.MethodSearch, 3, sandbox.Fault{HTTPStatus: 502})
	collect(e.search(company))
	collect(e.search("sandbox-malformed"))
	collect(e.search("sandbox-status-110"))
	collect(e.search("sandbox-status-110"))
	collect(e.search("sandbox-status-107"))
	collect(e.search(company2))
	if len(errs) != 6 {
		t.Fatalf("%d errors, want 6", len(errs))
	}
	for _, err := range errs {
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(text, sandbox.DemoSecretKey) {
				t.Errorf("error shows the secret key: %s", text)
			}
		}
	}
	if strings.Contains(e.logs.String(), sandbox.DemoSecretKey) {
		t.Error("the log shows the secret key")
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	client := newEnv(t, Config{}).client
	tests := map[string]Config{
		"negative cache size":  {CacheMaxBytes: -1},
		"negative burst":       {Burst: -1},
		"NaN rate":             {Rate: math.NaN()},
		"negative budget":      {MaxCallsPerDay: -1},
		"negative retry delay": {RetryBaseDelay: -time.Second},
	}
	for name, cfg := range tests {
		if g, err := New(client, cfg); err == nil {
			g.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("nil upstream: New succeeded")
	}
	g, err := New(client, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.ttl != DefaultCacheTTL || g.mem.maxBytes != DefaultCacheMaxBytes || g.perSecond != DefaultRate ||
		g.limiter.(*rate.Limiter).Burst() != DefaultBurst || g.maxRetries != DefaultMaxRetries || g.retryBase != DefaultRetryBaseDelay ||
		g.limits.credentialCooldown != DefaultCredentialCooldown || g.limits.maxPerDay != 0 || !g.cacheOn {
		t.Errorf("zero Config did not give the defaults: %+v", g)
	}
	off, err := New(client, Config{CacheTTL: Off, Rate: Off, MaxRetries: Off, CredentialCooldown: Off})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if off.cacheOn || off.limiter != nil || off.maxRetries != 0 || off.limits.credentialCooldown > 0 {
		t.Errorf("Off did not turn things off: %+v", off)
	}
}

func TestUsageLogValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxCallsPerDay: 10})
	e.mustSearch(company)
	e.mustSearch(company)
	e.mustSearch(noResult)
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("usage", "usage", e.g.Usage())
	for _, want := range []string{"usage.upstream_total=2", "usage.upstream.200=1", "usage.upstream.201=1",
		"usage.cache_hits=1", "usage.cache_misses=2", "usage.budget_used_today=2", "usage.budget_limit=10"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q lacks %q", buf.String(), want)
		}
	}
}

// TestStopCallingCodesPause sends the sandbox's trigger for each code the
// status table marks "stop calling" (too many illegal or abnormal
// requests, data may not leave China): after QCC's answer, every call is
// paused for the credential cooldown, so that the key is not pushed on
// towards a ban.
func TestStopCallingCodesPause(t *testing.T) {
	t.Parallel()
	const pause = 3 * time.Minute
	for _, code := range []int{106, 108, 121} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Config{CredentialCooldown: pause})
			trigger := fmt.Sprintf("sandbox-status-%d", code)
			if _, err := e.search(trigger); asError(t, err).Code != code {
				t.Fatalf("want QCC's %d, got %v", code, err)
			}
			e.wantCalls(1)
			_, err := e.search(company)
			wantLocal(t, err, code, qcc.KindBlocked, "calls to QCC are paused until 2026-11-27T10:03:00+08:00")
			_, err = e.g.GetCertificationDetailByID(context.Background(), "any-id")
			wantLocal(t, err, code, qcc.KindBlocked, "paused")
			e.wantCalls(1)
			e.clock.Advance(pause)
			e.mustSearch(company)
			e.wantCalls(2)
		})
	}
}

// TestEveryCodePausesAsTheTableSays drives each documented code through
// the guard and checks the pause against the code's qcc.Pause: a guard
// that decided pauses by codes of its own would fail here for any code the
// table changes.
func TestEveryCodePausesAsTheTableSays(t *testing.T) {
	t.Parallel()
	for _, info := range qcc.StatusCodes() {
		if info.Code == 200 || info.Code == 201 || info.Code == 205 {
			continue // answers, and 205 is retried at once
		}
		t.Run(fmt.Sprint(info.Code), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Config{MaxRetries: Off, CredentialCooldown: time.Hour})
			e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: info.Code})
			if _, err := e.search(company); asError(t, err).Code != info.Code {
				t.Fatalf("want QCC's %d, got %v", info.Code, err)
			}
			_, sameErr := e.search(company)
			_, otherErr := e.search(company2)
			sameLocal := sameErr != nil && asError(t, sameErr).Local != ""
			otherLocal := otherErr != nil && asError(t, otherErr).Local != ""
			switch info.Pause.Scope {
			case qcc.PauseNone:
				if sameLocal || otherLocal {
					t.Errorf("pause %v: calls refused locally (same %v, other %v)", info.Pause, sameErr, otherErr)
				}
			case qcc.PauseQuery:
				if !sameLocal || otherLocal {
					t.Errorf("pause %v: same query %v, other %v", info.Pause, sameErr, otherErr)
				}
			case qcc.PauseAll:
				if !sameLocal || !otherLocal {
					t.Errorf("pause %v: same query %v, other %v", info.Pause, sameErr, otherErr)
				}
			}
		})
	}
}

// TestSharedStateHoldsTheBudgetAcrossGuards gives two guards, as two
// replicas would have, one StateStore (the default implementation, shared
// through Config.State): the day's budget is spent once between them, and
// a cooldown one of them met holds the other back.
func TestSharedStateHoldsTheBudgetAcrossGuards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	state, _ := newLocalState(nil, e.clock.Now(), nil)
	a, b := newEnv(t, Config{MaxCallsPerDay: 2, State: state}), newEnv(t, Config{MaxCallsPerDay: 2, State: state})
	a.mustSearch(company)
	b.mustSearch(company2)
	_, err := a.search(company3)
	wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 2")
	if u := b.g.Usage(); u.BudgetUsedToday != 2 {
		t.Errorf("b sees %d calls today, want 2", u.BudgetUsedToday)
	}

	state, _ = newLocalState(nil, e.clock.Now(), nil)
	a, b = newEnv(t, Config{State: state}), newEnv(t, Config{State: state})
	if _, err := a.search("sandbox-status-109"); asError(t, err).Code != 109 {
		t.Fatalf("want QCC's 109, got %v", err)
	}
	_, err = b.search(company)
	wantLocal(t, err, 109, qcc.KindQuotaExhausted, "00:00 Beijing")
	b.wantCalls(0)
}

// TestBeijingDayKept checks the kept day names against formatting, around
// Beijing midnights and before 1970.
func TestBeijingDayKept(t *testing.T) {
	for _, base := range []time.Time{
		time.Date(2024, 2, 28, 0, 0, 0, 0, qcc.Beijing), time.Date(1969, 12, 31, 0, 0, 0, 0, qcc.Beijing),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC),
	} {
		for _, d := range []time.Duration{-time.Second, 0, time.Second, time.Hour, 16 * time.Hour, 24*time.Hour - time.Second, 24 * time.Hour, 48 * time.Hour} {
			now := base.Add(d)
			for range 2 { // once made, once kept
				if got, want := beijingDay(now), now.In(qcc.Beijing).Format(beijingDayLayout); got != want {
					t.Fatalf("beijingDay(%v) = %s, want %s", now, got, want)
				}
			}
		}
	}
}
