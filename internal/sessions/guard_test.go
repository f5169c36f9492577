package sessions

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

var sse = map[string]string{"Accept": "text/event-stream"}

// TestMcpGoAlone pins what mcp-go v1.2.1 answers in the legacy era with our
// Manager but without LegacyGuard: the reasons the guard exists. If mcp-go
// starts getting one of these right, this test says which.
func TestMcpGoAlone(t *testing.T) {
	r := newReplica(t, NewMemoryStore(), Config{}, true)
	sid := mustInitialize(t, r.URL)

	if got := ping(t, r.URL, madeUp); got != http.StatusNotFound {
		t.Errorf("made-up id: %d, want 404 (the Manager's own check)", got)
	}
	if got := ping(t, r.URL, ""); got != http.StatusNotFound {
		t.Errorf("no session id: mcp-go answers %d; the guard exists because it answered 404, not 400", got)
	}
	for name, c := range map[string]struct {
		sid    string
		header map[string]string
	}{
		"GET without Accept: text/event-stream": {sid, nil},
		"GET with a made-up id":                 {madeUp, sse},
		"GET without a session id":              {"", sse},
	} {
		status := getStatus(t, r.URL, c.sid, c.header)
		if status != http.StatusOK {
			t.Errorf("%s: mcp-go answers %d; the guard exists because it opened a stream", name, status)
		}
	}
	if got := del(t, r.URL, madeUp); got != http.StatusOK {
		t.Errorf("DELETE of a made-up id: mcp-go answers %d; the guard exists because it answered 200", got)
	}
	// What the Manager fixes on its own: DELETE ends the session.
	if got := del(t, r.URL, sid); got != http.StatusOK {
		t.Fatalf("DELETE: %d", got)
	}
	if got := ping(t, r.URL, sid); got != http.StatusNotFound {
		t.Errorf("after DELETE: %d, want 404", got)
	}
}

// TestGuardLegacyAnswers checks every spec point the guard fixes, on one
// instance (memory store).
func TestGuardLegacyAnswers(t *testing.T) {
	r := newReplica(t, NewMemoryStore(), Config{}, false)
	sid := mustInitialize(t, r.URL)

	status, _, body := do(t, http.MethodPost, r.URL, "", `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`,
		map[string]string{mcp.HeaderProtocolVersion: legacyVersion})
	if status != http.StatusBadRequest || !strings.Contains(body, `"id":7`) {
		t.Errorf("request without session id: %d %s, want 400 carrying id 7", status, body)
	}
	if status, _, _ := do(t, http.MethodPost, r.URL, "", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil); status != http.StatusBadRequest {
		t.Errorf("notification without session id: %d, want 400", status)
	}
	for _, c := range []struct {
		name   string
		sid    string
		header map[string]string
		want   int
	}{
		{"GET without Accept", sid, nil, http.StatusNotAcceptable},
		{"GET with Accept: application/json", sid, map[string]string{"Accept": "application/json"}, http.StatusNotAcceptable},
		{"GET without a session id", "", sse, http.StatusBadRequest},
		{"GET with a made-up id", madeUp, sse, http.StatusNotFound},
		{"GET with a malformed id", "x", sse, http.StatusNotFound},
		{"GET in a session", sid, map[string]string{"Accept": "application/json, text/event-stream"}, http.StatusOK},
	} {
		status := getStatus(t, r.URL, c.sid, c.header)
		if status != c.want {
			t.Errorf("%s: %d, want %d", c.name, status, c.want)
		}
	}
	if got := del(t, r.URL, ""); got != http.StatusBadRequest {
		t.Errorf("DELETE without id: %d, want 400", got)
	}
	if got := del(t, r.URL, madeUp); got != http.StatusNotFound {
		t.Errorf("DELETE of a made-up id: %d, want 404", got)
	}
	if got := ping(t, r.URL, madeUp); got != http.StatusNotFound {
		t.Errorf("made-up id: %d, want 404", got)
	}
	if got := ping(t, r.URL, sid); got != http.StatusOK {
		t.Fatalf("ping in session: %d", got)
	}
	if got := del(t, r.URL, sid); got != http.StatusOK {
		t.Fatalf("DELETE: %d", got)
	}
	for _, got := range []int{ping(t, r.URL, sid), del(t, r.URL, sid)} {
		if got != http.StatusNotFound {
			t.Errorf("after DELETE: %d, want 404", got)
		}
	}
	// The modern era has no sessions; the guard stays out of its way
	// (mcp-go answers a modern GET 405).
	status = getStatus(t, r.URL, "", map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728})
	if status != http.StatusMethodNotAllowed {
		t.Errorf("modern GET: %d, want mcp-go's 405", status)
	}
}

