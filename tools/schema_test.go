package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/tools"
)

// The committed schemas under schemas/ are what clients depend on. This
// test fails when they differ from what the server serves over tools/list.
// Regenerate them with:
//
//	UPDATE_SCHEMAS=1 go test ./tools -run TestSchemaFilesMatchServedSchemas
func TestSchemaFilesMatchServedSchemas(t *testing.T) {
	env := newEnv(t)
	listed, err := env.client.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.Tools) != 3 {
		t.Fatalf("tools/list returned %d tools, want 3", len(listed.Tools))
	}
	update := os.Getenv("UPDATE_SCHEMAS") != ""
	defined := map[string]tools.Tool{}
	for _, tool := range tools.Tools(nil, tools.Options{}) {
		defined[tool.Tool.Name] = tool
	}
	for _, tool := range listed.Tools {
		// What the client received, re-read as generic JSON.
		raw, err := json.Marshal(tool)
		if err != nil {
			t.Fatal(err)
		}
		var served struct {
			InputSchema  json.RawMessage `json:"inputSchema"`
			OutputSchema json.RawMessage `json:"outputSchema"`
		}
		if err := json.Unmarshal(raw, &served); err != nil {
			t.Fatal(err)
		}
		def, ok := defined[tool.Name]
		if !ok {
			t.Fatalf("server lists unknown tool %q", tool.Name)
		}
		for _, f := range []struct {
			suffix         string
			served, source []byte
		}{{"input", served.InputSchema, def.Input()}, {"output", served.OutputSchema, def.Output}} {
			path := filepath.Join("..", "schemas", tool.Name+"."+f.suffix+".json")
			if update {
				// Files keep the field order of the Go types, for readers.
				if err := os.WriteFile(path, canonical(t, f.source), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with UPDATE_SCHEMAS=1 go test ./tools -run TestSchemaFilesMatchServedSchemas)", err)
			}
			// JSON object key order carries no meaning in a schema, and
			// the client library does not keep it: compare values.
			if !reflect.DeepEqual(decode(t, file), decode(t, f.served)) {
				t.Errorf("%s differs from the schema the server serves; regenerate with UPDATE_SCHEMAS=1 go test ./tools -run TestSchemaFilesMatchServedSchemas", path)
			}
		}
	}
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("invalid JSON schema: %v", err)
	}
	return v
}

// canonical re-indents JSON so that formatting never causes a difference,
// while key order (which the files keep as served) still does.
func canonical(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		t.Fatalf("invalid JSON schema: %v", err)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func TestToolsAreAnnotatedReadOnly(t *testing.T) {
	for _, tool := range tools.Tools(nil, tools.Options{}) {
		a := tool.Tool.Annotations
		if a.Title == "" || a.ReadOnlyHint == nil || !*a.ReadOnlyHint || a.DestructiveHint == nil || *a.DestructiveHint ||
			a.IdempotentHint == nil || !*a.IdempotentHint || a.OpenWorldHint == nil || !*a.OpenWorldHint {
			t.Errorf("%s: annotations %+v, want a title, read-only, not destructive, idempotent, open world", tool.Tool.Name, a)
		}
	}
}

func TestSchemasForbidUnknownProperties(t *testing.T) {
	for _, tool := range tools.Tools(nil, tools.Options{}) {
		for name, raw := range map[string][]byte{"input": tool.Input(), "output": tool.Output} {
			var s struct {
				AdditionalProperties *bool `json:"additionalProperties"`
				Type                 string
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			if s.Type != "object" || s.AdditionalProperties == nil || *s.AdditionalProperties {
				t.Errorf("%s %s schema: type %q additionalProperties %v, want object and false", tool.Tool.Name, name, s.Type, s.AdditionalProperties)
			}
		}
	}
}
