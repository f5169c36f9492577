// The end-to-end tests: they build the qcc-mcp binary once and run it as
// a client would, over stdio and HTTP, with signals and exit statuses. The
// behaviour of each part is tested in process in its own package.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
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

const docCompany = testkit.DocCompany

func TestStdioSubprocess(t *testing.T) {
	var stderr testkit.SyncBuffer
	c, err := client.NewStdioMCPClientWithOptions(binary, testEnviron(), []string{"--demo"},
		transport.WithCommandStderrWriter(&stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testkit.Initialize(t, c, mcp.LATEST_PROTOCOL_VERSION)
	tools, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) != 3 {
		t.Fatalf("%d tools, want 3", len(tools.Tools))
	}
	testkit.SearchDemo(t, c)
	c.Close()
	// Logs go to stderr: the call's log line must be there.
	testkit.WaitFor(t, "the tool call's log line on stderr", func() bool {
		return strings.Contains(stderr.String(), "tool=search_certifications")
	})
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
	cmd.Env = testEnviron()
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

// TestStdioBurstLogsEveryLineBeforeExit: a burst of calls over stdio,
// then the end of input. Logs to a pipe are batched (see
// internal/logging), so the lines of the burst and of the shutdown, all
// within the batch delay, are held when the server returns; every one
// must reach stderr before the process exits, in order, the usage summary
// last.
func TestStdioBurstLogsEveryLineBeforeExit(t *testing.T) {
	const calls = 40
	lines := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	}
	for i := range calls {
		lines = append(lines, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":"%s","page_size":%d}}}`,
			i+2, docCompany, 1+i))
	}
	cmd := exec.Command(binary, "--demo", "--rate", "0")
	cmd.Env = testEnviron()
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	got := stderr.String()
	if n := strings.Count(got, `msg="tool call" tool=search_certifications`); n != calls {
		t.Errorf("%d tool call lines on stderr for %d calls:\n%s", n, calls, got)
	}
	stopped, usage := strings.Index(got, `msg="server stopped"`), strings.Index(got, "msg=usage")
	if stopped < 0 || usage < stopped || strings.LastIndex(got, "tool call") > stopped {
		t.Errorf("want the calls' lines, then server stopped, then the usage summary:\n%s", got)
	}
}

// TestSIGTERMWithOpenSSEStream starts the real binary over HTTP, opens an
// SSE stream that would never end by itself, sends SIGTERM and expects a
// clean exit well within the shutdown timeout.
func TestSIGTERMWithOpenSSEStream(t *testing.T) {
	t.Parallel()
	s := startBinaryHTTP(t, nil, "--demo", "--shutdown-timeout", "20s")
	resp, err := http.Get("http://" + s.addr + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /sse: %s", resp.Status)
	}
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.exited(t, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.stderr.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v with one SSE stream open", d)
	}
}

// TestSIGTERMLetsInFlightCallFinish sends SIGTERM to the binary while a
// slow tool call is running over /mcp: the call must complete with its
// normal result and the process exit 0 within --shutdown-timeout.
func TestSIGTERMLetsInFlightCallFinish(t *testing.T) {
	t.Parallel()
	const shutdownTimeout = 15 * time.Second
	s := startBinaryHTTP(t, nil, "--demo", "--shutdown-timeout", shutdownTimeout.String())
	// Quiet: the client's DELETE at the end finds the server gone.
	c := testkit.StreamableClient(t, "http://"+s.addr+"/mcp", "2025-06-18", transport.WithHTTPLogger(slog.New(slog.DiscardHandler)))
	type result struct {
		text    string
		isError bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": "sandbox-slow-2s"})
		done <- result{testkit.ResultText(res), res != nil && res.IsError, err}
	}()
	testkit.WaitForMetric(t, "http://"+s.addr+"/metrics", nil, "qcc_mcp_tool_calls_in_flight", 1)

	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		// The sandbox answers a slow search with "no result".
		if r.err != nil || r.isError || !strings.Contains(r.text, "No certificates found") {
			t.Errorf("the call in flight at SIGTERM: err %v, isError %v, text %q\nstderr:\n%s", r.err, r.isError, r.text, s.stderr.String())
		}
	case <-time.After(shutdownTimeout + 10*time.Second):
		t.Fatalf("the call in flight at SIGTERM never ended\nstderr:\n%s", s.stderr.String())
	}
	if err := s.exited(t, shutdownTimeout+10*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v\nstderr:\n%s", err, s.stderr.String())
	}
	if d := time.Since(start); d > shutdownTimeout {
		t.Errorf("shutdown took %v, over --shutdown-timeout %v", d, shutdownTimeout)
	}
	for _, want := range []string{"shutting down", "server stopped"} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, s.stderr.String())
		}
	}
	if strings.Contains(s.stderr.String(), "did not finish in time") {
		t.Errorf("the server cut off requests:\n%s", s.stderr.String())
	}
}

