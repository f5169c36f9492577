package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/tools"
)

var updateTSPeer = flag.Bool("update-tspeer", false, "rewrite bench/tspeer/tools.json from qcc-mcp's tools/list")

// servedTools is qcc-mcp's tools/list result as its MCP server answers it
// (in process, in normal mode: the list does not depend on the upstream).
func servedTools(t *testing.T) []byte {
	t.Helper()
	s := tools.NewServer(nil, tools.Options{})
	resp := s.HandleMessage(context.Background(), json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	raw, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Result struct {
			Tools json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Result.Tools) == 0 {
		t.Fatalf("tools/list answered %s (%v)", raw, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, r.Result.Tools, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// The TypeScript peer serves bench/tspeer/tools.json as its tools/list: it
// must be qcc-mcp's own, or the cold-start comparison compares different
// payloads. After a change to the tools, run
//
//	go test ./bench -run TestTSPeerToolsInStep -update-tspeer
func TestTSPeerToolsInStep(t *testing.T) {
	served := servedTools(t)
	path := filepath.Join("tspeer", "tools.json")
	if *updateTSPeer {
		if err := os.WriteFile(path, served, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(served, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(committed, &b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%s is not qcc-mcp's tools/list; run go test ./bench -run TestTSPeerToolsInStep -update-tspeer", path)
	}
}
