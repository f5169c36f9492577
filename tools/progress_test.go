package tools_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/stdio"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// fivePages is a search of 23 certificates in pages of 5: five QCC pages.
var fivePages = map[string]any{"company": bigCompany, "page_size": 5, "max_results": 200}

// progressLog collects the progress notifications of one token, as a
// client sees them; snapshot is taken the moment the result arrives, so
// whatever came after it is not counted.
type progressLog struct {
	mu     sync.Mutex
	values []float64
	totals []float64
}

func (p *progressLog) handler(token string) func(mcp.JSONRPCNotification) {
	return func(n mcp.JSONRPCNotification) {
		if n.Method != "notifications/progress" || fmt.Sprint(n.Params.AdditionalFields["progressToken"]) != token {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		v, _ := n.Params.AdditionalFields["progress"].(float64)
		total, _ := n.Params.AdditionalFields["total"].(float64)
		p.values = append(p.values, v)
		p.totals = append(p.totals, total)
	}
}

func (p *progressLog) snapshot() ([]float64, []float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]float64(nil), p.values...), append([]float64(nil), p.totals...)
}

func callWithToken(t *testing.T, c *client.Client, token string, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{ProgressToken: token}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatal(testkit.ResultText(res))
	}
	return res
}

func checkProgress(t *testing.T, what string, values, totals []float64, min int, total float64) {
	t.Helper()
	if len(values) < min {
		t.Fatalf("%s: %d progress notifications before the result, want at least %d", what, len(values), min)
	}
	for i := 1; i < len(values); i++ {
		if values[i] <= values[i-1] {
			t.Errorf("%s: progress went from %v to %v; it must increase", what, values[i-1], values[i])
		}
	}
	if last := totals[len(totals)-1]; last != total {
		t.Errorf("%s: last total %v, want %v", what, last, total)
	}
}

// Over streamable HTTP in both eras and over SSE, a 5-page search with a
// progress token yields its 5 notifications before its result, every
// time: a lost or late notification fails the test.
func TestProgressOverHTTP(t *testing.T) {
	srv := appserver.Start(t, []string{"--demo", "--cache-ttl", "0", "--rate", "0"}, nil, nil)
	for _, tc := range []struct {
		name    string
		connect func(t *testing.T) *client.Client
	}{
		{"streamable 2026-07-28", func(t *testing.T) *client.Client {
			return testkit.StreamableClient(t, srv.URL+"/mcp", mcp.LATEST_PROTOCOL_VERSION)
		}},
		{"streamable 2025-06-18", func(t *testing.T) *client.Client {
			return testkit.StreamableClient(t, srv.URL+"/mcp", mcp.ProtocolVersion20250618)
		}},
		{"sse", func(t *testing.T) *client.Client { return testkit.OpenSSEClient(t, srv.URL, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.connect(t)
			for i := range 10 {
				log := &progressLog{}
				token := fmt.Sprintf("search-%d", i)
				c.OnNotification(log.handler(token))
				callWithToken(t, c, token, tools.SearchToolName, fivePages)
				values, totals := log.snapshot()
				checkProgress(t, fmt.Sprintf("call %d", i), values, totals, 5, 5)
			}
			log := &progressLog{}
			c.OnNotification(log.handler("check"))
			callWithToken(t, c, "check", tools.CheckToolName, map[string]any{"companies": []any{docCompany, bigCompany, "sandbox-status-202"}})
			values, totals := log.snapshot()
			checkProgress(t, "check_certifications", values, totals, 3, 3)
		})
	}
}

// Over stdio, the notifications are written before the result's line,
// every time, in both eras.
func TestProgressOverStdio(t *testing.T) {
	now := func() time.Time { return fixedNow }
	sb := sandbox.New(sandbox.Config{Now: now})
	qc := testkit.Client(t, sb, now, nil)
	g, err := guard.New(qc, guard.Config{Rate: guard.Off, CacheTTL: guard.Off, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	s := tools.NewServer(g, tools.Options{Now: now, Demo: true})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- stdio.Serve(context.Background(), s, inR, outW, slog.New(slog.DiscardHandler), 5*time.Second, 1<<20)
		outW.Close()
	}()
	t.Cleanup(func() { inW.Close(); <-done })
	lines := bufio.NewScanner(outR)
	lines.Buffer(make([]byte, 1<<20), 4<<20)
	send := func(v any) {
		raw, _ := json.Marshal(v)
		if _, err := inW.Write(append(raw, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	// await reads lines until the answer to id, returning the progress
	// values seen before it.
	await := func(id int) []float64 {
		var values []float64
		for lines.Scan() {
			var m struct {
				ID     *int            `json:"id"`
				Method string          `json:"method"`
				Params map[string]any  `json:"params"`
				Result json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
				t.Fatalf("not JSON on stdout: %s", lines.Text())
			}
			if m.Method == "notifications/progress" {
				values = append(values, m.Params["progress"].(float64))
				continue
			}
			if m.ID != nil && *m.ID == id {
				return values
			}
		}
		t.Fatalf("stdout ended before the answer to %d", id)
		return nil
	}
	send(map[string]any{"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": map[string]any{
		"protocolVersion": mcp.ProtocolVersion20250618, "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"}}})
	await(0)
	send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	modernMeta := func(token string) map[string]any {
		return map[string]any{"progressToken": token,
			"io.modelcontextprotocol/protocolVersion":    mcp.LATEST_PROTOCOL_VERSION,
			"io.modelcontextprotocol/clientCapabilities": map[string]any{},
			"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "t", "version": "1"}}
	}
	for i := 1; i <= 20; i++ {
		meta := map[string]any{"progressToken": fmt.Sprint(i)}
		era := "legacy"
		if i%2 == 0 {
			meta, era = modernMeta(fmt.Sprint(i)), "2026-07-28"
		}
		send(map[string]any{"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": map[string]any{
			"name": tools.SearchToolName, "arguments": fivePages, "_meta": meta}})
		if values := await(i); len(values) < 5 {
			t.Fatalf("call %d (%s): %d progress notifications before the result, want 5: %v", i, era, len(values), values)
		}
	}
}

var (
	_ = http.StatusOK
	_ = strings.Contains
	_ = qcc.MaxPageSize
)