// TestCacheFileSurvivesRestarts runs the binary's call subcommand twice, as a stdio
// client restarting the server would, against a sandbox served over HTTP:
// the second run is answered from the cache file without a QCC call.
func TestCacheFileSurvivesRestarts(t *testing.T) {
	sb := sandbox.New(sandbox.Config{AppKey: "app-key-1234", SecretKey: "secret-key-5678-abcdef"})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	vars := testEnviron("QCC_APP_KEY=app-key-1234", "QCC_SECRET_KEY=secret-key-5678-abcdef", "QCC_BASE_URL="+ts.URL+"/api/yj",
		"QCC_CACHE_FILE="+filepath.Join(t.TempDir(), "cache.db"))
	for i, want := range []string{`"cache": "miss"`, `"cache": "hit"`} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(binary, "call", "--json", "search_certifications", "company="+docCompany)
		cmd.Env, cmd.Stdout, cmd.Stderr = vars, &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), want) || strings.Contains(stdout.String(), `"demo": true`) {
			t.Errorf("run %d: want %s and no demo flag:\n%s", i, want, stdout.String())
		}
	}
	if n := sb.TotalCalls(); n != 1 {
		t.Errorf("%d QCC calls over two runs, want 1", n)
	}
}

// TestExitStatus runs the binary for each kind of outcome: 0 for success
// and help, 2 for what the user typed or configured wrong (with one line
// naming the one bad setting), 1 for a failure of the run itself.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	creds := []string{"QCC_APP_KEY=app-key-1234", "QCC_SECRET_KEY=secret-key-5678-abcdef", "QCC_BASE_URL=http://127.0.0.1:1/api/yj"}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() }) // not defer: the subtests run after this function returns

	// A cache file held by another running server.
	cacheFile := filepath.Join(t.TempDir(), "cache.db")
	holder := exec.Command(binary, "--cache-file", cacheFile)
	holder.Env = testEnviron(creds...)
	holderIn, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startBinary(t, holder)
	testkit.WaitFor(t, "the first server to open its cache file", func() bool {
		return strings.Contains(p.stderr.String(), "serving MCP over stdio")
	})
	t.Cleanup(func() { holderIn.Close() })

	for name, tc := range map[string]struct {
		args []string
		env  []string
		code int
		want string // in stdout or stderr
	}{
		"version":               {[]string{"--version"}, nil, 0, "qcc-mcp "},
		"help":                  {[]string{"--help"}, nil, 0, "qcc-mcp call"},
		"call help":             {[]string{"call", "--help"}, nil, 0, "usage: qcc-mcp call"},
		"unknown flag":          {[]string{"--nope"}, nil, 2, "flag provided but not defined: -nope"},
		"secret as a flag":      {[]string{"--secret-key", "x"}, nil, 2, "flag provided but not defined: -secret-key"},
		"stray argument":        {[]string{"serve"}, nil, 2, `unexpected argument "serve"`},
		"bad variable":          {[]string{"--demo"}, []string{"QCC_MAX_CALLS_PER_DAY=-3"}, 2, `qcc-mcp: QCC_MAX_CALLS_PER_DAY="-3": want a whole number, 0 or more (0: no cap)` + "\n"},
		"missing credentials":   {nil, nil, 2, "QCC_APP_KEY and QCC_SECRET_KEY must be set"},
		"call without a tool":   {[]string{"call", "--demo"}, nil, 2, "usage: qcc-mcp call"},
		"call, tool error":      {[]string{"call", "--demo", "search_certifications", "company=sandbox-status-102"}, nil, 1, "QCC status 102"},
		"address in use":        {[]string{"--demo", "--transport", "http", "--addr", taken.Addr().String()}, nil, 1, "address already in use"},
		"metrics address taken": {[]string{"--demo", "--transport", "http", "--addr", "127.0.0.1:0", "--metrics-addr", taken.Addr().String()}, nil, 1, "address already in use"},
		"cache file in use":     {[]string{"--cache-file", cacheFile}, creds, 1, cacheFile},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = testEnviron(tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Stdin = strings.NewReader("")
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.want, stdout.String(), stderr.String())
			}
			if tc.code == 2 && len(tc.args) > 0 && tc.args[0] == "--demo" && strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("a configuration error takes more than one line:\n%s", stderr.String())
			}
		})
	}
}

