package httpfront

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

const testToken = "test-bearer-token-0123456789"

// echoServer is an MCP server with one tool, "echo", that answers with its
// "text" argument: the front knows nothing of QCC, so neither do its tests.
// It has hooks, as tools.NewServer's server has, so the front answers
// plain legacy calls itself (answerCall), as it does in the product.
func echoServer() *server.MCPServer {
	s := server.NewMCPServer("front-test", "1", server.WithToolCapabilities(false), server.WithHooks(&server.Hooks{}))
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text")), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("echo: " + req.GetString("text", "")), nil
	})
	// "hold" reports that it runs, then answers "released" when the test
	// releases its "key", or "canceled" when its call is canceled first:
	// a test knows a call is in flight without guessing how long to wait.
	s.AddTool(mcp.NewTool("hold", mcp.WithString("key")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		h := heldCall(req.GetString("key", ""))
		h.startOnce.Do(func() { close(h.started) })
		select {
		case <-h.release:
			return mcp.NewToolResultText("released"), nil
		case <-ctx.Done():
			return mcp.NewToolResultError("canceled"), nil
		}
	})
	return s
}

// held are the "hold" calls by key, made by whichever of the test and the
// tool asks first.
var held sync.Map

type hold struct {
	startOnce   sync.Once
	started     chan struct{} // closed when the tool runs
	release     chan struct{} // closed by the test
	releaseOnce sync.Once
}

// heldCall returns the hold for key.
func heldCall(key string) *hold {
	v, _ := held.LoadOrStore(key, &hold{started: make(chan struct{}), release: make(chan struct{})})
	return v.(*hold)
}

// newHold returns a hold under a key of its own, released at the end of
// the test at the latest.
func newHold(t *testing.T) (string, *hold) {
	key := t.Name() + "/" + uuid.NewString()
	h := heldCall(key)
	t.Cleanup(h.Release)
	return key, h
}

// WaitStarted waits until the held call runs.
func (h *hold) WaitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-h.started:
	case <-time.After(time.Minute):
		t.Fatal("the held call did not start within a minute")
	}
}

// Release lets the held call answer.
func (h *hold) Release() { h.releaseOnce.Do(func() { close(h.release) }) }

// testOptions are the front's options as a loopback server gets them from
// the flag defaults.
func testOptions() Options {
	return Options{Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 20, BodyReadTimeout: 30 * time.Second, MaxSSEStreams: 10,
		SessionIdleTTL: 30 * time.Minute, ShutdownTimeout: 10 * time.Second}
}

// newTestServer serves a front over httptest, built from testOptions
// changed by mutate, and tears it down as Serve does.
func newTestServer(t *testing.T, mutate ...func(*Options)) (*Front, *httptest.Server) {
	t.Helper()
	o := testOptions()
	for _, m := range mutate {
		m(&o)
	}
	return serveFront(t, echoServer(), o)
}

// serveFront serves a front on s with o over httptest, and tears it down
// as Serve does.
func serveFront(t *testing.T, s *server.MCPServer, o Options) (*Front, *httptest.Server) {
	t.Helper()
	f := New(s, o)
	ts := httptest.NewServer(f.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
		ts.Close()
	})
	return f, ts
}

func withToken(o *Options) { o.AuthToken = testToken }

