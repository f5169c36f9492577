package tools_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// The distinct-argument misses: what a call costs when every call asks
// something new, so neither the cache nor coalescing can answer it, next
// to a bare mcp-go tool that makes the same signed call and decodes the
// answer typed. Both reach the sandbox in process (its Transport), so the
// difference is the servers' own work; bench -compare measures the same
// over real sockets.

// missCompanies are the sandbox companies that hold certificates.
var missCompanies = []string{"企查查科技有限公司", "苏州云帆智能制造股份有限公司", "华信创（北京）检测技术有限公司",
	"杭州青禾软件技术有限公司", "深圳市海澜电子科技有限公司", "上海明德建设工程有限公司"}

// missArgs are the arguments of call i: 240 combinations in turn.
func missArgs(i int) map[string]any {
	return map[string]any{"company": missCompanies[i%6], "page_size": 1 + (i/6)%20, "exact": (i/120)%2 == 0}
}

// BenchmarkDistinctMissCall is a search with new arguments on every call,
// the cache off: validation, the guard, signing, the sandbox, decoding,
// the result and its text.
func BenchmarkDistinctMissCall(b *testing.B) {
	cfg := benchConfig()
	cfg.CacheTTL = guard.Off
	st := newGuardedStack(b, cfg, costSetup{}, nil)
	benchDistinct(b, newMCPClient(b, st.server))
	if n := st.sandbox.TotalCalls(); n < b.N {
		b.Fatalf("%d upstream calls for %d calls", n, b.N)
	}
}

// BenchmarkBareDistinctMissCall is the floor for BenchmarkDistinctMissCall:
// a bare mcp-go tool that signs the same request, sends it to the same
// sandbox and returns the typed decoding of its answer.
func BenchmarkBareDistinctMissCall(b *testing.B) {
	clock := testkit.NewClockAt(fixedNow)
	sb := sandbox.New(sandbox.Config{Now: clock.Now})
	hc := &http.Client{Transport: sb.Transport()}
	bare := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false))
	search := tools.Tools(nil, tools.Options{})[0]
	bare.AddTool(search.Tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		company := req.GetString("company", "")
		q := url.Values{"key": {sandbox.DemoAppKey}, "searchKey": {company},
			"isExactlySame": {strconv.FormatBool(req.GetBool("exact", true))},
			"pageSize":      {strconv.Itoa(req.GetInt("page_size", 10))}}
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, qcc.DefaultBaseURL+"/"+qcc.MethodSearch+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		ts, token := qcc.Sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, clock.Now())
		r.Header.Set("Token", token)
		r.Header.Set("Timespan", ts)
		resp, err := hc.Do(r)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		var a struct {
			Status string
			Paging struct{ TotalRecords int }
			Result []struct{ Id, Name, Type, TypeDesc, No, StartDate, EndDate string }
		}
		if err := json.Unmarshal(body, &a); err != nil || a.Status != "200" {
			return mcp.NewToolResultError("bad answer"), nil
		}
		out := map[string]any{"company": company, "total": a.Paging.TotalRecords, "certifications": a.Result}
		text, _ := json.Marshal(out)
		return mcp.NewToolResultStructured(out, string(text)), nil
	})
	benchDistinct(b, newMCPClient(b, bare))
	if n := sb.TotalCalls(); n < b.N {
		b.Fatalf("%d upstream calls for %d calls", n, b.N)
	}
}

func benchDistinct(b *testing.B, c interface {
	CallTool(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error)
}) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		res, err := c.CallTool(ctx, benchSearch(missArgs(i)))
		i++
		if err != nil || res.IsError || res.StructuredContent == nil {
			b.Fatalf("call %d: %v %+v", i, err, res)
		}
	}
}
