package redistest

import (
	"net"
	"testing"
	"time"
)

// TestLifecycle drives every failure the harness offers and checks each one
// from the outside, with raw RESP.
func TestLifecycle(t *testing.T) {
	s := Start(t)
	if err := command(s.Addr(), "SET k v", "+OK"); err != nil {
		t.Fatal(err)
	}
	s.FlushAll()
	if err := command(s.Addr(), "GET k", "$-1"); err != nil {
		t.Fatalf("after FLUSHALL: %v", err)
	}

	s.Stop()
	conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		t.Fatalf("a stopped server still accepts connections in the kernel: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = conn.Write([]byte("PING\r\n"))
	if _, err := conn.Read(make([]byte, 16)); err == nil {
		t.Fatal("a stopped server answered")
	}
	conn.Close()
	s.Cont()
	if err := command(s.Addr(), "PING", "+PONG"); err != nil {
		t.Fatalf("after SIGCONT: %v", err)
	}

	if err := command(s.Addr(), "SET k v", "+OK"); err != nil {
		t.Fatal(err)
	}
	port := s.Port()
	s.Kill()
	if err := command(s.Addr(), "PING", "+PONG"); err == nil {
		t.Fatal("a killed server answered")
	}
	s.Restart()
	if s.Port() != port {
		t.Fatalf("Restart moved from port %d to %d", port, s.Port())
	}
	if err := command(s.Addr(), "GET k", "$-1"); err != nil {
		t.Fatalf("a restarted server kept data: %v", err)
	}
}
