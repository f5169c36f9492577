// Command qcc-mcp is an MCP server that lets AI assistants ask Qichacha
// (企查查, QCC) which certifications a Chinese company holds and what a
// certificate says.
//
//	qcc-mcp --demo                                   # stdio, built-in sandbox, no keys
//	QCC_APP_KEY=… QCC_SECRET_KEY=… qcc-mcp           # stdio, real QCC API
//	qcc-mcp --transport http --addr 127.0.0.1:8080   # streamable HTTP at /mcp, SSE at /sse
//	qcc-mcp call --demo search_certifications company=企查查科技有限公司
//
// main owns flags, environment, logging and transports; the tools package
// holds the MCP tools and the qcc package the QCC client.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qcc-mcp/qcc-mcp/internal/version"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a failed run, or an isError tool result in call mode
	exitUsage   = 2 // bad flags, arguments or configuration
)

// config is everything the server needs, from flags and environment.
type config struct {
	transport       string
	addr            string
	demo            bool
	logLevel        slog.Level
	showVersion     bool
	baseURL         string
	timeout         time.Duration
	appKey          string
	secretKey       string
	sessionIdleTTL  time.Duration
	shutdownTimeout time.Duration

	// HTTP only.
	authTokenFile      string
	authToken          string // from the file or MCP_AUTH_TOKEN; never a flag
	allowedOrigins     []string
	maxBodyBytes       int64
	bodyReadTimeout    time.Duration
	maxSSEStreams      int
	maxConcurrentCalls int
	metricsAddr        string

	// Cost control (the guard).
	cacheTTL           time.Duration
	cacheMaxBytes      int64
	cacheFile          string
	rate               float64
	burst              int
	maxRetries         int
	credentialCooldown time.Duration
	maxCallsPerDay     int
	maxTextBytes       int
	// setFlags are the flags given on the command line; a variable only
	// fills in a flag that was not given.
	setFlags map[string]bool
}

// newFlagSet declares the flags shared by the server and the call
// subcommand. Secrets are never flags: they come from the environment.
func newFlagSet(name string, cfg *config, getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.transport, "transport", "stdio", "stdio, or http for streamable HTTP at /mcp and SSE at /sse (sse is accepted as the same)")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address for --transport http")
	fs.BoolVar(&cfg.demo, "demo", false, "answer from the built-in sandbox: no keys, no network, demo data")
	fs.TextVar(&cfg.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")
	fs.DurationVar(&cfg.sessionIdleTTL, "session-idle-ttl", 30*time.Minute, "forget streamable HTTP sessions idle this long")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight calls may finish after SIGTERM")
	fs.StringVar(&cfg.authTokenFile, "auth-token-file", "", "file holding the bearer token HTTP clients must send (or set MCP_AUTH_TOKEN)")
	fs.Func("allowed-origins", "comma-separated browser origins allowed to call over HTTP, e.g. https://app.example.com (default: none but loopback)", func(v string) error {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				u, err := url.Parse(o)
				if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
					return fmt.Errorf("%q is not an origin like https://app.example.com", o)
				}
				cfg.allowedOrigins = append(cfg.allowedOrigins, strings.TrimSuffix(o, "/"))
			}
		}
		return nil
	})
	fs.Int64Var(&cfg.maxBodyBytes, "max-body-bytes", 1<<20, "largest HTTP request body accepted")
	fs.DurationVar(&cfg.bodyReadTimeout, "body-read-timeout", 30*time.Second, "time a client has to send its request body")
	fs.IntVar(&cfg.maxSSEStreams, "max-sse-streams", 100, "cap on open SSE streams")
	fs.IntVar(&cfg.maxConcurrentCalls, "max-concurrent-calls", 64, "cap on tool calls running at once; a call over it waits up to 0.5s, then gets a retryable busy error (0: no cap)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "serve /metrics on this separate address without auth (default: /metrics on the main listener, behind auth)")
	fs.DurationVar(&cfg.cacheTTL, "cache-ttl", 24*time.Hour, "how long answers are served from the cache (QCC_CACHE_TTL; 0 disables the cache)")
	fs.Int64Var(&cfg.cacheMaxBytes, "cache-max-bytes", 64<<20, "cache size bound in bytes; least recently used answers go first")
	fs.StringVar(&cfg.cacheFile, "cache-file", "", "keep the cache, cooldowns and daily budget in this file across restarts (QCC_CACHE_FILE)")
	fs.Float64Var(&cfg.rate, "rate", 5, "QCC requests per second at most (0: no rate limit)")
	fs.IntVar(&cfg.burst, "burst", 5, "QCC requests that may start at once before --rate applies")
	fs.IntVar(&cfg.maxRetries, "max-retries", 2, "retries of a QCC request when a retry can help (network, timeout, garbled answer, 429 and 5xx within their Retry-After, QCC 205)")
	fs.DurationVar(&cfg.credentialCooldown, "credential-cooldown", time.Minute, "pause of all QCC calls after a credential or account error (0: no pause)")
	fs.IntVar(&cfg.maxCallsPerDay, "max-calls-per-day", 0, "cap on QCC requests per Beijing day, retries included (QCC_MAX_CALLS_PER_DAY; 0: no cap)")
	fs.IntVar(&cfg.maxTextBytes, "max-text-bytes", tools.DefaultMaxTextBytes, "bound on each result's text block; longer lists are cut with a note (structured content stays complete)")
	fs.StringVar(&cfg.baseURL, "base-url", "", "QCC API root (QCC_BASE_URL; default https://pro.qcc.com/api/yj)")
	fs.DurationVar(&cfg.timeout, "timeout", 15*time.Second, "timeout of each QCC request (QCC_TIMEOUT)")
	return fs
}

