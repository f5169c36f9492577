// Package rpcjson writes the JSON-RPC messages mcp-go's server returns as
// json.Marshal writes them, with one pass less over a tool's result. The
// stdio loop and the HTTP front's tool calls answer through it.
package rpcjson

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
)

// Encode is json.Marshal(msg) and a newline, byte for byte (so also what
// a json.Encoder writes), with one pass less over a tool's result:
// mcp-go's CallToolResult.MarshalJSON returns json.Marshal's own output,
// compact and escaped already, which json.Marshal of the envelope would
// scan and copy again. That pass costs about 8 ns a byte, more than
// encoding the result did, and a search's answer is some 3 KB.
func Encode(msg mcp.JSONRPCMessage) ([]byte, error) {
	if r, ok := msg.(mcp.JSONRPCResponse); ok && r.JSONRPC == mcp.JSONRPC_VERSION {
		var result json.Marshaler
		switch v := r.Result.(type) {
		case *mcp.CallToolResult:
			if v != nil {
				result = v
			}
		case mcp.CallToolResult:
			result = v
		}
		if result != nil {
			id, err := json.Marshal(r.ID)
			if err != nil {
				return nil, err
			}
			body, err := result.MarshalJSON()
			if err != nil {
				return nil, err
			}
			b := make([]byte, 0, len(`{"jsonrpc":"2.0","id":,"result":}`)+len(id)+len(body)+1)
			b = append(b, `{"jsonrpc":"2.0","id":`...)
			b = append(b, id...)
			b = append(b, `,"result":`...)
			b = append(b, body...)
			return append(b, '}', '\n'), nil
		}
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
