package httpfront

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/sessions"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// pathServer has one tool, "who", whose answer names the session it
// runs in and the client that session was initialized by, in a
// structured result with characters encoding/json escapes; paths records,
// for each call, whether it came through mcp-go's streamable handler
// ("mcp-go") or the front's own answer ("front").
func pathServer() (*server.MCPServer, *pathLog) {
	log := &pathLog{}
	s := server.NewMCPServer("front-test", "1", server.WithToolCapabilities(false), server.WithHooks(&server.Hooks{}))
	// Raw schemas, as the product's tools have: the front reads a tool's
	// header bindings once per raw schema and leaves the others to mcp-go.
	s.AddTool(mcp.NewToolWithRawSchema("who", "", json.RawMessage(`{"type":"object"}`)), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		buf := make([]byte, 64<<10)
		stack := string(buf[:runtime.Stack(buf, false)])
		log.add(stack)
		id, client := "", ""
		if cs := server.ClientSessionFromContext(ctx); cs != nil {
			id = cs.SessionID()
			if ci, ok := cs.(server.SessionWithClientInfo); ok {
				client = ci.GetClientInfo().Name
			}
		}
		return mcp.NewToolResultStructured(map[string]any{"session": id, "client": client, "note": "<企查查> & \u2028"},
			"session "+id+" of "+client+" <&>"), nil
	})
	// "mirrored" takes a region that protocol 2026-07-28 clients also send
	// as a header (x-mcp-header), which mcp-go checks.
	// "mirrored-struct" is the same with its schema as a struct.
	mirrored := func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		buf := make([]byte, 64<<10)
		log.add(string(buf[:runtime.Stack(buf, false)]))
		return mcp.NewToolResultText("mirrored"), nil
	}
	s.AddTool(mcp.NewToolWithRawSchema("mirrored", "", json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`)), mirrored)
	structured := mcp.NewTool("mirrored-struct")
	structured.InputSchema.Properties = map[string]any{"region": map[string]any{"type": "string", "x-mcp-header": "Region"}}
	s.AddTool(structured, mirrored)
	return s, log
}

type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *pathLog) add(stack string) {
	p := "front"
	if strings.Contains(stack, "(*StreamableHTTPServer).handlePost") {
		p = "mcp-go"
	}
	l.mu.Lock()
	l.paths = append(l.paths, p)
	l.mu.Unlock()
}

func (l *pathLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.paths
	l.paths = nil
	return p
}

// post sends a tools/call body in session sid and returns the status,
// Content-Type and body of the answer.
func post(t *testing.T, url, sid, body string, header map[string]string) (int, string, string) {
	t.Helper()
	h := map[string]string{server.HeaderKeySessionID: sid, mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618}
	for k, v := range header {
		h[k] = v
	}
	resp := do(t, "POST", url+"/mcp", body, testkit.MCPHeaders(h))
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestPlainCallsAnsweredAsMCPGoWould: a plain tools/call of a legacy
// session is answered by the front itself, in the session mcp-go
// registered at initialize, with the bytes, status and Content-Type
// mcp-go's handler writes for the same call (which it still serves when
// the call carries _meta); and whatever the front does not answer gets
// mcp-go's answer as before.
func TestPlainCallsAnsweredAsMCPGoWould(t *testing.T) {
	s, paths := pathServer()
	_, ts := serveFront(t, s, testOptions())
	sid := initializeLegacy(t, ts.URL)

	const plain = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"who","arguments":{}}}`
	const withMeta = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"who","arguments":{},"_meta":{"x-test":1}}}`
	code, ctype, front := post(t, ts.URL, sid, plain, nil)
	if got := paths.take(); len(got) != 1 || got[0] != "front" {
		t.Fatalf("the plain call went through %v, want the front's own answer", got)
	}
	wantCode, wantType, viaMCPGo := post(t, ts.URL, sid, withMeta, nil)
	if got := paths.take(); len(got) != 1 || got[0] != "mcp-go" {
		t.Fatalf("the call with _meta went through %v, want mcp-go's handler", got)
	}
	if code != wantCode || ctype != wantType || front != viaMCPGo {
		t.Errorf("the front answered %d %q\n%s\nmcp-go answers %d %q\n%s", code, ctype, front, wantCode, wantType, viaMCPGo)
	}
	if !strings.Contains(front, `"session":"`+sid+`"`) || !strings.Contains(front, `"client":"t"`) {
		t.Errorf("the call did not run in the initialized session %s: %s", sid, front)
	}

	// An unknown tool: mcp-go's error, through the front.
	const unknown = `{"jsonrpc":"2.0","id":"u","method":"tools/call","params":{"name":"nope"}}`
	code, ctype, front = post(t, ts.URL, sid, unknown, nil)
	wantCode, wantType, viaMCPGo = post(t, ts.URL, sid, strings.Replace(unknown, `"nope"`, `"nope","_meta":{"x-test":1}`, 1), nil)
	if code != wantCode || ctype != wantType || front != viaMCPGo {
		t.Errorf("unknown tool: the front answered %d %q %s, mcp-go %d %q %s", code, ctype, front, wantCode, wantType, viaMCPGo)
	}

	// What the front leaves to mcp-go, answered as mcp-go answers it.
	for _, c := range []struct {
		name   string
		sid    string
		header map[string]string
		want   int
	}{
		{"a Content-Type that is not JSON", sid, map[string]string{"Content-Type": "text/plain"}, http.StatusBadRequest},
		{"an unknown protocol version", sid, map[string]string{mcp.HeaderProtocolVersion: "1999-01-01"}, http.StatusBadRequest},
		{"a session nobody issued", "mcp-session-0123456789abcdef0123456789abcdef", nil, http.StatusNotFound},
	} {
		if code, _, body := post(t, ts.URL, c.sid, plain, c.header); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
	if got := paths.take(); len(got) != 0 {
		t.Errorf("refused calls reached the tool: %v", got)
	}

	if resp := do(t, "DELETE", ts.URL+"/mcp", "", map[string]string{server.HeaderKeySessionID: sid,
		mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618}); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if code, _, body := post(t, ts.URL, sid, plain, nil); code != http.StatusNotFound {
		t.Errorf("a call after DELETE: %d %s, want 404", code, body)
	}
}

// TestAnsweredCallsKeepTheSessionAlive: a session used for nothing but
// plain calls, which the front answers, keeps the state mcp-go holds for
// it (here: who initialized it) past mcp-go's idle timeout, because one
// call in a while still goes through mcp-go's handler and counts as use.
func TestAnsweredCallsKeepTheSessionAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out an idle timeout")
	}
	s, paths := pathServer()
	o := testOptions()
	o.SessionIdleTTL = time.Second // mcp-go sweeps every second
	_, ts := serveFront(t, s, o)
	sid := initializeLegacy(t, ts.URL)

	const plain = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"who"}}`
	deadline := time.Now().Add(3 * o.SessionIdleTTL)
	for n := 0; time.Now().Before(deadline); n++ {
		code, _, body := post(t, ts.URL, sid, plain, nil)
		if code != http.StatusOK || !strings.Contains(body, `"client":"t"`) {
			t.Fatalf("call %d, %v into the session: %d %s; want it in the session initialize opened", n, time.Until(deadline), code, body)
		}
		time.Sleep(2 * time.Millisecond) // calls come ten times faster than touchEvery
	}
	var front, mcpgo int
	for _, p := range paths.take() {
		if p == "front" {
			front++
		} else {
			mcpgo++
		}
	}
	if front < 2*mcpgo || mcpgo == 0 {
		t.Errorf("%d calls answered by the front, %d by mcp-go: want most by the front, and some by mcp-go", front, mcpgo)
	}
}

