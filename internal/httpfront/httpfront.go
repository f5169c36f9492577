// Package httpfront is the server's HTTP face: streamable HTTP at /mcp and
// the legacy SSE transport at /sse and /message, behind Host and origin
// checks (against DNS rebinding and cross-site use), authentication
// (static bearer tokens and OAuth access tokens, through internal/auth),
// body size and read-time limits, a cap on long-lived streams and on legacy
// sessions, and a bound on the answers an SSE stream may owe; an access
// log naming the caller; /healthz and /readyz; the OAuth protected-resource
// metadata; /metrics; and a graceful shutdown. It knows nothing of QCC.
package httpfront

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/auth"
	"github.com/qcc-mcp/qcc-mcp/internal/calllog"
	"github.com/qcc-mcp/qcc-mcp/internal/callpool"
	"github.com/qcc-mcp/qcc-mcp/internal/identity"
	"github.com/qcc-mcp/qcc-mcp/internal/loopback"
	"github.com/qcc-mcp/qcc-mcp/internal/sessions"
)

// Options configure the HTTP front.
type Options struct {
	Addr            string              // listen address
	AuthToken       string              // one bearer token clients must send, when Auth is nil; empty: none (loopback only, checked by config)
	Auth            *auth.Authenticator // static named tokens and/or OAuth; nil: AuthToken alone
	AllowedOrigins  []string            // browser origins allowed; empty: loopback origins only
	MaxBodyBytes    int64               // largest request body
	BodyReadTimeout time.Duration       // time a client has to send its body
	MaxSSEStreams   int                 // cap on open long-lived streams: SSE, GET /mcp, subscriptions/listen
	SessionIdleTTL  time.Duration       // legacy streamable HTTP sessions idle this long are ended
	MaxSessions     int                 // cap on open legacy streamable HTTP sessions; 0: none
	// SessionStore holds the legacy sessions of /mcp (only issued ids are
	// accepted; a DELETE on any replica ends a session everywhere); nil:
	// this process's memory. Replicas on one Redis share one.
	SessionStore sessions.Store
	// MaxSSEQueue bounds the answers one SSE stream may owe (posted calls
	// not yet written to it); 0: DefaultMaxSSEQueue.
	MaxSSEQueue int
	// SSEWriteTimeout is how long one write to an SSE stream may stall
	// before the client is taken to have stopped reading; 0:
	// DefaultSSEWriteTimeout.
	SSEWriteTimeout time.Duration
	ShutdownTimeout time.Duration // how long in-flight requests may finish on shutdown
	Metrics         http.Handler  // the /metrics page; nil: none
	// Calls, if set, runs each tools/call POSTed to /mcp on one of its
	// workers (callpool.Run) and caps them: the tools' middleware must
	// share the same pool (tools.Options.Calls). nil: calls run on their
	// connection's goroutine, capped by the tools alone.
	Calls       *callpool.Pool
	MetricsAddr string // serve Metrics on this address without auth instead of on /metrics
	Demo        bool   // reported in the start-up log line
	Logger      *slog.Logger
}

// Front is the HTTP face of the server: the MCP transports behind origin
// checks, bearer auth and limits, an access log, health endpoints and
// metrics.
type Front struct {
	opts       Options
	log        *slog.Logger
	mcp        *server.MCPServer
	streamable *server.StreamableHTTPServer
	legacy     *legacySessions // for answerCall; nil: mcp-go answers every legacy call
	versions   []string        // the protocol versions the streamable server supports
	// headerTools caches, by tool schema, whether a tool mirrors
	// parameters in headers (see bindsHeaders).
	headerTools sync.Map
	sessions    *sessions.Manager
	sse         *server.SSEServer
	auth        *auth.Authenticator
	streams     atomic.Int64 // open long-lived streams of every kind
	stopping    atomic.Bool

	// inFlight counts what the drain on shutdown waits for: POSTs being
	// served and answers owed on SSE streams.
	inFlight atomic.Int64

	sseMu   sync.Mutex
	sseByID map[string]*sseStream // open SSE streams by session id
}

// Defaults of the SSE stream bound.
const (
	DefaultMaxSSEQueue     = 256
	DefaultSSEWriteTimeout = 15 * time.Second
)