func do(t *testing.T, method, url string, body string, header map[string]string) *http.Response {
	t.Helper()
	resp := testkit.Request(t, context.Background(), method, url, body, header)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// openSSE opens an SSE stream that the test closes when it ends.
func openSSE(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp := testkit.Request(t, ctx, http.MethodGet, url, "", header)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestBearerAuth(t *testing.T) {
	_, ts := newTestServer(t, withToken, func(o *Options) { o.Metrics = http.NotFoundHandler() })
	for name, tc := range map[string]struct {
		method, path string
		header       map[string]string
		want         int
	}{
		"no token":           {"POST", "/mcp", testkit.MCPHeaders(nil), http.StatusUnauthorized},
		"wrong token":        {"POST", "/mcp", testkit.MCPHeaders(map[string]string{"Authorization": "Bearer nope"}), http.StatusUnauthorized},
		"wrong scheme":       {"POST", "/mcp", testkit.MCPHeaders(map[string]string{"Authorization": "Basic " + testToken}), http.StatusUnauthorized},
		"token prefix":       {"POST", "/mcp", testkit.MCPHeaders(map[string]string{"Authorization": "Bearer " + testToken[:10]}), http.StatusUnauthorized},
		"right token":        {"POST", "/mcp", testkit.MCPHeaders(map[string]string{"Authorization": "Bearer " + testToken}), http.StatusOK},
		"sse without token":  {"GET", "/sse", nil, http.StatusUnauthorized},
		"message no token":   {"POST", "/message?sessionId=x", testkit.MCPHeaders(nil), http.StatusUnauthorized},
		"metrics no token":   {"GET", "/metrics", nil, http.StatusUnauthorized},
		"metrics with token": {"GET", "/metrics", map[string]string{"Authorization": "Bearer " + testToken}, http.StatusNotFound},
		"healthz is open":    {"GET", "/healthz", nil, http.StatusOK},
		"readyz is open":     {"GET", "/readyz", nil, http.StatusOK},
		"token in URL":       {"POST", "/mcp?access_token=" + testToken, testkit.MCPHeaders(nil), http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = testkit.InitializeBody
			}
			resp := do(t, tc.method, ts.URL+tc.path, body, tc.header)
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
			}
			if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a WWW-Authenticate: Bearer header")
			}
			b, _ := io.ReadAll(resp.Body)
			if bytes.Contains(b, []byte(testToken)) {
				t.Errorf("response echoes the token")
			}
		})
	}
}

// TestBearerAuthWithRealClients: mcp-go's own clients get through with
// the token, over streamable HTTP and over SSE.
func TestBearerAuthWithRealClients(t *testing.T) {
	_, ts := newTestServer(t, withToken)
	headers := map[string]string{"Authorization": "Bearer " + testToken}
	for name, c := range map[string]interface {
		CallTool(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error)
	}{
		"streamable": testkit.StreamableClient(t, ts.URL+"/mcp", "2025-11-25", transport.WithHTTPHeaders(headers)),
		"sse":        testkit.OpenSSEClient(t, ts.URL, headers),
	} {
		req := mcp.CallToolRequest{}
		req.Params.Name = "echo"
		req.Params.Arguments = map[string]any{"text": name}
		res, err := c.CallTool(context.Background(), req)
		if err != nil || !strings.Contains(testkit.ResultText(res), "echo: "+name) {
			t.Errorf("%s: %s", name, testkit.DescribeCall("echo", res, err))
		}
	}
}

