package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/identity"
	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// The resources and the prompt of this server.
const (
	StatusCodesURI = "qcc://status-codes"
	UsageURI       = "qcc://usage"
	DueDiligence   = "certification_due_diligence"
)

// StatusCode is one row of the qcc://status-codes resource.
type StatusCode struct {
	Code      int    `json:"code"`
	Kind      string `json:"kind"`
	Retryable bool   `json:"retryable"`
	Retry     string `json:"retry"`
	Meaning   string `json:"meaning"`
	Message   string `json:"message"`
	WhatToDo  string `json:"what_to_do"`
	Operator  bool   `json:"operator_must_act"`
	// Pause says which calls this server holds back after QCC answered
	// the code, and for how long.
	Pause string `json:"pause"`
}

// StatusCodeTable is the status code table as the server uses it: built
// from the qcc package's own table, so it cannot drift from what the client
// does.
func StatusCodeTable() []StatusCode {
	var out []StatusCode
	for _, s := range qcc.StatusCodes() {
		kind := string(s.Kind)
		if kind == "" {
			kind = "success" // 200 is the one code without a failure kind
		}
		out = append(out, StatusCode{
			Code: s.Code, Kind: kind, Retryable: s.Retry.Retryable, Retry: describeRetry(s.Retry),
			Meaning: s.Meaning, Message: s.Message, WhatToDo: s.Action, Operator: s.Operator,
			Pause: s.Pause.String(),
		})
	}
	return out
}

// describeRetry renders retry advice for tables.
func describeRetry(r qcc.RetryAdvice) string {
	switch {
	case !r.Retryable:
		return "no"
	case r.AtBeijingMidnight:
		return "after 00:00 Beijing time"
	case r.Soon():
		return "yes, in a few seconds"
	default:
		return "after " + roundDuration(r.After)
	}
}

// Usage is the qcc://usage resource: what this process spent and saved.
type Usage struct {
	UpstreamCalls         int            `json:"upstream_calls"`
	UpstreamCallsByStatus map[string]int `json:"upstream_calls_by_status"`
	CacheHits             int64          `json:"cache_hits"`
	CacheMisses           int64          `json:"cache_misses"`
	Coalesced             int64          `json:"coalesced_calls"`
	LocalRefusals         int64          `json:"locally_refused_calls"`
	BudgetLimit           int            `json:"budget_per_day"`
	BudgetUsedToday       int            `json:"budget_used_today"`
	BudgetLeft            *int           `json:"budget_left_today"`
	Since                 string         `json:"since"`
	// SharedState is "shared" or "degraded" with a shared Redis (--redis-url):
	// degraded means this replica runs on its own state until Redis is back.
	SharedState        string           `json:"shared_state,omitempty"`
	DegradedOperations map[string]int64 `json:"degraded_operations,omitempty"`
	// Caller is the reader's own usage, when the HTTP front authenticated
	// it; the fields above are the totals of every caller.
	Caller *CallerUsage `json:"caller,omitempty"`
}

// CallerUsage is one caller's share of qcc://usage.
type CallerUsage struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // static or oauth
	ClientID    string `json:"client_id,omitempty"`
	CallsToday  int    `json:"upstream_calls_today"`
	LimitPerDay int    `json:"limit_per_day"` // 0: no per-caller cap
	LeftToday   *int   `json:"left_today"`
}

