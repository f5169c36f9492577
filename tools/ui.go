package tools

import (
	"context"
	_ "embed"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The MCP Apps view (extension io.modelcontextprotocol/ui, specification
// 2026-01-26): one HTML page that hosts supporting the extension render in
// a sandboxed iframe next to a tool's result. It draws a search result as a
// validity timeline and a check_certifications result as a table of
// verdicts, and fetches a certificate's record through the host on click.
// Hosts without the extension ignore _meta and keep getting the same text
// and structured results.
const (
	// ViewURI is the view's resource URI, named in the _meta.ui.resourceUri
	// of the tools it renders.
	ViewURI = "ui://qcc-mcp/certificates.html"
	// ViewMIMEType is the MIME type the extension requires of an HTML view.
	ViewMIMEType = "text/html;profile=mcp-app"
)

// viewHTML is the view itself: our own HTML, CSS and JavaScript in one
// file, loading nothing from anywhere (see ui/certificates.html).
//
//go:embed ui/certificates.html
var viewHTML string

// ViewHTML returns the view's HTML as served by resources/read.
func ViewHTML() string { return viewHTML }

// WithView declares the certificate view as t's MCP Apps view by setting
// _meta.ui.resourceUri, keeping any other _meta fields; it returns t for
// use around a tool's constructor: `return WithView(newTool(...))`. The
// view renders search_certifications and check_certifications results.
func WithView(t Tool) Tool {
	if t.Tool.Meta == nil {
		t.Tool.Meta = &mcp.Meta{}
	}
	if t.Tool.Meta.AdditionalFields == nil {
		t.Tool.Meta.AdditionalFields = map[string]any{}
	}
	ui, _ := t.Tool.Meta.AdditionalFields["ui"].(map[string]any)
	if ui == nil {
		ui = map[string]any{}
	}
	ui["resourceUri"] = ViewURI
	t.Tool.Meta.AdditionalFields["ui"] = ui
	return t
}

// viewMeta is the view's _meta.ui as the extension defines it. The view
// needs nothing from any other origin, which the extension spells as empty
// domain lists (the host then applies its most restrictive policy: no
// connections, no outside scripts, styles, images or frames). The view
// draws its own card, so it asks the host for no border.
func viewMeta() map[string]any {
	return map[string]any{
		"ui": map[string]any{
			"csp": map[string]any{
				"connectDomains":  []string{},
				"resourceDomains": []string{},
				"frameDomains":    []string{},
				"baseUriDomains":  []string{},
			},
			"prefersBorder": false,
		},
	}
}

// addView lists the view among the resources and serves it. It is listed,
// not only named by the tools, so that a host (or a reviewer) can fetch
// and inspect it before any tool runs.
func addView(s *server.MCPServer) {
	res := mcp.NewResource(ViewURI, "Certificate view", mcp.WithResourceTitle("Certificate view"),
		mcp.WithResourceDescription("MCP Apps view (io.modelcontextprotocol/ui) of search_certifications and check_certifications results: a validity timeline with expiring and expired certificates marked, a verdict table per company, and each certificate's record on click. Self-contained HTML; loads nothing from elsewhere."),
		mcp.WithMIMEType(ViewMIMEType))
	res.Meta = &mcp.Meta{AdditionalFields: viewMeta()}
	s.AddResource(res, func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{
			URI: ViewURI, MIMEType: ViewMIMEType, Text: viewHTML, Meta: viewMeta(),
		}}, nil
	})
}
