package tools_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// Demo companies of the sandbox (see qcc/sandbox's package doc).
const (
	docCompany   = "企查查科技有限公司"                         // the vendor document's example, 5 certificates
	bigCompany   = "苏州云帆智能制造股份有限公司"                    // 23 certificates
	parenCompany = "华信创（北京）检测技术有限公司"                   // full-width parentheses; a null end date
	noneCompany  = "北京星河启明商贸有限公司"                      // registered, no certificates (201)
	docCertID    = "145695151793ad28f7ffd5d8a24cd6191" // 17418Q20358R1M, expired 2024-05-15
)

func TestSearchAppliesDefaultsAndPages(t *testing.T) {
	e := newEnv(t)
	res, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany})
	if res.IsError {
		t.Fatalf("error: %s", text)
	}
	if out["page"] != 1.0 || out["page_size"] != 10.0 || out["total"] != 23.0 || out["has_more"] != true {
		t.Errorf("page %v page_size %v total %v has_more %v, want 1 10 23 true", out["page"], out["page_size"], out["total"], out["has_more"])
	}
	if n := len(out["certifications"].([]any)); n != 10 {
		t.Errorf("%d certifications, want 10", n)
	}
	if !strings.Contains(text, "call again with page=2 (page_size=10)") {
		t.Errorf("text lacks the next-page hint:\n%s", text)
	}
	if !strings.Contains(text, "get_certification_detail") {
		t.Errorf("text does not point to get_certification_detail:\n%s", text)
	}
	if got := e.sandbox.Calls(qcc.MethodSearch); got != 1 {
		t.Errorf("%d upstream calls, want 1", got)
	}

	// The last page: has_more false, no next-page hint.
	_, text, out = e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "page": 3, "page_size": 10})
	if n := len(out["certifications"].([]any)); n != 3 || out["has_more"] != false {
		t.Errorf("last page: %d certifications, has_more %v; want 3, false", n, out["has_more"])
	}
	if strings.Contains(text, "call again with page=") {
		t.Errorf("last page suggests another page:\n%s", text)
	}
}

func TestSearchArgumentsAreCheckedBeforeAnyCall(t *testing.T) {
	for name, tc := range map[string]struct {
		args map[string]any
		want []string // all must appear in the text
	}{
		"company missing":       {map[string]any{}, []string{`"company"`, "missing"}},
		"company too short":     {map[string]any{"company": "企"}, []string{`"company"`, "at least 2"}},
		"company blank":         {map[string]any{"company": "   "}, []string{`"company"`, "at least 2"}},
		"company wrong type":    {map[string]any{"company": 42}, []string{`"company"`, "string"}},
		"page zero":             {map[string]any{"company": docCompany, "page": 0}, []string{`"page"`, "at least 1", "got 0"}},
		"page not an integer":   {map[string]any{"company": docCompany, "page": 1.5}, []string{`"page"`, "integer"}},
		"page_size over limit":  {map[string]any{"company": docCompany, "page_size": 50}, []string{`"page_size"`, "at most 20", "got 50"}},
		"page_size zero":        {map[string]any{"company": docCompany, "page_size": 0}, []string{`"page_size"`, "at least 1"}},
		"exact not a boolean":   {map[string]any{"company": docCompany, "exact": "yes"}, []string{`"exact"`, "boolean"}},
		"unknown argument":      {map[string]any{"company": docCompany, "bogus": 1}, []string{`"bogus"`, "unknown argument"}},
		"two problems reported": {map[string]any{"company": "x", "page_size": 99}, []string{`"company"`, `"page_size"`}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res, text, _ := e.call(t, tools.SearchToolName, tc.args)
			if !res.IsError {
				t.Fatalf("not an error: %s", text)
			}
			for _, w := range append(tc.want, "Nothing was sent to QCC") {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			if n := e.sandbox.TotalCalls(); n != 0 {
				t.Errorf("a bad argument made %d upstream calls", n)
			}
		})
	}
}

