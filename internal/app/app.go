// Package app assembles the server from its parts: the QCC client (on the
// in-process sandbox in demo mode, else on the configured API), the cost
// guard in front of it and the MCP server with its tools on top, counted
// by the metrics when there are any. The transports (stdio, HTTP, the call
// command) then serve App.MCP.
package app

import (
	"log/slog"
	"net/http"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/config"
	"github.com/qcc-mcp/qcc-mcp/internal/metrics"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// App is the assembled server.
type App struct {
	MCP   *server.MCPServer
	guard *guard.Guard
}

// SettingsError is a failure the settings alone cause (the QCC client
// refused its options): a usage error, where any other failure of New is
// one of the run (a cache file locked by another process).
type SettingsError struct{ Err error }

func (e *SettingsError) Error() string { return e.Err.Error() }

// Unwrap returns the QCC client's error.
func (e *SettingsError) Unwrap() error { return e.Err }

// New builds the server for cfg. version is reported to clients; m, when
// not nil, times QCC requests, counts tool calls and sessions and exports
// the guard's counters.
func New(cfg *config.Config, version string, log *slog.Logger, m *metrics.Metrics) (*App, error) {
	var rt http.RoundTripper = qcc.NewTransport(cfg.MaxConcurrentCalls)
	appKey, secretKey := cfg.AppKey, cfg.SecretKey
	opts := []qcc.Option{qcc.WithTimeout(cfg.Timeout)}
	if cfg.Demo {
		rt = sandbox.New(sandbox.Config{}).Transport()
		appKey, secretKey = sandbox.DemoAppKey, sandbox.DemoSecretKey
	} else if cfg.BaseURL != "" {
		opts = append(opts, qcc.WithBaseURL(cfg.BaseURL))
	}
	if m != nil {
		rt = m.Instrument(rt)
	}
	client, err := qcc.New(appKey, secretKey, append(opts, qcc.WithHTTPClient(&http.Client{Transport: rt}))...)
	if err != nil {
		return nil, &SettingsError{err}
	}
	g, err := guard.New(client, cfg.Guard(log))
	if err != nil {
		return nil, err
	}
	o := tools.Options{Version: version, Demo: cfg.Demo, Logger: log, MaxConcurrentCalls: cfg.MaxConcurrentCalls,
		MaxTextBytes: cfg.MaxTextBytes, Usage: g.Usage, ClientUsage: g.ClientUsedToday}
	if m != nil {
		m.WatchUsage(g.Usage)
		o.Observer = m
		o.ServerOptions = append(o.ServerOptions, server.WithHooks(m.SessionHooks()))
	}
	return &App{MCP: tools.NewServer(g, o), guard: g}, nil
}

// Close logs what the process spent and closes the cache file.
func (a *App) Close(log *slog.Logger) {
	log.Info("usage", "usage", a.guard.Usage())
	if err := a.guard.Close(); err != nil {
		log.Warn("closing the cache", tint.Err(err))
	}
}
