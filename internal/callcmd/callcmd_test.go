package callcmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/internal/app"
	"github.com/qcc-mcp/qcc-mcp/internal/callcmd"
)

const docCompany = "企查查科技有限公司"

// call runs the subcommand as main does, against the demo sandbox, and
// returns its outcome: "ok", "isError", "usage" or "help".
func call(t *testing.T, args ...string) (outcome, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cfg, cmd, err := callcmd.Parse(args, &errOut)
	switch {
	case callcmd.IsHelp(err):
		return "help", out.String(), errOut.String()
	case err != nil:
		return "usage", out.String(), errOut.String()
	}
	if err := cfg.Load(func(string) string { return "" }); err != nil {
		return "usage", out.String(), err.Error()
	}
	log := slog.New(slog.DiscardHandler)
	a, err := app.New(cfg, "test", log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(log)
	isError, err := callcmd.Run(context.Background(), a.MCP, cmd, "test", &out)
	if err != nil {
		t.Fatal(err)
	}
	if isError {
		return "isError", out.String(), errOut.String()
	}
	return "ok", out.String(), errOut.String()
}

func TestCall(t *testing.T) {
	for name, tc := range map[string]struct {
		args    []string
		outcome string
		want    string
	}{
		"search":             {[]string{"--demo", "search_certifications", "company=" + docCompany, "page=1", "page_size=5"}, "ok", "get_certification_detail"},
		"flags after args":   {[]string{"search_certifications", "company=" + docCompany, "--demo"}, "ok", "DEMO DATA"},
		"json object":        {[]string{"--demo", "search_certifications", `{"company":"` + docCompany + `","page":1}`}, "ok", "DEMO DATA"},
		"json output":        {[]string{"--demo", "--json", "search_certifications", "company=" + docCompany}, "ok", `"structuredContent"`},
		"tool error":         {[]string{"--demo", "search_certifications", "company=sandbox-status-102"}, "isError", "QCC status 102"},
		"schema error":       {[]string{"--demo", "search_certifications", "company=" + docCompany, "page_size=50"}, "isError", "page_size"},
		"integer typed":      {[]string{"--demo", "search_certifications", "company=" + docCompany, "page=two"}, "usage", "integer"},
		"boolean typed":      {[]string{"--demo", "search_certifications", "company=" + docCompany, "exact=maybe"}, "usage", "true or false"},
		"not name=value":     {[]string{"--demo", "search_certifications", "company"}, "usage", "want name=value"},
		"bad json":           {[]string{"--demo", "search_certifications", "{company"}, "usage", "not a JSON object"},
		"unknown argument":   {[]string{"--demo", "search_certifications", "firm=x"}, "usage", "unknown argument"},
		"unknown tool":       {[]string{"--demo", "delete_everything"}, "usage", "unknown tool"},
		"no tool":            {[]string{"--demo"}, "usage", "usage"},
		"server flag":        {[]string{"--demo", "--transport", "http", "search_certifications", "company=" + docCompany}, "usage", "not defined: -transport"},
		"missing credential": {[]string{"search_certifications", "company=" + docCompany}, "usage", "QCC_APP_KEY"},
	} {
		t.Run(name, func(t *testing.T) {
			outcome, stdout, stderr := call(t, tc.args...)
			if outcome != tc.outcome || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("%s, want %s with %q\nstdout: %s\nstderr: %s", outcome, tc.outcome, tc.want, stdout, stderr)
			}
		})
	}
}

func TestCallJSONIsWholeResult(t *testing.T) {
	outcome, stdout, _ := call(t, "--demo", "--json", "search_certifications", "company="+docCompany)
	if outcome != "ok" {
		t.Fatalf("outcome %s", outcome)
	}
	var res struct {
		Content           []map[string]any `json:"content"`
		StructuredContent map[string]any   `json:"structuredContent"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, stdout)
	}
	if len(res.Content) == 0 || res.StructuredContent["company"] != docCompany {
		t.Errorf("--json output lacks content or structuredContent: %s", stdout)
	}
}

// TestCallHelpShowsOnlyWhatApplies: call --help lists its own flags and
// the variables, none of the HTTP server's settings.
func TestCallHelpShowsOnlyWhatApplies(t *testing.T) {
	outcome, _, help := call(t, "--help")
	if outcome != "help" {
		t.Fatalf("outcome %s", outcome)
	}
	for _, want := range []string{"usage: qcc-mcp call", "-json", "-demo", "-max-calls-per-day", "QCC_APP_KEY", "QCC_CACHE_FILE"} {
		if !strings.Contains(help, want) {
			t.Errorf("call --help lacks %q:\n%s", want, help)
		}
	}
	for _, not := range []string{"-transport", "-addr", "-auth-token-file", "-allowed-origins", "-max-sse-streams", "-metrics-addr", "MCP_AUTH_TOKEN"} {
		if strings.Contains(help, not) {
			t.Errorf("call --help shows the server's %q:\n%s", not, help)
		}
	}
}

func TestIsHelp(t *testing.T) {
	if callcmd.IsHelp(errors.New("x")) || callcmd.IsHelp(callcmd.ErrUsage) {
		t.Error("IsHelp is true for a usage error")
	}
}
