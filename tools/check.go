package tools

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// CheckToolName is the name of the supplier-list tool.
const CheckToolName = "check_certifications"

// Limits of check_certifications.
const (
	// MaxCheckCompanies bounds one call's list.
	MaxCheckCompanies = 50
	// checkConcurrency is how many companies are looked up at once: a few,
	// so that one call cannot take the whole rate limit from the others.
	checkConcurrency = 3
	// checkMaxPages bounds one company's list (200 certificates).
	checkMaxPages = 10
	// DefaultExpiringWithinDays is the default warning window.
	DefaultExpiringWithinDays = 90
)

// CheckParams are the arguments of check_certifications.
type CheckParams struct {
	Companies          []string `json:"companies" jsonschema:"required,minItems=1,maxItems=50" jsonschema_description:"1 to 50 company names, each the full registered name (usually Chinese; 2 to 100 characters after normalisation). Duplicates are checked once."`
	Standard           string   `json:"standard,omitempty" jsonschema_description:"Optional standard as the user calls it: ISO 9001, ISO9001, 9001, ISO 14001, ISO 45001, OHSAS 18001, ISO/IEC 27001, ISO/IEC 20000, ISO 22000, HACCP, ISO 50001, GB/T 29490, CCC, or Chinese words such as 质量管理体系. Matched against QCC's type descriptions through the alias table, else as plain text. Leave out to judge every certificate."`
	CertCategory       string   `json:"cert_category,omitempty" jsonschema_description:"Optional QCC certificate category code such as C_9 (management systems), to fetch one category only."`
	Exact              *bool    `json:"exact,omitempty" jsonschema:"default=true" jsonschema_description:"true (default): each name must match exactly. false: keyword match, which may mix several companies' certificates."`
	ExpiringWithinDays *int     `json:"expiring_within_days,omitempty" jsonschema:"minimum=0,maximum=3650,default=90" jsonschema_description:"A valid certificate ending within this many days counts as expiring. Default 90."`
}

// CheckResult is the structured result of check_certifications; its
// field names are a contract with the MCP Apps view (CHECK.md).
type CheckResult struct {
	Standard           *string        `json:"standard" jsonschema:"nullable" jsonschema_description:"The standard as the caller wrote it, or null when none was given."`
	MatchedTypes       []string       `json:"matched_types" jsonschema_description:"QCC type descriptions, among the certificates fetched, that matched the standard; empty without a standard."`
	MatchTerms         []string       `json:"match_terms" jsonschema_description:"What a certificate's type description must contain to match: the alias table's Chinese terms for the standard, and the standard as written; empty without a standard."`
	ExpiringWithinDays int            `json:"expiring_within_days" jsonschema_description:"The warning window in days."`
	AsOf               string         `json:"as_of" jsonschema:"format=date" jsonschema_description:"Today's date in Beijing, the day validity was judged on."`
	Companies          []CompanyCheck `json:"companies" jsonschema_description:"One row per distinct company, in the order given."`
	Totals             CheckTotals    `json:"totals" jsonschema_description:"Companies by verdict."`
	QCCCalls           int            `json:"qcc_calls" jsonschema_description:"QCC pages this call fetched from QCC (billed; retries not counted)."`
	CacheHits          int            `json:"cache_hits" jsonschema_description:"Pages answered from this server's cache (free)."`
	Source             CheckSource    `json:"source" jsonschema_description:"Where the data comes from."`
}

// CheckSource says whether the data is real.
type CheckSource struct {
	Demo bool   `json:"demo" jsonschema_description:"True when the data comes from the built-in sandbox, not from QCC: do not present it as real."`
	API  string `json:"api" jsonschema_description:"The QCC method that answered."`
}

// CheckTotals counts companies by verdict.
type CheckTotals struct {
	Companies int `json:"companies"`
	Valid     int `json:"valid"`
	Expiring  int `json:"expiring"`
	Expired   int `json:"expired"`
	Unknown   int `json:"unknown"`
	NoneFound int `json:"none_found"`
	NoMatch   int `json:"no_match"`
	Error     int `json:"error"`
}

// The verdicts of a company row.
const (
	verdictValid     = "valid"
	verdictExpiring  = "expiring"
	verdictExpired   = "expired"
	verdictUnknown   = "unknown"
	verdictNoneFound = "none_found"
	verdictNoMatch   = "no_match"
	verdictError     = "error"
)

