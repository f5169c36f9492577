package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Transport returns an http.RoundTripper that serves every request with the
// Sandbox in process, whatever its host: no socket is opened. The handler
// runs on its own goroutine and writes into a pipe, so the response
// streams as from a network: a slow answer delays RoundTrip, a truncated
// one ends its body with io.ErrUnexpectedEOF. When the request's context
// ends, RoundTrip returns the context's error, or reads of a body already
// returned do; closing the body stops the handler.
func (s *Sandbox) Transport() http.RoundTripper {
	return handlerTransport{handler: s}
}

type handlerTransport struct {
	handler http.Handler
}

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeRequestBody(req)
		return nil, err
	}

	hctx, cancel := context.WithCancel(ctx)
	sreq := req.Clone(hctx)
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "192.0.2.1:49152" // TEST-NET-1: no real peer
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}

	pr, pw := io.Pipe()
	w := &pipeResponseWriter{header: make(http.Header), pw: pw, ready: make(chan struct{})}
	handlerDone := make(chan struct{})
	go func() {
		defer close(handlerDone)
		defer cancel()
		defer closeRequestBody(req)
		defer func() { w.finish(recover()) }()
		t.handler.ServeHTTP(w, sreq)
	}()
	// End a streaming body when the caller's context ends.
	go func() {
		select {
		case <-ctx.Done():
			pw.CloseWithError(ctx.Err())
		case <-handlerDone:
		}
	}()

	select {
	case <-w.ready:
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil {
		cancel()
		pw.CloseWithError(err)
		return nil, err
	}
	if w.failure != nil {
		return nil, w.failure
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          &pipeBody{pr: pr, cancel: cancel, ctx: ctx},
		ContentLength: w.declared,
		Request:       req,
	}, nil
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// pipeResponseWriter is the handler's side of the pipe. Its header fields
// are written before ready is closed and only read after.
type pipeResponseWriter struct {
	header http.Header
	pw     *io.PipeWriter
	ready  chan struct{}

	wroteHeader bool
	status      int
	sent        http.Header
	declared    int64 // Content-Length, or -1
	written     int64
	failure     error // the handler failed before sending a header
}

func (w *pipeResponseWriter) Header() http.Header { return w.header }

func (w *pipeResponseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("sandbox: invalid WriteHeader code %d", code))
	}
	if code < 200 {
		return // informational answers are not passed on
	}
	w.status = code
	w.sent = w.header.Clone()
	w.declared = -1
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		w.declared = n
	}
	w.wroteHeader = true
	close(w.ready)
}

func (w *pipeResponseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.pw.Write(p)
	w.written += int64(n)
	return n, err
}

// Flush implements http.Flusher; the pipe has no buffer to flush.
func (w *pipeResponseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
}

// finish ends the response after the handler returned or panicked.
func (w *pipeResponseWriter) finish(panicked any) {
	if panicked != nil {
		err := fmt.Errorf("sandbox: handler aborted: %v", panicked)
		if !w.wroteHeader {
			w.failure = err
			w.wroteHeader = true
			close(w.ready)
		}
		w.pw.CloseWithError(err)
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.declared >= 0 && w.written < w.declared {
		w.pw.CloseWithError(io.ErrUnexpectedEOF)
		return
	}
	w.pw.Close()
}

// pipeBody is the Response.Body: the reading side of the pipe.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	ctx    context.Context // the request's
}

// Read fails once the request's context has ended, even when the handler
// has already written more: a real connection is closed then, and what
// was in flight is lost, so a caller never sees the answer complete.
func (b *pipeBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.pr.Read(p)
}

// Close stops the handler if it is still writing.
func (b *pipeBody) Close() error {
	b.cancel()
	return b.pr.Close()
}
