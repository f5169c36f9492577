package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// binary is the qcc-mcp command built once for the subprocess tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qcc-mcp-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "qcc-mcp")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("building qcc-mcp: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const docCompany = "企查查科技有限公司"

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func initialize(t *testing.T, c *client.Client, version string) *mcp.InitializeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = version
	req.Params.ClientInfo = mcp.Implementation{Name: "main-test", Version: "1"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatalf("initialize %s: %v", version, err)
	}
	return res
}

// searchDoc calls search_certifications for the vendor document's company
// and checks the demo answer.
func searchDoc(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "search_certifications"
	req.Params.Arguments = map[string]any{"company": docCompany}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError {
		t.Fatalf("search is an error: %+v", res.Content)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var out struct {
		Total          int
		Certifications []struct{ ID string }
		Source         struct{ Demo bool }
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Total == 0 || len(out.Certifications) == 0 || !out.Source.Demo {
		t.Fatalf("search result %s: want certificates marked as demo", raw)
	}
}

func TestStdioSubprocess(t *testing.T) {
	var stderr syncBuffer
	c, err := client.NewStdioMCPClientWithOptions(binary, []string{"NO_COLOR=1"}, []string{"--demo"},
		transport.WithCommandStderrWriter(&stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	initialize(t, c, mcp.LATEST_PROTOCOL_VERSION)
	tools, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) != 2 {
		t.Fatalf("%d tools, want 2", len(tools.Tools))
	}
	searchDoc(t, c)
	c.Close()
	// Logs go to stderr: the call's log line must be there.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "tool=search_certifications") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "tool=search_certifications") {
		t.Errorf("stderr has no tool call log line:\n%s", stderr.String())
	}
}

// TestStdioStdoutIsOnlyJSONRPC feeds raw JSON-RPC lines and checks that
// every line the server writes on stdout is a JSON-RPC message.
func TestStdioStdoutIsOnlyJSONRPC(t *testing.T) {
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"` + docCompany + `"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"x"}}}`,
		// Still running when stdin ends: its answer must not be lost.
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"sandbox-slow-1s"}}}`,
	}, "\n") + "\n"
	cmd := exec.Command(binary, "--demo", "--log-level", "debug")
	cmd.Stdin = strings.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	ids := map[float64]bool{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var msg struct {
			JSONRPC string   `json:"jsonrpc"`
			ID      *float64 `json:"id"`
			Result  struct {
				IsError bool `json:"isError"`
			} `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg.JSONRPC != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", sc.Text())
		}
		if msg.ID != nil {
			ids[*msg.ID] = true
			if *msg.ID == 5 && msg.Result.IsError {
				t.Errorf("the call still running at end of input was cut off: %s", sc.Text())
			}
		}
	}
	for _, id := range []float64{1, 2, 3, 4, 5} {
		if !ids[id] {
			t.Errorf("no answer to request %v on stdout", id)
		}
	}
	if !strings.Contains(stderr.String(), "serving MCP over stdio") {
		t.Errorf("start-up log line missing from stderr:\n%s", stderr.String())
	}
}

func newTestHTTPServer(t *testing.T, mutate ...func(*config)) *httptest.Server {
	t.Helper()
	cfg := testConfig()
	for _, m := range mutate {
		m(cfg)
	}
	a, err := newApp(cfg, discardLogger(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.close(discardLogger()) })
	return newServerFor(t, newHTTPFront(a, cfg, discardLogger()))
}

func TestStreamableHTTP(t *testing.T) {
	ts := newTestHTTPServer(t)
	for _, version := range []string{mcp.LATEST_PROTOCOL_VERSION, "2025-11-25", "2025-06-18"} {
		t.Run(version, func(t *testing.T) {
			tr, err := transport.NewStreamableHTTP(ts.URL + "/mcp")
			if err != nil {
				t.Fatal(err)
			}
			c := client.NewClient(tr, client.WithProtocolVersion(version))
			defer c.Close()
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			res := initialize(t, c, version)
			if version != mcp.LATEST_PROTOCOL_VERSION && res.ProtocolVersion != version {
				t.Errorf("negotiated %q, want %q", res.ProtocolVersion, version)
			}
			searchDoc(t, c)
		})
	}
}

func TestSSE(t *testing.T) {
	ts := newTestHTTPServer(t)
	c, err := client.NewSSEMCPClient(ts.URL + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	initialize(t, c, "2025-06-18")
	searchDoc(t, c)
}

func TestMissingCredentialsFailWithOneLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), nil, strings.NewReader(""), &stdout, &stderr, env())
	if code == exitOK {
		t.Fatal("started without credentials")
	}
	msg := strings.TrimSpace(stderr.String())
	if strings.Count(msg, "\n") != 0 {
		t.Errorf("want one line, got %q", msg)
	}
	for _, want := range []string{"QCC_APP_KEY", "QCC_SECRET_KEY", "--demo"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %s", msg, want)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout not empty: %q", stdout.String())
	}
}

func TestSecretKeyIsNotAFlag(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--secret-key", "x"}, strings.NewReader(""), &bytes.Buffer{}, &stderr, env())
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: a secret must never be accepted as a flag", code, exitUsage)
	}
}

func TestBadConfiguration(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  func(string) string
		want string
	}{
		"transport":     {[]string{"--demo", "--transport", "carrier-pigeon"}, env(), "--transport"},
		"timeout":       {[]string{"--demo"}, env("QCC_TIMEOUT", "soon"), "QCC_TIMEOUT"},
		"base url":      {nil, env("QCC_APP_KEY", "app-key-1234", "QCC_SECRET_KEY", "secret-key-5678", "QCC_BASE_URL", "ftp://x"), "base URL"},
		"stray arg":     {[]string{"serve"}, env(), "unexpected argument"},
		"base url flag": {[]string{"--base-url", "not a url"}, env("QCC_APP_KEY", "app-key-1234", "QCC_SECRET_KEY", "secret-key-5678"), "base URL"},
		"timeout flag":  {[]string{"--demo", "--timeout", "-1s"}, env(), "--timeout"},
		"log level":     {[]string{"--log-level", "loud"}, env(), "log-level"},
		"unknown flag":  {[]string{"--nope"}, env(), "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &bytes.Buffer{}, &stderr, tc.env)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, nil, &stdout, &bytes.Buffer{}, env()); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(stdout.String(), "qcc-mcp ") {
		t.Errorf("version output %q", stdout.String())
	}
}

func TestCallSubcommand(t *testing.T) {
	for name, tc := range map[string]struct {
		args     []string
		wantCode int
		want     string
	}{
		"search":             {[]string{"--demo", "search_certifications", "company=" + docCompany, "page=1", "page_size=5"}, exitOK, "get_certification_detail"},
		"flags after args":   {[]string{"search_certifications", "company=" + docCompany, "--demo"}, exitOK, "DEMO DATA"},
		"json object":        {[]string{"--demo", "search_certifications", `{"company":"` + docCompany + `","page":1}`}, exitOK, "DEMO DATA"},
		"json output":        {[]string{"--demo", "--json", "search_certifications", "company=" + docCompany}, exitOK, `"structuredContent"`},
		"tool error":         {[]string{"--demo", "search_certifications", "company=sandbox-status-102"}, exitFailure, "QCC status 102"},
		"schema error":       {[]string{"--demo", "search_certifications", "company=" + docCompany, "page_size=50"}, exitFailure, "page_size"},
		"integer typed":      {[]string{"--demo", "search_certifications", "company=" + docCompany, "page=two"}, exitUsage, "integer"},
		"boolean typed":      {[]string{"--demo", "search_certifications", "company=" + docCompany, "exact=maybe"}, exitUsage, "true or false"},
		"unknown argument":   {[]string{"--demo", "search_certifications", "firm=x"}, exitUsage, "unknown argument"},
		"unknown tool":       {[]string{"--demo", "delete_everything"}, exitUsage, "unknown tool"},
		"no tool":            {[]string{"--demo"}, exitUsage, "usage"},
		"missing credential": {[]string{"search_certifications", "company=" + docCompany}, exitUsage, "QCC_APP_KEY"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"call"}, tc.args...), nil, &stdout, &stderr, env("NO_COLOR", "1"))
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Errorf("output does not contain %q\nstdout: %s\nstderr: %s", tc.want, stdout.String(), stderr.String())
			}
		})
	}
}

func TestCallJSONIsWholeResult(t *testing.T) {
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"call", "--demo", "--json", "search_certifications", "company=" + docCompany}, nil, &stdout, &bytes.Buffer{}, env())
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var res struct {
		Content           []map[string]any `json:"content"`
		StructuredContent map[string]any   `json:"structuredContent"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, stdout.String())
	}
	if len(res.Content) == 0 || res.StructuredContent["company"] != docCompany {
		t.Errorf("--json output lacks content or structuredContent: %s", stdout.String())
	}
}