func addResources(s *server.MCPServer, o Options) {
	s.AddResource(mcp.NewResource(StatusCodesURI, "QCC status codes", mcp.WithResourceTitle("QCC status codes"),
		mcp.WithResourceDescription("Every status code of QCC's certificate API as this server handles it: kind, whether retrying helps and when, meaning, and what to do."),
		mcp.WithMIMEType("application/json")),
		recoverResource(o.Logger, StatusCodesURI, func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return jsonResource(StatusCodesURI, StatusCodeTable())
		}))
	if o.Usage == nil {
		return
	}
	started := o.Now().UTC().Format(time.RFC3339)
	s.AddResource(mcp.NewResource(UsageURI, "QCC usage of this server", mcp.WithResourceTitle("QCC usage of this server"),
		mcp.WithResourceDescription("This server process's calls to QCC (billed) by status, cache hits, shared calls, locally refused calls and the daily budget left. It changes with every call: do not cache it."),
		mcp.WithMIMEType("application/json")),
		recoverResource(o.Logger, UsageURI, func(ctx context.Context, _ mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			u := o.Usage()
			out := Usage{
				UpstreamCalls: u.Total(), UpstreamCallsByStatus: u.UpstreamCalls,
				CacheHits: u.CacheHits, CacheMisses: u.CacheMisses, Coalesced: u.Coalesced, LocalRefusals: u.LocalRefusals,
				BudgetLimit: u.BudgetLimit, BudgetUsedToday: u.BudgetUsedToday, Since: started,
				SharedState: u.SharedState, DegradedOperations: u.Degraded,
			}
			if out.UpstreamCallsByStatus == nil {
				out.UpstreamCallsByStatus = map[string]int{}
			}
			if u.BudgetLimit > 0 {
				left := max(u.BudgetLimit-u.BudgetUsedToday, 0)
				out.BudgetLeft = &left
			}
			if id, ok := identity.FromContext(ctx); ok {
				c := &CallerUsage{Name: id.Name, Kind: string(id.Kind), ClientID: id.ClientID}
				if o.ClientUsage != nil {
					c.CallsToday, c.LimitPerDay = o.ClientUsage(ctx, id.Key())
				}
				if c.LimitPerDay > 0 {
					left := max(c.LimitPerDay-c.CallsToday, 0)
					c.LeftToday = &left
				}
				out.Caller = c
			}
			return jsonResource(UsageURI, out)
		}))
}

func jsonResource(uri string, v any) ([]mcp.ResourceContents, error) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: string(raw)}}, nil
}

func addPrompts(s *server.MCPServer, log *slog.Logger) {
	s.AddPrompt(mcp.NewPrompt(DueDiligence,
		mcp.WithPromptTitle("Certification due diligence"),
		mcp.WithPromptDescription("Check which certifications a Chinese company holds: what is valid, what expires within 90 days, what has expired, citing certificate numbers."),
		mcp.WithArgument("company", mcp.RequiredArgument(),
			mcp.ArgumentDescription("The company's registered name, usually Chinese, e.g. 企查查科技有限公司."))),
		recoverPrompt(log, DueDiligence, func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			company, err := checkCompany("company", req.Params.Arguments["company"])
			if err != nil {
				return nil, fmt.Errorf("invalid prompt argument: %s; give the company's registered name", err.Error())
			}
			return mcp.NewGetPromptResult("Certification due diligence for "+company,
				[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(dueDiligenceText(company)))}), nil
		}))
}

func dueDiligenceText(company string) string {
	steps := []string{
		fmt.Sprintf("Carry out a certification due-diligence check of the company %q using the QCC tools. Every QCC call is billed, so follow these steps and do not repeat calls.", company),
		fmt.Sprintf("1. Call search_certifications with company=%q, max_results=200 (one call fetches the whole list, in pages of 20). If it finds nothing, call it once more with exact=false and pick the matching company; if that also finds nothing, report that QCC holds no certificates under that name and stop.", company),
		"2. From the list, take the certificates with status \"valid\" (and those with status \"unknown\", which have no end date). For each of the most relevant ones — management-system certificates (ISO 9001, ISO 14001, ISO 45001, ISO/IEC 27001) and any product certificates that matter to the question — call get_certification_detail with its id to read holder, scope, standard and issuer. Check that the holder is the company itself.",
		"3. If a call returns an error, follow its \"What to do\" line: do not retry errors marked \"Retry: no\", and tell the user when the operator must act.",
		"4. Write a short summary with three groups, citing each certificate's number (证书编号) and end date: valid; valid but expiring within 90 days (days_until_expiry 0 to 90); expired. Note certificates without an end date separately, and say that the data comes from QCC as of the fetched_at time in the results (and that it is demo data if the results say so).",
	}
	return strings.Join(steps, "\n\n")
}
