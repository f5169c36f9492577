package stdio

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// TestDispatchAnswersAsMCPGo: what is not a request still gets the
// answer mcp-go's stdio server gives it, and the session goes on.
func TestDispatchAnswersAsMCPGo(t *testing.T) {
	out, took := serveTimed(t, slowServer(0), initLine+"\n"+
		"not json\n"+
		"\n"+
		"42\n"+
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"+
		`{"jsonrpc":"2.0","id":5,"method":7}`+"\n"+
		`{"jsonrpc":"2.0","id":6,"result":{}}`+"\n"+
		`{"jsonrpc":"2.0","id":"p","method":"ping"}`+"\n", 1<<20)
	if took > 3*time.Second {
		t.Errorf("Serve took %v", took)
	}
	msgs := answerLines(t, out)
	var parseErrors, unparsable, ping int
	for _, m := range msgs {
		e, _ := m["error"].(map[string]any)
		switch {
		case e != nil && e["code"] == float64(mcp.PARSE_ERROR) && e["message"] == "Parse error" && m["id"] == nil:
			parseErrors++
		case e != nil && e["code"] == float64(mcp.PARSE_ERROR) && e["message"] == "Failed to parse message" && m["id"] == nil:
			unparsable++
		case m["id"] == "p" && m["result"] != nil:
			ping++
		}
	}
	// initialize; "not json" and the empty line; 42 and the method that
	// is a number, which mcp-go cannot read as a message; the ping.
	// Nothing for the notification or the client's answer.
	if parseErrors != 2 || unparsable != 2 || ping != 1 || len(msgs) != 6 {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestBusyWorkersDoNotHoldRequests: with every tool-call worker busy,
// a ping is still answered, and the calls queued behind them run once a
// worker is free.
func TestBusyWorkersDoNotHoldRequests(t *testing.T) {
	s, started, release := heldServer()
	inR, inW := io.Pipe()
	write := func(line string) {
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	var out testkit.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), s, inR, &out, slog.New(slog.DiscardHandler), 10*time.Second, 1<<20)
	}()
	write(initLine)
	for i := 1; i <= callWorkers+2; i++ {
		write(`{"jsonrpc":"2.0","id":` + itoa(100+i) + `,"method":"tools/call","params":{"name":"hold","arguments":{}}}`)
	}
	for range callWorkers {
		waitChan(t, started, "a worker to take a call")
	}
	write(`{"jsonrpc":"2.0","id":"p","method":"ping"}`)
	testkit.WaitFor(t, "the ping's answer", func() bool { return strings.Contains(out.String(), `"id":"p"`) })
	select {
	case <-started:
		t.Fatalf("a call beyond the %d workers ran before one was free", callWorkers)
	default:
	}
	close(release)
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := answers(t, out.String())
	for i := 1; i <= callWorkers+2; i++ {
		if !strings.Contains(got[itoa(100+i)], "released") {
			t.Errorf("call %d: %q; stdout:\n%s", 100+i, got[itoa(100+i)], out.String())
		}
	}
}

// TestPanicIsAnsweredAndTheWorkerLives: a handler that panics outside
// the tools' own recovery gets an internal error carrying its id, and
// the worker serves the next call.
func TestPanicIsAnsweredAndTheWorkerLives(t *testing.T) {
	s := server.NewMCPServer("stdio-test", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("boom"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		panic("boom")
	})
	s.AddTool(mcp.NewTool("ok"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("fine"), nil
	})
	var in strings.Builder
	in.WriteString(initLine + "\n")
	for i := range 2 * callWorkers {
		in.WriteString(`{"jsonrpc":"2.0","id":` + itoa(10+i) + `,"method":"tools/call","params":{"name":"boom","arguments":{}}}` + "\n")
	}
	in.WriteString(`{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"ok","arguments":{}}}` + "\n")
	var logs testkit.SyncBuffer
	var out testkit.SyncBuffer
	if err := Serve(context.Background(), s, strings.NewReader(in.String()), &out, slog.New(slog.NewTextHandler(&logs, nil)), 5*time.Second, 1<<20); err != nil {
		t.Fatal(err)
	}
	msgs := answerLines(t, out.String())
	internal := 0
	for _, m := range msgs {
		if e, _ := m["error"].(map[string]any); e != nil && e["code"] == float64(mcp.INTERNAL_ERROR) && e["message"] == "internal error" {
			internal++
		}
	}
	if got := answers(t, out.String()); internal != 2*callWorkers || !strings.Contains(got["99"], "fine") {
		t.Errorf("%d internal errors, want %d; stdout:\n%s", internal, 2*callWorkers, out.String())
	}
	if !strings.Contains(logs.String(), "panic") || strings.Contains(logs.String()+out.String(), "boom") {
		t.Errorf("the panic was not logged, or its value was (it could hold anything): %s", logs.String())
	}
}

var itoa = strconv.Itoa

// TestOversizedLineWithABadID: the id of a line too long to read whole
// is echoed only when it is a valid one; stdout stays JSON.
func TestOversizedLineWithABadID(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":7x,"method":"tools/call","params":{"x":"` + strings.Repeat("x", 5000) + `"}}`
	out, _ := serveTimed(t, slowServer(0), big+"\n"+`{"jsonrpc":"2.0","id":8,"method":"ping"}`+"\n", 1024)
	msgs := answerLines(t, out)
	e, _ := msgs[0]["error"].(map[string]any)
	if len(msgs) != 2 || msgs[0]["id"] != nil || e == nil || msgs[1]["id"] != float64(8) ||
		!strings.Contains(e["message"].(string), "message of "+itoa(len(big)+1)+" bytes") {
		t.Errorf("stdout:\n%s", out)
	}
}
