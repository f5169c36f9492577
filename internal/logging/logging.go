// Package logging builds the process's one logger: text lines on stderr
// through tint, in colour only on a terminal and never with NO_COLOR set.
// Packages take a *slog.Logger; only main builds one, here.
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
func New(w io.Writer, level slog.Level, getenv func(string) string) *slog.Logger {
	return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly,
		NoColor: !(isTerminal(w) && getenv("NO_COLOR") == "")}))
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