// CompanyCheck is one company's row.
type CompanyCheck struct {
	Company           string                 `json:"company" jsonschema_description:"The name searched, normalised."`
	Verdict           string                 `json:"verdict" jsonschema:"enum=valid,enum=expiring,enum=expired,enum=unknown,enum=none_found,enum=no_match,enum=error" jsonschema_description:"valid: a matching certificate valid beyond the window; expiring: the best matching valid one ends within the window; expired: matching ones exist, all expired; unknown: matching ones exist, none valid, some without end date; none_found: QCC holds no certificates for this company; no_match: certificates exist but none matches the standard; error: this company's lookup failed (see error)."`
	CertificatesTotal int                    `json:"certificates_total" jsonschema_description:"All certificates fetched for the company."`
	Matching          int                    `json:"matching" jsonschema_description:"Of those, the ones matching the standard (all without one)."`
	Valid             int                    `json:"valid" jsonschema_description:"Matching certificates valid today (expiring ones included)."`
	Expiring          int                    `json:"expiring" jsonschema_description:"Matching valid certificates ending within the window."`
	Expired           int                    `json:"expired" jsonschema_description:"Matching certificates past their end date."`
	Unknown           int                    `json:"unknown" jsonschema_description:"Matching certificates without an end date."`
	Best              *BestCertificate       `json:"best" jsonschema:"nullable" jsonschema_description:"The matching valid certificate with the latest end date, or null."`
	Certifications    []CertificationSummary `json:"certifications" jsonschema_description:"The matching certificates, as search_certifications lists them."`
	Error             *CheckError            `json:"error" jsonschema:"nullable" jsonschema_description:"Why this company's lookup failed, or null."`
	IncompleteReason  string                 `json:"incomplete_reason,omitempty" jsonschema_description:"Set when the list was cut short (an error after some pages, or more than 200 certificates): the counts cover what was fetched."`
	Cache             string                 `json:"cache" jsonschema:"enum=hit,enum=miss,enum=coalesced,enum=mixed,enum=none" jsonschema_description:"How the pages were obtained: hit (all from the cache), miss (all from QCC), coalesced (shared with identical calls), mixed; none when nothing was asked (an invalid name)."`
}

// BestCertificate is the certificate a row's verdict rests on.
type BestCertificate struct {
	ID              string  `json:"id" jsonschema_description:"QCC's certificate id (for get_certification_detail)."`
	Number          string  `json:"number" jsonschema_description:"The certificate number."`
	TypeDescription string  `json:"type_description" jsonschema_description:"QCC's type description."`
	Status          string  `json:"status" jsonschema:"enum=valid,enum=expired,enum=unknown" jsonschema_description:"valid (a best certificate always is)."`
	EndDate         *string `json:"end_date" jsonschema:"nullable,format=date" jsonschema_description:"Last valid day (YYYY-MM-DD)."`
	DaysUntilExpiry *int    `json:"days_until_expiry" jsonschema:"nullable" jsonschema_description:"Days from today (Beijing) to end_date."`
}

// CheckError is a failed lookup, in words an agent can act on.
type CheckError struct {
	Kind      string `json:"kind" jsonschema_description:"The failure's kind, e.g. billing, network, invalid_argument."`
	Message   string `json:"message" jsonschema_description:"What failed and what to do."`
	Retryable bool   `json:"retryable" jsonschema_description:"Whether calling again later can help."`
}

const checkDescription = "Check a whole list of Chinese companies (suppliers, partners) for certificates in one call: " +
	"for each company its certificates from Qichacha (QCC), those matching a standard (ISO 9001, ISO 14001, ISO 45001, ISO/IEC 27001, CCC …, " +
	"matched to QCC's Chinese type descriptions), how many are valid, expiring within expiring_within_days, expired or of unknown validity, " +
	"and the best valid certificate. One row per company with a verdict; a company that fails is a row with the reason, never a failed call. " +
	"Each company costs at least one billed QCC call (one per page of 20 certificates) unless cached; when the day's budget cannot pay for the " +
	"companies not cached, the call is refused before anything is spent."

