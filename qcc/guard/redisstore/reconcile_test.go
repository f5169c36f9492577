package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard/redisstore"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// TestConcurrentReconcilesAddOnce: the requests a guard counted itself
// while Redis was down are added to the shared count once, however many
// callers reconcile at the same time when it is back (every reservation
// does, and so does the app's hook on Redis coming back).
func TestConcurrentReconcilesAddOnce(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.Open(context.Background(), redisstore.Options{URL: srv.URL(), AppKey: sandbox.DemoAppKey,
		BreakerOpenFor: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sb := testkit.Sandbox(nil)
	g, err := guard.New(testkit.Client(t, sb, nil, nil), guard.Config{Rate: guard.Off, MaxCallsPerDay: 100,
		BudgetLocalAllowance: 3, Answers: s, State: s, Flights: s, SharedUp: s.Up})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	ctx := context.Background()
	search := func(i int) {
		t.Helper()
		if _, err := g.SearchCertification(ctx, qcc.SearchParams{SearchKey: fmt.Sprintf("对账测试公司%03d号", i)}); err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
	}
	search(0) // shared count 1
	srv.Kill()
	for i := 1; i <= 3; i++ {
		search(i) // counted by the guard itself
	}
	srv.Restart() // empty: re-seeded from the 1 the guard knows
	testkit.WaitFor(t, "the store comes back", s.Up)

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { g.Reconcile(ctx) })
	}
	wg.Wait()
	day := time.Now().In(qcc.Beijing).Format("2006-01-02")
	if n, err := s.Used(ctx, day); err != nil || n != 4 {
		t.Fatalf("shared count after 20 concurrent reconciles: %d (%v), want 1 + the 3 counted locally", n, err)
	}
	if u := g.Usage(); u.BudgetUsedToday != 4 {
		t.Errorf("the guard reports %d used today, want 4", u.BudgetUsedToday)
	}
}
