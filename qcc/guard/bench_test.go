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
