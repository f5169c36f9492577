package app_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/logging"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
)

// linesWith returns the lines of logs that contain every one of parts.
func linesWith(logs string, parts ...string) []string {
	var out []string
	for l := range strings.SplitSeq(logs, "\n") {
		all := l != ""
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

// TestOneLogLinePerToolCallOverHTTP: over streamable HTTP, in both
// protocol eras, a tools/call request makes one line, its access line,
// which names the call's outcome at the tool call's level; the tools
// write no line of their own. Over legacy SSE the call runs after its
// POST is answered, so the tools log it themselves.
func TestOneLogLinePerToolCallOverHTTP(t *testing.T) {
	t.Parallel()
	logs := &testkit.SyncBuffer{}
	s := appserver.Start(t, []string{"--demo", "--rate", "0"}, nil,
		logging.New(logs, slog.LevelInfo, func(string) string { return "" }))
	for _, version := range []string{mcp.LATEST_PROTOCOL_VERSION, mcp.ProtocolVersion20250618} {
		c := testkit.StreamableClient(t, s.URL+"/mcp", version)
		if res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": docCompany}); err != nil || res.IsError {
			t.Fatal(testkit.DescribeCall(version+": search", res, err))
		}
		if res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": "sandbox-status-102"}); err != nil || !res.IsError {
			t.Fatal(testkit.DescribeCall(version+": search answered QCC status 102", res, err))
		}
	}
	got := logs.String()
	if n := len(linesWith(got, "tool=search_certifications")); n != 4 {
		t.Errorf("%d lines name the tool for 4 calls over streamable HTTP, want 4:\n%s", n, got)
	}
	if n := len(linesWith(got, `level=INFO msg="http request" method=POST path=/mcp status=200`, "tool=search_certifications", "outcome=ok qcc_status=200")); n != 2 {
		t.Errorf("%d access lines name a successful call's outcome, want 2:\n%s", n, got)
	}
	if n := len(linesWith(got, `level=WARN msg="http request" method=POST path=/mcp status=200`, "tool=search_certifications", "outcome=", "qcc_status=102")); n != 2 {
		t.Errorf("%d access lines at WARN name a failed call's outcome, want 2:\n%s", n, got)
	}
	if l := linesWith(got, `msg="tool call"`); l != nil {
		t.Errorf("the tools logged a streamable-HTTP call a second time:\n%s", strings.Join(l, "\n"))
	}

	sse := testkit.OpenSSEClient(t, s.URL, nil)
	if res, err := testkit.CallTool(sse, "search_certifications", map[string]any{"company": docCompany}); err != nil || res.IsError {
		t.Fatal(testkit.DescribeCall("SSE search", res, err))
	}
	testkit.WaitFor(t, "the SSE call's line", func() bool {
		return len(linesWith(logs.String(), `msg="tool call" tool=search_certifications outcome=ok`)) == 1
	})
	if l := linesWith(logs.String(), "path=/message", "outcome="); l != nil {
		t.Errorf("the SSE POST's access line, written before its call ran, names an outcome:\n%s", strings.Join(l, "\n"))
	}
}

// TestToolCallLineAtWarnLevel: with --log-level warn only failed calls
// are logged, and over streamable HTTP each on one line.
func TestToolCallLineAtWarnLevel(t *testing.T) {
	t.Parallel()
	logs := &testkit.SyncBuffer{}
	s := appserver.Start(t, []string{"--demo", "--rate", "0"}, nil,
		logging.New(logs, slog.LevelWarn, func(string) string { return "" }))
	c := testkit.StreamableClient(t, s.URL+"/mcp", mcp.LATEST_PROTOCOL_VERSION)
	if res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": docCompany}); err != nil || res.IsError {
		t.Fatal(testkit.DescribeCall("search", res, err))
	}
	if res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": "sandbox-status-102"}); err != nil || !res.IsError {
		t.Fatal(testkit.DescribeCall("search answered QCC status 102", res, err))
	}
	got := logs.String()
	if l := linesWith(got, "tool=search_certifications"); len(l) != 1 || !strings.Contains(l[0], `level=WARN msg="http request"`) || !strings.Contains(l[0], "qcc_status=102") {
		t.Errorf("want one WARN access line for the failed call and none for the other:\n%s", got)
	}
}