func TestSearchNoResultIsSuccessWithHint(t *testing.T) {
	for name, tc := range map[string]struct {
		args map[string]any
		hint string
	}{
		"exact":          {map[string]any{"company": noneCompany}, "exact=false"},
		"fuzzy":          {map[string]any{"company": "不存在的公司名称", "exact": false}, "registered Chinese name"},
		"past last page": {map[string]any{"company": docCompany, "page": 9}, "past the end"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res, text, out := e.call(t, tools.SearchToolName, tc.args)
			if res.IsError {
				t.Fatalf("201 must not be an error: %s", text)
			}
			if certs, ok := out["certifications"].([]any); !ok || len(certs) != 0 {
				t.Errorf("certifications = %v, want an empty list", out["certifications"])
			}
			if out["total"] != 0.0 || out["has_more"] != false {
				t.Errorf("total %v has_more %v, want 0 false", out["total"], out["has_more"])
			}
			if !strings.Contains(text, tc.hint) {
				t.Errorf("text lacks hint %q:\n%s", tc.hint, text)
			}
		})
	}
}

func TestSearchFuzzyAndCategory(t *testing.T) {
	e := newEnv(t)
	_, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": "云帆", "exact": false, "page_size": 20})
	if out["total"] != 23.0 {
		t.Errorf("fuzzy search total %v, want 23\n%s", out["total"], text)
	}
	_, _, out = e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "cert_category": "C_9", "page_size": 20})
	if out["total"] != 6.0 {
		t.Errorf("category C_9 total %v, want 6", out["total"])
	}
}

// TestSearchDatesAndValidity pins status and days against the fixed clock
// (2026-11-27 in Beijing): valid through the end date, null without one.
func TestSearchDatesAndValidity(t *testing.T) {
	e := newEnv(t)
	byNumber := map[string]map[string]any{}
	for _, company := range sandbox.Companies() {
		for page := 1; page <= 2; page++ {
			_, _, out := e.call(t, tools.SearchToolName, map[string]any{"company": company, "page_size": 20, "page": page})
			for _, c := range out["certifications"].([]any) {
				c := c.(map[string]any)
				byNumber[c["id"].(string)] = c
			}
		}
	}
	for _, tc := range []struct {
		id, status string
		end        any
		days       any
	}{
		{docCertID, "expired", "2024-05-15", -926.0},
		{"e790c717071c227f719ee1689096fc4e1", "valid", "2028-09-19", 662.0},
		{"54b26190483eba2a359101b68450765f1", "valid", "2027-01-15", 49.0},
		{"46a114f5dd951388f4ba79c92700590b1", "unknown", nil, nil}, // EndDate ""
		{"5e25a670d51a4fef34eb774c320ad2ff1", "unknown", nil, nil}, // EndDate null
		{"e56779e41bd5ac4e93561d82e77432161", "expired", "2025-06-30", -515.0},
	} {
		c, ok := byNumber[tc.id]
		if !ok {
			t.Errorf("certificate %s not found", tc.id)
			continue
		}
		if c["status"] != tc.status || c["end_date"] != tc.end || c["days_until_expiry"] != tc.days {
			t.Errorf("%s: status %v end %v days %v; want %v %v %v", tc.id, c["status"], c["end_date"], c["days_until_expiry"], tc.status, tc.end, tc.days)
		}
	}
}

func TestValidityBoundary(t *testing.T) {
	// A certificate is valid through its end date: 0 days on the day
	// itself, expired (-1) the day after. Judged in Beijing, whatever the
	// machine's zone.
	for _, tc := range []struct {
		end, now string
		status   string
		days     int
	}{
		{"2026-11-27", "2026-11-27T23:59:00+08:00", "valid", 0},
		{"2026-11-27", "2026-11-28T00:00:00+08:00", "expired", -1},
		{"2026-11-27", "2026-11-27T16:30:00Z", "expired", -1}, // 00:30 on the 28th in Beijing
		{"2026-11-28", "2026-11-27T15:59:00Z", "valid", 1},
	} {
		status, days := tools.Validity(mustDate(t, tc.end), mustTime(t, tc.now))
		if status != tc.status || days == nil || *days != tc.days {
			t.Errorf("end %s now %s: %s %v, want %s %d", tc.end, tc.now, status, deref(days), tc.status, tc.days)
		}
	}
}