// checkTool is built on b; the cost questions go to b when it can answer
// them (a *guard.Guard), else the call goes ahead unchecked.
func checkTool(b guard.Upstream, o Options) Tool {
	t := newTool(CheckToolName, "Check a list of companies' certifications", checkDescription, CheckResult{}, o,
		func(ctx context.Context, p CheckParams) (*mcp.CallToolResult, error) {
			return runCheck(ctx, b, o, p)
		})
	return WithView(t) // hosts with MCP Apps draw the verdicts as a table (ui.go)
}

// costOracle is what a guard answers about cost without spending.
type costOracle interface {
	CachedSearch(ctx context.Context, p qcc.SearchParams) (*qcc.SearchResult, bool)
	BudgetLeft(ctx context.Context) (left int, limited bool)
}

// budgetShortError refuses a list the day's budget cannot pay for.
type budgetShortError struct {
	companies, cached, need, left int
	resets                        time.Time
}

func (e *budgetShortError) Error() string {
	return fmt.Sprintf("the list needs at least %d QCC calls, %d are left today", e.need, e.left)
}

func runCheck(ctx context.Context, b guard.Upstream, o Options, p CheckParams) (*mcp.CallToolResult, error) {
	now := o.Now()
	window := DefaultExpiringWithinDays
	if p.ExpiringWithinDays != nil {
		window = *p.ExpiringWithinDays
	}
	exact := p.Exact == nil || *p.Exact
	category := strings.TrimSpace(p.CertCategory)
	match := newStandardMatcher(p.Standard)

	rows := make([]CompanyCheck, 0, len(p.Companies))
	seen := map[string]bool{}
	for _, raw := range p.Companies {
		name, err := checkCompany("companies", raw)
		if err != nil {
			rows = append(rows, errorRow(strings.TrimSpace(raw), err, now))
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		rows = append(rows, CompanyCheck{Company: name})
	}
	query := func(name string, page int) qcc.SearchParams {
		return qcc.SearchParams{SearchKey: name, CertCategory: category, PageSize: qcc.MaxPageSize, PageIndex: page, Fuzzy: !exact}
	}

	// Cost first: nothing is spent on a list the budget cannot finish.
	if oracle, ok := b.(costOracle); ok {
		if left, limited := oracle.BudgetLeft(ctx); limited {
			need, cached, asked := 0, 0, 0
			for _, r := range rows {
				if r.Error != nil {
					continue
				}
				asked++
				n := callsNeeded(ctx, oracle, func(page int) qcc.SearchParams { return query(r.Company, page) })
				if n == 0 {
					cached++
				}
				need += n
			}
			if need > left {
				return errorResult(ctx, &budgetShortError{companies: asked, cached: cached, need: need, left: left,
					resets: qcc.NextBeijingMidnight(now)}, now), nil
			}
		}
	}

	var (
		wg      sync.WaitGroup
		slots   = make(chan struct{}, checkConcurrency)
		mu      sync.Mutex
		done    int
		calls   int
		hits    int
		matched = map[string]bool{}
	)
	prog := progressOf(ctx)
	for i := range rows {
		if rows[i].Error != nil {
			continue
		}
		wg.Add(1)
		go func(r *CompanyCheck) {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			items, states, err := fetchWholeList(ctx, b, o.Now, func(page int) qcc.SearchParams { return query(r.Company, page) }, r)
			mu.Lock()
			defer mu.Unlock()
			for _, s := range states {
				switch s {
				case guard.CacheHit:
					hits++
				case guard.CacheMiss, "":
					calls++
				}
			}
			if err != nil && len(items) == 0 {
				*r = errorRow(r.Company, err, now)
				r.Cache = combineRowCache(states)
			} else {
				judge(r, items, match, window, now, matched)
				if len(items) > 0 && exact {
					o.answered.company(r.Company)
				}
				for _, it := range items {
					o.answered.id(it.ID)
				}
				r.Cache = combineRowCache(states)
			}
			done++
			prog.step(done, len(rows), fmt.Sprintf("%d of %d companies: %s %s", done, len(rows), truncate(r.Company, 30), r.Verdict))
		}(&rows[i])
	}
	wg.Wait()

	out := CheckResult{
		MatchedTypes:       sortedKeys(matched),
		MatchTerms:         match.terms(),
		ExpiringWithinDays: window,
		AsOf:               now.In(qcc.Beijing).Format(dateLayout),
		Companies:          rows,
		QCCCalls:           calls,
		CacheHits:          hits,
		Source:             CheckSource{Demo: o.Demo, API: qcc.MethodSearch},
	}
	if s := strings.TrimSpace(p.Standard); s != "" {
		out.Standard = &s
	}
	for i := range out.Companies {
		r := &out.Companies[i]
		if r.Cache == "" {
			r.Cache = "none"
		}
		out.Totals.Companies++
		switch r.Verdict {
		case verdictValid:
			out.Totals.Valid++
		case verdictExpiring:
			out.Totals.Expiring++
		case verdictExpired:
			out.Totals.Expired++
		case verdictUnknown:
			out.Totals.Unknown++
		case verdictNoneFound:
			out.Totals.NoneFound++
		case verdictNoMatch:
			out.Totals.NoMatch++
		default:
			out.Totals.Error++
		}
	}
	if out.Totals.Error == out.Totals.Companies {
		record(ctx).outcome = "error"
	}
	return mcp.NewToolResultStructured(out, checkText(out, o)), nil
}

// callsNeeded is the least number of QCC calls a company's whole list
// needs beyond the cache: 0 when every page is cached, 1 for a company
// whose first page is not (its length is unknown until then).
func callsNeeded(ctx context.Context, oracle costOracle, query func(page int) qcc.SearchParams) int {
	first, ok := oracle.CachedSearch(ctx, query(1))
	if !ok {
		return 1
	}
	pages := min((first.Paging.TotalRecords+qcc.MaxPageSize-1)/qcc.MaxPageSize, checkMaxPages)
	need := 0
	for page := 2; page <= pages; page++ {
		if _, ok := oracle.CachedSearch(ctx, query(page)); !ok {
			need++
		}
	}
	return need
}

// fetchWholeList fetches a company's pages until its list ends. Pages
// fetched before an error are kept: they are paid for. now is the
// configured clock, for the error's wording.
func fetchWholeList(ctx context.Context, b guard.Upstream, now func() time.Time, query func(page int) qcc.SearchParams, r *CompanyCheck) ([]qcc.Certification, []guard.CacheState, error) {
	var (
		items  []qcc.Certification
		states []guard.CacheState
	)
	for page := 1; page <= checkMaxPages; page++ {
		res, err := b.SearchCertification(ctx, query(page))
		if err != nil {
			if qcc.KindOf(err) == qcc.KindNoResult && page == 1 {
				states = append(states, guard.CacheMiss)
				return nil, states, nil
			}
			if reachedQCC(err) {
				states = append(states, guard.CacheMiss) // billed all the same
			}
			if len(items) > 0 {
				text, _, _ := describeError(err, now())
				r.IncompleteReason = fmt.Sprintf("stopped after %d page(s): %s", page-1, firstLine(text))
			}
			return items, states, err
		}
		states = append(states, res.Cache)
		items = append(items, res.Items...)
		total := res.Paging.TotalRecords
		if len(res.Items) < qcc.MaxPageSize || (total > 0 && page*qcc.MaxPageSize >= total) {
			return items, states, nil
		}
		if page == checkMaxPages {
			r.IncompleteReason = fmt.Sprintf("only the first %d certificates were fetched of %d", len(items), total)
		}
	}
	return items, states, nil
}

// errorRow is the row of a company whose lookup failed.
func errorRow(company string, err error, now time.Time) CompanyCheck {
	text, kind, _ := describeError(err, now)
	retry := false
	var qe *qcc.Error
	if errors.As(err, &qe) {
		retry = qe.Retry.Retryable
	}
	return CompanyCheck{Company: company, Verdict: verdictError, Certifications: []CertificationSummary{},
		Error: &CheckError{Kind: kind, Message: strings.ReplaceAll(text, "\n", " "), Retryable: retry}}
}

// judge fills a row from a company's certificates.
func judge(r *CompanyCheck, items []qcc.Certification, m standardMatcher, window int, now time.Time, matched map[string]bool) {
	r.CertificatesTotal = len(items)
	r.Certifications = []CertificationSummary{}
	for _, it := range items {
		if !m.matches(it) {
			continue
		}
		if m.given() {
			matched[it.TypeDesc] = true
		}
		status, days := validity(it.EndDate, now)
		c := CertificationSummary{ID: it.ID, Name: it.Name, Type: it.Type, TypeDescription: it.TypeDesc, Number: it.No,
			StartDate: dateOrNil(it.StartDate), EndDate: dateOrNil(it.EndDate), Status: status, DaysUntilExpiry: days}
		r.Certifications = append(r.Certifications, c)
		switch status {
		case statusValid:
			r.Valid++
			if *days <= window {
				r.Expiring++
			}
			if r.Best == nil || *days > *r.Best.DaysUntilExpiry {
				r.Best = &BestCertificate{ID: c.ID, Number: c.Number, TypeDescription: c.TypeDescription,
					Status: status, EndDate: c.EndDate, DaysUntilExpiry: days}
			}
		case statusExpired:
			r.Expired++
		default:
			r.Unknown++
		}
	}
	r.Matching = len(r.Certifications)
	switch {
	case len(items) == 0:
		r.Verdict = verdictNoneFound
	case r.Matching == 0:
		r.Verdict = verdictNoMatch
	case r.Best != nil && *r.Best.DaysUntilExpiry > window:
		r.Verdict = verdictValid
	case r.Best != nil:
		r.Verdict = verdictExpiring
	case r.Unknown > 0:
		r.Verdict = verdictUnknown
	default:
		r.Verdict = verdictExpired
	}
}

// combineRowCache sums up a company's pages.
func combineRowCache(states []guard.CacheState) string {
	if len(states) == 0 {
		return string(guard.CacheMiss)
	}
	first := states[0]
	if first == "" {
		first = guard.CacheMiss
	}
	for _, s := range states[1:] {
		if s == "" {
			s = guard.CacheMiss
		}
		if s != first {
			return "mixed"
		}
	}
	return string(first)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// StandardAlias is one row of the alias table from what users call a
// standard to the words of QCC's Chinese type descriptions.
type StandardAlias struct {
	// Standard is the usual name.
	Standard string
	// Keys are the spellings that select the row once normalised
	// (upper case, no ISO/IEC/GB/T/OHSAS prefix, no year, no punctuation).
	Keys []string
	// Terms are what a matching type description contains.
	Terms []string
}

// StandardAliases is the alias table (documented in the README).
var StandardAliases = []StandardAlias{
	{"ISO 9001", []string{"9001", "9000", "19001"}, []string{"质量管理体系"}},
	{"ISO 14001", []string{"14001", "24001"}, []string{"环境管理体系"}},
	{"ISO 45001 / OHSAS 18001", []string{"45001", "18001", "28001"}, []string{"职业健康安全管理体系"}},
	{"ISO/IEC 27001", []string{"27001", "22080"}, []string{"信息安全管理体系"}},
	{"ISO/IEC 20000", []string{"20000", "200001", "24405"}, []string{"信息技术服务管理体系"}},
	{"ISO 22000 / HACCP", []string{"22000", "HACCP"}, []string{"食品安全管理体系", "危害分析与关键控制点"}},
	{"ISO 50001", []string{"50001", "23331"}, []string{"能源管理体系"}},
	{"GB/T 29490", []string{"29490"}, []string{"知识产权管理体系"}},
	{"CCC", []string{"CCC", "3C"}, []string{"强制性产品认证"}},
}

var (
	standardYear     = regexp.MustCompile(`[:：\-](19|20)\d\d$`)
	standardPrefixes = strings.NewReplacer("ISO", "", "IEC", "", "OHSAS", "", "GB/T", "", "GBT", "")
)

// standardMatcher decides whether a certificate matches the standard.
type standardMatcher struct {
	raw   string
	plain string   // the standard as written, folded for a text match
	alias []string // the alias table's terms, if a row matched
}

func newStandardMatcher(standard string) standardMatcher {
	m := standardMatcher{raw: strings.TrimSpace(standard)}
	if m.raw == "" {
		return m
	}
	m.plain = fold(m.raw)
	key := standardYear.ReplaceAllString(m.plain, "")
	key = standardPrefixes.Replace(key)
	key = strings.Map(func(r rune) rune {
		if r == '/' || r == '-' || r == '.' || r == ':' || r == '：' {
			return -1
		}
		return r
	}, key)
	for _, a := range StandardAliases {
		for _, k := range a.Keys {
			if key == k {
				m.alias = a.Terms
			}
		}
	}
	return m
}

// fold makes text comparable: upper case, no white space, full-width
// parentheses as the descriptions write them.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return -1
		case r == '(':
			return '（'
		case r == ')':
			return '）'
		}
		return unicode.ToUpper(r)
	}, s)
}