// parseFlags parses args and notes which flags were given.
func (cfg *config) parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.setFlags == nil {
		cfg.setFlags = map[string]bool{}
	}
	fs.Visit(func(f *flag.Flag) { cfg.setFlags[f.Name] = true })
	return nil
}

// loadEnv reads the environment-only settings and validates the whole.
func (cfg *config) loadEnv(getenv func(string) string) error {
	cfg.appKey = strings.TrimSpace(getenv("QCC_APP_KEY"))
	cfg.secretKey = strings.TrimSpace(getenv("QCC_SECRET_KEY"))
	if v := strings.TrimSpace(getenv("QCC_BASE_URL")); v != "" && !cfg.setFlags["base-url"] {
		cfg.baseURL = v
	}
	if v := strings.TrimSpace(getenv("QCC_TIMEOUT")); v != "" && !cfg.setFlags["timeout"] {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("QCC_TIMEOUT=%q: want a positive duration such as 15s or a number of seconds", v)
		}
		cfg.timeout = d
	}
	if cfg.timeout <= 0 {
		return fmt.Errorf("--timeout %s: want a positive duration", cfg.timeout)
	}
	switch cfg.transport {
	case "stdio", "http", "sse", "streamable-http":
	default:
		return fmt.Errorf("--transport %q: want stdio or http", cfg.transport)
	}
	if !cfg.demo && (cfg.appKey == "" || cfg.secretKey == "") {
		return errors.New("QCC_APP_KEY and QCC_SECRET_KEY must be set in the environment (or run with --demo for the built-in sandbox)")
	}
	if err := cfg.costFromEnv(getenv); err != nil {
		return err
	}
	if cfg.cacheTTL < 0 || cfg.cacheMaxBytes <= 0 || cfg.rate < 0 || cfg.burst < 1 || cfg.maxRetries < 0 || cfg.credentialCooldown < 0 || cfg.maxCallsPerDay < 0 || cfg.maxTextBytes < 1024 {
		return errors.New("--cache-ttl, --rate, --max-retries, --credential-cooldown and --max-calls-per-day must be 0 or more, --cache-max-bytes and --burst positive, --max-text-bytes at least 1024")
	}
	cfg.authToken = strings.TrimSpace(getenv("MCP_AUTH_TOKEN"))
	if cfg.authTokenFile != "" {
		raw, err := os.ReadFile(cfg.authTokenFile)
		if err != nil {
			return fmt.Errorf("--auth-token-file: %v", err)
		}
		if cfg.authToken = strings.TrimSpace(string(raw)); cfg.authToken == "" {
			return fmt.Errorf("--auth-token-file %s is empty", cfg.authTokenFile)
		}
	}
	if cfg.transport != "stdio" {
		if cfg.authToken == "" && !isLoopbackAddr(cfg.addr) {
			return fmt.Errorf("--addr %s accepts connections from other machines: set a bearer token with --auth-token-file or MCP_AUTH_TOKEN, or listen on 127.0.0.1", cfg.addr)
		}
		if cfg.maxBodyBytes <= 0 || cfg.bodyReadTimeout <= 0 || cfg.maxSSEStreams <= 0 || cfg.maxConcurrentCalls < 0 {
			return errors.New("--max-body-bytes, --body-read-timeout and --max-sse-streams must be positive, --max-concurrent-calls 0 or more")
		}
	}
	return nil
}

