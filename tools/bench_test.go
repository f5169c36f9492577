package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// The benchmarks of what a tool call costs on each path through the
// guard, next to the floor set by mcp-go itself:
//
//	go test -run '^$' -bench . -benchmem -count=5 ./tools/
//
// Every call goes through an mcp-go in-process client, which encodes the
// request, and the server, which decodes it and encodes the result, as
// over stdio minus the pipe. Loggers discard, and the rate limit is off.

// benchConfig is the guard of the benchmarks: defaults, no rate limit.
func benchConfig() guard.Config { return guard.Config{Rate: guard.Off} }

// benchSearch is the call under measure: the vendor document's example
// company, 5 certificates, the default page.
func benchSearch(args map[string]any) mcp.CallToolRequest {
	req := mcp.CallToolRequest{}
	req.Params.Name = tools.SearchToolName
	req.Params.Arguments = args
	return req
}

func mustCall(b *testing.B, c *client.Client, req mcp.CallToolRequest, want guard.CacheState) *mcp.CallToolResult {
	b.Helper()
	res, err := c.CallTool(context.Background(), req)
	if err != nil || res.IsError {
		b.Fatalf("call: %v %+v", err, res)
	}
	if want != "" {
		var out struct {
			Source struct {
				Cache string `json:"cache"`
			} `json:"source"`
		}
		raw, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(raw, &out); err != nil || out.Source.Cache != string(want) {
			b.Fatalf("source.cache %q (%v), want %q", out.Source.Cache, err, want)
		}
	}
	return res
}

// BenchmarkCacheHitCall is a repeated search answered from the guard's
// memory cache, through the real server: argument validation and binding,
// the guard's lookup and copy, the result and its text.
func BenchmarkCacheHitCall(b *testing.B) {
	st := newGuardedStack(b, benchConfig(), costSetup{}, nil)
	c := newMCPClient(b, st.server)
	req := benchSearch(map[string]any{"company": docCompany})
	mustCall(b, c, req, guard.CacheMiss)
	mustCall(b, c, req, guard.CacheHit)
	benchCalls(b, c, req)
	if n := st.sandbox.TotalCalls(); n != 1 {
		b.Fatalf("%d upstream calls, want 1", n)
	}
}

// BenchmarkBareMCPGoTool is the floor for BenchmarkCacheHitCall: a bare
// mcp-go server whose one tool (the same definition) returns, without
// doing anything, the very *mcp.CallToolResult the real server builds for
// the cache hit, typed structured content and text included. Everything
// above this in BenchmarkCacheHitCall is our code.
func BenchmarkBareMCPGoTool(b *testing.B) {
	st := newGuardedStack(b, benchConfig(), costSetup{}, nil)
	args := map[string]any{"company": docCompany}
	real := newMCPClient(b, st.server)
	mustCall(b, real, benchSearch(args), guard.CacheMiss)
	// What the real server answers for the cache hit, over the wire.
	want := mustCall(b, real, benchSearch(args), guard.CacheHit)

	// The server-side result of the cache hit, as the handler returns it.
	search := tools.Tools(st.guard, tools.Options{Now: st.clock.Now})[0]
	hit, err := search.Handler(context.Background(), benchSearch(args))
	if err != nil || hit.IsError {
		b.Fatalf("handler: %v %+v", err, hit)
	}
	bare := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false))
	bare.AddTool(search.Tool, func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return hit, nil
	})
	c := newMCPClient(b, bare)
	req := benchSearch(args)
	got := mustCall(b, c, req, guard.CacheHit)
	// Exactly the real server's cache-hit answer, its cache line included.
	if a, z := mustJSON(b, []any{want.StructuredContent, want.Content}), mustJSON(b, []any{got.StructuredContent, got.Content}); a != z {
		b.Fatalf("the bare tool's answer differs from the real one:\n%s\n%s", a, z)
	}

	benchCalls(b, c, req)
}

func mustJSON(b *testing.B, v any) string {
	b.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return string(raw)
}