func (m standardMatcher) given() bool { return m.raw != "" }

func (m standardMatcher) terms() []string {
	out := []string{}
	if !m.given() {
		return out
	}
	out = append(out, m.alias...)
	return append(out, m.raw)
}

func (m standardMatcher) matches(c qcc.Certification) bool {
	if !m.given() {
		return true
	}
	desc := fold(c.TypeDesc)
	for _, t := range m.alias {
		if strings.Contains(desc, t) {
			return true
		}
	}
	return strings.Contains(desc, m.plain) || strings.Contains(fold(c.Name), m.plain)
}

// checkText is one line per company, then the totals and the cost.
func checkText(r CheckResult, o Options) string {
	t := newTextBudget(o.MaxTextBytes)
	if r.Source.Demo {
		t.head(demoBanner)
	}
	std := "any certificate"
	if r.Standard != nil {
		std = *r.Standard
		if len(r.matchShown()) > 0 {
			std += " (" + strings.Join(r.matchShown(), ", ") + ")"
		}
	}
	tot := r.Totals
	t.head(fmt.Sprintf("Checked %d companies for %s as of %s (Beijing), expiring window %d days: %d valid, %d expiring, %d expired, %d unknown, %d none found, %d no match, %d failed.\n",
		tot.Companies, std, r.AsOf, r.ExpiringWithinDays, tot.Valid, tot.Expiring, tot.Expired, tot.Unknown, tot.NoneFound, tot.NoMatch, tot.Error))
	t.foot(fmt.Sprintf("%d QCC call(s) made (billed), %d page(s) from the cache. Use get_certification_detail with a best certificate's id for holder, scope and issuer.\n",
		r.QCCCalls, r.CacheHits))
	for i, c := range r.Companies {
		if !t.row(fmt.Sprintf("%d. %s\n", i+1, companyLine(c))) {
			t.head(fmt.Sprintf("… %d more companies not shown; every row is in structuredContent.companies.\n", len(r.Companies)-i))
			break
		}
	}
	return t.String()
}

