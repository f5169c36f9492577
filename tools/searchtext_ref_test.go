package tools

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// The search text as it was built before the text budget grew to fit,
// kept to hold the current searchText to it byte for byte
// (TestSearchTextMatchesReference).

// searchText is the text block: a short table and the next step, within
// the text budget.
func searchTextRef(r SearchResult, in searchTextInput) string {
	t := newRefBudget(in.limit)
	if in.demo {
		t.head(demoBanner)
	}
	if in.fetched == 0 {
		if r.IncompleteReason != "" {
			t.head(fmt.Sprintf("Fetching stopped on an error before any certificate: %s\n", r.IncompleteReason))
			return t.String()
		}
		if r.Page > 1 {
			t.head(fmt.Sprintf("No certificates on page %d for %q; if earlier pages had some, this page is past the end (call again with page=1).\n", r.Page, r.Company))
			return t.String()
		}
		t.head(fmt.Sprintf("No certificates found for %q (QCC answered: no result).\n", r.Company))
		t.head(refCacheLine(r.Source, in.now))
		if in.category != "" {
			t.head(fmt.Sprintf("Next: the category cert_category=%q is the likely cause; call again without cert_category to list every category, or with another category code.\n", in.category))
		} else if in.exact {
			t.head("Next: if this is not the company's full registered name, call again with exact=false for a keyword match.\n")
		} else {
			t.head("Next: check the spelling, or use the company's registered Chinese name.\n")
		}
		return t.String()
	}
	first := (r.Page-1)*r.PageSize + 1
	t.head(fmt.Sprintf("%d certificate(s) for %q; fetched %d-%d in %d QCC page(s) of %d.\n",
		r.Total, r.Company, first, first+in.fetched-1, r.Source.Pages, r.PageSize))
	t.head(refCacheLine(r.Source, in.now))
	if !in.exact {
		t.head(fmt.Sprintf("Keyword match (exact=false): these certificates may belong to several companies whose names contain %q; call get_certification_detail with an id to see that certificate's holder, or search again with the full registered name and exact=true.\n", r.Company))
	}
	if in.status != "" {
		t.head(fmt.Sprintf("Local filter status=%s: %d shown, %d left out.\n", in.status, len(r.Certifications), r.FilteredOut))
	}
	if r.IncompleteReason != "" {
		t.head(fmt.Sprintf("Incomplete: fetching more pages stopped on an error: %s\n", r.IncompleteReason))
	}

	// The footer is reserved first so that it survives any cut.
	var foot strings.Builder
	if r.HasMore {
		left := r.Total - (r.Page-1)*r.PageSize - in.fetched
		fmt.Fprintf(&foot, "Next: %d more certificate(s) in about %d more page(s): call again with page=%d (page_size=%d), or set max_results to fetch more at once.\n",
			left, (left+r.PageSize-1)/r.PageSize, in.next, r.PageSize)
	}
	foot.WriteString("Use get_certification_detail with an id for holder, scope, standard and issuer.\n")
	t.foot(foot.String())

	if len(r.Certifications) > 0 {
		t.head("\n| # | certificate | number | valid from | valid until | status | id |\n|---|---|---|---|---|---|---|\n")
	}
	var row []byte // one buffer for every row
	for i, c := range r.Certifications {
		what := c.TypeDescription
		if c.Name != "" {
			what += ": " + c.Name
		}
		row = append(row[:0], "| "...)
		row = strconv.AppendInt(row, int64(i+1), 10)
		row = append(refAppendCell(append(row, " | "...), what, 60), " | "...)
		row = append(refAppendCell(row, c.Number, 40), " | "...)
		row = append(append(row, refDeref(c.StartDate)...), " | "...)
		row = append(append(row, refDeref(c.EndDate)...), " | "...)
		row = append(refAppendValidity(row, c.DaysUntilExpiry), " | "...)
		row = append(refAppendCell(row, c.ID, 64), " |\n"...)
		if !t.rowBytes(row) {
			t.head(fmt.Sprintf("… %d more not shown to keep this text short; all %d are in structuredContent.certifications, or call again with a smaller max_results or a status filter.\n",
				len(r.Certifications)-i, len(r.Certifications)))
			break
		}
	}
	return t.String()
}

func refAppendCell(dst []byte, s string, max int) []byte {
	return append(dst, cell(s, max)...)
}

func refCacheLine(s Source, now time.Time) string {
	if s.Cache != "hit" {
		return ""
	}
	at, err := time.Parse(time.RFC3339, s.FetchedAt)
	if err != nil {
		return "Answered from this server's cache; no QCC call was made.\n"
	}
	age := "less than a minute"
	if d := now.Sub(at); d >= time.Minute {
		age = refRoundDuration(d)
	}
	return fmt.Sprintf("Answered from this server's cache, fetched %s ago (%s); no QCC call was made. Set max_age_seconds to ask QCC again (billed).\n",
		age, at.In(qcc.Beijing).Format("2006-01-02 15:04 MST")+" ("+at.UTC().Format(time.RFC3339)+")")
}

func refRoundDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	default:
		return fmt.Sprintf("%d h %d min", h, m)
	}
}

func refDeref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func refAppendValidity(dst []byte, days *int) []byte {
	switch {
	case days == nil:
		return append(dst, "no end date"...)
	case *days == 0:
		return append(dst, "valid, expires today"...)
	case *days > 0:
		dst = append(dst, "valid, "...)
		dst = strconv.AppendInt(dst, int64(*days), 10)
		return append(dst, " days left"...)
	default:
		dst = append(dst, "expired "...)
		dst = strconv.AppendInt(dst, -int64(*days), 10)
		return append(dst, " days ago"...)
	}
}

// refBudget builds a text block that stays within a byte limit: head
// lines always, rows while they fit, and a footer reserved in advance so
// the next step survives any cut.
type refBudget struct {
	b      []byte
	limit  int
	footer string
}

func newRefBudget(limit int) *refBudget {
	if limit <= 0 {
		limit = DefaultMaxTextBytes
	}
	return &refBudget{limit: limit, b: make([]byte, 0, min(limit, 2<<10))}
}

func (t *refBudget) head(s string) { t.b = append(t.b, s...) }

func (t *refBudget) foot(s string) { t.footer = s }

// row adds s if it fits with the footer and the reserve; false means the
// text is full.
func (t *refBudget) row(s string) bool {
	if len(t.b)+len(s)+len(t.footer)+textReserve > t.limit {
		return false
	}
	t.b = append(t.b, s...)
	return true
}

// rowBytes is row for a row built in a reused buffer.
func (t *refBudget) rowBytes(p []byte) bool {
	if len(t.b)+len(p)+len(t.footer)+textReserve > t.limit {
		return false
	}
	t.b = append(t.b, p...)
	return true
}

// String returns the text, cut at a character boundary if the head lines
// alone overran the limit.
func (t *refBudget) String() string {
	n := len(t.b)
	if t.footer != "" {
		n += 1 + len(t.footer)
	}
	if n <= t.limit {
		var sb strings.Builder
		sb.Grow(n)
		sb.Write(t.b)
		if t.footer != "" {
			sb.WriteByte('\n')
			sb.WriteString(t.footer)
		}
		return sb.String()
	}
	s := string(t.b)
	if t.footer != "" {
		s += "\n" + t.footer
	}
	cut := t.limit - len("…\n")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…\n"
}
