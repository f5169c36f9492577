package replicas

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// deadline is the default Redis deadline, which the outage cases measure.
var deadline = []string{"--redis-timeout", "250ms"}

// warm asks docCompany once through each replica, so that each holds the
// answer in memory (one QCC call in all).
func warm(t *testing.T, c *cluster, version string) *client.Client {
	t.Helper()
	cl := c.client(version)
	for range c.reps {
		mustAnswer(t, cl, docCompany)
	}
	if n := c.qccCalls(); n != 1 {
		t.Fatalf("warming made %d QCC calls, want 1", n)
	}
	return cl
}

// timed runs one search and fails if it took longer than within.
func timed(t *testing.T, cl *client.Client, company string, within time.Duration) (string, bool) {
	t.Helper()
	start := time.Now()
	res, err := search(cl, company)
	if took := time.Since(start); took > within {
		t.Errorf("search %s took %s, want at most %s", company, took, within)
	}
	if err != nil {
		t.Fatalf("search %s: %v", company, err)
	}
	return testkit.ResultText(res), !res.IsError
}

// TestRedisKilled: with Redis gone, cached answers are served at once, new
// questions are answered (no budget) or refused (budget), nothing hangs,
// /readyz stays ready, and the state is reported degraded.
func TestRedisKilled(t *testing.T) {
	t.Parallel()
	for _, era := range eras {
		t.Run(era.name+"/no-budget", func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, 3, deadline...)
			cl := warm(t, c, era.version)
			c.redis.Kill()
			for range 6 {
				if text, ok := timed(t, cl, docCompany, time.Second); !ok {
					t.Fatalf("cached answer with Redis gone: %s", text)
				}
			}
			if n := c.qccCalls(); n != 1 {
				t.Errorf("cached answers with Redis gone made %d QCC calls", n-1)
			}
			for _, company := range distinct("killed", 3) {
				if text, ok := timed(t, cl, company, 2*time.Second); !ok {
					t.Errorf("new question without a budget, Redis gone: %s", text)
				}
			}
			for i, r := range c.reps {
				testkit.WaitForMetric(t, r.URL+"/metrics", nil, "qcc_mcp_redis_up", 0)
				resp, err := http.Get(r.URL + "/readyz")
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("replica %d /readyz with Redis gone: %v %v", i, resp, err)
				} else {
					resp.Body.Close()
				}
			}
			if u := usage(t, cl); !strings.Contains(u, `"shared_state": "degraded"`) {
				t.Errorf("qcc://usage with Redis gone does not say degraded:\n%s", u)
			}
		})
		t.Run(era.name+"/budget", func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, 3, append(deadline, "--max-calls-per-day", "100")...)
			cl := warm(t, c, era.version)
			c.redis.Kill()
			if text, ok := timed(t, cl, docCompany, time.Second); !ok {
				t.Fatalf("cached answer with Redis gone: %s", text)
			}
			for _, company := range distinct("killed-budget", 3) {
				text, ok := timed(t, cl, company, 2*time.Second)
				if ok || !strings.Contains(text, "shared count") {
					t.Errorf("new question with a budget, Redis gone: answered %v, %s; want the shared-budget refusal", ok, text)
				}
			}
			if n := c.qccCalls(); n != 1 {
				t.Errorf("with a budget and Redis gone the replicas made %d QCC calls, want 0", n-1)
			}
			degraded := metric(t, c.reps[0], `qcc_mcp_degraded_operations_total{feature="budget"}`) +
				metric(t, c.reps[1], `qcc_mcp_degraded_operations_total{feature="budget"}`) +
				metric(t, c.reps[2], `qcc_mcp_degraded_operations_total{feature="budget"}`)
			if degraded < 3 {
				t.Errorf("degraded budget operations %v, want at least the 3 refused", degraded)
			}
		})
	}
}

// TestLocalAllowanceAddedBack: with --budget-local-allowance 2 a replica
// answers 2 new questions while Redis is gone and refuses the third; when
// Redis is back (empty) the two are added to the shared count.
func TestLocalAllowanceAddedBack(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2, append(deadline, "--max-calls-per-day", "100", "--budget-local-allowance", "2")...)
	one := c.client(eras[0].version, 0)
	mustAnswer(t, one, docCompany) // shared count 1
	c.redis.Kill()
	companies := distinct("allowance", 3)
	for i, company := range companies {
		text, ok := timed(t, one, company, 2*time.Second)
		if ok != (i < 2) {
			t.Errorf("question %d with Redis gone: answered %v (%s); want the first 2 answered", i+1, ok, text)
		}
	}
	if n := c.qccCalls(); n != 3 {
		t.Fatalf("QCC calls %d, want 1 + the allowance of 2", n)
	}
	c.redis.Restart() // empty: the count is re-seeded from what the replica knows
	c.waitRedisUp(1)
	testkit.WaitForMetric(t, c.reps[1].URL+"/metrics", nil, "qcc_mcp_budget_used_today", 3)
}

