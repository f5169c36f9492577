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

// The template reads a certificate through the guard: the first read is
// billed, a repeat is free, and both give get_certification_detail's record.
func TestCertificateTemplateOverHTTP(t *testing.T) {
	srv := appserver.Start(t, []string{"--demo"}, nil, nil)
	for _, version := range []string{mcp.LATEST_PROTOCOL_VERSION, mcp.ProtocolVersion20250618} {
		t.Run(version, func(t *testing.T) {
			c := testkit.StreamableClient(t, srv.URL+"/mcp", version)
			ctx := context.Background()
			templates, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
			if err != nil || len(templates.ResourceTemplates) != 1 {
				t.Fatalf("templates %v, %v", templates, err)
			}
			tpl := templates.ResourceTemplates[0]
			if tpl.URITemplate.Raw() != tools.CertificateTemplate || tpl.Title == "" || !strings.Contains(tpl.Description, "billed") {
				t.Errorf("template %+v", tpl)
			}
			read := func(uri string) (*mcp.ReadResourceResult, error) {
				req := mcp.ReadResourceRequest{}
				req.Params.URI = uri
				return c.ReadResource(ctx, req)
			}
			res, err := read("qcc://certificates/" + docCertID)
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Certificate tools.CertificateSummary `json:"certificate"`
			}
			if err := json.Unmarshal([]byte(res.Contents[0].(mcp.TextResourceContents).Text), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Certificate.Number != "17418Q20358R1M" || rec.Certificate.Holder != docCompany {
				t.Errorf("record %+v", rec.Certificate)
			}
			again, err := read("qcc://certificates/" + docCertID)
			if err != nil || !strings.Contains(again.Contents[0].(mcp.TextResourceContents).Text, `"cache": "hit"`) {
				t.Errorf("second read not from the cache: %v %v", again, err)
			}
			if _, err := read("qcc://certificates/" + strings.Repeat("a", 65)); err == nil || !strings.Contains(err.Error(), "Nothing was sent to QCC") {
				t.Errorf("an impossible id: %v", err)
			}
		})
	}
}

// Completion offers what the server has answered: the prompt's company
// (and, in demo mode, the sandbox's companies), the template's cert_id.
func TestCompletionsOverHTTP(t *testing.T) {
	srv := appserver.Start(t, []string{"--demo"}, nil, nil)
	c := testkit.StreamableClient(t, srv.URL+"/mcp", mcp.ProtocolVersion20250618)
	ctx := context.Background()
	complete := func(ref any, name, value string) *mcp.CompleteResult {
		t.Helper()
		req := mcp.CompleteRequest{}
		req.Params.Ref = ref
		req.Params.Argument.Name, req.Params.Argument.Value = name, value
		res, err := c.Complete(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	prompt := mcp.PromptReference{Type: "ref/prompt", Name: tools.DueDiligence}
	got := complete(prompt, "company", "苏州").Completion.Values
	if len(got) != 1 || got[0] != sandbox.Companies()[1] {
		t.Errorf("company completion %v", got)
	}
	if all := complete(prompt, "company", "").Completion.Values; len(all) != len(sandbox.Companies()) {
		t.Errorf("empty prefix: %v", all)
	}
	tpl := mcp.ResourceReference{Type: "ref/resource", URI: tools.CertificateTemplate}
	if ids := complete(tpl, "cert_id", "1").Completion.Values; len(ids) != 0 {
		t.Errorf("ids before any search: %v", ids)
	}
	if _, err := testkit.CallTool(c, tools.SearchToolName, map[string]any{"company": docCompany}); err != nil {
		t.Fatal(err)
	}
	ids := complete(tpl, "cert_id", docCertID[:6]).Completion.Values
	if len(ids) != 1 || ids[0] != docCertID {
		t.Errorf("ids after a search: %v", ids)
	}
}

// Every tool, resource, template and prompt has a title; the lists carry
// long public cache hints and a read (qcc://usage) is not to be cached.
func TestTitlesAndCacheHints(t *testing.T) {
	srv := appserver.Start(t, []string{"--demo"}, nil, nil)
	c := testkit.StreamableClient(t, srv.URL+"/mcp", mcp.LATEST_PROTOCOL_VERSION)
	ctx := context.Background()
	tl, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tl.Tools {
		if tool.Title == "" {
			t.Errorf("tool %s has no title", tool.Name)
		}
	}
	rl, _ := c.ListResources(ctx, mcp.ListResourcesRequest{})
	for _, r := range rl.Resources {
		if r.Title == "" {
			t.Errorf("resource %s has no title", r.URI)
		}
	}
	pl, _ := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
	for _, p := range pl.Prompts {
		if p.Title == "" {
			t.Errorf("prompt %s has no title", p.Name)
		}
	}
	for name, hinted := range map[string]*mcp.CacheableResult{"tools/list": &tl.CacheableResult, "resources/list": &rl.CacheableResult, "prompts/list": &pl.CacheableResult} {
		if hinted.TTLMs == nil || *hinted.TTLMs < 3600_000 || hinted.CacheScope != mcp.CacheScopePublic {
			t.Errorf("%s: cache hints %v %v, want a long public TTL", name, hinted.TTLMs, hinted.CacheScope)
		}
	}
	req := mcp.ReadResourceRequest{}
	req.Params.URI = tools.UsageURI
	usage, err := c.ReadResource(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if usage.TTLMs == nil || *usage.TTLMs != 0 || usage.CacheScope != mcp.CacheScopePrivate {
		t.Errorf("qcc://usage cache hints %v %v, want 0 and private", usage.TTLMs, usage.CacheScope)
	}
	_ = client.Client{}
}
