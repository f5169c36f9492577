package main

import (
	"slices"
	"testing"
)

// TestCompareModes: -compare-transports takes stdio, http or both, in
// either order and with spaces, and measures them in the order stdio,
// http; anything else is refused.
func TestCompareModes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"stdio,http", []string{"stdio", "http"}},
		{"http, stdio", []string{"stdio", "http"}},
		{"http", []string{"http"}},
		{"stdio,stdio", []string{"stdio"}},
		{"", nil},
		{"sse", nil},
		{"stdio,", nil},
	} {
		got, ok := compareModes(c.in)
		if ok != (c.want != nil) || !slices.Equal(got, c.want) {
			t.Errorf("compareModes(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}
