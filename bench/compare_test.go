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

// TestPairedRatios: servers are paired only within a repetition (a
// repetition one of them failed in is left out), and the ratios'
// median and range are reported.
func TestPairedRatios(t *testing.T) {
	m := func(rep int, calls, cpu float64) Measure {
		return Measure{rep: rep, CallsPerSecond: calls, CPUPerCall: cpu, BenchCPUPerCall: 1000 / calls}
	}
	ours := []Measure{m(0, 900, 330), m(1, 400, 600), m(3, 1000, 300)}
	// Repetition 2 failed for qcc-mcp, 1 for the other server.
	theirs := []Measure{m(0, 1000, 300), m(2, 5000, 100), m(3, 1250, 250)}
	got, ok := pairedRatios(ours, theirs)
	want := PairedRatios{Pairs: 2,
		CallsPerSecond:  Spread{Median: 0.85, Min: 0.8, Max: 0.9},
		CPUPerCall:      Spread{Median: 1.15, Min: 1.1, Max: 1.2},
		BenchCPUPerCall: Spread{Median: 1.18, Min: 1.11, Max: 1.25}}
	if !ok || got != want {
		t.Errorf("pairedRatios = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := pairedRatios(ours[1:2], theirs[:1]); ok {
		t.Error("pairedRatios paired different repetitions")
	}
	odd := spreadOf([]float64{1.3, 0.9, 1.1})
	if odd != (Spread{Median: 1.1, Min: 0.9, Max: 1.3}) {
		t.Errorf("spreadOf(3 values) = %+v", odd)
	}
}
