// Package version says which build of qcc-mcp is running: the release
// version stamped at build time, else what the Go toolchain recorded about
// the module and the VCS checkout it was built from.
package version

import (
	"runtime/debug"
	"strings"
)

// Version is the release version, stamped by the release build with
//
//	-ldflags "-X github.com/qcc-mcp/qcc-mcp/internal/version.Version=1.2.3"
//
// It is empty in every other build, which then describes itself from its
// build information instead.
var Version = ""

// String is the version shown by --version and sent as serverInfo.version.
func String() string {
	bi, _ := debug.ReadBuildInfo()
	return describe(Version, bi)
}

// describe picks, in order: the stamped version; the module version (a tag
// or a pseudo-version from `go install …@v`, or from a build in a checkout),
// with the revision added when the version does not already name it; the
// bare revision for a checkout without a module version; "dev" when the
// build recorded neither (a build with -buildvcs=false outside a module
// download).
func describe(stamped string, bi *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if bi == nil {
		return "dev"
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		// The length Go uses in pseudo-versions, so the two forms match.
		rev = rev[:12]
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	mod := bi.Main.Version
	if mod == "(devel)" {
		mod = ""
	}
	switch {
	case mod != "" && rev != "" && !strings.Contains(mod, strings.TrimSuffix(rev, "+dirty")):
		return mod + " (" + rev + ")"
	case mod != "":
		return mod
	case rev != "":
		return "devel " + rev
	}
	return "dev"
}
