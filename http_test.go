package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
)

const testToken = "test-bearer-token-0123456789"

func withToken(c *config) { c.authToken = testToken }

func do(t *testing.T, method, url string, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func mcpHeaders(extra map[string]string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

func TestBearerAuth(t *testing.T) {
	ts := newTestHTTPServer(t, withToken)
	for name, tc := range map[string]struct {
		method, path string
		header       map[string]string
		want         int
	}{
		"no token":          {"POST", "/mcp", mcpHeaders(nil), http.StatusUnauthorized},
		"wrong token":       {"POST", "/mcp", mcpHeaders(map[string]string{"Authorization": "Bearer nope"}), http.StatusUnauthorized},
		"wrong scheme":      {"POST", "/mcp", mcpHeaders(map[string]string{"Authorization": "Basic " + testToken}), http.StatusUnauthorized},
		"token prefix":      {"POST", "/mcp", mcpHeaders(map[string]string{"Authorization": "Bearer " + testToken[:10]}), http.StatusUnauthorized},
		"right token":       {"POST", "/mcp", mcpHeaders(map[string]string{"Authorization": "Bearer " + testToken}), http.StatusOK},
		"sse without token": {"GET", "/sse", nil, http.StatusUnauthorized},
		"message no token":  {"POST", "/message?sessionId=x", mcpHeaders(nil), http.StatusUnauthorized},
		"healthz is open":   {"GET", "/healthz", nil, http.StatusOK},
		"readyz is open":    {"GET", "/readyz", nil, http.StatusOK},
		"token in URL":      {"POST", "/mcp?access_token=" + testToken, mcpHeaders(nil), http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = initBody
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

func TestBearerAuthWithRealClients(t *testing.T) {
	ts := newTestHTTPServer(t, withToken)
	headers := map[string]string{"Authorization": "Bearer " + testToken}

	tr, err := transport.NewStreamableHTTP(ts.URL+"/mcp", transport.WithHTTPHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	defer c.Close()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	initialize(t, c, "2025-11-25")
	searchDoc(t, c)

	sc, err := client.NewSSEMCPClient(ts.URL+"/sse", client.WithHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	initialize(t, sc, "2025-06-18")
	searchDoc(t, sc)
}

func TestOriginChecks(t *testing.T) {
	for name, tc := range map[string]struct {
		allowed []string
		origin  string
		want    int
		acao    string
	}{
		"no origin":               {nil, "", http.StatusOK, ""},
		"loopback origin":         {nil, "http://localhost:3000", http.StatusOK, ""},
		"loopback ip origin":      {nil, "http://127.0.0.1:5173", http.StatusOK, ""},
		"ipv6 loopback origin":    {nil, "http://[::1]:8080", http.StatusOK, ""},
		"foreign origin":          {nil, "https://evil.example", http.StatusForbidden, ""},
		"rebinding lookalike":     {nil, "http://localhost.evil.example", http.StatusForbidden, ""},
		"listed origin":           {[]string{"https://app.example.com"}, "https://app.example.com", http.StatusOK, "https://app.example.com"},
		"unlisted with list":      {[]string{"https://app.example.com"}, "https://other.example.com", http.StatusForbidden, ""},
		"loopback not listed":     {[]string{"https://app.example.com"}, "http://localhost:3000", http.StatusForbidden, ""},
		"no origin with a list":   {[]string{"https://app.example.com"}, "", http.StatusOK, ""},
		"listed origin, SSE path": {[]string{"https://app.example.com"}, "https://app.example.com", http.StatusOK, "https://app.example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			ts := newTestHTTPServer(t, func(c *config) { c.allowedOrigins = tc.allowed })
			h := mcpHeaders(nil)
			if tc.origin != "" {
				h["Origin"] = tc.origin
			}
			resp := do(t, "POST", ts.URL+"/mcp", initBody, h)
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
	ts := newTestHTTPServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/sse", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %d", resp.StatusCode)
	}
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("SSE stream sends Access-Control-Allow-Origin %q without configured origins", v)
	}
}

func TestCORSPreflight(t *testing.T) {
	ts := newTestHTTPServer(t, withToken, func(c *config) { c.allowedOrigins = []string{"https://app.example.com"} })
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
	ts := newTestHTTPServer(t, func(c *config) { c.maxBodyBytes = 4096 })
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"` +
		strings.Repeat("企", 5000) + `"}}}`
	resp := do(t, "POST", ts.URL+"/mcp", big, mcpHeaders(nil))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}
	// The server carries on.
	resp = do(t, "POST", ts.URL+"/mcp", initBody, mcpHeaders(nil))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after an oversized body: %d", resp.StatusCode)
	}
}

func TestSSEStreamCap(t *testing.T) {
	ts := newTestHTTPServer(t, func(c *config) { c.maxSSEStreams = 2 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/sse", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for i := 0; i < 2; i++ {
		if resp := open(); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
	}
	resp := open()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestNonLoopbackWithoutTokenIsRefused(t *testing.T) {
	for addr, wantOK := range map[string]bool{
		"0.0.0.0:8080": false, ":8080": false, "192.0.2.1:8080": false,
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true,
	} {
		cfg := testConfig()
		cfg.addr = addr
		err := cfg.loadEnv(env())
		if (err == nil) != wantOK {
			t.Errorf("%s without token: err %v, want ok=%v", addr, err, wantOK)
		}
		if err != nil && !strings.Contains(err.Error(), "MCP_AUTH_TOKEN") {
			t.Errorf("%s: message %q does not say how to set a token", addr, err)
		}
		if err := cfg.loadEnv(env("MCP_AUTH_TOKEN", testToken)); err != nil {
			t.Errorf("%s with token: %v", addr, err)
		}
	}
}

func TestAccessLog(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig()
	cfg.authToken = testToken
	log := newLogger(logs, 0, env("NO_COLOR", "1"))
	a, err := newApp(cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.close(discardLogger()) })
	front := newHTTPFront(a, cfg, log)
	ts := newServerFor(t, front)
	h := mcpHeaders(map[string]string{"Authorization": "Bearer " + testToken})
	do(t, "POST", ts.URL+"/mcp", initBody, h)
	do(t, "POST", ts.URL+"/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"企查查科技有限公司"}}}`, h)
	do(t, "POST", ts.URL+"/mcp", initBody, mcpHeaders(nil))
	out := logs.String()
	for _, want := range []string{"method=POST path=/mcp status=200", "tool=search_certifications", "status=401", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("access log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testToken) {
		t.Error("access log contains the bearer token")
	}
}

func newServerFor(t *testing.T, front *httpFront) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(front.handler())
	t.Cleanup(func() {
		front.sse.CloseSessions()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		front.streamable.Shutdown(ctx)
		ts.Close()
	})
	return ts
}

// TestSlowBodyIsCutOff sends the headers of a POST and then only part of
// its body: the server must give up at the body read deadline, not hold
// the connection and a goroutine for ever.
func TestSlowBodyIsCutOff(t *testing.T) {
	ts := newTestHTTPServer(t, func(c *config) { c.bodyReadTimeout = 300 * time.Millisecond })
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
