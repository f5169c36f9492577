package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestArchivesAreReproducibleAndKeepModes(t *testing.T) {
	t.Parallel()
	files := []File{
		{"b/run", 0o755, []byte("#!/bin/sh\necho hi\n")},
		{"a/README.md", 0o644, []byte("# hi\n")},
	}
	reversed := []File{files[1], files[0]}
	for _, tc := range []struct {
		name  string
		write func(io.Writer, []File) error
		read  func(t *testing.T, data []byte) []File
	}{
		{"zip", WriteZip, readZip},
		{"tar.gz", WriteTarGz, readTarGz},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var one, two bytes.Buffer
			if err := tc.write(&one, files); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(&two, reversed); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(one.Bytes(), two.Bytes()) {
				t.Fatal("the same files in another order gave other bytes")
			}
			got := tc.read(t, one.Bytes())
			want := []File{files[1], files[0]}
			if len(got) != len(want) {
				t.Fatalf("%d entries, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Name != want[i].Name || got[i].Mode != want[i].Mode || !bytes.Equal(got[i].Data, want[i].Data) {
					t.Errorf("entry %d = %s %o %q, want %s %o %q", i, got[i].Name, got[i].Mode, got[i].Data, want[i].Name, want[i].Mode, want[i].Data)
				}
			}
		})
	}
	if err := WriteZip(io.Discard, append(files, files[0])); err == nil {
		t.Error("a name given twice was packed")
	}
}

func readZip(t *testing.T, data []byte) []File {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []File
	for _, f := range zr.File {
		if !f.Modified.Equal(ModTime) {
			t.Errorf("%s: time %v, want %v", f.Name, f.Modified, ModTime)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out = append(out, File{f.Name, f.Mode().Perm(), b})
	}
	return out
}

func readTarGz(t *testing.T, data []byte) []File {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q, time %v", gz.Name, gz.ModTime)
	}
	tr := tar.NewReader(gz)
	var out []File
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(ModTime) || h.Uid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v uid %d uname %q", h.Name, h.ModTime, h.Uid, h.Uname)
		}
		b, _ := io.ReadAll(tr)
		out = append(out, File{h.Name, os.FileMode(h.Mode).Perm(), b})
	}
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	for v, ok := range map[string]bool{"1.2.3": true, "0.1.0-rc.1": true, "v1.2.3": false, "1.2": false, "latest": false, "1.2.3 ": false, "": false} {
		if err := CheckVersion(v); (err == nil) != ok {
			t.Errorf("CheckVersion(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}

// TestServerJSONFilled: the release fills every place that names a version
// and the bundle's checksum, and leaves the rest as written.
func TestServerJSONFilled(t *testing.T) {
	t.Parallel()
	tmpl := readRoot(t, "server.json")
	sha := strings.Repeat("ab", 32)
	out, err := ServerJSON(tmpl, "1.2.3", sha)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("0.0.0")) {
		t.Errorf("a placeholder version is left:\n%s", out)
	}
	var s serverJSON
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.2.3" {
		t.Errorf("version %q", s.Version)
	}
	for _, p := range s.Packages {
		switch p.RegistryType {
		case "mcpb":
			if p.Identifier != "https://github.com/qcc-mcp/qcc-mcp/releases/download/v1.2.3/qcc-mcp_1.2.3.mcpb" || p.FileSha256 != sha || p.Version != "1.2.3" {
				t.Errorf("mcpb package %+v", p)
			}
		case "oci":
			if p.Identifier != "ghcr.io/qcc-mcp/qcc-mcp:1.2.3" {
				t.Errorf("oci package %+v", p)
			}
		}
	}
	var before, after map[string]any
	json.Unmarshal(tmpl, &before)
	json.Unmarshal(out, &after)
	if len(before) != len(after) {
		t.Errorf("top-level keys %d before, %d after", len(before), len(after))
	}
	if _, err := ServerJSON([]byte(`{"packages":[{"registryType":"npm"}]}`), "1.2.3", sha); err == nil {
		t.Error("a package type the release cannot stamp was let through")
	}
}

// TestPackCommand runs the pack command on stand-in binaries: it must write
// one archive per platform, the bundle with every entry executable where it
// must be, server.json naming the bundle's checksum, and SHA256SUMS that
// sha256sum accepts.
func TestPackCommand(t *testing.T) {
	t.Parallel()
	bin, out := t.TempDir(), t.TempDir()
	for _, p := range Platforms {
		if err := os.WriteFile(filepath.Join(bin, BinaryName(p)), []byte("binary for "+p.OS+"/"+p.Arch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", "./internal/release/pack", "-version", "1.2.3", "-bin", bin, "-out", out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pack: %v\n%s", err, b)
	}
	for _, p := range Platforms {
		if _, err := os.Stat(filepath.Join(out, ArchiveName("1.2.3", p))); err != nil {
			t.Error(err)
		}
	}
	bundle, err := os.ReadFile(filepath.Join(out, BundleName("1.2.3")))
	if err != nil {
		t.Fatal(err)
	}
	entries := readZip(t, bundle)
	want := map[string]os.FileMode{"manifest.json": 0o644, "server/launch.sh": 0o755}
	for _, p := range BundlePlatforms {
		want["server/"+BinaryName(p)] = 0o755
	}
	if len(entries) != len(want) {
		t.Errorf("bundle has %d entries, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		if m, ok := want[e.Name]; !ok || m != e.Mode {
			t.Errorf("bundle entry %s mode %o, want %o (listed: %v)", e.Name, e.Mode, m, ok)
		}
		if e.Name == "manifest.json" && !bytes.Contains(e.Data, []byte(`"version": "1.2.3"`)) {
			t.Errorf("bundle manifest has no version 1.2.3:\n%s", e.Data)
		}
	}
	server, _ := os.ReadFile(filepath.Join(out, "server.json"))
	if !bytes.Contains(server, []byte(`"fileSha256": "`+SHA256(bundle)+`"`)) {
		t.Error("server.json does not carry the bundle's sha256")
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		check := exec.Command("sha256sum", "-c", "SHA256SUMS")
		check.Dir = out
		if b, err := check.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
}
