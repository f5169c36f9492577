// Package calllog lets the transport that carried a tool call write the
// call's outcome on its own log line, so that one request makes one line.
//
// Over streamable HTTP every request gets an access log line, and every
// tool call got a line of its own besides: two lines, and two writes to
// stderr, for each call. The front now puts a Slot in the context of a
// request that carries a tools/call; the tools hand the call's outcome to
// it instead of logging it, and the access line names it. Where nobody
// waits (stdio, legacy SSE, whose calls run after their POST is
// answered, or a transport that has already written its line), Hand
// reports false and the tools log the call themselves.
//
// The package knows neither HTTP nor MCP.
package calllog

import (
	"context"
	"log/slog"
	"sync"
)

// Outcome is what a tool call's log line says of the call.
type Outcome struct {
	// Level is the line's level: Info, or Warn for a call whose result
	// is an error.
	Level slog.Level
	// Outcome is the tools' word for how the call ended ("ok", "rate
	// limited", …).
	Outcome string
	// QCCStatus is QCC's status code for the call, 0 when QCC did not
	// answer it.
	QCCStatus int
}

// Slot is where a transport waits for the outcome of the one call its
// request carries. The zero value is ready to use.
type Slot struct {
	mu     sync.Mutex
	closed bool // Take was called: the transport's line is written
	handed bool
	o      Outcome
}

type ctxKey struct{}

// With returns ctx asking the tools to hand the outcome of its call to s
// instead of logging it.
func With(ctx context.Context, s *Slot) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// Hand gives o to the Slot in ctx. It reports false, and keeps nothing,
// when ctx has no Slot, when the Slot's transport has written its line
// already, or when another call handed it an outcome first: the caller
// then logs the call itself.
func Hand(ctx context.Context, o Outcome) bool {
	s, _ := ctx.Value(ctxKey{}).(*Slot)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.handed {
		return false
	}
	s.o, s.handed = o, true
	return true
}

// Take closes s and returns the outcome handed to it, if any. A Hand after
// Take reports false.
func (s *Slot) Take() (Outcome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.o, s.handed
}
