package guard

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

func TestRepeatedCallIsCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	first := e.mustSearch(company)
	if first.Cache != CacheMiss || len(first.Items) == 0 {
		t.Fatalf("first call: Cache %q, %d items; want a miss with items", first.Cache, len(first.Items))
	}
	e.clock.Advance(time.Minute)
	first.Items[0].ID = "changed by the caller" // must not reach the cache

	second := e.mustSearch(company)
	e.wantCalls(1)
	if second.Cache != CacheHit {
		t.Errorf("second call: Cache = %q, want %q", second.Cache, CacheHit)
	}
	if !second.FetchedAt.Equal(first.FetchedAt) || !second.FetchedAt.Equal(start) {
		t.Errorf("second call: FetchedAt = %v, want the first fetch's %v", second.FetchedAt, first.FetchedAt)
	}
	if second.Items[0].ID == "changed by the caller" {
		t.Error("a caller's change to its result reached the cache")
	}

	d1, err := e.g.GetCertificationDetailByID(context.Background(), second.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := e.g.GetCertificationDetailByID(context.Background(), " "+second.Items[0].ID+" ")
	if err != nil {
		t.Fatal(err)
	}
	e.wantCalls(2)
	if d1.Cache != CacheMiss || d2.Cache != CacheHit || len(d2.Fields) != len(d1.Fields) {
		t.Errorf("detail: Cache %q then %q, fields %d then %d", d1.Cache, d2.Cache, len(d1.Fields), len(d2.Fields))
	}

	u := e.g.Usage()
	if u.CacheHits != 2 || u.CacheMisses != 2 || u.UpstreamCalls["200"] != 2 || u.Total() != 2 {
		t.Errorf("usage = %+v", u)
	}
}

// Spellings of one question share one cache entry, and different
// questions do not.
func TestEquivalentArgumentsShareAnEntry(t *testing.T) {
	t.Parallel()
	const paren = "华信创（北京）检测技术有限公司"
	tests := []struct {
		name   string
		a, b   qcc.SearchParams
		shared bool
	}{
		{"surrounding space", qcc.SearchParams{SearchKey: company}, qcc.SearchParams{SearchKey: "  " + company + "\t"}, true},
		{"inner space collapsed", qcc.SearchParams{SearchKey: "Acme  Trading\u3000Co"}, qcc.SearchParams{SearchKey: "Acme Trading Co"}, true},
		{"half-width parentheses", qcc.SearchParams{SearchKey: paren}, qcc.SearchParams{SearchKey: "华信创(北京)检测技术有限公司"}, true},
		{"default page size", qcc.SearchParams{SearchKey: company}, qcc.SearchParams{SearchKey: company, PageSize: 10}, true},
		{"default page", qcc.SearchParams{SearchKey: company}, qcc.SearchParams{SearchKey: company, PageIndex: 1}, true},
		{"category trimmed", qcc.SearchParams{SearchKey: company, CertCategory: "C_9"}, qcc.SearchParams{SearchKey: company, CertCategory: " C_9 "}, true},
		{"other page size", qcc.SearchParams{SearchKey: company}, qcc.SearchParams{SearchKey: company, PageSize: 5}, false},
		{"other page", qcc.SearchParams{SearchKey: company}, qcc.SearchParams{SearchKey: company, PageIndex: 2}, false},
		{"fuzzy", qcc.SearchParams{SearchKey: company}, qcc.SearchParams{SearchKey: company, Fuzzy: true}, false},
		{"category", qcc.SearchParams{SearchKey: company}, qcc.SearchParams{SearchKey: company, CertCategory: "C_9"}, false},
		{"inner space kept", qcc.SearchParams{SearchKey: "Acme Co"}, qcc.SearchParams{SearchKey: "AcmeCo"}, false},
		{"quote in key", qcc.SearchParams{SearchKey: `a" "b`}, qcc.SearchParams{SearchKey: "a", CertCategory: "b"}, false},
	}
	for _, tt := range tests {
		_, ka := searchQuery(tt.a)
		_, kb := searchQuery(tt.b)
		if (ka == kb) != tt.shared {
			t.Errorf("%s: keys %q and %q, shared = %v, want %v", tt.name, ka, kb, ka == kb, tt.shared)
		}
	}

	// Through the stack: the parenthesised name answers once.
	e := newEnv(t, Config{})
	a := e.mustSearch(paren)
	b := e.mustSearch("  华信创(北京)检测技术有限公司 ")
	e.wantCalls(1)
	if b.Cache != CacheHit || len(b.Items) != len(a.Items) || len(a.Items) == 0 {
		t.Errorf("second spelling: Cache %q, %d items, want a hit with %d", b.Cache, len(b.Items), len(a.Items))
	}
}

