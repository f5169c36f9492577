// Package metrics exposes the server's Prometheus metrics: tool calls by
// outcome, calls in flight, sessions and SSE streams, QCC requests by status
// and latency, and what the cost guard saved. The HTTP front serves the
// page; the numbers come from the tools (as their Observer), the session
// hooks, the QCC transport and the guard.
//
// The page is Prometheus text format 0.0.4, written by this package for its
// own families (text.go) and by github.com/VictoriaMetrics/metrics for the Go
// runtime and process families. The Prometheus client library is not used:
// for a page of a dozen families it brought protobuf, procfs and their
// kin into the binary, whose pages are most of the server's resident memory.
package metrics

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// Metrics exposes what an operator watches, in Prometheus format: tool
// calls by outcome, calls in flight, sessions and SSE streams, QCC requests
// by status and latency, and what the guard saved. It is a tools.Observer.
//
// Each Metrics holds its own numbers (nothing is global), so that several
// servers in one process, as in tests, do not collide.
type Metrics struct {
	toolCalls  counterVec[toolOutcome]
	byCaller   counterVec[string]
	inFlight   atomic.Int64
	sessions   atomic.Int64
	latency    histogram
	sseStreams atomic.Pointer[func() int64]       // set by WatchSSEStreams
	usage      atomic.Pointer[func() guard.Usage] // set by WatchUsage
	redisUp    atomic.Pointer[func() bool]        // set by WatchRedis
}

// toolOutcome is the label set of qcc_mcp_tool_calls_total.
type toolOutcome struct{ tool, outcome string }

// The help texts, one per family; operators see them in the page.
const (
	helpToolCalls  = "Tool calls by tool and outcome (ok, no_result, or an error kind)."
	helpByCaller   = "Tool calls by authenticated caller: a static token's name, or \"oauth\" for every OAuth caller (subjects would make the label unbounded)."
	helpInFlight   = "Tool calls running now."
	helpSessions   = "MCP sessions registered with the server: SSE streams, streamable HTTP streams and sessions of initialize-based clients until they end or idle out."
	helpLatency    = "Duration of HTTP requests to QCC (or the demo sandbox), until the response headers."
	helpSSEStreams = "Open SSE streams."
	helpRedisUp    = "1 while the shared Redis can be reached, 0 while this replica falls back on its own state."
	helpUpstream   = "Requests sent to QCC, by QCC status code or transport failure."
	helpCache      = "Tool answers by cache outcome: hit (no QCC call), miss, coalesced (shared another call's QCC request)."
	helpRefused    = "Calls refused without calling QCC (cooldown, budget, rate limit)."
	helpBudget     = "QCC requests sent today (Beijing day), counted against --max-calls-per-day."
	helpBudgetCap  = "--max-calls-per-day (0: no cap)."
	helpDegraded   = "Operations that fell back on this replica's own state because the shared Redis failed, by feature (cache, coalescing, cooldowns, budget, rate)."
)

// latencyBuckets are the upper bounds of
// qcc_mcp_upstream_request_duration_seconds, in seconds.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// New returns empty metrics.
func New() *Metrics {
	// Give the Go and process families their # TYPE lines, as the page had
	// them before; this switch is the library's own and global, and nothing
	// else in the process writes through it.
	vm.ExposeMetadata(true)
	return &Metrics{latency: newHistogram(latencyBuckets)}
}

// CallStarted implements tools.Observer.
func (m *Metrics) CallStarted(string) { m.inFlight.Add(1) }

// CallFinished implements tools.Observer.
func (m *Metrics) CallFinished(tool, outcome string, _ int, _ time.Duration) {
	m.inFlight.Add(-1)
	m.toolCalls.inc(toolOutcome{tool, outcome})
}

// CallFrom implements tools.CallerObserver; caller is a bounded label
// (identity.Identity.Label).
func (m *Metrics) CallFrom(caller string) { m.byCaller.inc(caller) }

// SessionHooks count MCP sessions as they register and unregister.
func (m *Metrics) SessionHooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRegisterSession(func(context.Context, server.ClientSession) { m.sessions.Add(1) })
	h.AddOnUnregisterSession(func(context.Context, server.ClientSession) { m.sessions.Add(-1) })
	return h
}

// Instrument times every request to QCC made through next.
func (m *Metrics) Instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		m.latency.observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// WatchUsage exports the guard's counters, read from usage at each scrape.
func (m *Metrics) WatchUsage(usage func() guard.Usage) { m.usage.Store(&usage) }

// WatchRedis exports qcc_mcp_redis_up, 1 while up reports the shared Redis
// reachable and 0 while this replica runs on its own state. Without a
// Redis it is not called and the series does not exist.
func (m *Metrics) WatchRedis(up func() bool) { m.redisUp.Store(&up) }

// WatchSSEStreams exports the count of open SSE streams, read from open at
// each scrape; the HTTP front owns that count.
func (m *Metrics) WatchSSEStreams(open func() int64) { m.sseStreams.Store(&open) }

// contentType is Prometheus text format 0.0.4, the one format served:
// every Prometheus-compatible scraper reads it whatever it asked for.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves the metrics page to GET and HEAD. The page is built in
// memory and then sent, so a slow scraper holds no lock. It is sent
// uncompressed even to a scraper that accepts gzip: it is about 13 KB.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		page := bytes.NewBuffer(m.appendPage(make([]byte, 0, 16<<10)))
		vm.WriteProcessMetrics(page)
		vm.WriteFDMetrics(page) // process_open_fds and process_max_fds, not in the above
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(page.Len()))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(page.Bytes())
	})
}

