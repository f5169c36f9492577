// Package stdio serves MCP over a process's stdin and stdout. It wraps
// mcp-go's stdio server with a drain: a client that writes its requests
// and closes stdin (a script, a pipe) still gets every answer.
package stdio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// Serve serves JSON-RPC on stdin and stdout until stdin ends or ctx is
// done; logs go to log (stderr), never to stdout. Requests still running
// when stdin ends get up to drainTimeout to be answered.
func Serve(ctx context.Context, s *server.MCPServer, stdin io.Reader, stdout io.Writer, log *slog.Logger, drainTimeout time.Duration) error {
	ss := server.NewStdioServer(s)
	ss.SetErrorLogger(slog.NewLogLogger(log.Handler(), slog.LevelError))
	d := newStdioDrain(ctx, stdin, stdout, drainTimeout)
	err := ss.Listen(ctx, d, d.writer())
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// stdioDrain holds back the end of stdin until every request read has
// been answered. mcp-go's stdio server cancels the requests still running
// when its input ends, so a client that writes its requests and closes
// stdin (a script, a pipe) would otherwise lose the answers. The wait ends
// early on the shutdown timeout or a signal.
type stdioDrain struct {
	ctx     context.Context
	in      io.Reader
	out     io.Writer
	timeout time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever pending changes
	pending map[string]bool
	inLine  []byte // partial lines, in and out
	outLine []byte
}

func newStdioDrain(ctx context.Context, in io.Reader, out io.Writer, timeout time.Duration) *stdioDrain {
	return &stdioDrain{ctx: ctx, in: in, out: out, timeout: timeout, changed: make(chan struct{}), pending: map[string]bool{}}
}

// Read passes stdin on, noting the ids of requests; at end of input it
// waits for their answers before reporting it.
func (d *stdioDrain) Read(p []byte) (int, error) {
	n, err := d.in.Read(p)
	d.scan(&d.inLine, p[:n], true)
	if err == io.EOF {
		d.wait()
	}
	return n, err
}

func (d *stdioDrain) wait() {
	deadline := time.NewTimer(d.timeout)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		left, changed := len(d.pending), d.changed
		d.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		case <-d.ctx.Done():
			return
		}
	}
}

type stdioWriter struct{ d *stdioDrain }

func (w stdioWriter) Write(p []byte) (int, error) {
	n, err := w.d.out.Write(p)
	w.d.scan(&w.d.outLine, p[:n], false)
	return n, err
}

func (d *stdioDrain) writer() io.Writer { return stdioWriter{d} }

// rpcHeader is what the drain reads of a JSON-RPC message.
type rpcHeader struct {
	Method string          `json:"method"`
	ID     json.RawMessage `json:"id"`
}

// scan reads whole JSON-RPC lines: requests in (a method and an id) add
// their id, responses out (an id and no method) remove it. A whole line in
// one write, the usual case, is read in place, without a copy.
func (d *stdioDrain) scan(partial *[]byte, b []byte, in bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			*partial = append(*partial, b...)
			return
		}
		line := b[:i]
		if len(*partial) > 0 {
			line = append(*partial, line...)
			*partial = (*partial)[:0]
		}
		for _, m := range rpcHeaders(line) {
			if len(m.ID) == 0 || string(m.ID) == "null" {
				continue
			}
			switch {
			case in && m.Method != "":
				d.pending[string(m.ID)] = true
			case !in && m.Method == "":
				delete(d.pending, string(m.ID))
			default:
				continue
			}
			close(d.changed)
			d.changed = make(chan struct{})
		}
		b = b[i+1:]
	}
}

// rpcHeaders reads the method and id of the message(s) on one line. For a
// response it stops at the result: answers can be large, and writing them
// is the hot path of a stdio server.
func rpcHeaders(line []byte) []rpcHeader {
	t := bytes.TrimSpace(line)
	if len(t) == 0 {
		return nil
	}
	if t[0] == '[' {
		var batch []rpcHeader
		_ = json.Unmarshal(t, &batch)
		return batch
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var h rpcHeader
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		switch key {
		case "id":
			err = dec.Decode(&h.ID)
		case "method":
			err = dec.Decode(&h.Method)
		case "result", "error":
			if h.ID != nil {
				return []rpcHeader{h} // a response whose id came first, as encoders write it
			}
			fallthrough
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil
		}
	}
	return []rpcHeader{h}
}
