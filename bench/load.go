package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// toolCall is one tools/call of the load mix.
type toolCall struct {
	tool string
	args map[string]any
}

// callMix covers every demo company (including the one without
// certificates, a success with an empty list), the three pages of the
// largest one, and three certificate details.
var callMix = []toolCall{
	search("企查查科技有限公司", 1),
	search("苏州云帆智能制造股份有限公司", 1),
	search("苏州云帆智能制造股份有限公司", 2),
	search("苏州云帆智能制造股份有限公司", 3),
	search("华信创（北京）检测技术有限公司", 1),
	search("杭州青禾软件技术有限公司", 1),
	search("深圳市海澜电子科技有限公司", 1),
	search("上海明德建设工程有限公司", 1),
	search("北京星河启明商贸有限公司", 1),
	detail("145695151793ad28f7ffd5d8a24cd6191"),
	detail("e790c717071c227f719ee1689096fc4e1"),
	detail("54b26190483eba2a359101b68450765f1"),
}

func search(company string, page int) toolCall {
	return toolCall{"search_certifications", map[string]any{"company": company, "page": page, "page_size": 10}}
}

func detail(id string) toolCall {
	return toolCall{"get_certification_detail", map[string]any{"cert_id": id}}
}

// httpCounts counts HTTP responses by method and status ("POST 200",
// "DELETE 401", "POST error").
type httpCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *httpCounts) add(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[key]++
}

func (c *httpCounts) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// authTransport adds the bearer token to every request and counts the
// responses. The token goes in here rather than through
// transport.WithHTTPHeaders because mcp-go's client sends its closing
// DELETE without those headers.
type authTransport struct {
	next   http.RoundTripper
	token  string
	counts *httpCounts
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	res, err := t.next.RoundTrip(req)
	if err != nil {
		t.counts.add(req.Method + " error")
	} else {
		t.counts.add(fmt.Sprintf("%s %d", req.Method, res.StatusCode))
	}
	return res, err
}

// newHTTPClient returns an HTTP client on its own connection pool, big
// enough to keep conns connections alive, that dials loopback only, sends
// token and counts responses in counts (nil: not counted).
func newHTTPClient(conns int, token string, counts *httpCounts, timeout time.Duration) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		DialContext:         loopbackDialer().DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: &authTransport{next: tr, token: token, counts: counts}, Timeout: timeout}, tr
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// connect starts an MCP client over streamable HTTP and initializes it at
// protocol (a version before 2026-07-28 opens a session).
func connect(ctx context.Context, url string, hc *http.Client, protocol string) (*client.Client, error) {
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(hc), transport.WithHTTPLogger(quietLogger))
	if err != nil {
		return nil, err
	}
	c := client.NewClient(tr, client.WithProtocolVersion(protocol))
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = protocol
	req.Params.ClientInfo = mcp.Implementation{Name: "qcc-mcp-bench", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		c.Close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	return c, nil
}

