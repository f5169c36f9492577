// Package release packs what a release ships, reproducibly: archives of the
// binaries, the MCP Bundle (.mcpb), the registry's server.json filled in for
// the version, and SHA256SUMS. The same inputs give the same bytes: entries
// in a fixed order with a fixed time and no owner, so a release can be
// rebuilt from its commit and compared.
package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ModTime is the time every archive entry carries. Any fixed time would
// do; this one is after 1980, which zip cannot go below.
var ModTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Repository is the project's home; release URLs and the registry name
// derive from it, and a test keeps it equal to the module path.
const Repository = "https://github.com/qcc-mcp/qcc-mcp"

// Image is the container image, without a tag.
const Image = "ghcr.io/qcc-mcp/qcc-mcp"

// File is one archive entry.
type File struct {
	Name string      // slash-separated path inside the archive
	Mode fs.FileMode // permission bits; 0755 for what must run
	Data []byte
}

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// CheckVersion accepts a release version: semantic, without the "v".
func CheckVersion(v string) error {
	if !semver.MatchString(v) {
		return fmt.Errorf("version %q: want MAJOR.MINOR.PATCH with an optional -suffix, such as 1.2.3", v)
	}
	return nil
}

// sorted returns files by name, so the order in the archive does not depend
// on the order a caller listed them in.
func sorted(files []File) ([]File, error) {
	out := append([]File(nil), files...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		if i > 0 && out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("archive entry %q given twice", out[i].Name)
		}
	}
	return out, nil
}

// WriteZip writes files as a zip with Unix modes, so hosts that honour them
// keep the executable bit.
func WriteZip(w io.Writer, files []File) error {
	files, err := sorted(files)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: ModTime}
		h.SetMode(f.Mode.Perm())
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.Data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// WriteTarGz writes files as a gzip-compressed tar owned by root, without
// the gzip name and time fields.
func WriteTarGz(w io.Writer, files []File) error {
	files, err := sorted(files)
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: int64(f.Mode.Perm()),
			Size: int64(len(f.Data)), ModTime: ModTime, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// SHA256 is the hex digest of data.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// SHA256Sums formats digests the way `sha256sum -c` reads them (two spaces:
// text mode), sorted by file name.
func SHA256Sums(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", SHA256(files[n]), n)
	}
	return b.Bytes()
}

// BundleName is the MCP Bundle's file name for a version. The registry
// wants "mcp" in the URL, which the extension gives.
func BundleName(version string) string { return "qcc-mcp_" + version + ".mcpb" }

// BundleURL is where the release page serves the bundle.
func BundleURL(version string) string {
	return Repository + "/releases/download/v" + version + "/" + BundleName(version)
}

// Manifest fills the bundle manifest template with the version.
func Manifest(template []byte, version string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(template, &m); err != nil {
		return nil, fmt.Errorf("manifest template: %w", err)
	}
	if _, ok := m["version"]; !ok {
		return nil, errors.New("manifest template has no version")
	}
	m["version"] = version
	return marshal(m)
}

// ServerJSON fills the registry template with the version, the bundle's
// URL and checksum, and the image tag. A package of another type is an
// error: whoever adds one must say here how its version is written.
func ServerJSON(template []byte, version, bundleSHA256 string) ([]byte, error) {
	var s map[string]any
	if err := json.Unmarshal(template, &s); err != nil {
		return nil, fmt.Errorf("server.json template: %w", err)
	}
	s["version"] = version
	pkgs, _ := s["packages"].([]any)
	if len(pkgs) == 0 {
		return nil, errors.New("server.json template has no packages")
	}
	for _, p := range pkgs {
		pkg, ok := p.(map[string]any)
		if !ok {
			return nil, errors.New("server.json: a package is not an object")
		}
		switch pkg["registryType"] {
		case "mcpb":
			pkg["identifier"] = BundleURL(version)
			pkg["version"] = version
			pkg["fileSha256"] = bundleSHA256
		case "oci":
			pkg["identifier"] = Image + ":" + version
			// The tag carries the version; the schema wants none beside it.
			delete(pkg, "version")
		default:
			return nil, fmt.Errorf("server.json: package type %v: the release does not know how to stamp it", pkg["registryType"])
		}
	}
	return marshal(s)
}

// marshal writes JSON indented by two spaces with a final newline, and
// without HTML escaping (descriptions hold "<" and "&" as written).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Platform is one GOOS/GOARCH pair the release builds.
type Platform struct{ OS, Arch string }

// Platforms are the release's targets.
var Platforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// BinaryName is the name .ci/release gives the binary for p before packing.
func BinaryName(p Platform) string {
	n := "qcc-mcp-" + p.OS + "-" + p.Arch
	if p.OS == "windows" {
		n += ".exe"
	}
	return n
}

// ArchiveName is the download for p: a tar.gz that keeps the executable
// bit, or a zip for Windows, where that is what users open.
func ArchiveName(version string, p Platform) string {
	base := "qcc-mcp_" + version + "_" + p.OS + "_" + p.Arch
	if p.OS == "windows" {
		return base + ".zip"
	}
	return base + ".tar.gz"
}

// BundlePlatforms are the binaries inside the bundle. A manifest can pick
// the command by OS but not by CPU, so the launcher picks the CPU on
// macOS and Linux; Windows on ARM runs the amd64 build under its x64
// emulation, which keeps the bundle one binary smaller.
var BundlePlatforms = []Platform{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"},
}

// Archive packs one platform's binary with the README under a folder
// named like the archive.
func Archive(version string, p Platform, binary, readme []byte) ([]byte, error) {
	dir := strings.TrimSuffix(strings.TrimSuffix(ArchiveName(version, p), ".zip"), ".tar.gz")
	exe := "qcc-mcp"
	if p.OS == "windows" {
		exe += ".exe"
	}
	files := []File{{dir + "/" + exe, 0o755, binary}, {dir + "/README.md", 0o644, readme}}
	var b bytes.Buffer
	var err error
	if p.OS == "windows" {
		err = WriteZip(&b, files)
	} else {
		err = WriteTarGz(&b, files)
	}
	return b.Bytes(), err
}

// Bundle packs the MCP Bundle: the filled manifest at the root, the
// launcher and the binaries under server/, all executable.
func Bundle(manifest, launcher []byte, binaries map[Platform][]byte) ([]byte, error) {
	files := []File{{"manifest.json", 0o644, manifest}, {"server/launch.sh", 0o755, launcher}}
	for _, p := range BundlePlatforms {
		bin, ok := binaries[p]
		if !ok {
			return nil, fmt.Errorf("bundle: no binary for %s/%s", p.OS, p.Arch)
		}
		files = append(files, File{"server/" + BinaryName(p), 0o755, bin})
	}
	var b bytes.Buffer
	err := WriteZip(&b, files)
	return b.Bytes(), err
}
