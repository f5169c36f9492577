// Command qcc-mcp is an MCP server that lets AI assistants ask Qichacha
// (企查查, QCC) which certifications a Chinese company holds and what a
// certificate says.
//
//	qcc-mcp --demo                                   # stdio, built-in sandbox, no keys
//	QCC_APP_KEY=… QCC_SECRET_KEY=… qcc-mcp           # stdio, real QCC API
//	qcc-mcp --transport http --addr 127.0.0.1:8080   # streamable HTTP at /mcp, SSE at /sse
//	qcc-mcp call --demo search_certifications company=企查查科技有限公司
//
// main only wires: it reads the configuration (internal/config), builds the
// server (internal/app) and runs it over stdio
// (internal/stdio), HTTP (internal/httpfront) or one call
// (internal/callcmd), mapping the outcome to an exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lmittmann/tint"

	"github.com/qcc-mcp/qcc-mcp/internal/app"
	"github.com/qcc-mcp/qcc-mcp/internal/callcmd"
	"github.com/qcc-mcp/qcc-mcp/internal/config"
	"github.com/qcc-mcp/qcc-mcp/internal/httpfront"
	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/metrics"
	"github.com/qcc-mcp/qcc-mcp/internal/stdio"
	"github.com/qcc-mcp/qcc-mcp/internal/version"
)

// Exit statuses: 2 only for what the user typed or configured wrong.
const (
	exitOK      = 0
	exitFailure = 1 // a failed run (a cache file in use, a port taken), or an isError result of call
	exitUsage   = 2 // bad flags, arguments or configuration
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "call" {
		cfg, cmd, err := callcmd.Parse(args[1:], stderr)
		if err != nil {
			return usageExit(err)
		}
		if err := cfg.Load(getenv); err != nil {
			fmt.Fprintln(stderr, "qcc-mcp:", err)
			return exitUsage
		}
		log := logging.New(stderr, cfg.LogLevel, getenv)
		defer logging.Flush(log) // after a.Close's lines
		a, err := app.New(cfg, versionString(), log, nil)
		if err != nil {
			logging.Flush(log)
			return buildExit(stderr, err)
		}
		defer a.Close(log)
		isError, err := callcmd.Run(ctx, a.MCP, cmd, versionString(), stdout)
		if err != nil {
			logging.Flush(log)
			fmt.Fprintln(stderr, "qcc-mcp call:", err)
		}
		if err != nil || isError {
			return exitFailure
		}
		return exitOK
	}

	cfg, fs := config.NewServer(stderr)
	if err := cfg.Parse(fs, args); err != nil {
		return usageExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qcc-mcp: unexpected argument %q (subcommand: call; see qcc-mcp --help)\n", fs.Arg(0))
		return exitUsage
	}
	if cfg.ShowVersion {
		fmt.Fprintln(stdout, "qcc-mcp", versionString())
		return exitOK
	}
	if err := cfg.Load(getenv); err != nil {
		fmt.Fprintln(stderr, "qcc-mcp:", err)
		return exitUsage
	}
	// A server must outlive the reader of its stderr (a client that
	// closed its end, as mcp-go's does after its last answer; a log pipe
	// whose other end exited) and of its stdout: by default Go dies of
	// SIGPIPE at the next line written there. Ignored, such writes fail
	// with EPIPE: log lines are dropped, and over stdio a failed answer
	// ends the session as end of input does (internal/stdio).
	signal.Ignore(syscall.SIGPIPE)
	log := logging.New(stderr, cfg.LogLevel, getenv)
	defer logging.Flush(log) // after a.Close's lines
	var m *metrics.Metrics
	if cfg.Transport != "stdio" {
		m = metrics.New()
	}
	a, err := app.New(cfg, versionString(), log, m)
	if err != nil {
		logging.Flush(log)
		return buildExit(stderr, err)
	}
	defer a.Close(log)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Transport == "stdio" {
		log.Info("serving MCP over stdio", "demo", cfg.Demo, "version", versionString())
		err = stdio.Serve(ctx, a.MCP, stdin, stdout, log, cfg.ShutdownTimeout, int(cfg.MaxBodyBytes))
	} else {
		front := httpfront.New(a.MCP, a.Front(cfg.Front(m.Handler(), log)))
		m.WatchSSEStreams(front.OpenSSEStreams)
		err = front.Serve(ctx)
	}
	if err != nil {
		log.Error("server stopped", tint.Err(err))
		return exitFailure
	}
	log.Info("server stopped")
	return exitOK
}

// buildExit reports a failure to build the server: a bad setting exits 2,
// a run-time failure (a cache file locked by another process) 1.
func buildExit(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "qcc-mcp:", err)
	if errors.As(err, new(*app.SettingsError)) {
		return exitUsage
	}
	return exitFailure
}

// usageExit maps a parse error (already reported by the flag package or
// the call command) to its status: help is a success.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// versionString is the one place main reads the version: the release's
// stamp, else the module version and VCS revision of the build.
func versionString() string { return version.String() }
