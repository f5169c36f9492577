package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildServer builds the server from the module root (the directory of
// go.mod as reported by `go env GOMOD`, which is the parent of bench/ when
// run as `go run ./bench`) into dir and returns the binary's path.
func buildServer(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the repository root or pass -server")
	}
	root := filepath.Dir(gomod)
	bin := filepath.Join(dir, "qcc-mcp")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %w\n%s", root, err, out)
	}
	return bin, nil
}

// serverFlags returns the optional flags worth passing, judged from the
// server's --help: the QCC rate limit off, since the sandbox is not billed
// and the load is about the server, and a cap on open sessions above what
// the run opens at once (sessions clients keep plus those the soak
// abandons), since the soak measures memory, not the cap. Everything else,
// the concurrency cap included, stays at the server's defaults.
func serverFlags(ctx context.Context, bin string, sessions int) []string {
	cmd := exec.CommandContext(ctx, bin, "--help")
	out, _ := cmd.CombinedOutput() // flag's -help exits 0 or 2 depending on the version
	var flags []string
	if hasFlag(out, "rate") {
		flags = append(flags, "--rate", "0")
	}
	if hasFlag(out, "max-sessions") && sessions > 1000 {
		flags = append(flags, "--max-sessions", strconv.Itoa(sessions))
	}
	return flags
}

// hasFlag reports whether a flag package usage text declares -name.
func hasFlag(usage []byte, name string) bool {
	re := regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(name) + `(\s|$)`)
	return re.Match(usage)
}

// server is a running qcc-mcp subprocess.
type server struct {
	cmd      *exec.Cmd
	args     []string
	addr     string // host:port on loopback
	stderr   *tail
	exited   chan struct{} // closed when the process has exited
	state    *os.ProcessState
	mu       sync.Mutex
	stopping bool // set before SIGTERM: an exit afterwards is not a crash
}

// pid returns the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// crashed reports whether the server exited without being asked to.
func (s *server) crashed() bool {
	select {
	case <-s.exited:
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.stopping
	default:
		return false
	}
}

// addrPattern finds the listen address in the start-up log line
// ("serving MCP over HTTP addr=127.0.0.1:PORT ..."). The word boundary
// keeps it from matching remote_addr= and the like.
var addrPattern = regexp.MustCompile(`\baddr="?([^\s"]+:\d+)`)

// startServer starts bin with args and env and waits until it listens.
// When logLevel hides the start-up line, a free loopback port is chosen
// beforehand instead of port 0. Readiness is confirmed with GET /healthz.
func startServer(ctx context.Context, bin string, args, env []string, logsAddr bool, hc *http.Client) (*server, error) {
	addr := "127.0.0.1:0"
	if !logsAddr {
		a, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		addr = a
	}
	args = append([]string{"--demo", "--transport", "http", "--addr", addr}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = io.Discard
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, args: args, stderr: newTail(200), exited: make(chan struct{})}
	found := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.stderr.add(line)
			if m := addrPattern.FindStringSubmatch(line); m != nil && logsAddr {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pipe) // a line over 1 MiB: keep draining
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		cmd.Wait()
		s.state = cmd.ProcessState
		close(s.exited)
	}()

	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if logsAddr {
		select {
		case addr = <-found:
		case <-s.exited:
			return s, fmt.Errorf("server exited during start-up (%s)", s.state)
		case <-wait.Done():
			s.kill()
			return s, errors.New("server did not log its address within 30s")
		}
	}
	if err := checkLoopback(addr); err != nil {
		s.kill()
		return s, err
	}
	s.addr = addr
	for {
		if healthy(wait, hc, "http://"+addr+"/healthz") {
			return s, nil
		}
		select {
		case <-s.exited:
			return s, fmt.Errorf("server exited during start-up (%s)", s.state)
		case <-wait.Done():
			s.kill()
			return s, errors.New("server not healthy within 30s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func healthy(ctx context.Context, hc *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	res, err := hc.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// stop sends SIGTERM and waits up to grace for the exit, then kills. It
// returns the exit code (-1 when killed by a signal).
func (s *server) stop(grace time.Duration) (code int, killed bool) {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(grace):
			s.cmd.Process.Kill()
			<-s.exited
			killed = true
		}
	}
	return s.state.ExitCode(), killed
}

func (s *server) kill() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.cmd.Process.Kill()
	<-s.exited
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// checkLoopback refuses any address that is not a loopback IP.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP: refusing to use it", addr)
	}
	return nil
}

// loopbackDialer dials loopback IPs only.
func loopbackDialer() *net.Dialer {
	return &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			return checkLoopback(address)
		},
	}
}

// tail keeps the last lines of the server's stderr and counts warnings,
// errors and panics among all of them.
type tail struct {
	mu       sync.Mutex
	max      int
	lines    []string
	total    int
	warnings int
	errors   int
	problems []string // the first few warning, error or panic lines
}

func newTail(n int) *tail { return &tail{max: n} }

// Levels as written by tint (WRN, ERR), log/slog's text and default
// handlers (WARN, ERROR, level=WARN) and the runtime (panic:, fatal error:).
var (
	warnLine  = regexp.MustCompile(`\b(WRN|WARN|level=WARN)\b`)
	errorLine = regexp.MustCompile(`\b(ERR|ERROR|level=ERROR)\b|^panic:|^fatal error:|^goroutine \d+ \[`)
)

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	isErr, isWarn := errorLine.MatchString(line), warnLine.MatchString(line)
	switch {
	case isErr:
		t.errors++
	case isWarn:
		t.warnings++
	}
	if (isErr || isWarn) && len(t.problems) < 10 {
		t.problems = append(t.problems, truncate(line, 300))
	}
	if len(t.lines) == t.max {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:t.max-1]
	}
	t.lines = append(t.lines, truncate(line, 1000))
}

func (t *tail) snapshot(n int) (last []string, total, warnings, errs int, problems []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	start := max(0, len(t.lines)-n)
	return append([]string(nil), t.lines[start:]...), t.total, t.warnings, t.errors, append([]string(nil), t.problems...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