// BenchmarkCacheMissCall is a search that must go upstream every time
// (max_age_seconds=0 on the same company, so the answer is the cache-hit
// benchmark's): the guard's bookkeeping, the client's signing, HTTP to
// the in-process sandbox, decoding, caching the new answer, the result.
func BenchmarkCacheMissCall(b *testing.B) {
	st := newGuardedStack(b, benchConfig(), costSetup{}, nil)
	c := newMCPClient(b, st.server)
	req := benchSearch(map[string]any{"company": docCompany, "max_age_seconds": 0})
	mustCall(b, c, req, guard.CacheMiss)
	benchCalls(b, c, req)
	if n := st.sandbox.TotalCalls(); n != b.N+1 {
		b.Fatalf("%d upstream calls, want %d", n, b.N+1)
	}
}

// swappableBackend lets one MCP server run over successive guards, as a
// restarted process would.
type swappableBackend struct{ g atomic.Pointer[guard.Guard] }

func (s *swappableBackend) SearchCertification(ctx context.Context, p qcc.SearchParams) (*qcc.SearchResult, error) {
	return s.g.Load().SearchCertification(ctx, p)
}

func (s *swappableBackend) GetCertificationDetailByID(ctx context.Context, id string) (*qcc.CertificationDetail, error) {
	return s.g.Load().GetCertificationDetailByID(ctx, id)
}

// BenchmarkPersistentCacheRead is the first repeat of a search after a
// restart: answered from the bbolt file, not memory. Every iteration opens
// a fresh Guard on the file, so its memory cache is empty, with the timer
// stopped; only the call is timed: the memory miss, the bbolt lookup, the
// record's decoding, its copy into memory, and the rest of the call.
// (Shrinking CacheMaxBytes instead would not do: the file is held to the
// same bound, so it would lose the answer too.) Opening the file reads
// every record once (its sweep), so the pages are mapped in before the
// timed call, as they are after any restart.
func BenchmarkPersistentCacheRead(b *testing.B) {
	clock := testkit.NewClockAt(fixedNow)
	sb := sandbox.New(sandbox.Config{Now: clock.Now})
	qc, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey,
		qcc.WithHTTPClient(&http.Client{Transport: sb.Transport()}),
		qcc.WithClock(clock.Now), qcc.WithTimeout(30*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	cfg := benchConfig()
	cfg.CacheFile = filepath.Join(b.TempDir(), "cache.db")
	cfg.Now = clock.Now
	open := func() *guard.Guard {
		g, err := guard.New(qc, cfg)
		if err != nil {
			b.Fatal(err)
		}
		return g
	}
	closeGuard := func(g *guard.Guard) {
		if err := g.Close(); err != nil {
			b.Fatal(err)
		}
	}
	backend := &swappableBackend{}
	backend.g.Store(open())
	c := newMCPClient(b, tools.NewServer(backend, tools.Options{Now: clock.Now}))
	req := benchSearch(map[string]any{"company": docCompany})
	mustCall(b, c, req, guard.CacheMiss) // fills the file
	closeGuard(backend.g.Load())
	backend.g.Store(open())
	mustCall(b, c, req, guard.CacheHit)

	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		closeGuard(backend.g.Load())
		backend.g.Store(open())
		b.StartTimer()
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			b.Fatalf("call: %v %+v", err, res)
		}
	}
	b.StopTimer()
	if u := backend.g.Load().Usage(); u.CacheHits != 1 || u.Total() != 0 {
		b.Fatalf("last guard: %d hits, %d upstream calls; want 1, 0", u.CacheHits, u.Total())
	}
	closeGuard(backend.g.Load())
	if n := sb.TotalCalls(); n != 1 {
		b.Fatalf("%d upstream calls, want the one that filled the file", n)
	}
}

// benchCalls times req over and over; any failure ends the benchmark.
func benchCalls(b *testing.B, c *client.Client, req mcp.CallToolRequest) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			b.Fatalf("call: %v %+v", err, res)
		}
	}
}
