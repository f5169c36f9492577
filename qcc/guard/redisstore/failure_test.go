package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/syncbuf"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// every calls each store method once and returns each one's error and
// duration, by name.
func every(ctx context.Context, s *Store) map[string]struct {
	err error
	d   time.Duration
} {
	out := map[string]struct {
		err error
		d   time.Duration
	}{}
	run := func(name string, f func() error) {
		t0 := time.Now()
		err := f()
		out[name] = struct {
			err error
			d   time.Duration
		}{err, time.Since(t0)}
	}
	now := time.Now()
	run("GetAnswer", func() error { _, _, err := s.GetAnswer(ctx, "q"); return err })
	run("PutAnswer", func() error { return s.PutAnswer(ctx, "q", []byte("r"), now.Add(time.Hour)) })
	run("Cooldowns", func() error { _, err := s.Cooldowns(ctx, []string{"quota"}, now); return err })
	run("ExtendCooldown", func() error {
		return s.ExtendCooldown(ctx, "quota", guard.Cooldown{Code: 116, Since: now, Until: now.Add(time.Hour)})
	})
	run("Reserve", func() error { _, _, err := s.Reserve(ctx, "d", 5, 0); return err })
	run("Refund", func() error { return s.Refund(ctx, "d") })
	run("Used", func() error { _, err := s.Used(ctx, "d"); return err })
	run("Lead", func() error { _, _, err := s.Lead(ctx, "f", time.Second); return err })
	run("Await", func() error { return s.Await(ctx, "f") })
	return out
}

// changes records OnChange notifications.
type changes struct {
	mu  sync.Mutex
	got []bool
}

func (c *changes) add(up bool) { c.mu.Lock(); c.got = append(c.got, up); c.mu.Unlock() }
func (c *changes) list() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bool(nil), c.got...)
}

// slack is what a loaded 2-core machine under -race adds to a deadline.
const slack = 200 * time.Millisecond

func TestKilledFailsFastThenRecovers(t *testing.T) {
	srv := redistest.Start(t)
	var log syncbuf.Buffer
	s := openStore(t, Options{URL: srv.URL() + "", AppKey: newAppKey(), Logger: debugLogger(&log)})
	var ch changes
	s.OnChange(ch.add)
	ctx := context.Background()
	if res := every(ctx, s); res["Reserve"].err != nil {
		t.Fatal(res["Reserve"].err)
	}

	srv.Kill()
	for name, r := range every(ctx, s) {
		if !errors.Is(r.err, ErrUnavailable) {
			t.Errorf("%s with Redis killed: %v, want ErrUnavailable", name, r.err)
		}
		if r.d > DefaultOpTimeout+slack {
			t.Errorf("%s with Redis killed took %s", name, r.d)
		}
	}
	if s.Up() {
		t.Fatal("still up after failures")
	}
	// Open breaker: at once, without trying (trying would take up to
	// DefaultOpTimeout; the bound is a fifth of it, for a loaded machine).
	for name, r := range every(ctx, s) {
		if !errors.Is(r.err, ErrCircuitOpen) || r.d > DefaultOpTimeout/5 {
			t.Errorf("%s with the breaker open: %v after %s", name, r.err, r.d)
		}
	}
	var ue *UnavailableError
	if _, _, err := s.Reserve(ctx, "d", 1, 0); !errors.As(err, &ue) || ue.Op != "reserve" {
		t.Fatalf("typed error: %#v", err)
	}

	srv.Restart()
	waitUntil(t, 3*time.Second, "the store comes back by itself", s.Up)
	if res := every(ctx, s); res["Reserve"].err != nil || res["GetAnswer"].err != nil {
		t.Fatalf("after restart: %v / %v", res["Reserve"].err, res["GetAnswer"].err)
	}
	if got := ch.list(); len(got) != 2 || got[0] || !got[1] {
		t.Fatalf("OnChange calls = %v, want [false true]", got)
	}
	out := log.String()
	if strings.Count(out, "redis down") != 1 || strings.Count(out, "redis back") != 1 {
		t.Fatalf("want one down and one back message:\n%s", out)
	}
}

