package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// SearchToolName is the name of the search tool.
const SearchToolName = "search_certifications"

// SearchParams are the arguments of search_certifications.
type SearchParams struct {
	Company      string `json:"company" jsonschema:"required,minLength=2" jsonschema_description:"The company's full registered name, usually Chinese, e.g. 企查查科技有限公司 (white space and ( ) vs （） do not matter). With exact=false, a keyword of the name. 2 to 100 characters after normalisation; control characters are refused."`
	CertCategory string `json:"cert_category,omitempty" jsonschema_description:"Optional QCC certificate category code such as C_9, to list one category only. Leave out to list all."`
	Page         int    `json:"page,omitempty" jsonschema:"minimum=1,default=1" jsonschema_description:"First page to return, starting at 1."`
	PageSize     int    `json:"page_size,omitempty" jsonschema:"minimum=1,maximum=20,default=10" jsonschema_description:"Certificates per QCC page, 1 to 20 (QCC's maximum). Each page is one billed call. Default 10, or 20 with max_results."`
	Exact        *bool  `json:"exact,omitempty" jsonschema:"default=true" jsonschema_description:"true (default): the company name must match exactly. false: keyword match, which may return several companies' certificates."`
	MaxResults   int    `json:"max_results,omitempty" jsonschema:"minimum=1,maximum=200" jsonschema_description:"Fetch up to this many certificates, starting at page, over as many pages as needed (each a billed call; pages of 20 unless page_size is given). Default: one page. Use it to get a company's whole list in one call."`
	Status       string `json:"status,omitempty" jsonschema:"enum=valid,enum=expired,enum=unknown" jsonschema_description:"Optional local filter applied by this server to what was fetched: only valid, expired or unknown (no end date) certificates. It does not reduce billed calls."`
	MaxAge       *int   `json:"max_age_seconds,omitempty" jsonschema:"minimum=0" jsonschema_description:"Optional freshness limit: a cached answer fetched more than this many seconds ago is fetched again from QCC (billed). Leave out to accept the server's cache (up to 24 hours old by default); 0 forces a new fetch."`
}

// SearchResult is the structured result of search_certifications.
type SearchResult struct {
	Company          string                 `json:"company" jsonschema_description:"The company name searched, normalised (trimmed, full-width parentheses)."`
	Page             int                    `json:"page" jsonschema_description:"The first page returned, starting at 1."`
	PageSize         int                    `json:"page_size" jsonschema_description:"Certificates per QCC page."`
	Total            int                    `json:"total" jsonschema_description:"Total certificates QCC holds for this search, over all pages (before any status filter)."`
	HasMore          bool                   `json:"has_more" jsonschema_description:"True when QCC holds more certificates beyond those fetched."`
	Certifications   []CertificationSummary `json:"certifications" jsonschema_description:"The certificates fetched (after the status filter, if any); empty when none were found."`
	FilteredOut      int                    `json:"filtered_out" jsonschema_description:"Certificates fetched but left out by the status filter; 0 without one."`
	IncompleteReason string                 `json:"incomplete_reason,omitempty" jsonschema_description:"Set when fetching several pages stopped early on an error: what failed. The certificates fetched before it are returned."`
	Source           Source                 `json:"source" jsonschema_description:"Where and when this answer was obtained."`
}