// TestRealClientCallsAnsweredByTheFront: mcp-go's own client, in a
// legacy session, sends the plain calls the front answers itself.
func TestRealClientCallsAnsweredByTheFront(t *testing.T) {
	s, paths := pathServer()
	_, ts := serveFront(t, s, testOptions())
	c := testkit.StreamableClient(t, ts.URL+"/mcp", mcp.ProtocolVersion20250618)
	for range 3 {
		if res, err := testkit.CallTool(c, "who", nil); err != nil || res.IsError {
			t.Fatalf("who: %s", testkit.DescribeCall("who", res, err))
		}
	}
	if got := paths.take(); strings.Join(got, " ") != "front front front" {
		t.Errorf("the client's calls went through %v, want the front's own answer", got)
	}
}

// TestCallAfterADeleteElsewhereIs404: a session ended on another replica
// (DELETE there) is still registered with this replica's mcp-go until
// its sweep, but its calls get mcp-go's 404 here at once, not an answer.
func TestCallAfterADeleteElsewhereIs404(t *testing.T) {
	store := sessions.NewMemoryStore()
	o := testOptions()
	o.SessionStore = store
	sa, paths := pathServer()
	fa, a := serveFront(t, sa, o)
	sb, _ := pathServer()
	_, b := serveFront(t, sb, o)
	sid := initializeLegacy(t, a.URL)
	const plain = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"who"}}`
	if code, _, body := post(t, a.URL, sid, plain, nil); code != http.StatusOK {
		t.Fatalf("a call on the replica that opened the session: %d %s", code, body)
	}
	paths.take()

	if resp := do(t, "DELETE", b.URL+"/mcp", "", map[string]string{server.HeaderKeySessionID: sid,
		mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618}); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE on the other replica: %d", resp.StatusCode)
	}
	if code, _, body := post(t, a.URL, sid, plain, nil); code != http.StatusNotFound {
		t.Errorf("a call after the DELETE elsewhere: %d %s, want 404", code, body)
	}
	if got := paths.take(); len(got) != 0 {
		t.Errorf("the ended session's call reached the tool: %v", got)
	}
	if fa.legacy.get(sid) != nil {
		t.Errorf("the front still answers for the ended session")
	}
}

// TestCallOfASessionOpenedElsewhere: a plain call of a session another
// replica opened is answered by the front too, as mcp-go answers it
// there: in a session of the request's own, with the session's id and
// nothing of the client.
func TestCallOfASessionOpenedElsewhere(t *testing.T) {
	o := testOptions()
	o.SessionStore = sessions.NewMemoryStore()
	sa, _ := pathServer()
	_, a := serveFront(t, sa, o)
	sb, paths := pathServer()
	_, b := serveFront(t, sb, o)
	sid := initializeLegacy(t, a.URL)

	const plain = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"who"}}`
	code, ctype, front := post(t, b.URL, sid, plain, nil)
	wantCode, wantType, viaMCPGo := post(t, b.URL, sid, strings.Replace(plain, `"who"`, `"who","_meta":{"x-test":1}`, 1), nil)
	if got := strings.Join(paths.take(), " "); got != "front mcp-go" {
		t.Errorf("the two calls went through %s, want the front's answer, then mcp-go's", got)
	}
	if code != wantCode || ctype != wantType || front != viaMCPGo {
		t.Errorf("the front answered %d %q\n%s\nmcp-go answers %d %q\n%s", code, ctype, front, wantCode, wantType, viaMCPGo)
	}
	if !strings.Contains(front, `"session":"`+sid+`"`) || !strings.Contains(front, `"client":""`) {
		t.Errorf("want the call in a session of its own with the session's id: %s", front)
	}
	if code, _, body := post(t, b.URL, "mcp-session-0123456789abcdef0123456789abcdef", plain, nil); code != http.StatusNotFound {
		t.Errorf("a session nobody opened, on a replica that holds none: %d %s, want 404", code, body)
	}
}