// matchShown is what the text shows the standard was matched to.
func (r CheckResult) matchShown() []string {
	if len(r.MatchedTypes) > 0 {
		return r.MatchedTypes
	}
	if len(r.MatchTerms) > 1 {
		return r.MatchTerms[:len(r.MatchTerms)-1]
	}
	return nil
}

func companyLine(c CompanyCheck) string {
	name := truncate(c.Company, 60)
	switch c.Verdict {
	case verdictError:
		return fmt.Sprintf("%s: ERROR (%s) %s", name, c.Error.Kind, truncate(c.Error.Message, 300))
	case verdictNoneFound:
		return fmt.Sprintf("%s: none found (QCC holds no certificates under this name; check it, or try search_certifications with exact=false)", name)
	case verdictNoMatch:
		return fmt.Sprintf("%s: no match (%d certificate(s), none of this standard)", name, c.CertificatesTotal)
	}
	s := fmt.Sprintf("%s: %s; %d matching of %d: %d valid (%d expiring), %d expired, %d unknown", name, strings.ToUpper(c.Verdict),
		c.Matching, c.CertificatesTotal, c.Valid, c.Expiring, c.Expired, c.Unknown)
	if b := c.Best; b != nil {
		s += fmt.Sprintf("; best %s %s until %s (%s, id %s)", truncate(b.TypeDescription, 40), b.Number, deref(b.EndDate),
			describeValidity(b.Status, b.DaysUntilExpiry), b.ID)
	}
	if c.Cache == string(guard.CacheHit) {
		s += "; from the cache"
	}
	if c.IncompleteReason != "" {
		s += "; INCOMPLETE: " + c.IncompleteReason
	}
	return s
}

// reachedQCC reports whether a failed request was sent (and so billed):
// QCC or a proxy answered, or the answer was lost on the way back.
func reachedQCC(err error) bool {
	var qe *qcc.Error
	if !errors.As(err, &qe) {
		return false
	}
	switch qe.Kind {
	case qcc.KindNetwork, qcc.KindTimeout, qcc.KindMalformed:
		return true
	}
	return qe.Local == "" && (qe.Code != 0 || qe.HTTPStatus != 0)
}