// CertificationSummary is one certificate of a search result.
type CertificationSummary struct {
	ID              string  `json:"id" jsonschema_description:"Certificate id for get_certification_detail."`
	Name            string  `json:"name" jsonschema_description:"Product name; often empty for management systems."`
	Type            string  `json:"type" jsonschema_description:"QCC's certificate type code, e.g. cnca027."`
	TypeDescription string  `json:"type_description" jsonschema_description:"What the certificate is, in Chinese, e.g. 质量管理体系认证（ISO9000）."`
	Number          string  `json:"number" jsonschema_description:"The certificate number as issued."`
	StartDate       *string `json:"start_date" jsonschema:"nullable,format=date" jsonschema_description:"Valid from (YYYY-MM-DD), or null."`
	EndDate         *string `json:"end_date" jsonschema:"nullable,format=date" jsonschema_description:"Last valid day (YYYY-MM-DD), or null."`
	Status          string  `json:"status" jsonschema:"enum=valid,enum=expired,enum=unknown" jsonschema_description:"valid through end_date, then expired; unknown without one (Beijing date)."`
	DaysUntilExpiry *int    `json:"days_until_expiry" jsonschema:"nullable" jsonschema_description:"Days from today (Beijing) to end_date; negative once expired, null without one."`
}

const searchDescription = "List the certificates a Chinese company holds, from Qichacha (QCC): management-system certifications " +
	"(ISO 9001 quality, ISO 14001 environment, ISO 45001 safety, ISO/IEC 27001 information security, ISO/IEC 20000 IT service), " +
	"product certifications such as CCC, and licences, each with number, type, dates and whether it is valid today (Beijing). " +
	"Use it first: it gives the ids that get_certification_detail takes. " +
	"Each QCC page (up to 20 certificates) is one billed call; repeated questions are answered from the server's cache for free. " +
	"To get a whole list in one call set max_results (up to 200); status=valid filters locally. " +
	"Give the full registered name (usually Chinese); if nothing is found, try exact=false."

func searchTool(b guard.Upstream, o Options) Tool {
	// WithView: hosts with MCP Apps draw the result as a timeline (ui.go).
	return WithView(newTool(SearchToolName, "Search company certifications", searchDescription, SearchResult{}, o,
		func(ctx context.Context, p SearchParams) (*mcp.CallToolResult, error) {
			return runSearch(ctx, b, o, p)
		}))
}