// TestDeleteForgetsTheSession: a DELETE on the replica that holds the
// session drops it from what the front answers for (through mcp-go's
// unregistering), so nothing of it is kept.
func TestDeleteForgetsTheSession(t *testing.T) {
	s, _ := pathServer()
	f, ts := serveFront(t, s, testOptions())
	sid := initializeLegacy(t, ts.URL)
	if f.legacy.get(sid) == nil {
		t.Fatal("the front does not follow the session initialize opened")
	}
	if resp := do(t, "DELETE", ts.URL+"/mcp", "", map[string]string{server.HeaderKeySessionID: sid,
		mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618}); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if f.legacy.get(sid) != nil {
		t.Error("the front still holds the deleted session")
	}
}

// TestCancelReachesACallTheFrontAnswers: a legacy notifications/cancelled,
// which mcp-go handles, cancels a call the front is answering, as it
// cancels one mcp-go's handler serves; both end the same way.
func TestCancelReachesACallTheFrontAnswers(t *testing.T) {
	_, ts := newTestServer(t)
	sid := initializeLegacy(t, ts.URL)
	outcome := func(meta string) string {
		key, h := newHold(t)
		type answer struct {
			code int
			body string
		}
		got := make(chan answer, 1)
		go func() {
			code, _, body := post(t, ts.URL, sid, `{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"hold","arguments":{"key":"`+key+`"}`+meta+`}}`, nil)
			got <- answer{code, body}
		}()
		h.WaitStarted(t)
		if code, _, body := post(t, ts.URL, sid, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c"}}`, nil); code != http.StatusAccepted {
			t.Fatalf("notifications/cancelled: %d %s", code, body)
		}
		select {
		case a := <-got:
			return fmt.Sprintf("%d %s", a.code, a.body)
		case <-time.After(10 * time.Second):
			t.Fatal("the cancelled call did not end")
			return ""
		}
	}
	front, viaMCPGo := outcome(""), outcome(`,"_meta":{"x-test":1}`)
	if front != viaMCPGo {
		t.Errorf("cancelled, the front's call ended %q, mcp-go's %q", front, viaMCPGo)
	}
	t.Logf("a cancelled call ends: %q", front)
}

