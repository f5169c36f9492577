package tools

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// Source says where a result came from, so an agent can cite it and judge
// its freshness.
type Source struct {
	API         string  `json:"api" jsonschema_description:"The QCC method that answered."`
	OrderNumber *string `json:"order_number" jsonschema:"nullable" jsonschema_description:"QCC's order number for the billed call, or null when QCC gave none."`
	FetchedAt   string  `json:"fetched_at" jsonschema:"format=date-time" jsonschema_description:"When the answer was fetched from QCC (RFC 3339)."`
	Demo        bool    `json:"demo" jsonschema_description:"True for the built-in sandbox's data: not real QCC records."`
	Cache       string  `json:"cache" jsonschema:"enum=hit,enum=miss,enum=coalesced" jsonschema_description:"hit: from this server's cache, no QCC call (see fetched_at); miss: fetched from QCC now; coalesced: shared a concurrent identical call's answer."`
	Pages       int     `json:"pages,omitempty" jsonschema_description:"Search only: QCC pages this answer took."`
}

func newSource(api, orderNumber string, fetchedAt time.Time, cache guard.CacheState, demo bool) Source {
	if cache == "" {
		cache = guard.CacheMiss
	}
	s := Source{API: api, FetchedAt: fetchedAt.UTC().Format(time.RFC3339), Demo: demo, Cache: string(cache)}
	if orderNumber != "" {
		s.OrderNumber = &orderNumber
	}
	return s
}

const dateLayout = "2006-01-02"

// dateOrNil renders a date as YYYY-MM-DD, or nil when QCC gave none.
func dateOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(qcc.Beijing).Format(dateLayout)
	return &s
}

// certDates renders the start and end dates of a list of certificates,
// 2i and 2i+1 for items[i], each as dateOrNil would ("" for none; see
// dateAt). One dateOrNil per date cost three allocations, over a third of
// a search's own; here the whole list takes two: one string holding every
// date and the slab of strings cut from it.
func certDates(items []qcc.Certification) []string {
	var bufStack [512]byte
	var offStack [65]int
	buf, offs := bufStack[:0], offStack[:0]
	for _, it := range items {
		offs = append(offs, len(buf))
		buf = appendDate(buf, it.StartDate)
		offs = append(offs, len(buf))
		buf = appendDate(buf, it.EndDate)
	}
	offs = append(offs, len(buf))
	all := string(buf)
	dates := make([]string, 2*len(items))
	for i := range dates {
		dates[i] = all[offs[i]:offs[i+1]]
	}
	return dates
}

// appendDate appends t as dateOrNil renders it; nothing for the zero time.
func appendDate(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return dst
	}
	return t.In(qcc.Beijing).AppendFormat(dst, dateLayout)
}

// dateAt is dates[i] as a result field: nil for no date.
func dateAt(dates []string, i int) *string {
	if dates[i] == "" {
		return nil
	}
	return &dates[i]
}

// Validity of a certificate judged by its end date.
const (
	statusValid   = "valid"
	statusExpired = "expired"
	statusUnknown = "unknown"
)

// validity judges a certificate against today's date in Beijing: it is
// valid through its end date, expired from the day after, and unknown
// without an end date. days is negative once expired.
func validity(end, now time.Time) (status string, days *int) {
	status, d, ok := judgeValidity(end, now)
	if !ok {
		return status, nil
	}
	return status, &d
}

// judgeValidity is validity with the days as a value; ok is false when
// there is no end date. A list fills one slab of days from it.
func judgeValidity(end, now time.Time) (status string, days int, ok bool) {
	if end.IsZero() {
		return statusUnknown, 0, false
	}
	n := now.In(qcc.Beijing)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	e := end.In(qcc.Beijing)
	last := time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
	d := int(last.Sub(today).Hours() / 24)
	if d < 0 {
		return statusExpired, d, true
	}
	return statusValid, d, true
}

// describeValidity renders status and days for the text block.
func describeValidity(status string, days *int) string {
	return string(appendValidity(nil, days))
}