func TestOriginChecks(t *testing.T) {
	for name, tc := range map[string]struct {
		allowed []string
		path    string
		origin  string
		want    int
		acao    string
	}{
		"no origin":               {nil, "/mcp", "", http.StatusOK, ""},
		"loopback origin":         {nil, "/mcp", "http://localhost:3000", http.StatusOK, ""},
		"loopback ip origin":      {nil, "/mcp", "http://127.0.0.1:5173", http.StatusOK, ""},
		"ipv6 loopback origin":    {nil, "/mcp", "http://[::1]:8080", http.StatusOK, ""},
		"foreign origin":          {nil, "/mcp", "https://evil.example", http.StatusForbidden, ""},
		"rebinding lookalike":     {nil, "/mcp", "http://localhost.evil.example", http.StatusForbidden, ""},
		"foreign origin, SSE":     {nil, "/sse", "https://evil.example", http.StatusForbidden, ""},
		"listed origin":           {[]string{"https://app.example.com"}, "/mcp", "https://app.example.com", http.StatusOK, "https://app.example.com"},
		"unlisted with list":      {[]string{"https://app.example.com"}, "/mcp", "https://other.example.com", http.StatusForbidden, ""},
		"loopback not listed":     {[]string{"https://app.example.com"}, "/mcp", "http://localhost:3000", http.StatusForbidden, ""},
		"no origin with a list":   {[]string{"https://app.example.com"}, "/mcp", "", http.StatusOK, ""},
		"listed origin, SSE path": {[]string{"https://app.example.com"}, "/sse", "https://app.example.com", http.StatusOK, "https://app.example.com"},
		"unlisted origin, SSE":    {[]string{"https://app.example.com"}, "/sse", "https://other.example.com", http.StatusForbidden, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, ts := newTestServer(t, func(o *Options) { o.AllowedOrigins = tc.allowed })
			h := testkit.MCPHeaders(nil)
			if tc.origin != "" {
				h["Origin"] = tc.origin
			}
			var resp *http.Response
			if tc.path == "/sse" {
				resp = openSSE(t, ts.URL+"/sse", h)
				if tc.want == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
					t.Errorf("GET /sse did not open a stream: Content-Type %q", resp.Header.Get("Content-Type"))
				}
			} else {
				resp = do(t, "POST", ts.URL+tc.path, testkit.InitializeBody, h)
			}
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.acao {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.acao)
			}
		})
	}
}

// TestSSEHasNoWildcardCORS checks that mcp-go's default
// "Access-Control-Allow-Origin: *" on SSE streams does not leak through.
func TestSSEHasNoWildcardCORS(t *testing.T) {
	_, ts := newTestServer(t)
	resp := openSSE(t, ts.URL+"/sse", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %d", resp.StatusCode)
	}
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("SSE stream sends Access-Control-Allow-Origin %q without configured origins", v)
	}
}

func TestCORSPreflight(t *testing.T) {
	_, ts := newTestServer(t, withToken, func(o *Options) { o.AllowedOrigins = []string{"https://app.example.com"} })
	resp := do(t, "OPTIONS", ts.URL+"/mcp", "", map[string]string{
		"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type",
	})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestBodyLimit(t *testing.T) {
	_, ts := newTestServer(t, func(o *Options) { o.MaxBodyBytes = 4096 })
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"` +
		strings.Repeat("企", 5000) + `"}}}`
	resp := do(t, "POST", ts.URL+"/mcp", big, testkit.MCPHeaders(nil))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}
	// The server carries on.
	resp = do(t, "POST", ts.URL+"/mcp", testkit.InitializeBody, testkit.MCPHeaders(nil))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after an oversized body: %d", resp.StatusCode)
	}
}

