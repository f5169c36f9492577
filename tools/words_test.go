package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// Input that cannot succeed is refused with the usual words and never
// reaches QCC (issue 10, item 12).
func TestImpossibleInputIsNeverBilled(t *testing.T) {
	e := newEnv(t)
	for name, tc := range map[string]struct {
		tool string
		args map[string]any
		want string
	}{
		"company of 101 characters": {tools.SearchToolName, map[string]any{"company": strings.Repeat("企", 101)}, `at most 100 characters after normalisation, got 101`},
		"company of 10,000":         {tools.SearchToolName, map[string]any{"company": strings.Repeat("a", 10000)}, `got 10000`},
		"company with NUL":          {tools.SearchToolName, map[string]any{"company": "企查查\x00科技有限公司"}, `control character U+0000`},
		"company with ESC":          {tools.SearchToolName, map[string]any{"company": "企查查\x1b科技有限公司"}, `control character U+001B`},
		"cert_id of 65":             {tools.DetailToolName, map[string]any{"cert_id": strings.Repeat("a", 65)}, `at most 64 characters, got 65`},
		"cert_id of 10,000":         {tools.DetailToolName, map[string]any{"cert_id": strings.Repeat("a", 10000)}, `got 10000`},
		"cert_id with a slash":      {tools.DetailToolName, map[string]any{"cert_id": "abc/../def"}, `only letters, digits, - and _`},
		"cert_id with NUL":          {tools.DetailToolName, map[string]any{"cert_id": "abc\x00"}, `only letters, digits, - and _`},
	} {
		t.Run(name, func(t *testing.T) {
			res, text, _ := e.call(t, tc.tool, tc.args)
			if !res.IsError || !strings.Contains(text, tc.want) || !strings.Contains(text, "Nothing was sent to QCC") {
				t.Errorf("got:\n%s\nwant an error containing %q and 'Nothing was sent to QCC'", text, tc.want)
			}
		})
	}
	// The limit holds after normalisation: spaces do not count.
	if res, text, _ := e.call(t, tools.SearchToolName, map[string]any{"company": "  " + docCompany + strings.Repeat(" ", 200)}); res.IsError {
		t.Errorf("a name padded with spaces was refused: %s", text)
	}
	if n := e.sandbox.TotalCalls(); n != 1 {
		t.Errorf("the sandbox saw %d calls, want the one valid search", n)
	}
}

// The rough edges a new user meets, worded so that they do not mislead.
func TestWordsThatDoNotMislead(t *testing.T) {
	e := newEnv(t)
	t.Run("page 2.0 is the integer 2", func(t *testing.T) {
		res, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "page": 2.0, "page_size": 5.0})
		if res.IsError || out["page"].(float64) != 2 {
			t.Errorf("page 2.0: %s", text)
		}
	})
	t.Run("a type error is worded for an agent", func(t *testing.T) {
		res, text, _ := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "page": 2.5})
		if !res.IsError || strings.Contains(text, "Go struct") || strings.Contains(text, "unmarshal") || !strings.Contains(text, `"page"`) {
			t.Errorf("page 2.5:\n%s", text)
		}
	})
	t.Run("white space between Chinese characters", func(t *testing.T) {
		res, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": "企查查科技  有限公司"})
		if res.IsError || out["company"] != docCompany || out["total"].(float64) != 5 {
			t.Errorf("got %v:\n%s", out["company"], text)
		}
	})
	t.Run("an empty category names the category", func(t *testing.T) {
		_, text, _ := e.call(t, tools.SearchToolName, map[string]any{"company": docCompany, "cert_category": "C_99"})
		if !strings.Contains(text, `cert_category="C_99" is the likely cause`) || strings.Contains(text, "exact=false") {
			t.Errorf("got:\n%s", text)
		}
	})
	t.Run("keyword results may belong to several companies", func(t *testing.T) {
		_, text, _ := e.call(t, tools.SearchToolName, map[string]any{"company": "科技", "exact": false})
		if !strings.Contains(text, "may belong to several companies") || !strings.Contains(text, "holder") {
			t.Errorf("got:\n%s", text)
		}
	})
	t.Run("the detail flags a valid status past its end date", func(t *testing.T) {
		_, text, _ := e.call(t, tools.DetailToolName, map[string]any{"cert_id": docCertID})
		if !strings.Contains(text, `QCC's status says "有效" (valid), but the expiry date 2024-05-15 has passed`) {
			t.Errorf("got:\n%s", text)
		}
	})
}

// In demo mode the instructions list the sandbox's companies and triggers.
func TestDemoInstructionsListTheSandbox(t *testing.T) {
	for _, demoMode := range []bool{true, false} {
		c, err := client.NewInProcessClient(tools.NewServer(nil, tools.Options{Demo: demoMode}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := testkit.Initialize(t, c, mcp.ProtocolVersion20250618).Instructions
		for _, name := range sandbox.Companies() {
			if strings.Contains(got, name) != demoMode {
				t.Errorf("demo=%v: instructions mention %s: %v", demoMode, name, !demoMode)
			}
		}
		if strings.Contains(got, "sandbox-status-") != demoMode {
			t.Errorf("demo=%v: triggers listed %v", demoMode, !demoMode)
		}
	}
}

// Over a real transport the arguments arrive as JSON text, where 2.0 keeps
// its spelling: it must still be the integer 2, and 2.5 an error in words.
func TestPageTwoPointZeroOverHTTP(t *testing.T) {
	srv := appserver.Start(t, []string{"--demo"}, nil, nil)
	c := testkit.StreamableClient(t, srv.URL+"/mcp", mcp.ProtocolVersion20250618)
	for raw, want := range map[string]string{
		`{"company":"苏州云帆智能制造股份有限公司","page":2.0,"page_size":5.0}`: "",
		`{"company":"苏州云帆智能制造股份有限公司","page":2.5}`:                 `argument "page" must be of type integer`,
	} {
		req := mcp.CallToolRequest{}
		req.Params.Name = tools.SearchToolName
		req.Params.Arguments = json.RawMessage(raw)
		res, err := c.CallTool(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		text := testkit.ResultText(res)
		if want == "" && (res.IsError || !strings.Contains(text, "fetched 6-10")) {
			t.Errorf("%s:\n%s", raw, text)
		}
		if want != "" && (!res.IsError || !strings.Contains(text, want) || strings.Contains(text, "Go struct")) {
			t.Errorf("%s:\n%s", raw, text)
		}
	}
}