// appendValidity appends describeValidity's words to dst, for rows built
// without a string per cell.
func appendValidity(dst []byte, days *int) []byte {
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

// demoBanner opens every text block in demo mode.
const demoBanner = "DEMO DATA from the built-in sandbox, not real QCC records.\n"

// cellEscaper keeps a value on one line of one markdown table cell. A
// Replacer is safe for concurrent use; one for all calls saves its setup on
// every cell.
var cellEscaper = strings.NewReplacer("|", "/", "\n", " ", "\r", " ")

// cell makes a value safe for one markdown table cell.
func cell(s string, max int) string {
	s = cellEscaper.Replace(strings.TrimSpace(s))
	if s == "" {
		return "-"
	}
	return truncate(s, max)
}

// appendCell appends cell(s, max) to dst, without making the cell a
// string of its own.
func appendCell(dst []byte, s string, max int) []byte {
	return finishCell(append(dst, s...), len(dst), max)
}

// appendCell2 appends cell(a+sep+b, max) to dst, without the sum.
func appendCell2(dst []byte, a, sep, b string, max int) []byte {
	start := len(dst)
	return finishCell(append(append(append(dst, a...), sep...), b...), start, max)
}

// finishCell turns dst[start:], a value, into cell of it in place:
// trimmed, escaped as cellEscaper does (byte for byte), "-" for nothing.
// A value to cut, rare, is cut by cell itself.
func finishCell(dst []byte, start, max int) []byte {
	p := bytes.TrimSpace(dst[start:])
	if len(p) == 0 {
		return append(dst[:start], '-')
	}
	if max > 0 && len(p) > max && moreRunes(p, max) {
		return append(dst[:start], cell(string(p), max)...)
	}
	dst = dst[:start+copy(dst[start:], p)]
	for i, c := range dst[start:] {
		switch c {
		case '|':
			dst[start+i] = '/'
		case '\n', '\r':
			dst[start+i] = ' '
		}
	}
	return dst
}

// moreRunes reports whether p has more than max runes as
// utf8.RuneCount counts them (a byte that is no UTF-8 is one), without
// the copy RuneCount makes of non-ASCII text.
func moreRunes(p []byte, max int) bool {
	for n := 0; len(p) > 0; n++ {
		if n == max {
			return true
		}
		if p[0] < utf8.RuneSelf {
			p = p[1:]
			continue
		}
		_, w := utf8.DecodeRune(p)
		p = p[w:]
	}
	return false
}

// truncate cuts s to at most max runes, marking the cut.
func truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// withMaxAge passes a max_age_seconds argument on to the cache.
func withMaxAge(ctx context.Context, seconds *int) context.Context {
	if seconds == nil {
		return ctx
	}
	return guard.WithMaxAge(ctx, time.Duration(*seconds)*time.Second)
}

// DefaultMaxTextBytes bounds the text block of a result: enough for a page
// of 20 certificates, small enough not to crowd a model's context.
const DefaultMaxTextBytes = 8 << 10

// textReserve is room kept free for the line that says what was cut.
const textReserve = 320

// textBudget builds a text block that stays within a byte limit: head
// lines always, rows while they fit, and a footer reserved in advance so
// the next step survives any cut. The text is built in a strings.Builder
// sized up front to what it is expected to need (capped at the limit), so
// that it takes one allocation and String does not copy it again.
type textBudget struct {
	sb    strings.Builder
	limit int
	// footer is added at the end (foot); footLen bytes are kept for it.
	footer  string
	footLen int
}

// textStart is the room a text block whose size is not estimated starts
// with: most fit, so the block is built without growing.
const textStart = 2 << 10

func newTextBudget(limit int) *textBudget {
	t := &textBudget{}
	t.start(limit, textStart)
	return t
}

// start sets the limit (0: the default) and makes room for size bytes,
// at most the limit: a text that fits is never longer.
func (t *textBudget) start(limit, size int) {
	if limit <= 0 {
		limit = DefaultMaxTextBytes
	}
	t.limit = limit
	t.sb.Grow(min(limit, size))
}

func (t *textBudget) head(s string) { t.sb.WriteString(s) }

// headBytes is head for a line built in a reused buffer.
func (t *textBudget) headBytes(p []byte) { t.sb.Write(p) }

// foot reserves the footer s, which String adds.
func (t *textBudget) foot(s string) { t.footer, t.footLen = s, len(s) }

// reserve keeps n bytes for a footer that finish adds.
func (t *textBudget) reserve(n int) { t.footLen = n }

// row adds s if it fits with the footer and the reserve; false means the
// text is full.
func (t *textBudget) row(s string) bool {
	if t.sb.Len()+len(s)+t.footLen+textReserve > t.limit {
		return false
	}
	t.sb.WriteString(s)
	return true
}

// rowBytes is row for a row built in a reused buffer.
func (t *textBudget) rowBytes(p []byte) bool {
	if t.sb.Len()+len(p)+t.footLen+textReserve > t.limit {
		return false
	}
	t.sb.Write(p)
	return true
}

// String returns the text with the footer set by foot, cut at a character
// boundary if the head lines alone overran the limit. Call it once.
func (t *textBudget) String() string {
	if t.footer != "" && t.sb.Len()+1+len(t.footer) <= t.limit {
		t.sb.WriteByte('\n')
		t.sb.WriteString(t.footer)
		return t.sb.String()
	}
	return t.over(t.footer)
}

// finish is String for a footer reserved with reserve, passed here (a
// footer in its caller's buffer stays there). Call it once.
func (t *textBudget) finish(foot []byte) string {
	if len(foot) > 0 && t.sb.Len()+1+len(foot) <= t.limit {
		t.sb.WriteByte('\n')
		t.sb.Write(foot)
		return t.sb.String()
	}
	return t.over(string(foot))
}

// over ends the text with footer when they may not fit.
func (t *textBudget) over(footer string) string {
	s := t.sb.String()
	if footer != "" {
		s += "\n" + footer
	}
	if len(s) <= t.limit {
		return s
	}
	cut := t.limit - len("…\n")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…\n"
}
