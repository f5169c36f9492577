package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
)

// BenchmarkGetAnswerHit is one round trip for a cached ~2 KiB answer.
func BenchmarkGetAnswerHit(b *testing.B) {
	s := openStore(b, Options{URL: redistest.Start(b).URL(), AppKey: "bench"})
	ctx := context.Background()
	rec := make([]byte, 2048)
	if err := s.PutAnswer(ctx, "search|企查查科技有限公司|1", rec, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, found, err := s.GetAnswer(ctx, "search|企查查科技有限公司|1"); !found || err != nil {
			b.Fatal(found, err)
		}
	}
}

// BenchmarkGetAnswerMiss is one round trip for an answer not cached.
func BenchmarkGetAnswerMiss(b *testing.B) {
	s := openStore(b, Options{URL: redistest.Start(b).URL(), AppKey: "bench"})
	ctx := context.Background()
	for b.Loop() {
		if _, found, err := s.GetAnswer(ctx, "search|absent|1"); found || err != nil {
			b.Fatal(found, err)
		}
	}
}
