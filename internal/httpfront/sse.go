package httpfront

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// The legacy SSE transport answers each POST /message with 202 and writes
// the answer later to the client's event stream. mcp-go queues 100 events
// per stream and then parks one goroutine, holding its answer, per further
// call: a client that posts calls but never reads its stream grows the
// server without bound (3,000 calls of 30 KB answers: 2,779 goroutines and
// 259 MiB). The front therefore counts, per stream, the answers owed (calls
// posted, answers not yet written) and ends a stream whose client stays
// behind: when it owes more than MaxSSEQueue, or when one write to it stalls
// for SSEWriteTimeout. Ending the stream makes mcp-go drop the answers it
// still holds and release their goroutines.

// sseStreamKey carries a stream's *sseStream in the context of its GET, so
// that the session id generator can register it under the id it makes.
type sseStreamKey struct{}

// sseStream is the front's view of one open SSE stream.
type sseStream struct {
	id     string
	cancel context.CancelFunc // ends the stream (mcp-go's loop watches it)
	rc     *http.ResponseController

	mu      sync.Mutex
	owed    int  // requests posted whose answers are not written yet
	ended   bool // no more writes; owed answers are dropped
	writing bool // a write is under way (rc may be used to cut it)
}

// newSSESession is mcp-go's session id generator for SSE streams: it makes
// a random id and registers the stream that asked for it.
func (f *Front) newSSESession(ctx context.Context, _ *http.Request) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	if st, ok := ctx.Value(sseStreamKey{}).(*sseStream); ok {
		st.id = id
		f.sseMu.Lock()
		f.sseByID[id] = st
		f.sseMu.Unlock()
	}
	return id, nil
}

// boundSSEStream serves one SSE stream through a writer that counts the
// answers written and detects a client that stopped reading.
func (f *Front) boundSSEStream(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		st := &sseStream{cancel: cancel, rc: http.NewResponseController(w)}
		next.ServeHTTP(&sseWriter{ResponseWriter: w, f: f, st: st}, r.WithContext(context.WithValue(ctx, sseStreamKey{}, st)))
		f.endSSEStream(st, "")
		if st.id != "" {
			f.sseMu.Lock()
			delete(f.sseByID, st.id)
			f.sseMu.Unlock()
		}
	})
}

// endSSEStream marks the stream ended, drops what it owed and, when why is
// not empty (the client stays behind), logs it and cuts a write under way.
func (f *Front) endSSEStream(st *sseStream, why string) {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	st.ended = true
	dropped := st.owed
	st.owed = 0
	f.inFlight.Add(-int64(dropped))
	if why != "" && st.writing {
		// The stream's goroutine is blocked writing to a client that does
		// not read; a deadline in the past ends that write.
		_ = st.rc.SetWriteDeadline(time.Now())
	}
	st.mu.Unlock()
	st.cancel()
	if why != "" {
		f.log.Warn("client is not reading its SSE stream: closed the stream and dropped its answers",
			"session", st.id, "reason", why, "answers_dropped", dropped)
	}
}

// boundSSEQueue counts, per stream, each request posted to /message as an
// answer owed, and ends a stream that owes more than MaxSSEQueue.
func (f *Front) boundSSEQueue(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(w)
		if r.Method != http.MethodPost || info == nil || !info.request {
			next.ServeHTTP(w, r)
			return
		}
		f.sseMu.Lock()
		st := f.sseByID[r.URL.Query().Get("sessionId")]
		f.sseMu.Unlock()
		if st == nil {
			next.ServeHTTP(w, r) // mcp-go answers an unknown session
			return
		}
		st.mu.Lock()
		ended, over := st.ended, st.owed >= f.opts.MaxSSEQueue
		if !ended && !over {
			st.owed++
			f.inFlight.Add(1)
		}
		st.mu.Unlock()
		if over {
			f.endSSEStream(st, fmt.Sprintf("more than %d answers waiting to be read", f.opts.MaxSSEQueue))
		}
		if ended || over {
			plain(w, http.StatusServiceUnavailable, "this SSE stream was closed because its client did not read its answers: reconnect to /sse")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sseWriter is the ResponseWriter of one SSE stream: every write has a
// deadline, and each answer written settles one that the stream owed.
type sseWriter struct {
	http.ResponseWriter
	f  *Front
	st *sseStream
}

var errSSEEnded = errors.New("SSE stream ended: its client did not read")

func (w *sseWriter) Write(p []byte) (int, error) {
	st := w.st
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return 0, errSSEEnded
	}
	st.writing = true
	st.mu.Unlock()
	_ = st.rc.SetWriteDeadline(time.Now().Add(w.f.opts.SSEWriteTimeout))
	n, err := w.ResponseWriter.Write(p)
	if err == nil {
		err = st.rc.Flush()
	}
	st.mu.Lock()
	st.writing = false
	if err == nil && !st.ended {
		// Clear the deadline: an idle stream is not a stalled one.
		_ = st.rc.SetWriteDeadline(time.Time{})
		if st.owed > 0 && isAnswerEvent(p) {
			st.owed--
			w.f.inFlight.Add(-1)
		}
	}
	st.mu.Unlock()
	if err != nil {
		w.f.endSSEStream(st, fmt.Sprintf("a write stalled for %s", w.f.opts.SSEWriteTimeout))
	}
	return n, err
}

// Flush is done by Write (with its deadline); mcp-go's own Flush after
// each event has nothing left to send.
func (w *sseWriter) Flush() {}

// Unwrap lets http.ResponseController reach the connection.
func (w *sseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// isAnswerEvent reports whether an SSE event carries a JSON-RPC response
// (an id and no method), as opposed to the endpoint event, a notification
// or a request of the server's own (ping).
func isAnswerEvent(event []byte) bool {
	_, data, ok := bytes.Cut(event, []byte("data:"))
	if !ok {
		return false
	}
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method *string         `json:"method"`
	}
	return json.Unmarshal(bytes.TrimSpace(data), &msg) == nil && msg.Method == nil && len(msg.ID) > 0
}
