package guard

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// realClient is a qcc.Client on baseURL with a per-request timeout.
func realClient(t *testing.T, baseURL string, timeout time.Duration) *qcc.Client {
	t.Helper()
	c, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey, qcc.WithBaseURL(baseURL), qcc.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// With a stalled upstream, the attempts and the waits between them share
// one deadline: the call ends at CallTimeout, not after every attempt has
// waited its own timeout, and the text says how many attempts it made in
// how long.
func TestCallTimeoutIsSharedByAttempts(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	g, err := New(realClient(t, srv.URL+"/api/yj", time.Second), Config{
		CallTimeout: 1500 * time.Millisecond, MaxRetries: 2, RetryBaseDelay: time.Millisecond, Rate: Off})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = g.SearchCertification(context.Background(), qcc.SearchParams{SearchKey: "企查查科技有限公司"})
	took := time.Since(began)
	e := asError(t, err)
	if took > 2500*time.Millisecond {
		t.Errorf("the call took %s with a call timeout of 1.5s", took)
	}
	if e.Kind != qcc.KindTimeout || !e.Retry.Retryable {
		t.Errorf("kind %s retry %+v, want a retryable timeout", e.Kind, e.Retry)
	}
	for _, want := range []string{"within this call's time limit of 1.5s", "2 attempts in 1.5", "the last failure: QCC (127.0.0.1:"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q lacks %q", e.Message, want)
		}
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// A network failure is logged at warn with its cause, and the agent's text
// says how many attempts were made.
func TestNetworkFailureLoggedAtWarnWithCause(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs := &testkit.SyncBuffer{}
	g, err := New(realClient(t, "http://"+addr+"/api/yj", time.Second), Config{MaxRetries: 2, RetryBaseDelay: time.Millisecond, Rate: Off,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.SearchCertification(context.Background(), qcc.SearchParams{SearchKey: "企查查科技有限公司"})
	e := asError(t, err)
	if want := "the connection to " + addr + " was refused"; !strings.Contains(e.Message, want) || !strings.Contains(e.Message, "(3 attempts in ") {
		t.Errorf("message %q, want the cause and 3 attempts", e.Message)
	}
	if line := logs.String(); !strings.Contains(line, "level=WARN") || !strings.Contains(line, "was refused") || strings.Contains(line, sandbox.DemoSecretKey) {
		t.Errorf("log, want a warning with the cause and no secret:\n%s", line)
	}
}
