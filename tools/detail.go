package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	orderedmap "github.com/pb33f/ordered-map/v2"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// DetailToolName is the name of the detail tool.
const DetailToolName = "get_certification_detail"

// DetailParams are the arguments of get_certification_detail.
type DetailParams struct {
	CertID       string `json:"cert_id" jsonschema:"required,minLength=1" jsonschema_description:"A certificate id exactly as returned by search_certifications (the id column): letters, digits, - and _, at most 64 characters."`
	IncludeEmpty bool   `json:"include_empty,omitempty" jsonschema:"default=false" jsonschema_description:"Also return the fields QCC left empty. Default false keeps the answer short."`
	MaxAge       *int   `json:"max_age_seconds,omitempty" jsonschema:"minimum=0" jsonschema_description:"Optional freshness limit: a cached answer fetched more than this many seconds ago is fetched again from QCC (billed). Leave out to accept the server's cache; 0 forces a new fetch."`
}

// DetailResult is the structured result of get_certification_detail.
type DetailResult struct {
	ID          string             `json:"id" jsonschema_description:"The certificate id."`
	Certificate CertificateSummary `json:"certificate" jsonschema_description:"The key fields under English names; a field is left out when QCC has no value for it."`
	Fields      Fields             `json:"fields" jsonschema_description:"Every field of QCC's record under its original Chinese name, in QCC's order; empty ones only with include_empty."`
	Source      Source             `json:"source" jsonschema_description:"Where and when this answer was obtained."`
}

// CertificateSummary is the English-named summary of a detail record.
type CertificateSummary struct {
	Number           string `json:"number,omitempty" jsonschema_description:"Certificate number (证书编号)."`
	Status           string `json:"status,omitempty" jsonschema_description:"Status as QCC records it (证书状态), e.g. 有效 valid, 过期 expired, 撤销 withdrawn, 暂停 suspended."`
	Holder           string `json:"holder,omitempty" jsonschema_description:"The certified organisation (获证组织 / 企业名称)."`
	HolderCreditCode string `json:"holder_credit_code,omitempty" jsonschema_description:"The holder's unified social credit code or organisation code."`
	Scope            string `json:"scope,omitempty" jsonschema_description:"What the certificate covers (认证范围)."`
	Standard         string `json:"standard,omitempty" jsonschema_description:"The standard certified against (认证依据), e.g. GB/T19001-2016 / ISO9001:2015."`
	Issuer           string `json:"issuer,omitempty" jsonschema_description:"The certification body (发证机构名称)."`
	IssueDate        string `json:"issue_date,omitempty" jsonschema_description:"Date of issue (颁证日期)."`
	ExpiryDate       string `json:"expiry_date,omitempty" jsonschema_description:"Expiry date (证书到期日期)."`
	FirstIssueDate   string `json:"first_issue_date,omitempty" jsonschema_description:"Date first certified (初次获证日期)."`
}

// summaryFields says which QCC fields feed each summary field, first
// non-empty wins. The names are those of the vendor document.
var summaryFields = []struct {
	names []string
	set   func(*CertificateSummary, string)
}{
	{[]string{"证书编号"}, func(c *CertificateSummary, v string) { c.Number = v }},
	{[]string{"证书状态"}, func(c *CertificateSummary, v string) { c.Status = v }},
	{[]string{"获证组织基本信息-企业名称", "企业名称"}, func(c *CertificateSummary, v string) { c.Holder = v }},
	{[]string{"获证组织基本信息-统一社会信用代码/组织机构代码"}, func(c *CertificateSummary, v string) { c.HolderCreditCode = v }},
	{[]string{"认证范围/认证覆盖的业务范围"}, func(c *CertificateSummary, v string) { c.Scope = v }},
	{[]string{"认证依据", "认证依据的标准和技术要求"}, func(c *CertificateSummary, v string) { c.Standard = v }},
	{[]string{"发证机构名称"}, func(c *CertificateSummary, v string) { c.Issuer = v }},
	{[]string{"颁证日期"}, func(c *CertificateSummary, v string) { c.IssueDate = v }},
	{[]string{"证书到期日期"}, func(c *CertificateSummary, v string) { c.ExpiryDate = v }},
	{[]string{"初次获证日期"}, func(c *CertificateSummary, v string) { c.FirstIssueDate = v }},
}

func summarise(d *qcc.CertificationDetail) CertificateSummary {
	var c CertificateSummary
	for _, sf := range summaryFields {
		for _, name := range sf.names {
			if v, ok := d.Get(name); ok && strings.TrimSpace(v) != "" {
				sf.set(&c, strings.TrimSpace(v))
				break
			}
		}
	}
	return c
}

// Fields is QCC's detail record in its own order. It marshals as a JSON
// object whose keys keep that order (a Go map would sort them).
type Fields []qcc.Field

// MarshalJSON writes the fields as one object in order; null values stay null.
func (f Fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, fl := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(fl.Name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		if fl.Null {
			b.WriteString("null")
			continue
		}
		v, err := json.Marshal(fl.Value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// JSONSchema declares Fields as an object of strings (or null).
func (Fields) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:       "object",
		Properties: orderedmap.New[string, *jsonschema.Schema](),
		AdditionalProperties: &jsonschema.Schema{
			OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "null"}},
		},
	}
}

