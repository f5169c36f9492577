// Package stdio serves MCP over a process's stdin and stdout: mcp-go's
// MCPServer handles the messages, as under mcp-go's own stdio server,
// and this package reads, dispatches and writes them, with a drain and a
// gate on its input:
//
//   - a client that writes its requests and closes stdin (a script, a pipe)
//     still gets every answer, and so does a call in flight at SIGTERM: the
//     calls read get the shutdown timeout to be answered;
//   - a line longer than the message limit is answered with a JSON-RPC
//     error and discarded as it streams in, never held whole;
//   - a JSON-RPC batch is answered with a JSON-RPC error (the MCP protocol
//     has no batches) instead of mcp-go's misleading "Failed to parse
//     message";
//   - each line is read once, where mcp-go's stdio server decodes it five
//     times before handing it on (a fifth of a search's CPU over stdio),
//     and a panic's value is logged, not sent to the client.
package stdio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/jsonskip"
	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/rpcjson"
	"github.com/qcc-mcp/qcc-mcp/internal/sessionstate"
)

// Serve serves JSON-RPC on stdin and stdout until stdin ends, ctx is
// done or stdout can no longer be written (the client closed its end);
// logs go to log (stderr), never to stdout. Requests still running
// when stdin ends or ctx is done (SIGTERM) get up to drainTimeout to be
// answered; no request read after that is started. A line over
// maxLineBytes gets a JSON-RPC error and is discarded.
//
// Messages are dispatched as mcp-go's stdio server dispatches them, on
// the same session semantics, without its reading of every line five
// times: the drain reads each line once, and tools/call goes to a pool
// of workers, other requests to a goroutine each, notifications run in
// order on the reader.
func Serve(ctx context.Context, s *server.MCPServer, stdin io.Reader, stdout io.Writer, log *slog.Logger, drainTimeout time.Duration, maxLineBytes int) error {
	d := newDrain(stdin, stdout, drainTimeout, maxLineBytes, log)
	sess := newSession()
	// Requests get a context that ends only once the drain is over, not
	// at the signal: the drain is what gives them their time.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	if err := s.RegisterSession(reqCtx, sess); err != nil {
		return fmt.Errorf("register session: %w", err)
	}
	defer s.UnregisterSession(reqCtx, sess.SessionID())
	l := &loop{srv: s, d: d, ctx: s.WithContext(reqCtx, sess), calls: make(chan call, callQueue)}
	for range callWorkers {
		l.wg.Go(l.callWorker)
	}
	l.wg.Go(func() { l.notifications(sess.notifications) })

	stopWatching := context.AfterFunc(ctx, func() { d.startDrain("signal") })
	defer stopWatching()
	read := make(chan error, 1)
	go func() { read <- d.run(l.dispatch) }()
	var err error
	select {
	case err = <-read:
	case <-d.stopping:
		// However the drain started (a signal, end of input, stdout
		// closed), the reader may still be blocked on stdin: the drain's
		// end is the session's.
		<-d.drained
	}
	cancelRequests()
	l.closeAndWait()
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// The tools/call pool, as mcp-go's stdio server has it: calls beyond the
// workers wait in the queue, and beyond the queue the reader waits, so a
// client that floods stdin is slowed, not refused.
const (
	callWorkers = 5
	callQueue   = 100
)

// loop dispatches the drain's messages to mcp-go and writes the answers.
type loop struct {
	srv   *server.MCPServer
	d     *drain
	ctx   context.Context // the session's; ends after the drain
	calls chan call

	mu     sync.Mutex // guards closed against wg's Add
	closed bool       // Serve is waiting for the handlers: start no more
	wg     sync.WaitGroup
}

// spawn runs f on a goroutine Serve waits for, unless Serve is already
// waiting (a message read at the drain's timeout); it reports whether f
// runs.
func (l *loop) spawn(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Go(f)
	return true
}

// closeAndWait starts no more handlers and waits for those running.
func (l *loop) closeAndWait() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
}

