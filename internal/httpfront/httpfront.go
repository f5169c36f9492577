// Package httpfront is the server's HTTP face: streamable HTTP at /mcp and
// the legacy SSE transport at /sse and /message, behind an origin check
// (against DNS rebinding and cross-site use), authentication (static
// bearer tokens and OAuth access tokens, through internal/auth), body size
// and read-time limits and a cap on SSE streams; an access log naming the
// caller; /healthz and /readyz; the OAuth protected-resource metadata;
// /metrics; and a graceful shutdown. It knows nothing of QCC.
package httpfront

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/auth"
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
	MaxSSEStreams   int                 // cap on open SSE streams
	SessionIdleTTL  time.Duration       // streamable HTTP sessions idle this long are forgotten
	ShutdownTimeout time.Duration       // how long in-flight requests may finish on shutdown
	Metrics         http.Handler        // the /metrics page; nil: none
	MetricsAddr     string              // serve Metrics on this address without auth instead of on /metrics
	Demo            bool                // reported in the start-up log line
	Logger          *slog.Logger
	// SessionStore, if set, keeps legacy streamable HTTP sessions there
	// (shared by replicas on one Redis): only issued ids are accepted and
	// a DELETE on any replica ends the session everywhere. Nil: mcp-go's
	// own sessions.
	SessionStore sessions.Store
}

// Front is the HTTP face of the server: the MCP transports behind origin
// checks, bearer auth and limits, an access log, health endpoints and
// metrics.
type Front struct {
	opts       Options
	log        *slog.Logger
	streamable *server.StreamableHTTPServer
	sessions   *sessions.Manager // nil without Options.SessionStore
	sse        *server.SSEServer
	auth       *auth.Authenticator
	sseStreams atomic.Int64
	stopping   atomic.Bool
}

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
	f := &Front{opts: o, log: o.Logger, auth: a,
		sse: server.NewSSEServer(s, server.WithSSEEndpoint("/sse"), server.WithMessageEndpoint("/message")),
	}
	streamOpts := []server.StreamableHTTPOption{server.WithSessionIdleTTL(o.SessionIdleTTL)}
	if o.SessionStore != nil {
		// The resolver option, never WithSessionIdManager: see
		// sessions.Manager.ResolveSessionIdManager.
		f.sessions = sessions.NewManager(o.SessionStore, sessions.Config{IdleTTL: o.SessionIdleTTL, Logger: o.Logger})
		streamOpts = append(streamOpts, server.WithSessionIdManagerResolver(f.sessions))
	}
	f.streamable = server.NewStreamableHTTPServer(s, streamOpts...)
	return f
}

// StartAuth fetches the authorization server's keys in the background
// until ctx ends (nothing without OAuth). Serve calls it; a test that
// serves Handler itself calls it too.
func (f *Front) StartAuth(ctx context.Context) { f.auth.Start(ctx) }

// OpenSSEStreams returns how many SSE streams are open now, for metrics.
func (f *Front) OpenSSEStreams() int64 { return f.sseStreams.Load() }

// Handler mounts streamable HTTP at /mcp, the legacy SSE transport at /sse
// and /message, /healthz and /readyz (open to all) and /metrics (behind
// auth, unless served on its own listener).
// Handler returns the front's handler, for Serve and for tests.
func (f *Front) Handler() http.Handler {
	protected := http.NewServeMux()
	var mcpHandler http.Handler = f.streamable
	if f.sessions != nil {
		mcpHandler = f.sessions.LegacyGuard("/mcp", mcpHandler)
	}
	protected.Handle("/mcp", mcpHandler)
	protected.Handle("/sse", f.limitSSEStreams(f.sse.SSEHandler()))
	protected.Handle("/message", f.sse.MessageHandler())
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
	caller  *identity.Identity // who, when authentication named a caller
}

type requestInfoKey struct{}

// accessLog logs one line per request: method, path, status, duration,
// session, tool and caller. Never a header value, so never a token.
func (f *Front) accessLog(next http.Handler) http.Handler {
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
		if info.caller != nil {
			attrs = append(attrs, "caller", *info.caller)
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

// checkOrigin refuses requests from origins that are not allowed, against
// DNS rebinding and cross-site use from browsers. Without
// --allowed-origins only requests without Origin or from a loopback origin
// pass; with it, exactly the listed origins.
func (f *Front) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		ok := origin == ""
		if !ok && len(f.opts.AllowedOrigins) > 0 {
			ok = slices.Contains(f.opts.AllowedOrigins, origin)
		} else if !ok {
			ok = isLoopbackOrigin(origin)
		}
		if !ok {
			plain(w, http.StatusForbidden, "origin not allowed")
			return
		}
		if r.Method == http.MethodOptions && origin != "" && len(f.opts.AllowedOrigins) > 0 {
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
	return loopback.Host(u.Hostname())
}

// authenticate refuses credentials in URLs and, when authentication is
// configured, requires a valid bearer token (internal/auth), noting the
// caller for the access log.
func (f *Front) authenticate(next http.Handler) http.Handler {
	return f.auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.trusted = true
			if id, ok := identity.FromContext(r.Context()); ok {
				info.caller = &id
			}
		}
		next.ServeHTTP(w, r)
	}))
}

// readBody reads a request body within the size limit and a read deadline
// (against slow clients), then hands it on; an oversized body gets 413 and
// the server carries on. It also notes the tool of a tools/call for the
// access log.
func (f *Front) readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodDelete || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(f.opts.BodyReadTimeout))
		body, err := io.ReadAll(io.LimitReader(r.Body, f.opts.MaxBodyBytes+1))
		if err != nil {
			// The deadline stays in the past: net/http would otherwise
			// wait for the rest of the body before answering.
			w.Header().Set("Connection", "close")
			plain(w, http.StatusRequestTimeout, "could not read the request body in time")
			return
		}
		_ = rc.SetReadDeadline(time.Time{})
		switch {
		case int64(len(body)) > f.opts.MaxBodyBytes:
			w.Header().Set("Connection", "close")
			plain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over the limit of %d bytes", f.opts.MaxBodyBytes))
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
func (f *Front) limitSSEStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if f.sseStreams.Add(1) > int64(f.opts.MaxSSEStreams) {
				f.sseStreams.Add(-1)
				w.Header().Set("Retry-After", "5")
				plain(w, http.StatusServiceUnavailable, fmt.Sprintf("too many open SSE streams (limit %d); retry later or use streamable HTTP at /mcp", f.opts.MaxSSEStreams))
				return
			}
			defer f.sseStreams.Add(-1)
		}
		next.ServeHTTP(w, r)
	})
}

// Serve listens on Options.Addr (and MetricsAddr) and serves until ctx is
// done, then shuts down: SSE streams are closed, calls in flight get up to
// ShutdownTimeout to finish, and /readyz answers 503 meanwhile. It returns
// an error only when a listener cannot be opened or a server fails.
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
		msrv := &http.Server{Handler: o.Metrics, ReadHeaderTimeout: 10 * time.Second}
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
	f.Shutdown(sctx)
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			log.Warn("in-flight requests did not finish in time; closing them", tint.Err(err))
			s.Close()
		}
	}
	return nil
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