// TestSIGTERMWithOpenSSEStream starts the real binary over HTTP, opens an
// SSE stream that would never end by itself, sends SIGTERM and expects a
// clean exit well within the shutdown timeout.
func TestSIGTERMWithOpenSSEStream(t *testing.T) {
	cmd := exec.Command(binary, "--demo", "--transport", "http", "--addr", "127.0.0.1:0", "--shutdown-timeout", "20s")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := waitForAddr(t, stderr)

	resp, err := http.Get("http://" + addr + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %s", resp.Status)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit 15 s after SIGTERM\n%s", stderr.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v with one SSE stream open", d)
	}
}

// waitForAddr reads the listen address from the start-up log line.
func waitForAddr(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, f := range strings.Fields(stderr.String()) {
			if a, ok := strings.CutPrefix(f, "addr="); ok && !strings.HasSuffix(a, ":0") {
				return a
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server did not log its address:\n%s", stderr.String())
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testConfig is the configuration a --demo HTTP server gets from its flag
// defaults, with no rate limit so that tests never wait.
func testConfig() *config {
	var cfg config
	fs := newFlagSet("test", &cfg, env(), io.Discard)
	if err := cfg.parseFlags(fs, []string{"--demo", "--transport", "http", "--rate", "0"}); err != nil {
		panic(err)
	}
	if err := cfg.loadEnv(env()); err != nil {
		panic(err)
	}
	cfg.maxSSEStreams = 10
	return &cfg
}

func TestDemoNeverTouchesTheCacheFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cache.db")
	// The variable is ignored in demo mode...
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"call", "--demo", "search_certifications", "company=" + docCompany}, nil, &stdout, &bytes.Buffer{}, env("QCC_CACHE_FILE", file))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("demo mode created the cache file from QCC_CACHE_FILE: %v", err)
	}
	// ...and the flag is refused.
	var stderr bytes.Buffer
	code = run(context.Background(), []string{"--demo", "--cache-file", file}, nil, &bytes.Buffer{}, &stderr, env())
	if code != exitUsage || !strings.Contains(stderr.String(), "--demo") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestCacheFileSurvivesRestarts runs the call subcommand twice, as a stdio