// TestMCPGoClientLegacy runs mcp-go's own client, pinned to a legacy
// version, through the guard: initialize, a call, and Close's DELETE.
func TestMCPGoClientLegacy(t *testing.T) {
	r := newReplica(t, NewMemoryStore(), Config{}, false)
	tr, err := transport.NewStreamableHTTP(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(mcp.ProtocolVersion20250618))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		t.Fatal(err)
	}
	sid := c.GetSessionId()
	if !wellFormed(sid) {
		t.Fatalf("session id %q was not issued by the Manager", sid)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "echo"
	req.Params.Arguments = map[string]any{"text": "hi"}
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("call: %v %+v", err, res)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ping(t, r.URL, sid); got != http.StatusNotFound {
		t.Errorf("after the client's Close (DELETE): %d, want 404", got)
	}
}

// TestCapMemory: over the cap an initialize is refused clearly, and a
// DELETE makes room; concurrent initializes never overshoot.
func TestCapMemory(t *testing.T) {
	r := newReplica(t, NewMemoryStore(), Config{MaxSessions: 2}, false)
	a, b := mustInitialize(t, r.URL), mustInitialize(t, r.URL)
	_ = b
	body := `{"jsonrpc":"2.0","id":9,"method":"initialize","params":{"protocolVersion":"` + legacyVersion +
		`","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, r.URL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Mcp-Session-Id") != "" {
		t.Fatalf("third initialize: %d Retry-After=%q session=%q, want 503 with Retry-After and no session",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Mcp-Session-Id"))
	}
	status, _, text := do(t, http.MethodPost, r.URL, "", body, nil)
	if code, msg := jsonRPCError(t, text); status != http.StatusServiceUnavailable || code == 0 || !strings.Contains(msg, "too many open sessions") {
		t.Errorf("refusal: %d %d %q", status, code, msg)
	}
	if got := del(t, r.URL, a); got != http.StatusOK {
		t.Fatal(got)
	}
	mustInitialize(t, r.URL)

	// Concurrency: 20 initializes for 5 places.
	r2 := newReplica(t, NewMemoryStore(), Config{MaxSessions: 5}, false)
	if n := concurrentInitializes(t, []string{r2.URL}, 20); n != 5 {
		t.Errorf("20 concurrent initializes, cap 5: %d opened", n)
	}
}

// concurrentInitializes sends n initializes round-robin over urls at once
// and returns how many got a session.
func concurrentInitializes(t *testing.T, urls []string, n int) int {
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if sid, status := initialize(t, urls[i%len(urls)]); status == http.StatusOK && sid != "" {
				ok.Add(1)
			} else if status != http.StatusServiceUnavailable {
				t.Errorf("initialize: %d", status)
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

// TestFailedInitializeFreesItsPlace: an initialize mcp-go rejects must not
// keep the place the guard reserved for it.
func TestFailedInitializeFreesItsPlace(t *testing.T) {
	r := newReplica(t, NewMemoryStore(), Config{MaxSessions: 1}, false)
	status, sid, _ := do(t, http.MethodPost, r.URL, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}`,
		map[string]string{"Content-Type": "text/plain"})
	if status == http.StatusOK && sid != "" {
		t.Fatalf("a bad initialize opened a session (%d)", status)
	}
	mustInitialize(t, r.URL)
}

func TestWellFormed(t *testing.T) {
	for id, want := range map[string]bool{
		newID():                      true,
		madeUp:                       true,
		"":                           false,
		"mcp-session-":               false,
		strings.ToUpper(madeUp):      false,
		madeUp[:len(madeUp)-1] + "g": false,
		madeUp + "0":                 false,
		"mcp-session-" + strings.Repeat("0", 31) + "/": false,
	} {
		if got := wellFormed(id); got != want {
			t.Errorf("wellFormed(%q) = %v", id, got)
		}
	}
}