// call is one message for a worker.
type call struct {
	msg   []byte
	rawID []byte // nil for a notification
}

// dispatch runs on the reader's goroutine with one accepted message (a
// copy the loop owns) and what the drain read of it. Every message that
// gets here counts as in flight until it is handled.
func (l *loop) dispatch(msg []byte, h header) {
	c := call{msg: msg, rawID: h.rawID}
	switch {
	case !h.valid:
		l.d.writeError(nil, mcp.PARSE_ERROR, "Parse error")
		l.d.done()
	case !h.complete:
		// Valid JSON but not an object: mcp-go's answer.
		l.handle(c)
	case h.methodIs("tools/call"):
		select {
		case l.calls <- c:
		case <-l.ctx.Done():
			l.d.done()
		}
	case h.idNotNull && !h.methodNotString:
		// Requests (and answers to the server) run off the reader: a
		// handler that blocks, such as subscriptions/listen, must not
		// stall it.
		if !l.spawn(func() { l.handle(c) }) {
			l.d.done()
		}
	default:
		// Notifications keep their order.
		l.handle(c)
	}
}

func (l *loop) callWorker() {
	for {
		select {
		case c := <-l.calls:
			l.handle(c)
		case <-l.ctx.Done():
			return
		}
	}
}

// handle runs one message through mcp-go and writes its answer, if any;
// a panic outside the tools' own recovery is answered as an internal
// error, not a dead worker.
func (l *loop) handle(c call) {
	defer l.d.done()
	var resp mcp.JSONRPCMessage
	func() {
		defer func() {
			if r := recover(); r != nil {
				// The tools recover their own panics, redacted; this is
				// one in mcp-go. Its value could hold anything it was
				// handed: the log gets its type and the stack.
				l.d.log.Error("stdio: panic while handling a message", "panic_type", fmt.Sprintf("%T", r), "stack", string(debug.Stack()))
				if c.rawID != nil {
					l.d.writeError(c.rawID, mcp.INTERNAL_ERROR, "internal error")
				}
			}
		}()
		resp = l.srv.HandleMessage(l.ctx, c.msg)
	}()
	if resp == nil {
		return
	}
	b, err := rpcjson.Encode(resp)
	if err != nil {
		l.d.log.Error("stdio: an answer could not be encoded", tint.Err(err))
		if c.rawID != nil {
			l.d.writeError(c.rawID, mcp.INTERNAL_ERROR, "internal error: the answer could not be encoded")
		}
		return
	}
	l.d.write(b)
}

// notifications writes what the server sends the client (progress, list
// changes, log messages) until the session ends.
func (l *loop) notifications(ch <-chan mcp.JSONRPCNotification) {
	for {
		select {
		case n := <-ch:
			b, err := rpcjson.Encode(n)
			if err != nil {
				l.d.log.Error("stdio: a notification could not be encoded", tint.Err(err))
				continue
			}
			l.d.write(b)
		case <-l.ctx.Done():
			return
		}
	}
}

// session is the one client session of a stdio server, as mcp-go's own
// stdio session is to the server: logging level, client info and
// capabilities, the protocol version, and a channel of notifications.
// It asks nothing of the client (no sampling, elicitation or roots): no
// tool here does.
type session struct {
	sessionstate.State
	notifications chan mcp.JSONRPCNotification
	initialized   atomic.Bool
}

func newSession() *session {
	return &session{notifications: make(chan mcp.JSONRPCNotification, 100)}
}

var (
	_ server.ClientSession              = (*session)(nil)
	_ server.SessionWithLogging         = (*session)(nil)
	_ server.SessionWithClientInfo      = (*session)(nil)
	_ server.SessionWithProtocolVersion = (*session)(nil)
)

func (s *session) SessionID() string { return "stdio" }

func (s *session) NotificationChannel() chan<- mcp.JSONRPCNotification { return s.notifications }