// client restarting the server would, against a sandbox served over HTTP:
// the second run is answered from the cache file without a QCC call.
func TestCacheFileSurvivesRestarts(t *testing.T) {
	sb := sandbox.New(sandbox.Config{AppKey: "app-key-1234", SecretKey: "secret-key-5678"})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	vars := env("QCC_APP_KEY", "app-key-1234", "QCC_SECRET_KEY", "secret-key-5678", "QCC_BASE_URL", ts.URL+"/api/yj",
		"QCC_CACHE_FILE", filepath.Join(t.TempDir(), "cache.db"), "NO_COLOR", "1")
	for i, want := range []string{`"cache": "miss"`, `"cache": "hit"`} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"call", "--json", "search_certifications", "company=" + docCompany}, nil, &stdout, &stderr, vars)
		if code != exitOK {
			t.Fatalf("run %d: exit %d\n%s", i, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), want) || strings.Contains(stdout.String(), `"demo": true`) {
			t.Errorf("run %d: want %s and no demo flag:\n%s", i, want, stdout.String())
		}
	}
	if n := sb.TotalCalls(); n != 1 {
		t.Errorf("%d QCC calls over two runs, want 1", n)
	}
}

func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	for _, tc := range []struct {
		terminal bool
		vars     func(string) string
		want     bool
	}{
		{true, env(), true},
		{true, env("NO_COLOR", "1"), false},
		{false, env(), false},
		{false, env("NO_COLOR", "1"), false},
	} {
		if got := useColor(tc.terminal, tc.vars); got != tc.want {
			t.Errorf("terminal %v NO_COLOR %q: colour %v, want %v", tc.terminal, tc.vars("NO_COLOR"), got, tc.want)
		}
	}
	// Logs written to a pipe or file carry no escape codes.
	var buf bytes.Buffer
	newLogger(&buf, slog.LevelInfo, env()).Info("tool call", "tool", "search_certifications")
	if strings.Contains(buf.String(), "\x1b[") || !strings.Contains(buf.String(), "tool=search_certifications") {
		t.Errorf("log line %q", buf.String())
	}
}

