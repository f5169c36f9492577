package guard

import (
	"context"
	"sync"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

func TestCachedSearchAndBudgetLeftSpendNothing(t *testing.T) {
	e := newEnv(t, Config{MaxCallsPerDay: 3})
	p := qcc.SearchParams{SearchKey: "企查查科技有限公司"}
	if _, ok := e.g.CachedSearch(context.Background(), p); ok {
		t.Fatal("cached before any search")
	}
	if left, limited := e.g.BudgetLeft(context.Background()); !limited || left != 3 {
		t.Fatalf("budget left %d %v, want 3 true", left, limited)
	}
	e.mustSearch(p.SearchKey)
	res, ok := e.g.CachedSearch(context.Background(), qcc.SearchParams{SearchKey: " 企查查科技 有限公司"})
	if !ok || res.Cache != CacheHit || len(res.Items) != 5 {
		t.Fatalf("cached answer %v %v", res, ok)
	}
	if left, _ := e.g.BudgetLeft(context.Background()); left != 2 {
		t.Errorf("budget left %d, want 2", left)
	}
	e.wantCalls(1)
	if u := e.g.Usage(); u.CacheHits != 0 {
		t.Errorf("a peek counted as %d cache hits", u.CacheHits)
	}
	if _, limited := newEnv(t, Config{}).g.BudgetLeft(context.Background()); limited {
		t.Error("no budget set, yet limited")
	}
}

func TestWaitHookHearsRateLimitWaitsAndRetries(t *testing.T) {
	e := newEnv(t, Config{Rate: 50, Burst: 1})
	var mu sync.Mutex
	var waits []Wait
	ctx := WithWaitHook(context.Background(), func(w Wait) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, w)
	})
	for _, key := range []string{"企查查科技有限公司", "苏州云帆智能制造股份有限公司", "sandbox-http-502"} {
		_, _ = e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: key})
	}
	var rate, retry int
	for _, w := range waits {
		switch w.Reason {
		case "rate_limit":
			rate++
		case "retry":
			retry++
		}
	}
	if rate < 2 || retry != 2 {
		t.Errorf("heard %d rate-limit waits and %d retries, want at least 2 and 2: %v", rate, retry, waits)
	}
}
