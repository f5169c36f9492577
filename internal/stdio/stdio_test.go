package stdio

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// slowServer is an MCP server with one tool, "wait", that answers after
// the given delay or when its call is canceled.
func slowServer(delay time.Duration) *server.MCPServer {
	s := server.NewMCPServer("stdio-test", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("wait"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		select {
		case <-time.After(delay):
			return mcp.NewToolResultText("waited"), nil
		case <-ctx.Done():
			return mcp.NewToolResultError("canceled"), nil
		}
	})
	return s
}

const initLine = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// answers reads the JSON-RPC answers on out by id.
func answers(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("stdout line is not JSON: %q", sc.Text())
		}
		got[string(msg.ID)] = string(msg.Result)
	}
	return got
}

// TestDrainAnswersCallsRunningAtEndOfInput writes a call and ends stdin at
// once, as a script piping requests in does: the call, still running when
// input ends, must be answered in full, not cut off.
func TestDrainAnswersCallsRunningAtEndOfInput(t *testing.T) {
	in := strings.NewReader(initLine + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}` + "\n")
	var out testkit.SyncBuffer
	err := Serve(context.Background(), slowServer(300*time.Millisecond), in, &out, slog.New(slog.DiscardHandler), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := answers(t, out.String())
	if !strings.Contains(got["2"], "waited") {
		t.Errorf("the call running at end of input: answer %q, want its result; stdout:\n%s", got["2"], out.String())
	}
}

// TestDrainEndsAtItsTimeout: a call that never ends holds the exit back
// only for the drain timeout.
func TestDrainEndsAtItsTimeout(t *testing.T) {
	in := strings.NewReader(initLine + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}` + "\n")
	var out testkit.SyncBuffer
	start := time.Now()
	if err := Serve(context.Background(), slowServer(time.Hour), in, &out, slog.New(slog.DiscardHandler), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Serve returned after %v with a drain timeout of 200ms", d)
	}
}

func TestRPCHeaders(t *testing.T) {
	for line, want := range map[string]string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`:         `tools/call 7`,
		`{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"text"}]}}`:            ` "a"`,
		`{"jsonrpc":"2.0","result":{"big":[1,2,3]},"id":8}`:                            ` 8`,
		`{"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"bad"}}`:             ` 9`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`:                       `notifications/initialized `,
		`[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"result":{}}]`: `a 1; 2`,
		`not json`: ``,
		``:         ``,
	} {
		var got []string
		for _, h := range rpcHeaders([]byte(line)) {
			got = append(got, strings.TrimSpace(h.Method+" "+string(h.ID)))
		}
		if g := strings.Join(got, "; "); g != strings.TrimSpace(want) {
			t.Errorf("rpcHeaders(%s) = %q, want %q", line, g, strings.TrimSpace(want))
		}
	}
}