func TestEveryQCCStatusBecomesAnActionableError(t *testing.T) {
	codes := []int{202, 205, 207, 208, 209, 213, 215, 218, 219, 105, 110, 101, 102, 103, 104, 106, 107, 108, 109,
		111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 199, 203, 214, 223, 299}
	e := newEnv(t)
	for _, code := range codes {
		for _, tool := range []string{tools.SearchToolName, tools.DetailToolName} {
			args := map[string]any{"company": fmt.Sprintf("sandbox-status-%d", code)}
			if tool == tools.DetailToolName {
				args = map[string]any{"cert_id": fmt.Sprintf("sandbox-status-%d", code)}
			}
			res, text, _ := e.call(t, tool, args)
			if !res.IsError {
				t.Errorf("%s status %d: not an error", tool, code)
				continue
			}
			for _, want := range []string{fmt.Sprintf("QCC status %d", code), "What to do:", "Retry:"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s status %d: text lacks %q:\n%s", tool, code, want, text)
				}
			}
			info, _ := qcc.LookupStatus(code)
			if info.Operator && !strings.Contains(text, "operator") {
				t.Errorf("status %d needs the operator but the text does not say so:\n%s", code, text)
			}
		}
	}
}

func TestRetryAdviceInErrorText(t *testing.T) {
	e := newEnv(t)
	for code, want := range map[int]string{
		110: "Retry: not before 2026-11-27 12:00 CST", // fixed clock is 10:00 Beijing
		109: "Retry: not before 2026-11-28 00:00 CST",
		116: "Retry: not before 2026-11-28 00:00 CST",
		205: "Retry: yes, in a few seconds",
		102: "Retry: no",
		115: "clock",
		213: "at least 2 characters",
	} {
		_, text, _ := e.call(t, tools.SearchToolName, map[string]any{"company": fmt.Sprintf("sandbox-status-%d", code)})
		if !strings.Contains(text, want) {
			t.Errorf("status %d: text lacks %q:\n%s", code, want, text)
		}
	}
}

func TestTransportFailuresAreActionableErrors(t *testing.T) {
	e := newEnv(t)
	for trigger, want := range map[string]string{
		"sandbox-http-502":  "HTTP 502",
		"sandbox-http-404":  "HTTP 404",
		"sandbox-malformed": "malformed_response",
		"sandbox-truncated": "malformed_response",
		"sandbox-large":     "response_too_large",
	} {
		res, text, _ := e.call(t, tools.SearchToolName, map[string]any{"company": trigger})
		if !res.IsError || !strings.Contains(text, want) || !strings.Contains(text, "What to do:") {
			t.Errorf("%s: isError %v, text:\n%s\nwant %q and a next step", trigger, res.IsError, text, want)
		}
		if strings.Contains(text, "QCC status") {
			t.Errorf("%s: claims a QCC status although QCC sent none:\n%s", trigger, text)
		}
	}
}

func TestDemoResultsSayDemo(t *testing.T) {
	for _, isDemo := range []bool{false, true} {
		var opts []envOption
		if isDemo {
			opts = append(opts, demo)
		}
		e := newEnv(t, opts...)
		for _, call := range []struct {
			tool string
			args map[string]any
		}{
			{tools.SearchToolName, map[string]any{"company": docCompany}},
			{tools.DetailToolName, map[string]any{"cert_id": docCertID}},
		} {
			_, text, out := e.call(t, call.tool, call.args)
			src := out["source"].(map[string]any)
			if src["demo"] != isDemo || strings.Contains(text, "DEMO DATA") != isDemo {
				t.Errorf("%s demo=%v: source.demo %v, text:\n%s", call.tool, isDemo, src["demo"], text)
			}
			if src["fetched_at"] != "2026-11-27T02:00:00Z" {
				t.Errorf("fetched_at %v, want the fixed clock in RFC 3339", src["fetched_at"])
			}
		}
	}
}

func TestOneLogLinePerCall(t *testing.T) {
	e := newEnv(t)
	e.call(t, tools.SearchToolName, map[string]any{"company": docCompany})
	e.call(t, tools.SearchToolName, map[string]any{"company": "sandbox-status-102"})
	logs := e.logs.String()
	for _, want := range []string{
		"tool=search_certifications outcome=ok", "qcc_status=200",
		"outcome=billing", "qcc_status=102",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "tool call"); n != 2 {
		t.Errorf("%d tool call lines, want 2:\n%s", n, logs)
	}
	if strings.Contains(logs, sandbox.DemoSecretKey) {
		t.Error("logs contain the secret key")
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
