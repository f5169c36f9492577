package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// newGuardedEnv is the full stack of the server: sandbox → client → guard
// (cache, no rate limit) → MCP server with the usage resource.
func newGuardedEnv(t *testing.T, opts ...envOption) (*env, *guard.Guard) {
	t.Helper()
	sb, qc := sandboxClient(t)
	g, err := guard.New(qc, guard.Config{Rate: guard.Off, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	opts = append(opts, func(o *tools.Options) { o.Usage = g.Usage })
	return newEnvWithBackend(t, sb, g, opts...), g
}

func TestWholeListSearch(t *testing.T) {
	for name, tc := range map[string]struct {
		args                   map[string]any
		pages, returned, total int
		pageSize               int
		hasMore                bool
		upstream               int
	}{
		"whole list in pages of 20": {map[string]any{"company": bigCompany, "max_results": 200}, 2, 23, 23, 20, false, 2},
		"caller's page size":        {map[string]any{"company": bigCompany, "max_results": 25, "page_size": 10}, 3, 23, 23, 10, false, 3},
		"cut to max_results":        {map[string]any{"company": bigCompany, "max_results": 5}, 1, 5, 23, 20, true, 1},
		"starting at a later page":  {map[string]any{"company": bigCompany, "max_results": 10, "page": 2, "page_size": 5}, 2, 10, 23, 5, true, 2},
		"default is one page":       {map[string]any{"company": bigCompany}, 1, 10, 23, 10, true, 1},
		"short list stops early":    {map[string]any{"company": docCompany, "max_results": 200}, 1, 5, 5, 20, false, 1},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res, text, out := e.call(t, tools.SearchToolName, tc.args)
			if res.IsError {
				t.Fatal(text)
			}
			src := out["source"].(map[string]any)
			got := []any{src["pages"], len(out["certifications"].([]any)), out["total"], out["page_size"], out["has_more"], e.sandbox.Calls(qcc.MethodSearch)}
			want := []any{float64(tc.pages), tc.returned, float64(tc.total), float64(tc.pageSize), tc.hasMore, tc.upstream}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("pages, returned, total, page_size, has_more, upstream calls = %v, want %v", got, want)
					break
				}
			}
			if !strings.Contains(text, "QCC page(s)") {
				t.Errorf("text does not say how many pages it took:\n%s", text)
			}
		})
	}
}

func TestWholeListIDsAreDistinctAndInOrder(t *testing.T) {
	e := newEnv(t)
	_, _, whole := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200, "page_size": 7})
	var paged []any
	for page := 1; page <= 4; page++ {
		_, _, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "page": page, "page_size": 7})
		paged = append(paged, out["certifications"].([]any)...)
	}
	a, _ := json.Marshal(whole["certifications"])
	b, _ := json.Marshal(paged)
	if string(a) != string(b) {
		t.Errorf("merged pages differ from the pages fetched one by one")
	}
}

func TestWholeListCacheIsHitOnlyWhenEveryPageWas(t *testing.T) {
	e, _ := newGuardedEnv(t)
	_, _, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "page_size": 20})
	if c := out["source"].(map[string]any)["cache"]; c != "miss" {
		t.Fatalf("first page: cache %v", c)
	}
	_, _, out = e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200})
	if c := out["source"].(map[string]any)["cache"]; c != "miss" {
		t.Errorf("page 1 cached, page 2 fetched: cache %v, want miss", c)
	}
	_, _, out = e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200})
	if c := out["source"].(map[string]any)["cache"]; c != "hit" {
		t.Errorf("both pages cached: cache %v, want hit", c)
	}
	if n := e.sandbox.Calls(qcc.MethodSearch); n != 2 {
		t.Errorf("%d upstream calls, want 2 (one per distinct page)", n)
	}
}

// failingPage is the real client except that one page fails.
type failingPage struct {
	guard.Upstream
	page int
}

func (f failingPage) SearchCertification(ctx context.Context, p qcc.SearchParams) (*qcc.SearchResult, error) {
	if p.PageIndex == f.page {
		return f.Upstream.SearchCertification(ctx, qcc.SearchParams{SearchKey: "sandbox-status-120"})
	}
	return f.Upstream.SearchCertification(ctx, p)
}