func (s *session) Initialize() {
	s.SetLogLevel(mcp.LoggingLevelError)
	s.initialized.Store(true)
}

func (s *session) Initialized() bool { return s.initialized.Load() }

// drain sits between stdin and the loop, and between the loop and
// stdout. Reads happen on one goroutine; writes on many (answers are
// written as calls end).
type drain struct {
	in      io.Reader
	out     io.Writer
	timeout time.Duration
	max     int // longest line accepted, newline excluded
	log     *slog.Logger

	// Input side, owned by the reading goroutine.
	buf        []byte // bytes read from in: buf[start:end] not yet handed on
	start, end int
	discarding bool   // inside a line over max
	prefix     []byte // the start of that line, to find its id
	dropped    int    // bytes of it discarded so far
	eof        bool

	outMu     sync.Mutex // one message at a time on stdout
	outClosed bool       // a write to stdout failed: the session is ending

	mu       sync.Mutex
	count    int           // messages dispatched and not yet handled
	draining bool          // the drain waits on changed
	changed  chan struct{} // closed and replaced when count drops while draining

	drainOnce sync.Once
	stopping  chan struct{} // closed when the drain starts
	drained   chan struct{} // closed when the drain is over
}

// prefixBytes is how much of an oversized line is kept to find its id:
// encoders write "id" before "params".
const prefixBytes = 4 << 10

func newDrain(in io.Reader, out io.Writer, timeout time.Duration, max int, log *slog.Logger) *drain {
	if max <= 0 {
		max = 1 << 20
	}
	return &drain{in: in, out: out, timeout: timeout, max: max, log: log,
		buf: make([]byte, 64<<10), changed: make(chan struct{}),
		stopping: make(chan struct{}), drained: make(chan struct{})}
}

// startDrain begins waiting for the answers owed, once: from end of input
// or a signal, whichever comes first. drained is closed when they are all
// written or the timeout passes.
func (d *drain) startDrain(why string) {
	d.drainOnce.Do(func() {
		logging.Flush(d.log)
		close(d.stopping)
		d.mu.Lock()
		n := d.count
		d.draining = true
		d.mu.Unlock()
		if n > 0 {
			d.log.Info("stdio: waiting for the calls in flight", "reason", why, "calls", n, "timeout", d.timeout)
		}
		go func() {
			defer close(d.drained)
			deadline := time.NewTimer(d.timeout)
			defer deadline.Stop()
			for {
				d.mu.Lock()
				left, changed := d.count, d.changed
				d.mu.Unlock()
				if left == 0 {
					return
				}
				select {
				case <-changed:
				case <-deadline.C:
					d.log.Warn("stdio: calls still in flight at the shutdown timeout; their answers are lost", "calls", left)
					return
				}
			}
		}()
	})
}

