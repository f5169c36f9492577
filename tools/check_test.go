package tools_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

func rowsByCompany(t *testing.T, out map[string]any) map[string]map[string]any {
	t.Helper()
	rows := map[string]map[string]any{}
	for _, r := range out["companies"].([]any) {
		row := r.(map[string]any)
		rows[row["company"].(string)] = row
	}
	return rows
}

// A list mixing a found company, an empty one, a failing one and an
// invalid name gives one row each, and the call itself succeeds.
func TestCheckMixedListOneRowEach(t *testing.T) {
	e, g := newGuardedEnv(t, demo)
	empty := sandbox.Companies()[len(sandbox.Companies())-1]
	res, text, out := e.call(t, tools.CheckToolName, map[string]any{
		"companies": []any{docCompany, bigCompany, empty, "sandbox-status-202", "x", " " + docCompany + " "},
		"standard":  "ISO 9001",
	})
	if res.IsError {
		t.Fatalf("the call failed: %s", text)
	}
	rows := rowsByCompany(t, out)
	if len(out["companies"].([]any)) != 5 {
		t.Fatalf("want 5 rows (the duplicate checked once), got %d: %v", len(out["companies"].([]any)), out["companies"])
	}
	for name, want := range map[string]string{docCompany: "expired", empty: "none_found", "sandbox-status-202": "error", "x": "error"} {
		if got := rows[name]["verdict"]; got != want {
			t.Errorf("%s: verdict %v, want %s (row %v)", name, got, want, rows[name])
		}
	}
	if v := rows[bigCompany]["verdict"]; v != "valid" && v != "expiring" {
		t.Errorf("%s: verdict %v, want valid or expiring", bigCompany, v)
	}
	big := rows[bigCompany]
	if big["certificates_total"].(float64) != 23 || big["matching"].(float64) < 1 || big["best"] == nil {
		t.Errorf("%s: row %v", bigCompany, big)
	}
	for _, c := range big["certifications"].([]any) {
		if d := c.(map[string]any)["type_description"].(string); !strings.Contains(d, "质量管理体系") {
			t.Errorf("a certificate of type %q matched ISO 9001", d)
		}
	}
	errRow := rows["sandbox-status-202"]["error"].(map[string]any)
	if errRow["kind"] != "invalid_argument" || !strings.Contains(errRow["message"].(string), "QCC status 202") {
		t.Errorf("failing row's error: %v", errRow)
	}
	if k := rows["x"]["error"].(map[string]any)["kind"]; k != "invalid_argument" || rows["x"]["cache"] != "none" {
		t.Errorf("invalid name's row: %v", rows["x"])
	}
	tot := out["totals"].(map[string]any)
	if tot["companies"].(float64) != 5 || tot["error"].(float64) != 2 || tot["none_found"].(float64) != 1 {
		t.Errorf("totals %v", tot)
	}
	// 企查查 1 page, 苏州云帆 2, the empty one 1, the failing one 1.
	if out["qcc_calls"].(float64) != 5 {
		t.Errorf("qcc_calls %v, want 5", out["qcc_calls"])
	}
	if u := g.Usage().Total(); u != 5 {
		t.Errorf("the guard saw %d upstream calls, want 5", u)
	}
	if !strings.Contains(text, "5 QCC call(s) made") || strings.Count(text, "\n") < 6 {
		t.Errorf("text:\n%s", text)
	}
	if out["matched_types"].([]any)[0] != "质量管理体系认证（ISO9000）" {
		t.Errorf("matched_types %v", out["matched_types"])
	}

	// Asked again, every page comes from the cache.
	_, _, again := e.call(t, tools.CheckToolName, map[string]any{"companies": []any{docCompany, bigCompany}, "standard": "9001"})
	if again["qcc_calls"].(float64) != 0 || again["cache_hits"].(float64) != 3 {
		t.Errorf("second check: qcc_calls %v cache_hits %v, want 0 and 3", again["qcc_calls"], again["cache_hits"])
	}
}

// The alias table maps what users call a standard to the type
// descriptions the sandbox (like QCC) uses.
func TestCheckStandardAliasesMatchTheSandboxTypes(t *testing.T) {
	e, _ := newGuardedEnv(t)
	types := map[string]string{
		"ISO 9001": "质量管理体系认证（ISO9000）", "ISO9001": "质量管理体系认证（ISO9000）", "9001": "质量管理体系认证（ISO9000）",
		"GB/T 19001-2016": "质量管理体系认证（ISO9000）", "ISO 9001:2015": "质量管理体系认证（ISO9000）", "质量管理体系": "质量管理体系认证（ISO9000）",
		"ISO 14001": "环境管理体系认证", "ISO 45001": "职业健康安全管理体系认证", "OHSAS 18001": "职业健康安全管理体系认证",
		"ISO/IEC 27001": "信息安全管理体系认证", "ISO/IEC 20000": "信息技术服务管理体系认证", "ISO 50001": "能源管理体系认证",
		"GB/T 29490": "企业知识产权管理体系认证", "CCC": "强制性产品认证", "3C": "强制性产品认证",
	}
	companies := []any{}
	for _, c := range sandbox.Companies() {
		companies = append(companies, c)
	}
	for std, want := range types {
		_, text, out := e.call(t, tools.CheckToolName, map[string]any{"companies": companies, "standard": std})
		got := out["matched_types"].([]any)
		if len(got) != 1 || got[0] != want {
			t.Errorf("standard %q matched %v, want [%s]\n%s", std, got, want, text)
		}
	}
	// Without a standard every certificate counts.
	_, _, out := e.call(t, tools.CheckToolName, map[string]any{"companies": []any{bigCompany}})
	row := out["companies"].([]any)[0].(map[string]any)
	if row["matching"] != row["certificates_total"] || out["standard"] != nil || len(out["matched_types"].([]any)) != 0 {
		t.Errorf("without a standard: %v", out)
	}
}

// A list the day's budget cannot pay for is refused before any QCC call,
// with what is cached, what is left and what to do.
func TestCheckRefusedUpFrontWhenTheBudgetCannotPay(t *testing.T) {
	now := func() time.Time { return fixedNow }
	sb := sandbox.New(sandbox.Config{Now: now})
	qc := testkit.Client(t, sb, now, nil)
	g, err := guard.New(qc, guard.Config{Rate: guard.Off, Now: now, MaxCallsPerDay: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	e := newEnvWithBackend(t, sb, g)
	if res, text, _ := e.call(t, tools.SearchToolName, map[string]any{"company": docCompany, "page_size": 20}); res.IsError {
		t.Fatal(text)
	}
	names := []any{docCompany}
	for _, c := range sandbox.Companies()[1:5] {
		names = append(names, c)
	}
	res, text, _ := e.call(t, tools.CheckToolName, map[string]any{"companies": names})
	if !res.IsError || !strings.Contains(text, "1 of them fully cached") || !strings.Contains(text, "2 call(s) left") ||
		!strings.Contains(text, "Nothing was sent to QCC") || !strings.Contains(text, "check fewer companies") {
		t.Fatalf("want an up-front refusal, got:\n%s", text)
	}
	if n := sb.TotalCalls(); n != 1 {
		t.Errorf("the sandbox saw %d calls, want only the first search's 1", n)
	}
	// Two uncached companies fit: the call goes ahead.
	res, text, _ = e.call(t, tools.CheckToolName, map[string]any{"companies": names[:3]})
	if res.IsError {
		t.Fatalf("a list the budget can pay for was refused:\n%s", text)
	}
}