func TestWholeListStopsEarlyOnErrorAndSaysSo(t *testing.T) {
	sb, qc := sandboxClient(t)
	e := newEnvWithBackend(t, sb, failingPage{qc, 2})
	res, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200, "page_size": 10})
	if res.IsError {
		t.Fatalf("page 1 was fetched and paid for; want it returned: %s", text)
	}
	if n := len(out["certifications"].([]any)); n != 10 || out["has_more"] != true {
		t.Errorf("%d certificates, has_more %v; want page 1's 10 and has_more", n, out["has_more"])
	}
	if r, _ := out["incomplete_reason"].(string); !strings.Contains(r, "QCC status 120") || !strings.Contains(text, "Incomplete") {
		t.Errorf("incomplete_reason %q; text:\n%s", r, text)
	}
	// A failure on the first page is an error, never "no certificates".
	res, text, _ = e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200, "page": 2})
	if !res.IsError || strings.Contains(text, "No certificates") {
		t.Errorf("first page failing: isError %v, text:\n%s", res.IsError, text)
	}
}

func TestStatusFilterIsLocal(t *testing.T) {
	e := newEnv(t)
	_, _, all := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200})
	counts := map[string]int{}
	for _, c := range all["certifications"].([]any) {
		counts[c.(map[string]any)["status"].(string)]++
	}
	for _, status := range []string{"valid", "expired"} {
		res, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200, "status": status})
		if res.IsError {
			t.Fatal(text)
		}
		certs := out["certifications"].([]any)
		for _, c := range certs {
			if s := c.(map[string]any)["status"]; s != status {
				t.Errorf("status=%s returned a %v certificate", status, s)
			}
		}
		if len(certs) != counts[status] || out["filtered_out"] != float64(23-counts[status]) || out["total"] != 23.0 {
			t.Errorf("status=%s: %d returned, filtered_out %v, total %v; want %d, %d, 23", status, len(certs), out["filtered_out"], out["total"], counts[status], 23-counts[status])
		}
		if !strings.Contains(text, "Local filter status="+status) {
			t.Errorf("text does not say the filter is local:\n%s", text)
		}
	}
	if e.sandbox.Calls(qcc.MethodSearch) != 6 { // 2 pages × 3 calls: the filter saves nothing upstream
		t.Errorf("%d upstream calls", e.sandbox.Calls(qcc.MethodSearch))
	}
}

func TestCompanyNameNormalisation(t *testing.T) {
	e, _ := newGuardedEnv(t)
	for _, name := range []string{parenCompany, "  华信创(北京)检测技术有限公司 ", "华信创（北京)检测技术有限公司"} {
		res, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": name})
		if res.IsError || out["total"] != 6.0 || out["company"] != parenCompany {
			t.Errorf("%q: isError %v total %v company %v\n%s", name, res.IsError, out["total"], out["company"], text)
		}
	}
	// One upstream call: the variants share one cache entry.
	if n := e.sandbox.Calls(qcc.MethodSearch); n != 1 {
		t.Errorf("%d upstream calls for three spellings of one name, want 1", n)
	}
}

func TestTextBudget(t *testing.T) {
	e := newEnv(t, func(o *tools.Options) { o.MaxTextBytes = 1500 })
	res, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200})
	if res.IsError {
		t.Fatal(text)
	}
	if len(text) > 1500 {
		t.Errorf("text is %d bytes, over the 1500 budget", len(text))
	}
	if n := len(out["certifications"].([]any)); n != 23 {
		t.Errorf("structured content cut too: %d certificates", n)
	}
	for _, want := range []string{"more not shown", "structuredContent.certifications", "get_certification_detail"} {
		if !strings.Contains(text, want) {
			t.Errorf("cut text lacks %q:\n%s", want, text)
		}
	}
	_, text, out = e.call(t, tools.DetailToolName, map[string]any{"cert_id": docCertID, "include_empty": true})
	if len(text) > 1500 || !strings.Contains(text, "structuredContent.fields") || len(out["fields"].(map[string]any)) != len(sandbox.DetailFields()) {
		t.Errorf("detail: %d bytes, %d fields:\n%s", len(text), len(out["fields"].(map[string]any)), text)
	}
}

