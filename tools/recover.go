package tools

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The handlers other than tools' (resources, the certificate template, the
// prompt, completions) treat a panic as a tool call does (recoverPanics):
// the panic value, redacted, and the stack go to the log, and the client
// gets a generic error. Without this a panic would reach net/http's own
// recovery, which logs the value as it is, or end a stdio server.

// logPanic logs the panic v of the handler of kind for name and returns
// the error the client gets, which holds nothing of v.
func logPanic(log *slog.Logger, kind, name string, v any) error {
	log.Error(kind+" handler panicked", slog.String(kind, name),
		slog.String("panic", redactPanic(v)), slog.String("stack", string(debug.Stack())))
	return fmt.Errorf("internal error in the %s %s; the server logged it", kind, name)
}

// recoverResource wraps the handler of the resource or template name
// (server.ResourceHandlerFunc or server.ResourceTemplateHandlerFunc).
func recoverResource[H ~func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error)](log *slog.Logger, name string, h H) H {
	return func(ctx context.Context, req mcp.ReadResourceRequest) (out []mcp.ResourceContents, err error) {
		defer func() {
			if v := recover(); v != nil {
				out, err = nil, logPanic(log, "resource", name, v)
			}
		}()
		return h(ctx, req)
	}
}

// recoverPrompt wraps the handler of the prompt name.
func recoverPrompt(log *slog.Logger, name string, h server.PromptHandlerFunc) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcp.GetPromptRequest) (out *mcp.GetPromptResult, err error) {
		defer func() {
			if v := recover(); v != nil {
				out, err = nil, logPanic(log, "prompt", name, v)
			}
		}()
		return h(ctx, req)
	}
}

// recoverCompletion, deferred in a completion provider, turns its panic
// into the error returned through out and err.
func recoverCompletion(log *slog.Logger, name string, out **mcp.Completion, err *error) {
	if v := recover(); v != nil {
		*out, *err = nil, logPanic(log, "completion", name, v)
	}
}
