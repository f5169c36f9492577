package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// The canaries of the secret hygiene test: values that must never come out
// of the server, whatever path a call takes.
const (
	canaryAppKey      = "canary-app-key-4b8e21"
	canarySecret      = "CANARY-SECRET-7f3a9c"
	canaryWrongSecret = "CANARY-WRONG-SECRET-2c6d"
	canaryBearer      = "CANARY-BEARER-51d2e8"
)

// TestSecretHygiene runs the real binary over stdio and over HTTP against
// a sandbox that knows the canary secret, drives every tool path and every
// failure path, and checks that neither the secret, nor the bearer token,
// nor any Token the server signed, nor the full app key comes out on
// stdout, stderr, in a tool result or in an HTTP response.
func TestSecretHygiene(t *testing.T) {
	t.Parallel()
	up := newRecordingUpstream(t, canaryAppKey, canarySecret)
	serverEnv := []string{
		"QCC_BASE_URL=" + up.URL,
		"QCC_APP_KEY=" + canaryAppKey,
		"QCC_SECRET_KEY=" + canarySecret,
		"QCC_TIMEOUT=1s",
	}
	// No rate limit (the test sends many calls) and no credential cooldown,
	// so that every credential code reaches the sandbox.
	serverArgs := []string{"--log-level", "debug", "--rate", "0", "--credential-cooldown", "0"}

	var outputs outputSet
	t.Run("stdio", func(t *testing.T) {
		t.Parallel()
		p := startStdioBinary(t, serverEnv, serverArgs...)
		transcript := &syncBuffer{}
		runHygieneCalls(t, p.client, transcript, 109, 116)
		p.stop(t)
		outputs.add("stdio stdout", p.stdout.String())
		outputs.add("stdio stderr", p.stderr.String())
		outputs.add("stdio tool results", transcript.String())
		if !strings.Contains(p.stderr.String(), "retrying a QCC call") {
			t.Errorf("no debug line about a retry in stderr: was --log-level debug applied?\n%s", p.stderr.String())
		}
	})
	t.Run("http", func(t *testing.T) {
		t.Parallel()
		s := startBinaryHTTP(t, append(serverEnv, "MCP_AUTH_TOKEN="+canaryBearer), serverArgs...)
		responses := &syncBuffer{}
		hc := &http.Client{Transport: recordingTransport{responses}}
		auth := map[string]string{"Authorization": "Bearer " + canaryBearer}

		c := newStreamableClient(t, "http://"+s.addr+"/mcp", "2025-06-18",
			transport.WithHTTPHeaders(auth), transport.WithHTTPBasicClient(hc))
		transcript := &syncBuffer{}
		runHygieneCalls(t, c, transcript, 116, 109)

		// The legacy SSE transport answers on its stream: a success, a QCC
		// failure and a credential failure.
		sc, err := client.NewSSEMCPClient("http://"+s.addr+"/sse", transport.WithHeaders(auth), transport.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sc.Close() })
		if err := sc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		initialize(t, sc, "2025-06-18")
		for _, company := range []string{docCompany, "sandbox-status-107", "sandbox-http-502"} {
			res, err := callTool(sc, "search_certifications", map[string]any{"company": company})
			transcript.Write([]byte(describeCall("sse search "+company, res, err)))
		}

		// Raw requests: refused, open and unknown endpoints.
		for _, rq := range []struct {
			method, path string
			header       map[string]string
			want         int
		}{
			{"POST", "/mcp", mcpHeaders(nil), http.StatusUnauthorized},
			{"POST", "/mcp", mcpHeaders(map[string]string{"Authorization": "Bearer wrong-" + canaryBearer}), http.StatusUnauthorized},
			{"POST", "/mcp", mcpHeaders(map[string]string{"Authorization": "Basic " + canaryBearer}), http.StatusUnauthorized},
			{"POST", "/mcp?access_token=" + canaryBearer, mcpHeaders(nil), http.StatusBadRequest},
			{"POST", "/mcp?key=" + canarySecret, mcpHeaders(auth), http.StatusBadRequest},
			{"POST", "/mcp", mcpHeaders(map[string]string{"Authorization": "Bearer " + canaryBearer, "Origin": "https://evil.example"}), http.StatusForbidden},
			{"GET", "/sse", nil, http.StatusUnauthorized},
			{"POST", "/message?sessionId=no-such-session", mcpHeaders(nil), http.StatusUnauthorized},
			{"GET", "/metrics", nil, http.StatusUnauthorized},
			{"GET", "/metrics", auth, http.StatusOK},
			{"GET", "/healthz", nil, http.StatusOK},
			{"GET", "/readyz", nil, http.StatusOK},
			{"GET", "/no-such-page", auth, http.StatusNotFound},
		} {
			req, err := http.NewRequest(rq.method, "http://"+s.addr+rq.path, strings.NewReader(initBody))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range rq.header {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != rq.want {
				t.Errorf("%s %s: %d, want %d", rq.method, strings.SplitN(rq.path, "?", 2)[0], resp.StatusCode, rq.want)
			}
		}
		c.Close()
		sc.Close()
		s.stop(t)
		outputs.add("http stdout", s.stdout.String())
		outputs.add("http stderr", s.stderr.String())
		outputs.add("http tool results", transcript.String())
		outputs.add("http responses", responses.String())
		if !strings.Contains(responses.String(), "qcc_mcp_tool_calls_total") {
			t.Errorf("the recorded responses lack the /metrics page:\n%.2000s", responses.String())
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		env := []string{"QCC_BASE_URL=" + up.URL, "QCC_APP_KEY=" + canaryAppKey, "QCC_SECRET_KEY=" + canaryWrongSecret, "QCC_TIMEOUT=1s"}
		// The default credential cooldown: the second call is refused
		// locally, a path of its own.
		p := startStdioBinary(t, env, "--log-level", "debug", "--rate", "0")
		transcript := &syncBuffer{}
		for i, company := range []string{docCompany, "苏州云帆智能制造股份有限公司"} {
			res, err := callTool(p.client, "search_certifications", map[string]any{"company": company})
			transcript.Write([]byte(describeCall("search "+company, res, err)))
			if err != nil || !res.IsError || !strings.Contains(resultText(res), "107") {
				t.Errorf("call %d with a wrong secret: want an isError result naming status 107, got %s", i, describeCall("", res, err))
			}
		}
		res, err := callTool(p.client, "get_certification_detail", map[string]any{"cert_id": "145695151793ad28f7ffd5d8a24cd6191"})
		transcript.Write([]byte(describeCall("detail", res, err)))
		p.stop(t)
		outputs.add("wrong secret stdout", p.stdout.String())
		outputs.add("wrong secret stderr", p.stderr.String())
		outputs.add("wrong secret tool results", transcript.String())
	})
	t.Cleanup(func() {
		// A Token changes once a second, with the Timespan.
		tokens := up.tokens()
		if n := up.requests(); n < 150 || len(tokens) == 0 {
			t.Errorf("the sandbox saw %d requests and %d Token values; did the calls reach it?", n, len(tokens))
		}
		// Every documented status code must have reached the sandbox, on
		// one transport or the other.
		seen := up.keys()
		for _, info := range qcc.StatusCodes() {
			if k := fmt.Sprintf("sandbox-status-%d", info.Code); !seen[k] {
				t.Errorf("%s never reached the sandbox", k)
			}
		}
		secrets := map[string]string{
			"the secret key":       canarySecret,
			"the wrong secret key": canaryWrongSecret,
			"the bearer token":     canaryBearer,
		}
		for name, out := range outputs.all() {
			low := strings.ToLower(out)
			for what, secret := range secrets {
				if i := strings.Index(low, strings.ToLower(secret)); i >= 0 {
					t.Errorf("%s contains %s: …%s…", name, what, excerpt(out, i))
				}
			}
			for _, tok := range tokens {
				if i := strings.Index(low, strings.ToLower(tok)); i >= 0 {
					t.Errorf("%s contains a Token the server signed (%s): …%s…", name, tok, excerpt(out, i))
				}
			}
			if i := strings.Index(low, canaryAppKey); i >= 0 {
				t.Errorf("%s contains the full app key: …%s…", name, excerpt(out, i))
			}
			// Belt and braces: nothing that looks like a Token at all, in
			// case one was signed for a request the sandbox never saw.
			if loc := hexToken.FindStringIndex(out); loc != nil {
				t.Errorf("%s contains something shaped like a Token (%s): …%s…", name, out[loc[0]:loc[1]], excerpt(out, loc[0]))
			}
		}
	})
}

// hygieneCall is one tool call of the hygiene test and what it must give.
type hygieneCall struct {
	tool string
	args map[string]any
	want string // "ok", "error" (a QCC-path isError with "What to do:"), "arg" (an argument error), or "" for anything
}

// hygieneCalls lists every tool path and failure path except the slow
// answer and the quota codes, which runHygieneCalls handles itself.
func hygieneCalls() []hygieneCall {
	search := func(company string, want string, extra ...any) hygieneCall {
		args := map[string]any{"company": company}
		for i := 0; i+1 < len(extra); i += 2 {
			args[extra[i].(string)] = extra[i+1]
		}
		return hygieneCall{"search_certifications", args, want}
	}
	detail := func(id any, want string) hygieneCall {
		return hygieneCall{"get_certification_detail", map[string]any{"cert_id": id}, want}
	}
	calls := []hygieneCall{
		search(docCompany, "ok"),
		search(docCompany, "ok"), // a cache hit
		search("北京星河启明商贸有限公司", "ok"),
		search("企查查", "ok", "exact", false),
		search("苏州云帆智能制造股份有限公司", "ok", "page", 2, "page_size", 20, "cert_category", "C_9"),
		detail("145695151793ad28f7ffd5d8a24cd6191", "ok"),
		{"get_certification_detail", map[string]any{"cert_id": "145695151793ad28f7ffd5d8a24cd6191", "include_empty": true, "max_age_seconds": 0}, "ok"},
		detail("no-such-certificate-id", "error"),
		search("x", "arg"),
		search(docCompany, "arg", "page_size", 50),
		search(docCompany, "arg", "page", 0),
		search(docCompany, "arg", "bogus", canarySecret[:6]),
		{"search_certifications", map[string]any{}, "arg"},
		detail("", "arg"),
		detail(12345, "arg"),
		{"no_such_tool", map[string]any{"company": docCompany}, ""},
		// Upstream failures: HTTP errors, broken bodies, an error page that
		// echoes the request with its key and Token.
		search("sandbox-http-502", "error"),
		detail("sandbox-http-502", "error"),
		search("sandbox-http-401", "error"),
		search("sandbox-http-404", "error"),
		search("sandbox-http-429", "error"),
		search("sandbox-malformed", "error"),
		detail("sandbox-malformed", "error"),
		search("sandbox-truncated", "error"),
		detail("sandbox-truncated", "error"),
		search("sandbox-large", "error"),
		search(echoTrigger, "error"),
		detail(echoTrigger, "error"),
		search("sandbox-status-299", "error"), // undocumented
	}
	for _, info := range qcc.StatusCodes() {
		if info.Code == 109 || info.Code == 116 {
			continue
		}
		want := "error"
		if info.Code == 200 || info.Code == 201 {
			want = ""
		}
		code := fmt.Sprintf("sandbox-status-%d", info.Code)
		calls = append(calls, search(code, want), detail(code, want))
	}
	return calls
}

// runHygieneCalls drives every path through c and writes each result to
// transcript. The quota codes come last, first then second: the first
// starts a cooldown until midnight, so the second is refused locally.
func runHygieneCalls(t *testing.T, c *client.Client, transcript *syncBuffer, first, second int) {
	t.Helper()
	// The slow answer runs alongside the others: with QCC_TIMEOUT=1s and
	// two retries it takes a few seconds.
	slow := make(chan string, 1)
	go func() {
		res, err := callTool(c, "search_certifications", map[string]any{"company": "sandbox-slow-3s"})
		if err == nil && (!res.IsError || !strings.Contains(resultText(res), "timeout") || !strings.Contains(resultText(res), "What to do:")) {
			err = fmt.Errorf("want an isError timeout result with What to do:, got %s", resultText(res))
		}
		transcript.Write([]byte(describeCall("slow search", res, err)))
		if err != nil {
			slow <- err.Error()
			return
		}
		slow <- ""
	}()
	for _, hc := range hygieneCalls() {
		res, err := callTool(c, hc.tool, hc.args)
		desc := describeCall(fmt.Sprintf("%s %v", hc.tool, hc.args), res, err)
		transcript.Write([]byte(desc))
		switch {
		case hc.want == "":
		case err != nil:
			t.Errorf("%s", desc)
		case hc.want == "ok" && res.IsError:
			t.Errorf("want a success: %s", desc)
		case hc.want == "error" && (!res.IsError || !strings.Contains(resultText(res), "What to do:")):
			t.Errorf("want an isError result with What to do: %s", desc)
		case hc.want == "arg" && (!res.IsError || !strings.Contains(resultText(res), "Invalid arguments")):
			t.Errorf("want an argument error: %s", desc)
		}
	}
	awaitSlowCall(t, slow)
	for i, code := range []int{first, second} {
		res, err := callTool(c, "search_certifications", map[string]any{"company": fmt.Sprintf("sandbox-status-%d", code)})
		desc := describeCall(fmt.Sprintf("quota %d", code), res, err)
		transcript.Write([]byte(desc))
		if err != nil || !res.IsError || !strings.Contains(resultText(res), "00:00 Beijing") {
			t.Errorf("quota call %d: want an isError result naming 00:00 Beijing: %s", i, desc)
		}
	}
	// Cached answers are still served during the quota cooldown.
	res, err := callTool(c, "search_certifications", map[string]any{"company": docCompany})
	transcript.Write([]byte(describeCall("cached search", res, err)))
	if err != nil || res.IsError {
		t.Errorf("a cached answer during the quota cooldown: %s", describeCall("", res, err))
	}
}

// echoTrigger makes the recording upstream answer like a proxy error page
// that repeats the whole request, key and Token included.
const echoTrigger = "hygiene-echo-request"

// recordingUpstream is the sandbox behind a handler that notes every Token
// and every searchKey or certId it receives.
type recordingUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	tokenSet map[string]bool
	keySet   map[string]bool
	count    int
}

