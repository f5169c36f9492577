package tools_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/tools"
)

// The README's sections that restate code (the tools' arguments and the
// status code table with each code's pause) are generated between marker
// comments, so that the rest of the file stays free to edit. A test fails
// when a block differs from the code; regenerate them with:
//
//	UPDATE_README=1 go test ./tools -run TestReadmeGeneratedBlocks
const readmePath = "../README.md"

// readmeBlocks returns each generated block by name.
func readmeBlocks(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tool := range tools.Tools(nil, tools.Options{}) {
		out[tool.Tool.Name+" arguments"] = argumentTable(t, tool.Input())
	}
	out["status codes"] = statusTable()
	return out
}

// argumentTable renders an input schema as a table, in the schema's order.
func argumentTable(t *testing.T, raw []byte) string {
	t.Helper()
	var schema struct {
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	required := map[string]bool{}
	for _, r := range schema.Required {
		required[r] = true
	}
	var b strings.Builder
	b.WriteString("| argument | type | default | meaning |\n|---|---|---|---|\n")
	dec := json.NewDecoder(bytes.NewReader(schema.Properties))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Type        string   `json:"type"`
			Description string   `json:"description"`
			Default     any      `json:"default"`
			Enum        []string `json:"enum"`
			Minimum     *float64 `json:"minimum"`
			Maximum     *float64 `json:"maximum"`
			MinLength   *int     `json:"minLength"`
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name := tok.(string)
		typ := p.Type
		switch {
		case len(p.Enum) > 0:
			typ = "`" + strings.Join(p.Enum, "`, `") + "`"
		case p.Minimum != nil && p.Maximum != nil:
			typ += fmt.Sprintf(" %g–%g", *p.Minimum, *p.Maximum)
		case p.Minimum != nil:
			typ += fmt.Sprintf(" ≥ %g", *p.Minimum)
		case p.MinLength != nil && *p.MinLength > 1:
			typ += fmt.Sprintf(", ≥ %d characters", *p.MinLength)
		}
		if required[name] {
			typ += ", required"
		}
		def := ""
		if p.Default != nil {
			def = fmt.Sprintf("`%v`", p.Default)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, typ, def, strings.ReplaceAll(p.Description, "|", "\\|"))
	}
	return b.String()
}

// statusTable renders the status code table the server serves as
// qcc://status-codes.
func statusTable() string {
	var b strings.Builder
	b.WriteString("| QCC status | kind | meaning | retry | pause | what the agent is told |\n|---|---|---|---|---|---|\n")
	for _, s := range tools.StatusCodeTable() {
		if s.Code == 200 {
			continue
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", s.Code, s.Kind, s.Meaning, s.Retry, s.Pause, s.WhatToDo)
	}
	return b.String()
}

var blockRE = regexp.MustCompile(`(?s)(<!-- generated: ([^>]+?) -->\n)(.*?)(<!-- end generated -->)`)

func TestReadmeGeneratedBlocks(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	want := readmeBlocks(t)
	seen := map[string]bool{}
	updated := blockRE.ReplaceAllStringFunc(string(raw), func(m string) string {
		sub := blockRE.FindStringSubmatch(m)
		name := sub[2]
		seen[name] = true
		body, ok := want[name]
		if !ok {
			t.Errorf("README has a generated block %q that no code makes", name)
			return m
		}
		if sub[3] != body {
			if os.Getenv("UPDATE_README") == "" {
				t.Errorf("README block %q differs from the code; regenerate with UPDATE_README=1 go test ./tools -run TestReadmeGeneratedBlocks", name)
			}
		}
		return sub[1] + body + sub[4]
	})
	for name := range want {
		if !seen[name] {
			t.Errorf("README has no block <!-- generated: %s -->", name)
		}
	}
	if os.Getenv("UPDATE_README") != "" && updated != string(raw) {
		if err := os.WriteFile(readmePath, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
