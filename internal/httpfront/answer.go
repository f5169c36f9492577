package httpfront

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/rpcjson"
	"github.com/qcc-mcp/qcc-mcp/internal/sessions"
	"github.com/qcc-mcp/qcc-mcp/internal/sessionstate"
)

// The front answers the plainest tools/call itself (answerCall), where
// mcp-go's streamable handler would: the same server, the same kind of
// session, the same bytes on the wire, but one pass less over the answer.
// mcp-go writes each answer with a json.Encoder, which scans and copies
// the CallToolResult that MarshalJSON has just produced a second time, at
// about 8 ns a byte: for a search's 3 KB answer, more than encoding it
// did. Around that, its POST handler decodes the body twice more, starts
// a goroutine to forward notifications, which such a call never sends,
// and for protocol 2026-07-28 makes a session with a 100-slot channel and
// marshals the tool's input schema again to look for parameters mirrored
// in headers.
//
// "Plainest" is a call for which that handler does nothing more than
// HandleMessage and the encoding:
//
//   - a tools/call with an id, read in one pass (sessions.Peek), whose
//     params._meta holds nothing but what protocol 2026-07-28 puts on
//     every request (so no progress token: progress is forwarded on the
//     POST's stream, which is mcp-go's to do), with Content-Type
//     application/json;
//   - before 2026-07-28: no protocol version in _meta, a
//     Mcp-Protocol-Version header that is absent or one mcp-go knows, and
//     a session the session manager holds open; the call runs in the
//     session mcp-go registered for it on this replica (legacySessions),
//     or, for a session opened on another replica, in one of its own
//     (requestSession), as mcp-go's would;
//   - from 2026-07-28: every check mcp-go's handler makes of the headers
//     passed (plainModernCall), and a tool mirroring no parameter in
//     headers; the call runs in a session of its own (requestSession).
//
// Everything else goes to mcp-go as before, and so does one call in a
// while of each legacy session (touchEvery), which keeps mcp-go's idle
// sweeper, whose clock only its own handler moves, from ending the
// session's state while it is in use.
//
// What differs, none of it seen by this project's tools or by a client
// that follows the transport's rules:
//
//   - mcp-go answers every POST of a legacy session that was ever sent a
//     notification as an event stream; these calls are always answered
//     as JSON, which the client accepts as much;
//   - a notification queued for a legacy session while none of its
//     requests was being served waits for the next request mcp-go
//     handles, or its GET stream, rather than going out ahead of this
//     call's answer; one a tool sends during a 2026-07-28 call is dropped
//     (this project's tools send nothing but progress);
//   - the tool sees the request's headers only through mcp-go's handler
//     (CallToolRequest.Header is empty here, and mcp-go's tracing and
//     request log, which this project configures neither of, see none);
//   - a tool's own requests to the client (sampling, elicitation, roots:
//     no tool here makes any) cannot travel on this POST's stream;
//   - an answer that cannot be encoded gets a JSON-RPC internal error,
//     where mcp-go sends 200 and no body;
//   - mcp-go's sweeper may end a legacy session's state up to touchEvery
//     before its idle TTL, after which its calls run in a session of the
//     request's own, as on a replica that did not open it.

// legacySessions is the sessions mcp-go registered, by id, from the
// server's session hooks: for /mcp after an initialize or a GET stream,
// and the legacy SSE transport's too, whose ids the session manager never
// issued, so that answerCall's Validate refuses them.
type legacySessions struct {
	byID sync.Map // id → *legacySession
	// touchEvery is how long a session's calls may be answered here
	// before one goes to mcp-go again; 0: never (mcp-go sweeps nothing).
	touchEvery time.Duration
}

type legacySession struct {
	session server.ClientSession
	// handed is when (unix nanos) the front last handed mcp-go a call of
	// it that answerCall could have answered, or the session was
	// registered: mcp-go counted the session in use then, at the latest.
	handed atomic.Int64
}

// maxTouchEvery bounds touchEvery, so that mcp-go's sweeper sees a
// session in use at most this long after it last was.
const maxTouchEvery = 10 * time.Second