func newRecordingUpstream(t *testing.T, appKey, secretKey string) *recordingUpstream {
	sb := sandbox.New(sandbox.Config{AppKey: appKey, SecretKey: secretKey})
	u := &recordingUpstream{tokenSet: map[string]bool{}, keySet: map[string]bool{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("searchKey") + r.URL.Query().Get("certId")
		u.mu.Lock()
		if tok := r.Header.Get("Token"); tok != "" {
			u.tokenSet[tok] = true
		}
		u.keySet[key] = true
		u.count++
		u.mu.Unlock()
		if key == echoTrigger {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html><body><h1>502 Bad Gateway</h1><p>upstream failed for %s</p><pre>Token: %s\nTimespan: %s\n%s</pre></body></html>",
				r.URL.String(), r.Header.Get("Token"), r.Header.Get("Timespan"), r.URL.RawQuery)
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) tokens() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.tokenSet))
	for tok := range u.tokenSet {
		out = append(out, tok)
	}
	sort.Strings(out)
	return out
}

func (u *recordingUpstream) requests() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count
}

func (u *recordingUpstream) keys() map[string]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]bool, len(u.keySet))
	for k := range u.keySet {
		out[k] = true
	}
	return out
}

// outputSet collects named outputs from parallel subtests.
type outputSet struct {
	mu  sync.Mutex
	out map[string]string
}

