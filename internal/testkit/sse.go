package testkit

import (
	"context"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// OpenSSEClient connects an mcp-go client to the legacy SSE transport at
// baseURL+"/sse" with the given headers, initializes it with a legacy
// protocol version and closes it when the test ends. Unlike SSEClient it
// starts the client without a deadline: mcp-go ties the SSE stream to the
// context given to Start, so a start-up deadline would cut the stream (and
// every later answer) as soon as it is canceled.
func OpenSSEClient(t testing.TB, baseURL string, headers map[string]string, opts ...transport.ClientOption) *client.Client {
	t.Helper()
	if headers != nil {
		opts = append(opts, transport.WithHeaders(headers))
	}
	c, err := client.NewSSEMCPClient(baseURL+"/sse", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	Initialize(t, c, mcp.ProtocolVersion20250618)
	return c
}
