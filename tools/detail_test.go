package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

func TestDetailSummaryAndFields(t *testing.T) {
	e := newEnv(t)
	res, text, out := e.call(t, tools.DetailToolName, map[string]any{"cert_id": docCertID})
	if res.IsError {
		t.Fatalf("error: %s", text)
	}
	want := map[string]any{
		"number": "17418Q20358R1M", "status": "有效", "holder": "企查查科技有限公司",
		"holder_credit_code": "91320594088140947F", "scope": "计算机软件开发及技术服务",
		"standard": "GB/T19001-2016 / ISO9001:2015", "issuer": "华信创(北京)认证中心有限公司",
		"issue_date": "2021-04-12", "expiry_date": "2024-05-15", "first_issue_date": "2018-05-16",
	}
	cert := out["certificate"].(map[string]any)
	for k, v := range want {
		if cert[k] != v {
			t.Errorf("certificate.%s = %v, want %v", k, cert[k], v)
		}
	}
	for _, w := range []string{"Holder: 企查查科技有限公司", "Standard: GB/T19001-2016", "expired 926 days ago", "发证机构网址: www.hxccc.org"} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, text)
		}
	}
	if out["id"] != docCertID {
		t.Errorf("id %v", out["id"])
	}
}

// fieldOrder returns the keys of structuredContent.fields in the order the
// server wrote them.
func fieldOrder(t *testing.T, structured any) []string {
	t.Helper()
	raw, err := json.Marshal(structured)
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		Fields json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(top.Fields)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestDetailFieldsKeepQCCOrderAndIncludeEmptyOnRequest(t *testing.T) {
	// Clients decode structuredContent into maps and lose key order, so
	// this reads what the handler hands to mcp-go for encoding.
	detail := newHandlers(t)[tools.DetailToolName]
	res := callHandler(t, detail, map[string]any{"cert_id": docCertID, "include_empty": true})
	all := fieldOrder(t, res.StructuredContent)
	if want := sandbox.DetailFields(); strings.Join(all, ",") != strings.Join(want, ",") {
		t.Errorf("include_empty fields in order\n%v\nwant the document's order\n%v", all, want)
	}
	res = callHandler(t, detail, map[string]any{"cert_id": docCertID})
	nonEmpty := fieldOrder(t, res.StructuredContent)
	if len(nonEmpty) == 0 || len(nonEmpty) >= len(all) {
		t.Fatalf("%d non-empty fields of %d", len(nonEmpty), len(all))
	}
	// Still in QCC's order: a subsequence of the full list.
	i := 0
	for _, k := range all {
		if i < len(nonEmpty) && nonEmpty[i] == k {
			i++
		}
	}
	if i != len(nonEmpty) {
		t.Errorf("non-empty fields out of QCC's order: %v", nonEmpty)
	}
}

func TestDetailToleratesNumbersAndNull(t *testing.T) {
	e := newEnv(t)
	res, text, out := e.call(t, tools.DetailToolName, map[string]any{"cert_id": "4b147eda12bd29f82e50c6ad8d400bbf1", "include_empty": true})
	if res.IsError {
		t.Fatalf("error: %s", text)
	}
	fields := out["fields"].(map[string]any)
	if fields["再认证次数"] != "2" || fields["监督次数"] != "1" {
		t.Errorf("numbers: 再认证次数 %v 监督次数 %v, want \"2\" \"1\"", fields["再认证次数"], fields["监督次数"])
	}
	if v, ok := fields["变更日期"]; !ok || v != nil {
		t.Errorf("变更日期 = %v (present %v), want null", v, ok)
	}
}

func TestDetailUnknownIDIsAnError(t *testing.T) {
	e := newEnv(t)
	res, text, _ := e.call(t, tools.DetailToolName, map[string]any{"cert_id": "no-such-certificate-id"})
	if !res.IsError {
		t.Fatalf("unknown id is not an error: %s", text)
	}
	for _, w := range []string{"QCC status 201", "no certificate has the id", "search_certifications"} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, text)
		}
	}
}

