package testkit

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
)

// InitializeBody is a legacy (2025-06-18) initialize request, for tests
// that speak raw HTTP to the /mcp endpoint.
const InitializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// MCPHeaders are the headers of a streamable HTTP POST, with extra set
// over them.
func MCPHeaders(extra map[string]string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	maps.Copy(h, extra)
	return h
}

// Request sends method url with body and header over the default client
// and fails the test when no response comes. The caller closes the body.
func Request(t testing.TB, ctx context.Context, method, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