// New returns the front of s.
func New(s *server.MCPServer, o Options) *Front {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := o.Auth
	if a == nil {
		var static *auth.StaticTokens
		if o.AuthToken != "" {
			static = auth.SingleToken(o.AuthToken)
		}
		a = auth.New(auth.Options{Static: static, Logger: o.Logger})
	}
	if o.SessionStore == nil {
		o.SessionStore = sessions.NewMemoryStore()
	}
	if o.MaxSSEQueue <= 0 {
		o.MaxSSEQueue = DefaultMaxSSEQueue
	}
	if o.SSEWriteTimeout <= 0 {
		o.SSEWriteTimeout = DefaultSSEWriteTimeout
	}
	f := &Front{opts: o, log: o.Logger, mcp: s, auth: a, sseByID: map[string]*sseStream{}}
	f.sessions = sessions.NewManager(o.SessionStore, sessions.Config{IdleTTL: o.SessionIdleTTL, MaxSessions: o.MaxSessions, Logger: o.Logger})
	// The resolver, not WithSessionIdManager: see sessions.Manager.
	f.streamable = server.NewStreamableHTTPServer(s, server.WithSessionIdManagerResolver(f.sessions),
		server.WithSessionIdleTTL(o.SessionIdleTTL), server.WithStreamableHTTPLogger(o.Logger))
	f.legacy = newLegacySessions(s, o.SessionIdleTTL)
	f.versions = server.FilterSupportedVersions(f.streamable)
	f.sse = server.NewSSEServer(s, server.WithSSEEndpoint("/sse"), server.WithMessageEndpoint("/message"),
		server.WithSessionIDGenerator(f.newSSESession))
	return f
}

// StartAuth fetches the authorization server's keys in the background
// until ctx ends (nothing without OAuth). Serve calls it; a test that
// serves Handler itself calls it too.
func (f *Front) StartAuth(ctx context.Context) { f.auth.Start(ctx) }

// OpenSSEStreams returns how many long-lived streams are open now (legacy
// SSE, GET /mcp and subscriptions/listen), for metrics.
func (f *Front) OpenSSEStreams() int64 { return f.streams.Load() }

// Handler mounts streamable HTTP at /mcp, the legacy SSE transport at /sse
// and /message, /healthz and /readyz (open to all) and /metrics (behind
// auth, unless served on its own listener).
// Handler returns the front's handler, for Serve and for tests.
func (f *Front) Handler() http.Handler {
	protected := http.NewServeMux()
	protected.Handle("/mcp", f.serveMCP(f.sessions.LegacyGuard("/mcp", http.HandlerFunc(f.serveStreamable))))
	protected.Handle("/sse", f.limitStreams(f.boundSSEStream(f.sse.SSEHandler())))
	protected.Handle("/message", f.boundSSEQueue(f.sse.MessageHandler()))
	if f.opts.Metrics != nil && f.opts.MetricsAddr == "" {
		protected.Handle("GET /metrics", f.opts.Metrics)
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
		if !f.auth.Ready() {
			plain(w, http.StatusServiceUnavailable, f.auth.NotReadyReason())
			return
		}
		plain(w, http.StatusOK, "ready")
	})
	for _, p := range f.auth.MetadataPaths() {
		// Public by design (RFC 9728): it is how a client that got a 401
		// finds the authorization server.
		mux.Handle("GET "+p, f.auth.MetadataHandler())
	}
	mux.Handle("/", f.protect(protected))
	return f.accessLog(mux)
}

