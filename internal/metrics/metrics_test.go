package metrics_test

import (
	"net/http"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
)

const docCompany = "企查查科技有限公司"

// TestMetrics runs the whole server in process and, after a search, a
// repeat served from the cache, a failing call, a call refused locally, a
// billing error and an argument error, checks each family the operator
// watches; then that sessions are counted down as they end.
func TestMetrics(t *testing.T) {
	t.Parallel()
	s := appserver.Start(t, []string{"--demo", "--rate", "0"}, nil, nil)
	page := s.URL + "/metrics"

	c := testkit.StreamableClient(t, s.URL+"/mcp", "2025-06-18")
	sc := testkit.OpenSSEClient(t, s.URL, nil)
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
		res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": call.company})
		if err != nil || res.IsError != call.isError {
			t.Fatalf("call %d (%s): want isError %v, got %s", i, call.company, call.isError, testkit.DescribeCall("", res, err))
		}
	}

	m := testkit.Scrape(t, page, nil)
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
		`qcc_mcp_sse_streams_open`:                                                          1,
		`qcc_mcp_budget_limit`:                                                              0,
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
		`qcc_mcp_budget_used_today`,
	} {
		if _, ok := m[series]; !ok {
			t.Errorf("/metrics lacks %s", series)
		}
	}

	// A session ends when its SSE stream closes, or with DELETE /mcp.
	sc.Close()
	testkit.WaitForMetric(t, page, nil, "qcc_mcp_sessions_open", 1)
	testkit.WaitForMetric(t, page, nil, "qcc_mcp_sse_streams_open", 0)
	req, _ := http.NewRequest("DELETE", s.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", c.GetSessionId())
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE /mcp: %d", resp.StatusCode)
	}
	testkit.WaitForMetric(t, page, nil, "qcc_mcp_sessions_open", 0)
}
