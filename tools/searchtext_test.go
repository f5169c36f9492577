package tools

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestSearchTextMatchesReference holds searchText to the way it was
// built before (searchtext_ref_test.go), byte for byte, over drawn
// results: empty and long lists, cells to escape and cut, every limit
// from one that cuts the head lines to the default, demo and cache lines.
func TestSearchTextMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	words := []string{"", "-", "质量管理体系认证（ISO9000）", "ISO 9001", "a|b", "line\nbreak\r", "  padded  ",
		strings.Repeat("名", 70), strings.Repeat("x", 61), strings.Repeat("证", 59) + "|", "CNCA-C01-01:2014", "\xff\xfe",
		"\u3000全角\u3000", "\xc2", " \xa0", "\u00a0", "   ", "\t|\t", "a\u2028b", strings.Repeat("x\xffy|", 20), strings.Repeat("\r\n名", 30),
		strings.Repeat("ab", 200), ": ", " :", "\xed\xa0\x80" + strings.Repeat("z", 70)}
	pick := func() string { return words[rng.IntN(len(words))] }
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	dates := []string{"2024-01-02", "2031-12-31"}
	for n := range 20000 {
		var r SearchResult
		r.Company = []string{"企查查科技有限公司", "ab", `q"uote`, strings.Repeat("长", 100)}[rng.IntN(4)]
		r.Page, r.PageSize = 1+rng.IntN(3), 1+rng.IntN(20)
		certs := []int{0, 0, 1, 3, 5, 10, 20, 45, 200}[rng.IntN(9)]
		for i := range certs {
			c := CertificationSummary{ID: pick(), Name: pick(), TypeDescription: pick(), Number: pick(), Status: "valid"}
			if rng.IntN(4) > 0 {
				c.StartDate = &dates[0]
			}
			if rng.IntN(4) > 0 {
				c.EndDate = &dates[1]
				d := []int{0, 1, -1, 365, -4000}[rng.IntN(5)]
				c.DaysUntilExpiry = &d
			}
			if rng.IntN(3) == 0 {
				c.ID = "cert" + strings.Repeat("0", i%70)
			}
			r.Certifications = append(r.Certifications, c)
		}
		r.FilteredOut = rng.IntN(3)
		r.Total = certs + r.FilteredOut + rng.IntN(50)
		r.HasMore = rng.IntN(2) == 0
		if rng.IntN(5) == 0 {
			r.IncompleteReason = "QCC answered status 102: " + pick()
		}
		r.Source = newSource("ECICertification/SearchCertification", "", now.Add(-time.Duration(rng.IntN(5000))*time.Minute),
			[]string{"hit", "miss", "coalesced"}[rng.IntN(3)], rng.IntN(2) == 0)
		if rng.IntN(10) == 0 {
			r.Source.FetchedAt = "not a time"
		}
		r.Source.Pages = 1 + rng.IntN(5)
		in := searchTextInput{exact: rng.IntN(3) > 0, fetched: certs + r.FilteredOut, next: r.Page + r.Source.Pages,
			demo: rng.IntN(4) == 0, limit: []int{0, 0, 4, 100, 400, 700, 1500, 3000, 8192, 20000}[rng.IntN(10)], now: now}
		if rng.IntN(5) == 0 {
			in.fetched = 0
		}
		if rng.IntN(3) == 0 {
			in.status = []string{"valid", "expired", "unknown"}[rng.IntN(3)]
		}
		if rng.IntN(4) == 0 {
			in.category = []string{"C_9", "x|y"}[rng.IntN(2)]
		}
		if got, want := searchText(r, in), searchTextRef(r, in); got != want {
			t.Fatalf("draw %d (limit %d): searchText gave\n%s\nthe reference\n%s", n, in.limit, got, want)
		}
	}
}

