package main

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The TypeScript peer (bench/tspeer): its script, the tools/list it serves
// (qcc-mcp's, kept in step by TestTSPeerToolsInStep) and its npm pins,
// carried in the bench binary so that it runs from anywhere.
//
//go:embed tspeer/server.mjs tspeer/tools.json tspeer/npm-packages.txt
var tspeerFiles embed.FS

// tsPeerInstall is the one-line hint for a missing or wrong install.
func tsPeerInstall(dir string) string {
	return fmt.Sprintf("npm install --prefix %s $(cat bench/tspeer/npm-packages.txt)", dir)
}

// setupTSPeer checks node and the pinned npm packages in modules (a
// node_modules directory, or the --prefix holding one) and writes the peer
// into dir/tspeer with a node_modules link to them: Node resolves an ES
// module's imports from the importing file's folder upwards (NODE_PATH
// does not apply to import), so the script sits beside its modules. It
// returns the command line that starts the peer, without its arguments.
func setupTSPeer(dir, modules string) ([]string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("-compare-ts-peer: no node on PATH")
	}
	abs, err := filepath.Abs(modules)
	if err != nil {
		return nil, fmt.Errorf("-compare-ts-peer: %w", err)
	}
	prefix := abs
	if _, err := os.Stat(filepath.Join(abs, "node_modules")); err == nil {
		abs = filepath.Join(abs, "node_modules")
	} else if filepath.Base(abs) == "node_modules" {
		prefix = filepath.Dir(abs)
	}
	pins, err := tspeerFiles.ReadFile("tspeer/npm-packages.txt")
	if err != nil {
		return nil, err
	}
	for _, pin := range strings.Fields(string(pins)) {
		at := strings.LastIndex(pin, "@")
		name, version := pin[:at], pin[at+1:]
		raw, err := os.ReadFile(filepath.Join(abs, name, "package.json"))
		if err != nil {
			return nil, fmt.Errorf("-compare-ts-peer: npm package %s not installed in %s (%s)", pin, abs, tsPeerInstall(prefix))
		}
		var pkg struct{ Version string }
		if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Version != version {
			return nil, fmt.Errorf("-compare-ts-peer: npm package %s installed in %s at version %q (%s)", pin, abs, pkg.Version, tsPeerInstall(prefix))
		}
	}
	peer := filepath.Join(dir, "tspeer")
	if err := os.MkdirAll(peer, 0o755); err != nil {
		return nil, err
	}
	for _, f := range []string{"server.mjs", "tools.json"} {
		b, err := tspeerFiles.ReadFile("tspeer/" + f)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(peer, f), b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.Symlink(abs, filepath.Join(peer, "node_modules")); err != nil {
		return nil, err
	}
	return []string{node, filepath.Join(peer, "server.mjs")}, nil
}
