package version

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	vcs := func(mod, rev, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/qcc-mcp/qcc-mcp", Version: mod}}
		if rev != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs", Value: "git"},
				debug.BuildSetting{Key: "vcs.revision", Value: rev})
		}
		if modified != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.modified", Value: modified})
		}
		return bi
	}
	const rev = "6fb8ca8a1b2c3d4e5f60718293a4b5c6d7e8f901"
	for _, tc := range []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"stamped wins over everything", "1.2.3", vcs("v0.0.0-20251202000600-6fb8ca8a1b2c", rev, "true"), "1.2.3"},
		{"no build info", "", nil, "dev"},
		{"nothing recorded", "", vcs("(devel)", "", ""), "dev"},
		{"empty module version", "", vcs("", "", ""), "dev"},
		{"go install of a tag", "", vcs("v1.4.0", "", ""), "v1.4.0"},
		{"checkout: pseudo-version already names the revision", "", vcs("v0.0.0-20251202000600-6fb8ca8a1b2c", rev, "false"), "v0.0.0-20251202000600-6fb8ca8a1b2c"},
		{"checkout with changes: toolchain adds +dirty itself", "", vcs("v0.0.0-20251202000600-6fb8ca8a1b2c+dirty", rev, "true"), "v0.0.0-20251202000600-6fb8ca8a1b2c+dirty"},
		{"module version without the revision gets it added", "", vcs("v1.4.0", rev, "true"), "v1.4.0 (6fb8ca8a1b2c+dirty)"},
		{"checkout without a module version", "", vcs("(devel)", rev, "false"), "devel 6fb8ca8a1b2c"},
		{"checkout without a module version, with changes", "", vcs("(devel)", rev, "true"), "devel 6fb8ca8a1b2c+dirty"},
		{"short revision kept whole", "", vcs("(devel)", "abc123", ""), "devel abc123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := describe(tc.stamped, tc.bi); got != tc.want {
				t.Errorf("describe(%q, …) = %q, want %q", tc.stamped, got, tc.want)
			}
		})
	}
}
