package tools_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// fixedNow is the clock of these tests: 2026-11-27 10:00 in Beijing.
var fixedNow = time.Date(2026, 11, 27, 10, 0, 0, 0, qcc.Beijing)

// env is the real stack in one process: sandbox → qcc client → MCP server
// → mcp-go in-process client.
type env struct {
	sandbox *sandbox.Sandbox
	client  *client.Client
	logs    *testkit.SyncBuffer
}

type envOption func(*tools.Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	sb, qc := sandboxClient(t, qcc.WithTimeout(5*time.Second))
	return newEnvWithBackend(t, sb, qc, opts...)
}

// sandboxClient returns a sandbox and a QCC client on it, both on fixedNow.
func sandboxClient(t testing.TB, opts ...qcc.Option) (*sandbox.Sandbox, *qcc.Client) {
	t.Helper()
	now := func() time.Time { return fixedNow }
	sb := testkit.Sandbox(now)
	return sb, testkit.Client(t, sb, now, nil, opts...)
}

func newEnvWithBackend(t *testing.T, sb *sandbox.Sandbox, b guard.Upstream, opts ...envOption) *env {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	o := tools.Options{Now: func() time.Time { return fixedNow }, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	for _, opt := range opts {
		opt(&o)
	}
	return &env{sandbox: sb, client: newMCPClient(t, tools.NewServer(b, o)), logs: logs}
}

// newMCPClient connects an initialized in-process client to srv.
func newMCPClient(tb testing.TB, srv *server.MCPServer) *client.Client {
	tb.Helper()
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		tb.Fatal(err)
	}
	return c
}

func demo(o *tools.Options) { o.Demo = true }

// call runs a tool and returns its result, its text and its structured
// content decoded as generic JSON.
func (e *env) call(t *testing.T, tool string, args any) (*mcp.CallToolResult, string, map[string]any) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := e.client.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s(%v): JSON-RPC error %v; every failure must be a tool result", tool, args, err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	var structured map[string]any
	if res.StructuredContent != nil {
		raw, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &structured); err != nil {
			t.Fatal(err)
		}
	}
	return res, text.String(), structured
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02", s, qcc.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// newHandlers returns the tools' handlers on the sandbox, to be called
// directly where the encoding itself is under test.
func newHandlers(t *testing.T) map[string]server.ToolHandlerFunc {
	t.Helper()
	_, qc := sandboxClient(t)
	out := map[string]server.ToolHandlerFunc{}
	for _, tool := range tools.Tools(qc, tools.Options{Now: func() time.Time { return fixedNow }}) {
		out[tool.Tool.Name] = tool.Handler
	}
	return out
}

func callHandler(t *testing.T, h server.ToolHandlerFunc, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Arguments = args
	res, err := h(context.Background(), req)
	if err != nil || res == nil || res.IsError {
		t.Fatalf("handler: %v %+v", err, res)
	}
	return res
}