// newLegacySessions follows s's registered sessions, or returns nil when
// s has no hooks to follow them with (tools.NewServer always gives it
// some): then every legacy call goes to mcp-go.
func newLegacySessions(s *server.MCPServer, idleTTL time.Duration) *legacySessions {
	hooks := s.GetHooks()
	if hooks == nil {
		return nil
	}
	l := &legacySessions{}
	if idleTTL > 0 {
		l.touchEvery = min(idleTTL/50, maxTouchEvery)
	}
	hooks.AddOnRegisterSession(func(_ context.Context, cs server.ClientSession) {
		e := &legacySession{session: cs}
		e.handed.Store(time.Now().UnixNano()) // mcp-go's handler registered it, and counted that
		l.byID.Store(cs.SessionID(), e)
	})
	hooks.AddOnUnregisterSession(func(_ context.Context, cs server.ClientSession) {
		// Only the entry of this session: a GET stream's late
		// unregistering must not drop the session that followed it.
		if e := l.get(cs.SessionID()); e != nil && e.session == cs {
			l.byID.CompareAndDelete(cs.SessionID(), e)
		}
	})
	return l
}

func (l *legacySessions) get(id string) *legacySession {
	if v, ok := l.byID.Load(id); ok {
		return v.(*legacySession)
	}
	return nil
}

// due reports, for a call of e that could be answered here, whether it
// goes to mcp-go instead, which then counts the session in use; it
// notes it so.
func (l *legacySessions) due(e *legacySession) bool {
	if l.touchEvery <= 0 {
		return false
	}
	now := time.Now().UnixNano()
	if last := e.handed.Load(); now-last < int64(l.touchEvery) || !e.handed.CompareAndSwap(last, now) {
		// Not yet, or a concurrent call of the session is the one.
		return false
	}
	return true
}

// serveStreamable is /mcp's innermost handler: the calls answerCall
// answers, and mcp-go's streamable HTTP handler for the rest.
func (f *Front) serveStreamable(w http.ResponseWriter, r *http.Request) {
	if !f.answerCall(w, r) {
		f.streamable.ServeHTTP(w, r)
	}
}

// answerCall answers a tools/call mcp-go's handler would answer with
// nothing more than HandleMessage and its json.Encoder (see the comment
// at the top of this file), and reports whether it did; false leaves the
// request untouched for mcp-go. The session guard has checked a legacy
// request's session id is there.
func (f *Front) answerCall(w http.ResponseWriter, r *http.Request) bool {
	info := infoOf(w)
	if r.Method != http.MethodPost || info == nil || info.method != string(mcp.MethodToolsCall) || !info.request {
		return false
	}
	body, ok := r.Body.(*sessions.Body)
	if !ok {
		return false
	}
	p := body.Peek()
	if !p.OK || !p.NameOK || p.Meta || !jsonContent(r.Header.Get("Content-Type")) {
		return false
	}
	var session server.ClientSession
	if info.modern {
		if !f.plainModernCall(r, p) {
			return false
		}
		session = &requestSession{}
	} else if session = f.legacySession(r, p); session == nil {
		return false
	}

	ctx := f.mcp.WithContext(r.Context(), session)
	ctx = server.WithSupportedProtocolVersions(ctx, f.versions)
	resp := f.mcp.HandleMessage(ctx, body.Bytes())
	if resp == nil {
		w.WriteHeader(http.StatusAccepted)
		return true
	}
	if r.Context().Err() != nil {
		return true // the client is gone, as mcp-go's handler finds too
	}
	status := http.StatusOK
	if e, ok := resp.(mcp.JSONRPCError); ok && info.modern {
		status = modernErrorStatus(e.Error.Code)
	}
	out, err := rpcjson.Encode(resp)
	if err != nil {
		// mcp-go would answer 200 and no body.
		f.log.Error("a tool call's answer could not be encoded", tint.Err(err))
		status = http.StatusOK
		out = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":"internal error: the answer could not be encoded"}}`+"\n",
			p.ID, mcp.INTERNAL_ERROR)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
	return true
}

// legacySession returns the session a plain legacy call runs in, or nil
// when mcp-go's handler is to serve it (see the comment at the top).
func (f *Front) legacySession(r *http.Request, p *sessions.Peek) server.ClientSession {
	if f.legacy == nil || p.ProtocolVersion != "" {
		return nil
	}
	if v := r.Header.Get(mcp.HeaderProtocolVersion); v != "" && !mcp.IsValidProtocolVersion(v) {
		return nil
	}
	id := r.Header.Get(server.HeaderKeySessionID)
	e := f.legacy.get(id)
	if e != nil && f.legacy.due(e) {
		return nil
	}
	if ended, err := f.sessions.ResolveSessionIdManager(r).Validate(id); err != nil || ended {
		// Ended (on another replica, say) or never issued: mcp-go asks
		// again and answers 404, and keeps its state until its sweep.
		if e != nil {
			f.legacy.byID.CompareAndDelete(id, e)
		}
		return nil
	}
	if e == nil {
		// Open, but not registered here: opened on another replica (or
		// swept here). mcp-go serves it in a session of the request's
		// own, knowing nothing of the client, and so does the front.
		return &requestSession{id: id}
	}
	return e.session
}

