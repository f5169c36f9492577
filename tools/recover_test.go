package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// TestResourcePanicIsRedacted: a panic in a resource handler (the
// certificate template's backend, the usage resource's source) is logged
// redacted, with the stack, as a tool's is; the reader gets a generic
// error, and the server keeps serving.
func TestResourcePanicIsRedacted(t *testing.T) {
	const secret = "canary-secret-5d1e82"
	if _, err := qcc.New("canary-app-key", secret); err != nil {
		t.Fatal(err)
	}
	e := newEnvWithBackend(t, nil, leakyPanic{secret}, func(o *tools.Options) {
		o.Usage = func() guard.Usage { panic("usage with secret " + secret) }
	})
	for _, uri := range []string{"qcc://certificates/x", tools.UsageURI} {
		req := mcp.ReadResourceRequest{}
		req.Params.URI = uri
		_, err := e.client.ReadResource(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "internal error") {
			t.Errorf("%s: error %v, want an internal error", uri, err)
		} else if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Token") {
			t.Errorf("%s: the panic reached the client: %v", uri, err)
		}
	}
	logs := e.logs.String()
	if n := strings.Count(logs, "resource handler panicked"); n != 2 || !strings.Contains(logs, "[redacted]") ||
		!strings.Contains(logs, "goroutine") {
		t.Fatalf("%d panics logged, want 2, redacted, with the stack:\n%s", n, logs)
	}
	for _, leak := range []string{secret, "0123456789ABCDEF0123456789ABCDEF"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log shows %q:\n%s", leak, logs)
		}
	}
	// Still serving.
	req := mcp.ReadResourceRequest{}
	req.Params.URI = tools.StatusCodesURI
	if _, err := e.client.ReadResource(context.Background(), req); err != nil {
		t.Errorf("after the panics: %v", err)
	}
}
