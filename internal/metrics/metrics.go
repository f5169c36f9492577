// Package metrics exposes the server's Prometheus metrics: tool calls by
// outcome, calls in flight, sessions and SSE streams, QCC requests by status
// and latency, and what the cost guard saved. The HTTP front serves the
// page; the numbers come from the tools (as their Observer), the session
// hooks, the QCC transport and the guard.
package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// Metrics exposes what an operator watches, in Prometheus format: tool
// calls by outcome, calls in flight, sessions and SSE streams, QCC requests
// by status and latency, and what the guard saved. It is a tools.Observer.
type Metrics struct {
	registry   *prometheus.Registry
	toolCalls  *prometheus.CounterVec
	byCaller   *prometheus.CounterVec
	inFlight   prometheus.Gauge
	sessions   prometheus.Gauge
	latency    prometheus.Histogram
	sseStreams atomic.Pointer[func() int64] // set by WatchSSEStreams
}

// New returns the metrics on a registry of their own (not the global one,
// so that several servers in one process, as in tests, do not collide).
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qcc_mcp_tool_calls_total", Help: "Tool calls by tool and outcome (ok, no_result, or an error kind).",
		}, []string{"tool", "outcome"}),
		byCaller: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qcc_mcp_tool_calls_by_caller_total",
			Help: "Tool calls by authenticated caller: a static token's name, or \"oauth\" for every OAuth caller (subjects would make the label unbounded).",
		}, []string{"caller"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "qcc_mcp_tool_calls_in_flight", Help: "Tool calls running now.",
		}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "qcc_mcp_sessions_open", Help: "MCP sessions registered with the server: SSE streams, streamable HTTP streams and sessions of initialize-based clients until they end or idle out.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qcc_mcp_upstream_request_duration_seconds",
			Help:    "Duration of HTTP requests to QCC (or the demo sandbox), until the response headers.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
	}
	m.registry.MustRegister(m.toolCalls, m.byCaller, m.inFlight, m.sessions, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qcc_mcp_sse_streams_open", Help: "Open SSE streams."},
			func() float64 {
				if open := m.sseStreams.Load(); open != nil {
					return float64((*open)())
				}
				return 0
			}))
	return m
}

// CallStarted implements tools.Observer.
func (m *Metrics) CallStarted(string) { m.inFlight.Inc() }

// CallFinished implements tools.Observer.
func (m *Metrics) CallFinished(tool, outcome string, _ int, _ time.Duration) {
	m.inFlight.Dec()
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
}

// CallFrom implements tools.CallerObserver; caller is a bounded label
// (identity.Identity.Label).
func (m *Metrics) CallFrom(caller string) { m.byCaller.WithLabelValues(caller).Inc() }

// SessionHooks count MCP sessions as they register and unregister.
func (m *Metrics) SessionHooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRegisterSession(func(context.Context, server.ClientSession) { m.sessions.Inc() })
	h.AddOnUnregisterSession(func(context.Context, server.ClientSession) { m.sessions.Dec() })
	return h
}

// Instrument times every request to QCC made through next.
func (m *Metrics) Instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		m.latency.Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// WatchUsage exports the guard's counters, read from usage at each scrape.
func (m *Metrics) WatchUsage(usage func() guard.Usage) {
	m.registry.MustRegister(usageCollector{usage})
}

// WatchRedis exports qcc_mcp_redis_up, 1 while up reports the shared Redis
// reachable and 0 while this replica runs on its own state. Without a
// Redis it is not called and the series does not exist.
func (m *Metrics) WatchRedis(up func() bool) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "qcc_mcp_redis_up", Help: "1 while the shared Redis can be reached, 0 while this replica falls back on its own state.",
	}, func() float64 {
		if up() {
			return 1
		}
		return 0
	}))
}

// WatchSSEStreams exports the count of open SSE streams, read from open at
// each scrape; the HTTP front owns that count.
func (m *Metrics) WatchSSEStreams(open func() int64) { m.sseStreams.Store(&open) }

// Handler serves the metrics page.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// usageCollector turns guard.Usage into Prometheus metrics.
type usageCollector struct{ usage func() guard.Usage }

var (
	upstreamDesc  = prometheus.NewDesc("qcc_mcp_upstream_calls_total", "Requests sent to QCC, by QCC status code or transport failure.", []string{"status"}, nil)
	cacheDesc     = prometheus.NewDesc("qcc_mcp_cache_total", "Tool answers by cache outcome: hit (no QCC call), miss, coalesced (shared another call's QCC request).", []string{"result"}, nil)
	refusedDesc   = prometheus.NewDesc("qcc_mcp_local_refusals_total", "Calls refused without calling QCC (cooldown, budget, rate limit).", nil, nil)
	budgetDesc    = prometheus.NewDesc("qcc_mcp_budget_used_today", "QCC requests sent today (Beijing day), counted against --max-calls-per-day.", nil, nil)
	budgetCapDesc = prometheus.NewDesc("qcc_mcp_budget_limit", "--max-calls-per-day (0: no cap).", nil, nil)
	degradedDesc  = prometheus.NewDesc("qcc_mcp_degraded_operations_total", "Operations that fell back on this replica's own state because the shared Redis failed, by feature (cache, coalescing, cooldowns, budget, rate).", []string{"feature"}, nil)
)

func (usageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upstreamDesc, cacheDesc, refusedDesc, budgetDesc, budgetCapDesc, degradedDesc} {
		ch <- d
	}
}

func (c usageCollector) Collect(ch chan<- prometheus.Metric) {
	u := c.usage()
	for status, n := range u.UpstreamCalls {
		ch <- prometheus.MustNewConstMetric(upstreamDesc, prometheus.CounterValue, float64(n), status)
	}
	ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(u.CacheHits), "hit")
	ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(u.CacheMisses), "miss")
	ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(u.Coalesced), "coalesced")
	ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(u.LocalRefusals))
	ch <- prometheus.MustNewConstMetric(budgetDesc, prometheus.GaugeValue, float64(u.BudgetUsedToday))
	ch <- prometheus.MustNewConstMetric(budgetCapDesc, prometheus.GaugeValue, float64(u.BudgetLimit))
	for feature, n := range u.Degraded {
		ch <- prometheus.MustNewConstMetric(degradedDesc, prometheus.CounterValue, float64(n), feature)
	}
}