// protect runs every check a request for a protected endpoint passes, in
// order: Host, Origin, credentials, shutdown, the body. They run one after
// the other from this one frame rather than nested, each returning before
// the next: the goroutine serving a call holds this front's frames on its
// stack for the whole call, and with a dozen nested handlers the stack of
// a waiting call crossed 16 KiB and doubled to 32 KiB, for every one of
// hundreds of concurrent clients.
func (f *Front) protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ok := f.admit(w, r)
		if !ok {
			return
		}
		if f.stopping.Load() {
			refuseStopping(w)
			return
		}
		if r.Method == http.MethodPost {
			f.inFlight.Add(1)
			defer f.inFlight.Add(-1)
		}
		if r, ok = f.readBody(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// admit checks the Host (checkHost), the Origin (checkOrigin) and the
// credentials: it answers a refused request itself and reports false, or
// returns the request to hand on, the caller noted for the access log.
//
//go:noinline
func (f *Front) admit(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if !f.hostAllowed(w, r) || !f.originAllowed(w, r) {
		return nil, false
	}
	r, ok := f.auth.Admit(w, r)
	if !ok {
		return nil, false
	}
	if info := infoOf(w); info != nil {
		info.trusted = true
		info.caller, info.hasCaller = identity.FromContext(r.Context())
	}
	return r, true
}

// checkHost refuses, on a loopback connection, a Host that is not
// loopback: a page whose domain was rebound to 127.0.0.1 must not read
// anything but the health endpoints. It is mcp-go's own rule for /mcp,
// applied to every endpoint (/metrics, /sse, /message), whatever
// --allowed-origins says: a browser sends the rebound name as Host.
func (f *Front) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.hostAllowed(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// hostAllowed is checkHost's test: it answers 403 itself and reports false
// for a refused request.
func (f *Front) hostAllowed(w http.ResponseWriter, r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if ok && local != nil && loopbackAddr(local) && !loopbackHostPort(r.Host) {
		plain(w, http.StatusForbidden, "Host not allowed on a loopback listener (DNS rebinding protection): send Host: localhost or 127.0.0.1")
		return false
	}
	return true
}

// loopbackAddr is loopbackHostPort(a.String()), without building the
// string for a TCP address: the host of a TCPAddr's String is its IP's
// String, which parses back to an IP as loopback as it. (With a zone the
// string does not parse as an IP.)
func loopbackAddr(a net.Addr) bool {
	if t, ok := a.(*net.TCPAddr); ok && t != nil && t.Zone == "" {
		return t.IP.IsLoopback()
	}
	return loopbackHostPort(a.String())
}

// loopbackHostPort reports whether a "host[:port]" names this machine.
func loopbackHostPort(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	return loopback.Host(strings.ToLower(host))
}

// refuseStopping answers 503 to a new request once shutdown began (see
// protect), so that the calls in flight drain while /readyz still answers
// (503) and a load balancer moves clients elsewhere; protect counts the
// POSTs in flight.
func refuseStopping(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Connection", "close")
	plain(w, http.StatusServiceUnavailable, "shutting down: retry on another instance")
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
	// method and request describe a POSTed JSON-RPC message: its method,
	// and whether it is a request (has an id), which is owed an answer.
	method    string
	request   bool
	modern    bool              // carries protocol version 2026-07-28 or later in _meta
	caller    identity.Identity // who, when hasCaller: authentication named a caller
	hasCaller bool
	// call is where the tools hand the outcome of a tools/call on /mcp,
	// which this request's line names instead of a line of their own.
	call calllog.Slot
}

// infoOf returns the access log's record of the request w answers, nil
// outside accessLog. It travels with the ResponseWriter, which every
// handler of the front hands on as it got it, rather than in the
// request's context: that would cost a context and a copy of the request
// on every call.
func infoOf(w http.ResponseWriter) *requestInfo {
	if rw, ok := w.(*responseWriter); ok {
		return &rw.info
	}
	return nil
}

// accessLog logs one line per request: method, path, status, duration,
// session, tool and caller. Never a header value, so never a token.
func (f *Front) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// One allocation for the writer and the request's record.
		rw := &responseWriter{ResponseWriter: w, status: http.StatusOK, allowOrigin: f.allowedOrigin(r)}
		info := &rw.info
		info.session = r.Header.Get("Mcp-Session-Id")
		if info.session == "" && r.URL.RawQuery != "" {
			info.session = r.URL.Query().Get("sessionId")
		}
		next.ServeHTTP(rw, r)
		f.logRequest(rw, r, start)
	})
}