// plainModernCall reports whether a call of protocol 2026-07-28 passes
// every check mcp-go's handler and HandleMessage make of its headers:
// no Last-Event-ID, the version in the header and in _meta the same and
// one this server speaks, Mcp-Method and Mcp-Name matching the body, and
// a tool without parameters mirrored in headers (x-mcp-header), whose
// check is left to mcp-go. A call that fails any of them goes to mcp-go,
// which answers the error. (HandleMessage checks these headers only
// when it is given them, which only its own handler can do.)
func (f *Front) plainModernCall(r *http.Request, p *sessions.Peek) bool {
	h := r.Header
	v := p.ProtocolVersion
	if h.Get(mcp.HeaderLastEventID) != "" || h.Get(mcp.HeaderProtocolVersion) != v ||
		!mcp.IsValidProtocolVersion(v) || !f.streamable.SupportsProtocolVersion(v) {
		return false
	}
	if h.Get(mcp.HeaderMethod) != string(mcp.MethodToolsCall) {
		return false
	}
	hn := h.Get(mcp.HeaderName)
	name, ok := mcp.DecodeHeaderValue(hn)
	if hn == "" || !ok || name != p.Name {
		return false
	}
	return !f.bindsHeaders(p.Name)
}

// bindsHeaders reports whether the tool called name may mirror
// parameters in headers, or is not a plain tool of the server (unknown,
// a task tool): mcp-go's handler is to check those calls. What a tool's
// input schema says is read once per schema: mcp-go reads it (and
// marshals it again) on every call. (A uintptr of the map is only a
// name: the tool keeps the map alive while it is registered.)
func (f *Front) bindsHeaders(name string) bool {
	t := f.mcp.GetTool(name)
	if t == nil {
		return true
	}
	key := schemaKey{name: name}
	if raw := t.Tool.RawInputSchema; len(raw) > 0 {
		key.first, key.n = &raw[0], len(raw)
	} else if props := t.Tool.InputSchema.Properties; len(props) > 0 {
		key.props = reflect.ValueOf(props).Pointer()
	} else {
		return false // no properties, so none mirrored
	}
	if v, ok := f.headerTools.Load(key); ok {
		return v.(bool)
	}
	binds := len(mcp.ExtractParamHeaderBindings(&t.Tool)) > 0
	f.headerTools.Store(key, binds)
	return binds
}

// schemaKey names a tool's input schema as registered, by the memory
// that holds it (the raw schema's bytes, or the properties map, which
// GetTool's copies of the tool share): a tool added again with another
// schema is read again.
type schemaKey struct {
	name  string
	first *byte
	n     int
	props uintptr
}

// modernErrorStatus is the HTTP status protocol 2026-07-28 gives a
// JSON-RPC error, as mcp-go's handler maps it.
func modernErrorStatus(code int) int {
	switch code {
	case mcp.METHOD_NOT_FOUND:
		return http.StatusNotFound
	case mcp.HEADER_MISMATCH, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, mcp.UNSUPPORTED_PROTOCOL_VERSION,
		mcp.INVALID_REQUEST, mcp.INVALID_PARAMS, mcp.PARSE_ERROR:
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// requestSession is the session of one call, as mcp-go's handler makes
// one for a request of protocol 2026-07-28 (no id) and for one of a
// legacy session it holds no state of (that session's id): initialized,
// and knowing of the client what HandleMessage reads from _meta, which
// before 2026-07-28 is nothing. Notifications sent to it go nowhere:
// answerCall serves no call that asked for progress, and no tool here
// sends anything else.
type requestSession struct {
	sessionstate.State
	id string
}

var (
	_ server.ClientSession              = (*requestSession)(nil)
	_ server.SessionWithClientInfo      = (*requestSession)(nil)
	_ server.SessionWithLogging         = (*requestSession)(nil)
	_ server.SessionWithProtocolVersion = (*requestSession)(nil)
)

// nowhere is every requestSession's notification channel: nothing reads
// it, so a send (mcp-go's never block) finds it full.
var nowhere = make(chan mcp.JSONRPCNotification)

func (s *requestSession) SessionID() string                                   { return s.id }
func (s *requestSession) NotificationChannel() chan<- mcp.JSONRPCNotification { return nowhere }
func (s *requestSession) Initialize()                                         {}
func (s *requestSession) Initialized() bool                                   { return true }

// jsonContent reports whether a Content-Type is application/json, as
// mcp-go's handler checks it.
func jsonContent(v string) bool {
	if v == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "application/json"
}
