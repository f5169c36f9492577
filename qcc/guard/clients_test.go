package guard

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

func (e *env) searchAs(client, key string) (*qcc.SearchResult, error) {
	e.t.Helper()
	return e.g.SearchCertification(WithClient(context.Background(), client), qcc.SearchParams{SearchKey: key})
}

func TestPerClientCapStopsOneCallerOnly(t *testing.T) {
	e := newEnv(t, Config{MaxCallsPerClientPerDay: 2, MaxCallsPerDay: 10})
	for _, k := range []string{company, company2} {
		if _, err := e.searchAs("static:alice", k); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.searchAs("static:alice", company3)
	refusal := wantLocal(t, err, 0, qcc.KindLocalLimit, "per caller")
	if !errors.Is(err, errClientBudget) || refusal.Operator || !refusal.Retry.AtBeijingMidnight {
		t.Fatalf("refusal %+v", refusal)
	}
	e.wantCalls(2)
	// What alice already asked is still answered, from the cache.
	if res, err := e.searchAs("static:alice", company); err != nil || res.Cache != CacheHit {
		t.Fatalf("cached answer for a capped caller: %v %v", res, err)
	}
	// Bob is not affected; calls without a caller are not capped per caller.
	if _, err := e.searchAs("static:bob", company3); err != nil {
		t.Fatalf("bob refused: %v", err)
	}
	e.wantCalls(3)
	if used, limit := e.g.ClientUsedToday(context.Background(), "static:alice"); used != 2 || limit != 2 {
		t.Fatalf("alice used %d of %d, want 2 of 2", used, limit)
	}
	if used, _ := e.g.ClientUsedToday(context.Background(), "static:bob"); used != 1 {
		t.Fatalf("bob used %d, want 1", used)
	}
	if u := e.g.Usage(); u.BudgetUsedToday != 3 || u.Total() != 3 {
		t.Fatalf("global count %d, upstream %d, want 3 and 3", u.BudgetUsedToday, u.Total())
	}
	// A new Beijing day gives alice her share again.
	e.clock.Advance(24 * time.Hour)
	if _, err := e.searchAs("static:alice", company3); err != nil {
		t.Fatalf("next day: %v", err)
	}
	e.wantCalls(4)
}

func TestPerClientCapIsSharedThroughTheStateStore(t *testing.T) {
	// Two guards on one StateStore stand for two replicas on one Redis.
	shared, _ := newLocalState(nil, start, nil)
	a := newEnv(t, Config{MaxCallsPerClientPerDay: 1, State: shared})
	b := newEnv(t, Config{MaxCallsPerClientPerDay: 1, State: shared})
	b.clock = a.clock
	if _, err := a.searchAs("oauth:user-1", company); err != nil {
		t.Fatal(err)
	}
	if _, err := b.searchAs("oauth:user-1", company2); !errors.Is(err, errClientBudget) {
		t.Fatalf("second replica: got %v, want the per-caller refusal", err)
	}
	if _, err := b.searchAs("oauth:user-2", company2); err != nil {
		t.Fatalf("another caller on the second replica: %v", err)
	}
	if a.sb.TotalCalls()+b.sb.TotalCalls() != 2 {
		t.Fatalf("QCC calls %d+%d, want 2", a.sb.TotalCalls(), b.sb.TotalCalls())
	}
}

func TestPerClientCountsSurviveARestartWithACacheFile(t *testing.T) {
	e := newEnv(t, Config{MaxCallsPerClientPerDay: 1, CacheFile: filepath.Join(t.TempDir(), "cache.db")})
	if _, err := e.searchAs("static:alice", company); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if _, err := e.searchAs("static:alice", company2); !errors.Is(err, errClientBudget) {
		t.Fatalf("after a restart: got %v, want the per-caller refusal", err)
	}
	e.wantCalls(0)
}

func TestPerClientCountsWithoutACapStayInMemory(t *testing.T) {
	// Without a cap nothing needs the count shared or saved: the state
	// store is not written per call (a Redis script, or a state file
	// write, each), and the caller's own usage is still reported.
	shared, _ := newLocalState(nil, start, nil)
	e := newEnv(t, Config{State: shared})
	for _, k := range []string{company, company2} {
		if _, err := e.searchAs("static:alice", k); err != nil {
			t.Fatal(err)
		}
	}
	key := clientDay(beijingDay(e.clock.Now()), "static:alice")
	if n, _ := shared.Used(context.Background(), key); n != 0 {
		t.Fatalf("the state store counted %d calls of a caller without a cap, want none", n)
	}
	if used, limit := e.g.ClientUsedToday(context.Background(), "static:alice"); used != 2 || limit != 0 {
		t.Fatalf("alice used %d (limit %d), want 2 (no limit)", used, limit)
	}
	e.clock.Advance(24 * time.Hour)
	if used, _ := e.g.ClientUsedToday(context.Background(), "static:alice"); used != 0 {
		t.Fatalf("next day alice used %d, want 0", used)
	}
}
