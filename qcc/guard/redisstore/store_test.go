package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

var bj = time.FixedZone("CST", 8*3600)

func TestAnswers(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, Options{URL: srv.URL(), AppKey: newAppKey()})
	ctx := context.Background()

	if _, found, err := s.GetAnswer(ctx, "search|a"); err != nil || found {
		t.Fatalf("empty store: found=%v err=%v", found, err)
	}
	rec := []byte("\x01record")
	if err := s.PutAnswer(ctx, "search|a", rec, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.GetAnswer(ctx, "search|a")
	if err != nil || !found || !bytes.Equal(got, rec) {
		t.Fatalf("hit: %q %v %v", got, found, err)
	}

	// The entry carries its own expiry.
	raw := rawClient(t, srv)
	if ttl := raw.PTTL(ctx, s.answerKey("search|a")).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("answer PTTL = %s, want about 1h", ttl)
	}
	if err := s.PutAnswer(ctx, "short", rec, time.Now().Add(80*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Second, "a short-lived answer expires", func() bool {
		_, found, _ := s.GetAnswer(ctx, "short")
		return !found
	})
	// An answer already expired is not stored at all.
	if err := s.PutAnswer(ctx, "past", rec, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := raw.Exists(ctx, s.answerKey("past")).Val(); n != 0 {
		t.Fatal("an expired answer was stored")
	}

	// Long keys are hashed, and two long keys stay apart.
	long1, long2 := strings.Repeat("甲", 100)+"1", strings.Repeat("甲", 100)+"2"
	_ = s.PutAnswer(ctx, long1, []byte("one"), time.Now().Add(time.Hour))
	_ = s.PutAnswer(ctx, long2, []byte("two"), time.Now().Add(time.Hour))
	if k := s.answerKey(long1); len(k) > 120 || strings.Contains(k, "甲") {
		t.Fatalf("long key stored as %q", k)
	}
	if got, _, _ := s.GetAnswer(ctx, long2); string(got) != "two" {
		t.Fatalf("long key 2 = %q", got)
	}

	// The store's clock, not the wall clock, turns expiry into a TTL.
	fake := time.Date(2030, 1, 1, 0, 0, 0, 0, bj)
	fs := openStore(t, Options{URL: srv.URL(), AppKey: newAppKey(), Now: func() time.Time { return fake }})
	_ = fs.PutAnswer(ctx, "k", rec, fake.Add(time.Minute))
	if ttl := raw.PTTL(ctx, fs.answerKey("k")).Val(); ttl < 59*time.Second {
		t.Fatalf("answer PTTL with a fake clock = %s, want about 1m", ttl)
	}
}

// TestKeyLayout checks what operators rely on: no app key in Redis, state
// keys in one hash slot and without TTL, answers with TTL.
func TestKeyLayout(t *testing.T) {
	srv := redistest.Start(t)
	app := "secret-app-key-0123456789"
	s := openStore(t, Options{URL: srv.URL(), AppKey: app})
	ctx := context.Background()
	now := time.Now()
	_ = s.PutAnswer(ctx, "q", []byte("r"), now.Add(time.Hour))
	_ = s.ExtendCooldown(ctx, "quota", guard.Cooldown{Code: 116, Since: now, Until: now.Add(time.Hour)})
	_, _, _ = s.Reserve(ctx, "2026-11-27", 10, 0)
	_ = s.NewLimiter(LimiterOptions{Rate: 5, Burst: 5}).Wait(ctx)

	raw := rawClient(t, srv)
	keys := raw.Keys(ctx, "*").Val()
	if len(keys) != 5 {
		t.Fatalf("keys = %q, want 5", keys)
	}
	tag := ""
	for _, k := range keys {
		if strings.Contains(k, app) {
			t.Fatalf("key %q holds the app key", k)
		}
		if !strings.Contains(k, ":"+FormatVersion+":") {
			t.Fatalf("key %q carries no format version", k)
		}
		ttl := raw.PTTL(ctx, k).Val()
		if strings.Contains(k, ":a:") {
			if ttl <= 0 || strings.Contains(k, "{") {
				t.Fatalf("answer key %q: ttl %s (want one), tag in key", k, ttl)
			}
			continue
		}
		if strings.HasSuffix(k, "rate") {
			continue // redis_rate expires its own key once the bucket is full again
		}
		if ttl != -1 {
			t.Fatalf("state key %q has ttl %s; state must carry none", k, ttl)
		}
		kt := k[strings.Index(k, "{") : strings.Index(k, "}")+1]
		if tag != "" && kt != tag {
			t.Fatalf("state keys in different slots: %q vs %q", kt, tag)
		}
		tag = kt
	}
	// Another app key: other keys entirely.
	o := openStore(t, Options{URL: srv.URL(), AppKey: app + "x"})
	if o.plain == s.plain || o.state == s.state {
		t.Fatal("two app keys share a prefix")
	}
}

func TestCooldownNeverShortened(t *testing.T) {
	srv := redistest.Start(t)
	rs := replicas(t, srv, 3)
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, bj)
	at := func(h int) guard.Cooldown {
		return guard.Cooldown{Code: 110, Message: fmt.Sprintf("%dh", h), Since: now, Until: now.Add(time.Duration(h) * time.Hour)}
	}
	if err := rs[0].ExtendCooldown(ctx, "query/x", at(2)); err != nil {
		t.Fatal(err)
	}
	if err := rs[1].ExtendCooldown(ctx, "query/x", at(1)); err != nil { // shorter: ignored
		t.Fatal(err)
	}
	got, err := rs[2].Cooldowns(ctx, []string{"query/x", "quota"}, now)
	if err != nil || len(got) != 1 || got["query/x"].Message != "2h" || !got["query/x"].Until.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("after a shorter write: %+v %v", got, err)
	}
	_ = rs[1].ExtendCooldown(ctx, "query/x", at(3)) // longer: taken
	if got, _ := rs[0].Cooldowns(ctx, []string{"query/x"}, now); got["query/x"].Message != "3h" {
		t.Fatalf("after a longer write: %+v", got)
	}
	// Ended cooldowns are not returned.
	if got, _ := rs[0].Cooldowns(ctx, []string{"query/x"}, now.Add(3*time.Hour)); len(got) != 0 {
		t.Fatalf("an ended cooldown returned: %+v", got)
	}
	// Concurrent writers from every replica: the longest wins.
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = rs[i%3].ExtendCooldown(ctx, "credential", at(4+i%17))
		}()
	}
	wg.Wait()
	if got, _ := rs[0].Cooldowns(ctx, []string{"credential"}, now); got["credential"].Message != "20h" {
		t.Fatalf("concurrent writers: %+v", got)
	}
	if got, err := rs[0].Cooldowns(ctx, nil, now); err != nil || len(got) != 0 {
		t.Fatalf("no names: %v %v", got, err)
	}
	// A later write drops cooldowns ended long ago (state has no TTL).
	later := guard.Cooldown{Code: 116, Since: now.Add(30 * time.Hour), Until: now.Add(31 * time.Hour)}
	_ = rs[0].ExtendCooldown(ctx, "quota", later)
	if n := rawClient(t, srv).HLen(ctx, rs[0].cooldownsKey()).Val(); n != 1 {
		t.Fatalf("%d cooldowns kept, want only the live one", n)
	}
}

func TestReserveConcurrentAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	rs := replicas(t, srv, 3)
	ctx := context.Background()
	const day = "2026-11-27"
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, counted, err := rs[i%3].Reserve(ctx, day, 7, 0)
			if err != nil {
				t.Error(err)
			}
			if counted {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 7 {
		t.Fatalf("%d reservations counted, want exactly 7", ok.Load())
	}
	if n, err := rs[1].Used(ctx, day); n != 7 || err != nil {
		t.Fatalf("Used = %d, %v", n, err)
	}
	used, counted, _ := rs[0].Reserve(ctx, day, 7, 0)
	if used != 7 || counted {
		t.Fatalf("at the cap: %d %v", used, counted)
	}
	if err := rs[2].Refund(ctx, day); err != nil {
		t.Fatal(err)
	}
	if used, counted, _ := rs[0].Reserve(ctx, day, 7, 0); used != 7 || !counted {
		t.Fatalf("after a refund: %d %v", used, counted)
	}
	// No cap, and another day counts apart.
	if used, counted, _ := rs[0].Reserve(ctx, "2026-11-28", 0, 0); used != 1 || !counted {
		t.Fatalf("no cap: %d %v", used, counted)
	}
	// Refund never goes below zero.
	_ = rs[0].Refund(ctx, "2026-11-29")
	if n, _ := rs[0].Used(ctx, "2026-11-29"); n != 0 {
		t.Fatalf("refund of an empty day left %d", n)
	}
}