func TestDetailArguments(t *testing.T) {
	for name, args := range map[string]map[string]any{
		"missing":       {},
		"empty":         {"cert_id": ""},
		"blank":         {"cert_id": "   "},
		"wrong type":    {"cert_id": 7},
		"unknown":       {"cert_id": docCertID, "verbose": true},
		"include_empty": {"cert_id": docCertID, "include_empty": "yes"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res, text, _ := e.call(t, tools.DetailToolName, args)
			if !res.IsError || !strings.Contains(text, "Nothing was sent to QCC") {
				t.Errorf("isError %v text:\n%s", res.IsError, text)
			}
			if e.sandbox.TotalCalls() != 0 {
				t.Errorf("bad argument reached QCC")
			}
		})
	}
}

// panicking is a backend with a bug: it panics with a value that holds
// something secret-looking.
type panicking struct{}

func (panicking) SearchCertification(context.Context, qcc.SearchParams) (*qcc.SearchResult, error) {
	panic("boom with SECRET-CANARY inside")
}

func (panicking) GetCertificationDetailByID(context.Context, string) (*qcc.CertificationDetail, error) {
	var m map[string]int
	m["x"]++ // a real runtime panic
	return nil, nil
}

func TestPanicBecomesGenericErrorResult(t *testing.T) {
	obs := &countingObserver{finished: map[string]int{}}
	e := newEnvWithBackend(t, nil, panicking{}, func(o *tools.Options) { o.Observer = obs })
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{tools.SearchToolName, map[string]any{"company": docCompany}},
		{tools.DetailToolName, map[string]any{"cert_id": "x"}},
	} {
		res, text, _ := e.call(t, call.tool, call.args)
		if !res.IsError || !strings.Contains(text, "Internal error") {
			t.Errorf("%s: isError %v text %q", call.tool, res.IsError, text)
		}
		if strings.Contains(text, "SECRET-CANARY") || strings.Contains(text, "goroutine") || strings.Contains(text, "map") {
			t.Errorf("%s: panic details leaked to the client: %q", call.tool, text)
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "tool handler panicked") {
		t.Errorf("no panic log line:\n%s", logs)
	}
	// The call is still logged and observed as finished, so metrics do
	// not count it in flight for ever.
	if n := strings.Count(logs, `msg="tool call"`); n != 2 || !strings.Contains(logs, "outcome=internal") {
		t.Errorf("%d tool call lines, want 2 with outcome=internal:\n%s", n, logs)
	}
	if obs.started != 2 || obs.finished["internal"] != 2 {
		t.Errorf("observer: %d started, finished %v; want 2 and 2 internal", obs.started, obs.finished)
	}
}

// countingObserver records what a tools.Observer is told.
type countingObserver struct {
	mu       sync.Mutex
	started  int
	finished map[string]int
}

func (c *countingObserver) CallStarted(string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started++
}

func (c *countingObserver) CallFinished(_, outcome string, _ int, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished[outcome]++
}

// leakyPanic panics with a value that quotes a secret key and a Token, as
// a bug that formats a request into a panic would.
type leakyPanic struct{ secret string }

func (l leakyPanic) SearchCertification(context.Context, qcc.SearchParams) (*qcc.SearchResult, error) {
	panic(fmt.Errorf("request with secret %s failed", l.secret))
}

func (l leakyPanic) GetCertificationDetailByID(context.Context, string) (*qcc.CertificationDetail, error) {
	panic("Token: 0123456789ABCDEF0123456789ABCDEF, secret " + l.secret)
}

// TestPanicValueIsRedactedInTheLog: a panic value is logged, but never
// with the secret key of the server's QCC client or a Token in it.
func TestPanicValueIsRedactedInTheLog(t *testing.T) {
	const secret = "canary-secret-7f3a9c"
	if _, err := qcc.New("canary-app-key", secret); err != nil {
		t.Fatal(err)
	}
	e := newEnvWithBackend(t, nil, leakyPanic{secret})
	e.call(t, tools.SearchToolName, map[string]any{"company": docCompany})
	e.call(t, tools.DetailToolName, map[string]any{"cert_id": "x"})
	logs := e.logs.String()
	if !strings.Contains(logs, "tool handler panicked") || !strings.Contains(logs, "[redacted]") {
		t.Fatalf("the panics were not logged, redacted:\n%s", logs)
	}
	for _, leak := range []string{secret, "0123456789ABCDEF0123456789ABCDEF"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log shows %q:\n%s", leak, logs)
		}
	}
}
