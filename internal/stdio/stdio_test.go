package stdio

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
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
	err := Serve(context.Background(), slowServer(300*time.Millisecond), in, &out, slog.New(slog.DiscardHandler), 10*time.Second, 1<<20)
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
	if err := Serve(context.Background(), slowServer(time.Hour), in, &out, slog.New(slog.DiscardHandler), 200*time.Millisecond, 1<<20); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Serve returned after %v with a drain timeout of 200ms", d)
	}
}

// answerLines reads stdout's JSON-RPC messages in order.
func answerLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var msgs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// serveTimed runs Serve on in with a long drain timeout and returns stdout
// and how long Serve took.
func serveTimed(t *testing.T, s *server.MCPServer, in string, maxLine int) (string, time.Duration) {
	t.Helper()
	var out testkit.SyncBuffer
	start := time.Now()
	if err := Serve(context.Background(), s, strings.NewReader(in), &out, slog.New(slog.DiscardHandler), 8*time.Second, maxLine); err != nil {
		t.Fatal(err)
	}
	return out.String(), time.Since(start)
}

// TestSignalLetsCallsFinish: SIGTERM (ctx done) while a call runs gives it
// the shutdown timeout, and its answer is written; a request that arrives
// after the signal is not started.
func TestSignalLetsCallsFinish(t *testing.T) {
	in := &stagedInput{first: initLine + "\n" + `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hold","arguments":{}}}` + "\n",
		then:  `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"hold","arguments":{}}}` + "\n",
		asked: make(chan struct{}), more: make(chan struct{}), delivered: make(chan struct{}), end: make(chan struct{})}
	defer close(in.end)
	s, started, release := heldServer()
	var out, logs testkit.SyncBuffer
	ctx, signal := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, s, in, &out, slog.New(slog.NewTextHandler(&logs, nil)), 10*time.Second, 1<<20)
	}()
	// Call 2 runs, and the reader already waits for more input: the
	// next line reaches Serve only after the signal.
	waitChan(t, started, "call 2 to start")
	waitChan(t, in.asked, "Serve to read past call 2")
	signal()
	testkit.WaitFor(t, "the drain to begin", func() bool { return strings.Contains(logs.String(), "waiting for the calls in flight") })
	close(in.more)
	// Reading id 3 counts it as owed before mcp-go gets the line, so were
	// it handed on, the drain would wait for its answer too.
	waitChan(t, in.delivered, "id 3 to be read")
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(9 * time.Second):
		t.Fatal("Serve did not return after the call in flight ended")
	}
	got := answers(t, out.String())
	if !strings.Contains(got["2"], "released") {
		t.Errorf("call in flight at the signal: %q, want its result; stdout:\n%s", got["2"], out.String())
	}
	if _, ok := got["3"]; ok {
		t.Errorf("a request read after the signal was served: %s", out.String())
	}
	select {
	case <-started:
		t.Error("a request read after the signal was started")
	default:
	}
}

// heldServer is an MCP server with one tool, "hold", that sends on started
// when it runs and answers "released" once release is closed.
func heldServer() (s *server.MCPServer, started chan struct{}, release chan struct{}) {
	s = server.NewMCPServer("stdio-test", "1", server.WithToolCapabilities(false))
	started, release = make(chan struct{}, 10), make(chan struct{})
	s.AddTool(mcp.NewTool("hold"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		started <- struct{}{}
		select {
		case <-release:
			return mcp.NewToolResultText("released"), nil
		case <-ctx.Done():
			return mcp.NewToolResultError("canceled"), nil
		}
	})
	return s, started, release
}

// stagedInput is stdin that gives first; asked for more, it closes asked,
// waits for more to be closed, gives then and closes delivered; after that
// it gives nothing until end is closed.
type stagedInput struct {
	first, then                 string
	asked, more, delivered, end chan struct{}
	reads                       int
}

// Read is called by one goroutine at a time (mcp-go's reader).
func (s *stagedInput) Read(p []byte) (int, error) {
	s.reads++
	switch s.reads {
	case 1:
		return copy(p, s.first), nil
	case 2:
		close(s.asked)
		<-s.more
		n := copy(p, s.then)
		close(s.delivered)
		return n, nil
	}
	<-s.end
	return 0, io.EOF
}