// TestReserveFloorAfterFlush: a Redis emptied mid-day never lets the day's
// budget be spent twice.
func TestReserveFloorAfterFlush(t *testing.T) {
	srv := redistest.Start(t)
	rs := replicas(t, srv, 2)
	ctx := context.Background()
	const day, limit = "2026-11-27", 5
	known := 0
	for range 3 {
		used, ok, err := rs[0].Reserve(ctx, day, limit, known)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		known = used
	}
	srv.FlushAll()
	spent := 0
	for range 10 {
		used, ok, err := rs[1].Reserve(ctx, day, limit, known)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			spent++
		}
		known = max(known, used)
	}
	if spent != limit-3 {
		t.Fatalf("after FLUSHALL %d more were spent, want %d", spent, limit-3)
	}
	if n, _ := rs[0].Used(ctx, day); n != limit {
		t.Fatalf("Used = %d, want %d", n, limit)
	}
}

func TestLimiterShared(t *testing.T) {
	srv := redistest.Start(t)
	rs := replicas(t, srv, 3)
	ctx := context.Background()
	const rate, burst, calls = 20.0, 2, 12
	ls := make([]*RateLimiter, 3)
	for i := range ls {
		ls[i] = rs[i].NewLimiter(LimiterOptions{Rate: rate, Burst: burst, Replicas: 3})
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ls[i%3].Wait(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// (calls - burst) emissions at 1/rate each, across all replicas.
	want := time.Duration(float64(calls-burst) / rate * float64(time.Second))
	if el := time.Since(start); el < want-60*time.Millisecond {
		t.Fatalf("%d waits took %s; a shared %g/s limit needs at least %s", calls, el, rate, want)
	}

	// The bucket is drained now: a deadline before the next slot (1/rate,
	// 50 ms, after the slot ls[0] just took) fails at once, with
	// ErrRateDeadline and before the deadline itself, not by sleeping to
	// it. The deadline leaves room for a Redis round trip on a loaded
	// machine under the race detector (one took 4.4 ms in CI).
	const deadline = 30 * time.Millisecond
	for ls[0].Wait(ctx) == nil && time.Since(start) < 5*time.Second {
		dctx, cancel := context.WithTimeout(ctx, deadline)
		t0 := time.Now()
		err := ls[1].Wait(dctx)
		took := time.Since(t0)
		cancel()
		if err == nil {
			continue // the slot came just in time; try again
		}
		if !errors.Is(err, ErrRateDeadline) || took >= deadline {
			t.Fatalf("Wait with a %s deadline: %v after %s", deadline, err, took)
		}
		return
	}
	t.Fatal("never saw a Wait refused for its deadline")
}

func TestLimiterFallsBackToLocalShare(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, Options{URL: srv.URL(), AppKey: newAppKey()})
	var fallbacks atomic.Int32
	l := s.NewLimiter(LimiterOptions{Rate: 30, Burst: 3, Replicas: 3, OnFallback: func() { fallbacks.Add(1) }})
	srv.Kill()
	ctx := context.Background()
	start := time.Now()
	for range 4 {
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("Wait with Redis down: %v", err)
		}
	}
	// Local share: 10/s, burst 1 → 3 more emissions of 100 ms each.
	if el := time.Since(start); el < 280*time.Millisecond {
		t.Fatalf("4 waits on the local share took %s, want >= 300ms", el)
	}
	if fallbacks.Load() != 4 {
		t.Fatalf("OnFallback called %d times, want 4", fallbacks.Load())
	}
}