func TestDefaultTextBudgetHoldsForTheLargestAnswer(t *testing.T) {
	e := newEnv(t)
	_, text, out := e.call(t, tools.SearchToolName, map[string]any{"company": "有限公司", "exact": false, "max_results": 200})
	if n := len(out["certifications"].([]any)); n < 40 {
		t.Fatalf("only %d certificates; the test needs a long list", n)
	}
	if len(text) > tools.DefaultMaxTextBytes {
		t.Errorf("text is %d bytes, over the default budget of %d", len(text), tools.DefaultMaxTextBytes)
	}
}

func TestResources(t *testing.T) {
	e, _ := newGuardedEnv(t)
	ctx := context.Background()
	list, err := e.client.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	uris := map[string]bool{}
	for _, r := range list.Resources {
		uris[r.URI] = r.Description != ""
	}
	if !uris[tools.StatusCodesURI] || !uris[tools.UsageURI] {
		t.Fatalf("resources %v, want both with descriptions", uris)
	}

	var codes []tools.StatusCode
	readJSON(t, e, tools.StatusCodesURI, &codes)
	want := tools.StatusCodeTable()
	if len(codes) != len(want) || len(codes) < 35 {
		t.Fatalf("%d status codes, want %d (every code of the document)", len(codes), len(want))
	}
	for i, c := range codes {
		if c.Kind == "" {
			t.Errorf("status %d served without a kind", c.Code)
		}
		info, known := qcc.LookupStatus(c.Code)
		if !known || c != want[i] || (c.Code != 200 && (c.Kind != string(info.Kind) || c.WhatToDo != info.Action || c.Retryable != info.Retry.Retryable)) {
			t.Errorf("status %d served as %+v, the client uses %+v", c.Code, c, info)
		}
	}

	e.call(t, tools.SearchToolName, map[string]any{"company": docCompany})
	e.call(t, tools.SearchToolName, map[string]any{"company": docCompany})
	var u tools.Usage
	readJSON(t, e, tools.UsageURI, &u)
	if u.UpstreamCalls != 1 || u.UpstreamCallsByStatus["200"] != 1 || u.CacheHits != 1 || u.CacheMisses != 1 || u.BudgetLeft != nil {
		t.Errorf("usage after a search and its repeat: %+v", u)
	}
}