// costFromEnv fills the cost settings that have a variable and were not
// given as flags.
func (cfg *config) costFromEnv(getenv func(string) string) error {
	if v := strings.TrimSpace(getenv("QCC_CACHE_TTL")); v != "" && !cfg.setFlags["cache-ttl"] {
		d, err := parseDuration(v)
		if err != nil {
			return fmt.Errorf("QCC_CACHE_TTL=%q: want a duration such as 24h, or 0 to disable the cache", v)
		}
		cfg.cacheTTL = d
	}
	if v := strings.TrimSpace(getenv("QCC_CACHE_FILE")); v != "" && !cfg.setFlags["cache-file"] && !cfg.demo {
		cfg.cacheFile = v
	}
	if cfg.demo && cfg.cacheFile != "" {
		// Sandbox answers in a real cache file would later be served as
		// real QCC data.
		return errors.New("--cache-file cannot be used with --demo: demo answers would later be served as real QCC data")
	}
	if v := strings.TrimSpace(getenv("QCC_MAX_CALLS_PER_DAY")); v != "" && !cfg.setFlags["max-calls-per-day"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("QCC_MAX_CALLS_PER_DAY=%q: want a whole number, 0 for no cap", v)
		}
		cfg.maxCallsPerDay = n
	}
	return nil
}

// parseDuration accepts Go durations ("15s") and plain seconds ("15").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

func versionString() string { return version.String() }

// newLogger logs to stderr through tint; colour only on a terminal and
// never with NO_COLOR set.
func newLogger(w io.Writer, level slog.Level, getenv func(string) string) *slog.Logger {
	return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly,
		NoColor: !useColor(isTerminal(w), getenv)}))
}

// useColor decides colour: only on a terminal, and never with NO_COLOR set
// (tint checks neither itself).
func useColor(terminal bool, getenv func(string) string) bool {
	return terminal && getenv("NO_COLOR") == ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// app is the assembled server: the QCC client behind the cost guard, the
// MCP server on top, and metrics when served over HTTP.
type app struct {
	guard   *guard.Guard
	mcp     *server.MCPServer
	metrics *metrics // nil unless withMetrics
}

// newApp builds the QCC client (on the in-process sandbox in demo mode,
// else on the configured API), the guard in front of it and the MCP server.
func newApp(cfg *config, log *slog.Logger, withMetrics bool) (*app, error) {
	a := &app{}
	var rt http.RoundTripper
	appKey, secretKey := cfg.appKey, cfg.secretKey
	opts := []qcc.Option{qcc.WithTimeout(cfg.timeout)}
	if cfg.demo {
		rt = sandbox.New(sandbox.Config{}).Transport()
		appKey, secretKey = sandbox.DemoAppKey, sandbox.DemoSecretKey
	} else {
		rt = http.DefaultTransport.(*http.Transport).Clone()
		if cfg.baseURL != "" {
			opts = append(opts, qcc.WithBaseURL(cfg.baseURL))
		}
	}
	if withMetrics {
		a.metrics = newMetrics()
		rt = a.metrics.instrument(rt)
	}
	client, err := qcc.New(appKey, secretKey, append(opts, qcc.WithHTTPClient(&http.Client{Transport: rt}))...)
	if err != nil {
		return nil, err
	}
	a.guard, err = guard.New(client, cfg.guard(log))
	if err != nil {
		return nil, err
	}
	o := tools.Options{Version: versionString(), Demo: cfg.demo, Logger: log, MaxConcurrentCalls: cfg.maxConcurrentCalls,
		MaxTextBytes: cfg.maxTextBytes, Usage: a.guard.Usage}
	if a.metrics != nil {
		a.metrics.watch(a.guard)
		o.Observer = a.metrics
		o.ServerOptions = append(o.ServerOptions, server.WithHooks(a.metrics.sessionHooks()))
	}
	a.mcp = tools.NewServer(a.guard, o)
	return a, nil
}

// close logs what the process spent and closes the cache file.
func (a *app) close(log *slog.Logger) {
	log.Info("usage", "usage", a.guard.Usage())
	if err := a.guard.Close(); err != nil {
		log.Warn("closing the cache", tint.Err(err))
	}
}

// guard maps the cost-control settings onto the guard's configuration,
// where a zero means "default" and guard.Off means "off".
func (cfg *config) guard(log *slog.Logger) guard.Config {
	off := func(d time.Duration) time.Duration {
		if d == 0 {
			return guard.Off
		}
		return d
	}
	g := guard.Config{
		CacheTTL:           off(cfg.cacheTTL),
		CacheMaxBytes:      cfg.cacheMaxBytes,
		CacheFile:          cfg.cacheFile,
		Rate:               cfg.rate,
		Burst:              cfg.burst,
		MaxRetries:         cfg.maxRetries,
		CredentialCooldown: off(cfg.credentialCooldown),
		MaxCallsPerDay:     cfg.maxCallsPerDay,
		Logger:             log,
	}
	if g.Rate == 0 {
		g.Rate = guard.Off
	}
	if g.MaxRetries == 0 {
		g.MaxRetries = guard.Off
	}
	return g
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "call" {
		return runCall(ctx, args[1:], stdout, stderr, getenv)
	}
	var cfg config
	fs := newFlagSet("qcc-mcp", &cfg, getenv, stderr)
	if err := cfg.parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qcc-mcp: unexpected argument %q (subcommand: call)\n", fs.Arg(0))
		return exitUsage
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, "qcc-mcp", versionString())
		return exitOK
	}
	if err := cfg.loadEnv(getenv); err != nil {
		fmt.Fprintln(stderr, "qcc-mcp:", err)
		return exitUsage
	}
	log := newLogger(stderr, cfg.logLevel, getenv)
	a, err := newApp(&cfg, log, cfg.transport != "stdio")
	if err != nil {
		fmt.Fprintln(stderr, "qcc-mcp:", err)
		return exitUsage
	}
	defer a.close(log)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.transport == "stdio" {
		log.Info("serving MCP over stdio", "demo", cfg.demo, "version", versionString())
		err = serveStdio(ctx, a.mcp, stdin, stdout, log, cfg.shutdownTimeout)
	} else {
		err = serveHTTP(ctx, newHTTPFront(a, &cfg, log))
	}
	if err != nil {
		log.Error("server stopped", tint.Err(err))
		return exitFailure
	}
	log.Info("server stopped")
	return exitOK
}

