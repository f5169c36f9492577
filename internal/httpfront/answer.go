package httpfront

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/rpcjson"
	"github.com/qcc-mcp/qcc-mcp/internal/sessions"
)

// The front answers the plainest tools/call of a legacy session itself
// (answerCall), where mcp-go's handler would: the same server, the same
// session, the same bytes on the wire, but one pass less over the answer.
// mcp-go writes each answer with a json.Encoder, which scans and copies
// the CallToolResult that MarshalJSON has just produced a second time, at
// about 8 ns a byte: for a search's 3 KB answer, more than encoding it
// did. Around that, its POST handler decodes the body twice more and
// starts a goroutine to forward notifications, which such a call never
// sends.
//
// "Plainest" is a call for which that handler does nothing more than
// HandleMessage and the encoding:
//
//   - a tools/call with an id, of a protocol before 2026-07-28, read in
//     one pass (sessions.Peek), with neither params._meta (no progress
//     token: progress is forwarded on the POST's stream, which is
//     mcp-go's to do) nor a protocol version in it;
//   - Content-Type application/json, and a Mcp-Protocol-Version header
//     that is absent or one mcp-go knows;
//   - a session mcp-go registered on this replica (legacySessions) and
//     the session manager still holds open.
//
// Everything else goes to mcp-go as before, and so does one call in a
// while of each session (touchEvery), which keeps mcp-go's idle sweeper,
// whose clock only its own handler moves, from ending the session's
// state while it is in use.
//
// What differs, none of it seen by this project's tools or by a client
// that follows the transport's rules:
//
//   - mcp-go answers every POST of a session that was ever sent a
//     notification as an event stream; these calls are always answered as
//     JSON, which the client accepts as much;
//   - a notification queued for the session while none of its requests
//     was being served waits for the next request mcp-go handles, or its
//     GET stream, rather than going out ahead of this call's answer;
//   - the tool sees the request's headers only through mcp-go's handler
//     (CallToolRequest.Header is empty here, and mcp-go's tracing and
//     request log, which this project configures neither of, see none);
//   - a tool's own requests to the client (sampling, elicitation, roots:
//     no tool here makes any) cannot travel on this POST's stream;
//   - an answer that cannot be encoded gets a JSON-RPC internal error,
//     where mcp-go sends 200 and no body;
//   - mcp-go's sweeper may end a session's state up to touchEvery before
//     its idle TTL, after which its calls go to mcp-go in a session of
//     the request's own, as on a replica that did not open it.

// legacySessions is the sessions mcp-go registered, by id, from the
// server's session hooks: for /mcp after an initialize or a GET stream,
// and the legacy SSE transport's too, whose ids the session manager never
// issued, so that answerCall's Validate refuses them.
type legacySessions struct {
	byID sync.Map // id → *legacySession
	// touchEvery is how long a session's calls may be answered here
	// before one goes to mcp-go again; 0: never (mcp-go sweeps nothing).
	touchEvery time.Duration
	now        func() time.Time
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
// some): then every call goes to mcp-go.
func newLegacySessions(s *server.MCPServer, idleTTL time.Duration) *legacySessions {
	hooks := s.GetHooks()
	if hooks == nil {
		return nil
	}
	l := &legacySessions{now: time.Now}
	if idleTTL > 0 {
		l.touchEvery = min(idleTTL/50, maxTouchEvery)
	}
	hooks.AddOnRegisterSession(func(_ context.Context, cs server.ClientSession) {
		e := &legacySession{session: cs}
		e.handed.Store(l.now().UnixNano()) // mcp-go's handler registered it, and counted that
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
	now := l.now().UnixNano()
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
// request untouched for mcp-go. The session guard has checked the
// request's session id is there.
func (f *Front) answerCall(w http.ResponseWriter, r *http.Request) bool {
	info := infoOf(w)
	if f.legacy == nil || r.Method != http.MethodPost || info == nil ||
		info.method != string(mcp.MethodToolsCall) || !info.request || info.modern {
		return false
	}
	body, ok := r.Body.(*sessions.Body)
	if !ok {
		return false
	}
	p := body.Peek()
	if !p.OK || p.Meta || !jsonContent(r.Header.Get("Content-Type")) {
		return false
	}
	if v := r.Header.Get(mcp.HeaderProtocolVersion); v != "" && !mcp.IsValidProtocolVersion(v) {
		return false
	}
	id := r.Header.Get(server.HeaderKeySessionID)
	e := f.legacy.get(id)
	if e == nil || f.legacy.due(e) {
		return false
	}
	if ended, err := f.sessions.ResolveSessionIdManager(r).Validate(id); err != nil || ended {
		// Ended (on another replica, say) or never issued: mcp-go asks
		// again and answers 404, and keeps its state until its sweep.
		f.legacy.byID.CompareAndDelete(id, e)
		return false
	}

	ctx := f.mcp.WithContext(r.Context(), e.session)
	ctx = server.WithSupportedProtocolVersions(ctx, f.versions)
	resp := f.mcp.HandleMessage(ctx, body.Bytes())
	if resp == nil {
		w.WriteHeader(http.StatusAccepted)
		return true
	}
	if r.Context().Err() != nil {
		return true // the client is gone, as mcp-go's handler finds too
	}
	out, err := rpcjson.Encode(resp)
	if err != nil {
		// mcp-go would answer 200 and no body.
		f.log.Error("a tool call's answer could not be encoded", tint.Err(err))
		out = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":"internal error: the answer could not be encoded"}}`+"\n",
			p.ID, mcp.INTERNAL_ERROR)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return true
}

// jsonContent reports whether a Content-Type is application/json, as
// mcp-go's handler checks it.
func jsonContent(v string) bool {
	if v == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "application/json"
}