// waitChan waits for c to be closed or sent on.
func waitChan(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(time.Minute):
		t.Fatalf("gave up waiting for %s after a minute", what)
	}
}

// TestDrainMatchesIDsByValue: mcp-go writes an id back in its own spelling
// (2.0 → 2, "\u0031" → "1"); the drain must recognise the answer, not wait
// out its timeout.
func TestDrainMatchesIDsByValue(t *testing.T) {
	for _, id := range []string{`2.0`, `1e0`, `"\u0031"`, `12345678901234567890`, `-0`, `"a\/b"`, `7`} {
		in := `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"wait","arguments":{}}}` + "\n"
		out, took := serveTimed(t, slowServer(50*time.Millisecond), in, 1<<20)
		if !strings.Contains(out, "waited") || took > 3*time.Second {
			t.Errorf("id %s: Serve took %v; stdout %s", id, took, out)
		}
	}
}

// TestBatchGetsAJSONRPCError: the protocol has no batches; a batch gets a
// clear Invalid Request, not mcp-go's "Failed to parse message", and does
// not hold up the exit.
func TestBatchGetsAJSONRPCError(t *testing.T) {
	out, took := serveTimed(t, slowServer(0), `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]`+"\n"+
		`{"jsonrpc":"2.0","id":3,"method":"ping"}`+"\n", 1<<20)
	msgs := answerLines(t, out)
	if len(msgs) != 2 || took > 3*time.Second {
		t.Fatalf("took %v, stdout:\n%s", took, out)
	}
	e, _ := msgs[0]["error"].(map[string]any)
	if e["code"] != float64(mcp.INVALID_REQUEST) || !strings.Contains(e["message"].(string), "batch") || msgs[0]["id"] != nil {
		t.Errorf("batch answer: %v", msgs[0])
	}
	if msgs[1]["id"] != float64(3) {
		t.Errorf("the ping after the batch: %v", msgs[1])
	}
}

// TestMethodAndResultDoesNotStall: mcp-go takes a message with both a
// method and a result for a response and never answers it.
func TestMethodAndResultDoesNotStall(t *testing.T) {
	_, took := serveTimed(t, slowServer(0), `{"jsonrpc":"2.0","id":3,"method":"ping","result":{}}`+"\n", 1<<20)
	if took > 3*time.Second {
		t.Errorf("Serve took %v after a message with method and result", took)
	}
}

// TestLineOverTheLimit: a line over the limit is answered with an error
// carrying its id and discarded; the next line is served.
func TestLineOverTheLimit(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait","arguments":{"x":"` + strings.Repeat("x", 5000) + `"}}}`
	for name, in := range map[string]string{
		"with newline":    big + "\n" + `{"jsonrpc":"2.0","id":8,"method":"ping"}` + "\n",
		"last, unended":   `{"jsonrpc":"2.0","id":8,"method":"ping"}` + "\n" + big,
		"exactly the max": strings.Repeat(" ", 1024-len(`{"jsonrpc":"2.0","id":8,"method":"ping"}`)) + `{"jsonrpc":"2.0","id":8,"method":"ping"}` + "\n" + big + "\n",
	} {
		out, _ := serveTimed(t, slowServer(0), in, 1024)
		msgs := answerLines(t, out)
		var gotErr, gotPing bool
		for _, m := range msgs {
			if e, ok := m["error"].(map[string]any); ok && m["id"] == float64(7) && strings.Contains(e["message"].(string), "limit of 1024 bytes") {
				gotErr = true
			}
			if m["id"] == float64(8) && m["result"] != nil {
				gotPing = true
			}
		}
		if !gotErr || !gotPing || len(msgs) != 2 {
			t.Errorf("%s: stdout:\n%s", name, out)
		}
	}
}

// hugeLine is a reader of one line of n bytes and then a ping, made as it
// is read: the test itself holds none of it.
type hugeLine struct {
	n, sent int
	tail    *strings.Reader
}

func (h *hugeLine) Read(p []byte) (int, error) {
	const head = `{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"`
	if h.sent >= h.n {
		return h.tail.Read(p)
	}
	k := min(len(p), h.n-h.sent)
	for i := range k {
		pos := h.sent + i
		switch {
		case pos < len(head):
			p[i] = head[pos]
		case pos == h.n-1:
			p[i] = '\n'
		default:
			p[i] = 'a'
		}
	}
	h.sent += k
	return k, nil
}