// serveStdio serves JSON-RPC on stdin/stdout; logs go to stderr only.
func serveStdio(ctx context.Context, s *server.MCPServer, stdin io.Reader, stdout io.Writer, log *slog.Logger, drainTimeout time.Duration) error {
	ss := server.NewStdioServer(s)
	ss.SetErrorLogger(slog.NewLogLogger(log.Handler(), slog.LevelError))
	d := newStdioDrain(ctx, stdin, stdout, drainTimeout)
	err := ss.Listen(ctx, d, d.writer())
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// stdioDrain holds back the end of stdin until every request read has
// been answered. mcp-go's stdio server cancels the requests still running
// when its input ends, so a client that writes its requests and closes
// stdin (a script, a pipe) would otherwise lose the answers. The wait ends
// early on the shutdown timeout or a signal.
type stdioDrain struct {
	ctx     context.Context
	in      io.Reader
	out     io.Writer
	timeout time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever pending changes
	pending map[string]bool
	inLine  []byte // partial lines, in and out
	outLine []byte
}

func newStdioDrain(ctx context.Context, in io.Reader, out io.Writer, timeout time.Duration) *stdioDrain {
	return &stdioDrain{ctx: ctx, in: in, out: out, timeout: timeout, changed: make(chan struct{}), pending: map[string]bool{}}
}

// Read passes stdin on, noting the ids of requests; at end of input it
// waits for their answers before reporting it.
func (d *stdioDrain) Read(p []byte) (int, error) {
	n, err := d.in.Read(p)
	d.scan(&d.inLine, p[:n], true)
	if err == io.EOF {
		d.wait()
	}
	return n, err
}

func (d *stdioDrain) wait() {
	deadline := time.NewTimer(d.timeout)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		left, changed := len(d.pending), d.changed
		d.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		case <-d.ctx.Done():
			return
		}
	}
}

type stdioWriter struct{ d *stdioDrain }

func (w stdioWriter) Write(p []byte) (int, error) {
	n, err := w.d.out.Write(p)
	w.d.scan(&w.d.outLine, p[:n], false)
	return n, err
}

func (d *stdioDrain) writer() io.Writer { return stdioWriter{d} }

// rpcHeader is what the drain reads of a JSON-RPC message.
type rpcHeader struct {
	Method string          `json:"method"`
	ID     json.RawMessage `json:"id"`
}

// scan reads whole JSON-RPC lines: requests in (a method and an id) add
// their id, responses out (an id and no method) remove it. A whole line in
// one write, the usual case, is read in place, without a copy.
func (d *stdioDrain) scan(partial *[]byte, b []byte, in bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			*partial = append(*partial, b...)
			return
		}
		line := b[:i]
		if len(*partial) > 0 {
			line = append(*partial, line...)
			*partial = (*partial)[:0]
		}
		for _, m := range rpcHeaders(line) {
			if len(m.ID) == 0 || string(m.ID) == "null" {
				continue
			}
			switch {
			case in && m.Method != "":
				d.pending[string(m.ID)] = true
			case !in && m.Method == "":
				delete(d.pending, string(m.ID))
			default:
				continue
			}
			close(d.changed)
			d.changed = make(chan struct{})
		}
		b = b[i+1:]
	}
}

