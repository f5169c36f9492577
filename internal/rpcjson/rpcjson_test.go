package rpcjson

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestEncodeIsJSONMarshal: Encode writes what json.Marshal and a
// json.Encoder write, HTML and line-separator escapes included, for a
// tool's result by pointer and by value and for every other message.
func TestEncodeIsJSONMarshal(t *testing.T) {
	structured := mcp.NewToolResultStructured(map[string]any{"name": "<b>A&B</b>", "sep": "\u2028", "n": 3, "list": []any{1.5, "企查查"}}, "a <b> & \u2029 text\n")
	errResult := mcp.NewToolResultError("bad <input> & more")
	withMeta := mcp.NewToolResultText("x")
	withMeta.Meta = mcp.NewMetaFromMap(map[string]any{"io.modelcontextprotocol/serverInfo": map[string]any{"name": "qcc-mcp"}})
	withMeta.ResultType = "complete"
	var nilResult *mcp.CallToolResult
	for name, msg := range map[string]mcp.JSONRPCMessage{
		"structured, pointer": mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(7)), structured),
		"structured, value":   mcp.NewJSONRPCResultResponse(mcp.NewRequestId("a\"b"), *structured),
		"error result":        mcp.NewJSONRPCResultResponse(mcp.NewRequestId(float64(2.5)), errResult),
		"meta":                mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), withMeta),
		"nil result":          mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), nilResult),
		"other result":        mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(3)), mcp.ListToolsResult{Tools: []mcp.Tool{mcp.NewTool("t", mcp.WithDescription("<&>"))}}),
		"error":               mcp.NewJSONRPCError(mcp.NewRequestId(int64(4)), mcp.INVALID_PARAMS, "bad <x>", nil),
		"notification":        mcp.JSONRPCNotification{JSONRPC: mcp.JSONRPC_VERSION, Notification: mcp.Notification{Method: "notifications/progress"}},
	} {
		want, err := json.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		var viaEncoder bytes.Buffer
		if err := json.NewEncoder(&viaEncoder).Encode(msg); err != nil {
			t.Fatal(err)
		}
		got, err := Encode(msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != string(want)+"\n" || string(got) != viaEncoder.String() {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
