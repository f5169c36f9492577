package sessions

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
)

// replicas starts n replicas sharing one Redis store under one prefix.
func replicas(t *testing.T, rs *redistest.Server, n int, cfg Config, opts ...server.StreamableHTTPOption) []*replica {
	t.Helper()
	var out []*replica
	for range n {
		store, err := NewRedisStore(redisClient(t, rs), "qcc-mcp:test:")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, newReplica(t, store, cfg, false, opts...))
	}
	return out
}

func TestRedisSessionOnEveryReplica(t *testing.T) {
	rs := redistest.Start(t)
	rep := replicas(t, rs, 3, Config{})
	a, b, c := rep[0], rep[1], rep[2]

	sid := mustInitialize(t, a.URL)
	for i, r := range rep {
		if got := ping(t, r.URL, sid); got != http.StatusOK {
			t.Errorf("session opened on A, ping on replica %d: %d", i, got)
		}
		if got := ping(t, r.URL, madeUp); got != http.StatusNotFound {
			t.Errorf("made-up id on replica %d: %d, want 404", i, got)
		}
	}
	if got := del(t, c.URL, sid); got != http.StatusOK {
		t.Fatalf("DELETE on C: %d", got)
	}
	for i, r := range rep {
		if got := ping(t, r.URL, sid); got != http.StatusNotFound {
			t.Errorf("after DELETE on C, ping on replica %d: %d, want 404", i, got)
		}
	}
	if got := del(t, b.URL, sid); got != http.StatusNotFound {
		t.Errorf("second DELETE on B: %d, want 404", got)
	}

	// Redis holds one key under the prefix, and no session id in it.
	sid2 := mustInitialize(t, b.URL)
	ctx := context.Background()
	keys, err := redisClient(t, rs).Keys(ctx, "*").Result()
	if err != nil || len(keys) != 1 || keys[0] != "qcc-mcp:test:"+RedisKeySuffix {
		t.Fatalf("keys %v (%v), want only the prefixed sessions key", keys, err)
	}
	members, _ := redisClient(t, rs).ZRange(ctx, keys[0], 0, -1).Result()
	for _, m := range members {
		if strings.Contains(sid2, m) || strings.Contains(m, sid2[len(idPrefix):]) {
			t.Errorf("Redis holds a usable session id: %q", m)
		}
	}
	if len(members) != 1 {
		t.Errorf("members %v, want the one open session", members)
	}
}

// TestRedisActivityElsewhereKeepsAlive: a session used only on B outlives
// its TTL on A, and one nobody uses ends on every replica.
func TestRedisActivityElsewhereKeepsAlive(t *testing.T) {
	rs := redistest.Start(t)
	const ttl = time.Second
	rep := replicas(t, rs, 2, Config{IdleTTL: ttl})
	a, b := rep[0], rep[1]

	sid := mustInitialize(t, a.URL)
	idle := mustInitialize(t, a.URL)
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(ttl / 10) {
		if got := ping(t, b.URL, sid); got != http.StatusOK {
			t.Fatalf("ping on B: %d", got)
		}
	}
	if got := ping(t, a.URL, sid); got != http.StatusOK {
		t.Errorf("after 3 TTLs of activity on B, ping on A: %d, want 200", got)
	}
	for _, r := range rep {
		if got := ping(t, r.URL, idle); got != http.StatusNotFound {
			t.Errorf("idle past its TTL: %d, want 404", got)
		}
	}
}

// TestRedisSweeperAndShutdownStayLocal: mcp-go's idle sweeper and its
// CloseSessions on one replica end nothing on the others.
func TestRedisSweeperAndShutdownStayLocal(t *testing.T) {
	rs := redistest.Start(t)
	const ttl = time.Second // mcp-go sweeps every max(ttl/2, 1s)
	rep := replicas(t, rs, 2, Config{IdleTTL: 3 * ttl}, server.WithSessionIdleTTL(ttl))
	a, b := rep[0], rep[1]

	sid := mustInitialize(t, a.URL)
	if got := ping(t, a.URL, sid); got != http.StatusOK {
		t.Fatal(got)
	}
	// A's sweeper forgets the session once A has not seen it for its TTL.
	testkit.WaitFor(t, "A's sweeper to terminate the session", func() bool {
		if got := ping(t, b.URL, sid); got != http.StatusOK {
			t.Fatalf("ping on B while A sweeps: %d", got)
		}
		time.Sleep(50 * time.Millisecond)
		return !a.m.knownLocally(sid)
	})
	for i, r := range rep {
		if got := ping(t, r.URL, sid); got != http.StatusOK {
			t.Errorf("after A's sweep, ping on replica %d: %d, want 200", i, got)
		}
	}

	// Shutdown: CloseSessions terminates the sessions with a GET stream on A.
	status, ended, closeStream := openStream(t, a.URL, sid, sse)
	defer closeStream()
	if status != http.StatusOK {
		t.Fatalf("GET stream on A: %d", status)
	}
	testkit.WaitFor(t, "the stream to register", func() bool { return a.m.knownLocally(sid) })
	a.streamable.CloseSessions(context.Background())
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("CloseSessions did not end A's stream")
	}
	if a.m.knownLocally(sid) {
		t.Error("CloseSessions did not reach the Manager (nil-request Terminate)")
	}
	if got := ping(t, b.URL, sid); got != http.StatusOK {
		t.Errorf("after A's CloseSessions, ping on B: %d, want 200", got)
	}
}