// TestAppendCellMatchesCell holds the cell of a table row, appended in
// place, to cell, the string it was made from before.
func TestAppendCellMatchesCell(t *testing.T) {
	parts := []string{"", " ", "-", "a|b", "\n", "\r\n x \r\n", "\u3000", "\xc2", "\xa0", "\xe4\xb8", "名", "质量管理体系认证（ISO9000）",
		strings.Repeat("名", 59), strings.Repeat("y", 60), strings.Repeat("\xff", 61), "\u2028", ": ", "|"}
	for _, a := range parts {
		for _, b := range parts {
			for _, max := range []int{0, 1, 2, 3, 40, 60, 64} {
				for _, s := range []string{a + b, a + b + a, strings.Repeat(a+b, 5)} {
					if got, want := string(appendCell([]byte("x"), s, max)), "x"+cell(s, max); got != want {
						t.Fatalf("appendCell(%q, %d) = %q, cell %q", s, max, got, want)
					}
				}
				if b != "" {
					if got, want := string(appendCell2(nil, a, ": ", b, max)), cell(a+": "+b, max); got != want {
						t.Fatalf("appendCell2(%q, %q, %d) = %q, cell %q", a, b, max, got, want)
					}
				}
			}
		}
	}
}

func twentyCertificates() (SearchResult, searchTextInput) {
	start, end, days := "2024-01-02", "2031-12-31", 400
	r := SearchResult{Company: "企查查科技有限公司", Page: 1, PageSize: 20, Total: 45, HasMore: true,
		Source: Source{API: "ECICertification/SearchCertification", FetchedAt: "2026-12-02T08:00:00Z", Cache: "miss", Pages: 1}}
	for range 20 {
		r.Certifications = append(r.Certifications, CertificationSummary{ID: "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4", Name: "电动自行车",
			TypeDescription: "强制性产品认证（CCC）", Number: "2021011119123456", StartDate: &start, EndDate: &end, DaysUntilExpiry: &days})
	}
	return r, searchTextInput{exact: true, fetched: 20, next: 2, now: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)}
}

// BenchmarkSearchText is the text of a page of 20 certificates;
// BenchmarkSearchTextReference the same as it was built before.
func BenchmarkSearchText(b *testing.B) {
	r, in := twentyCertificates()
	b.ReportAllocs()
	for b.Loop() {
		searchText(r, in)
	}
}

func BenchmarkSearchTextReference(b *testing.B) {
	r, in := twentyCertificates()
	b.ReportAllocs()
	for b.Loop() {
		searchTextRef(r, in)
	}
}

// TestSearchTextAllocations: a page of 20 certificates, none of them cut,
// is one allocation, the text itself, sized once.
func TestSearchTextAllocations(t *testing.T) {
	r, in := twentyCertificates()
	if got, want := searchText(r, in), searchTextRef(r, in); got != want {
		t.Fatalf("searchText gave\n%s\nthe reference\n%s", got, want)
	}
	if a := testing.AllocsPerRun(100, func() { searchText(r, in) }); a > 1 {
		t.Errorf("searchText of 20 certificates: %v allocations, want 1", a)
	}
}

// TestCacheLineMatchesReference holds the cache line and the durations
// and times the errors quote, now appended, to how they were formatted.
func TestCacheLineMatchesReference(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for _, age := range []time.Duration{-time.Hour, 0, 29 * time.Second, 30 * time.Second, time.Minute, 89 * time.Second, 90 * time.Second,
		59 * time.Minute, 3599 * time.Second, time.Hour, 61 * time.Minute, 23*time.Hour + 59*time.Minute + 31*time.Second, 400 * time.Hour} {
		for _, at := range []string{now.Add(-age).Format(time.RFC3339), now.Add(-age).In(time.FixedZone("x", 3600)).Format(time.RFC3339), "bad"} {
			for _, cache := range []string{"hit", "miss"} {
				s := Source{Cache: cache, FetchedAt: at}
				if got, want := cacheLine(s, now), refCacheLine(s, now); got != want {
					t.Errorf("cacheLine(%s, %s ago) = %q, want %q", at, age, got, want)
				}
			}
		}
		if got, want := roundDuration(age), refRoundDuration(age); got != want {
			t.Errorf("roundDuration(%s) = %q, want %q", age, got, want)
		}
	}
}
