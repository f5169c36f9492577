// Package appserver runs the whole server in process for tests: the
// configuration from flags and variables, the app as main builds it, with
// metrics, behind the HTTP front on an httptest server. It lives apart
// from testkit because it imports the guard, whose own tests use testkit.
package appserver

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/app"
	"github.com/qcc-mcp/qcc-mcp/internal/config"
	"github.com/qcc-mcp/qcc-mcp/internal/httpfront"
	"github.com/qcc-mcp/qcc-mcp/internal/metrics"
)

// Server is a running in-process server.
type Server struct {
	URL   string
	Front *httpfront.Front
	ts    *httptest.Server
	app   *app.App
	stop  context.CancelFunc
}

// Start configures the server from args and getenv (nil: no variables) as
// main does for --transport http, and serves it until Close or the end of
// the test. log may be nil; with are passed to app.New (a fixed clock).
func Start(t testing.TB, args []string, getenv func(string) string, log *slog.Logger, with ...app.Option) *Server {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, fs := config.NewServer(io.Discard)
	if err := cfg.Parse(fs, append([]string{"--transport", "http"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Load(getenv); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	a, err := app.New(cfg, "test", log, m, with...)
	if err != nil {
		t.Fatal(err)
	}
	f := httpfront.New(a.MCP, a.Front(cfg.Front(m.Handler(), log)))
	m.WatchSSEStreams(f.OpenSSEStreams)
	ctx, stop := context.WithCancel(context.Background())
	f.StartAuth(ctx)
	s := &Server{Front: f, ts: httptest.NewServer(f.Handler()), app: a, stop: stop}
	s.URL = s.ts.URL
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down as Serve does on SIGTERM and closes the app;
// it may be called more than once.
func (s *Server) Close() {
	if s.ts == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.stop()
	s.Front.Shutdown(ctx)
	s.ts.Close()
	s.app.Close(slog.New(slog.DiscardHandler))
	s.ts = nil
}
