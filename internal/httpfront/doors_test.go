package httpfront

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// modernClient connects mcp-go's client with its default protocol,
// 2026-07-28 (no initialize, no session).
func modernClient(t *testing.T, url string) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.Initialize(t, c, mcp.ProtocolVersion20260728)
	return c
}

// TestModernCancelCannotReachAnotherClient: on protocol 2026-07-28 two
// clients use the same JSON-RPC ids all the time; a notifications/cancelled
// from one must not cut the other's call.
func TestModernCancelCannotReachAnotherClient(t *testing.T) {
	_, ts := newTestServer(t)
	victim, attacker := modernClient(t, ts.URL+"/mcp"), modernClient(t, ts.URL+"/mcp")
	key, h := newHold(t)
	done := make(chan string, 1)
	go func() {
		res, err := testkit.CallTool(victim, "hold", map[string]any{"key": key})
		done <- testkit.DescribeCall("hold", res, err)
	}()
	h.WaitStarted(t)
	// The attacker cancels every id the victim could be using, as a
	// modern-era notification.
	for id := range 10 {
		n := mcp.JSONRPCNotification{JSONRPC: mcp.JSONRPC_VERSION, Notification: mcp.Notification{
			Method: string(mcp.MethodNotificationCancelled),
			Params: mcp.NotificationParams{AdditionalFields: map[string]any{"requestId": id, "reason": "hostile"},
				Meta: map[string]any{"io.modelcontextprotocol/protocolVersion": mcp.ProtocolVersion20260728,
					"io.modelcontextprotocol/clientCapabilities": map[string]any{},
					"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "attacker", "version": "1"}}},
		}}
		if err := attacker.GetTransport().SendNotification(context.Background(), n); err != nil {
			t.Fatalf("sending notifications/cancelled: %v", err)
		}
	}
	// And the same as raw HTTP, headers and all.
	for id := range 10 {
		body := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + strconv.Itoa(id) + `,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
			`"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"}}}}`
		resp := do(t, "POST", ts.URL+"/mcp", body, testkit.MCPHeaders(map[string]string{
			mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728, "Mcp-Method": "notifications/cancelled"}))
		if resp.StatusCode != http.StatusAccepted {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("raw notifications/cancelled: %d %s, want 202", resp.StatusCode, b)
		}
	}
	// Each notification was answered after mcp-go handled it, so a cancel
	// that reached the call has ended it by now: release it only then.
	h.Release()
	got := <-done
	if !strings.Contains(got, "released") {
		t.Errorf("another client's notifications/cancelled reached the call: %s", got)
	}
}

// TestLongLivedStreamsShareTheCap: GET streams on /mcp count against
// MaxSSEStreams and in the gauge, as SSE streams do.
func TestLongLivedStreamsShareTheCap(t *testing.T) {
	f, ts := newTestServer(t, func(o *Options) { o.MaxSSEStreams = 3 })
	sid := initializeLegacy(t, ts.URL)
	get := testkit.MCPHeaders(map[string]string{"Accept": "text/event-stream", server.HeaderKeySessionID: sid,
		mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618})
	for i := range 2 {
		if resp := openSSE(t, ts.URL+"/mcp", get); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /mcp stream %d: %d", i, resp.StatusCode)
		}
	}
	if resp := openSSE(t, ts.URL+"/sse", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %d", resp.StatusCode)
	}
	if n := f.OpenSSEStreams(); n != 3 {
		t.Errorf("gauge %d with two GET /mcp streams and one SSE stream open, want 3", n)
	}
	for _, path := range []string{"/mcp", "/sse"} {
		if resp := openSSE(t, ts.URL+path, get); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %s over the cap: %d, want 503", path, resp.StatusCode)
		}
	}
}

// initializeLegacy opens a legacy session with a raw initialize and returns
// its id.
func initializeLegacy(t *testing.T, base string) string {
	t.Helper()
	resp := do(t, "POST", base+"/mcp", testkit.InitializeBody, testkit.MCPHeaders(nil))
	sid := resp.Header.Get(server.HeaderKeySessionID)
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, sid)
	}
	return sid
}

// TestLegacySessionsAreReal: only issued ids work, DELETE ends a session,
// a request without one is a 400, a GET must ask for an event stream, and
// open sessions are capped.
func TestLegacySessionsAreReal(t *testing.T) {
	_, ts := newTestServer(t, func(o *Options) { o.MaxSessions = 2 })
	sid := initializeLegacy(t, ts.URL)
	ping := func(id string) int {
		h := map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618}
		if id != "" {
			h[server.HeaderKeySessionID] = id
		}
		return do(t, "POST", ts.URL+"/mcp", `{"jsonrpc":"2.0","id":5,"method":"ping"}`, testkit.MCPHeaders(h)).StatusCode
	}
	if got := ping(sid); got != http.StatusOK {
		t.Fatalf("ping in an issued session: %d", got)
	}
	// Made up in our format and in mcp-go's own (a UUID).
	for _, madeUp := range []string{"mcp-session-0123456789abcdef0123456789abcdef", "mcp-session-" + uuid.NewString()} {
		if got := ping(madeUp); got != http.StatusNotFound {
			t.Errorf("made-up session id %s: %d, want 404", madeUp, got)
		}
	}
	if got := ping(""); got != http.StatusBadRequest {
		t.Errorf("legacy request without a session id: %d, want 400", got)
	}
	noAccept := map[string]string{server.HeaderKeySessionID: sid, mcp.HeaderProtocolVersion: mcp.ProtocolVersion20250618}
	if resp := openSSE(t, ts.URL+"/mcp", noAccept); resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("GET without Accept: text/event-stream: %d, want 406", resp.StatusCode)
	}
	// The cap: one more session fits, the third is refused.
	initializeLegacy(t, ts.URL)
	if resp := do(t, "POST", ts.URL+"/mcp", testkit.InitializeBody, testkit.MCPHeaders(nil)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("initialize over MaxSessions: %d, want 503", resp.StatusCode)
	}
	if resp := do(t, "DELETE", ts.URL+"/mcp", "", noAccept); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if got := ping(sid); got != http.StatusNotFound {
		t.Errorf("after DELETE: %d, want 404", got)
	}
	initializeLegacy(t, ts.URL) // DELETE made room
}

// TestHostCheckedOnEveryEndpoint: on a loopback listener a Host that is
// not loopback (a rebound domain) reads nothing but the health endpoints.
func TestHostCheckedOnEveryEndpoint(t *testing.T) {
	_, ts := newTestServer(t, func(o *Options) {
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "m 1\n") })
	})
	for _, c := range []struct {
		method, path, host string
		want               int
	}{
		{"GET", "/metrics", "evil.com", http.StatusForbidden},
		{"GET", "/metrics", "evil.com:8080", http.StatusForbidden},
		{"GET", "/metrics", "localhost.evil.com", http.StatusForbidden},
		{"GET", "/sse", "evil.com", http.StatusForbidden},
		{"POST", "/message?sessionId=x", "evil.com", http.StatusForbidden},
		{"POST", "/mcp", "evil.com", http.StatusForbidden},
		{"GET", "/metrics", "127.0.0.1:8080", http.StatusOK},
		{"GET", "/metrics", "LOCALHOST", http.StatusOK},
		{"GET", "/metrics", "[::1]:8080", http.StatusOK},
		{"GET", "/healthz", "evil.com", http.StatusOK},
		{"GET", "/readyz", "evil.com", http.StatusOK},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(testkit.InitializeBody))
		req.Host = c.host
		for k, v := range testkit.MCPHeaders(nil) {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s with Host %s: %d, want %d", c.method, c.path, c.host, resp.StatusCode, c.want)
		}
	}
}

// TestCredentialParamsAnyCase: ?Token= is refused like ?token=.
func TestCredentialParamsAnyCase(t *testing.T) {
	_, ts := newTestServer(t, withToken)
	for _, q := range []string{"token", "Token", "TOKEN", "Access_Token", "API_KEY"} {
		if resp := do(t, "POST", ts.URL+"/mcp?"+q+"=x", testkit.InitializeBody, testkit.MCPHeaders(nil)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s=: %d, want 400", q, resp.StatusCode)
		}
	}
}

// TestReadyzAnswersDuringTheDrain: after SIGTERM (the context ends) the
// listener stays open while a call finishes: /readyz answers 503 instead
// of refusing the connection, new calls get 503, and the call in flight
// still gets its answer.
func TestReadyzAnswersDuringTheDrain(t *testing.T) {
	addr, _, stop := serve(t, nil)
	c := testkit.StreamableClient(t, "http://"+addr+"/mcp", mcp.ProtocolVersion20251125)
	key, h := newHold(t)
	var wg sync.WaitGroup
	var got string
	wg.Go(func() {
		res, err := testkit.CallTool(c, "hold", map[string]any{"key": key})
		got = testkit.DescribeCall("hold", res, err)
	})
	h.WaitStarted(t)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// /readyz answers 200 until the shutdown begins, then 503 while the
	// held call keeps the drain going; a refused connection fails at once.
	testkit.WaitFor(t, "/readyz to answer 503 during the drain", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatalf("/readyz during the drain: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz: %d", resp.StatusCode)
		}
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if resp := do(t, "POST", "http://"+addr+"/mcp", testkit.InitializeBody, testkit.MCPHeaders(nil)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a new request during the drain: %d, want 503", resp.StatusCode)
	}
	h.Release()
	wg.Wait()
	if !strings.Contains(got, "released") {
		t.Errorf("the call in flight at shutdown: %s", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
