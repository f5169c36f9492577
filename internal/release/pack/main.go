// Command pack turns the binaries that .ci/release built into the release:
// one archive per platform, the MCP Bundle, server.json for this version and
// SHA256SUMS. It is a separate step from the build so the packing is Go
// code with tests, and the same bytes come out on every machine.
//
//	go run ./internal/release/pack -version 1.2.3 -bin BUILT -out OUTDIR
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qcc-mcp/qcc-mcp/internal/release"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	version := fs.String("version", "", "release version, such as 1.2.3")
	binDir := fs.String("bin", "", "folder holding qcc-mcp-GOOS-GOARCH[.exe] for each platform")
	out := fs.String("out", "", "folder to write the release into")
	root := fs.String("root", ".", "the checkout: README.md, server.json and packaging/ are read from here")
	partial := fs.Bool("partial", false, "pack the platforms that were built and skip the bundle when one of its binaries is missing (a reduced CI run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binDir == "" || *out == "" {
		return errors.New("-bin and -out are required")
	}
	if err := release.CheckVersion(*version); err != nil {
		return err
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(*root, name)) }
	readme, err := read("README.md")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	written := map[string][]byte{}
	write := func(name string, data []byte) error {
		written[name] = data
		return os.WriteFile(filepath.Join(*out, name), data, 0o644)
	}

	binaries := map[release.Platform][]byte{}
	for _, p := range release.Platforms {
		bin, err := os.ReadFile(filepath.Join(*binDir, release.BinaryName(p)))
		if errors.Is(err, os.ErrNotExist) && *partial {
			continue
		}
		if err != nil {
			return err
		}
		binaries[p] = bin
		archive, err := release.Archive(*version, p, bin, readme)
		if err != nil {
			return err
		}
		if err := write(release.ArchiveName(*version, p), archive); err != nil {
			return err
		}
	}

	bundleReady := true
	for _, p := range release.BundlePlatforms {
		if _, ok := binaries[p]; !ok {
			bundleReady = false
		}
	}
	if bundleReady {
		tmpl, err := read("packaging/manifest.json")
		if err != nil {
			return err
		}
		manifest, err := release.Manifest(tmpl, *version)
		if err != nil {
			return err
		}
		launcher, err := read("packaging/launch.sh")
		if err != nil {
			return err
		}
		bundle, err := release.Bundle(manifest, launcher, binaries)
		if err != nil {
			return err
		}
		if err := write(release.BundleName(*version), bundle); err != nil {
			return err
		}
		serverTmpl, err := read("server.json")
		if err != nil {
			return err
		}
		server, err := release.ServerJSON(serverTmpl, *version, release.SHA256(bundle))
		if err != nil {
			return err
		}
		if err := write("server.json", server); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(os.Stderr, "pack: not every bundle platform was built: no bundle and no server.json")
	}
	sums := release.SHA256Sums(written)
	if err := os.WriteFile(filepath.Join(*out, "SHA256SUMS"), sums, 0o644); err != nil {
		return err
	}
	fmt.Print(string(sums))
	return nil
}