func (o *outputSet) add(name, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.out == nil {
		o.out = map[string]string{}
	}
	o.out[name] = text
}

func (o *outputSet) all() map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]string, len(o.out))
	for k, v := range o.out {
		out[k] = v
	}
	return out
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-80), min(len(s), i+80)
	return s[lo:hi]
}

// recordingTransport writes the status, headers and body of every
// response it carries to log, as the client reads it.
type recordingTransport struct{ log *syncBuffer }

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(rt.log, "\n%s %s → %s\n", r.Method, r.URL.Path, resp.Status)
	resp.Header.Write(rt.log)
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, rt.log), resp.Body}
	return resp, nil
}

// callTool calls a tool with a generous deadline; safe from any goroutine.
func callTool(c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

// resultText joins the text blocks of a result.
func resultText(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	for _, content := range res.Content {
		if tc, ok := content.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// describeCall renders a call's whole result (or error) for transcripts
// and failure messages.
func describeCall(what string, res *mcp.CallToolResult, err error) string {
	if err != nil {
		return fmt.Sprintf("%s: error: %v\n", what, err)
	}
	raw, _ := json.Marshal(res)
	return fmt.Sprintf("%s: %s\n", what, raw)
}

// newStreamableClient connects a streamable HTTP client and initializes it
// with the given protocol version.
func newStreamableClient(t *testing.T, url, version string, opts ...transport.StreamableHTTPCOption) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(version))
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	initialize(t, c, version)
	return c
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
	stdout, stderr *syncBuffer
	done           chan struct{} // closed once the process has exited
	waitErr        error         // valid after done
}

func startBinary(t *testing.T, cmd *exec.Cmd) *binaryProcess {
	t.Helper()
	p := &binaryProcess{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
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
	return &httpBinary{binaryProcess: p, addr: waitForAddr(t, p.stderr)}
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
	stdout := &syncBuffer{}
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
	initialize(t, c, "2025-06-18")
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
	keep *syncBuffer
	pw   *io.PipeWriter
}

func (w teeToPipe) Write(p []byte) (int, error) {
	w.keep.Write(p)
	w.pw.Write(p)
	return len(p), nil
}

// hexToken matches what looks like a signed QCC Token.
var hexToken = regexp.MustCompile(`\b[0-9A-F]{32}\b`)
