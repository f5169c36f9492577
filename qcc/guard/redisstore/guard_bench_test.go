package redisstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard/redisstore"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// The guard on Redis, next to the guard's own BenchmarkCacheHitMemory:
// what a replica pays for an answer another replica fetched, and for a
// question nobody asked yet.

const benchCompany = "企查查科技有限公司"

// benchGuard is a guard on the in-process sandbox whose backends are a
// Store on srv; maxBytes bounds its memory cache (1 keeps nothing there,
// so every hit is read from Redis).
func benchGuard(b *testing.B, srv *redistest.Server, sb *sandbox.Sandbox, maxBytes int64) *guard.Guard {
	b.Helper()
	s, err := redisstore.Open(context.Background(), redisstore.Options{URL: srv.URL(), AppKey: sandbox.DemoAppKey})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	g, err := guard.New(testkit.Client(b, sb, nil, nil), guard.Config{Rate: guard.Off, CacheMaxBytes: maxBytes,
		Answers: s, State: s, Flights: s, SharedUp: s.Up})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	return g
}

func benchHit(b *testing.B, maxBytes int64) {
	srv := redistest.Start(b)
	sb := testkit.Sandbox(nil)
	p := qcc.SearchParams{SearchKey: benchCompany}
	ctx := context.Background()
	if _, err := benchGuard(b, srv, sb, 0).SearchCertification(ctx, p); err != nil { // replica A pays
		b.Fatal(err)
	}
	g := benchGuard(b, srv, sb, maxBytes) // replica B reads
	b.ReportAllocs()
	for b.Loop() {
		res, err := g.SearchCertification(ctx, p)
		if err != nil || res.Cache != guard.CacheHit {
			b.Fatalf("%v, Cache %q", err, res.Cache)
		}
	}
	if n := sb.TotalCalls(); n != 1 {
		b.Fatalf("%d upstream calls, want 1", n)
	}
}

// BenchmarkGuardHitMemoryOnRedis is a repeated search answered from the
// memory cache of a guard whose backends are on Redis: Redis is not asked.
func BenchmarkGuardHitMemoryOnRedis(b *testing.B) { benchHit(b, 0) }

// BenchmarkGuardHitRedis is a search another replica paid for, read from
// Redis and decoded each time (this replica's memory cache keeps nothing).
func BenchmarkGuardHitRedis(b *testing.B) { benchHit(b, 1) }

// BenchmarkGuardMissShared is a new question each time: a look in Redis,
// the shared lead, the cooldowns, the budget count, the sandbox call
// (through the real client) and the answer stored in Redis, then the lead
// released.
func BenchmarkGuardMissShared(b *testing.B) {
	srv := redistest.Start(b)
	sb := testkit.Sandbox(nil)
	g := benchGuard(b, srv, sb, 0)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		res, err := g.SearchCertification(ctx, qcc.SearchParams{SearchKey: fmt.Sprintf("不存在的公司%09d", i)})
		if err != nil || res.Cache != guard.CacheMiss {
			b.Fatalf("%v", err)
		}
	}
}
