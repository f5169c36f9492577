package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/syncbuf"
)

// newAppKey gives each test its own key space on a shared server.
func newAppKey() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "app-" + hex.EncodeToString(b[:])
}

// openStore opens a store on srv and closes it when the test ends.
func openStore(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// replicas opens n stores on one server and one app key, as n replicas of
// qcc-mcp would.
func replicas(t *testing.T, srv *redistest.Server, n int) []*Store {
	t.Helper()
	app := newAppKey()
	out := make([]*Store, n)
	for i := range out {
		out[i] = openStore(t, Options{URL: srv.URL(), AppKey: app})
	}
	return out
}

// rawClient looks at the server directly, outside the store under test.
func rawClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func debugLogger(w *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitUntil polls cond (for test assertions only; the store never polls).
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
