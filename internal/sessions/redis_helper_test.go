package sessions

import (
	"context"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a private redis-server on a free loopback port, owned by
// one test, which may kill, pause and restart it.
type redisServer struct {
	t    testing.TB
	Addr string
	cmd  *exec.Cmd
}

// startRedis starts redis-server, or skips the test when it is not
// installed (fails instead when CI is set, where it must run).
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server not found, and CI requires the Redis session tests")
		}
		t.Skip("redis-server not installed: skipping the Redis session tests")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := &redisServer{t: t, Addr: addr}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	s.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer within 10s", s.Addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill ends the server and waits for it.
func (s *redisServer) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts a fresh, empty server on the same port.
func (s *redisServer) Restart() { s.Kill(); s.start() }

// Pause and Resume hang the server without closing its connections.
func (s *redisServer) Pause()  { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }
func (s *redisServer) Resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }

// Client returns a client tuned like production.
func (s *redisServer) Client() *redis.Client {
	s.t.Helper()
	o := &redis.Options{Addr: s.Addr}
	TuneRedisOptions(o, 0)
	c := redis.NewClient(o)
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}
