package metrics

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// This file writes Prometheus text format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).

// The family types this package writes.
const (
	counter       = "counter"
	gauge         = "gauge"
	histogramType = "histogram"
)

// page is the families of one scrape.
type page []family

// family is one metric family: its # HELP and # TYPE lines and its samples,
// in the order they are written.
type family struct {
	name, help, typ string
	samples         []sample
}

// sample is one line: the family's name, suffix (as "_bucket"), labels
// (sorted by name) and value.
type sample struct {
	suffix string
	labels []label
	value  float64
}

type label struct{ name, value string }

// append appends the families to b, sorted by name; a family without
// samples is left out, as the Prometheus client library did.
func (p page) append(b []byte) []byte {
	slices.SortFunc(p, func(x, y family) int { return strings.Compare(x.name, y.name) })
	for _, f := range p {
		if len(f.samples) == 0 {
			continue
		}
		b = append(b, "# HELP "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = appendEscaped(b, f.help, false)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.typ...)
		b = append(b, '\n')
		for _, s := range f.samples {
			b = append(b, f.name...)
			b = append(b, s.suffix...)
			for i, l := range s.labels {
				if i == 0 {
					b = append(b, '{')
				} else {
					b = append(b, ',')
				}
				b = append(b, l.name...)
				b = append(b, `="`...)
				b = appendEscaped(b, l.value, true)
				b = append(b, '"')
			}
			if len(s.labels) > 0 {
				b = append(b, '}')
			}
			b = append(b, ' ')
			b = appendFloat(b, s.value)
			b = append(b, '\n')
		}
	}
	return b
}

// sortSamples orders the samples of a family by their label values (their
// label names being the same), so that a page reads the same way twice.
func sortSamples(s []sample) {
	slices.SortFunc(s, func(x, y sample) int {
		for i := range min(len(x.labels), len(y.labels)) {
			if c := strings.Compare(x.labels[i].value, y.labels[i].value); c != 0 {
				return c
			}
		}
		return len(x.labels) - len(y.labels)
	})
}

// appendEscaped appends s escaped for a HELP text (backslash and newline)
// or, with quote, for a label value (double quote too). Invalid UTF-8 is
// replaced, as the format requires UTF-8.
func appendEscaped(b []byte, s string, quote bool) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat writes v as the format wants it: whole numbers without an
// exponent, +Inf, -Inf and NaN by those names, anything else in the
// shortest form that reads back the same.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func formatFloat(v float64) string { return string(appendFloat(nil, v)) }
