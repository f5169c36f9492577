// Package tools is the MCP face of qcc-mcp: the search_certifications and
// get_certification_detail tools, their JSON schemas, the
// qcc://status-codes and qcc://usage resources, the due-diligence prompt,
// the text an agent reads, and the translation of every error into words
// it can act on (errors.go).
//
// It knows MCP and nothing of HTTP. The QCC API is reached through a
// guard.Upstream: main wires a *guard.Guard (cache, coalescing, rate
// limit, cooldowns, budget) in front of a *qcc.Client, and hands the
// guard's Usage to the usage resource. The same server is served over
// stdio and over Streamable HTTP and SSE by main:
//
//	g, _ := guard.New(client, guard.Config{})
//	s := tools.NewServer(g, tools.Options{Logger: logger, Usage: g.Usage})
//	server.ServeStdio(s)
package tools

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/calllog"
	"github.com/qcc-mcp/qcc-mcp/internal/callpool"
	"github.com/qcc-mcp/qcc-mcp/internal/identity"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// Options configure the server.
type Options struct {
	// Name and Version are reported to clients at initialisation.
	Name, Version string
	// Demo marks every result as sandbox data.
	Demo bool
	// Now is the clock used to judge validity; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per tool call; nil discards.
	Logger *slog.Logger
	// Observer, if set, is told of every tool call (for metrics).
	Observer Observer
	// Calls caps the tool calls running at once: a call over the cap waits
	// up to its Wait for a slot, then gets a retryable "busy" error. The
	// HTTP front shares it, to run calls on its workers (callpool.Run);
	// nil means a pool of MaxConcurrentCalls made here.
	Calls *callpool.Pool
	// MaxConcurrentCalls is the cap when Calls is nil; 0 means no cap.
	MaxConcurrentCalls int
	// Usage, if set, serves the qcc://usage resource (the guard's Usage).
	Usage func() guard.Usage
	// ClientUsage, if set, adds the caller's own count of today's QCC
	// calls and its cap (0: none) to qcc://usage (the guard's
	// ClientUsedToday); client is identity.Identity.Key.
	ClientUsage func(ctx context.Context, client string) (used, limit int)
	// MaxTextBytes bounds each result's text block (default
	// DefaultMaxTextBytes); structured content is never cut.
	MaxTextBytes int
	// ServerOptions are added to the MCP server's own options (hooks, say).
	ServerOptions []server.ServerOption

	// answered collects what completion offers; set by NewServer.
	answered *answered
}

// Observer is told when tool calls start and finish. Implementations must
// be safe for concurrent use.
type Observer interface {
	CallStarted(tool string)
	// CallFinished reports the outcome ("ok", "no_result", an error kind
	// such as "billing", "invalid_argument", "busy" or "internal"), the QCC
	// status if QCC sent one (else 0) and the duration.
	CallFinished(tool, outcome string, qccStatus int, d time.Duration)
}

// CallerObserver, if an Observer also implements it, is told who made each
// call, as identity.Identity.Label: a bounded set of values.
type CallerObserver interface {
	CallFrom(caller string)
}

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "qcc-mcp"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// calls returns the pool that caps the calls: Options.Calls, or one of
// MaxConcurrentCalls (nil, no cap, for 0).
func (o *Options) calls() *callpool.Pool {
	if o.Calls != nil {
		return o.Calls
	}
	return callpool.New(callpool.Config{Limit: o.MaxConcurrentCalls})
}

// Tool is one tool of this server: its MCP definition, its handler and its
// schemas, as served.
type Tool struct {
	Tool    mcp.Tool
	Handler server.ToolHandlerFunc
	input   *inputSchema
	// Output is the raw output schema.
	Output []byte
}

// Input is the raw input schema.
func (t Tool) Input() []byte { return t.input.raw }

// ArgumentTypes maps each argument to its JSON type, for callers that build
// arguments from text (the call subcommand).
func (t Tool) ArgumentTypes() map[string]string { return t.input.props }

// Tools returns the tools of this server, built on b.
func Tools(b guard.Upstream, o Options) []Tool {
	o.defaults()
	return []Tool{searchTool(b, o), detailTool(b, o), checkTool(b, o)}
}