func TestFlagsWinOverVariables(t *testing.T) {
	vars := env("QCC_TIMEOUT", "9", "QCC_BASE_URL", "https://api.qichacha.com", "QCC_CACHE_TTL", "1h", "QCC_MAX_CALLS_PER_DAY", "50")
	for _, tc := range []struct {
		args    []string
		timeout time.Duration
		base    string
		ttl     time.Duration
		budget  int
	}{
		{[]string{"--demo"}, 9 * time.Second, "https://api.qichacha.com", time.Hour, 50},
		{[]string{"--demo", "--timeout", "3s", "--base-url", "https://pro.qcc.com/api/yj", "--cache-ttl", "0", "--max-calls-per-day", "7"},
			3 * time.Second, "https://pro.qcc.com/api/yj", 0, 7},
	} {
		var cfg config
		fs := newFlagSet("t", &cfg, vars, io.Discard)
		if err := cfg.parseFlags(fs, tc.args); err != nil {
			t.Fatal(err)
		}
		if err := cfg.loadEnv(vars); err != nil {
			t.Fatal(err)
		}
		if cfg.timeout != tc.timeout || cfg.baseURL != tc.base || cfg.cacheTTL != tc.ttl || cfg.maxCallsPerDay != tc.budget {
			t.Errorf("%v: timeout %v base %q ttl %v budget %d", tc.args, cfg.timeout, cfg.baseURL, cfg.cacheTTL, cfg.maxCallsPerDay)
		}
	}
}

func TestRPCHeaders(t *testing.T) {
	for line, want := range map[string]string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`:         `tools/call 7`,
		`{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"text"}]}}`:            ` "a"`,
		`{"jsonrpc":"2.0","result":{"big":[1,2,3]},"id":8}`:                            ` 8`,
		`{"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"bad"}}`:             ` 9`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`:                       `notifications/initialized `,
		`[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"result":{}}]`: `a 1; 2`,
		`not json`: ``,
		``:         ``,
	} {
		var got []string
		for _, h := range rpcHeaders([]byte(line)) {
			got = append(got, strings.TrimSpace(h.Method+" "+string(h.ID)))
		}
		if g := strings.Join(got, "; "); g != strings.TrimSpace(want) {
			t.Errorf("rpcHeaders(%s) = %q, want %q", line, g, strings.TrimSpace(want))
		}
	}
}