func TestNormalizeSearchKey(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                 "",
		" ":                "",
		"企查查":              "企查查",
		"  a  b  ":         "a b",
		"a\u00a0\u3000b":   "a b",
		"a\tb":             "a b",
		"a (b) c":          "a （b） c",
		"（已经全角）":           "（已经全角）",
		"Acme Trading Co.": "Acme Trading Co.",
	}
	for in, want := range tests {
		if got := qcc.NormalizeCompanyName(in); got != want {
			t.Errorf("NormalizeCompanyName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoResultIsCachedErrorsAreNot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	for i, want := range []CacheState{CacheMiss, CacheHit} {
		res := e.mustSearch(noResult)
		if res.Status != 201 || res.Cache != want {
			t.Fatalf("call %d: status %d cache %q, want 201 %q", i, res.Status, res.Cache, want)
		}
	}
	e.wantCalls(1)

	tests := []struct {
		name  string
		call  func() error
		calls int // after two calls
	}{
		{"QCC error", func() error {
			e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 203})
			_, err := e.search(company2)
			return err
		}, 2},
		{"detail not found (201) is an answer, kept like a search's", func() error {
			_, err := e.g.GetCertificationDetailByID(context.Background(), "no-such-certificate")
			if !errors.Is(err, qcc.KindNoResult) {
				t.Errorf("unknown id: %v, want a no_result error", err)
			}
			return err
		}, 1},
		{"argument refused by QCC", func() error {
			_, err := e.search("sandbox-status-202")
			return err
		}, 2},
	}
	for _, tt := range tests {
		before := e.sb.TotalCalls()
		for i := range 2 {
			if err := tt.call(); err == nil {
				t.Fatalf("%s: call %d succeeded", tt.name, i)
			}
		}
		if got := e.sb.TotalCalls() - before; got != tt.calls {
			t.Errorf("%s: %d upstream calls for two calls, want %d", tt.name, got, tt.calls)
		}
	}
}

func TestTTLExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{CacheTTL: time.Hour})
	e.mustSearch(company)
	e.clock.Advance(59 * time.Minute)
	if res := e.mustSearch(company); res.Cache != CacheHit {
		t.Fatalf("after 59m: Cache = %q, want hit", res.Cache)
	}
	e.clock.Advance(time.Minute)
	res := e.mustSearch(company)
	if res.Cache != CacheMiss || !res.FetchedAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("after 1h: Cache %q fetched %v, want a new fetch", res.Cache, res.FetchedAt)
	}
	e.wantCalls(2)
}

func TestCacheDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{CacheTTL: Off})
	for range 2 {
		if res := e.mustSearch(company); res.Cache != CacheMiss {
			t.Fatalf("Cache = %q, want miss", res.Cache)
		}
	}
	e.wantCalls(2)
}

func TestMaxAge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{})
	e.mustSearch(company)
	e.clock.Advance(10 * time.Minute)

	call := func(maxAge time.Duration) *qcc.SearchResult {
		t.Helper()
		ctx := WithMaxAge(context.Background(), maxAge)
		res, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := call(time.Hour); res.Cache != CacheHit || !res.FetchedAt.Equal(start) {
		t.Fatalf("max age 1h: Cache %q fetched %v, want the 10-minute-old answer", res.Cache, res.FetchedAt)
	}
	res := call(5 * time.Minute)
	if res.Cache != CacheMiss || !res.FetchedAt.Equal(start.Add(10*time.Minute)) {
		t.Fatalf("max age 5m: Cache %q fetched %v, want a new fetch", res.Cache, res.FetchedAt)
	}
	e.wantCalls(2)
	// The new answer replaced the old one for everybody.
	if res := e.mustSearch(company); res.Cache != CacheHit || !res.FetchedAt.Equal(start.Add(10*time.Minute)) {
		t.Fatalf("after refresh: Cache %q fetched %v", res.Cache, res.FetchedAt)
	}
	if res := call(0); res.Cache != CacheMiss {
		t.Fatalf("max age 0: Cache %q, want miss", res.Cache)
	}
	e.wantCalls(3)
}

