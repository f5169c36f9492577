package sessions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// reservedKey carries, in a request's context, the id LegacyGuard opened
// for an initialize, so that the resolver's Generate hands out that one.
type reservedKey struct{}

// refusalRetryAfter is what a client over the session cap is told to wait.
const refusalRetryAfter = 30 * time.Second

// LegacyGuard wraps mcp-go's streamable HTTP handler and answers, for
// legacy-era requests (any protocol before 2026-07-28) to endpointPath ("" =
// every path), what mcp-go v1.2.1 gets wrong or cannot do:
//
//   - initialize over the cap on open sessions: 503 with a JSON-RPC error
//     and Retry-After. mcp-go's SessionIdManager.Generate cannot refuse, so
//     the guard opens the session itself and the Manager's Generate returns
//     that id; if initialize then fails, the session is deleted again.
//   - any other POST carrying a method but no Mcp-Session-Id: 400 (mcp-go
//     answers 404, which tells a client its session expired).
//   - GET without `Accept: text/event-stream`: 406 (mcp-go opens a stream).
//   - GET or DELETE without Mcp-Session-Id: 400; with an id that is not
//     open: 404 (mcp-go opens a stream for any id, and answers DELETE 200).
//     An open GET stream keeps its session alive in the Store and is closed
//     when the session is ended on another replica (seen within IdleTTL/10).
//
// Modern requests (2026-07-28, stateless) pass untouched. Put the guard
// inside body-size limits and authentication: it reads a POST body whole
// (and hands it on) to learn its method and era.
func (m *Manager) LegacyGuard(endpointPath string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if endpointPath != "" && r.URL.Path != endpointPath || mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
			next.ServeHTTP(w, r)
			return
		}
		switch r.Method {
		case http.MethodPost:
			m.guardPost(w, r, next)
		case http.MethodGet:
			if !acceptsEventStream(r.Header) {
				writeJSONRPCError(w, http.StatusNotAcceptable, nil, mcp.INVALID_REQUEST,
					"a GET on this endpoint opens an event stream: send Accept: text/event-stream")
				return
			}
			id, ok := m.guardSessionID(w, r)
			if !ok {
				return
			}
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			go m.keepAlive(ctx, cancel, id)
			next.ServeHTTP(w, r.WithContext(ctx))
		case http.MethodDelete:
			if _, ok := m.guardSessionID(w, r); ok {
				next.ServeHTTP(w, r)
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// guardSessionID answers 400 for a missing id and 404 for one that is not
// open, and reports whether the request may go on.
func (m *Manager) guardSessionID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		writeJSONRPCError(w, http.StatusBadRequest, nil, mcp.INVALID_REQUEST,
			"Mcp-Session-Id header is required: send initialize first")
		return "", false
	}
	if err := m.validate(r.Context(), id); err != nil {
		writeJSONRPCError(w, http.StatusNotFound, nil, mcp.INVALID_REQUEST,
			"session not found or ended: send initialize again")
		return "", false
	}
	return id, true
}

func (m *Manager) guardPost(w http.ResponseWriter, r *http.Request, next http.Handler) {
	b, ok := r.Body.(*Body)
	if !ok || !b.unread() {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// Hand on what was read and the same error, so the limits outside
			// (413 for an oversized body) answer as they would without the guard.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			next.ServeHTTP(w, r)
			return
		}
		b = NewBody(body)
		r.Body = b
	}
	msg := b.Peek()
	if !msg.OK || msg.Method == "" || mcp.IsModernProtocol(msg.ProtocolVersion) {
		// Not a single request or notification (a response, a batch, bad
		// JSON), or a modern one: mcp-go's own answers are right.
		next.ServeHTTP(w, r)
		return
	}
	if msg.Method != string(mcp.MethodInitialize) {
		if r.Header.Get(server.HeaderKeySessionID) == "" {
			writeJSONRPCError(w, http.StatusBadRequest, requestID(msg.ID), mcp.INVALID_REQUEST,
				"Mcp-Session-Id header is required: send initialize first")
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	id, err := m.Open(r.Context())
	if err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(refusalRetryAfter/time.Second)))
		writeJSONRPCError(w, http.StatusServiceUnavailable, requestID(msg.ID), mcp.INTERNAL_ERROR,
			"too many open sessions on this server (limit "+strconv.Itoa(m.max)+
				"): end unused sessions with DELETE or try again later")
		return
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reservedKey{}, id)))
	if w.Header().Get(server.HeaderKeySessionID) != id {
		// initialize failed: the id never reached the client.
		_ = m.end(context.WithoutCancel(r.Context()), id)
	}
}

// requestID is a message's id as an answer carries it; nil without one.
func requestID(raw json.RawMessage) any {
	var id any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &id)
	}
	return id
}

// keepAlive refreshes a GET stream's session while the stream is open, and
// closes the stream (cancel) once the session has ended elsewhere.
func (m *Manager) keepAlive(ctx context.Context, cancel context.CancelFunc, id string) {
	t := time.NewTicker(max(m.refreshEvery, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.validate(ctx, id); errors.Is(err, ErrUnknown) {
				cancel()
				return
			}
		}
	}
}

func acceptsEventStream(h http.Header) bool {
	for _, v := range h.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
				return true
			}
		}
	}
	return false
}

func writeJSONRPCError(w http.ResponseWriter, status int, id any, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      id,
		"error":   map[string]any{"code": code, "message": message},
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