const detailDescription = "Read one certificate's full record from Qichacha (QCC): holder and its credit code, scope, " +
	"standard, certification body, issue, expiry and first-issue dates, status, and every other field QCC keeps (in Chinese). " +
	"Takes an id from search_certifications; each call is one billed QCC call. " +
	"Use it for the certificates that matter to the question rather than for every id."

func detailTool(b guard.Upstream, o Options) Tool {
	return newTool(DetailToolName, "Get certification detail", detailDescription, DetailResult{}, o,
		func(ctx context.Context, p DetailParams) (*mcp.CallToolResult, error) {
			return runDetail(ctx, b, o, p)
		})
}

func runDetail(ctx context.Context, b guard.Upstream, o Options, p DetailParams) (*mcp.CallToolResult, error) {
	id, err := checkCertID(p.CertID)
	if err != nil {
		return errorResult(ctx, err, o.Now()), nil
	}
	out, err := fetchDetail(withMaxAge(ctx, p.MaxAge), b, o, id, p.IncludeEmpty)
	if err != nil {
		return errorResult(ctx, err, o.Now()), nil
	}
	return mcp.NewToolResultStructured(out, detailText(out, o.Now(), o.Demo, o.MaxTextBytes)), nil
}

// fetchDetail reads one certificate through b; the tool and the
// qcc://certificates/{cert_id} template share it, so both give the same
// record.
func fetchDetail(ctx context.Context, b guard.Upstream, o Options, id string, includeEmpty bool) (DetailResult, error) {
	d, err := b.GetCertificationDetailByID(ctx, id)
	if err != nil {
		if qcc.KindOf(err) == qcc.KindNoResult {
			err = &unknownIDError{id: id}
		}
		return DetailResult{}, err
	}
	record(ctx).qccStatus = d.Status
	out := DetailResult{
		ID:          id,
		Certificate: summarise(d),
		Fields:      make(Fields, 0, len(d.Fields)),
		Source:      newSource(qcc.MethodDetail, d.OrderNumber, d.FetchedAt, d.Cache, o.Demo),
	}
	if d.ID != "" {
		out.ID = d.ID
	}
	o.answered.id(out.ID)
	for _, f := range d.Fields {
		if includeEmpty || (!f.Null && strings.TrimSpace(f.Value) != "") {
			out.Fields = append(out.Fields, f)
		}
	}
	return out, nil
}

// detailText renders the key fields and the rest of the record compactly,
// within the text budget.
func detailText(r DetailResult, now time.Time, demo bool, limit int) string {
	t := newTextBudget(limit)
	if demo {
		t.head(demoBanner)
	}
	c := r.Certificate
	t.head(fmt.Sprintf("Certificate %s (id %s)\n", orDash(c.Number), r.ID))
	t.head(cacheLine(r.Source, now))
	line := func(label, v string) {
		if v != "" {
			t.head(fmt.Sprintf("%s: %s\n", label, truncate(v, 400)))
		}
	}
	line("Status (QCC)", c.Status)
	contradiction := ""
	holder := c.Holder
	if c.HolderCreditCode != "" {
		holder += " (credit code " + c.HolderCreditCode + ")"
	}
	line("Holder", holder)
	line("Scope", c.Scope)
	line("Standard", c.Standard)
	line("Issuer", c.Issuer)
	line("Issued", c.IssueDate)
	if c.ExpiryDate != "" {
		exp := c.ExpiryDate
		if d, err := time.ParseInLocation(dateLayout, c.ExpiryDate, qcc.Beijing); err == nil {
			status, days := validity(d, now)
			exp += " (" + describeValidity(status, days) + " as of today, Beijing)"
			if status == statusExpired && strings.Contains(c.Status, "有效") {
				contradiction = fmt.Sprintf("Note: QCC's status says %q (valid), but the expiry date %s has passed: treat the certificate as expired unless the issuer confirms a renewal.\n", c.Status, c.ExpiryDate)
			}
		}
		line("Expires", exp)
		t.head(contradiction)
	}
	line("First issued", c.FirstIssueDate)

	shown := map[string]bool{}
	for _, sf := range summaryFields {
		for _, n := range sf.names {
			shown[n] = true
		}
	}
	var rest []string
	for _, f := range r.Fields {
		if shown[f.Name] || f.Null || strings.TrimSpace(f.Value) == "" {
			continue
		}
		rest = append(rest, fmt.Sprintf("- %s: %s\n", f.Name, truncate(strings.TrimSpace(f.Value), 160)))
	}
	if len(rest) > 0 {
		t.head("\nOther fields (QCC's names):\n")
	}
	for i, l := range rest {
		if !t.row(l) {
			t.head(fmt.Sprintf("… %d more fields not shown; all are in structuredContent.fields.\n", len(rest)-i))
			break
		}
	}
	return t.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