// logRequest writes accessLog's line once the request is answered. Apart
// from accessLog, and not inlined, so that its locals are not on the stack
// for the whole of every request (see protect).
//
//go:noinline
func (f *Front) logRequest(rw *responseWriter, r *http.Request, start time.Time) {
	info := &rw.info
	if !info.trusted {
		info.session = ""
	}
	if info.session == "" {
		info.session = rw.Header().Get("Mcp-Session-Id") // chosen by the server
	}
	// Closed whatever the level: a call that ends after this line logs
	// itself.
	call, handed := info.call.Take()
	level := slog.LevelInfo
	if handed {
		level = call.Level
	}
	ctx := context.Background()
	if !f.log.Enabled(ctx, level) {
		return
	}
	// Attrs, not ...any: no boxing of each value on every request.
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rw.status), slog.Duration("duration", time.Since(start)))
	if info.session != "" {
		attrs = append(attrs, slog.String("session", info.session))
	}
	if info.tool != "" {
		attrs = append(attrs, slog.String("tool", info.tool))
	}
	if info.hasCaller {
		// Resolved here as the handler would (Identity is a
		// LogValuer), which spares boxing it in an any.
		attrs = append(attrs, slog.Attr{Key: "caller", Value: info.caller.LogValue()})
	}
	if handed {
		// The tool call's own line, which the tools did not write.
		attrs = append(attrs, slog.String("outcome", call.Outcome))
		if call.QCCStatus != 0 {
			attrs = append(attrs, slog.Int("qcc_status", call.QCCStatus))
		}
	}
	f.log.LogAttrs(ctx, level, "http request", attrs...)
}

// responseWriter records the status and owns the CORS headers: the SSE
// handler of mcp-go sets "Access-Control-Allow-Origin: *" on its own, which
// must not reach browsers unless origins were configured.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wrote       bool
	allowOrigin string
	info        requestInfo // what the access log reports; see infoOf
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
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush for http.ResponseController, which reports a failed
// flush (a stalled SSE client past its write deadline).
func (w *responseWriter) FlushError() error {
	w.fixHeaders()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// allowedOrigin returns the value for Access-Control-Allow-Origin: the
// request's Origin when origins are configured and it is one of them.
func (f *Front) allowedOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" || len(f.opts.AllowedOrigins) == 0 {
		return ""
	}
	if slices.Contains(f.opts.AllowedOrigins, origin) {
		return origin
	}
	return ""
}

