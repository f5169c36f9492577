package testkit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Initialize initializes c with the given protocol version.
func Initialize(t testing.TB, c *client.Client, version string) *mcp.InitializeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = version
	req.Params.ClientInfo = mcp.Implementation{Name: "testkit", Version: "1"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatalf("initialize %s: %v", version, err)
	}
	return res
}

// StreamableClient connects a streamable HTTP client to url, initializes
// it with the given protocol version and closes it when the test ends.
func StreamableClient(t testing.TB, url, version string, opts ...transport.StreamableHTTPCOption) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(version))
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	Initialize(t, c, version)
	return c
}

// CallTool calls a tool with a generous deadline; safe from any goroutine.
func CallTool(c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

// ResultText joins the text blocks of a result.
func ResultText(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	for _, content := range res.Content {
		if tc, ok := content.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// DocCompany is the vendor document's example company; the sandbox (and
// so --demo) holds its 5 certificates.
const DocCompany = "企查查科技有限公司"

// SearchDemo calls search_certifications for DocCompany and checks that
// the answer holds certificates marked as demo data.
func SearchDemo(t testing.TB, c *client.Client) {
	t.Helper()
	res, err := CallTool(c, "search_certifications", map[string]any{"company": DocCompany})
	if err != nil || res.IsError {
		t.Fatalf("search: %s", DescribeCall("", res, err))
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var out struct {
		Total          int
		Certifications []struct{ ID string }
		Source         struct{ Demo bool }
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Total == 0 || len(out.Certifications) == 0 || !out.Source.Demo {
		t.Fatalf("search result %s: want certificates marked as demo", raw)
	}
}

// DescribeCall renders a call's whole result (or error) for transcripts
// and failure messages.
func DescribeCall(what string, res *mcp.CallToolResult, err error) string {
	if err != nil {
		return fmt.Sprintf("%s: error: %v\n", what, err)
	}
	raw, _ := json.Marshal(res)
	return fmt.Sprintf("%s: %s\n", what, raw)
}

// Scrape fetches a Prometheus page and returns its samples by series, e.g.
// `qcc_mcp_cache_total{result="hit"}` (labels in Prometheus's sorted order).
func Scrape(t testing.TB, url string, header map[string]string) map[string]float64 {
	t.Helper()
	resp := Request(t, context.Background(), http.MethodGet, url, "", header)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// WaitForMetric polls a Prometheus page until series has the value want.
func WaitForMetric(t testing.TB, url string, header map[string]string, series string, want float64) {
	t.Helper()
	WaitFor(t, fmt.Sprintf("%s to become %v", series, want), func() bool {
		if v, ok := Scrape(t, url, header)[series]; ok && v == want {
			return true
		}
		time.Sleep(10 * time.Millisecond) // a scrape is not free
		return false
	})
}

// LogField waits until the log in buf has a field name=value whose value
// is not a ":0" port, and returns the value (a listen address, say).
func LogField(t testing.TB, buf *SyncBuffer, name string) string {
	t.Helper()
	var v string
	WaitFor(t, "the log field "+name, func() bool {
		for _, f := range strings.Fields(buf.String()) {
			if a, ok := strings.CutPrefix(f, name+"="); ok && !strings.HasSuffix(a, ":0") {
				v = a
				return true
			}
		}
		return false
	})
	return v
}

// AwaitSlowCall waits for a slow call run on another goroutine, which
// reports "" on success or what went wrong.
func AwaitSlowCall(t testing.TB, done <-chan string) {
	t.Helper()
	select {
	case msg := <-done:
		if msg != "" {
			t.Errorf("slow call: %s", msg)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the slow call did not end within 60 s")
	}
}