func runSearch(ctx context.Context, b guard.Upstream, o Options, p SearchParams) (*mcp.CallToolResult, error) {
	// Defaults are applied here: mcp-go does not apply schema defaults.
	if p.Page == 0 {
		p.Page = 1
	}
	want := p.MaxResults
	if p.PageSize == 0 {
		p.PageSize = qcc.DefaultPageSize
		if want > 0 {
			// Several pages: the largest pages need the fewest billed calls.
			p.PageSize = qcc.MaxPageSize
		}
	}
	if want == 0 {
		want = p.PageSize
	}
	exact := p.Exact == nil || *p.Exact
	company, err := checkCompany("company", p.Company)
	if err != nil {
		return errorResult(ctx, err, o.Now()), nil
	}
	ctx = withMaxAge(ctx, p.MaxAge)
	rec, prog := record(ctx), progressOf(ctx)
	query := qcc.SearchParams{SearchKey: company, CertCategory: strings.TrimSpace(p.CertCategory), PageSize: p.PageSize, Fuzzy: !exact}

	var stateBuf [4]guard.CacheState // the cache state of each page; most answers are one page
	var (
		items     []qcc.Certification
		total     int
		pages     int
		states    = stateBuf[:0]
		fetchedAt time.Time
		order     string
		lastCut   bool
		lastFull  bool
		stopErr   error
	)
	for page := p.Page; ; page++ {
		query.PageIndex = page
		res, err := b.SearchCertification(ctx, query)
		if err != nil {
			if pages == 0 {
				return errorResult(ctx, err, o.Now()), nil
			}
			// Pages already fetched are paid for: return them, and say why
			// the list stops here.
			stopErr = err
			break
		}
		pages++
		states = append(states, res.Cache)
		rec.qccStatus = res.Status
		if fetchedAt.IsZero() || res.FetchedAt.Before(fetchedAt) {
			fetchedAt = res.FetchedAt // the oldest page says how fresh the whole is
		}
		if order == "" {
			order = res.OrderNumber
		}
		total = max(total, res.Paging.TotalRecords)
		if items == nil {
			// One page is the usual answer: use its list as it is. Capped,
			// so that a later page's append copies instead of writing into
			// the cached answer's array.
			items = res.Items[:len(res.Items):len(res.Items)]
		} else {
			items = append(items, res.Items...)
		}
		lastFull = len(res.Items) == p.PageSize
		if prog != nil {
			planned := plannedPages(total, want, p.Page, p.PageSize, pages)
			prog.step(pages, planned, pageMessage(pages, planned, len(items), total))
		}
		// Without a total from QCC (no Paging block), only a short page
		// says the list has ended.
		if len(items) >= want || !lastFull || (total > 0 && page*p.PageSize >= total) {
			break
		}
	}
	if len(items) > want {
		items, lastCut = items[:want], true
	}
	offset := (p.Page - 1) * p.PageSize
	hasMore := offset+len(items) < total
	if total == 0 && len(items) > 0 {
		// QCC gave no total: more may follow a full page.
		hasMore = lastFull || lastCut
	}
	if len(items) > 0 {
		total = max(total, offset+len(items))
	}
	now := o.Now()
	out := SearchResult{
		Company:        company,
		Page:           p.Page,
		PageSize:       p.PageSize,
		Total:          total,
		HasMore:        hasMore,
		Certifications: make([]CertificationSummary, 0, len(items)),
		Source:         newSource(qcc.MethodSearch, order, fetchedAt, combineCache(states), o.Demo),
	}
	out.Source.Pages = pages
	if stopErr != nil {
		text, _, _ := describeError(stopErr, now)
		out.IncompleteReason = firstLine(text)
	}
	if len(items) > 0 && exact {
		o.answered.company(company)
	}
	// The dates and days of the whole list come from three slabs, not
	// three allocations per certificate.
	dates := certDates(items)
	days := make([]int, len(items))
	for i, it := range items {
		o.answered.id(it.ID)
		status, d, known := judgeValidity(it.EndDate, now)
		if p.Status != "" && status != p.Status {
			out.FilteredOut++
			continue
		}
		var until *int
		if known {
			days[i] = d
			until = &days[i]
		}
		out.Certifications = append(out.Certifications, CertificationSummary{
			ID: it.ID, Name: it.Name, Type: it.Type, TypeDescription: it.TypeDesc, Number: it.No,
			StartDate: dateAt(dates, 2*i), EndDate: dateAt(dates, 2*i+1),
			Status: status, DaysUntilExpiry: until,
		})
	}
	if len(items) == 0 && stopErr == nil {
		rec.outcome = "no_result"
	}
	next := p.Page + pages
	if lastCut {
		next-- // the last page was only partly returned; asking for it again is a free cache hit
	}
	return mcp.NewToolResultStructured(out, searchText(out, searchTextInput{
		exact: exact, status: p.Status, fetched: len(items), next: next, demo: o.Demo, limit: o.MaxTextBytes,
		category: query.CertCategory, now: now,
	})), nil
}

// plannedPages is how many pages a search will take, once QCC gave a
// total; 0 while it is not known.
func plannedPages(total, want, first, size, done int) int {
	if total <= 0 {
		return 0
	}
	left := total - (first-1)*size
	n := (min(want, max(left, 0)) + size - 1) / size
	return max(n, done)
}

func pageMessage(done, planned, fetched, total int) string {
	if planned > 0 {
		return fmt.Sprintf("page %d of %d, %d of %d certificates", done, planned, fetched, total)
	}
	return fmt.Sprintf("page %d, %d certificates", done, fetched)
}

// combineCache sums up the cache states of the pages of one answer: a hit
// only when every page was.
func combineCache(states []guard.CacheState) guard.CacheState {
	out := guard.CacheHit
	for _, s := range states {
		switch {
		case s == guard.CacheMiss || s == "":
			return guard.CacheMiss
		case s == guard.CacheCoalesced:
			out = guard.CacheCoalesced
		}
	}
	return out
}