// run reads stdin and hands dispatch one accepted message at a time,
// counted in flight until done. At end of input, or once the drain has
// started, it waits for the drain and returns nil; a read error other
// than EOF is returned at once.
func (d *drain) run(dispatch func(msg []byte, h header)) error {
	for {
		select {
		case <-d.stopping:
			// Nothing read after a signal is started.
			<-d.drained
			return nil
		default:
		}
		if line, ok := d.nextLine(); ok {
			if line != nil {
				h := scanMessage(line, true)
				// Counted under the lock the drain reads the count with:
				// either the drain waits for this message, or the drain
				// began first and the message is not started (Serve may
				// already be past waiting for its handlers).
				d.mu.Lock()
				late := d.draining
				if !late {
					d.count++
				}
				d.mu.Unlock()
				if late {
					continue
				}
				// The line is in buf, which the next read overwrites.
				dispatch(bytes.Clone(line), h)
			}
			continue
		}
		if d.eof {
			d.startDrain("end of input")
			<-d.drained
			return nil
		}
		if err := d.fill(); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
}

// fill reads more input into buf, making room first.
func (d *drain) fill() error {
	if d.start > 0 {
		d.end = copy(d.buf, d.buf[d.start:d.end])
		d.start = 0
	}
	if d.end == len(d.buf) {
		// A line longer than buf and not yet over max: grow, up to max.
		nb := make([]byte, min(2*len(d.buf), d.max+64<<10))
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	n, err := d.in.Read(d.buf[d.end:])
	d.end += n
	if err != nil {
		if errors.Is(err, io.EOF) {
			d.eof = true
		}
		return err
	}
	return nil
}

// nextLine takes the next whole line out of buf: an accepted line is
// returned, newline and carriage return trimmed; a batch or an oversized
// line is answered here (nil). The bool reports whether it made progress.
func (d *drain) nextLine() ([]byte, bool) {
	data := d.buf[d.start:d.end]
	i := bytes.IndexByte(data, '\n')
	if d.discarding {
		if i < 0 {
			d.dropped += len(data)
			d.start = d.end
			if d.eof {
				d.finishOversized()
			}
			return nil, d.eof && len(data) > 0
		}
		d.dropped += i + 1
		d.start += i + 1
		d.finishOversized()
		return nil, true
	}
	if i < 0 {
		if len(data) > d.max {
			// Over the limit before its end: keep its start to find the
			// id and let the rest stream past.
			d.discarding = true
			d.prefix = append(d.prefix[:0], data[:min(len(data), prefixBytes)]...)
			d.dropped = len(data)
			d.start = d.end
			return nil, true
		}
		if d.eof && len(data) > 0 {
			// A last line without a newline is a message too.
			i = len(data)
		} else {
			return nil, false
		}
	}
	whole := data[:min(i+1, len(data))]
	d.start += len(whole)
	body := bytes.TrimRight(whole, "\r\n")
	switch {
	case len(body) > d.max:
		d.prefix = append(d.prefix[:0], body[:prefixBytes]...)
		d.dropped = len(whole)
		d.finishOversized()
	case isBatch(body):
		if json.Valid(body) {
			d.writeError(nil, mcp.INVALID_REQUEST, "JSON-RPC batches are not supported: the MCP protocol has none; send one message per line")
		} else {
			d.writeError(nil, mcp.PARSE_ERROR, "Parse error")
		}
	default:
		return body, true
	}
	return nil, true
}

// finishOversized answers the line being discarded.
func (d *drain) finishOversized() {
	h := scanMessage(d.prefix, false)
	var id []byte
	if h.hasID && json.Valid(h.rawID) {
		id = h.rawID
	}
	d.writeError(id, mcp.INVALID_REQUEST, fmt.Sprintf(
		"message of %d bytes is over the limit of %d bytes (--max-body-bytes) and was discarded", d.dropped, d.max))
	d.log.Warn("stdio: discarded a message over the size limit", "bytes", d.dropped, "limit", d.max)
	d.discarding, d.dropped, d.prefix = false, 0, d.prefix[:0]
}

func isBatch(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\r")
	return len(t) > 0 && t[0] == '['
}

// writeError writes a JSON-RPC error answer of the drain's own; rawID is
// the request's id as the client wrote it, nil for null.
func (d *drain) writeError(rawID []byte, code int, message string) {
	if rawID == nil {
		rawID = []byte("null")
	}
	msg, _ := json.Marshal(message)
	line := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%s}}`+"\n", rawID, code, msg)
	d.outMu.Lock()
	defer d.outMu.Unlock()
	_, _ = d.out.Write(line)
}

// write puts one message on stdout.
//
// Before the answer that leaves the client with nothing pending, the log
// lines held back for a batch (see internal/logging) go out: a client that
// got its last answer may close our stderr at once (mcp-go's client does,
// before the process exits), and the lines of its calls must already be
// in the pipe. While calls are in flight the lines still go out in
// batches.
func (d *drain) write(p []byte) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	d.mu.Lock()
	last := d.count <= 1
	d.mu.Unlock()
	if last {
		logging.Flush(d.log)
	}
	if _, err := d.out.Write(p); err != nil && !d.outClosed {
		// The client can no longer read us (it closed its end of
		// stdout): this answer is lost, and so would be the answer to
		// anything read from now on, a paid QCC call for a search. So
		// end as at end of input: nothing more is read, the calls in
		// flight finish (their answers fail here too) and Serve returns.
		d.outClosed = true
		d.log.Warn("stdio: stdout is closed, the client is gone; ending the session", tint.Err(err))
		go d.startDrain("stdout closed")
	}
}

// done marks one dispatched message handled, its answer (if any)
// written.
func (d *drain) done() {
	d.mu.Lock()
	d.count--
	if d.draining {
		// Only a drain waits: signalling costs nothing before.
		close(d.changed)
		d.changed = make(chan struct{})
	}
	d.mu.Unlock()
}

// header is what the drain learns of one JSON-RPC message.
type header struct {
	valid           bool   // valid JSON (whole=true)
	complete        bool   // a JSON object, read whole (whole=true)
	hasID           bool   // a string or number id (null and other kinds: none)
	idNotNull       bool   // an id that is not null, of any kind
	rawID           []byte // the id as written, when idNotNull
	method          []byte // the method as written, a JSON string
	methodNotString bool   // a method that is neither a string nor null
}

// methodIs reports whether the method is name, as encoding/json would
// decode it.
func (h header) methodIs(name string) bool {
	m := h.method
	if len(m) < 2 || m[0] != '"' {
		return false
	}
	if bytes.IndexByte(m, '\\') < 0 {
		return string(m[1:len(m)-1]) == name
	}
	var s string
	return json.Unmarshal(m, &s) == nil && s == name
}

// scanMessage reads the top-level keys of one JSON-RPC object without
// allocating. With whole, it checks the whole message is valid JSON and
// reads every key (the last of duplicates wins, as in encoding/json);
// without (the start of a line too long to keep), it reads up to the
// method or the first value cut off, for the id.
func scanMessage(b []byte, whole bool) header {
	var h header
	if whole {
		if !json.Valid(b) {
			return h
		}
		h.valid = true
	}
	i := jsonskip.Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return h
	}
	i = jsonskip.Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		h.complete = whole
		return h
	}
	for i < len(b) {
		if b[i] != '"' {
			return h
		}
		keyEnd := jsonskip.String(b, i)
		if keyEnd < 0 {
			return h
		}
		key := b[i+1 : keyEnd-1]
		i = jsonskip.Space(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return h
		}
		i = jsonskip.Space(b, i+1)
		valEnd := jsonskip.Value(b, i)
		if valEnd < 0 {
			return h
		}
		val := b[i:valEnd]
		null := string(val) == "null"
		switch {
		case keyIs(key, "id"):
			h.idNotNull, h.rawID = !null, nil
			if !null {
				h.rawID = val
			}
			h.hasID = val[0] == '"' || val[0] == '-' || val[0] >= '0' && val[0] <= '9'
		case keyIs(key, "method"):
			h.method, h.methodNotString = nil, false
			if val[0] == '"' {
				h.method = val
			} else if !null {
				h.methodNotString = true
			}
			if !whole {
				return h
			}
		}
		i = jsonskip.Space(b, valEnd)
		if i < len(b) && b[i] == ',' {
			i = jsonskip.Space(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			h.complete = whole
		}
		return h
	}
	return h
}

// keyIs compares a raw object key with a lower-case ASCII name as
// encoding/json matches struct fields: case-insensitively, escapes decoded.
func keyIs(raw []byte, name string) bool {
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			// Only \uXXXX can spell a letter of a name.
			if i+5 >= len(raw) || raw[i+1] != 'u' {
				return false
			}
			r, ok := hex4(raw[i+2 : i+6])
			if !ok || r > 0x7f {
				return false
			}
			c = byte(r)
			i += 5
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if n >= len(name) || c != name[n] {
			return false
		}
		n++
	}
	return n == len(name)
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) != 4 {
		return 0, false
	}
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
