// Package stdio serves MCP over a process's stdin and stdout. It wraps
// mcp-go's stdio server with a drain and a gate on its input:
//
//   - a client that writes its requests and closes stdin (a script, a pipe)
//     still gets every answer, and so does a call in flight at SIGTERM: the
//     calls read get the shutdown timeout to be answered;
//   - a line longer than the message limit is answered with a JSON-RPC
//     error and discarded as it streams in, never held whole;
//   - a JSON-RPC batch is answered with a JSON-RPC error (the MCP protocol
//     has no batches) instead of mcp-go's misleading "Failed to parse
//     message".
package stdio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/logging"
)

// Serve serves JSON-RPC on stdin and stdout until stdin ends, ctx is
// done or stdout can no longer be written (the client closed its end);
// logs go to log (stderr), never to stdout. Requests still running
// when stdin ends or ctx is done (SIGTERM) get up to drainTimeout to be
// answered; no request read after that is started. A line over
// maxLineBytes gets a JSON-RPC error and is discarded.
func Serve(ctx context.Context, s *server.MCPServer, stdin io.Reader, stdout io.Writer, log *slog.Logger, drainTimeout time.Duration, maxLineBytes int) error {
	ss := server.NewStdioServer(s)
	ss.SetErrorLogger(slog.NewLogLogger(log.Handler(), slog.LevelError))
	d := newDrain(stdin, stdout, drainTimeout, maxLineBytes, log)
	// mcp-go cancels every request when its context ends: it gets one that
	// ends only once the drain is over.
	listenCtx, cancelListen := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelListen()
	stopWatching := context.AfterFunc(ctx, func() { d.startDrain("signal") })
	defer stopWatching()
	// However the drain started (a signal, end of input, stdout closed),
	// mcp-go's reader may still be blocked on stdin: once the drain is
	// over, its context ends the listening.
	go func() {
		select {
		case <-d.stopping:
		case <-listenCtx.Done():
			return
		}
		<-d.drained
		cancelListen()
	}()
	err := ss.Listen(listenCtx, d, d.writer())
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// idKey is a JSON-RPC id by value: numbers by their float64 value (as
// mcp-go reads them and writes them back: 2.0, 1e0 and 2 are one id), strings
// by a 64-bit hash of their decoded text ("\u0031" and "1" are one id).
// Hashing keeps the map free of per-message allocations; a collision can
// only make the drain wait for an answer already written, for at most the
// timeout.
type idKey struct {
	kind uint8 // kindNumber or kindString
	v    uint64
}

const (
	kindNumber = 1
	kindString = 2
)

// drain sits between stdin and mcp-go's reader, and between mcp-go's
// writer and stdout. Reads happen on one goroutine at a time (mcp-go's
// line reader); writes on many (answers are written as calls end).
type drain struct {
	in      io.Reader
	out     io.Writer
	timeout time.Duration
	max     int // longest line accepted, newline excluded
	log     *slog.Logger

	// Input side, owned by the reading goroutine.
	buf        []byte // bytes read from in: buf[start:end] not yet handed on
	start, end int
	ready      []byte // the accepted line being handed to mcp-go
	discarding bool   // inside a line over max
	prefix     []byte // the start of that line, to find its id
	dropped    int    // bytes of it discarded so far
	eof        bool

	outMu     sync.Mutex // one message at a time on stdout
	outLine   []byte     // a partial line written by mcp-go
	outClosed bool       // a write to stdout failed: the session is ending

	mu       sync.Mutex
	pending  map[idKey]int // requests read and not yet answered
	count    int           // sum of pending
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
		buf: make([]byte, 64<<10), pending: map[idKey]int{}, changed: make(chan struct{}),
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

// Read hands mcp-go one accepted line at a time. At end of input, or once
// the drain has started, it waits for the drain before reporting EOF.
func (d *drain) Read(p []byte) (int, error) {
	for {
		select {
		case <-d.stopping:
			// Nothing read after a signal is started.
			<-d.drained
			return 0, io.EOF
		default:
		}
		if len(d.ready) > 0 {
			n := copy(p, d.ready)
			d.ready = d.ready[n:]
			return n, nil
		}
		if d.nextLine() {
			continue
		}
		if d.eof {
			d.startDrain("end of input")
			<-d.drained
			return 0, io.EOF
		}
		if err := d.fill(); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
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

// nextLine takes the next whole line out of buf: an accepted line becomes
// ready, a batch or an oversized line is answered here. It reports whether
// it made progress.
func (d *drain) nextLine() bool {
	data := d.buf[d.start:d.end]
	i := bytes.IndexByte(data, '\n')
	if d.discarding {
		if i < 0 {
			d.dropped += len(data)
			d.start = d.end
			if d.eof {
				d.finishOversized()
			}
			return d.eof && len(data) > 0
		}
		d.dropped += i + 1
		d.start += i + 1
		d.finishOversized()
		return true
	}
	if i < 0 {
		if len(data) > d.max {
			// Over the limit before its end: keep its start to find the
			// id and let the rest stream past.
			d.discarding = true
			d.prefix = append(d.prefix[:0], data[:min(len(data), prefixBytes)]...)
			d.dropped = len(data)
			d.start = d.end
			return true
		}
		if d.eof && len(data) > 0 {
			// A last line without a newline: mcp-go's reader takes it too.
			i = len(data)
		} else {
			return false
		}
	}
	line := data[:min(i+1, len(data))]
	d.start += len(line)
	body := bytes.TrimRight(line, "\r\n")
	switch {
	case len(body) > d.max:
		d.prefix = append(d.prefix[:0], body[:prefixBytes]...)
		d.dropped = len(line)
		d.finishOversized()
	case isBatch(body):
		if json.Valid(body) {
			d.writeError(nil, mcp.INVALID_REQUEST, "JSON-RPC batches are not supported: the MCP protocol has none; send one message per line")
		} else {
			d.writeError(nil, mcp.PARSE_ERROR, "Parse error")
		}
	default:
		if h := scanMessage(body, true); h.awaitsAnswer() {
			d.mu.Lock()
			d.pending[h.id]++
			d.count++
			d.mu.Unlock()
		}
		d.ready = line
	}
	return true
}

// finishOversized answers the line being discarded.
func (d *drain) finishOversized() {
	h := scanMessage(d.prefix, false)
	var id []byte
	if h.hasID {
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

type stdioWriter struct{ d *drain }

// Write passes mcp-go's output on, one message at a time, and settles the
// requests answered. mcp-go writes each message with one Write.
//
// Before the answer that leaves the client with nothing pending, the log
// lines held back for a batch (see internal/logging) go out: a client that
// got its last answer may close our stderr at once (mcp-go's client does,
// before the process exits), and the lines of its calls must already be
// in the pipe. While calls are in flight the lines still go out in
// batches.
func (w stdioWriter) Write(p []byte) (int, error) {
	d := w.d
	d.outMu.Lock()
	defer d.outMu.Unlock()
	d.mu.Lock()
	last := d.count <= 1
	d.mu.Unlock()
	if last {
		logging.Flush(d.log)
	}
	n, err := d.out.Write(p)
	if err != nil {
		// The client can no longer read us (it closed its end of
		// stdout): this answer is lost, and so would be the answer to
		// anything read from now on, a paid QCC call for a search. So
		// end as at end of input: nothing more is read, the calls in
		// flight finish (their answers fail here too) and Serve returns.
		d.settle(p)
		if !d.outClosed {
			d.outClosed = true
			d.log.Warn("stdio: stdout is closed, the client is gone; ending the session", tint.Err(err))
			go d.startDrain("stdout closed")
		}
		return n, err
	}
	d.settle(p[:n])
	return n, err
}

func (d *drain) writer() io.Writer { return stdioWriter{d} }

// settle removes the answered ids of the whole lines in b; called with
// outMu held. Nothing is looked at while no request is pending.
func (d *drain) settle(b []byte) {
	d.mu.Lock()
	idle := d.count == 0
	d.mu.Unlock()
	if idle && len(d.outLine) == 0 {
		return
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			d.outLine = append(d.outLine, b...)
			return
		}
		line := b[:i]
		if len(d.outLine) > 0 {
			d.outLine = append(d.outLine, line...)
			line = d.outLine
		}
		if h := scanMessage(line, false); h.isAnswer() {
			d.mu.Lock()
			if c := d.pending[h.id]; c > 0 {
				if c == 1 {
					delete(d.pending, h.id)
				} else {
					d.pending[h.id] = c - 1
				}
				d.count--
				if d.draining {
					// Only a drain waits: signalling costs nothing before.
					close(d.changed)
					d.changed = make(chan struct{})
				}
			}
			d.mu.Unlock()
		}
		d.outLine = d.outLine[:0]
		b = b[i+1:]
	}
}

// header is what the drain learns of one JSON-RPC message.
type header struct {
	hasID     bool   // a string or number id (null and other kinds: none)
	id        idKey  // by value
	rawID     []byte // as written
	hasMethod bool
	hasResult bool // a result that is not null
	hasError  bool
	complete  bool // the whole object was read (whole=true) and is valid
}

// awaitsAnswer reports whether mcp-go will answer the message, as its
// HandleMessage decides: a valid request with an id and no result (a
// message with both method and result is taken for a response and never
// answered).
func (h header) awaitsAnswer() bool { return h.complete && h.hasID && !h.hasResult }

// isAnswer reports whether an output message answers a request.
func (h header) isAnswer() bool { return h.hasID && !h.hasMethod && (h.hasResult || h.hasError) }

// scanMessage reads the top-level keys of one JSON-RPC object without
// allocating. With whole, it checks the whole message is valid JSON and
// reads every key (the last of duplicates wins, as in encoding/json);
// without, it stops as soon as the message is known to be an answer or
// not (an answer's result, the bulk of stdout, is never read).
func scanMessage(b []byte, whole bool) header {
	var h header
	if whole && !json.Valid(b) {
		return h
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return h
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		h.complete = whole
		return h
	}
	for i < len(b) {
		if b[i] != '"' {
			return h
		}
		keyEnd := skipString(b, i)
		if keyEnd < 0 {
			return h
		}
		key := b[i+1 : keyEnd-1]
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return h
		}
		i = skipSpace(b, i+1)
		if !whole && h.hasID && (keyIs(key, "result") || keyIs(key, "error")) {
			// An answer: its result, the bulk of stdout, is not read.
			null := bytes.HasPrefix(b[i:], []byte("null"))
			h.hasResult = keyIs(key, "result") && !null
			h.hasError = keyIs(key, "error") && !null
			return h
		}
		valEnd := skipValue(b, i)
		if valEnd < 0 {
			return h
		}
		val := b[i:valEnd]
		null := string(val) == "null"
		switch {
		case keyIs(key, "id"):
			h.hasID, h.rawID = false, nil
			if k, ok := idOf(val); ok {
				h.hasID, h.id, h.rawID = true, k, val
			}
		case keyIs(key, "method"):
			h.hasMethod = true
			if !whole {
				return h // a request or notification, not an answer
			}
		case keyIs(key, "result"):
			h.hasResult = !null
		case keyIs(key, "error"):
			h.hasError = !null
		}
		i = skipSpace(b, valEnd)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			h.complete = whole
		}
		return h
	}
	return h
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"'),
// or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := skipString(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && !endsScalar(b[j]) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
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
