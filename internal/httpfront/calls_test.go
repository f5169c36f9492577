package httpfront

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/callpool"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// whereServer has one tool, "where", that says which goroutine it runs
// on (a pool worker or the connection's) and what the pool's Acquire
// told it, as the tools' middleware would ask, and how long that took.
func whereServer(p *callpool.Pool) *server.MCPServer {
	s := server.NewMCPServer("front-test", "1", server.WithToolCapabilities(false), server.WithHooks(&server.Hooks{}))
	s.AddTool(mcp.NewTool("where"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		buf := make([]byte, 64<<10)
		stack := string(buf[:runtime.Stack(buf, false)])
		on := "connection"
		if strings.Contains(stack, "callpool.(*Pool).worker") && !strings.Contains(stack, "net/http.(*conn).serve") {
			on = "worker"
		}
		start := time.Now()
		ok, release := p.Acquire(ctx)
		if release {
			p.Release()
		}
		return mcp.NewToolResultText(fmt.Sprintf("on=%s admitted=%v took_slot=%v acquire=%v", on, ok, release, time.Since(start))), nil
	})
	return s
}

// serveWhere serves a front on whereServer with p as its pool.
func serveWhere(t *testing.T, p *callpool.Pool) *httptest.Server {
	o := testOptions()
	o.Calls = p
	_, ts := serveFront(t, whereServer(p), o)
	return ts
}

// callWhere calls "where" with a real client of protocol version.
func callWhere(t *testing.T, url, version string) string {
	t.Helper()
	c := testkit.StreamableClient(t, url+"/mcp", version)
	res, err := testkit.CallTool(c, "where", nil)
	if err != nil || res.IsError {
		t.Fatalf("where: %s", testkit.DescribeCall("where", res, err))
	}
	return testkit.ResultText(res)
}

// TestToolCallsRunOnThePoolsWorkers: a tools/call POSTed to /mcp, in
// both protocol eras, runs on one of the pool's goroutines, whose stack
// is grown already, not on the connection's, and holds its slot there:
// the tools' Acquire admits it without taking a second one.
func TestToolCallsRunOnThePoolsWorkers(t *testing.T) {
	p := callpool.New(callpool.Config{Limit: 2})
	t.Cleanup(p.Close)
	ts := serveWhere(t, p)
	for _, version := range []string{"2025-06-18", mcp.ProtocolVersion20260728} {
		got := callWhere(t, ts.URL, version)
		if !strings.Contains(got, "on=worker admitted=true took_slot=false") {
			t.Errorf("protocol %s: %s; want the call on a pool worker, admitted with the slot Run took", version, got)
		}
	}
	if p.Workers() < 1 {
		t.Errorf("no pool worker is alive after two calls")
	}
}

// TestToolCallWithoutASlotIsRefusedOnce: with the pool full, a call
// waits the pool's Wait at the front, then reaches the tools marked
// refused, so that they answer busy at once rather than after a second
// wait.
func TestToolCallWithoutASlotIsRefusedOnce(t *testing.T) {
	const wait = 300 * time.Millisecond
	p := callpool.New(callpool.Config{Limit: 1, Wait: wait})
	t.Cleanup(p.Close)
	ts := serveWhere(t, p)
	if ok, _ := p.Acquire(context.Background()); !ok {
		t.Fatal("could not fill the pool")
	}
	defer p.Release()

	got := callWhere(t, ts.URL, "2025-06-18")
	if !strings.Contains(got, "on=connection admitted=false took_slot=false") {
		t.Fatalf("%s; want the call refused, handed on on the connection's goroutine", got)
	}
	_, after, _ := strings.Cut(got, "acquire=")
	took, err := time.ParseDuration(strings.TrimSpace(after))
	if err != nil {
		t.Fatalf("reading %q: %v", got, err)
	}
	if took > wait/3 {
		t.Errorf("the tools' Acquire took %v, want no second wait of %v", took, wait)
	}
}