func TestStoppedBoundedByDeadline(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, Options{URL: srv.URL(), AppKey: newAppKey()})
	ctx := context.Background()
	l := s.NewLimiter(LimiterOptions{Rate: 100, Burst: 10})
	_ = every(ctx, s)

	srv.Stop()
	for name, r := range every(ctx, s) {
		if r.err == nil {
			t.Errorf("%s answered by a frozen Redis", name)
		}
		if r.d > DefaultOpTimeout+slack {
			t.Errorf("%s with Redis frozen took %s", name, r.d)
		}
	}
	// Concurrent callers too, and the limiter degrades instead of hanging.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			_, _, _ = s.Reserve(ctx, "d", 5, 0)
			err := l.Wait(ctx)
			if d := time.Since(t0); d > 2*DefaultOpTimeout+slack || err != nil {
				t.Errorf("frozen Redis: Reserve+Wait took %s, Wait error %v", d, err)
			}
		}()
	}
	wg.Wait()
	if s.Up() {
		t.Fatal("up while frozen")
	}
	srv.Cont()
	waitUntil(t, 3*time.Second, "the store comes back after SIGCONT", s.Up)
	if _, ok, err := s.Reserve(ctx, "d2", 5, 0); !ok || err != nil {
		t.Fatalf("after SIGCONT: %v %v", ok, err)
	}
}

func TestOpen(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()

	for _, bad := range []string{"http://h:1", "redis://", "redis://:hunter2@h:1/notadb", "redis://:hunter2@[::1"} {
		_, err := Open(ctx, Options{URL: bad})
		if err == nil {
			t.Errorf("Open(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error shows the password: %v", bad, err)
		}
	}
	if o, err := parseURL("rediss://u:p@h:6380/2"); err != nil || o.TLSConfig == nil || o.DB != 2 || o.Username != "u" {
		t.Fatalf("rediss URL: %+v %v", o, err)
	}

	// Database number: the keys land in db 3.
	s3 := openStore(t, Options{URL: "redis://" + srv.Addr() + "/3", AppKey: "a"})
	_ = s3.PutAnswer(ctx, "q", []byte("r"), time.Now().Add(time.Hour))
	raw := rawClient(t, srv)
	if raw.DBSize(ctx).Val() != 0 || raw.Do(ctx, "SELECT", "3").Err() != nil {
		t.Fatal("db 0 got the key")
	}

	// Passwords, in the URL or apart; a wrong one is refused at Open.
	if err := raw.ConfigSet(ctx, "requirepass", "hunter2").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, Options{URL: "redis://:wrong@" + srv.Addr()})
	if err == nil || errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong password: %v", err)
	}
	for _, o := range []Options{
		{URL: "redis://:hunter2@" + srv.Addr()},
		{URL: "redis://default:hunter2@" + srv.Addr()},
		{URL: "redis://:wrong@" + srv.Addr(), Password: "hunter2"},
	} {
		s := openStore(t, o)
		if _, _, err := s.Reserve(ctx, "d", 0, 0); err != nil {
			t.Fatalf("password from %+v: %v", o, err)
		}
	}

	// Redis not there yet: Open succeeds, the store starts down and comes
	// up when Redis does.
	srv.Kill()
	var ch changes
	s := openStore(t, Options{URL: srv.URL(), BreakerOpenFor: 100 * time.Millisecond})
	s.OnChange(ch.add)
	if s.Up() {
		t.Fatal("up without a Redis")
	}
	srv.Restart()
	waitUntil(t, 2*time.Second, "a store opened during an outage comes up", s.Up)
	if got := ch.list(); len(got) != 1 || !got[0] {
		t.Fatalf("OnChange = %v", got)
	}
}

// TestGoRedisLogsRouted: go-redis's own messages reach our logger, not the
// standard logger on stderr.
func TestGoRedisLogsRouted(t *testing.T) {
	var log syncbuf.Buffer
	srv := redistest.Start(t)
	s := openStore(t, Options{URL: srv.URL(), Logger: debugLogger(&log)})
	srv.Kill()
	for range 5 {
		_, _, _ = s.Reserve(context.Background(), "d", 0, 0)
	}
	if strings.Contains(log.String(), "component=go-redis") {
		return
	}
	// go-redis need not log on every failure; then at least the store did.
	if !strings.Contains(log.String(), "redis down") {
		t.Fatalf("nothing logged:\n%s", log.String())
	}
}

// TestCallerDeadlineIsNoRedisFailure: callers whose own deadline is
// shorter than the operation's give up on a frozen Redis without opening
// the breaker; otherwise a few impatient callers would make the budget
// fail closed for every other caller.
func TestCallerDeadlineIsNoRedisFailure(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, Options{URL: srv.URL(), AppKey: newAppKey(), BreakerFailures: 2})
	if _, _, err := s.Reserve(context.Background(), "d", 5, 0); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	defer srv.Cont()
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, _, err := s.Reserve(ctx, "d", 5, 0)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d past its own deadline: %v, want the context's error", i, err)
		}
	}
	if !s.Up() {
		t.Fatal("callers' own deadlines opened the breaker")
	}
	// Its own deadline passing is still a failure.
	for range 2 {
		if _, _, err := s.Reserve(context.Background(), "d", 5, 0); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("operation deadline on a frozen Redis: %v", err)
		}
	}
	if s.Up() {
		t.Fatal("the operation's own deadlines did not open the breaker")
	}
}
