package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"go.uber.org/goleak"

	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

const (
	faultAppKey    = "fault-app-key-0042"
	faultSecretKey = "fault-secret-key-0042"
)

// The companies for which the faulty upstream misbehaves; every other
// request goes to the sandbox.
const (
	faultSlow    = "fault-slow"
	faultHTML502 = "fault-html-502"
	faultGarbage = "fault-garbage"
	faultHangUp  = "fault-hang-up"
)

// faultyUpstream routes the fault companies to their fault and the rest to
// the sandbox. Slow answers end with the request or with stop.
func faultyUpstream(stop <-chan struct{}) http.Handler {
	sb := sandbox.New(sandbox.Config{AppKey: faultAppKey, SecretKey: faultSecretKey})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("searchKey") + r.URL.Query().Get("certId") {
		case faultSlow:
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		case faultHTML502:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
		case faultGarbage:
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write([]byte("\x00\x1f\x8b garbage {{{ \"Status\": not json"))
		case faultHangUp:
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 4096\r\n\r\n{\"Paging\":{\"PageSize\":10,")
			buf.Flush()
			conn.Close()
		default:
			sb.ServeHTTP(w, r)
		}
	})
}

// upstreamConfig is the configuration of an HTTP server on the real API
// path (not --demo) at baseURL, with a short QCC timeout and no cache, so
// that every call reaches the upstream.
func upstreamConfig(t *testing.T, baseURL string, flags ...string) *config {
	t.Helper()
	getenv := env("QCC_BASE_URL", baseURL, "QCC_APP_KEY", faultAppKey, "QCC_SECRET_KEY", faultSecretKey, "QCC_TIMEOUT", "500ms")
	var cfg config
	fs := newFlagSet("test", &cfg, getenv, io.Discard)
	if err := cfg.parseFlags(fs, append([]string{"--transport", "http", "--rate", "0", "--cache-ttl", "0"}, flags...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.loadEnv(getenv); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// inProcessServer is newApp and newHTTPFront behind httptest, torn down
// explicitly (not in t.Cleanup) so that a goroutine check can follow.
type inProcessServer struct {
	app   *app
	front *httpFront
	ts    *httptest.Server
}

func startInProcess(t *testing.T, cfg *config, log *slog.Logger) *inProcessServer {
	t.Helper()
	a, err := newApp(cfg, log, true)
	if err != nil {
		t.Fatal(err)
	}
	f := newHTTPFront(a, cfg, log)
	return &inProcessServer{app: a, front: f, ts: httptest.NewServer(f.handler())}
}

// close tears the server down as serveHTTP does on SIGTERM.
func (s *inProcessServer) close() {
	s.front.stopping.Store(true)
	s.front.sse.CloseSessions()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.front.streamable.Shutdown(ctx)
	s.ts.Close()
	s.app.close(discardLogger())
}

// TestUpstreamFaults points the real server at an upstream that is slower
// than the timeout, answers 502 with HTML, answers garbage, hangs up in
// the middle of a body, and (a second server) at an address that refuses
// connections. Each faulty call must give an isError result an agent can
// act on, while other clients' calls keep succeeding; afterwards the
// servers still answer, and once everything is torn down no goroutine is
// left behind.
func TestUpstreamFaults(t *testing.T) {
	// Not parallel: the goroutine check needs the process to itself.
	ignore := goleak.IgnoreCurrent()

	stop := make(chan struct{})
	up := httptest.NewServer(faultyUpstream(stop))
	logs := &syncBuffer{}
	log := newLogger(logs, slog.LevelDebug, env("NO_COLOR", "1"))
	srv := startInProcess(t, upstreamConfig(t, up.URL), log)

	// An address where nothing listens: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + ln.Addr().String()
	ln.Close()
	refusing := startInProcess(t, upstreamConfig(t, refusedURL), log)

	var clients []*client.Client
	connect := func(url string) *client.Client {
		c := newStreamableClient(t, url, "2025-06-18")
		clients = append(clients, c)
		return c
	}
	// Everything is torn down before the goroutine check, or by the
	// cleanup if the test stops early.
	teardown := sync.OnceFunc(func() {
		for _, c := range clients {
			c.Close()
		}
		srv.close()
		refusing.close()
		close(stop)
		up.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	t.Cleanup(teardown)

	faults := []struct {
		server  *inProcessServer
		company string
		want    string // in the text besides "What to do:"
	}{
		{srv, faultSlow, "(timeout)"},
		{srv, faultHTML502, "HTTP 502"},
		{srv, faultGarbage, "(malformed_response)"},
		{srv, faultHangUp, "(malformed_response)"},
		{refusing, docCompany, "(network)"},
	}
	var faultWG, healthyWG sync.WaitGroup
	faultsDone := make(chan struct{})
	for _, f := range faults {
		c := connect(f.server.ts.URL + "/mcp")
		faultWG.Add(1)
		go func() {
			defer faultWG.Done()
			// Twice: the second call meets whatever state the first left.
			for i := range 2 {
				res, err := callTool(c, "search_certifications", map[string]any{"company": f.company})
				text := resultText(res)
				switch {
				case err != nil:
					t.Errorf("%s, call %d: %v", f.company, i, err)
				case !res.IsError || !strings.Contains(text, "What to do:") || !strings.Contains(text, f.want):
					t.Errorf("%s, call %d: want an isError result with %q and What to do:, got %s", f.company, i, f.want, describeCall("", res, err))
				case strings.Contains(text, "<html") || strings.Contains(text, "\x00"):
					t.Errorf("%s, call %d: the upstream's raw body reaches the agent: %q", f.company, i, text)
				}
			}
		}()
	}
	healthyCalls := make([]int, 3)
	for i := range healthyCalls {
		c := connect(srv.ts.URL + "/mcp")
		healthyWG.Add(1)
		go func() {
			defer healthyWG.Done()
			for n := 0; ; n++ {
				select {
				case <-faultsDone:
					if n >= 3 {
						return
					}
				default:
				}
				res, err := callTool(c, "search_certifications", map[string]any{"company": docCompany})
				if err != nil || res.IsError || !strings.Contains(resultText(res), "17418Q20358R1M") {
					t.Errorf("healthy client %d, call %d: %s", i, n, describeCall("", res, err))
					return
				}
				healthyCalls[i]++
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	faultWG.Wait()
	close(faultsDone)
	healthyWG.Wait()
	t.Logf("healthy calls during the faults: %v", healthyCalls)

	// Both servers are still up and ready, and still answer.
	for _, s := range []*inProcessServer{srv, refusing} {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(s.ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s after the faults: %d", path, resp.StatusCode)
			}
		}
	}
	res, err := callTool(clients[0], "get_certification_detail", map[string]any{"cert_id": "145695151793ad28f7ffd5d8a24cd6191"})
	if err != nil || res.IsError {
		t.Errorf("a call after the faults: %s", describeCall("", res, err))
	}
	if t.Failed() {
		t.Logf("server log:\n%s", logs.String())
	}

	teardown()
	goleak.VerifyNone(t, ignore)
}

// TestReadyz checks that /readyz answers 200 while serving and 503 once
// the server is shutting down, while /healthz stays 200.
func TestReadyz(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	a, err := newApp(cfg, discardLogger(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.close(discardLogger()) })
	front := newHTTPFront(a, cfg, discardLogger())
	ts := newServerFor(t, front)
	get := func(path string) (int, string) {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
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
		front.stopping.Store(tc.stopping)
		if code, body := get(tc.path); code != tc.code || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s (stopping %v): %d %q, want %d %q", tc.path, tc.stopping, code, body, tc.code, tc.wantInBody)
		}
	}
}

// TestSIGTERMLetsInFlightCallFinish sends SIGTERM to the binary while a
// slow tool call is running over /mcp: the call must complete with its
// normal result and the process exit 0 within --shutdown-timeout.
func TestSIGTERMLetsInFlightCallFinish(t *testing.T) {
	t.Parallel()
	const shutdownTimeout = 15 * time.Second
	s := startBinaryHTTP(t, nil, "--demo", "--shutdown-timeout", shutdownTimeout.String())
	// Quiet: the client's DELETE at the end finds the server gone.
	c := newStreamableClient(t, "http://"+s.addr+"/mcp", "2025-06-18", transport.WithHTTPLogger(discardLogger()))
	type result struct {
		text    string
		isError bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		res, err := callTool(c, "search_certifications", map[string]any{"company": "sandbox-slow-2s"})
		done <- result{resultText(res), res != nil && res.IsError, err}
	}()
	waitForMetric(t, "http://"+s.addr+"/metrics", nil, "qcc_mcp_tool_calls_in_flight", 1)

	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		// The sandbox answers a slow search with "no result".
		if r.err != nil || r.isError || !strings.Contains(r.text, "No certificates found") {
			t.Errorf("the call in flight at SIGTERM: err %v, isError %v, text %q\nstderr:\n%s", r.err, r.isError, r.text, s.stderr.String())
		}
	case <-time.After(shutdownTimeout + 10*time.Second):
		t.Fatalf("the call in flight at SIGTERM never ended\nstderr:\n%s", s.stderr.String())
	}
	if err := s.exited(t, shutdownTimeout+10*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v\nstderr:\n%s", err, s.stderr.String())
	}
	if d := time.Since(start); d > shutdownTimeout {
		t.Errorf("shutdown took %v, over --shutdown-timeout %v", d, shutdownTimeout)
	}
	for _, want := range []string{"shutting down", "server stopped"} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, s.stderr.String())
		}
	}
	if strings.Contains(s.stderr.String(), "did not finish in time") {
		t.Errorf("the server cut off requests:\n%s", s.stderr.String())
	}
}

// TestConcurrencyCapAnswersBusy runs one slow call with
// --max-concurrent-calls 1: a second call must get a retryable "busy"
// error while the first is still running, not wait for it; once the slow
// call is over, calls go through again.
func TestConcurrencyCapAnswersBusy(t *testing.T) {
	t.Parallel()
	ts := newTestHTTPServer(t, func(c *config) { c.maxConcurrentCalls = 1 })
	slowClient := newStreamableClient(t, ts.URL+"/mcp", "2025-06-18")
	otherClient := newStreamableClient(t, ts.URL+"/mcp", "2025-06-18")
	slowDone := make(chan string, 1)
	go func() {
		res, err := callTool(slowClient, "search_certifications", map[string]any{"company": "sandbox-slow-4s"})
		if err != nil || res.IsError {
			slowDone <- describeCall("slow call", res, err)
			return
		}
		slowDone <- ""
	}()
	waitForMetric(t, ts.URL+"/metrics", nil, "qcc_mcp_tool_calls_in_flight", 1)

	start := time.Now()
	res, err := callTool(otherClient, "search_certifications", map[string]any{"company": docCompany})
	elapsed := time.Since(start)
	select {
	case msg := <-slowDone:
		t.Fatalf("the second call returned only after the slow one had finished (%v): it waited instead of being refused; slow call: %q", elapsed, msg)
	default:
	}
	text := resultText(res)
	if err != nil || !res.IsError || !strings.Contains(text, "busy") || !strings.Contains(text, "Retry") {
		t.Errorf("second call over the cap: want an isError busy result saying Retry, got %s", describeCall("", res, err))
	}
	t.Logf("busy answer after %v", elapsed)

	awaitSlowCall(t, slowDone)
	waitForMetric(t, ts.URL+"/metrics", nil, "qcc_mcp_tool_calls_in_flight", 0)
	searchDoc(t, otherClient)
}

// waitForMetric polls a /metrics page until the sample named series has
// the value want.
func waitForMetric(t *testing.T, url string, header map[string]string, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last map[string]float64
	for time.Now().Before(deadline) {
		last = scrape(t, url, header)
		if v, ok := last[series]; ok && v == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became %v; last scrape: %v", series, want, fmt.Sprint(last[series]))
}

// awaitSlowCall waits for a slow call run on another goroutine, which
// reports "" on success or what went wrong.
func awaitSlowCall(t *testing.T, done <-chan string) {
	t.Helper()
	select {
	case msg := <-done:
		if msg != "" {
			t.Errorf("slow call: %s", msg)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the slow call did not end within 60 s")
	}
}
