package httpfront

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/auth"
	"github.com/qcc-mcp/qcc-mcp/internal/identity"
	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

// TestAccessLogNamesSessionToolAndCaller: the line of a call on a legacy
// session names the session, the tool and the caller.
func TestAccessLogNamesSessionToolAndCaller(t *testing.T) {
	logs := &testkit.SyncBuffer{}
	_, ts := newTestServer(t, withToken, func(o *Options) {
		o.Logger = logging.New(logs, slog.LevelInfo, func(string) string { return "1" })
	})
	h := testkit.MCPHeaders(map[string]string{"Authorization": "Bearer " + testToken})
	sid := do(t, "POST", ts.URL+"/mcp", testkit.InitializeBody, h).Header.Get(server.HeaderKeySessionID)
	h[server.HeaderKeySessionID], h[mcp.HeaderProtocolVersion] = sid, mcp.ProtocolVersion20250618
	do(t, "POST", ts.URL+"/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`, h)
	var line string
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(l, "tool=echo") {
			line = l
		}
	}
	for _, want := range []string{"http request method=POST path=/mcp status=200 duration=", " session=" + sid + " tool=echo caller.name=" +
		auth.DefaultTokenName + " caller.kind=static"} {
		if !strings.Contains(line, want) {
			t.Errorf("the call's access log line lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestCallerAttrAsResolved: the caller resolved before logging gives the
// line slog.Any gave.
func TestCallerAttrAsResolved(t *testing.T) {
	for _, id := range []identity.Identity{{Name: "ci", Kind: identity.Static},
		{Name: "sub-1", Subject: "sub-1", ClientID: "app", Kind: identity.OAuth}} {
		var boxed, resolved bytes.Buffer
		logging.New(&boxed, slog.LevelInfo, func(string) string { return "1" }).
			LogAttrs(context.Background(), slog.LevelInfo, "m", slog.Any("caller", id))
		logging.New(&resolved, slog.LevelInfo, func(string) string { return "1" }).
			LogAttrs(context.Background(), slog.LevelInfo, "m", slog.Attr{Key: "caller", Value: id.LogValue()})
		// The lines start with the time of day.
		_, a, _ := strings.Cut(boxed.String(), " ")
		_, b, _ := strings.Cut(resolved.String(), " ")
		if a != b || !strings.Contains(a, "caller.name=") {
			t.Errorf("%+v: resolved %q, slog.Any %q", id, b, a)
		}
	}
}