type searchTextInput struct {
	exact   bool
	status  string
	fetched int // certificates fetched, before the status filter
	next    int // the page to ask for next
	demo    bool
	limit   int
	// category is the cert_category searched, if any; now judges the
	// cache's age.
	category string
	now      time.Time
}

// searchText is the text block: a short table and the next step, within
// the text budget. Its lines are appended piece by piece to one buffer,
// not formatted with fmt (%q is strconv.Quote, %d strconv.Itoa), and the
// text is sized up front from the result (searchTextSize).
func searchText(r SearchResult, in searchTextInput) string {
	var scratch [512]byte // each line and row in turn
	var t textBudget
	var cacheBuf [256]byte
	var cache []byte
	if in.fetched > 0 || (r.IncompleteReason == "" && r.Page <= 1) {
		cache = appendCacheLine(cacheBuf[:0], r.Source, in.now)
	}
	var footBuf [320]byte
	var foot []byte
	if in.fetched > 0 {
		foot = searchFooter(footBuf[:0], r, in)
	}
	t.start(in.limit, searchTextSize(r, in, len(cache), len(foot)))
	if in.demo {
		t.head(demoBanner)
	}
	if in.fetched == 0 {
		if r.IncompleteReason != "" {
			t.head("Fetching stopped on an error before any certificate: ")
			t.head(r.IncompleteReason)
			t.head("\n")
			return t.String()
		}
		if r.Page > 1 {
			b := append(scratch[:0], "No certificates on page "...)
			b = strconv.AppendInt(b, int64(r.Page), 10)
			b = strconv.AppendQuote(append(b, " for "...), r.Company)
			t.headBytes(append(b, "; if earlier pages had some, this page is past the end (call again with page=1).\n"...))
			return t.String()
		}
		b := strconv.AppendQuote(append(scratch[:0], "No certificates found for "...), r.Company)
		t.headBytes(append(b, " (QCC answered: no result).\n"...))
		t.headBytes(cache)
		if in.category != "" {
			b := strconv.AppendQuote(append(scratch[:0], "Next: the category cert_category="...), in.category)
			t.headBytes(append(b, " is the likely cause; call again without cert_category to list every category, or with another category code.\n"...))
		} else if in.exact {
			t.head("Next: if this is not the company's full registered name, call again with exact=false for a keyword match.\n")
		} else {
			t.head("Next: check the spelling, or use the company's registered Chinese name.\n")
		}
		return t.String()
	}
	first := (r.Page-1)*r.PageSize + 1
	b := strconv.AppendInt(scratch[:0], int64(r.Total), 10)
	b = strconv.AppendQuote(append(b, " certificate(s) for "...), r.Company)
	b = strconv.AppendInt(append(b, "; fetched "...), int64(first), 10)
	b = strconv.AppendInt(append(b, '-'), int64(first+in.fetched-1), 10)
	b = strconv.AppendInt(append(b, " in "...), int64(r.Source.Pages), 10)
	b = strconv.AppendInt(append(b, " QCC page(s) of "...), int64(r.PageSize), 10)
	t.headBytes(append(b, ".\n"...))
	t.headBytes(cache)
	if !in.exact {
		b := strconv.AppendQuote(append(scratch[:0], "Keyword match (exact=false): these certificates may belong to several companies whose names contain "...), r.Company)
		t.headBytes(append(b, "; call get_certification_detail with an id to see that certificate's holder, or search again with the full registered name and exact=true.\n"...))
	}
	if in.status != "" {
		b := append(append(scratch[:0], "Local filter status="...), in.status...)
		b = strconv.AppendInt(append(b, ": "...), int64(len(r.Certifications)), 10)
		b = strconv.AppendInt(append(b, " shown, "...), int64(r.FilteredOut), 10)
		t.headBytes(append(b, " left out.\n"...))
	}
	if r.IncompleteReason != "" {
		t.head("Incomplete: fetching more pages stopped on an error: ")
		t.head(r.IncompleteReason)
		t.head("\n")
	}

	// The footer is reserved first so that it survives any cut.
	t.reserve(len(foot))

	if len(r.Certifications) > 0 {
		t.head(searchTableHead)
	}
	for i, c := range r.Certifications {
		row := append(scratch[:0], "| "...)
		row = strconv.AppendInt(row, int64(i+1), 10)
		row = append(row, " | "...)
		if c.Name != "" {
			row = appendCell2(row, c.TypeDescription, ": ", c.Name, 60)
		} else {
			row = appendCell(row, c.TypeDescription, 60)
		}
		row = append(appendCell(append(row, " | "...), c.Number, 40), " | "...)
		row = append(append(row, deref(c.StartDate)...), " | "...)
		row = append(append(row, deref(c.EndDate)...), " | "...)
		row = append(appendValidity(row, c.DaysUntilExpiry), " | "...)
		row = append(appendCell(row, c.ID, 64), " |\n"...)
		if !t.rowBytes(row) {
			b := strconv.AppendInt(append(scratch[:0], "… "...), int64(len(r.Certifications)-i), 10)
			b = strconv.AppendInt(append(b, " more not shown to keep this text short; all "...), int64(len(r.Certifications)), 10)
			t.headBytes(append(b, " are in structuredContent.certifications, or call again with a smaller max_results or a status filter.\n"...))
			break
		}
	}
	return t.finish(foot)
}