// TestRedisHung: a Redis that accepts connections and answers nothing
// (SIGSTOP) costs each call at most the operation deadlines; once it
// answers again, the replicas share again without a restart.
func TestRedisHung(t *testing.T) {
	t.Parallel()
	eachEra(t, func(t *testing.T, era protocolEra) {
		c := startCluster(t, 3, deadline...)
		cl := warm(t, c, era.version)
		c.redis.Stop()
		stopped := true
		defer func() {
			if stopped {
				c.redis.Cont()
			}
		}()
		// A call meets a few 250 ms deadlines before the breaker opens;
		// 2 s bounds that with room for a loaded machine.
		var wg sync.WaitGroup
		for _, company := range append(distinct("hung", 6), docCompany, docCompany) {
			wg.Go(func() {
				if text, ok := timed(t, cl, company, 2*time.Second); !ok {
					t.Errorf("with Redis hung, %s: %s", company, text)
				}
			})
		}
		wg.Wait()
		c.waitRedisUp(0)
		c.redis.Cont()
		stopped = false
		c.waitRedisUp(1)
		c.wantSharing(cl, "恢复后共享测试公司", "Redis came back")
	})
}

// TestRedisRestartedResumesSharing: Redis killed and started again empty;
// the replicas find it by themselves and share again. (A legacy session
// does not survive an empty restart: it lives in Redis. The client gets
// 404 and initializes again; TestRedisEmptiedMidDay does that.)
func TestRedisRestartedResumesSharing(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, deadline...)
	cl := warm(t, c, eras[0].version)
	c.redis.Kill()
	mustAnswer(t, cl, docCompany)
	for i, company := range distinct("during-outage", len(c.reps)) { // each replica meets the outage
		mustAnswer(t, c.client(eras[0].version, i), company)
		testkit.WaitForMetric(t, c.reps[i].URL+"/metrics", nil, "qcc_mcp_redis_up", 0)
	}
	c.redis.Restart()
	c.waitRedisUp(1)
	c.wantSharing(cl, "重启后共享测试公司", "Redis restarted")
	// One line when Redis went, one when it came back, on each replica,
	// and never the URL's secret parts.
	for i, buf := range c.logs {
		log := buf.String()
		if down, back := strings.Count(log, "redis down"), strings.Count(log, "redis back"); down != 1 || back != 1 {
			t.Errorf("replica %d logged %d x redis down and %d x redis back, want 1 each:\n%s", i, down, back, log)
		}
	}
}

// TestRedisEmptiedMidDay: Redis loses its data (FLUSHALL) after 4 of a
// budget of 7 were spent, all on replica A; replicas B and C, which only
// read the shared count (a metrics scrape, as Prometheus makes, is one such
// read), re-seed it from what they know, so only 3 more calls reach QCC.
func TestRedisEmptiedMidDay(t *testing.T) {
	t.Parallel()
	eachEra(t, func(t *testing.T, era protocolEra) {
		c := startCluster(t, 3, "--max-calls-per-day", "7")
		a := c.client(era.version, 0)
		for _, company := range distinct("before-flush", 4) {
			mustAnswer(t, a, company)
		}
		for _, r := range c.reps {
			if got := metric(t, r, "qcc_mcp_budget_used_today"); got != 4 {
				t.Fatalf("budget used %v, want 4", got)
			}
		}
		c.redis.FlushAll()
		// FLUSHALL took the legacy sessions too (they live in Redis),
		// so these clients are opened after it, as a legacy client
		// initializes again after any lost session.
		others := []*client.Client{c.client(era.version, 1), c.client(era.version, 2)}
		answered := 0
		for i, company := range distinct("after-flush", 10) {
			if res, err := search(others[i%2], company); err == nil && !res.IsError {
				answered++
			}
		}
		if n := c.qccCalls(); n != 7 || answered != 3 {
			t.Errorf("after FLUSHALL: %d QCC calls in all, %d answered on B and C; want 7 and 3", n, answered)
		}
	})
}

// TestCooldownOutlivesRedisLoss: a 109 that replica A met while Redis was
// down (so it could not be shared) is still refused on A once Redis is
// back, and on B and C once A has written it back; a 116 that Redis lost
// (FLUSHALL) is still refused on A, which writes it back for B and C.
func TestCooldownOutlivesRedisLoss(t *testing.T) {
	t.Parallel()
	wantRefused := func(t *testing.T, c *cluster, code string, prefix string) {
		t.Helper()
		for i, company := range distinct(prefix, len(c.reps)) {
			res, err := search(c.client(eras[0].version, i), company)
			if err != nil || !res.IsError || !strings.Contains(testkit.ResultText(res), code) {
				t.Errorf("replica %d, %s: %s; want QCC's %s repeated locally", i, prefix, testkit.DescribeCall("", res, err), code)
			}
		}
		if n := c.qccCalls(); n != 1 {
			t.Errorf("%s: %d QCC calls in all, want only the one answered %s", prefix, n, code)
		}
	}
	t.Run("met-during-outage", func(t *testing.T) {
		t.Parallel()
		c := startCluster(t, 3, deadline...)
		a := c.client(eras[0].version, 0)
		c.redis.Kill()
		if res, err := search(a, "sandbox-status-109"); err != nil || !res.IsError {
			t.Fatalf("109 trigger: %s", testkit.DescribeCall("", res, err))
		}
		c.redis.Restart() // empty
		c.waitRedisUp(1)
		testkit.WaitFor(t, "replica A writes its cooldowns back", func() bool {
			return strings.Contains(c.logs[0].String(), "cooldowns this process met are shared again")
		})
		wantRefused(t, c, "109", "after-outage")
	})
	t.Run("lost-by-flushall", func(t *testing.T) {
		t.Parallel()
		c := startCluster(t, 3)
		if res, err := search(c.client(eras[0].version, 0), "sandbox-status-116"); err != nil || !res.IsError {
			t.Fatalf("116 trigger: %s", testkit.DescribeCall("", res, err))
		}
		c.redis.FlushAll()
		wantRefused(t, c, "116", "after-flush") // A first: it writes the 116 back
	})
}