// rpcHeaders reads the method and id of the message(s) on one line. For a
// response it stops at the result: answers can be large, and writing them
// is the hot path of a stdio server.
func rpcHeaders(line []byte) []rpcHeader {
	t := bytes.TrimSpace(line)
	if len(t) == 0 {
		return nil
	}
	if t[0] == '[' {
		var batch []rpcHeader
		_ = json.Unmarshal(t, &batch)
		return batch
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var h rpcHeader
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		switch key {
		case "id":
			err = dec.Decode(&h.ID)
		case "method":
			err = dec.Decode(&h.Method)
		case "result", "error":
			if h.ID != nil {
				return []rpcHeader{h} // a response whose id came first, as encoders write it
			}
			fallthrough
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil
		}
	}
	return []rpcHeader{h}
}

// httpFront is the HTTP face of the server: the MCP transports behind
// origin checks, bearer auth and limits, an access log, health endpoints
// and metrics.
type httpFront struct {
	cfg        *config
	log        *slog.Logger
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
	metrics    http.Handler // nil without metrics
	sseStreams atomic.Int64
	stopping   atomic.Bool
}

func newHTTPFront(a *app, cfg *config, log *slog.Logger) *httpFront {
	f := &httpFront{
		cfg: cfg, log: log,
		streamable: server.NewStreamableHTTPServer(a.mcp, server.WithSessionIdleTTL(cfg.sessionIdleTTL)),
		sse:        server.NewSSEServer(a.mcp, server.WithSSEEndpoint("/sse"), server.WithMessageEndpoint("/message")),
	}
	if a.metrics != nil {
		a.metrics.sseStreams = &f.sseStreams
		f.metrics = a.metrics.handler()
	}
	return f
}

// handler mounts streamable HTTP at /mcp, the legacy SSE transport at /sse
// and /message, /healthz and /readyz (open to all) and /metrics (behind
// auth, unless served on its own listener).
func (f *httpFront) handler() http.Handler {
	protected := http.NewServeMux()
	protected.Handle("/mcp", f.streamable)
	protected.Handle("/sse", f.limitSSEStreams(f.sse.SSEHandler()))
	protected.Handle("/message", f.sse.MessageHandler())
	if f.metrics != nil && f.cfg.metricsAddr == "" {
		protected.Handle("GET /metrics", f.metrics)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { plain(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		// Ready means configured and not shutting down; it never calls QCC,
		// which would bill every probe.
		if f.stopping.Load() {
			plain(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		plain(w, http.StatusOK, "ready")
	})
	mux.Handle("/", f.checkOrigin(f.authenticate(f.readBody(protected))))
	return f.accessLog(mux)
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// requestInfo collects what the access log reports of a request.
type requestInfo struct {
	tool    string
	session string
	// trusted is set once the request passed authentication: only then is
	// a client-supplied session id worth logging (and known not to be a
	// token pasted into the wrong place).
	trusted bool
}

type requestInfoKey struct{}

// accessLog logs one line per request: method, path, status, duration,
// session and tool. Never a header value, so never a token.
func (f *httpFront) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{session: r.Header.Get("Mcp-Session-Id")}
		if info.session == "" {
			info.session = r.URL.Query().Get("sessionId")
		}
		rw := &responseWriter{ResponseWriter: w, status: http.StatusOK, allowOrigin: f.allowedOrigin(r)}
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
		if !info.trusted {
			info.session = ""
		}
		if info.session == "" {
			info.session = rw.Header().Get("Mcp-Session-Id") // chosen by the server
		}
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", time.Since(start)}
		if info.session != "" {
			attrs = append(attrs, "session", info.session)
		}
		if info.tool != "" {
			attrs = append(attrs, "tool", info.tool)
		}
		f.log.Info("http request", attrs...)
	})
}

// responseWriter records the status and owns the CORS headers: the SSE
// handler of mcp-go sets "Access-Control-Allow-Origin: *" on its own, which
// must not reach browsers unless origins were configured.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wrote       bool
	allowOrigin string
}

