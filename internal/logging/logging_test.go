package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair through /dev/ptmx: the terminal end
// (the one a program's stderr would be) and the end that reads what was
// written to it.
func openPTY(t *testing.T) (terminal, reader *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal on this machine: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("numbering the pseudo-terminal: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the terminal end: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return slave, master
}

// readSome reads what the terminal end has received so far.
func readSome(t *testing.T, r *os.File) string {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := r.Read(buf)
	if err != nil {
		t.Fatalf("reading the terminal: %v", err)
	}
	return string(buf[:n])
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

// TestColourOnlyOnATerminalWithoutNoColor writes a log line to a real
// terminal (a pseudo-terminal), to a terminal with NO_COLOR set, to a pipe
// and to a buffer: only the first may carry escape codes.
func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	const escape = "\x1b["
	terminal, screen := openPTY(t)
	New(terminal, slog.LevelInfo, env()).Info("tool call", "tool", "search_certifications")
	if got := readSome(t, screen); !strings.Contains(got, escape) || !strings.Contains(got, "search_certifications") {
		t.Errorf("on a terminal without NO_COLOR, want colour: %q", got)
	}
	New(terminal, slog.LevelInfo, env("NO_COLOR", "1")).Info("tool call", "tool", "search_certifications")
	if got := readSome(t, screen); strings.Contains(got, escape) || !strings.Contains(got, "search_certifications") {
		t.Errorf("on a terminal with NO_COLOR, want no colour: %q", got)
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	New(pw, slog.LevelInfo, env()).Info("tool call", "tool", "search_certifications")
	pw.Close()
	var piped bytes.Buffer
	piped.ReadFrom(pr)
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo, env()).Info("tool call", "tool", "search_certifications")
	for what, got := range map[string]string{"a pipe": piped.String(), "a buffer": buf.String()} {
		if strings.Contains(got, escape) || !strings.Contains(got, "tool=search_certifications") {
			t.Errorf("to %s, want a plain line: %q", what, got)
		}
	}
}

func TestLevel(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelWarn, env())
	log.Info("quiet")
	log.Warn("loud")
	if strings.Contains(buf.String(), "quiet") || !strings.Contains(buf.String(), "loud") {
		t.Errorf("at warn level: %q", buf.String())
	}
}

// TestPlainLinesOffATerminal: off a terminal a line is logfmt with the
// date, so a file or a collector can tell days apart and parse it.
func TestPlainLinesOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo, env()).Warn("tool call", "tool", "search_certifications", "outcome", "rate limited")
	line := buf.String()
	ts, rest, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("want a full timestamp first: %q (%v)", line, err)
	}
	if want := `level=WARN msg="tool call" tool=search_certifications outcome="rate limited"` + "\n"; rest != want {
		t.Errorf("got %q, want %q", rest, want)
	}
}

// TestOffTerminalLineDoesNotAllocate holds the cost of the call log line
// off a terminal, where servers run: tint without colour would allocate
// for every string value.
func TestOffTerminalLineDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	log := New(io.Discard, slog.LevelInfo, env())
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		log.LogAttrs(ctx, slog.LevelInfo, "tool call", slog.String("tool", "search_certifications"),
			slog.String("outcome", "ok"), slog.Duration("duration", 1234567), slog.Int("qcc_status", 200))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per line, want 0", allocs)
	}
}
