package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// SearchToolName is the name of the search tool.
const SearchToolName = "search_certifications"

// SearchParams are the arguments of search_certifications.
type SearchParams struct {
	Company      string `json:"company" jsonschema:"required,minLength=2" jsonschema_description:"The company's full registered name, usually in Chinese (e.g. 企查查科技有限公司). With exact=false, a keyword of the name. At least 2 characters."`
	CertCategory string `json:"cert_category,omitempty" jsonschema_description:"Optional QCC certificate category code such as C_9, to list one category only. Leave out to list all certificates."`
	Page         int    `json:"page,omitempty" jsonschema:"minimum=1,default=1" jsonschema_description:"Page number, starting at 1. Each page is one billed QCC call."`
	PageSize     int    `json:"page_size,omitempty" jsonschema:"minimum=1,maximum=20,default=10" jsonschema_description:"Certificates per page, 1 to 20 (QCC's maximum). Use 20 to need the fewest billed calls."`
	Exact        *bool  `json:"exact,omitempty" jsonschema:"default=true" jsonschema_description:"true (default): the company name must match exactly. false: keyword match on the name, which may return several companies' certificates."`
	MaxAge       *int   `json:"max_age_seconds,omitempty" jsonschema:"minimum=0" jsonschema_description:"Optional freshness limit: a cached answer fetched more than this many seconds ago is fetched again from QCC (billed). Leave out to accept the server's cache (up to 24 hours old by default); 0 forces a new fetch."`
}

// SearchResult is the structured result of search_certifications.
type SearchResult struct {
	Company        string                 `json:"company" jsonschema_description:"The company name that was searched."`
	Page           int                    `json:"page" jsonschema_description:"The page returned, starting at 1."`
	PageSize       int                    `json:"page_size" jsonschema_description:"Certificates per page."`
	Total          int                    `json:"total" jsonschema_description:"Total certificates QCC holds for this search, over all pages."`
	HasMore        bool                   `json:"has_more" jsonschema_description:"True when later pages hold more certificates."`
	Certifications []CertificationSummary `json:"certifications" jsonschema_description:"The certificates on this page; empty when none were found."`
	Source         Source                 `json:"source" jsonschema_description:"Where and when this answer was obtained."`
}

// CertificationSummary is one certificate of a search result.
type CertificationSummary struct {
	ID              string  `json:"id" jsonschema_description:"QCC's certificate id: pass it to get_certification_detail."`
	Name            string  `json:"name" jsonschema_description:"Product name for product certificates; often empty for management-system certificates."`
	Type            string  `json:"type" jsonschema_description:"QCC's certificate type code, e.g. cnca027."`
	TypeDescription string  `json:"type_description" jsonschema_description:"What the certificate is, in Chinese, e.g. 质量管理体系认证（ISO9000） (ISO 9001 quality management)."`
	Number          string  `json:"number" jsonschema_description:"The certificate number as issued."`
	StartDate       *string `json:"start_date" jsonschema:"nullable,format=date" jsonschema_description:"Date the certificate took effect (YYYY-MM-DD), or null when QCC has none."`
	EndDate         *string `json:"end_date" jsonschema:"nullable,format=date" jsonschema_description:"Last day the certificate is valid (YYYY-MM-DD), or null when QCC has none."`
	Status          string  `json:"status" jsonschema:"enum=valid,enum=expired,enum=unknown" jsonschema_description:"valid through end_date, expired after it, unknown without an end date; judged against today's date in Beijing."`
	DaysUntilExpiry *int    `json:"days_until_expiry" jsonschema:"nullable" jsonschema_description:"Days from today (Beijing) to end_date: 0 on the last valid day, negative once expired, null without an end date."`
}

const searchDescription = "List the certificates a Chinese company holds, from Qichacha (QCC): management-system certifications " +
	"(ISO 9001 quality, ISO 14001 environment, ISO 45001 safety, ISO/IEC 27001 information security, ISO/IEC 20000 IT service), " +
	"product certifications such as CCC, and licences, each with its number, type, start and end dates and whether it is still valid today. " +
	"Results come in pages (page_size up to 20); each page is one billed QCC call, so ask for 20 per page when you need the whole list. " +
	"Give the company's full registered name (usually Chinese); if nothing is found, try exact=false. " +
	"For a certificate's holder, scope, standard and issuer, pass its id to get_certification_detail."

