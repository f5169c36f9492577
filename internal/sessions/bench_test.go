package sessions

import (
	"context"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
)

// BenchmarkValidate is the Manager's cost per legacy request: one Store
// read (a Touch every IdleTTL/10) on top of mcp-go's own work.
func BenchmarkValidate(b *testing.B) {
	run := func(b *testing.B, store Store) {
		m := NewManager(store, Config{})
		id, err := m.Open(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := m.validate(context.Background(), id); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, NewMemoryStore()) })
	b.Run("redis", func(b *testing.B) {
		rs := redistest.Start(b)
		store, err := NewRedisStore(redisClient(b, rs), "bench:")
		if err != nil {
			b.Fatal(err)
		}
		run(b, store)
	})
}
