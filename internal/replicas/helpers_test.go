package replicas

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/redistest"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// docCompany is the vendor document's example company, in the sandbox.
const docCompany = testkit.DocCompany

// eras are the two protocol eras every case runs in: stateless 2026-07-28
// (mcp-go's default) and a legacy session-based client.
var eras = []protocolEra{
	{"2026-07-28", mcp.LATEST_PROTOCOL_VERSION},
	{"legacy-2025-06-18", mcp.ProtocolVersion20250618},
}

// protocolEra is a protocol version and the name of its subtests.
type protocolEra struct{ name, version string }

// eachEra runs run as a parallel subtest in each of the eras.
func eachEra(t *testing.T, run func(t *testing.T, era protocolEra)) {
	t.Helper()
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			t.Parallel()
			run(t, era)
		})
	}
}

// cluster is n replicas of the whole server on one redis-server, asking
// one sandbox QCC over loopback HTTP, so that the QCC calls of all
// replicas are counted in one place.
type cluster struct {
	t     *testing.T
	redis *redistest.Server
	sb    *sandbox.Sandbox
	qcc   *httptest.Server
	reps  []*appserver.Server
	logs  []*testkit.SyncBuffer // each replica's log, as text
	delay atomic.Int64          // added to every sandbox answer, in nanoseconds
}

// The replicas' QCC keys: not the demo keys, whose 15-character secret the
// server refuses outside --demo.
const (
	replicaAppKey    = "replica-app-key"
	replicaSecretKey = "replica-secret-key-0123456789"
)

// startCluster starts n replicas with args added to each one's flags.
// Without a rate flag the rate limit is off, so that nothing but what a
// case tests decides how many calls reach QCC; without a --redis-timeout
// each Redis operation may take 2 s, so that a loaded machine (60 calls at
// once under -race) is not mistaken for a Redis outage. The outage cases
// set the default 250ms again.
func startCluster(t *testing.T, n int, args ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, redis: redistest.Start(t), sb: sandbox.New(sandbox.Config{AppKey: replicaAppKey, SecretKey: replicaSecretKey})}
	c.qcc = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(c.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		c.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(c.qcc.Close)
	vars := map[string]string{
		"QCC_APP_KEY": replicaAppKey, "QCC_SECRET_KEY": replicaSecretKey,
		"QCC_BASE_URL": c.qcc.URL, "QCC_REDIS_URL": c.redis.URL(),
	}
	base := []string{"--rate", "0", "--replicas-hint", strconv.Itoa(n), "--redis-timeout", "2s"}
	for range n {
		buf := &testkit.SyncBuffer{}
		log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		c.logs = append(c.logs, buf)
		c.reps = append(c.reps, appserver.Start(t, append(base, args...), func(k string) string { return vars[k] }, log))
	}
	return c
}

// qccCalls is how many requests reached the sandbox from any replica.
func (c *cluster) qccCalls() int { return c.sb.TotalCalls() }

// waitRedisUp waits until every replica's qcc_mcp_redis_up is up (1 or 0).
func (c *cluster) waitRedisUp(up float64) {
	c.t.Helper()
	for _, r := range c.reps {
		testkit.WaitForMetric(c.t, r.URL+"/metrics", nil, "qcc_mcp_redis_up", up)
	}
}

// wantSharing asks company, new to the cluster, three times over cl: the
// replicas share their state when that makes one QCC call.
func (c *cluster) wantSharing(cl *client.Client, company, after string) {
	c.t.Helper()
	before := c.qccCalls()
	for range 3 {
		mustAnswer(c.t, cl, company)
	}
	if n := c.qccCalls() - before; n != 1 {
		c.t.Errorf("after %s, one question on 3 replicas made %d QCC calls, want 1", after, n)
	}
}

// roundRobin sends each HTTP request to the next replica in turn, as a
// load balancer without affinity would.
type roundRobin struct {
	hosts []string
	next  atomic.Uint64
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	i := r.next.Add(1) - 1
	req = req.Clone(req.Context())
	req.URL.Host = r.hosts[i%uint64(len(r.hosts))]
	req.Host = ""
	return http.DefaultTransport.RoundTrip(req)
}

// client is an MCP client of the given era whose every request goes to the
// next replica; with one replica's index it talks to that one only.
func (c *cluster) client(version string, only ...int) *client.Client {
	c.t.Helper()
	rr := &roundRobin{}
	for i, r := range c.reps {
		if len(only) > 0 && only[0] != i {
			continue
		}
		u, err := url.Parse(r.URL)
		if err != nil {
			c.t.Fatal(err)
		}
		rr.hosts = append(rr.hosts, u.Host)
	}
	return testkit.StreamableClient(c.t, c.reps[0].URL+"/mcp", version,
		transport.WithHTTPBasicClient(&http.Client{Transport: rr}))
}

// search calls search_certifications for company with a 30-second
// deadline.
func search(c *client.Client, company string) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "search_certifications"
	req.Params.Arguments = map[string]any{"company": company}
	return c.CallTool(ctx, req)
}

// mustAnswer fails the test unless the search succeeded (a "no result"
// answer counts as one: QCC answered).
func mustAnswer(t *testing.T, c *client.Client, company string) {
	t.Helper()
	res, err := search(c, company)
	if err != nil || res.IsError {
		t.Fatalf("search %s: %s", company, testkit.DescribeCall("", res, err))
	}
}

// distinct returns n company names no other call of the test asks for;
// the sandbox answers them 201 (no result), a billed answer like any.
func distinct(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s测试公司%03d号", prefix, i)
	}
	return out
}

// metric reads one series of a replica's metrics page.
func metric(t *testing.T, r *appserver.Server, series string) float64 {
	t.Helper()
	return testkit.Scrape(t, r.URL+"/metrics", nil)[series]
}

// usage reads qcc://usage through c.
func usage(t *testing.T, c *client.Client) string {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = "qcc://usage"
	res, err := c.ReadResource(context.Background(), req)
	if err != nil || len(res.Contents) == 0 {
		t.Fatalf("read qcc://usage: %v", err)
	}
	text, _ := res.Contents[0].(mcp.TextResourceContents)
	return text.Text
}

// Raw legacy HTTP, for what a client library hides: session ids, DELETE,
// and an SSE /message sent to the wrong replica.

const legacyInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"replicas-test","version":"1"}}}`
const legacyPing = `{"jsonrpc":"2.0","id":2,"method":"ping"}`

// post sends body to url's /mcp with the session id (if any) and returns
// the status and the session id answered.
func post(t *testing.T, base, sid, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20250618)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id")
}

// del ends a session with DELETE and returns the status.
func del(t *testing.T, base, sid string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, base+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20250618)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// openSSE opens a legacy SSE stream on base and returns the message
// endpoint it announces; the stream stays open until the test ends.
func openSSE(t *testing.T, base string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, "sessionId=") {
			if u, err := url.Parse(data); err == nil && u.IsAbs() {
				return u.RequestURI()
			}
			return data
		}
	}
	t.Fatalf("no endpoint event on %s/sse: %v", base, sc.Err())
	return ""
}