// appendPage appends this server's own families to b, sorted by name.
func (m *Metrics) appendPage(b []byte) []byte {
	p := page{
		{name: "qcc_mcp_tool_calls_total", help: helpToolCalls, typ: counter,
			samples: m.toolCalls.samples(func(k toolOutcome) []label {
				return []label{{"outcome", k.outcome}, {"tool", k.tool}}
			})},
		{name: "qcc_mcp_tool_calls_by_caller_total", help: helpByCaller, typ: counter,
			samples: m.byCaller.samples(func(caller string) []label { return []label{{"caller", caller}} })},
		gaugeFamily("qcc_mcp_tool_calls_in_flight", helpInFlight, float64(m.inFlight.Load())),
		gaugeFamily("qcc_mcp_sessions_open", helpSessions, float64(m.sessions.Load())),
		{name: "qcc_mcp_upstream_request_duration_seconds", help: helpLatency, typ: histogramType,
			samples: m.latency.samples()},
	}
	var open int64
	if f := m.sseStreams.Load(); f != nil {
		open = (*f)()
	}
	p = append(p, gaugeFamily("qcc_mcp_sse_streams_open", helpSSEStreams, float64(open)))
	if f := m.redisUp.Load(); f != nil {
		up := 0.0
		if (*f)() {
			up = 1
		}
		p = append(p, gaugeFamily("qcc_mcp_redis_up", helpRedisUp, up))
	}
	if f := m.usage.Load(); f != nil {
		p = append(p, usageFamilies((*f)())...)
	}
	return p.append(b)
}

// usageFamilies turns guard.Usage into families.
func usageFamilies(u guard.Usage) []family {
	return []family{
		{name: "qcc_mcp_upstream_calls_total", help: helpUpstream, typ: counter,
			samples: mapSamples(u.UpstreamCalls, "status")},
		{name: "qcc_mcp_cache_total", help: helpCache, typ: counter, samples: []sample{
			{labels: []label{{"result", "coalesced"}}, value: float64(u.Coalesced)},
			{labels: []label{{"result", "hit"}}, value: float64(u.CacheHits)},
			{labels: []label{{"result", "miss"}}, value: float64(u.CacheMisses)},
		}},
		{name: "qcc_mcp_local_refusals_total", help: helpRefused, typ: counter,
			samples: []sample{{value: float64(u.LocalRefusals)}}},
		gaugeFamily("qcc_mcp_budget_used_today", helpBudget, float64(u.BudgetUsedToday)),
		gaugeFamily("qcc_mcp_budget_limit", helpBudgetCap, float64(u.BudgetLimit)),
		{name: "qcc_mcp_degraded_operations_total", help: helpDegraded, typ: counter,
			samples: mapSamples(u.Degraded, "feature")},
	}
}

func gaugeFamily(name, help string, v float64) family {
	return family{name: name, help: help, typ: gauge, samples: []sample{{value: v}}}
}

// mapSamples makes one sample per entry of counts, labelled name=key.
func mapSamples[N int | int64 | uint64](counts map[string]N, name string) []sample {
	s := make([]sample, 0, len(counts))
	for k, n := range counts {
		s = append(s, sample{labels: []label{{name, k}}, value: float64(n)})
	}
	sortSamples(s)
	return s
}

// counterVec is a family of counters keyed by their label set. Once a label
// set has been seen, counting it takes a read lock and an atomic add, and
// allocates nothing.
type counterVec[K comparable] struct {
	mu sync.RWMutex
	m  map[K]*atomic.Uint64
}

func (v *counterVec[K]) inc(k K) {
	v.mu.RLock()
	c := v.m[k]
	v.mu.RUnlock()
	if c == nil {
		v.mu.Lock()
		if c = v.m[k]; c == nil {
			if v.m == nil {
				v.m = map[K]*atomic.Uint64{}
			}
			c = new(atomic.Uint64)
			v.m[k] = c
		}
		v.mu.Unlock()
	}
	c.Add(1)
}

// samples returns one sample per label set seen, sorted; labels turns a
// key into its labels, sorted by label name.
func (v *counterVec[K]) samples(labels func(K) []label) []sample {
	v.mu.RLock()
	s := make([]sample, 0, len(v.m))
	for k, c := range v.m {
		s = append(s, sample{labels: labels(k), value: float64(c.Load())})
	}
	v.mu.RUnlock()
	sortSamples(s)
	return s
}

// histogram counts observations in buckets with atomics: an observation
// allocates nothing and takes no lock.
type histogram struct {
	bounds  []float64       // upper bounds, ascending
	les     []string        // the bounds as le label values, then "+Inf"
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is above every bound
	sumBits atomic.Uint64   // math.Float64bits of the sum of observations
}

func newHistogram(bounds []float64) histogram {
	les := make([]string, 0, len(bounds)+1)
	for _, b := range bounds {
		les = append(les, formatFloat(b))
	}
	les = append(les, formatFloat(math.Inf(1)))
	return histogram{bounds: bounds, les: les, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// samples returns the cumulative buckets, the sum and the count. The count
// is the total of the buckets read, so that it equals the +Inf bucket even
// while observations land during the scrape.
func (h *histogram) samples() []sample {
	s := make([]sample, 0, len(h.counts)+2)
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
		s = append(s, sample{suffix: "_bucket", labels: []label{{"le", h.les[i]}}, value: float64(total)})
	}
	return append(s,
		sample{suffix: "_sum", value: math.Float64frombits(h.sumBits.Load())},
		sample{suffix: "_count", value: float64(total)})
}