// NewServer returns an MCP server offering the tools on b.
func NewServer(b guard.Upstream, o Options) *server.MCPServer {
	o.defaults()
	o.answered = newAnswered(o.Demo)
	opts := []server.ServerOption{
		// Hooks others can add to (the HTTP front follows the sessions
		// with them); ServerOptions may bring hooks of their own instead.
		server.WithHooks(&server.Hooks{}),
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithPromptCapabilities(false),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(promptCompleter{o.answered, o.Logger}),
		server.WithResourceCompletionProvider(resourceCompleter{o.answered, o.Logger}),
	}
	// The lists never change while the server runs and hold nothing of a
	// user: any cache may keep them for long. A read is answered afresh
	// (qcc://usage changes with every call; a certificate read is billed
	// or free depending on this server's cache, not a client's).
	for _, m := range []mcp.MCPMethod{mcp.MethodToolsList, mcp.MethodResourcesList, mcp.MethodResourcesTemplatesList,
		mcp.MethodPromptsList, mcp.MethodServerDiscover} {
		opts = append(opts, server.WithMethodCacheHints(m, listCacheTTL.Milliseconds(), mcp.CacheScopePublic))
	}
	opts = append(opts, server.WithMethodCacheHints(mcp.MethodResourcesRead, 0, mcp.CacheScopePrivate))
	opts = append(append(opts,
		// Logging (and the observer) must see every call end, panics
		// included, so recovery sits inside it and turns a panic into a
		// result first; the concurrency cap is innermost.
		// The three are one middleware (serveCalls): mcp-go wraps each
		// call's handler anew in every middleware, a closure each.
		server.WithToolHandlerMiddleware(serveCalls(o.Logger, o.Observer, o.calls())),
		server.WithInstructions(instructionsFor(o.Demo)),
	), o.ServerOptions...)
	s := server.NewMCPServer(o.Name, o.Version, opts...)
	for _, t := range Tools(b, o) {
		s.AddTool(t.Tool, t.Handler)
	}
	addResources(s, o)
	addCertificateTemplate(s, b, o, o.answered)
	addView(s)
	addPrompts(s, o.Logger)
	return s
}

// listCacheTTL is how long a client may keep the static lists.
const listCacheTTL = 24 * time.Hour

// instructionsFor adds, in demo mode, what a model (or a user with only
// the binary) needs to try the server: the sandbox's companies and triggers.
func instructionsFor(demo bool) string {
	if !demo {
		return instructions
	}
	return instructions + "\n\nDEMO MODE: the data comes from a built-in sandbox, not QCC, and nothing is billed. Its companies: " +
		strings.Join(sandbox.Companies(), ", ") + " (the last holds no certificates). " +
		"Certificate ids come from their search results. Names that make the sandbox fail on purpose: sandbox-status-NNN (QCC status NNN, e.g. sandbox-status-102), " +
		"sandbox-http-NNN (HTTP status NNN, e.g. sandbox-http-502), sandbox-slow-DURATION (e.g. sandbox-slow-3s), sandbox-malformed, sandbox-truncated, sandbox-large."
}

const instructions = "Certificates held by Chinese companies, from Qichacha (QCC). " +
	"To check a list of suppliers for a standard (ISO 9001, CCC …) in one call, use check_certifications. " +
	"Call search_certifications with a company's registered name to list its certificates (ISO 9001, ISO 14001, CCC and others) with numbers, dates and validity; " +
	"then get_certification_detail with an id from that list for holder, scope, standard and issuer. Every call that reaches QCC is billed."

// readOnly marks a tool that only reads QCC data: safe to repeat, changes
// nothing, reaches an outside service.
func readOnly(title string) mcp.ToolAnnotation {
	return mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(true),
		DestructiveHint: mcp.ToBoolPtr(false),
		IdempotentHint:  mcp.ToBoolPtr(true),
		OpenWorldHint:   mcp.ToBoolPtr(true),
	}
}

// newTool builds a tool from its params and result types, with schemas
// reflected from them, and a handler that validates and binds arguments
// before calling run.
func newTool[P any](name, title, description string, output any, o Options, run func(context.Context, P) (*mcp.CallToolResult, error)) Tool {
	var zero P
	in := newInputSchema(name, zero)
	out := reflectSchema(output)
	t := mcp.NewToolWithRawSchema(name, description, in.raw)
	t.Title = title
	t.Annotations = readOnly(title)
	t.RawOutputSchema = out
	handler := func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := callArguments(req)
		var p P
		if err := in.decode(args, &p); err != nil {
			return errorResult(ctx, err, o.Now()), nil
		}
		ctx, prog := withProgress(ctx, req)
		defer prog.finish()
		return run(ctx, p)
	}
	return Tool{Tool: t, Handler: handler, input: in, Output: out}
}

// callRecord carries what a handler learnt about a call to the log line.
type callRecord struct {
	outcome   string // "ok", "no_result", or an error kind
	qccStatus int
}

type callRecordKey struct{}

func record(ctx context.Context) *callRecord {
	if r, ok := ctx.Value(callRecordKey{}).(*callRecord); ok {
		return r
	}
	return &callRecord{}
}

// serveCalls is the middleware of every tool call: logCalls, then
// recoverPanics, then limitConcurrency, outermost first, in one closure
// per call instead of one per stage.
func serveCalls(log *slog.Logger, obs Observer, calls *callpool.Pool) server.ToolHandlerMiddleware {
	// mcp-go builds the middleware chain anew for every call, so the
	// chain must be made here, once, not in the function it returns.
	c := &callChain{log: log, obs: obs, calls: calls}
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return c.logCalls(next, ctx, req)
		}
	}
}