// testEnviron is the test process's environment without anything that
// configures qcc-mcp, plus NO_COLOR and extra.
func testEnviron(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "QCC_") || strings.HasPrefix(kv, "MCP_") || strings.HasPrefix(kv, "NO_COLOR=") {
			continue
		}
		out = append(out, kv)
	}
	return append(append(out, "NO_COLOR=1"), extra...)
}

// binaryProcess is a running qcc-mcp binary with its output captured.
type binaryProcess struct {
	cmd            *exec.Cmd
	stdout, stderr *testkit.SyncBuffer
	done           chan struct{} // closed once the process has exited
	waitErr        error         // valid after done
}

func startBinary(t *testing.T, cmd *exec.Cmd) *binaryProcess {
	t.Helper()
	p := &binaryProcess{cmd: cmd, stdout: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.stdout
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exited waits up to d for the process to exit and returns its error.
func (p *binaryProcess) exited(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(d):
		t.Fatalf("the server did not exit within %v\nstderr:\n%s", d, p.stderr.String())
		return nil
	}
}

// httpBinary is the binary serving HTTP on a loopback port.
type httpBinary struct {
	*binaryProcess
	addr string
}

// startBinaryHTTP runs the binary with --transport http on a free
// loopback port; environ adds to testEnviron.
func startBinaryHTTP(t *testing.T, environ []string, args ...string) *httpBinary {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--transport", "http", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = testEnviron(environ...)
	p := startBinary(t, cmd)
	return &httpBinary{binaryProcess: p, addr: testkit.LogField(t, p.stderr, "addr")}
}

// stop sends SIGTERM and expects a clean exit.
func (s *httpBinary) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.exited(t, 30*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, s.stderr.String())
	}
}

// stdioBinary is the binary serving stdio, with an MCP client on its
// stdin and stdout; every byte of stdout is also kept.
type stdioBinary struct {
	*binaryProcess
	client *client.Client
	stdin  io.Closer
	pw     *io.PipeWriter
}

