package metrics

import (
	"bytes"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestEscaping writes a family whose help and label values hold what the
// format escapes, and invalid UTF-8, and reads them back with Prometheus's
// text parser. (Our help texts hold no backslash or newline, so the page
// alone would not show that their escaping works.)
func TestEscaping(t *testing.T) {
	t.Parallel()
	const help = `back\slash, "quotes" and a` + "\nnewline"
	values := []string{`a\b`, `"quoted"`, "two\nlines", `\n is not a newline`, "caf\xe9"}
	f := family{name: "x_total", help: help, typ: counter}
	for i, v := range values {
		f.samples = append(f.samples, sample{labels: []label{{"v", v}}, value: float64(i)})
	}
	page := page{f}.append(nil)
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("%v\n%s", err, page)
	}
	got := fams["x_total"]
	if got.GetHelp() != help {
		t.Errorf("help %q, want %q", got.GetHelp(), help)
	}
	values[len(values)-1] = "caf\uFFFD"
	for i, s := range got.GetMetric() {
		if v := s.GetLabel()[0].GetValue(); v != values[i] {
			t.Errorf("label value %q, want %q", v, values[i])
		}
	}
}

// TestHotPathAllocatesNothing once a label set has been seen: a tool call
// and a QCC request are counted without garbage.
func TestHotPathAllocatesNothing(t *testing.T) {
	m := New()
	m.CallFinished("search_certifications", "ok", 0, 0)
	m.CallFrom("oauth")
	for name, f := range map[string]func(){
		"CallStarted+CallFinished": func() {
			m.CallStarted("search_certifications")
			m.CallFinished("search_certifications", "ok", 1, 0)
		},
		"CallFrom":          func() { m.CallFrom("oauth") },
		"histogram observe": func() { m.latency.observe(0.3) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

func BenchmarkCallFinished(b *testing.B) {
	m := New()
	m.CallFinished("search_certifications", "ok", 0, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.CallFinished("search_certifications", "ok", 1, 0)
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	m := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.latency.observe(0.3)
		}
	})
}

func BenchmarkPage(b *testing.B) {
	m := New()
	for _, tool := range []string{"a", "b", "c"} {
		for _, outcome := range []string{"ok", "no_result", "throttled"} {
			m.CallFinished(tool, outcome, 0, 0)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		m.appendPage(nil)
	}
}