func TestSSEStreamCap(t *testing.T) {
	f, ts := newTestServer(t, func(o *Options) { o.MaxSSEStreams = 2 })
	for i := 0; i < 2; i++ {
		if resp := openSSE(t, ts.URL+"/sse", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
	}
	if n := f.OpenSSEStreams(); n != 2 {
		t.Errorf("OpenSSEStreams %d with two streams open, want 2", n)
	}
	resp := openSSE(t, ts.URL+"/sse", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestAccessLog(t *testing.T) {
	logs := &testkit.SyncBuffer{}
	_, ts := newTestServer(t, withToken, func(o *Options) {
		o.Logger = logging.New(logs, slog.LevelInfo, func(string) string { return "1" })
	})
	h := testkit.MCPHeaders(map[string]string{"Authorization": "Bearer " + testToken})
	do(t, "POST", ts.URL+"/mcp", testkit.InitializeBody, h)
	do(t, "POST", ts.URL+"/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`, h)
	do(t, "POST", ts.URL+"/mcp", testkit.InitializeBody, testkit.MCPHeaders(nil))
	out := logs.String()
	for _, want := range []string{"method=POST path=/mcp status=200", "tool=echo", "status=401", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("access log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testToken) {
		t.Error("access log contains the bearer token")
	}
}

// TestSlowBodyIsCutOff sends the headers of a POST and then only part of
// its body: the server must give up at the body read deadline, not hold
// the connection and a goroutine for ever.
func TestSlowBodyIsCutOff(t *testing.T) {
	_, ts := newTestServer(t, func(o *Options) { o.BodyReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":")
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up on a stalled body", d)
	}
}

// TestReadyz checks that /readyz answers 200 while serving and 503 once
// the server is shutting down, while /healthz stays 200.
func TestReadyz(t *testing.T) {
	f, ts := newTestServer(t)
	get := func(path string) (int, string) {
		resp := do(t, "GET", ts.URL+path, "", nil)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for _, tc := range []struct {
		stopping   bool
		path       string
		code       int
		wantInBody string
	}{
		{false, "/readyz", http.StatusOK, "ready"},
		{false, "/healthz", http.StatusOK, "ok"},
		{true, "/readyz", http.StatusServiceUnavailable, "shutting down"},
		{true, "/healthz", http.StatusOK, "ok"},
	} {
		f.stopping.Store(tc.stopping)
		if code, body := get(tc.path); code != tc.code || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s (stopping %v): %d %q, want %d %q", tc.path, tc.stopping, code, body, tc.code, tc.wantInBody)
		}
	}
}

// serve runs Serve on free loopback ports and returns the main address,
// the log and a function that stops the server and returns Serve's error.
func serve(t *testing.T, mutate func(*Options)) (addr string, logs *testkit.SyncBuffer, stop func() error) {
	t.Helper()
	logs = &testkit.SyncBuffer{}
	o := testOptions()
	o.Logger = logging.New(logs, slog.LevelInfo, func(string) string { return "1" })
	if mutate != nil {
		mutate(&o)
	}
	f := New(echoServer(), o)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.Serve(ctx) }()
	stop = func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Serve did not return 20 s after its context ended")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return testkit.LogField(t, logs, "addr"), logs, stop
}

// TestMetricsOnSeparateListener: with MetricsAddr, the metrics page is
// served there without auth, and not on the main listener.
func TestMetricsOnSeparateListener(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics page\n") })
	addr, logs, stop := serve(t, func(o *Options) {
		o.AuthToken, o.Metrics, o.MetricsAddr = testToken, page, "127.0.0.1:0"
	})
	metricsAddr := testkit.LogField(t, logs, "metrics_addr")
	if resp := do(t, "GET", "http://"+metricsAddr+"/metrics", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics on its own listener without a token: %d, want 200", resp.StatusCode)
	}
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	if resp := do(t, "GET", "http://"+addr+"/metrics", "", auth); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with MetricsAddr: %d, want 404", resp.StatusCode)
	}
	if resp := do(t, "GET", "http://"+addr+"/metrics", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics on the main listener without a token: %d, want 401", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestServeReportsAnAddressInUse: a listener that cannot be opened is an
// error of Serve, returned at once.
func TestServeReportsAnAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for name, o := range map[string]func(*Options){
		"main":    func(o *Options) { o.Addr = ln.Addr().String() },
		"metrics": func(o *Options) { o.Metrics, o.MetricsAddr = http.NotFoundHandler(), ln.Addr().String() },
	} {
		opts := testOptions()
		o(&opts)
		if err := New(echoServer(), opts).Serve(context.Background()); err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("%s listener on a taken address: %v", name, err)
		}
	}
}

// TestServeClosesSSEStreamsOnShutdown: an SSE stream never ends by itself;
// shutdown must close it rather than wait out its deadline.
func TestServeClosesSSEStreamsOnShutdown(t *testing.T) {
	addr, logs, stop := serve(t, func(o *Options) { o.ShutdownTimeout = 20 * time.Second })
	if resp := openSSE(t, "http://"+addr+"/sse", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %d", resp.StatusCode)
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v with one SSE stream open", d)
	}
	if out := logs.String(); !strings.Contains(out, "shutting down") || strings.Contains(out, "did not finish in time") {
		t.Errorf("log:\n%s", out)
	}
}