// TestHugeLineIsNotHeld: a 50 MiB line costs the server a bounded amount
// of memory, not a multiple of the line.
func TestHugeLineIsNotHeld(t *testing.T) {
	in := &hugeLine{n: 50 << 20, tail: strings.NewReader(`{"jsonrpc":"2.0","id":10,"method":"ping"}` + "\n")}
	var out testkit.SyncBuffer
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Serve(context.Background(), slowServer(0), in, &out, slog.New(slog.DiscardHandler), 5*time.Second, 1<<20); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a 50 MiB line with a 1 MiB limit: %.1f MiB allocated in all", float64(alloc)/(1<<20))
	if alloc > 16<<20 {
		t.Errorf("%d MiB allocated for a line that should be discarded as it streams", alloc>>20)
	}
	if got := answers(t, out.String()); got["10"] == "" || !strings.Contains(out.String(), `"id":9,"error"`) {
		t.Errorf("stdout: %.500s", out.String())
	}
}

func TestScanMessage(t *testing.T) {
	type got struct {
		valid, complete, hasID, idNotNull bool
		rawID, method                     string
		methodNotString                   bool
	}
	for _, c := range []struct {
		line  string
		whole bool
		want  got
	}{
		{`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`, true, got{true, true, true, true, `7`, `"tools/call"`, false}},
		{`{"jsonrpc":"2.0","ID":7,"Method":"ping"}`, true, got{true, true, true, true, `7`, `"ping"`, false}},
		{`{"jsonrpc":"2.0","\u0069d":7.0,"method":"ping"}`, true, got{true, true, true, true, `7.0`, `"ping"`, false}},
		{`{"jsonrpc":"2.0","id":"\u00e9","method":"ping"}`, true, got{true, true, true, true, `"\u00e9"`, `"ping"`, false}},
		{`{"jsonrpc":"2.0","id":1,"id":null,"method":"ping"}`, true, got{true, true, false, false, ``, `"ping"`, false}},
		{`{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, true, got{true, true, false, true, `{"a":1}`, `"ping"`, false}},
		{`{"jsonrpc":"2.0","id":1,"method":7}`, true, got{true, true, true, true, `1`, ``, true}},
		{`{"jsonrpc":"2.0","id":1,"method":null}`, true, got{true, true, true, true, `1`, ``, false}},
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, true, got{true, true, false, false, ``, `"notifications/initialized"`, false}},
		{`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":tru}}`, true, got{}},
		{`[1,2]`, true, got{valid: true}},
		{`not json`, true, got{}},
		{`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"x":"cut off`, false, got{hasID: true, idNotNull: true, rawID: `9`, method: `"tools/call"`}},
		{`{"jsonrpc":"2.0","id":9,"params":{"x":"cut off`, false, got{hasID: true, idNotNull: true, rawID: `9`}},
		{``, false, got{}},
	} {
		h := scanMessage([]byte(c.line), c.whole)
		g := got{h.valid, h.complete, h.hasID, h.idNotNull, string(h.rawID), string(h.method), h.methodNotString}
		if g != c.want {
			t.Errorf("scanMessage(%s, %v) = %+v, want %+v", c.line, c.whole, g, c.want)
		}
	}
}

func TestMethodIs(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want bool
	}{
		{`"tools/call"`, true},
		{`"tools\/call"`, true},
		{`"tools\u002fcall"`, true},
		{`"tools/list"`, false},
		{`"Tools/call"`, false},
		{``, false},
	} {
		if got := (header{method: []byte(c.raw)}).methodIs("tools/call"); got != c.want {
			t.Errorf("methodIs(%s) = %v, want %v", c.raw, got, c.want)
		}
	}
}

var benchRequest = []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"企查查科技有限公司"}}}`)

// TestScanDoesNotAllocate: the drain's reading of a request allocates
// nothing.
func TestScanDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if h := scanMessage(benchRequest, true); !h.methodIs("tools/call") {
			t.Fatal("not read as a tool call")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}

func BenchmarkScanRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		scanMessage(benchRequest, true)
	}
}