// modernMeta is what a client of protocol 2026-07-28 puts in _meta.
const modernMeta = `"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"m","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}`

// modernCall is a tools/call of protocol 2026-07-28 to tool with
// arguments args (JSON) and meta as the members of _meta, and its
// headers.
func modernCall(tool, args, meta string) (string, map[string]string) {
	body := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args +
		`,"_meta":{` + meta + `}}}`
	return body, map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728,
		mcp.HeaderMethod: string(mcp.MethodToolsCall), mcp.HeaderName: tool}
}

// postModern sends a modern call and returns status, Content-Type and body.
func postModern(t *testing.T, url, body string, header map[string]string) (int, string, string) {
	t.Helper()
	resp := do(t, "POST", url+"/mcp", body, testkit.MCPHeaders(header))
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestPlainModernCallsAnsweredAsMCPGoWould: a call of protocol
// 2026-07-28 whose headers pass mcp-go's checks is answered by the front,
// in a session of its own that knows the client from _meta, with what
// mcp-go writes for it (an error's HTTP status included); one whose
// headers do not, or whose tool mirrors parameters in headers, gets
// mcp-go's own answer.
func TestPlainModernCallsAnsweredAsMCPGoWould(t *testing.T) {
	s, paths := pathServer()
	_, ts := serveFront(t, s, testOptions())
	same := func(name, meta string) string {
		t.Helper()
		body, h := modernCall("who", "{}", meta)
		code, ctype, front := postModern(t, ts.URL, body, h)
		if got := paths.take(); len(got) > 1 || len(got) == 1 && got[0] != "front" {
			t.Fatalf("%s: the call went through %v, want the front's own answer", name, got)
		}
		body, h = modernCall("who", "{}", meta+`,"x-test":1`)
		wantCode, wantType, viaMCPGo := postModern(t, ts.URL, body, h)
		if got := paths.take(); len(got) > 1 || len(got) == 1 && got[0] != "mcp-go" {
			t.Fatalf("%s: the call with more _meta went through %v, want mcp-go's handler", name, got)
		}
		if code != wantCode || ctype != wantType || front != viaMCPGo {
			t.Errorf("%s: the front answered %d %q\n%s\nmcp-go answers %d %q\n%s", name, code, ctype, front, wantCode, wantType, viaMCPGo)
		}
		return fmt.Sprintf("%d %s", code, front)
	}
	if got := same("a plain call", modernMeta); !strings.Contains(got, `"client":"m"`) || !strings.Contains(got, `"session":""`) {
		t.Errorf("the call did not run in a session of its own knowing the client: %s", got)
	}
	// An error HandleMessage answers, which protocol 2026-07-28 gives an
	// HTTP status of its own.
	noCaps := strings.Replace(modernMeta, `,"io.modelcontextprotocol/clientCapabilities":{}`, "", 1)
	if got := same("no client capabilities", noCaps); !strings.HasPrefix(got, "400 ") {
		t.Errorf("no client capabilities: %s, want mcp-go's 400", got)
	}

	body, h := modernCall("who", `{}`, modernMeta)
	for _, c := range []struct {
		name   string
		header map[string]string
	}{
		{"Mcp-Name of another tool", map[string]string{mcp.HeaderName: "mirrored"}},
		{"no Mcp-Method", map[string]string{mcp.HeaderMethod: ""}},
		{"Mcp-Method of another method", map[string]string{mcp.HeaderMethod: "tools/list"}},
		{"a Last-Event-ID", map[string]string{mcp.HeaderLastEventID: "1"}},
		{"a header version other than _meta's", map[string]string{mcp.HeaderProtocolVersion: "2026-07-29"}},
	} {
		hh := map[string]string{}
		for k, v := range h {
			hh[k] = v
		}
		for k, v := range c.header {
			if v == "" {
				delete(hh, k)
			} else {
				hh[k] = v
			}
		}
		if code, _, answer := postModern(t, ts.URL, body, hh); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want mcp-go's 400", c.name, code, answer)
		}
	}
	if got := paths.take(); len(got) != 0 {
		t.Errorf("calls with bad headers reached the tool: %v", got)
	}

	// A tool with a mirrored parameter, its schema raw or a struct:
	// mcp-go checks the header.
	for _, tool := range []string{"mirrored", "mirrored-struct"} {
		body, h = modernCall(tool, `{"region":"east"}`, modernMeta)
		h[mcp.HeaderParamPrefix+"Region"] = "east"
		if code, _, answer := postModern(t, ts.URL, body, h); code != http.StatusOK || !strings.Contains(answer, "mirrored") {
			t.Errorf("%s, a mirrored parameter with its header: %d %s", tool, code, answer)
		}
		if got := paths.take(); len(got) != 1 || got[0] != "mcp-go" {
			t.Errorf("the call of %s, with a mirrored parameter, went through %v, want mcp-go's handler", tool, got)
		}
		h[mcp.HeaderParamPrefix+"Region"] = "west"
		if code, _, answer := postModern(t, ts.URL, body, h); code != http.StatusBadRequest {
			t.Errorf("%s, a mirrored parameter with another header: %d %s, want mcp-go's 400", tool, code, answer)
		}
	}
}

// TestRealModernClientCallsAnsweredByTheFront: mcp-go's own client on
// protocol 2026-07-28 sends calls the front answers itself.
func TestRealModernClientCallsAnsweredByTheFront(t *testing.T) {
	s, paths := pathServer()
	_, ts := serveFront(t, s, testOptions())
	c := testkit.StreamableClient(t, ts.URL+"/mcp", mcp.ProtocolVersion20260728)
	for range 3 {
		if res, err := testkit.CallTool(c, "who", nil); err != nil || res.IsError {
			t.Fatalf("who: %s", testkit.DescribeCall("who", res, err))
		}
	}
	if got := paths.take(); strings.Join(got, " ") != "front front front" {
		t.Errorf("the client's calls went through %v, want the front's own answer", got)
	}
}
