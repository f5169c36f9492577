package sessions

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// replica is one qcc-mcp-like HTTP front: mcp-go's streamable server with a
// Manager plugged in, behind the guard (unless bare), in httptest.
type replica struct {
	URL        string
	m          *Manager
	streamable *server.StreamableHTTPServer
}

func newReplica(t *testing.T, store Store, cfg Config, bare bool, opts ...server.StreamableHTTPOption) *replica {
	t.Helper()
	s := server.NewMCPServer("sessions-test", "1.0.0", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text")), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(req.GetString("text", "")), nil
	})
	m := NewManager(store, cfg)
	streamable := server.NewStreamableHTTPServer(s, append([]server.StreamableHTTPOption{server.WithSessionIdManagerResolver(m),
		server.WithStreamableHTTPLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	var h http.Handler = streamable
	if !bare {
		h = m.LegacyGuard("/mcp", streamable)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = streamable.Shutdown(ctx)
		ts.Close()
	})
	return &replica{URL: ts.URL + "/mcp", m: m, streamable: streamable}
}

const legacyVersion = mcp.ProtocolVersion20250618

// do sends one raw request and returns the status, the session id header
// and the body.
func do(t *testing.T, method, url, sid, body string, header map[string]string) (int, string, string) {
	t.Helper()
	h := map[string]string{}
	if method == http.MethodPost {
		h = testkit.MCPHeaders(nil)
	}
	if sid != "" {
		h[server.HeaderKeySessionID] = sid
	}
	maps.Copy(h, header)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp := testkit.Request(t, ctx, method, url, body, h)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get(server.HeaderKeySessionID), string(b)
}

// initialize opens a legacy session on url and returns its id ("" and the
// status when refused).
func initialize(t *testing.T, url string) (string, int) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + legacyVersion +
		`","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	status, sid, _ := do(t, http.MethodPost, url, "", body, nil)
	return sid, status
}

func mustInitialize(t *testing.T, url string) string {
	t.Helper()
	sid, status := initialize(t, url)
	if status != http.StatusOK || sid == "" {
		t.Fatalf("initialize on %s: status %d, session %q", url, status, sid)
	}
	return sid
}

// ping sends a legacy ping in session sid and returns the HTTP status.
func ping(t *testing.T, url, sid string) int {
	t.Helper()
	status, _, _ := do(t, http.MethodPost, url, sid, `{"jsonrpc":"2.0","id":2,"method":"ping"}`,
		map[string]string{mcp.HeaderProtocolVersion: legacyVersion})
	return status
}

func del(t *testing.T, url, sid string) int {
	t.Helper()
	status, _, _ := do(t, http.MethodDelete, url, sid, "", map[string]string{mcp.HeaderProtocolVersion: legacyVersion})
	return status
}

// openStream opens a GET stream and returns its status and a function that
// reports whether the stream has ended, and closes it.
func openStream(t *testing.T, url, sid string, header map[string]string) (int, <-chan struct{}, func()) {
	t.Helper()
	h := map[string]string{mcp.HeaderProtocolVersion: legacyVersion}
	if sid != "" {
		h[server.HeaderKeySessionID] = sid
	}
	maps.Copy(h, header)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp := testkit.Request(t, ctx, http.MethodGet, url, "", h)
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(ended)
	}()
	return resp.StatusCode, ended, func() { cancel(); <-ended; resp.Body.Close() }
}

// getStatus opens a GET stream, closes it and returns its status.
func getStatus(t *testing.T, url, sid string, header map[string]string) int {
	t.Helper()
	status, _, closeStream := openStream(t, url, sid, header)
	closeStream()
	return status
}

// jsonRPCError decodes the error of a JSON-RPC answer.
func jsonRPCError(t *testing.T, body string) (code int, message string) {
	t.Helper()
	var v struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not a JSON-RPC answer: %q", body)
	}
	return v.Error.Code, v.Error.Message
}

// madeUp is a well-formed id that was never issued.
const madeUp = "mcp-session-0123456789abcdef0123456789abcdef"

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