func startStdioBinary(t *testing.T, environ []string, args ...string) *stdioBinary {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = testEnviron(environ...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	stdout := &testkit.SyncBuffer{}
	cmd.Stdout = teeToPipe{stdout, pw}
	p := startBinary(t, cmd)
	p.stdout = stdout
	// Closing the writer gives the client a clean EOF and makes further
	// writes fail at once instead of blocking the process.
	t.Cleanup(func() { pw.Close() })
	c := client.NewClient(transport.NewIO(pr, stdin, nil))
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.Initialize(t, c, "2025-06-18")
	return &stdioBinary{binaryProcess: p, client: c, stdin: stdin, pw: pw}
}

// stop closes stdin, expects a clean exit, then closes the client.
func (s *stdioBinary) stop(t *testing.T) {
	t.Helper()
	s.stdin.Close()
	if err := s.exited(t, 30*time.Second); err != nil {
		t.Errorf("exit after stdin closed: %v\n%s", err, s.stderr.String())
	}
	s.pw.Close()
	s.client.Close()
}

// teeToPipe keeps everything written and passes it on to a pipe; once the
// pipe's reader is gone, writes still succeed so the process is never
// blocked or killed by SIGPIPE.
type teeToPipe struct {
	keep *testkit.SyncBuffer
	pw   *io.PipeWriter
}

func (w teeToPipe) Write(p []byte) (int, error) {
	w.keep.Write(p)
	w.pw.Write(p)
	return len(p), nil
}

// TestCacheFileDamagedWhileRunning truncates the cache file under a running
// stdio server: calls go on, the end of stdin still ends the process
// within --shutdown-timeout (bbolt's Close used to wait forever, holding
// the file's lock), and a restart on the same file works and still knows
// the day's budget.
func TestCacheFileDamagedWhileRunning(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Config{AppKey: "app-key-1234", SecretKey: "secret-key-5678-abcdef"})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	cacheFile := filepath.Join(t.TempDir(), "cache.db")
	vars := []string{"QCC_APP_KEY=app-key-1234", "QCC_SECRET_KEY=secret-key-5678-abcdef", "QCC_BASE_URL=" + ts.URL + "/api/yj",
		"QCC_CACHE_FILE=" + cacheFile, "QCC_MAX_CALLS_PER_DAY=2"}
	s := startStdioBinary(t, vars, "--shutdown-timeout", "2s")
	call := func(company string) {
		res, err := testkit.CallTool(s.client, "search_certifications", map[string]any{"company": company})
		if err != nil || res.IsError {
			t.Fatalf("search %s: %s", company, testkit.DescribeCall("", res, err))
		}
	}
	call(docCompany)
	if err := os.Truncate(cacheFile, 0); err != nil {
		t.Fatal(err)
	}
	call(sandbox.Companies()[1])
	s.stdin.Close()
	began := time.Now()
	if err := s.exited(t, 5*time.Second); err != nil {
		t.Errorf("exit: %v\n%s", err, s.stderr.String())
	}
	t.Logf("exited %s after stdin closed", time.Since(began).Round(time.Millisecond))

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, "call", "search_certifications", "company="+sandbox.Companies()[2])
	cmd.Env, cmd.Stdout, cmd.Stderr = testEnviron(vars...), &stdout, &stderr
	err := cmd.Run()
	if out := stdout.String() + stderr.String(); !strings.Contains(out, "daily budget of 2") || strings.Contains(out, "in use by another") {
		t.Errorf("restart (%v): want the budget of 2 spent, the file free:\n%s", err, out)
	}
	if n := sb.TotalCalls(); n != 2 {
		t.Errorf("%d QCC calls, want 2", n)
	}
}

// closedPipe returns the write end of a pipe whose read end is already
// closed: a client, or a log collector, that has stopped reading.
func closedPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { w.Close() })
	return w
}

