package metrics_test

import (
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/qcc-mcp/qcc-mcp/internal/metrics"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// oddCaller is a caller label an operator could configure (a static token's
// name) with every character the format escapes in a label value.
const oddCaller = "ops \"night\" \\ shift\nteam"

// TestPageParses fills every family through the exported API, scrapes the
// page and reads it with Prometheus's own text parser: every family has
// HELP and TYPE and the right type, histograms are cumulative up to +Inf,
// an awkward label value comes back intact, our families and their series
// come in a stable sorted order, and the Go and process families operators
// chart are there.
func TestPageParses(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	for _, c := range []struct{ tool, outcome string }{
		{"search_certifications", "ok"}, {"search_certifications", "throttled"},
		{"get_certificate", "ok"}, {"search_certifications", "ok"},
	} {
		m.CallStarted(c.tool)
		m.CallFinished(c.tool, c.outcome, 0, 0)
	}
	m.CallStarted("search_certifications") // still running
	for _, caller := range []string{"oauth", oddCaller, "oauth", "ci"} {
		m.CallFrom(caller)
	}
	hooks := m.SessionHooks()
	hooks.RegisterSession(context.Background(), nil)
	hooks.RegisterSession(context.Background(), nil)
	hooks.UnregisterSession(context.Background(), nil)
	rt := m.Instrument(roundTripperFunc(func(*http.Request) (*http.Response, error) { return &http.Response{}, nil }))
	for range 3 {
		rt.RoundTrip(&http.Request{})
	}
	m.WatchUsage(func() guard.Usage {
		return guard.Usage{
			UpstreamCalls: map[string]int{"200": 3, "110": 1, "transport": 1},
			CacheHits:     4, CacheMisses: 5, Coalesced: 1, LocalRefusals: 2,
			BudgetLimit: 100, BudgetUsedToday: 5,
			Degraded: map[string]int64{"cache": 2, "budget": 1},
		}
	})
	m.WatchRedis(func() bool { return true })
	m.WatchSSEStreams(func() int64 { return 2 })

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	page, ct := get(t, srv.URL, http.MethodGet, http.StatusOK)
	if ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(page))
	if err != nil {
		t.Fatalf("the text parser refuses the page: %v\n%s", err, page)
	}

	// Every family, ours or not, has its HELP and TYPE lines.
	for name, f := range fams {
		if !strings.Contains(page, "\n# HELP "+name+" ") && !strings.Contains(page, "\n# HELP "+name+"\n") && !strings.HasPrefix(page, "# HELP "+name+" ") {
			t.Errorf("%s has no # HELP line", name)
		}
		if f.GetType() == dto.MetricType_UNTYPED {
			t.Errorf("%s has no # TYPE line", name)
		}
		if f.GetType() == dto.MetricType_HISTOGRAM {
			checkHistogram(t, f, strings.HasPrefix(name, "qcc_mcp_"))
		}
	}

	counter, gauge, histogram := dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM
	ours := map[string]struct {
		typ    dto.MetricType
		values map[string]float64 // by the label values joined with "|"
	}{
		"qcc_mcp_tool_calls_total": {counter, map[string]float64{
			"ok|get_certificate": 1, "ok|search_certifications": 2, "throttled|search_certifications": 1}},
		"qcc_mcp_tool_calls_by_caller_total":        {counter, map[string]float64{"ci": 1, "oauth": 2, oddCaller: 1}},
		"qcc_mcp_tool_calls_in_flight":              {gauge, map[string]float64{"": 1}},
		"qcc_mcp_sessions_open":                     {gauge, map[string]float64{"": 1}},
		"qcc_mcp_upstream_request_duration_seconds": {histogram, map[string]float64{"": 3}},
		"qcc_mcp_sse_streams_open":                  {gauge, map[string]float64{"": 2}},
		"qcc_mcp_redis_up":                          {gauge, map[string]float64{"": 1}},
		"qcc_mcp_upstream_calls_total":              {counter, map[string]float64{"110": 1, "200": 3, "transport": 1}},
		"qcc_mcp_cache_total":                       {counter, map[string]float64{"coalesced": 1, "hit": 4, "miss": 5}},
		"qcc_mcp_local_refusals_total":              {counter, map[string]float64{"": 2}},
		"qcc_mcp_budget_used_today":                 {gauge, map[string]float64{"": 5}},
		"qcc_mcp_budget_limit":                      {gauge, map[string]float64{"": 100}},
		"qcc_mcp_degraded_operations_total":         {counter, map[string]float64{"budget": 1, "cache": 2}},
	}
	for name, want := range ours {
		f, ok := fams[name]
		if !ok {
			t.Errorf("the page lacks %s", name)
			continue
		}
		if f.GetType() != want.typ {
			t.Errorf("%s is a %v, want a %v", name, f.GetType(), want.typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has an empty HELP", name)
		}
		got := map[string]float64{}
		var keys []string
		for _, s := range f.GetMetric() {
			var vals []string
			for _, l := range s.GetLabel() {
				vals = append(vals, l.GetValue())
			}
			k := strings.Join(vals, "|")
			keys = append(keys, k)
			switch {
			case s.Counter != nil:
				got[k] = s.Counter.GetValue()
			case s.Gauge != nil:
				got[k] = s.Gauge.GetValue()
			case s.Histogram != nil:
				got[k] = float64(s.Histogram.GetSampleCount())
			}
		}
		if !maps.Equal(got, want.values) {
			t.Errorf("%s = %v, want %v", name, got, want.values)
		}
		if !slices.IsSorted(keys) {
			t.Errorf("%s's series are not sorted: %q", name, keys)
		}
	}
	var order []string
	for line := range strings.Lines(page) {
		if name, ok := strings.CutPrefix(line, "# TYPE qcc_mcp_"); ok {
			order = append(order, strings.Fields(name)[0])
		}
	}
	if !slices.IsSorted(order) || len(order) != len(ours) {
		t.Errorf("our families, in page order: %q; want the %d of them sorted", order, len(ours))
	}

	for _, name := range []string{
		"go_goroutines", "go_threads", "go_memstats_alloc_bytes", "go_memstats_sys_bytes", "go_gc_duration_seconds",
		"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
		"process_start_time_seconds",
	} {
		if _, ok := fams[name]; !ok {
			t.Errorf("the page lacks %s", name)
		}
	}

	// The same numbers make the same page, ours at least (the Go and
	// process families move between two scrapes).
	again, _ := get(t, srv.URL, http.MethodGet, http.StatusOK)
	if a, b := ownPart(page), ownPart(again); a != b {
		t.Errorf("two scrapes differ:\n%s\n----\n%s", a, b)
	}
}

// checkHistogram checks that f's buckets are cumulative and end in +Inf,
// and, where there is a count (the Go runtime's histograms have none), that
// +Inf holds all of it.
func checkHistogram(t *testing.T, f *dto.MetricFamily, wantCount bool) {
	t.Helper()
	for _, s := range f.GetMetric() {
		h := s.GetHistogram()
		b := h.GetBucket()
		if len(b) == 0 || !math.IsInf(b[len(b)-1].GetUpperBound(), 1) {
			t.Errorf("%s: the buckets do not end in +Inf: %v", f.GetName(), b)
			continue
		}
		for i := 1; i < len(b); i++ {
			if b[i].GetUpperBound() <= b[i-1].GetUpperBound() || b[i].GetCumulativeCount() < b[i-1].GetCumulativeCount() {
				t.Errorf("%s: bucket %d (le %v: %d) after le %v: %d", f.GetName(), i,
					b[i].GetUpperBound(), b[i].GetCumulativeCount(), b[i-1].GetUpperBound(), b[i-1].GetCumulativeCount())
			}
		}
		if h.SampleCount == nil {
			if wantCount {
				t.Errorf("%s has no _count", f.GetName())
			}
			continue
		}
		if h.GetSampleCount() != b[len(b)-1].GetCumulativeCount() {
			t.Errorf("%s: _count %d, +Inf bucket %d", f.GetName(), h.GetSampleCount(), b[len(b)-1].GetCumulativeCount())
		}
	}
}

// TestHandlerMethods: HEAD gets the headers of GET and no body; anything
// else is refused.
func TestHandlerMethods(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(metrics.New().Handler())
	defer srv.Close()
	if body, ct := get(t, srv.URL, http.MethodHead, http.StatusOK); body != "" || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("HEAD: body %q, Content-Type %q", body, ct)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		get(t, srv.URL, method, http.StatusMethodNotAllowed)
	}
}

func get(t *testing.T, url, method string, want int) (body, contentType string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s: %d, want %d: %s", method, resp.StatusCode, want, b)
	}
	return string(b), resp.Header.Get("Content-Type")
}

// ownPart is the lines of the page for our families.
func ownPart(page string) string {
	var b strings.Builder
	for line := range strings.Lines(page) {
		if strings.Contains(line, "qcc_mcp_") {
			b.WriteString(line)
		}
	}
	return b.String()
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
