// Package redistest starts a private redis-server for a test, on a free
// loopback port, so that the test can kill it, freeze it (SIGSTOP), thaw it,
// restart it empty on the same port and flush it: the failures a shared
// backend must survive are produced for real, not simulated.
//
// When redis-server is not installed the test is skipped with one line
// saying so, except when the environment variable CI is set: CI must run
// these tests, so there the missing binary is a failure.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit/syncbuf"
)

// Binary is the program Start runs, looked up in PATH.
const Binary = "redis-server"

// startTimeout bounds how long a fresh redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process owned by a test.
type Server struct {
	t    testing.TB
	port int
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}   // closed when cmd has exited
	output *syncbuf.Buffer // the server's own log, shown when the test fails
}

// Start runs a redis-server without persistence on a free port of
// 127.0.0.1 and stops it when the test ends. It skips the test (or fails it
// under CI) when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath(Binary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redistest: %s not found in PATH, and CI is set: CI must run the Redis tests", Binary)
		}
		t.Skipf("redistest: %s not found in PATH; install it (apt-get install redis-server) to run the Redis tests", Binary)
	}
	s := &Server{t: t, dir: t.TempDir(), output: &syncbuf.Buffer{}}
	// A free port can be taken by someone else between our probe and the
	// server's bind; try a few.
	var err error
	for range 5 {
		s.port, err = freePort()
		if err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: starting %s: %v\n%s", Binary, err, s.output.String())
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("redis-server log:\n%s", s.output.String())
		}
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// address, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Port is the server's TCP port; Restart keeps it.
func (s *Server) Port() int { return s.port }

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
// Its data is gone: it was never persisted.
func (s *Server) Kill() {
	s.t.Helper()
	s.kill()
}

// Stop freezes the server with SIGSTOP: connections stay open and new ones
// are still accepted by the kernel, but nothing is answered — the hang a
// deadline must cut short.
func (s *Server) Stop() { s.t.Helper(); s.signal(syscall.SIGSTOP) }

// Cont thaws a server frozen by Stop.
func (s *Server) Cont() { s.t.Helper(); s.signal(syscall.SIGCONT) }

// Restart kills the server if it runs and starts an empty one on the same
// port, as a restart without persistence would.
func (s *Server) Restart() {
	s.t.Helper()
	s.kill()
	var err error
	// The port was ours a moment ago; a short retry covers a slow release.
	for range 20 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restarting on port %d: %v\n%s", s.port, err, s.output.String())
}

// FlushAll empties every database of the server, as an operator's FLUSHALL
// or a failover to an empty replica would.
func (s *Server) FlushAll() {
	s.t.Helper()
	if err := command(s.Addr(), "FLUSHALL", "+OK"); err != nil {
		s.t.Fatalf("redistest: FLUSHALL: %v", err)
	}
}

func (s *Server) start() error {
	cmd := exec.Command(Binary,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
	)
	cmd.Stdout = s.output
	cmd.Stderr = s.output
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(startTimeout)
	for {
		if err := command(s.Addr(), "PING", "+PONG"); err == nil {
			break
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before answering on port %d", Binary, s.port)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("%s did not answer PING on port %d within %s", Binary, s.port, startTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // SIGKILL also ends a stopped process
	<-done
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatalf("redistest: %v: the server is not running", sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: %v: %v", sig, err)
	}
}

// command sends one inline command on a fresh connection and checks the
// first line of the reply, so the harness needs no Redis client of its own.
func command(addr, cmd, want string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if got := strings.TrimRight(line, "\r\n"); got != want {
		return fmt.Errorf("%s answered %q, want %q", cmd, got, want)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