func TestLRUEvictionByBytes(t *testing.T) {
	t.Parallel()
	page := func(i int) qcc.SearchParams { return qcc.SearchParams{SearchKey: company2, PageSize: 1, PageIndex: i} }

	// Measure the three entries with a roomy cache first.
	probe := newEnv(t, Config{})
	var sizes [4]int64
	for i := 1; i <= 3; i++ {
		if _, err := probe.g.SearchCertification(context.Background(), page(i)); err != nil {
			t.Fatal(err)
		}
		_, key := searchQuery(page(i))
		en, ok := probe.g.mem.get(key)
		if !ok {
			t.Fatalf("page %d not cached", i)
		}
		sizes[i] = en.size
	}

	// Room for any two of them, not for three.
	e := newEnv(t, Config{CacheMaxBytes: sizes[1] + sizes[2] + sizes[3] - 1})
	steps := []struct {
		page int
		want CacheState
	}{
		{1, CacheMiss},
		{2, CacheMiss},
		{1, CacheHit},  // page 1 is now the most recently used
		{3, CacheMiss}, // evicts page 2
		{1, CacheHit},
		{2, CacheMiss}, // evicts page 3
		{3, CacheMiss},
	}
	for i, s := range steps {
		res, err := e.g.SearchCertification(context.Background(), page(s.page))
		if err != nil {
			t.Fatal(err)
		}
		if res.Cache != s.want {
			t.Fatalf("step %d (page %d): Cache = %q, want %q", i, s.page, res.Cache, s.want)
		}
	}
	e.wantCalls(5)
	if _, bytes := e.g.mem.stats(); bytes > e.g.mem.maxBytes {
		t.Errorf("cache holds %d bytes, bound %d", bytes, e.g.mem.maxBytes)
	}
}

func TestMemCacheBound(t *testing.T) {
	t.Parallel()
	c := newMemCache(10)
	add := func(key string, size int64) { c.add(&entry{key: key, size: size}) }
	add("a", 4)
	add("b", 4)
	c.get("a")
	add("c", 4) // evicts b
	if _, ok := c.get("b"); ok {
		t.Error("b survived")
	}
	add("big", 11) // larger than the bound: not stored, evicts nothing
	if n, bytes := c.stats(); n != 2 || bytes != 8 {
		t.Errorf("after big: %d entries, %d bytes; want 2, 8", n, bytes)
	}
	add("a", 6) // replacing counts the new size only
	if n, bytes := c.stats(); n != 2 || bytes != 10 {
		t.Errorf("after replacing a: %d entries, %d bytes; want 2, 10", n, bytes)
	}
	add("d", 1) // evicts c, the least recently used
	if _, ok := c.get("c"); ok {
		t.Error("c survived")
	}
	if n, bytes := c.stats(); n != 2 || bytes != 7 {
		t.Errorf("after d: %d entries, %d bytes; want 2, 7", n, bytes)
	}
}

// coalescedSearches makes n identical searches at once behind a gated
// upstream, so that one leads and n-1 wait on it, then lets the upstream
// answer.
func coalescedSearches(t *testing.T, e *env, n int) ([]*qcc.SearchResult, []error) {
	t.Helper()
	g := e.gated()
	results := make([]*qcc.SearchResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = e.search(company) })
	}
	waitWaiting(t, e.g, n-1)
	g.Open()
	wg.Wait()
	return results, errs
}

func TestConcurrentIdenticalCallsShareOneRequest(t *testing.T) {
	t.Parallel()
	const callers = 50
	e := newEnv(t, Config{})
	results, errs := coalescedSearches(t, e, callers)
	e.wantCalls(1)
	count := map[CacheState]int{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		count[res.Cache]++
		if len(res.Items) != len(results[0].Items) || !res.FetchedAt.Equal(start) {
			t.Errorf("caller %d got a different answer", i)
		}
	}
	if count[CacheMiss] != 1 || count[CacheCoalesced] != callers-1 {
		t.Errorf("cache states %v, want 1 miss and %d coalesced", count, callers-1)
	}
	u := e.g.Usage()
	if u.CacheMisses != 1 || u.Coalesced != callers-1 {
		t.Errorf("usage: %d misses, %d coalesced", u.CacheMisses, u.Coalesced)
	}
	// Each caller has its own copy.
	results[1].Items[0].ID = "x"
	if results[2].Items[0].ID == "x" {
		t.Error("coalesced callers share one result")
	}
}

