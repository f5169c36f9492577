package sessions

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard/redisstore"
)

// redisClient returns a client on srv tuned as the server's own is: the
// pool of a redisstore.Store, which the app shares with the sessions.
func redisClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	s, err := redisstore.Open(context.Background(), redisstore.Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Client()
}