func readJSON(t *testing.T, e *env, uri string, v any) {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := e.client.ReadResource(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("%s: %d contents", uri, len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok || tc.MIMEType != "application/json" {
		t.Fatalf("%s: contents %T %+v", uri, res.Contents[0], res.Contents[0])
	}
	if err := json.Unmarshal([]byte(tc.Text), v); err != nil {
		t.Fatalf("%s: %v", uri, err)
	}
}

func TestDueDiligencePrompt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	list, err := e.client.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil || len(list.Prompts) != 1 || list.Prompts[0].Name != tools.DueDiligence {
		t.Fatalf("prompts %+v %v", list, err)
	}
	if args := list.Prompts[0].Arguments; len(args) != 1 || args[0].Name != "company" || !args[0].Required {
		t.Errorf("arguments %+v, want one required company", args)
	}
	req := mcp.GetPromptRequest{}
	req.Params.Name = tools.DueDiligence
	req.Params.Arguments = map[string]string{"company": " 华信创(北京)检测技术有限公司"}
	res, err := e.client.GetPrompt(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	text := res.Messages[0].Content.(mcp.TextContent).Text
	for _, want := range []string{parenCompany, "search_certifications", "max_results", "get_certification_detail", "90 days", "expired", "number", "billed"} {
		if !strings.Contains(text, want) {
			t.Errorf("prompt lacks %q:\n%s", want, text)
		}
	}
	req.Params.Arguments = map[string]string{}
	if _, err := e.client.GetPrompt(ctx, req); err == nil {
		t.Error("prompt without a company did not fail")
	}
}

// TestDescriptionsForModels keeps every description present and short
// enough to be read: models see all of them on every turn.
func TestDescriptionsForModels(t *testing.T) {
	e := newEnv(t)
	list, err := e.client.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range list.Tools {
		if n := len([]rune(tool.Description)); n < 100 || n > 1000 {
			t.Errorf("%s: description of %d characters, want 100 to 1000", tool.Name, n)
		}
		for _, must := range []string{"billed", "QCC"} {
			if !strings.Contains(tool.Description, must) {
				t.Errorf("%s: description does not mention %q", tool.Name, must)
			}
		}
		raw, _ := json.Marshal(tool.InputSchema)
		var schema struct {
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &schema); err != nil {
			t.Fatal(err)
		}
		for name, p := range schema.Properties {
			if n := len([]rune(p.Description)); n < 20 || n > 400 {
				t.Errorf("%s.%s: description of %d characters, want 20 to 400", tool.Name, name, n)
			}
		}
	}
	desc := map[string]string{}
	for _, tool := range list.Tools {
		desc[tool.Name] = tool.Description
	}
	search, detail := desc[tools.SearchToolName], desc[tools.DetailToolName]
	if !strings.Contains(search, "get_certification_detail") || !strings.Contains(detail, "search_certifications") {
		t.Error("the descriptions do not say how the tools chain")
	}
}

func TestUnknownCertificateIDIsPaidForOnce(t *testing.T) {
	e, _ := newGuardedEnv(t)
	for i := range 2 {
		res, text, _ := e.call(t, tools.DetailToolName, map[string]any{"cert_id": "no-such-certificate-id"})
		if !res.IsError || !strings.Contains(text, "QCC status 201") || !strings.Contains(text, "no certificate has the id") {
			t.Errorf("call %d: isError %v text:\n%s", i, res.IsError, text)
		}
	}
	if n := e.sandbox.Calls(qcc.MethodDetail); n != 1 {
		t.Errorf("%d upstream calls for the same unknown id twice, want 1", n)
	}
}

// noPaging is the real client with QCC's Paging block left out, as the
// tolerant decoder accepts.
type noPaging struct{ guard.Upstream }

func (n noPaging) SearchCertification(ctx context.Context, p qcc.SearchParams) (*qcc.SearchResult, error) {
	res, err := n.Upstream.SearchCertification(ctx, p)
	if res != nil {
		res.Paging = qcc.Paging{}
	}
	return res, err
}

func TestWholeListWithoutPaging(t *testing.T) {
	sb, qc := sandboxClient(t)
	e := newEnvWithBackend(t, sb, noPaging{qc})
	_, _, out := e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "max_results": 200, "page_size": 10})
	if n := len(out["certifications"].([]any)); n != 23 || out["has_more"] != false {
		t.Errorf("without Paging: %d certificates, has_more %v; want all 23 over 3 pages", n, out["has_more"])
	}
	_, _, out = e.call(t, tools.SearchToolName, map[string]any{"company": bigCompany, "page_size": 10})
	if out["has_more"] != true {
		t.Errorf("a full page without a total: has_more %v, want true", out["has_more"])
	}
}

func TestRateLimitThroughTheServer(t *testing.T) {
	sb, qc := sandboxClient(t)
	g, err := guard.New(qc, guard.Config{Rate: 0.2, Burst: 1, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	e := newEnvWithBackend(t, sb, g)

	// The burst allows one call; the next slot is 5 s away, beyond this
	// call's deadline, so it is refused at once instead of waiting.
	e.call(t, tools.SearchToolName, map[string]any{"company": docCompany})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tools.SearchToolName
	req.Params.Arguments = map[string]any{"company": bigCompany}
	res, err := e.client.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("rate-limited call: %v", err)
	}
	text := res.Content[0].(mcp.TextContent).Text
	if !res.IsError || !strings.Contains(text, "local_limit") || !strings.Contains(text, "rate limit") || !strings.Contains(text, "Retry: yes") {
		t.Errorf("rate-limited call: isError %v\n%s", res.IsError, text)
	}
	if n := sb.Calls(qcc.MethodSearch); n != 1 {
		t.Errorf("%d upstream calls, want 1", n)
	}
}
