package httpfront

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/callpool"
	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// benchWriter is a ResponseWriter reused across iterations, so that the
// benchmark counts the handlers' allocations and not a recorder's.
type benchWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}
func (w *benchWriter) Flush() {}

// SetReadDeadline is there as on net/http's writer, so that
// http.ResponseController finds it.
func (w *benchWriter) SetReadDeadline(time.Time) error { return nil }

func (w *benchWriter) reset() {
	clear(w.h)
	w.status = 0
	w.body.Reset()
}

// benchRequest is a POST as net/http hands it to the front: a loopback
// listener's address in the context, Host on loopback.
type benchRequest struct {
	ctx    context.Context
	header http.Header
	body   string
}

func newBenchRequest(body string, header map[string]string) *benchRequest {
	h := http.Header{}
	for k, v := range testkit.MCPHeaders(header) {
		h.Set(k, v)
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	return &benchRequest{ctx: context.WithValue(context.Background(), http.LocalAddrContextKey, local), header: h, body: body}
}

// request returns a fresh request: its header is a copy, since a handler
// may change it.
func (b *benchRequest) request(rd *strings.Reader) *http.Request {
	rd.Reset(b.body)
	r, _ := http.NewRequestWithContext(b.ctx, http.MethodPost, "http://127.0.0.1:8080/mcp", rd)
	r.Header = b.header.Clone()
	r.RemoteAddr = "127.0.0.1:54321"
	r.RequestURI = "/mcp"
	return r
}

func serveBench(b *testing.B, h http.Handler, req *benchRequest, want string) {
	b.Helper()
	w := &benchWriter{h: http.Header{}}
	rd := strings.NewReader("")
	check := func() {
		if w.status != http.StatusOK || !strings.Contains(w.body.String(), want) {
			b.Fatalf("status %d, body %s; want 200 with %q", w.status, w.body.String(), want)
		}
	}
	h.ServeHTTP(w, req.request(rd))
	check()
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req.request(rd))
	}
	check()
}

// initializeBench opens a legacy session on h and returns its id.
func initializeBench(b *testing.B, h http.Handler, header map[string]string) string {
	b.Helper()
	w := &benchWriter{h: http.Header{}}
	h.ServeHTTP(w, newBenchRequest(testkit.InitializeBody, header).request(strings.NewReader("")))
	sid := w.h.Get(server.HeaderKeySessionID)
	if w.status != http.StatusOK || sid == "" {
		b.Fatalf("initialize: %d, session %q: %s", w.status, sid, w.body.String())
	}
	return sid
}

const (
	benchLegacyCall = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`
	benchModernCall = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` +
		`"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}}}`
)

var benchModernHeaders = map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728,
	"Mcp-Method": "tools/call", "Mcp-Name": "echo"}

// BenchmarkFrontToolsCall is one tools/call POST through the whole front
// (access log at Info into io.Discard, Host and origin checks, a static
// bearer token, body limits, the session guard) and mcp-go, on a trivial
// tool so that the front's own cost shows; "bare" is mcp-go's streamable
// HTTP handler alone, for reference.
func BenchmarkFrontToolsCall(b *testing.B) {
	front := func(b *testing.B, calls ...*callpool.Pool) http.Handler {
		o := testOptions()
		if len(calls) > 0 {
			o.Calls = calls[0]
		}
		o.AuthToken = testToken
		o.Logger = logging.New(io.Discard, slog.LevelInfo, func(string) string { return "1" })
		f := New(echoServer(), o)
		b.Cleanup(func() { f.Shutdown(context.Background()) })
		return f.Handler()
	}
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	legacy := func(b *testing.B, h http.Handler, header map[string]string) {
		sid := initializeBench(b, h, header)
		hdr := map[string]string{server.HeaderKeySessionID: sid, mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618}
		for k, v := range header {
			hdr[k] = v
		}
		serveBench(b, h, newBenchRequest(benchLegacyCall, hdr), "echo: hi")
	}
	modern := func(b *testing.B, h http.Handler, header map[string]string) {
		hdr := map[string]string{}
		for k, v := range benchModernHeaders {
			hdr[k] = v
		}
		for k, v := range header {
			hdr[k] = v
		}
		serveBench(b, h, newBenchRequest(benchModernCall, hdr), "echo: hi")
	}
	b.Run("legacy", func(b *testing.B) { legacy(b, front(b), auth) })
	b.Run("modern", func(b *testing.B) { modern(b, front(b), auth) })
	// The same with the call run on a callpool worker, as the server does.
	pool := func(b *testing.B) *callpool.Pool {
		p := callpool.New(callpool.Config{Limit: 64})
		b.Cleanup(p.Close)
		return p
	}
	b.Run("legacy-pool", func(b *testing.B) { legacy(b, front(b, pool(b)), auth) })
	b.Run("modern-pool", func(b *testing.B) { modern(b, front(b, pool(b)), auth) })
	b.Run("bare-legacy", func(b *testing.B) { legacy(b, server.NewStreamableHTTPServer(echoServer()), nil) })
	b.Run("bare-modern", func(b *testing.B) { modern(b, server.NewStreamableHTTPServer(echoServer()), nil) })
}