const searchTableHead = "\n| # | certificate | number | valid from | valid until | status | id |\n|---|---|---|---|---|---|---|\n"

// searchDetailHint ends the footer of every list.
const searchDetailHint = "Use get_certification_detail with an id for holder, scope, standard and issuer.\n"

// searchFooter appends the footer of a list to dst: the next page, if
// any, and the detail call.
func searchFooter(dst []byte, r SearchResult, in searchTextInput) []byte {
	if r.HasMore {
		left := r.Total - (r.Page-1)*r.PageSize - in.fetched
		dst = strconv.AppendInt(append(dst, "Next: "...), int64(left), 10)
		dst = strconv.AppendInt(append(dst, " more certificate(s) in about "...), int64((left+r.PageSize-1)/r.PageSize), 10)
		dst = strconv.AppendInt(append(dst, " more page(s): call again with page="...), int64(in.next), 10)
		dst = strconv.AppendInt(append(dst, " (page_size="...), int64(r.PageSize), 10)
		dst = append(dst, "), or set max_results to fetch more at once.\n"...)
	}
	return append(dst, searchDetailHint...)
}

// searchTextSize is about what searchText writes, for the room it starts
// with: the fixed words of the lines, the company as quoted, and each row
// from the lengths of its cells, a little over rather than under. A text
// that needs more grows; one that needs less wastes the difference.
func searchTextSize(r SearchResult, in searchTextInput, cache, foot int) int {
	company := len(r.Company) + 2 // quoted
	n := cache + 1 + foot + len(r.IncompleteReason) + len(in.category)
	if in.demo {
		n += len(demoBanner)
	}
	if in.fetched == 0 {
		return n + company + 160
	}
	n += company + 80
	if !in.exact {
		n += company + 240
	}
	if in.status != "" {
		n += 60
	}
	if r.IncompleteReason != "" {
		n += 60
	}
	if len(r.Certifications) > 0 {
		n += len(searchTableHead)
	}
	limit := in.limit
	if limit <= 0 {
		limit = DefaultMaxTextBytes
	}
	for _, c := range r.Certifications {
		if n >= limit {
			break
		}
		// "| 12 | ", ": " and the other separators, two dates and the
		// validity.
		n += 72 + len(c.TypeDescription) + len(c.Name) + len(c.Number) + len(c.ID)
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
