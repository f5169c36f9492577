package tools_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/tools"
)

// The view is listed and readable as the MCP Apps extension wants it: a
// ui:// resource of type text/html;profile=mcp-app whose _meta.ui declares
// no outside origins.
func TestViewResourceListedAndRead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	list, err := e.client.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var listed *mcp.Resource
	for i, r := range list.Resources {
		if r.URI == tools.ViewURI {
			listed = &list.Resources[i]
		}
	}
	if listed == nil {
		t.Fatalf("%s not in resources/list", tools.ViewURI)
	}
	if listed.MIMEType != tools.ViewMIMEType || listed.Description == "" || !strings.HasPrefix(listed.URI, "ui://") {
		t.Errorf("listed as %+v", listed)
	}

	req := mcp.ReadResourceRequest{}
	req.Params.URI = tools.ViewURI
	res, err := e.client.ReadResource(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("%d contents", len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok || tc.MIMEType != tools.ViewMIMEType || tc.URI != tools.ViewURI {
		t.Fatalf("contents %T %+v", res.Contents[0], res.Contents[0])
	}
	if tc.Text != tools.ViewHTML() || !strings.HasPrefix(tc.Text, "<!DOCTYPE html>") {
		t.Errorf("served text is not the embedded view (%d bytes)", len(tc.Text))
	}
	// On the wire: _meta.ui.csp with every domain list present and empty.
	raw, err := json.Marshal(tc)
	if err != nil {
		t.Fatal(err)
	}
	var wire struct {
		Meta struct {
			UI struct {
				CSP map[string][]string `json:"csp"`
			} `json:"ui"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"connectDomains", "resourceDomains", "frameDomains", "baseUriDomains"} {
		v, ok := wire.Meta.UI.CSP[k]
		if !ok || v == nil || len(v) != 0 {
			t.Errorf("_meta.ui.csp.%s = %v (present %v), want []", k, v, ok)
		}
	}
}

// search_certifications and check_certifications name the view; the detail
// tool, which the view calls itself, does not.
func TestToolsDeclareTheView(t *testing.T) {
	e := newEnv(t)
	list, err := e.client.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tool := range list.Tools {
		raw, err := json.Marshal(tool)
		if err != nil {
			t.Fatal(err)
		}
		var wire struct {
			Meta struct {
				UI struct {
					ResourceURI string `json:"resourceUri"`
				} `json:"ui"`
			} `json:"_meta"`
		}
		if err := json.Unmarshal(raw, &wire); err != nil {
			t.Fatal(err)
		}
		got[tool.Name] = wire.Meta.UI.ResourceURI
	}
	for _, name := range []string{tools.SearchToolName, tools.CheckToolName} {
		if got[name] != tools.ViewURI {
			t.Errorf("%s _meta.ui.resourceUri = %q, want %q", name, got[name], tools.ViewURI)
		}
	}
	if got[tools.DetailToolName] != "" {
		t.Errorf("%s names a view: %q", tools.DetailToolName, got[tools.DetailToolName])
	}
}

// WithView adds the view without dropping other _meta fields, including
// other keys under ui.
func TestWithViewKeepsOtherMeta(t *testing.T) {
	var tool tools.Tool
	tool.Tool = mcp.NewTool("x")
	tool.Tool.Meta = &mcp.Meta{AdditionalFields: map[string]any{
		"other": 1, "ui": map[string]any{"visibility": []string{"model", "app"}},
	}}
	tool = tools.WithView(tool)
	f := tool.Tool.Meta.AdditionalFields
	ui := f["ui"].(map[string]any)
	if f["other"] != 1 || ui["resourceUri"] != tools.ViewURI || ui["visibility"] == nil {
		t.Errorf("_meta after WithView: %v", f)
	}
	if bare := tools.WithView(tools.Tool{Tool: mcp.NewTool("y")}); bare.Tool.Meta.AdditionalFields["ui"].(map[string]any)["resourceUri"] != tools.ViewURI {
		t.Errorf("a tool without _meta: %+v", bare.Tool.Meta)
	}
}

// The view is one self-contained file that reaches nowhere by itself and
// speaks every message of the protocol it promises. The browser test
// (internal/uitest) shows it working; this guards the promises in a plain
// go test.
func TestViewIsSelfContained(t *testing.T) {
	html := tools.ViewHTML()
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)https?://`),                  // no outside address at all
		regexp.MustCompile("[\"'`]//[^/\\s]"),                // nor a scheme-relative one
		regexp.MustCompile(`\.(src|href|srcset|action)\s*=`), // nor one set from script
		regexp.MustCompile(`(?i)<script[^>]*\bsrc=`),         // no loaded scripts
		regexp.MustCompile(`(?i)<link\b`),                    // no style sheets or preloads
		regexp.MustCompile(`(?i)<(img|iframe|object|embed)\b`),
		regexp.MustCompile(`(?i)@import|url\(`), // nothing pulled in by CSS
		regexp.MustCompile(`\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\b`),
		regexp.MustCompile(`\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write)\b`), // data goes in as text only
		regexp.MustCompile(`\beval\(|new Function\(`),
	} {
		if loc := bad.FindStringIndex(html); loc != nil {
			t.Errorf("view contains %q (%s)", html[loc[0]:loc[1]], bad)
		}
	}
	for _, method := range []string{
		`"ui/initialize"`, `"ui/notifications/initialized"`, `"ui/notifications/tool-input"`,
		`"ui/notifications/tool-result"`, `"ui/notifications/host-context-changed"`,
		`"ui/notifications/size-changed"`, `"tools/call"`, `"get_certification_detail"`,
		`"2026-01-26"`,
	} {
		if !strings.Contains(html, method) {
			t.Errorf("view lacks %s", method)
		}
	}
}
