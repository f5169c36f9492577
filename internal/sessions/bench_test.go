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

// BenchmarkNewBody is the front's decoding of a POSTed tools/call, once
// per request.
func BenchmarkNewBody(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"企查查科技有限公司","page_size":5,"exact":true}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if p := NewBody(body).Peek(); !p.OK || p.Name != "search_certifications" {
			b.Fatal("not decoded")
		}
	}
}
