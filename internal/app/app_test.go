package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.uber.org/goleak"

	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

const docCompany = testkit.DocCompany

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

// startUpstream serves the real API path (not --demo) at baseURL, with a
// short QCC timeout and no cache, so that every call reaches the upstream.
func startUpstream(t *testing.T, baseURL string, log *slog.Logger) *appserver.Server {
	t.Helper()
	vars := map[string]string{"QCC_BASE_URL": baseURL, "QCC_APP_KEY": faultAppKey, "QCC_SECRET_KEY": faultSecretKey, "QCC_TIMEOUT": "500ms"}
	return appserver.Start(t, []string{"--rate", "0", "--cache-ttl", "0"}, func(k string) string { return vars[k] }, log)
}

// TestServesEveryTransportAndVersion: the assembled server answers a
// search over streamable HTTP in each protocol era and over legacy SSE.
func TestServesEveryTransportAndVersion(t *testing.T) {
	t.Parallel()
	s := appserver.Start(t, []string{"--demo", "--rate", "0"}, nil, nil)
	for _, version := range []string{mcp.LATEST_PROTOCOL_VERSION, "2025-11-25", "2025-06-18"} {
		t.Run(version, func(t *testing.T) {
			tr, err := transport.NewStreamableHTTP(s.URL + "/mcp")
			if err != nil {
				t.Fatal(err)
			}
			c := client.NewClient(tr, client.WithProtocolVersion(version))
			defer c.Close()
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			res := testkit.Initialize(t, c, version)
			if version != mcp.LATEST_PROTOCOL_VERSION && res.ProtocolVersion != version {
				t.Errorf("negotiated %q, want %q", res.ProtocolVersion, version)
			}
			testkit.SearchDemo(t, c)
		})
	}
	t.Run("sse", func(t *testing.T) { testkit.SearchDemo(t, testkit.OpenSSEClient(t, s.URL, nil)) })
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
	logs := &testkit.SyncBuffer{}
	log := logging.New(logs, slog.LevelDebug, func(string) string { return "1" })
	srv := startUpstream(t, up.URL, log)

	// An address where nothing listens: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + ln.Addr().String()
	ln.Close()
	refusing := startUpstream(t, refusedURL, log)

	var clients []*client.Client
	connect := func(url string) *client.Client {
		c := testkit.StreamableClient(t, url, "2025-06-18")
		clients = append(clients, c)
		return c
	}
	// Everything is torn down before the goroutine check, or by the
	// cleanup if the test stops early.
	teardown := sync.OnceFunc(func() {
		for _, c := range clients {
			c.Close()
		}
		srv.Close()
		refusing.Close()
		close(stop)
		up.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	t.Cleanup(teardown)

	faults := []struct {
		server  *appserver.Server
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
		c := connect(f.server.URL + "/mcp")
		faultWG.Add(1)
		go func() {
			defer faultWG.Done()
			// Twice: the second call meets whatever state the first left.
			for i := range 2 {
				res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": f.company})
				text := testkit.ResultText(res)
				switch {
				case err != nil:
					t.Errorf("%s, call %d: %v", f.company, i, err)
				case !res.IsError || !strings.Contains(text, "What to do:") || !strings.Contains(text, f.want):
					t.Errorf("%s, call %d: want an isError result with %q and What to do:, got %s", f.company, i, f.want, testkit.DescribeCall("", res, err))
				case strings.Contains(text, "<html") || strings.Contains(text, "\x00"):
					t.Errorf("%s, call %d: the upstream's raw body reaches the agent: %q", f.company, i, text)
				}
			}
		}()
	}
	healthyCalls := make([]int, 3)
	for i := range healthyCalls {
		c := connect(srv.URL + "/mcp")
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
				res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": docCompany})
				if err != nil || res.IsError || !strings.Contains(testkit.ResultText(res), "17418Q20358R1M") {
					t.Errorf("healthy client %d, call %d: %s", i, n, testkit.DescribeCall("", res, err))
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
	for _, s := range []*appserver.Server{srv, refusing} {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(s.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s after the faults: %d", path, resp.StatusCode)
			}
		}
	}
	res, err := testkit.CallTool(clients[0], "get_certification_detail", map[string]any{"cert_id": "145695151793ad28f7ffd5d8a24cd6191"})
	if err != nil || res.IsError {
		t.Errorf("a call after the faults: %s", testkit.DescribeCall("", res, err))
	}
	if t.Failed() {
		t.Logf("server log:\n%s", logs.String())
	}

	teardown()
	goleak.VerifyNone(t, ignore)
}

// TestConcurrencyCapAnswersBusy runs one slow call with
// --max-concurrent-calls 1: a second call must get a retryable "busy"
// error while the first is still running, not wait for it; once the slow
// call is over, calls go through again.
func TestConcurrencyCapAnswersBusy(t *testing.T) {
	t.Parallel()
	ts := appserver.Start(t, []string{"--demo", "--rate", "0", "--max-concurrent-calls", "1"}, nil, nil)
	slowClient := testkit.StreamableClient(t, ts.URL+"/mcp", "2025-06-18")
	otherClient := testkit.StreamableClient(t, ts.URL+"/mcp", "2025-06-18")
	slowDone := make(chan string, 1)
	go func() {
		res, err := testkit.CallTool(slowClient, "search_certifications", map[string]any{"company": "sandbox-slow-4s"})
		if err != nil || res.IsError {
			slowDone <- testkit.DescribeCall("slow call", res, err)
			return
		}
		slowDone <- ""
	}()
	testkit.WaitForMetric(t, ts.URL+"/metrics", nil, "qcc_mcp_tool_calls_in_flight", 1)

	start := time.Now()
	res, err := testkit.CallTool(otherClient, "search_certifications", map[string]any{"company": docCompany})
	elapsed := time.Since(start)
	select {
	case msg := <-slowDone:
		t.Fatalf("the second call returned only after the slow one had finished (%v): it waited instead of being refused; slow call: %q", elapsed, msg)
	default:
	}
	text := testkit.ResultText(res)
	if err != nil || !res.IsError || !strings.Contains(text, "busy") || !strings.Contains(text, "Retry") {
		t.Errorf("second call over the cap: want an isError busy result saying Retry, got %s", testkit.DescribeCall("", res, err))
	}
	t.Logf("busy answer after %v", elapsed)

	testkit.AwaitSlowCall(t, slowDone)
	testkit.WaitForMetric(t, ts.URL+"/metrics", nil, "qcc_mcp_tool_calls_in_flight", 0)
	testkit.SearchDemo(t, otherClient)
}
