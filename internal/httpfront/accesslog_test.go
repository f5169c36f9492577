package httpfront

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lmittmann/tint"
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
	for _, want := range []string{`msg="http request" method=POST path=/mcp status=200 duration=`, " session=" + sid + " tool=echo caller.name=" +
		auth.DefaultTokenName + " caller.kind=static"} {
		if !strings.Contains(line, want) {
			t.Errorf("the call's access log line lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestCallerAttrAsResolved: the caller resolved before logging gives the
// line slog.Any gave, in each handler the process may log through.
func TestCallerAttrAsResolved(t *testing.T) {
	handlers := map[string]func(io.Writer) slog.Handler{
		"text":           func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		"json":           func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		"tint":           func(w io.Writer) slog.Handler { return tint.NewTextHandler(w, &tint.Options{NoColor: true}) },
		"tint in colour": func(w io.Writer) slog.Handler { return tint.NewTextHandler(w, nil) },
	}
	for name, h := range handlers {
		for _, id := range []identity.Identity{{Name: "ci", Kind: identity.Static},
			{Name: "sub-1", Subject: "sub-1", ClientID: "app", Kind: identity.OAuth}} {
			var boxed, resolved bytes.Buffer
			// A fixed time: the handlers print the record's.
			at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
			r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
			r.AddAttrs(slog.Any("caller", id))
			_ = h(&boxed).Handle(context.Background(), r)
			r = slog.NewRecord(at, slog.LevelInfo, "m", 0)
			r.AddAttrs(slog.Attr{Key: "caller", Value: id.LogValue()})
			_ = h(&resolved).Handle(context.Background(), r)
			if boxed.String() != resolved.String() || !strings.Contains(boxed.String(), "sub-1") && !strings.Contains(boxed.String(), "ci") {
				t.Errorf("%s, %+v: resolved %q, slog.Any %q", name, id, resolved.String(), boxed.String())
			}
		}
	}
}
