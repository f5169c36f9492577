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
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

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
	cfg.baseURL = getenv("QCC_BASE_URL")
	return fs
}

// loadEnv reads the environment-only settings and validates the whole.
func (cfg *config) loadEnv(getenv func(string) string) error {
	cfg.appKey = strings.TrimSpace(getenv("QCC_APP_KEY"))
	cfg.secretKey = strings.TrimSpace(getenv("QCC_SECRET_KEY"))
	cfg.timeout = 15 * time.Second
	if v := strings.TrimSpace(getenv("QCC_TIMEOUT")); v != "" {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("QCC_TIMEOUT=%q: want a positive duration such as 15s or a number of seconds", v)
		}
		cfg.timeout = d
	}
	switch cfg.transport {
	case "stdio", "http", "sse", "streamable-http":
	default:
		return fmt.Errorf("--transport %q: want stdio or http", cfg.transport)
	}
	if !cfg.demo && (cfg.appKey == "" || cfg.secretKey == "") {
		return errors.New("QCC_APP_KEY and QCC_SECRET_KEY must be set in the environment (or run with --demo for the built-in sandbox)")
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

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// newLogger logs to stderr through tint; colour only on a terminal and
// never with NO_COLOR set.
func newLogger(w io.Writer, level slog.Level, getenv func(string) string) *slog.Logger {
	noColor := getenv("NO_COLOR") != "" || !isTerminal(w)
	return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly, NoColor: noColor}))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newBackend builds the QCC client: on the in-process sandbox in demo
// mode, else on the configured API.
func newBackend(cfg *config) (tools.Backend, error) {
	if cfg.demo {
		sb := sandbox.New(sandbox.Config{})
		return qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey,
			qcc.WithHTTPClient(&http.Client{Transport: sb.Transport()}),
			qcc.WithTimeout(cfg.timeout))
	}
	opts := []qcc.Option{qcc.WithTimeout(cfg.timeout)}
	if cfg.baseURL != "" {
		opts = append(opts, qcc.WithBaseURL(cfg.baseURL))
	}
	return qcc.New(cfg.appKey, cfg.secretKey, opts...)
}

func toolOptions(cfg *config, log *slog.Logger) tools.Options {
	return tools.Options{Version: versionString(), Demo: cfg.demo, Logger: log}
}

// newMCPServer builds the MCP server the transports and the call
// subcommand share.
func newMCPServer(cfg *config, b tools.Backend, log *slog.Logger) *server.MCPServer {
	return tools.NewServer(b, toolOptions(cfg, log))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "call" {
		return runCall(ctx, args[1:], stdout, stderr, getenv)
	}
	var cfg config
	fs := newFlagSet("qcc-mcp", &cfg, getenv, stderr)
	if err := fs.Parse(args); err != nil {
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
	backend, err := newBackend(&cfg)
	if err != nil {
		fmt.Fprintln(stderr, "qcc-mcp:", err)
		return exitUsage
	}
	s := newMCPServer(&cfg, backend, log)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.transport == "stdio" {
		log.Info("serving MCP over stdio", "demo", cfg.demo, "version", versionString())
		err = serveStdio(ctx, s, stdin, stdout, log)
	} else {
		err = serveHTTP(ctx, s, &cfg, log)
	}
	if err != nil {
		log.Error("server stopped", tint.Err(err))
		return exitFailure
	}
	log.Info("server stopped")
	return exitOK
}

// serveStdio serves JSON-RPC on stdin/stdout; logs go to stderr only.
func serveStdio(ctx context.Context, s *server.MCPServer, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	ss := server.NewStdioServer(s)
	ss.SetErrorLogger(slog.NewLogLogger(log.Handler(), slog.LevelError))
	err := ss.Listen(ctx, stdin, stdout)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// newHTTPHandler mounts streamable HTTP at /mcp and the legacy SSE
// transport at /sse and /message on one mux.
func newHTTPHandler(s *server.MCPServer, cfg *config) (http.Handler, *server.StreamableHTTPServer, *server.SSEServer) {
	streamable := server.NewStreamableHTTPServer(s, server.WithSessionIdleTTL(cfg.sessionIdleTTL))
	sse := server.NewSSEServer(s, server.WithSSEEndpoint("/sse"), server.WithMessageEndpoint("/message"))
	mux := http.NewServeMux()
	mux.Handle("/mcp", streamable)
	mux.Handle("/sse", sse.SSEHandler())
	mux.Handle("/message", sse.MessageHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return mux, streamable, sse
}

func serveHTTP(ctx context.Context, s *server.MCPServer, cfg *config, log *slog.Logger) error {
	handler, streamable, sse := newHTTPHandler(s, cfg)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving MCP over HTTP", "addr", ln.Addr().String(), "streamable", "/mcp", "sse", "/sse", "demo", cfg.demo)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	// SSE streams never end by themselves: close them first, or Shutdown
	// waits for its whole deadline.
	sse.CloseSessions()
	if err := streamable.Shutdown(sctx); err != nil {
		log.Warn("closing streamable HTTP sessions", tint.Err(err))
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
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
		if err := fs.Parse(rest); err != nil {
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
	backend, err := newBackend(&cfg)
	if err != nil {
		fmt.Fprintln(stderr, "qcc-mcp:", err)
		return exitUsage
	}
	opts := toolOptions(&cfg, log)
	name := positional[0]
	var tool *tools.Tool
	for _, t := range tools.Tools(backend, opts) {
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

	c, err := client.NewInProcessClient(tools.NewServer(backend, opts))
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