func (w *responseWriter) fixHeaders() {
	if w.wrote {
		return
	}
	w.wrote = true
	h := w.ResponseWriter.Header()
	h.Del("Access-Control-Allow-Origin")
	if w.allowOrigin != "" {
		h.Set("Access-Control-Allow-Origin", w.allowOrigin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, Mcp-Protocol-Version")
	}
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
	}
	w.fixHeaders()
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.fixHeaders()
	return w.ResponseWriter.Write(p)
}

// Flush keeps SSE streaming through the wrapper.
func (w *responseWriter) Flush() {
	w.fixHeaders()
	if fl, ok := w.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// allowedOrigin returns the value for Access-Control-Allow-Origin: the
// request's Origin when origins are configured and it is one of them.
func (f *httpFront) allowedOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" || len(f.cfg.allowedOrigins) == 0 {
		return ""
	}
	if slices.Contains(f.cfg.allowedOrigins, origin) {
		return origin
	}
	return ""
}

// checkOrigin refuses requests from origins that are not allowed, against
// DNS rebinding and cross-site use from browsers. Without
// --allowed-origins only requests without Origin or from a loopback origin
// pass; with it, exactly the listed origins.
func (f *httpFront) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		ok := origin == ""
		if !ok && len(f.cfg.allowedOrigins) > 0 {
			ok = slices.Contains(f.cfg.allowedOrigins, origin)
		} else if !ok {
			ok = isLoopbackOrigin(origin)
		}
		if !ok {
			plain(w, http.StatusForbidden, "origin not allowed")
			return
		}
		if r.Method == http.MethodOptions && origin != "" && len(f.cfg.allowedOrigins) > 0 {
			// A CORS preflight carries no credentials: answer it here.
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

// isLoopbackHost reports whether host names this machine only.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentialParams are query parameters that look like credentials. They
// are refused outright: a URL ends up in proxy logs and browser history.
var credentialParams = []string{"access_token", "token", "auth", "authorization", "api_key", "apikey", "key", "secret", "bearer"}

// authenticate requires "Authorization: Bearer <token>" when a token is
// configured, comparing in constant time.
func (f *httpFront) authenticate(next http.Handler) http.Handler {
	var want [sha256.Size]byte
	if f.cfg.authToken != "" {
		want = sha256.Sum256([]byte(f.cfg.authToken))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for _, p := range credentialParams {
			if q.Has(p) {
				plain(w, http.StatusBadRequest, "credentials are not accepted in URLs: send Authorization: Bearer <token>")
				return
			}
		}
		info, _ := r.Context().Value(requestInfoKey{}).(*requestInfo)
		if f.cfg.authToken == "" {
			if info != nil {
				info.trusted = true
			}
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		// Hashing first makes the comparison constant-time whatever the
		// length of what the client sent.
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="qcc-mcp"`)
			plain(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		if info != nil {
			info.trusted = true
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads a request body within the size limit and a read deadline
// (against slow clients), then hands it on; an oversized body gets 413 and
// the server carries on. It also notes the tool of a tools/call for the
// access log.
func (f *httpFront) readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodDelete || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(f.cfg.bodyReadTimeout))
		body, err := io.ReadAll(io.LimitReader(r.Body, f.cfg.maxBodyBytes+1))
		if err != nil {
			// The deadline stays in the past: net/http would otherwise
			// wait for the rest of the body before answering.
			w.Header().Set("Connection", "close")
			plain(w, http.StatusRequestTimeout, "could not read the request body in time")
			return
		}
		_ = rc.SetReadDeadline(time.Time{})
		switch {
		case int64(len(body)) > f.cfg.maxBodyBytes:
			w.Header().Set("Connection", "close")
			plain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over the limit of %d bytes", f.cfg.maxBodyBytes))
			return
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			var msg struct {
				Method string `json:"method"`
				Params struct {
					Name string `json:"name"`
				} `json:"params"`
			}
			if json.Unmarshal(body, &msg) == nil && msg.Method == "tools/call" {
				info.tool = msg.Params.Name
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// limitSSEStreams caps open SSE streams; each holds a goroutine and a
// connection until the client leaves.
func (f *httpFront) limitSSEStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if f.sseStreams.Add(1) > int64(f.cfg.maxSSEStreams) {
				f.sseStreams.Add(-1)
				w.Header().Set("Retry-After", "5")
				plain(w, http.StatusServiceUnavailable, fmt.Sprintf("too many open SSE streams (limit %d); retry later or use streamable HTTP at /mcp", f.cfg.maxSSEStreams))
				return
			}
			defer f.sseStreams.Add(-1)
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackAddr reports whether a listen address only accepts local
// connections.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

func serveHTTP(ctx context.Context, f *httpFront) error {
	cfg, log := f.cfg, f.log
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           f.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	if cfg.metricsAddr != "" && f.metrics != nil {
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			ln.Close()
			return err
		}
		msrv := &http.Server{Handler: f.metrics, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, msrv)
		log.Info("serving metrics", "metrics_addr", mln.Addr().String())
		go func() { errc <- msrv.Serve(mln) }()
	}
	log.Info("serving MCP over HTTP", "addr", ln.Addr().String(), "streamable", "/mcp", "sse", "/sse",
		"auth", cfg.authToken != "", "demo", cfg.demo)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	f.stopping.Store(true)
	log.Info("shutting down", "timeout", cfg.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	// SSE streams never end by themselves: close them first, or Shutdown
	// waits for its whole deadline. Calls in flight on /mcp finish.
	f.sse.CloseSessions()
	if err := f.streamable.Shutdown(sctx); err != nil {
		log.Warn("closing streamable HTTP sessions", tint.Err(err))
	}
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			log.Warn("in-flight requests did not finish in time; closing them", tint.Err(err))
			s.Close()
		}
	}
	return nil
}

const callUsage = `usage: qcc-mcp call [--demo] [--json] <tool> [name=value ...]
       qcc-mcp call [--demo] [--json] <tool> '{"name": value, ...}'
Runs one tool through the same server and prints its text (--json: the whole result).
Each value is typed by the tool's input schema: page=2 is an integer, exact=false a boolean.
Exit status: 0 success, 1 the tool reported an error, 2 usage error.
Tools: search_certifications, get_certification_detail.`

// runCall runs one tool through the same MCP server and handlers as the
// server, over an in-process client, and prints the result.
func runCall(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var cfg config
	fs := newFlagSet("qcc-mcp call", &cfg, getenv, stderr)
	asJSON := fs.Bool("json", false, "print the whole CallToolResult as JSON")
	fs.Usage = func() { fmt.Fprintln(stderr, callUsage); fs.PrintDefaults() }
	// Flags may come before or after the tool and its arguments.
	var positional []string
	for rest := args; ; {
		if err := cfg.parseFlags(fs, rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(positional) == 0 {
		fmt.Fprintln(stderr, callUsage)
		return exitUsage
	}
	if err := cfg.loadEnv(getenv); err != nil {
		fmt.Fprintln(stderr, "qcc-mcp:", err)
		return exitUsage
	}
	log := newLogger(stderr, cfg.logLevel, getenv)
	name := positional[0]
	var tool *tools.Tool
	for _, t := range tools.Tools(nil, tools.Options{}) {
		if t.Tool.Name == name {
			tool = &t
			break
		}
	}
	if tool == nil {
		fmt.Fprintf(stderr, "qcc-mcp call: unknown tool %q\n%s\n", name, callUsage)
		return exitUsage
	}
	arguments, err := parseCallArguments(positional[1:], tool.ArgumentTypes())
	if err != nil {
		fmt.Fprintf(stderr, "qcc-mcp call: %v\n", err)
		return exitUsage
	}

	a, err := newApp(&cfg, log, false)
	if err != nil {
		fmt.Fprintln(stderr, "qcc-mcp:", err)
		return exitUsage
	}
	defer a.close(log)
	c, err := client.NewInProcessClient(a.mcp)
	if err != nil {
		fmt.Fprintln(stderr, "qcc-mcp call:", err)
		return exitFailure
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		fmt.Fprintln(stderr, "qcc-mcp call:", err)
		return exitFailure
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "qcc-mcp call", Version: versionString()}
	if _, err := c.Initialize(ctx, init); err != nil {
		fmt.Fprintln(stderr, "qcc-mcp call:", err)
		return exitFailure
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = arguments
	res, err := c.CallTool(ctx, req)
	if err != nil {
		fmt.Fprintln(stderr, "qcc-mcp call:", err)
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, "qcc-mcp call:", err)
			return exitFailure
		}
	} else {
		for _, content := range res.Content {
			if tc, ok := content.(mcp.TextContent); ok {
				fmt.Fprintln(stdout, strings.TrimRight(tc.Text, "\n"))
			}
		}
	}
	if res.IsError {
		return exitFailure
	}
	return exitOK
}

// parseCallArguments builds tool arguments from name=value words, typing
// each value by the tool's input schema, or from one JSON object.
func parseCallArguments(words []string, types map[string]string) (map[string]any, error) {
	args := map[string]any{}
	if len(words) == 1 && strings.HasPrefix(strings.TrimSpace(words[0]), "{") {
		if err := json.Unmarshal([]byte(words[0]), &args); err != nil {
			return nil, fmt.Errorf("arguments are not a JSON object: %v", err)
		}
		return args, nil
	}
	known := make([]string, 0, len(types))
	for k := range types {
		known = append(known, k)
	}
	sort.Strings(known)
	for _, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("argument %q: want name=value", w)
		}
		typ, found := types[name]
		if !found {
			return nil, fmt.Errorf("unknown argument %q; this tool takes %s", name, strings.Join(known, ", "))
		}
		switch typ {
		case "integer":
			n, err := strconv.Atoi(value)
			if err != nil {
				return nil, fmt.Errorf("argument %s=%q: want an integer", name, value)
			}
			args[name] = n
		case "number":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return nil, fmt.Errorf("argument %s=%q: want a number", name, value)
			}
			args[name] = f
		case "boolean":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("argument %s=%q: want true or false", name, value)
			}
			args[name] = b
		default:
			args[name] = value
		}
	}
	return args, nil
}

// metrics exposes what an operator watches, in Prometheus format: tool
// calls by outcome, calls in flight, sessions and SSE streams, QCC requests
// by status and latency, and what the guard saved.
type metrics struct {
	registry   *prometheus.Registry
	toolCalls  *prometheus.CounterVec
	inFlight   prometheus.Gauge
	sessions   prometheus.Gauge
	latency    prometheus.Histogram
	sseStreams *atomic.Int64 // owned by the HTTP front
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qcc_mcp_tool_calls_total", Help: "Tool calls by tool and outcome (ok, no_result, or an error kind).",
		}, []string{"tool", "outcome"}),
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
	m.registry.MustRegister(m.toolCalls, m.inFlight, m.sessions, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qcc_mcp_sse_streams_open", Help: "Open SSE streams."},
			func() float64 {
				if m.sseStreams == nil {
					return 0
				}
				return float64(m.sseStreams.Load())
			}))
	return m
}

// CallStarted implements tools.Observer.
func (m *metrics) CallStarted(string) { m.inFlight.Inc() }

// CallFinished implements tools.Observer.
func (m *metrics) CallFinished(tool, outcome string, _ int, _ time.Duration) {
	m.inFlight.Dec()
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
}

func (m *metrics) sessionHooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRegisterSession(func(context.Context, server.ClientSession) { m.sessions.Inc() })
	h.AddOnUnregisterSession(func(context.Context, server.ClientSession) { m.sessions.Dec() })
	return h
}

// instrument times every request to QCC.
func (m *metrics) instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		m.latency.Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// watch exports the guard's counters, read at each scrape.
func (m *metrics) watch(g *guard.Guard) { m.registry.MustRegister(usageCollector{g}) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// usageCollector turns guard.Usage into Prometheus metrics.
type usageCollector struct{ g *guard.Guard }

var (
	upstreamDesc  = prometheus.NewDesc("qcc_mcp_upstream_calls_total", "Requests sent to QCC, by QCC status code or transport failure.", []string{"status"}, nil)
	cacheDesc     = prometheus.NewDesc("qcc_mcp_cache_total", "Tool answers by cache outcome: hit (no QCC call), miss, coalesced (shared another call's QCC request).", []string{"result"}, nil)
	refusedDesc   = prometheus.NewDesc("qcc_mcp_local_refusals_total", "Calls refused without calling QCC (cooldown, budget, rate limit).", nil, nil)
	budgetDesc    = prometheus.NewDesc("qcc_mcp_budget_used_today", "QCC requests sent today (Beijing day), counted against --max-calls-per-day.", nil, nil)
	budgetCapDesc = prometheus.NewDesc("qcc_mcp_budget_limit", "--max-calls-per-day (0: no cap).", nil, nil)
)

func (usageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upstreamDesc, cacheDesc, refusedDesc, budgetDesc, budgetCapDesc} {
		ch <- d
	}
}

func (c usageCollector) Collect(ch chan<- prometheus.Metric) {
	u := c.g.Usage()
	for status, n := range u.UpstreamCalls {
		ch <- prometheus.MustNewConstMetric(upstreamDesc, prometheus.CounterValue, float64(n), status)
	}
	ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(u.CacheHits), "hit")
	ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(u.CacheMisses), "miss")
	ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(u.Coalesced), "coalesced")
	ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(u.LocalRefusals))
	ch <- prometheus.MustNewConstMetric(budgetDesc, prometheus.GaugeValue, float64(u.BudgetUsedToday))
	ch <- prometheus.MustNewConstMetric(budgetCapDesc, prometheus.GaugeValue, float64(u.BudgetLimit))
}
