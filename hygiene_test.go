package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
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
		transcript := &testkit.SyncBuffer{}
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
		responses := &testkit.SyncBuffer{}
		hc := &http.Client{Transport: recordingTransport{responses}}
		auth := map[string]string{"Authorization": "Bearer " + canaryBearer}

		c := testkit.StreamableClient(t, "http://"+s.addr+"/mcp", "2025-06-18",
			transport.WithHTTPHeaders(auth), transport.WithHTTPBasicClient(hc))
		transcript := &testkit.SyncBuffer{}
		runHygieneCalls(t, c, transcript, 116, 109)

		// The legacy SSE transport answers on its stream: a success, a QCC
		// failure and a credential failure.
		sc := testkit.OpenSSEClient(t, "http://"+s.addr, auth, transport.WithHTTPClient(hc))
		for _, company := range []string{docCompany, "sandbox-status-107", "sandbox-http-502"} {
			res, err := testkit.CallTool(sc, "search_certifications", map[string]any{"company": company})
			transcript.Write([]byte(testkit.DescribeCall("sse search "+company, res, err)))
		}

		// Raw requests: refused, open and unknown endpoints.
		for _, rq := range []struct {
			method, path string
			header       map[string]string
			want         int
		}{
			{"POST", "/mcp", testkit.MCPHeaders(nil), http.StatusUnauthorized},
			{"POST", "/mcp", testkit.MCPHeaders(map[string]string{"Authorization": "Bearer wrong-" + canaryBearer}), http.StatusUnauthorized},
			{"POST", "/mcp", testkit.MCPHeaders(map[string]string{"Authorization": "Basic " + canaryBearer}), http.StatusUnauthorized},
			{"POST", "/mcp?access_token=" + canaryBearer, testkit.MCPHeaders(nil), http.StatusBadRequest},
			{"POST", "/mcp?key=" + canarySecret, testkit.MCPHeaders(auth), http.StatusBadRequest},
			{"POST", "/mcp", testkit.MCPHeaders(map[string]string{"Authorization": "Bearer " + canaryBearer, "Origin": "https://evil.example"}), http.StatusForbidden},
			{"GET", "/sse", nil, http.StatusUnauthorized},
			{"POST", "/message?sessionId=no-such-session", testkit.MCPHeaders(nil), http.StatusUnauthorized},
			{"GET", "/metrics", nil, http.StatusUnauthorized},
			{"GET", "/metrics", auth, http.StatusOK},
			{"GET", "/healthz", nil, http.StatusOK},
			{"GET", "/readyz", nil, http.StatusOK},
			{"GET", "/no-such-page", auth, http.StatusNotFound},
		} {
			req, err := http.NewRequest(rq.method, "http://"+s.addr+rq.path, strings.NewReader(testkit.InitializeBody))
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
		transcript := &testkit.SyncBuffer{}
		for i, company := range []string{docCompany, "苏州云帆智能制造股份有限公司"} {
			res, err := testkit.CallTool(p.client, "search_certifications", map[string]any{"company": company})
			transcript.Write([]byte(testkit.DescribeCall("search "+company, res, err)))
			if err != nil || !res.IsError || !strings.Contains(testkit.ResultText(res), "107") {
				t.Errorf("call %d with a wrong secret: want an isError result naming status 107, got %s", i, testkit.DescribeCall("", res, err))
			}
		}
		res, err := testkit.CallTool(p.client, "get_certification_detail", map[string]any{"cert_id": "145695151793ad28f7ffd5d8a24cd6191"})
		transcript.Write([]byte(testkit.DescribeCall("detail", res, err)))
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
func runHygieneCalls(t *testing.T, c *client.Client, transcript *testkit.SyncBuffer, first, second int) {
	t.Helper()
	// The slow answer runs alongside the others: with QCC_TIMEOUT=1s and
	// two retries it takes a few seconds.
	slow := make(chan string, 1)
	go func() {
		res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": "sandbox-slow-3s"})
		if err == nil && (!res.IsError || !strings.Contains(testkit.ResultText(res), "timeout") || !strings.Contains(testkit.ResultText(res), "What to do:")) {
			err = fmt.Errorf("want an isError timeout result with What to do:, got %s", testkit.ResultText(res))
		}
		transcript.Write([]byte(testkit.DescribeCall("slow search", res, err)))
		if err != nil {
			slow <- err.Error()
			return
		}
		slow <- ""
	}()
	for _, hc := range hygieneCalls() {
		res, err := testkit.CallTool(c, hc.tool, hc.args)
		desc := testkit.DescribeCall(fmt.Sprintf("%s %v", hc.tool, hc.args), res, err)
		transcript.Write([]byte(desc))
		switch {
		case hc.want == "":
		case err != nil:
			t.Errorf("%s", desc)
		case hc.want == "ok" && res.IsError:
			t.Errorf("want a success: %s", desc)
		case hc.want == "error" && (!res.IsError || !strings.Contains(testkit.ResultText(res), "What to do:")):
			t.Errorf("want an isError result with What to do: %s", desc)
		case hc.want == "arg" && (!res.IsError || !strings.Contains(testkit.ResultText(res), "Invalid arguments")):
			t.Errorf("want an argument error: %s", desc)
		}
	}
	testkit.AwaitSlowCall(t, slow)
	for i, code := range []int{first, second} {
		res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": fmt.Sprintf("sandbox-status-%d", code)})
		desc := testkit.DescribeCall(fmt.Sprintf("quota %d", code), res, err)
		transcript.Write([]byte(desc))
		if err != nil || !res.IsError || !strings.Contains(testkit.ResultText(res), "00:00 Beijing") {
			t.Errorf("quota call %d: want an isError result naming 00:00 Beijing: %s", i, desc)
		}
	}
	// Cached answers are still served during the quota cooldown.
	res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": docCompany})
	transcript.Write([]byte(testkit.DescribeCall("cached search", res, err)))
	if err != nil || res.IsError {
		t.Errorf("a cached answer during the quota cooldown: %s", testkit.DescribeCall("", res, err))
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
	return maps.Clone(o.out)
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-80), min(len(s), i+80)
	return s[lo:hi]
}

// recordingTransport writes the status, headers and body of every
// response it carries to log, as the client reads it.
type recordingTransport struct{ log *testkit.SyncBuffer }

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

// hexToken matches what looks like a signed QCC Token.
var hexToken = regexp.MustCompile(`\b[0-9A-F]{32}\b`)