// TestRedisStreamEndsWhenSessionEndsElsewhere: a GET stream on A is closed
// once the session is deleted on B.
func TestRedisStreamEndsWhenSessionEndsElsewhere(t *testing.T) {
	rs := redistest.Start(t)
	rep := replicas(t, rs, 2, Config{IdleTTL: time.Second})
	sid := mustInitialize(t, rep[0].URL)
	status, ended, closeStream := openStream(t, rep[0].URL, sid, sse)
	defer closeStream()
	if status != http.StatusOK {
		t.Fatal(status)
	}
	if got := del(t, rep[1].URL, sid); got != http.StatusOK {
		t.Fatal(got)
	}
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream on A outlived the DELETE on B by 2 s (want within TTL/10)")
	}
}

func TestRedisCapAcrossReplicas(t *testing.T) {
	rs := redistest.Start(t)
	rep := replicas(t, rs, 3, Config{MaxSessions: 5})
	urls := []string{rep[0].URL, rep[1].URL, rep[2].URL}
	if n := concurrentInitializes(t, urls, 30); n != 5 {
		t.Fatalf("30 concurrent initializes on 3 replicas, cap 5: %d opened", n)
	}
	for _, u := range urls {
		if _, status := initialize(t, u); status != http.StatusServiceUnavailable {
			t.Errorf("initialize over the cap: %d, want 503", status)
		}
	}
}

// TestRedisOutage: with Redis gone, sessions seen on a replica keep
// working there, others are refused, new ones open locally, nothing waits
// long; when Redis is back, sharing resumes without restarts.
func TestRedisOutage(t *testing.T) {
	rs := redistest.Start(t)
	log := &testkit.SyncBuffer{}
	store := func() Store {
		s, err := NewRedisStore(redisClient(t, rs), "p:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := newReplica(t, store(), Config{Logger: slogTo(log)}, false)
	b := newReplica(t, store(), Config{}, false)
	seen := mustInitialize(t, a.URL)
	notSeenOnB := mustInitialize(t, a.URL)

	for name, hang := range map[string]bool{"killed": false, "hung (SIGSTOP)": true} {
		if hang {
			rs.Stop()
		} else {
			rs.Kill()
		}
		start := time.Now()
		if got := ping(t, a.URL, seen); got != http.StatusOK {
			t.Errorf("%s: session seen on A, ping on A: %d, want 200", name, got)
		}
		if got := ping(t, b.URL, notSeenOnB); got != http.StatusNotFound {
			t.Errorf("%s: session not seen on B, ping on B: %d, want 404", name, got)
		}
		if got := ping(t, a.URL, madeUp); got != http.StatusNotFound {
			t.Errorf("%s: made-up id: %d", name, got)
		}
		local := mustInitialize(t, a.URL)
		if got := ping(t, a.URL, local); got != http.StatusOK {
			t.Errorf("%s: session opened during the outage, ping on A: %d", name, got)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: five requests took %v; each Store call must stop at 250 ms", name, took)
		}
		if hang {
			rs.Cont()
		} else {
			rs.Restart() // empty: the outage lost every session
		}
		time.Sleep(breakerPause + 100*time.Millisecond)
		if got := ping(t, a.URL, local); got != http.StatusOK {
			t.Errorf("%s: after recovery, the outage's session on A: %d", name, got)
		}
		if got := ping(t, b.URL, local); got != http.StatusOK {
			t.Errorf("%s: after recovery, the outage's session on B: %d (it was written on its first use)", name, got)
		}
		seen = local
	}
	if !strings.Contains(log.String(), "session store unreachable") || !strings.Contains(log.String(), "session store reachable again") {
		t.Errorf("log lacks the outage and recovery lines:\n%s", log)
	}
}