// originAllowed refuses requests from origins that are not allowed,
// against DNS rebinding and cross-site use from browsers. Without
// --allowed-origins only requests without Origin or from a loopback origin
// pass; with it, exactly the listed origins. It answers a refused request
// (and a CORS preflight) itself and reports false.
func (f *Front) originAllowed(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	ok := origin == ""
	if !ok && len(f.opts.AllowedOrigins) > 0 {
		ok = slices.Contains(f.opts.AllowedOrigins, origin)
	} else if !ok {
		ok = isLoopbackOrigin(origin)
	}
	if !ok {
		plain(w, http.StatusForbidden, "origin not allowed")
		return false
	}
	if r.Method == http.MethodOptions && origin != "" && len(f.opts.AllowedOrigins) > 0 {
		// A CORS preflight carries no credentials: answer it here.
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return loopback.Host(u.Hostname())
}

// readBody reads a request body within the size limit and a read deadline
// (against slow clients) and returns the request to hand on; an oversized
// body gets 413 (false: answered) and the server carries on. It also notes
// the tool of a tools/call for the access log. Not inlined into protect,
// whose frame stays on the stack for the whole request.
//
//go:noinline
func (f *Front) readBody(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodDelete || r.Method == http.MethodOptions {
		return r, true
	}
	_ = setReadDeadline(w, time.Now().Add(f.opts.BodyReadTimeout))
	body, err := readAtMost(r.Body, f.opts.MaxBodyBytes+1, r.ContentLength)
	if err != nil {
		// The deadline stays in the past: net/http would otherwise
		// wait for the rest of the body before answering.
		w.Header().Set("Connection", "close")
		plain(w, http.StatusRequestTimeout, "could not read the request body in time")
		return nil, false
	}
	_ = setReadDeadline(w, time.Time{})
	switch {
	case int64(len(body)) > f.opts.MaxBodyBytes:
		w.Header().Set("Connection", "close")
		plain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over the limit of %d bytes", f.opts.MaxBodyBytes))
		return nil, false
	}
	// Decoded once here, for the access log and the handlers inside,
	// and for the session guard, which finds it in r.Body.
	b := sessions.NewBody(body)
	if info := infoOf(w); info != nil {
		if msg := b.Peek(); msg.OK && msg.NameOK {
			info.method = msg.Method
			info.request = msg.Method != "" && len(msg.ID) > 0 && string(msg.ID) != "null"
			info.modern = mcp.IsModernProtocol(msg.ProtocolVersion) ||
				mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
			if msg.Method == "tools/call" {
				info.tool = msg.Name
			}
		}
	}
	r.Body = b
	r.ContentLength = int64(len(body))
	return r, true
}

// setReadDeadline is http.ResponseController's SetReadDeadline with the
// controller on the stack: where readBody's handler is inlined into
// Handler, NewResponseController is not, and its result went to the heap.
func setReadDeadline(w http.ResponseWriter, deadline time.Time) error {
	return http.NewResponseController(w).SetReadDeadline(deadline)
}

// readAtMost is io.ReadAll(io.LimitReader(r, n)) without the
// LimitedReader's allocation, and with a first buffer the size of the
// body when its length is known (ReadAll starts at 512 bytes and grows).
// The announced length is the client's word, so it sizes the first buffer
// only up to firstBufferMax: a client announcing a megabyte and sending
// nothing must not hold a megabyte until the read deadline.
// firstBufferMax bounds the first buffer readAtMost sizes from an
// announced length; a larger body grows the buffer as its bytes arrive.
const firstBufferMax = 64 << 10

func readAtMost(r io.Reader, n, length int64) ([]byte, error) {
	size := int64(512)
	if length >= 0 && length < n {
		size = min(length+1, firstBufferMax) // + 1: room for the read that finds the end
	}
	b := make([]byte, 0, size)
	for {
		if n <= 0 {
			return b, nil // where the LimitedReader says EOF
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the growth
		}
		p := b[len(b):cap(b)]
		if int64(len(p)) > n {
			p = p[:n]
		}
		m, err := r.Read(p)
		b, n = b[:len(b)+m], n-int64(m)
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
	}
}

// limitStreams caps the open long-lived streams of every kind and counts
// them for the gauge: legacy SSE (GET /sse), the legacy listening stream
// (GET /mcp) and a modern subscriptions/listen; each holds a goroutine and
// a connection until the client leaves.
func (f *Front) limitStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.isStream(w, r) {
			if !f.openStream(w, r) {
				return
			}
			defer f.closeStream(r)
		}
		next.ServeHTTP(w, r)
	})
}

