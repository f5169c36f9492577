// Package logging builds the process's one logger on stderr: on a
// terminal, tint's short coloured lines for a person watching (no colour
// with NO_COLOR set); anywhere else (a file, a pipe, a collector), log/slog's
// own key=value lines with a full timestamp. Packages take a *slog.Logger;
// only main builds one, here.
package logging

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"
)

// New returns a logger writing to w at level. tint checks neither for a
// terminal nor for NO_COLOR itself, so both are decided here.
//
// Off a terminal the standard text handler is the better fit, and the
// cheaper: its lines carry the date and parse as logfmt, and it formats a
// line without allocating, where tint with colour off copies every string
// value into a []rune to trim escape codes (2.5 µs and 11 allocations for
// a call's line, against 1.2 µs and none).
//
// Written to a file or a pipe (not a terminal, not an in-memory writer),
// lines that come in a burst go out in one write: see batchDelay, and
// Flush.
func New(w io.Writer, level slog.Level, getenv func(string) string) *slog.Logger {
	if !isTerminal(w) {
		if _, ok := w.(*os.File); ok {
			b := newBatchWriter(w, batchDelay, time.Now)
			return slog.New(flushingHandler{slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}), b})
		}
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly,
		NoColor: getenv("NO_COLOR") != ""}))
}

// isTerminal reports whether w is a character device, as a terminal is; a
// pipe, a file or a buffer is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