func TestCoalescedErrorIsShared(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxRetries: Off})
	g := e.gated()
	e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{HTTPStatus: 502})

	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.search(company) })
	}
	waitWaiting(t, e.g, 2)
	g.Open()
	wg.Wait()
	e.wantCalls(1)
	for i, err := range errs {
		if qe := asError(t, err); qe.HTTPStatus != 502 {
			t.Errorf("caller %d: %v, want the 502", i, err)
		}
	}
	if errs[0] == errs[1] {
		t.Error("callers share one *qcc.Error")
	}
}

func TestCoalescedCallersAndCancellation(t *testing.T) {
	t.Parallel()

	t.Run("follower gives up, leader carries on", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Config{})
		g := e.gated()

		leader := make(chan *qcc.SearchResult)
		go func() { res, _ := e.search(company); leader <- res }()
		ctx, cancel := context.WithCancel(context.Background())
		follower := make(chan error)
		go func() {
			_, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company})
			follower <- err
		}()
		waitWaiting(t, e.g, 1)
		cancel()
		if err := <-follower; !errors.Is(err, qcc.KindCanceled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("follower: %v, want canceled", err)
		}
		g.Open()
		if res := <-leader; res == nil || res.Cache != CacheMiss {
			t.Fatalf("leader: %+v", res)
		}
		e.wantCalls(1)
	})

	t.Run("leader gives up, follower asks again", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Config{})
		g := e.gated()

		ctx, cancel := context.WithCancel(context.Background())
		leader := make(chan error)
		go func() {
			_, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company})
			leader <- err
		}()
		// Wait for the leader's flight before starting the follower.
		testkit.WaitFor(t, "the leader's request", func() bool { return g.Arrived() == 1 })
		follower := make(chan *qcc.SearchResult)
		go func() { res, _ := e.search(company); follower <- res }()
		waitWaiting(t, e.g, 1)
		cancel()
		if err := <-leader; !errors.Is(err, qcc.KindCanceled) {
			t.Fatalf("leader: %v, want canceled", err)
		}
		g.Open()
		if res := <-follower; res == nil || res.Cache != CacheMiss {
			t.Fatalf("follower: %+v, want its own miss", res)
		}
		e.wantCalls(1) // the canceled request never reached QCC
	})
}

func TestInvalidArgumentsPassThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxCallsPerDay: 1})
	tests := []qcc.SearchParams{
		{SearchKey: "a"},
		{SearchKey: "  "},
		{SearchKey: company, PageSize: 21},
		{SearchKey: company, PageIndex: -1},
	}
	for _, p := range tests {
		_, err := e.g.SearchCertification(context.Background(), p)
		if !errors.Is(err, qcc.KindInvalidArgument) {
			t.Errorf("%+v: %v, want invalid_argument", p, err)
		}
	}
	if _, err := e.g.GetCertificationDetailByID(context.Background(), " "); !errors.Is(err, qcc.KindInvalidArgument) {
		t.Errorf("empty id: %v", err)
	}
	e.wantCalls(0)
	if u := e.g.Usage(); u.BudgetUsedToday != 0 || u.LocalRefusals != 0 {
		t.Errorf("usage = %+v, want nothing counted", u)
	}
	e.mustSearch(company) // the budget of 1 is intact
}

// TestCacheOffAnswersAreNotShared checks, with the cache off, that the
// leader of coalesced calls and its followers each get an answer of their
// own (the leader hands its answer over uncopied only when no one joined).
func TestCacheOffAnswersAreNotShared(t *testing.T) {
	const callers = 3
	e := newEnv(t, Config{CacheTTL: Off})
	results, errs := coalescedSearches(t, e, callers)
	e.wantCalls(1)
	seen := map[*qcc.SearchResult]bool{}
	items := map[*qcc.Certification]bool{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if seen[res] || items[&res.Items[0]] {
			t.Fatalf("caller %d shares an answer or its items with another", i)
		}
		seen[res], items[&res.Items[0]] = true, true
	}
	alone := e.mustSearch(company)
	if alone.Cache != CacheMiss || seen[alone] || items[&alone.Items[0]] || len(alone.Items) != len(results[0].Items) {
		t.Fatalf("a lone call's answer: Cache %q, %d items", alone.Cache, len(alone.Items))
	}
}