// serveMCP is /mcp's limitStreams and dropModernCancellation in one frame
// (see protect), and hands a tools/call to runCall.
func (f *Front) serveMCP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.isStream(w, r) {
			if !f.openStream(w, r) {
				return
			}
			defer f.closeStream(r)
		}
		if f.dropModernCancellation(w, r) {
			return
		}
		if info := infoOf(w); info != nil && info.method == string(mcp.MethodToolsCall) && r.Method == http.MethodPost {
			f.runCall(next, w, r, &info.call)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// runCall serves a tools/call on one of the pool's workers, whose stacks
// are already grown for mcp-go's and the tools' frames: this connection's
// goroutine waits with a shallow stack, and a call waiting for a slot
// does not reach mcp-go before it has one. A call that finds no slot in
// time is handed on here, marked refused, for the tools to answer busy in
// the usual words. Either way the tools hand the call's outcome to slot,
// for the access log. Without a pool (Options.Calls nil) the call runs
// here.
func (f *Front) runCall(next http.Handler, w http.ResponseWriter, r *http.Request, slot *calllog.Slot) {
	ctx := calllog.With(r.Context(), slot)
	if !f.opts.Calls.Run(ctx, func(ctx context.Context) { next.ServeHTTP(w, r.WithContext(ctx)) }) {
		next.ServeHTTP(w, r.WithContext(callpool.Refused(ctx)))
	}
}

// isStream reports whether r opens a long-lived stream (see limitStreams).
func (f *Front) isStream(w http.ResponseWriter, r *http.Request) bool {
	if info := infoOf(w); info != nil && r.Method == http.MethodPost {
		return info.method == string(mcp.MethodSubscriptionsListen)
	}
	return r.Method == http.MethodGet
}

// openStream counts a new stream, or answers 503 and reports false when
// --max-sse-streams are open.
func (f *Front) openStream(w http.ResponseWriter, r *http.Request) bool {
	if f.streams.Add(1) > int64(f.opts.MaxSSEStreams) {
		f.streams.Add(-1)
		w.Header().Set("Retry-After", "5")
		plain(w, http.StatusServiceUnavailable, fmt.Sprintf("too many open streams (limit %d, --max-sse-streams); retry later", f.opts.MaxSSEStreams))
		return false
	}
	if r.Method == http.MethodPost {
		// A listen stream is not a call: the drain must not wait for it.
		f.inFlight.Add(-1)
	}
	return true
}

// closeStream undoes openStream once the stream ends.
func (f *Front) closeStream(r *http.Request) {
	if r.Method == http.MethodPost {
		f.inFlight.Add(1)
	}
	f.streams.Add(-1)
}

// dropModernCancellation answers a notifications/cancelled of protocol
// 2026-07-28 itself (and reports true) instead of handing it to mcp-go,
// which keys requests without a session by their JSON-RPC id alone: one
// client's cancel for id 1 would cut any other client's call with id 1.
// In that era a client cancels its own call by closing the call's
// response stream, which ends the request's context.
func (f *Front) dropModernCancellation(w http.ResponseWriter, r *http.Request) bool {
	if info := infoOf(w); info != nil && r.Method == http.MethodPost &&
		info.modern && info.method == string(mcp.MethodNotificationCancelled) {
		f.log.Debug("ignored notifications/cancelled of protocol 2026-07-28: close the request's stream to cancel it")
		w.WriteHeader(http.StatusAccepted)
		return true
	}
	return false
}

// Serve listens on Options.Addr (and MetricsAddr) and serves until ctx is
// done, then shuts down: calls in flight (SSE answers included) get up to
// ShutdownTimeout to finish while the listener stays open, /readyz answers
// 503 and new requests get 503; then streams are closed and the listeners
// too. It returns an error only when a listener cannot be opened or a
// server fails.
func (f *Front) Serve(ctx context.Context) error {
	o, log := f.opts, f.log
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return err
	}
	actx, stopAuth := context.WithCancel(context.Background())
	defer stopAuth()
	f.StartAuth(actx)
	srv := &http.Server{
		Handler:           f.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	if o.MetricsAddr != "" && o.Metrics != nil {
		mln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			ln.Close()
			return err
		}
		msrv := &http.Server{Handler: f.checkHost(o.Metrics), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, msrv)
		log.Info("serving metrics", "metrics_addr", mln.Addr().String())
		go func() { errc <- msrv.Serve(mln) }()
	}
	log.Info("serving MCP over HTTP", "addr", ln.Addr().String(), "streamable", "/mcp", "sse", "/sse",
		"auth", f.auth.Enabled(), "demo", o.Demo)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", o.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	// Not ready, but still listening: /readyz answers 503 and new requests
	// are refused while the calls in flight finish; then the listeners
	// close.
	f.stopping.Store(true)
	if !f.drain(sctx) {
		log.Warn("calls still in flight at the shutdown timeout", "in_flight", f.inFlight.Load())
	}
	f.Shutdown(sctx)
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			log.Warn("in-flight requests did not finish in time; closing them", tint.Err(err))
			s.Close()
		}
	}
	return nil
}

// drain waits until no call is in flight or ctx ends, and reports whether
// everything finished.
func (f *Front) drain(ctx context.Context) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for f.inFlight.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// Shutdown marks the front not ready and ends the MCP sessions, for Serve
// and for whoever serves Handler on a server of their own. SSE streams
// never end by themselves: they are closed first, or an http.Server's
// Shutdown would wait for its whole deadline. Calls in flight on /mcp
// finish within ctx.
func (f *Front) Shutdown(ctx context.Context) {
	f.stopping.Store(true)
	f.sse.CloseSessions()
	if err := f.streamable.Shutdown(ctx); err != nil {
		f.log.Warn("closing streamable HTTP sessions", tint.Err(err))
	}
}
