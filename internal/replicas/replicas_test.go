package replicas

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// TestRepeatedQuestionPaidOnce: a question asked again on any replica is
// answered from the shared cache.
func TestRepeatedQuestionPaidOnce(t *testing.T) {
	t.Parallel()
	eachEra(t, func(t *testing.T, era protocolEra) {
		c := startCluster(t, 3)
		cl := c.client(era.version)
		for range 6 {
			mustAnswer(t, cl, docCompany)
		}
		if n := c.qccCalls(); n != 1 {
			t.Errorf("6 identical questions over 3 replicas made %d QCC calls, want 1", n)
		}
	})
}

// TestConcurrentIdenticalCallsShareOneRequest: 30 identical calls at once,
// spread over the replicas while QCC takes its time, make one QCC request.
func TestConcurrentIdenticalCallsShareOneRequest(t *testing.T) {
	t.Parallel()
	eachEra(t, func(t *testing.T, era protocolEra) {
		c := startCluster(t, 3)
		c.delay.Store(int64(400 * time.Millisecond))
		cl := c.client(era.version)
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() { mustAnswer(t, cl, docCompany) })
		}
		wg.Wait()
		if n := c.qccCalls(); n != 1 {
			t.Errorf("30 concurrent identical calls over 3 replicas made %d QCC calls, want 1", n)
		}
	})
}

// TestBudgetAcrossReplicas: with a budget of 7 a day, 60 concurrent
// distinct calls over 3 replicas send exactly 7 to QCC; the rest are
// refused with the budget's error.
func TestBudgetAcrossReplicas(t *testing.T) {
	t.Parallel()
	eachEra(t, func(t *testing.T, era protocolEra) {
		c := startCluster(t, 3, "--max-calls-per-day", "7")
		cl := c.client(era.version)
		var (
			wg               sync.WaitGroup
			mu               sync.Mutex
			answered, budget int
			other            []string
		)
		for _, company := range distinct(era.name, 60) {
			wg.Go(func() {
				res, err := search(cl, company)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && !res.IsError:
					answered++
				case err == nil && strings.Contains(testkit.ResultText(res), "budget"):
					budget++
				default:
					other = append(other, testkit.DescribeCall(company, res, err))
				}
			})
		}
		wg.Wait()
		if n := c.qccCalls(); n != 7 || answered != 7 || budget != 53 {
			t.Errorf("QCC calls %d, answered %d, refused for the budget %d; want 7, 7, 53; other outcomes: %v", n, answered, budget, other)
		}
	})
}

// TestCooldownsAcrossReplicas: after QCC answers 116 (daily limit) on one
// replica, the others refuse every call locally; after 110 for a query,
// the others refuse that query.
func TestCooldownsAcrossReplicas(t *testing.T) {
	t.Parallel()
	eachEra(t, func(t *testing.T, era protocolEra) {
		c := startCluster(t, 3)
		cl := c.client(era.version) // request by request over replicas 0, 1, 2, 0, ...

		res, err := search(cl, "sandbox-status-110")
		if err != nil || !res.IsError {
			t.Fatalf("110 trigger: %s", testkit.DescribeCall("", res, err))
		}
		for range 3 {
			res, err := search(cl, "sandbox-status-110")
			if err != nil || !res.IsError || !strings.Contains(testkit.ResultText(res), "110") {
				t.Fatalf("110 again: %s", testkit.DescribeCall("", res, err))
			}
		}
		if n := c.qccCalls(); n != 1 {
			t.Fatalf("after 110 the same query made %d QCC calls on other replicas, want only the first", n-1)
		}

		if res, err := search(cl, "sandbox-status-116"); err != nil || !res.IsError {
			t.Fatalf("116 trigger: %s", testkit.DescribeCall("", res, err))
		}
		for _, company := range distinct("cooldown", 4) {
			res, err := search(cl, company)
			if err != nil || !res.IsError || !strings.Contains(testkit.ResultText(res), "116") {
				t.Fatalf("after 116, %s: %s", company, testkit.DescribeCall("", res, err))
			}
		}
		if n := c.qccCalls(); n != 2 {
			t.Errorf("after 116 the replicas made %d more QCC calls, want 0", n-2)
		}
	})
}

// TestLegacySessionOnEveryReplica: a session opened on A works on B; a
// DELETE on C ends it on every replica; a made-up id is refused.
func TestLegacySessionOnEveryReplica(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	a, b, cc := c.reps[0].URL, c.reps[1].URL, c.reps[2].URL
	status, sid := post(t, a, "", legacyInit)
	if status != http.StatusOK || sid == "" {
		t.Fatalf("initialize on A: %d, session %q", status, sid)
	}
	if status, _ := post(t, b, sid, legacyPing); status != http.StatusOK {
		t.Errorf("ping on B with A's session: %d, want 200", status)
	}
	if status, _ := post(t, cc, "mcp-session-00000000000000000000000000000000", legacyPing); status != http.StatusNotFound {
		t.Errorf("made-up session on C: %d, want 404", status)
	}
	if status := del(t, cc, sid); status != http.StatusOK {
		t.Fatalf("DELETE on C: %d", status)
	}
	for i, r := range c.reps {
		if status, _ := post(t, r.URL, sid, legacyPing); status != http.StatusNotFound {
			t.Errorf("after DELETE on C, ping on replica %d: %d, want 404", i, status)
		}
	}
}

// TestSSEMessageOnWrongReplica: legacy SSE needs affinity; a /message that
// lands on a replica without the stream is refused at once with a 4xx.
func TestSSEMessageOnWrongReplica(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	endpoint := openSSE(t, c.reps[0].URL)
	send := func(base string) (int, time.Duration) {
		start := time.Now()
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(base+endpoint, "application/json", strings.NewReader(legacyInit))
		if err != nil {
			t.Fatalf("POST %s on %s: %v", endpoint, base, err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if status, took := send(c.reps[1].URL); status < 400 || status >= 500 || took > time.Second {
		t.Errorf("/message on the wrong replica: %d after %s, want a 4xx at once", status, took)
	}
	if status, _ := send(c.reps[0].URL); status >= 300 {
		t.Errorf("/message on the stream's replica: %d, want it accepted", status)
	}
}
