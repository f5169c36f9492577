package sessions

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// peekSeeds are bodies whose decoding differs in some way: the common
// messages, each era, and the odd ones (types, duplicates, escapes, bad
// UTF-8, batches, garbage).
var peekSeeds = []string{
	`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`,
	`{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":3,"result":{}}`,
	`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
	`null`, `{}`, `""`, `{`, `not json`, ``,
	`{"method":"tools/call","params":{"name":5}}`,
	`{"method":"tools/call","params":{"name":{"a":1}}}`,
	`{"method":"tools/call","params":{"name":["x"]}}`,
	`{"method":"tools/call","params":{"name":true}}`,
	`{"method":"tools/call","params":{"name":null}}`,
	`{"method":"tools/call","params":{"name":5,"name":"x"}}`,
	`{"method":"tools/call","params":{"name":"x","name":null}}`,
	`{"method":"tools/call","params":{"name":"x","name":5}}`,
	`{"method":"tools/call","params":{"NAME":"x"}}`,
	`{"method":"tools/call","params":{"name":"e\u0063ho\n"}}`,
	`{"method":"tools/call","params":{"name":"caf` + "\xe9" + `"}}`,
	`{"method":"tools/call","params":{"name":"été"}}`,
	`{"method":5,"params":{"name":"x"}}`,
	`{"method":"x","params":[1]}`,
	`{"method":"x","params":"p"}`,
	`{"method":"x","params":{"_meta":"m"}}`,
	`{"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":7}}}`,
	`{"method":"x","params":{"name":5,"_meta":{"io.modelcontextprotocol/protocolVersion":7}}}`,
	`{"method":"x","params":{"name":"a"},"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"method":"x","id":{"a":[1,2]}}`,
	`{"method":"x","id":1,"id":"two"}`,
	` {"method" : "x" , "id" : 1 } `,
	`{"m\u0065thod":"x","id":1}`,
	`{"method":"x","paramſ":{"name":"y"}}`,
	`{"method":"x","params":{"nameK":"y","name":"z"}}`,
	`{"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"a","IO.MODELCONTEXTPROTOCOL/PROTOCOLVERSION":"b"}}}`,
	`{"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"_META":null}}`,
	`{"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"Params":{"name":"n"}}`,
	`{"method":"x","params":{"_meta":null}}`,
	`{"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c"},"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"info"}}}`,
	`{"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":"p"}}}`,
	`{"method":"x","params":{"_meta":{"IO.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"method":"x","params":{"_meta":{"io.modelcontextprotocol/clientinfo":{}}}}`,
	`{"method":"x","params":{"_Meta":{}}}`,
	`{"method":"x","params":{"_meta":null,"_meta":{"progressToken":1}}}`,
	`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search","arguments":{"company":"企查查科技有限公司","x":[{"y":"}"}]},"_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
}

// FuzzPeekMatchesUnmarshal holds NewBody to what the two decodings it
// replaces found: the session guard's (method, id, protocol version) and
// the front's (the same and params.name as a string).
func FuzzPeekMatchesUnmarshal(f *testing.F) {
	for _, s := range peekSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var guard struct {
			Method string          `json:"method"`
			ID     json.RawMessage `json:"id"`
			Params struct {
				Meta struct {
					ProtocolVersion string `json:"io.modelcontextprotocol/protocolVersion"`
				} `json:"_meta"`
			} `json:"params"`
		}
		var front struct {
			Method string          `json:"method"`
			ID     json.RawMessage `json:"id"`
			Params struct {
				Name string `json:"name"`
				Meta struct {
					ProtocolVersion string `json:"io.modelcontextprotocol/protocolVersion"`
				} `json:"_meta"`
			} `json:"params"`
		}
		guardOK := json.Unmarshal(data, &guard) == nil
		frontOK := json.Unmarshal(data, &front) == nil
		body := NewBody(bytes.Clone(data))
		p := body.Peek()
		if p.OK != guardOK {
			t.Fatalf("OK %v, the guard's Unmarshal succeeded: %v", p.OK, guardOK)
		}
		if got := p.OK && p.NameOK; got != frontOK {
			t.Fatalf("OK && NameOK %v, the front's Unmarshal succeeded: %v", got, frontOK)
		}
		if guardOK {
			if p.Method != guard.Method || !bytes.Equal(p.ID, guard.ID) || (p.ID == nil) != (guard.ID == nil) ||
				p.ProtocolVersion != guard.Params.Meta.ProtocolVersion {
				t.Fatalf("peek %+v, the guard's decoding %+v", p, guard)
			}
		}
		if !p.Meta {
			var meta struct {
				Params struct {
					Meta map[string]json.RawMessage `json:"_meta"`
				} `json:"params"`
			}
			if err := json.Unmarshal(data, &meta); err != nil {
				t.Fatalf("Meta false, but params._meta does not decode: %v", err)
			}
			for k := range meta.Params.Meta {
				switch k {
				case mcp.MetaKeyProtocolVersion, mcp.MetaKeyClientInfo, mcp.MetaKeyClientCapabilities, mcp.MetaKeyLogLevel:
				default:
					t.Fatalf("Meta false, but params._meta has %q", k)
				}
			}
		}
		if frontOK && p.Name != front.Params.Name {
			t.Fatalf("name %q, the front's decoding %q", p.Name, front.Params.Name)
		}
		got, err := io.ReadAll(body)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %q, %v; want %q", got, err, data)
		}
	})
}

// TestGuardReadsAPartlyReadBody: a *Body something already read from is
// read on from where it is, as any other body.
func TestGuardReadsAPartlyReadBody(t *testing.T) {
	b := NewBody([]byte(`xx{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if b.Peek().OK {
		t.Fatal("a body that is not JSON decoded")
	}
	if !b.unread() {
		t.Fatal("a new Body counts as read")
	}
	_, _ = io.ReadFull(b, make([]byte, 2))
	if b.unread() {
		t.Fatal("a Body read from counts as unread")
	}
}
