// Package app assembles the server from its parts: the QCC client (on the
// in-process sandbox in demo mode, else on the configured API), the cost
// guard in front of it and the MCP server with its tools on top, counted
// by the metrics when there are any. The transports (stdio, HTTP, the call
// command) then serve App.MCP.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/callpool"
	"github.com/qcc-mcp/qcc-mcp/internal/config"
	"github.com/qcc-mcp/qcc-mcp/internal/httpfront"
	"github.com/qcc-mcp/qcc-mcp/internal/metrics"
	"github.com/qcc-mcp/qcc-mcp/internal/sessions"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard/redisstore"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// App is the assembled server.
type App struct {
	MCP *server.MCPServer
	// Sessions is where the HTTP front keeps legacy sessions
	// (httpfront.Options.SessionStore): the shared Redis with --redis-url,
	// else nil.
	Sessions sessions.Store
	// Calls caps the tool calls running at once (--max-concurrent-calls);
	// the HTTP front runs calls on its workers (httpfront.Options.Calls).
	Calls *callpool.Pool
	guard *guard.Guard
	redis *redisstore.Store // nil without --redis-url
}

// Front completes o, the HTTP front's options built from the settings,
// with what the app shares with the front: the session store and the
// pool of tool calls.
func (a *App) Front(o httpfront.Options) httpfront.Options {
	o.SessionStore, o.Calls = a.Sessions, a.Calls
	return o
}

// SettingsError is a failure the settings alone cause (the QCC client
// refused its options): a usage error, where any other failure of New is
// one of the run (a cache file locked by another process).
type SettingsError struct{ Err error }

// Error returns the QCC client's message.
func (e *SettingsError) Error() string { return e.Err.Error() }

// Unwrap returns the QCC client's error.
func (e *SettingsError) Unwrap() error { return e.Err }

// Option changes how New builds the server beyond what the settings say;
// it is for tests, never a flag.
type Option func(*options)

type options struct{ now func() time.Time }

// WithClock makes the QCC client's signatures, the sandbox, the guard and
// the tools read now instead of the system clock, so that a test against
// the sandbox's dated certificates sees the same valid, expiring and
// expired ones whatever day it runs.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New builds the server for cfg. version is reported to clients; m, when
// not nil, times QCC requests, counts tool calls and sessions and exports
// the guard's counters.
func New(cfg *config.Config, version string, log *slog.Logger, m *metrics.Metrics, with ...Option) (*App, error) {
	var set options
	for _, o := range with {
		o(&set)
	}
	var rt http.RoundTripper = qcc.NewTransport(cfg.MaxConcurrentCalls)
	appKey, secretKey := cfg.AppKey, cfg.SecretKey
	opts := []qcc.Option{qcc.WithTimeout(cfg.Timeout)}
	if set.now != nil {
		opts = append(opts, qcc.WithClock(set.now))
	}
	if cfg.Demo {
		rt = sandbox.New(sandbox.Config{Now: set.now}).Transport()
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
	gcfg := cfg.Guard(log)
	gcfg.Now = set.now
	var (
		store    *redisstore.Store
		sessionS sessions.Store
		built    atomic.Pointer[guard.Guard] // for the store's callbacks, which may come from its goroutines
	)
	if cfg.RedisURL != "" {
		if store, err = openRedis(cfg, appKey, log); err != nil {
			return nil, err
		}
		sharedRedis(&gcfg, cfg, store, built.Load)
		if sessionS, err = sessions.NewRedisStore(store.Client(), store.KeyPrefix()); err != nil {
			_ = store.Close()
			return nil, err
		}
	}
	g, err := guard.New(client, gcfg)
	if err != nil {
		if store != nil {
			_ = store.Close()
		}
		return nil, err
	}
	built.Store(g)
	calls := callpool.New(callpool.Config{Limit: cfg.MaxConcurrentCalls, OnPanic: func(v any, stack []byte) {
		// Run raises it again in the front's goroutine, for net/http,
		// whose log line has that goroutine's stack, not this one.
		log.Error("panic serving a tool call", "panic", fmt.Sprint(v), "stack", string(stack))
	}})
	o := tools.Options{Version: version, Demo: cfg.Demo, Logger: log, Calls: calls,
		MaxTextBytes: cfg.MaxTextBytes, Usage: g.Usage, ClientUsage: g.ClientUsedToday, Now: set.now}
	if m != nil {
		m.WatchUsage(g.Usage)
		if store != nil {
			m.WatchRedis(store.Up)
		}
		o.Observer = m
		o.ServerOptions = append(o.ServerOptions, server.WithHooks(m.SessionHooks()))
	}
	return &App{MCP: tools.NewServer(g, o), Sessions: sessionS, Calls: calls, guard: g, redis: store}, nil
}

// openRedis connects to the shared Redis. Only a bad URL or refused
// credentials fail here; an unreachable Redis gives a store that starts
// down and comes up by itself, so a replica can start during an outage.
func openRedis(cfg *config.Config, appKey string, log *slog.Logger) (*redisstore.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*cfg.RedisTimeout)
	defer cancel()
	store, err := redisstore.Open(ctx, redisstore.Options{URL: cfg.RedisURL, Password: cfg.RedisPassword,
		AppKey: appKey, OpTimeout: cfg.RedisTimeout, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("shared state in Redis", "redis", redisstore.RedactURL(cfg.RedisURL), "up", store.Up(),
		"replicas_hint", cfg.ReplicasHint, "budget_local_allowance", cfg.BudgetLocalAllowance)
	return store, nil
}

// sharedRedis points the guard's backends at store: answers, cooldowns and
// the budget, coalescing and (with a rate) the rate limit. guard returns
// the Guard once it is built, for what the store reports later: the rate
// limiter's fallbacks and Redis coming back.
func sharedRedis(gcfg *guard.Config, cfg *config.Config, store *redisstore.Store, g func() *guard.Guard) {
	gcfg.Answers, gcfg.State, gcfg.Flights, gcfg.SharedUp = store, store, store, store.Up
	if cfg.Rate > 0 {
		gcfg.Limiter = store.NewLimiter(redisstore.LimiterOptions{Rate: cfg.Rate, Burst: cfg.Burst,
			Replicas: cfg.ReplicasHint, OnFallback: func() {
				if g := g(); g != nil {
					g.DegradedOp(guard.FeatureRate)
				}
			}})
	}
	store.OnChange(func(up bool) {
		if g := g(); up && g != nil {
			// What was counted locally during the outage joins the shared
			// budget now rather than at the next call.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				g.Reconcile(ctx)
			}()
		}
	})
}

// Close logs what the process spent and closes the cache file.
func (a *App) Close(log *slog.Logger) {
	log.Info("usage", "usage", a.guard.Usage())
	if err := a.guard.Close(); err != nil {
		log.Warn("closing the cache", tint.Err(err))
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
	a.Calls.Close()
}