// stdioLines are an initialize, its notification and one search for each
// company given.
func stdioLines(companies ...string) string {
	lines := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	}
	for i, c := range companies {
		lines = append(lines, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"search_certifications","arguments":{"company":%q}}}`, i+2, c))
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestStdioOutlivesClosedStderr: a client that does not read the
// server's stderr (here closed before the start) still gets its answers
// and a clean exit; Go's default would kill the server with SIGPIPE at
// its first log line.
func TestStdioOutlivesClosedStderr(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "--demo")
	cmd.Env = testEnviron()
	cmd.Stdin = strings.NewReader(stdioLines(docCompany))
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, closedPipe(t)
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v (want 0)", err)
	}
	// Two answers, in either order: the tool call runs on a worker.
	answers := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	search := ""
	for _, a := range answers {
		if strings.HasPrefix(a, `{"jsonrpc":"2.0","id":2,"result"`) {
			search = a
		}
	}
	if len(answers) != 2 || search == "" || strings.Contains(search, `"isError":true`) {
		t.Errorf("want the initialize answer and the search's result, got:\n%s", stdout.String())
	}
}

// httpWithStderr is the binary serving HTTP on a free loopback port, its
// stderr given by the test (a pipe nobody reads), so that the address is
// not learnt from the log.
type httpWithStderr struct {
	addr string
	cmd  *exec.Cmd
	done chan error // the exit; put back by whoever takes it
}

func startHTTPWithStderr(t *testing.T, stderr *os.File) *httpWithStderr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &httpWithStderr{addr: ln.Addr().String(), done: make(chan error, 1)}
	ln.Close()
	s.cmd = exec.Command(binary, "--demo", "--transport", "http", "--addr", s.addr)
	s.cmd.Env = testEnviron()
	s.cmd.Stderr = stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done })
	return s
}

// post sends one legacy-era message to /mcp.
func (s *httpWithStderr) post(body string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/mcp", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	return (&http.Client{Timeout: 5 * time.Second}).Do(req)
}

// listening waits until the server answers body, and fails the test if it
// exits first or takes over 15 s.
func (s *httpWithStderr) listening(t *testing.T, body string) *http.Response {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := s.post(body)
		if err == nil {
			return resp
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("the server exited before answering: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects exit 0 within 20 s.
func (s *httpWithStderr) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Errorf("exit after SIGTERM: %v (want 0)", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20s of SIGTERM")
	}
}

// TestHTTPOutlivesClosedStderr: over HTTP too, a log pipe nobody reads
// does not stop the server.
func TestHTTPOutlivesClosedStderr(t *testing.T) {
	t.Parallel()
	s := startHTTPWithStderr(t, closedPipe(t))
	resp := s.listening(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize: %s", resp.Status)
	}
	s.stop(t)
}

// TestStdioEndsWhenStdoutCloses: a client that closes its end of stdout
// while stdin stays open is gone. The first answer that cannot be
// written ends the session: no request after it is read (each search
// would be a paid QCC call whose answer cannot arrive), and the server
// exits 0 without waiting for stdin to end.
func TestStdioEndsWhenStdoutCloses(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Config{AppKey: "app-key-1234", SecretKey: "secret-key-5678-abcdef"})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	cmd := exec.Command(binary, "--base-url", ts.URL+"/api/yj", "--cache-ttl", "0", "--rate", "0")
	cmd.Env = testEnviron("QCC_APP_KEY=app-key-1234", "QCC_SECRET_KEY=secret-key-5678-abcdef")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testkit.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })

	lines := strings.SplitAfter(stdioLines(testkit.DocCompany, "苏州云帆智能制造股份有限公司", "杭州青禾软件技术有限公司", "上海明德建设工程有限公司"), "\n")
	// The initialize answer is read; then the client closes stdout.
	io.WriteString(stdin, lines[0])
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("initialize answer: %v\n%s", err, stderr.String())
	}
	out.Close()
	io.WriteString(stdin, lines[1]+lines[2])
	for deadline := time.Now().Add(10 * time.Second); sb.TotalCalls() < 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first search never reached QCC\n%s", stderr.String())
		}
	}
	// Its answer fails to be written; the searches sent after it must
	// not be made.
	time.Sleep(300 * time.Millisecond)
	io.WriteString(stdin, lines[3]+lines[4]+lines[5])
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("exit: %v (want 0)\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after stdout closed, stdin open\n%s", stderr.String())
	}
	if n := sb.TotalCalls(); n != 1 {
		t.Errorf("%d QCC calls, want 1: requests were served after stdout closed\n%s", n, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stdout is closed") {
		t.Errorf("no line saying why the session ended:\n%s", stderr.String())
	}
}

// TestStdioUnreadStderrDoesNotStall: a client that keeps the server's
// stderr open but never reads it (a pipe nobody drains) gets every
// answer: once the pipe is full the log lines are dropped, the calls go
// on. The server used to stop at the line that filled the pipe.
func TestStdioUnreadStderrDoesNotStall(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()    // open, never read
	const calls = 1500 // about 200 KB of log lines: three pipes full
	companies := make([]string, calls)
	for i := range companies {
		companies[i] = docCompany
	}
	cmd := exec.Command(binary, "--demo", "--rate", "0")
	cmd.Env = testEnviron()
	cmd.Stdin = strings.NewReader(stdioLines(companies...))
	var stdout testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v (want 0)", err)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("stalled: %d answers of %d after 60s", strings.Count(stdout.String(), "\n"), calls+1)
	}
	if n := strings.Count(stdout.String(), "\n"); n != calls+1 {
		t.Errorf("%d answers, want %d", n, calls+1)
	}
}

// TestHTTPUnreadStderrDoesNotStall: the same over HTTP, where every
// request writes an access line; the server used to stop answering once
// the pipe was full, and could not even shut down.
func TestHTTPUnreadStderrDoesNotStall(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // open, never read
	s := startHTTPWithStderr(t, w)
	w.Close()
	const notification = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	s.listening(t, notification).Body.Close()
	const requests = 1500 // an access line each: several pipes full
	for i := range requests {
		resp, err := s.post(notification)
		if err != nil {
			t.Fatalf("request %d of %d: %v", i+1, requests, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	s.stop(t)
}