// callChain holds what the stages of serveCalls need.
type callChain struct {
	log   *slog.Logger
	obs   Observer
	calls *callpool.Pool
}

// recordCtx is a call's context with its callRecord, both in one
// allocation: record(ctx) finds the record as it finds a context value.
type recordCtx struct {
	context.Context
	rec callRecord
}

func (c *recordCtx) Value(key any) any {
	if key == (callRecordKey{}) {
		return &c.rec
	}
	return c.Context.Value(key)
}

// logCalls writes one line per tool call: tool, outcome, QCC status,
// duration and the caller, when the transport authenticated one. It also
// names the caller to the guard, for the per-caller cap. Arguments are logged by name only where they cannot hold
// secrets; the company searched is not a secret but is left to debug level.
func (c *callChain) logCalls(next server.ToolHandlerFunc, ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	obs := c.obs
	rc := &recordCtx{Context: ctx, rec: callRecord{outcome: "ok"}}
	rec := &rc.rec
	ctx = withCaller(rc)
	caller, known := identity.FromContext(ctx)
	if known {
		if co, ok := obs.(CallerObserver); ok {
			co.CallFrom(caller.Label())
		}
	}
	start := time.Now()
	if obs != nil {
		obs.CallStarted(req.Params.Name)
	}
	res, err := c.recoverPanics(next, ctx, req)
	if res == nil && err != nil {
		rec.outcome = "internal"
	}
	if obs != nil {
		obs.CallFinished(req.Params.Name, rec.outcome, rec.qccStatus, time.Since(start))
	}
	c.logCall(ctx, req.Params.Name, res, rec, start, caller, known)
	return res, err
}

// logCall writes logCalls' line. Apart from logCalls, and not inlined, so
// that its locals are not on the stack for the whole of every call: the
// goroutine of a call waiting for QCC holds every frame above it.
//
//go:noinline
func (c *callChain) logCall(ctx context.Context, tool string, res *mcp.CallToolResult, rec *callRecord, start time.Time, caller identity.Identity, known bool) {
	level := slog.LevelInfo
	if res != nil && res.IsError {
		level = slog.LevelWarn
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	// Over streamable HTTP the request's access line names the outcome:
	// one line, and one write, per call.
	if calllog.Hand(ctx, calllog.Outcome{Level: level, Outcome: rec.outcome, QCCStatus: rec.qccStatus}) {
		return
	}
	// Attrs, not ...any: no boxing of each attribute.
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs,
		slog.String("tool", tool),
		slog.String("outcome", rec.outcome),
		slog.Duration("duration", time.Since(start)))
	if rec.qccStatus != 0 {
		attrs = append(attrs, slog.Int("qcc_status", rec.qccStatus))
	}
	if known {
		attrs = append(attrs, slog.Any("caller", caller))
	}
	c.log.LogAttrs(ctx, level, "tool call", attrs...)
}

// withCaller names the authenticated caller, if any, to the guard, for the
// per-caller cap. Every path that can reach QCC (tools, the certificate
// template) goes through it.
func withCaller(ctx context.Context) context.Context {
	if id, ok := identity.FromContext(ctx); ok {
		return guard.WithClient(ctx, id.Key())
	}
	return ctx
}

// limitConcurrency caps the calls running at once (Options.Calls); a
// call over the cap waits up to the pool's Wait for a slot, then gets a
// retryable "busy" error. A call the HTTP front runs on the pool's
// workers holds its slot already.
func (c *callChain) limitConcurrency(next server.ToolHandlerFunc, ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	ok, release := c.calls.Acquire(ctx)
	if !ok {
		return errorResult(ctx, &busyError{c.calls.Limit()}, time.Now()), nil
	}
	if release {
		defer c.calls.Release()
	}
	return next(ctx, req)
}

// recoverPanics turns a panic in a handler into a generic isError result
// and a log line with the stack. The panic value may hold request data, so
// it goes to the log only, never to the client.
func (c *callChain) recoverPanics(next server.ToolHandlerFunc, ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("tool handler panicked", slog.String("tool", req.Params.Name),
				slog.String("panic", redactPanic(v)), slog.String("stack", string(debug.Stack())))
			res, err = errorResult(ctx, &panicError{req.Params.Name}, time.Now()), nil
		}
	}()
	return c.limitConcurrency(next, ctx, req)
}

// redactPanic renders a panic value for the log. Whatever it is, its text
// goes through the redaction qcc applies to its own errors: a panic value
// may quote a request, a header or a key.
func redactPanic(v any) string {
	if err, ok := v.(error); ok {
		return qcc.Redact(fmt.Sprintf("%T: %v", err, err))
	}
	return qcc.Redact(fmt.Sprintf("%v", v))
}
