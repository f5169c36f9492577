package uitest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// The check_certifications result shape of CHECK.md, as far as the view
// reads it. Used only while that tool is not served on this branch: the
// fixture is then built from the server's own search results, without a
// standard (so every certificate matches).
type checkResult struct {
	Standard           *string        `json:"standard"`
	MatchedTypes       []string       `json:"matched_types"`
	ExpiringWithinDays int            `json:"expiring_within_days"`
	AsOf               string         `json:"as_of"`
	Companies          []checkCompany `json:"companies"`
	Totals             map[string]int `json:"totals"`
	QCCCalls           int            `json:"qcc_calls"`
	CacheHits          int            `json:"cache_hits"`
	Source             map[string]any `json:"source"`
}

type checkCompany struct {
	Company           string                       `json:"company"`
	Verdict           string                       `json:"verdict"`
	CertificatesTotal int                          `json:"certificates_total"`
	Matching          int                          `json:"matching"`
	Valid             int                          `json:"valid"`
	Expiring          int                          `json:"expiring"`
	Expired           int                          `json:"expired"`
	Unknown           int                          `json:"unknown"`
	Best              *checkBest                   `json:"best"`
	Certifications    []tools.CertificationSummary `json:"certifications"`
	Error             *checkError                  `json:"error"`
	Cache             string                       `json:"cache"`
}

type checkBest struct {
	ID              string  `json:"id"`
	Number          string  `json:"number"`
	TypeDescription string  `json:"type_description"`
	Status          string  `json:"status"`
	EndDate         *string `json:"end_date"`
	DaysUntilExpiry *int    `json:"days_until_expiry"`
}

type checkError struct {
	Kind      string `json:"kind"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// checkFixture searches each of checkCompanies on the real server and
// sums the answers up by CHECK.md's rules into a CallToolResult.
func checkFixture(t *testing.T, c *client.Client) []byte {
	t.Helper()
	out := checkResult{MatchedTypes: []string{}, ExpiringWithinDays: expiringWindow, Totals: map[string]int{}, Source: map[string]any{"demo": true}}
	for _, name := range checkCompanies {
		res, err := testkit.CallTool(c, tools.SearchToolName, map[string]any{"company": name, "max_results": 200})
		if err != nil {
			t.Fatal(err)
		}
		co := checkCompany{Company: name, Certifications: []tools.CertificationSummary{}, Cache: "miss"}
		if res.IsError {
			co.Verdict = "error"
			co.Error = &checkError{Kind: "upstream", Message: strings.SplitN(testkit.ResultText(res), "\n", 2)[0]}
		} else {
			var s tools.SearchResult
			raw, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			co.Company, co.Cache = s.Company, s.Source.Cache
			co.Certifications = s.Certifications
			co.CertificatesTotal, co.Matching = len(s.Certifications), len(s.Certifications)
			for _, cert := range s.Certifications {
				switch cert.Status {
				case "valid":
					co.Valid++
					if *cert.DaysUntilExpiry <= expiringWindow {
						co.Expiring++
					}
					if co.Best == nil || *cert.EndDate > *co.Best.EndDate {
						co.Best = &checkBest{ID: cert.ID, Number: cert.Number, TypeDescription: cert.TypeDescription,
							Status: cert.Status, EndDate: cert.EndDate, DaysUntilExpiry: cert.DaysUntilExpiry}
					}
				case "expired":
					co.Expired++
				default:
					co.Unknown++
				}
				if out.AsOf == "" && cert.EndDate != nil && cert.DaysUntilExpiry != nil {
					out.AsOf = dayBefore(*cert.EndDate, *cert.DaysUntilExpiry)
				}
			}
			switch {
			case co.CertificatesTotal == 0:
				co.Verdict = "none_found"
			case co.Best != nil && *co.Best.DaysUntilExpiry <= expiringWindow:
				co.Verdict = "expiring"
			case co.Best != nil:
				co.Verdict = "valid"
			case co.Unknown > 0:
				co.Verdict = "unknown"
			default:
				co.Verdict = "expired"
			}
		}
		out.Totals[co.Verdict]++
		out.Companies = append(out.Companies, co)
	}
	out.Totals["companies"] = len(out.Companies)
	text := fmt.Sprintf("%d companies checked (fixture built from search_certifications).", len(out.Companies))
	raw, err := json.Marshal(map[string]any{
		"content":           []map[string]string{{"type": "text", "text": text}},
		"structuredContent": out,
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// dayBefore is the date n days before date (YYYY-MM-DD): the server's
// today, read back from an end date and its days_until_expiry.
func dayBefore(date string, n int) string {
	end, _ := time.Parse("2006-01-02", date)
	return end.AddDate(0, 0, -n).Format("2006-01-02")
}
