package guard

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// BenchmarkCacheHitMemory is a repeated search answered from memory.
func BenchmarkCacheHitMemory(b *testing.B) {
	e := newEnv(b, Config{})
	p := qcc.SearchParams{SearchKey: company}
	ctx := context.Background()
	if _, err := e.g.SearchCertification(ctx, p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.g.SearchCertification(ctx, p)
		if err != nil || res.Cache != CacheHit {
			b.Fatalf("%v, Cache %q", err, res.Cache)
		}
	}
}

// BenchmarkCacheHitFile is a repeated search answered from the cache file
// after a restart: the memory cache is emptied before every call, so each
// one reads and decodes the answer from bbolt.
func BenchmarkCacheHitFile(b *testing.B) {
	e := newEnv(b, Config{CacheFile: filepath.Join(b.TempDir(), "cache.db")})
	p := qcc.SearchParams{SearchKey: company}
	ctx := context.Background()
	if _, err := e.g.SearchCertification(ctx, p); err != nil {
		b.Fatal(err)
	}
	e.restart()
	b.ReportAllocs()
	for b.Loop() {
		e.g.mem.clear()
		res, err := e.g.SearchCertification(ctx, p)
		if err != nil || res.Cache != CacheHit {
			b.Fatalf("%v, Cache %q", err, res.Cache)
		}
	}
	if n := e.sb.TotalCalls(); n != 0 {
		b.Fatalf("%d upstream calls", n)
	}
}

// BenchmarkCacheMissSandbox is a search with a new key every time, sent
// through the real client (signing, HTTP, decoding) to the in-process
// sandbox, which answers 201 (no result); the answer is then cached.
func BenchmarkCacheMissSandbox(b *testing.B) {
	e := newEnv(b, Config{Rate: Off})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		res, err := e.g.SearchCertification(ctx, qcc.SearchParams{SearchKey: fmt.Sprintf("不存在的公司%09d", i)})
		if err != nil || res.Cache != CacheMiss {
			b.Fatalf("%v", err)
		}
	}
}

// BenchmarkDistinctMissCacheOff is a search with new arguments every
// call, cache and rate limit off, through the real client to the
// in-process sandbox: the path of a server that asks QCC on every call.
func BenchmarkDistinctMissCacheOff(b *testing.B) {
	e := newEnv(b, Config{CacheTTL: Off, Rate: Off})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		p := qcc.SearchParams{SearchKey: companies[i%(len(companies)-1)], PageSize: 1 + i%20, Fuzzy: i/20%2 == 1}
		res, err := e.g.SearchCertification(ctx, p)
		if err != nil || res.Cache != CacheMiss {
			b.Fatalf("%v", err)
		}
	}
}

// freshUpstream answers every search with a new result of 5 items, as the
// client would, at no cost of its own: what the Guard adds per call.
type freshUpstream struct{}

func (freshUpstream) SearchCertification(_ context.Context, p qcc.SearchParams) (*qcc.SearchResult, error) {
	return &qcc.SearchResult{Items: make([]qcc.Certification, 5), Status: 200, Message: "ok"}, nil
}

func (freshUpstream) GetCertificationDetailByID(context.Context, string) (*qcc.CertificationDetail, error) {
	return &qcc.CertificationDetail{Fields: []qcc.Field{}, Status: 200}, nil
}

// BenchmarkGuardOverheadCacheOff is the Guard's own cost of a call that
// misses, cache and rate limit off, in front of an upstream that costs
// only its answer's allocation (2 allocations, 1 KB).
func BenchmarkGuardOverheadCacheOff(b *testing.B) {
	g, err := New(freshUpstream{}, Config{CacheTTL: Off, Rate: Off})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		res, err := g.SearchCertification(ctx, qcc.SearchParams{SearchKey: company, PageSize: 1 + i%20, PageIndex: i})
		if err != nil || res.Cache != CacheMiss || len(res.Items) != 5 {
			b.Fatalf("%v", err)
		}
	}
}
