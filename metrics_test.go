package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
)

// TestMetrics checks that /metrics sits behind the bearer token and, after
// a search, a repeat served from the cache, a failing call and a call
// refused locally, exposes each family the operator watches.
func TestMetrics(t *testing.T) {
	t.Parallel()
	ts := newTestHTTPServer(t, withToken)
	auth := map[string]string{"Authorization": "Bearer " + testToken}

	resp := do(t, "GET", ts.URL+"/metrics", "", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("/metrics without a token: %d, WWW-Authenticate %q; want 401 with Bearer", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp = do(t, "GET", ts.URL+"/metrics", "", map[string]string{"Authorization": "Bearer wrong"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token: %d, want 401", resp.StatusCode)
	}

	// A streamable HTTP session (protocol 2025-06-18) and an SSE session.
	c := newStreamableClient(t, ts.URL+"/mcp", "2025-06-18", transport.WithHTTPHeaders(auth))
	sc, err := client.NewSSEMCPClient(ts.URL+"/sse", transport.WithHeaders(auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	if err := sc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	initialize(t, sc, "2025-06-18")

	for i, call := range []struct {
		company string
		isError bool
	}{
		{docCompany, false},          // upstream 200, cache miss
		{docCompany, false},          // cache hit
		{"sandbox-status-110", true}, // upstream 110, starts this query's cooldown
		{"sandbox-status-110", true}, // refused locally
		{"sandbox-status-102", true}, // upstream 102 (billing)
		{"x", true},                  // an argument error, never sent
	} {
		res, err := callTool(c, "search_certifications", map[string]any{"company": call.company})
		if err != nil || res.IsError != call.isError {
			t.Fatalf("call %d (%s): want isError %v, got %s", i, call.company, call.isError, describeCall("", res, err))
		}
	}

	m := scrape(t, ts.URL+"/metrics", auth)
	for series, want := range map[string]float64{
		`qcc_mcp_tool_calls_total{outcome="ok",tool="search_certifications"}`:               2,
		`qcc_mcp_tool_calls_total{outcome="throttled",tool="search_certifications"}`:        2,
		`qcc_mcp_tool_calls_total{outcome="billing",tool="search_certifications"}`:          1,
		`qcc_mcp_tool_calls_total{outcome="invalid_argument",tool="search_certifications"}`: 1,
		`qcc_mcp_upstream_calls_total{status="200"}`:                                        1,
		`qcc_mcp_upstream_calls_total{status="110"}`:                                        1,
		`qcc_mcp_upstream_calls_total{status="102"}`:                                        1,
		`qcc_mcp_upstream_request_duration_seconds_count`:                                   3,
		`qcc_mcp_upstream_request_duration_seconds_bucket{le="+Inf"}`:                       3,
		`qcc_mcp_cache_total{result="hit"}`:                                                 1,
		`qcc_mcp_local_refusals_total`:                                                      1,
		`qcc_mcp_tool_calls_in_flight`:                                                      0,
		`qcc_mcp_sessions_open`:                                                             2,
	} {
		got, ok := m[series]
		switch {
		case !ok:
			t.Errorf("/metrics lacks %s", series)
		case got != want:
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, series := range []string{
		`qcc_mcp_upstream_request_duration_seconds_sum`,
		`qcc_mcp_upstream_request_duration_seconds_bucket{le="0.005"}`,
		`qcc_mcp_cache_total{result="miss"}`,
		`qcc_mcp_cache_total{result="coalesced"}`,
		`qcc_mcp_sse_streams_open`,
	} {
		if _, ok := m[series]; !ok {
			t.Errorf("/metrics lacks %s", series)
		}
	}

	// A session ends when its SSE stream closes, or with DELETE /mcp. The
	// DELETE is sent here by hand: mcp-go's client sends it without the
	// configured headers, so without the token.
	sc.Close()
	waitForMetric(t, ts.URL+"/metrics", auth, "qcc_mcp_sessions_open", 1)
	resp = do(t, "DELETE", ts.URL+"/mcp", "", map[string]string{
		"Authorization": "Bearer " + testToken, "Mcp-Session-Id": c.GetSessionId(), "Mcp-Protocol-Version": "2025-06-18",
	})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE /mcp: %d", resp.StatusCode)
	}
	waitForMetric(t, ts.URL+"/metrics", auth, "qcc_mcp_sessions_open", 0)
}

// TestMetricsOnSeparateListener runs the binary with --metrics-addr:
// /metrics is served there without auth, and not on the main listener.
func TestMetricsOnSeparateListener(t *testing.T) {
	t.Parallel()
	s := startBinaryHTTP(t, []string{"MCP_AUTH_TOKEN=" + testToken}, "--demo", "--metrics-addr", "127.0.0.1:0")
	metricsAddr := waitForLogField(t, s.stderr, "metrics_addr")
	auth := map[string]string{"Authorization": "Bearer " + testToken}

	c := newStreamableClient(t, "http://"+s.addr+"/mcp", "2025-06-18", transport.WithHTTPHeaders(auth))
	searchDoc(t, c)

	m := scrape(t, "http://"+metricsAddr+"/metrics", nil)
	if got := m[`qcc_mcp_tool_calls_total{outcome="ok",tool="search_certifications"}`]; got != 1 {
		t.Errorf("metrics listener: ok search calls = %v, want 1", got)
	}
	if resp := do(t, "GET", "http://"+s.addr+"/metrics", "", auth); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with --metrics-addr: %d, want 404", resp.StatusCode)
	}
	if resp := do(t, "GET", "http://"+s.addr+"/metrics", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics on the main listener without a token: %d, want 401", resp.StatusCode)
	}
	c.Close()
	s.stop(t)
}

// scrape fetches a /metrics page and returns its samples by series, e.g.
// `qcc_mcp_cache_total{result="hit"}` (labels in Prometheus's sorted order).
func scrape(t *testing.T, url string, header map[string]string) map[string]float64 {
	t.Helper()
	resp := do(t, "GET", url, "", header)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// waitForLogField reads name=value from the server's log.
func waitForLogField(t *testing.T, stderr *syncBuffer, name string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, f := range strings.Fields(stderr.String()) {
			if v, ok := strings.CutPrefix(f, name+"="); ok && !strings.HasSuffix(v, ":0") {
				return v
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server did not log %s:\n%s", name, stderr.String())
	return ""
}