func searchTool(b Backend, o Options) Tool {
	return newTool(SearchToolName, "Search company certifications", searchDescription, SearchResult{}, o,
		func(ctx context.Context, p SearchParams) (*mcp.CallToolResult, error) {
			return runSearch(ctx, b, o, p)
		})
}

func runSearch(ctx context.Context, b Backend, o Options, p SearchParams) (*mcp.CallToolResult, error) {
	// Defaults are applied here: mcp-go does not apply schema defaults.
	if p.Page == 0 {
		p.Page = 1
	}
	if p.PageSize == 0 {
		p.PageSize = qcc.DefaultPageSize
	}
	exact := p.Exact == nil || *p.Exact
	company := strings.TrimSpace(p.Company)
	if n := len([]rune(company)); n < qcc.MinSearchKeyLength {
		return errorResult(ctx, &argumentError{[]string{fmt.Sprintf(
			"argument \"company\" must have at least %d characters other than spaces, got %d", qcc.MinSearchKeyLength, n)}}, o.Now()), nil
	}
	res, err := b.SearchCertification(withMaxAge(ctx, p.MaxAge), qcc.SearchParams{
		SearchKey:    company,
		CertCategory: strings.TrimSpace(p.CertCategory),
		PageSize:     p.PageSize,
		PageIndex:    p.Page,
		Fuzzy:        !exact,
	})
	if err != nil {
		return errorResult(ctx, err, o.Now()), nil
	}
	rec := record(ctx)
	rec.qccStatus = res.Status
	if res.Status == 201 {
		rec.outcome = "no_result"
	}
	now := o.Now()
	out := SearchResult{
		Company:        company,
		Page:           p.Page,
		PageSize:       p.PageSize,
		Total:          res.Paging.TotalRecords,
		Certifications: make([]CertificationSummary, 0, len(res.Items)),
		Source:         newSource(qcc.MethodSearch, res.OrderNumber, res.FetchedAt, res.Cache, o.Demo),
	}
	if out.Total < len(res.Items) {
		out.Total = len(res.Items)
	}
	out.HasMore = p.Page*p.PageSize < out.Total
	for _, it := range res.Items {
		status, days := validity(it.EndDate, now)
		out.Certifications = append(out.Certifications, CertificationSummary{
			ID: it.ID, Name: it.Name, Type: it.Type, TypeDescription: it.TypeDesc, Number: it.No,
			StartDate: dateOrNil(it.StartDate), EndDate: dateOrNil(it.EndDate),
			Status: status, DaysUntilExpiry: days,
		})
	}
	return mcp.NewToolResultStructured(out, searchText(out, exact, o.Demo)), nil
}

// searchText is the text block: a short table and the next step.
func searchText(r SearchResult, exact bool, demo bool) string {
	var b strings.Builder
	if demo {
		b.WriteString(demoBanner)
	}
	if len(r.Certifications) == 0 {
		if r.Page > 1 {
			fmt.Fprintf(&b, "No certificates on page %d for %q; if earlier pages had some, this page is past the end (call again with page=1).\n", r.Page, r.Company)
			return b.String()
		}
		fmt.Fprintf(&b, "No certificates found for %q (QCC answered: no result).\n", r.Company)
		if exact {
			b.WriteString("Next: if this is not the company's full registered name, call again with exact=false for a keyword match.\n")
		} else {
			b.WriteString("Next: check the spelling, or use the company's registered Chinese name.\n")
		}
		return b.String()
	}
	pages := (r.Total + r.PageSize - 1) / r.PageSize
	fmt.Fprintf(&b, "%d certificate(s) for %q; page %d of %d, %d per page.\n\n", r.Total, r.Company, r.Page, pages, r.PageSize)
	b.WriteString("| # | certificate | number | valid from | valid until | status | id |\n|---|---|---|---|---|---|---|\n")
	for i, c := range r.Certifications {
		what := c.TypeDescription
		if c.Name != "" {
			what += ": " + c.Name
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n",
			(r.Page-1)*r.PageSize+i+1, cell(what, 60), cell(c.Number, 40), deref(c.StartDate), deref(c.EndDate),
			describeValidity(c.Status, c.DaysUntilExpiry), cell(c.ID, 64))
	}
	b.WriteString("\n")
	if r.HasMore {
		fmt.Fprintf(&b, "Next: %d more page(s): call again with page=%d.\n", pages-r.Page, r.Page+1)
	}
	b.WriteString("Use get_certification_detail with an id for holder, scope, standard and issuer.\n")
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