// callOnce makes one tool call and judges it: a Go error, an isError
// result and a result without structuredContent are all failures.
func callOnce(ctx context.Context, c *client.Client, tc toolCall, timeout time.Duration) (kind, msg string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tc.tool
	req.Params.Arguments = tc.args
	res, err := c.CallTool(ctx, req)
	switch {
	case err != nil:
		return "go error", err.Error()
	case res.IsError:
		return "isError result", resultText(res)
	case res.StructuredContent == nil:
		return "no structuredContent", resultText(res)
	}
	return "", ""
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// errorLog counts failures by kind and keeps the first few messages.
type errorLog struct {
	mu      sync.Mutex
	total   int
	kinds   map[string]int
	samples []string
}

func (e *errorLog) add(kind, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.total++
	if e.kinds == nil {
		e.kinds = map[string]int{}
	}
	e.kinds[kind]++
	if len(e.samples) < 10 {
		e.samples = append(e.samples, kind+": "+truncate(strings.ReplaceAll(msg, "\n", " | "), 300))
	}
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// latencyOf returns nearest-rank percentiles of ds.
func latencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ms(ds[max(0, min(i, len(ds)-1))])
	}
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// LoadResult is what the load phase measured.
type LoadResult struct {
	Clients        int            `json:"clients"`
	CallsPerClient int            `json:"calls_per_client"`
	Protocol       string         `json:"protocol"`
	InitErrors     int            `json:"initialize_errors"`
	InitSeconds    float64        `json:"initialize_seconds"`
	InitLatency    Latency        `json:"initialize_latency"`
	Calls          int            `json:"calls"`
	Errors         int            `json:"errors"`
	ErrorKinds     map[string]int `json:"error_kinds,omitempty"`
	ErrorSamples   []string       `json:"error_samples,omitempty"`
	Seconds        float64        `json:"seconds"`
	CallsPerSecond float64        `json:"calls_per_second"`
	Latency        Latency        `json:"latency"`
	ByTool         map[string]int `json:"calls_by_tool"`
	PeakRSS        int64          `json:"server_peak_rss_bytes"`
	PeakFDs        int            `json:"server_peak_fds"`
}

// runLoad connects clients concurrently, then, all at once, has each make
// calls tool calls in turn, and closes each client (DELETE) when done.
// Client i talks to urls[i mod len(urls)], one replica each.
func runLoad(ctx context.Context, cfg *config, urls []string, hc *http.Client) *LoadResult {
	r := &LoadResult{Clients: cfg.clients, CallsPerClient: cfg.calls, Protocol: cfg.protocol, ByTool: map[string]int{}}
	var errs errorLog
	start := make(chan struct{})
	var connected, done sync.WaitGroup
	var mu sync.Mutex
	var lat, initLat []time.Duration
	for i := range cfg.clients {
		connected.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			t0 := time.Now()
			c, err := connect(ctx, urls[i%len(urls)], hc, cfg.protocol)
			d := time.Since(t0)
			connected.Done()
			if err != nil {
				errs.add("initialize", err.Error())
				return
			}
			defer c.Close()
			mu.Lock()
			initLat = append(initLat, d)
			mu.Unlock()
			select {
			case <-start:
			case <-ctx.Done():
				return
			}
			mine := make([]time.Duration, 0, cfg.calls)
			byTool := map[string]int{}
			for j := range cfg.calls {
				if ctx.Err() != nil {
					break
				}
				tc := callMix[(i*5+j)%len(callMix)]
				t0 := time.Now()
				kind, msg := callOnce(ctx, c, tc, cfg.callTimeout)
				mine = append(mine, time.Since(t0))
				byTool[tc.tool]++
				if kind != "" {
					errs.add(kind, tc.tool+": "+msg)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range byTool {
				r.ByTool[k] += v
			}
			mu.Unlock()
		}()
	}
	t0 := time.Now()
	connected.Wait()
	r.InitSeconds = time.Since(t0).Seconds()
	t1 := time.Now()
	close(start)
	done.Wait()
	elapsed := time.Since(t1)

	r.InitLatency = latencyOf(initLat)
	r.InitErrors = errs.kinds["initialize"]
	r.Calls = len(lat)
	r.Errors = errs.total
	r.ErrorKinds = errs.kinds
	r.ErrorSamples = errs.samples
	r.Seconds = math.Round(elapsed.Seconds()*1000) / 1000
	if elapsed > 0 {
		r.CallsPerSecond = math.Round(float64(r.Calls)/elapsed.Seconds()*10) / 10
	}
	r.Latency = latencyOf(lat)
	if missing := cfg.clients*cfg.calls - r.Calls; missing > 0 && r.InitErrors == 0 {
		// Calls skipped because the run was cut short count as errors.
		r.Errors += missing
		if r.ErrorKinds == nil {
			r.ErrorKinds = map[string]int{}
		}
		r.ErrorKinds["not made (run cut short)"] += missing
	}
	return r
}

// nudge makes n calls on one fresh session and closes it. The server
// allocates while answering, so its garbage collector runs and freed memory
// can go back to the OS before RSS is read; baseline and final are taken
// the same way.
func nudge(ctx context.Context, cfg *config, url string, hc *http.Client, n int) error {
	if n <= 0 {
		return nil
	}
	c, err := connect(ctx, url, hc, cfg.protocol)
	if err != nil {
		return err
	}
	defer c.Close()
	for i := range n {
		if kind, msg := callOnce(ctx, c, callMix[i%len(callMix)], cfg.callTimeout); kind != "" {
			return fmt.Errorf("%s: %s", kind, msg)
		}
	}
	return nil
}
