package uitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/app"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/tools"
)

// demoCompany has valid, expiring and expired certificates in the sandbox.
const demoCompany = "苏州云帆智能制造股份有限公司"

// checkCompanies are the companies of the check_certifications call: for
// ISO 9001 they give valid, expiring, expired, none found and error rows.
var checkCompanies = []string{
	demoCompany, "杭州青禾软件技术有限公司", "企查查科技有限公司", "深圳市海澜电子科技有限公司",
	"华信创（北京）检测技术有限公司", "北京星河启明商贸有限公司", "sandbox-status-102",
}

// asOf is the server's fixed clock: 10:00 in Beijing on a day when the
// demo company has certificates expiring within expiringWindow (ending
// 2027-03-01 and 2027-04-11) as well as valid and expired ones, and the
// check's only expiring row (华信创, ISO 9001 ending 2027-03-31) is within
// it too.
var asOf = time.Date(2027, 1, 15, 10, 0, 0, 0, qcc.Beijing)

// expiringWindow is the view's "expiring" window for a search result.
const expiringWindow = 90

// deps are the browser and the node modules the test needs.
type deps struct{ chromium, node, modules string }

// findDeps locates chromium, node and the pinned npm packages; without
// them the test skips (one line), or fails when CI is set.
func findDeps(t *testing.T) deps {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; CI requires the browser test (.ci/run installs it)", what)
		}
		t.Skipf("browser test skipped: %s (.ci/run installs it)", what)
	}
	d := deps{chromium: os.Getenv("QCC_CHROMIUM"), modules: os.Getenv("QCC_UITEST_MODULES")}
	if d.chromium == "" {
		d.chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(d.chromium); err != nil {
		missing("no chromium at " + d.chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node on PATH")
	}
	d.node = node
	pins, err := os.ReadFile("npm-packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	if d.modules == "" {
		d.modules = filepath.Join(DefaultModulesDir(pins), "node_modules")
	}
	for _, pin := range strings.Fields(string(pins)) {
		at := strings.LastIndex(pin, "@")
		name, version := pin[:at], pin[at+1:]
		raw, err := os.ReadFile(filepath.Join(d.modules, name, "package.json"))
		if err != nil {
			missing(fmt.Sprintf("npm package %s not installed in %s", pin, d.modules))
		}
		var pkg struct{ Version string }
		if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Version != version {
			missing(fmt.Sprintf("npm package %s installed at version %q", pin, pkg.Version))
		}
	}
	return d
}

// DefaultModulesDir is where .ci/run installs the pinned packages: a cache
// folder named after the pin list, so a changed pin gets a fresh install.
func DefaultModulesDir(pins []byte) string {
	cache := os.Getenv("QCC_CI_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "qcc-mcp-ci")
	}
	sum := sha256.Sum256(pins)
	return filepath.Join(cache, "uitest-"+hex.EncodeToString(sum[:])[:12])
}

// report is what driver.mjs saw.
type report struct {
	Failure   string          `json:"failure"`
	HostLog   json.RawMessage `json:"hostLog"`
	Steps     []string        `json:"steps"`
	Requests  []string        `json:"requests"`
	Console   []struct{ Type, Text string }
	Tools     []struct{ Name, ResourceURI string }
	Resources []struct{ URI, MIMEType string }
	Bars      []struct {
		ID, State, Text, Label string
		BarWidth               float64
	}
	Counts     map[string]string
	Title      string
	TodayLabel string
	Detail     struct {
		Requested, ShownFor, FocusedTitle, FocusBack string
		Summary                                      map[string]string
		Fields                                       int
	}
	Calls       []callParams
	AfterFilter []string
	Theme       struct{ Light, Dark string }
	Narrow      struct{ Width, ScrollWidth int }
	NarrowCheck struct{ Width, ScrollWidth int }
	Sizes       []struct{ Width, Height float64 }
	IframeH     float64 `json:"iframeHeight"`
	Rows        []struct{ Company, Verdict, Text string }
	SortedBy    []string `json:"sortedByCompany"`
	SortState   string
	FilteredOK  []string `json:"filteredValid"`
	CheckDetail string
	CompanyBars int
	CallsTotal  []callParams
	Initialized int
}

type callParams struct {
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

func TestViewInBrowser(t *testing.T) {
	d := findDeps(t)
	artifacts := os.Getenv("QCC_UITEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = "artifacts"
	}
	artifacts, _ = filepath.Abs(artifacts)
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	// The real server in demo mode over HTTP on loopback, and an MCP client
	// of our own to know what the view should show.
	// No pause after the account error that one company of the check
	// triggers, so the calls after it still reach the sandbox.
	// The server's clock stays on asOf, so the valid, expiring and expired
	// states below do not age with the sandbox's dated certificates.
	srv := appserver.Start(t, []string{"--demo", "--credential-cooldown", "0"}, nil, nil,
		app.WithClock(testkit.NewClockAt(asOf).Now))
	c := testkit.StreamableClient(t, srv.URL+"/mcp", mcp.LATEST_PROTOCOL_VERSION)
	var search tools.SearchResult
	structured(t, c, tools.SearchToolName, map[string]any{"company": demoCompany, "max_results": 200}, &search)

	// check_certifications over a supplier list with every kind of row; the
	// browser's host calls it too and gets the same (cached) answer.
	checkArgs := map[string]any{"companies": checkCompanies, "standard": "ISO 9001"}
	var checkWant tools.CheckResult
	structured(t, c, tools.CheckToolName, checkArgs, &checkWant)
	check := map[string]any{"tool": tools.CheckToolName, "arguments": checkArgs}

	// The host page's origin; /mcp goes through to the server.
	bundle := filepath.Join(t.TempDir(), "bridge.js")
	esbuild := exec.Command(filepath.Join(d.modules, ".bin", "esbuild"), "host/entry.js", "--bundle", "--format=esm",
		"--platform=browser", "--log-level=warning", "--outfile="+bundle)
	esbuild.Env = append(os.Environ(), "NODE_PATH="+d.modules)
	if out, err := esbuild.CombinedOutput(); err != nil {
		t.Fatalf("bundling the host page: %v\n%s", err, out)
	}
	target, _ := url.Parse(srv.URL)
	mux := http.NewServeMux()
	mux.Handle("/mcp", httputil.NewSingleHostReverseProxy(target))
	mux.HandleFunc("/host.html", serveFile("host/host.html", "text/html; charset=utf-8"))
	mux.HandleFunc("/host.js", serveFile("host/host.js", "text/javascript"))
	mux.HandleFunc("/bridge.js", serveFile(bundle, "text/javascript"))
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	host := httptest.NewServer(mux)
	defer host.Close()

	checkJSON, _ := json.Marshal(check)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.node, "driver.mjs")
	cmd.Env = append(os.Environ(),
		"UITEST_MODULES="+d.modules, "UITEST_CHROMIUM="+d.chromium, "UITEST_HOST="+host.URL,
		"UITEST_ARTIFACTS="+artifacts, "UITEST_PROFILE="+t.TempDir(), "UITEST_COMPANY="+demoCompany,
		"UITEST_CHECK="+string(checkJSON))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var r report
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &r); jerr != nil {
		t.Fatalf("driver: %v, output %q, stderr %s", err, out, stderr.String())
	}
	if r.Failure != "" {
		t.Fatalf("driver stopped after steps %v: %s\nconsole: %v\nhost log: %s", r.Steps, r.Failure, r.Console, r.HostLog)
	}
	t.Logf("screenshots in %s", artifacts)

	// The host found the view where the extension says.
	for _, name := range []string{tools.SearchToolName, tools.CheckToolName} {
		if i := slices.IndexFunc(r.Tools, func(x struct{ Name, ResourceURI string }) bool { return x.Name == name }); i < 0 || r.Tools[i].ResourceURI != tools.ViewURI {
			t.Errorf("%s as the host saw it: %+v", name, r.Tools)
		}
	}
	if !slices.Contains(r.Resources, struct{ URI, MIMEType string }{tools.ViewURI, tools.ViewMIMEType}) {
		t.Errorf("resources as the host saw them: %+v", r.Resources)
	}

	checkTimeline(t, &r, search)
	checkDetail(t, c, &r)

	// Filters, themes, narrow widths.
	if slices.Contains(r.AfterFilter, "expired") || len(r.AfterFilter) != len(r.Bars)-count(r.Bars, "expired") {
		t.Errorf("with expired filtered out the view shows %v", r.AfterFilter)
	}
	if r.Theme.Light == "" || r.Theme.Light == r.Theme.Dark {
		t.Errorf("background light %q, dark %q: the theme did not follow the host", r.Theme.Light, r.Theme.Dark)
	}
	if r.Narrow.Width > 360 || r.Narrow.ScrollWidth > r.Narrow.Width {
		t.Errorf("at 360 px the view is %d wide and scrolls to %d", r.Narrow.Width, r.Narrow.ScrollWidth)
	}
	if r.NarrowCheck.Width > 360 || r.NarrowCheck.ScrollWidth > r.NarrowCheck.Width {
		t.Errorf("at 360 px the check table is %d wide and scrolls to %d", r.NarrowCheck.Width, r.NarrowCheck.ScrollWidth)
	}
	if len(r.Sizes) == 0 || r.IframeH < 200 {
		t.Errorf("size-changed reports %v; iframe height %.0f", r.Sizes, r.IframeH)
	}

	checkTable(t, &r, checkWant)

	// Nothing left loopback, and nothing went wrong on the way.
	for _, u := range r.Requests {
		p, err := url.Parse(u)
		if u == "about:srcdoc" || strings.HasPrefix(u, "data:") {
			continue
		}
		if err != nil || p.Hostname() != "127.0.0.1" {
			t.Errorf("request left loopback: %s", u)
		}
	}
	for _, m := range r.Console {
		if m.Type == "error" || m.Type == "pageerror" {
			t.Errorf("console %s: %s", m.Type, m.Text)
		} else {
			t.Logf("console %s: %s", m.Type, m.Text)
		}
	}
	if r.Initialized != 2 {
		t.Errorf("the view completed the handshake %d times, want 2 (one per result)", r.Initialized)
	}
}

// checkTimeline: one bar per certificate, in the state the server's status
// and days give, with type and number on it.
func checkTimeline(t *testing.T, r *report, search tools.SearchResult) {
	t.Helper()
	if r.Title != search.Company {
		t.Errorf("title %q, want %q", r.Title, search.Company)
	}
	if len(r.Bars) != len(search.Certifications) || len(r.Bars) < 20 {
		t.Fatalf("%d bars for %d certificates", len(r.Bars), len(search.Certifications))
	}
	want := map[string]tools.CertificationSummary{}
	states := map[string]int{}
	var today string
	for _, c := range search.Certifications {
		want[c.ID] = c
		states[stateOf(c)]++
		if today == "" && c.EndDate != nil && c.DaysUntilExpiry != nil {
			end, _ := time.Parse("2006-01-02", *c.EndDate)
			today = end.AddDate(0, 0, -*c.DaysUntilExpiry).Format("2006-01-02")
		}
	}
	if want := asOf.Format("2006-01-02"); today != want {
		t.Fatalf("the server's today is %q, want the fixed clock's %s", today, want)
	}
	if states["expired"] == 0 || states["expiring"] == 0 || states["valid"] == 0 {
		t.Fatalf("the demo company's certificates by state %v: want valid, expiring and expired ones", states)
	}
	for _, b := range r.Bars {
		c, ok := want[b.ID]
		if !ok {
			t.Errorf("bar for unknown certificate %q", b.ID)
			continue
		}
		if b.State != stateOf(c) {
			t.Errorf("%s (%s, %v days): bar state %q, want %q", c.Number, c.Status, deref(c.DaysUntilExpiry), b.State, stateOf(c))
		}
		if !strings.Contains(b.Text, c.TypeDescription) || !strings.Contains(b.Text, c.Number) || b.BarWidth < 2 {
			t.Errorf("bar %q lacks type or number (%s %s) or is %.1f px wide", b.Text, c.TypeDescription, c.Number, b.BarWidth)
		}
		// The state in words, not by colour alone.
		words := map[string]string{"expired": "Expired", "expiring": "Expiring in", "valid": "Valid", "unknown": "No end date"}[b.State]
		if !strings.Contains(b.Text, words) || !strings.Contains(b.Label, words) {
			t.Errorf("bar %q / label %q does not say %q", b.Text, b.Label, words)
		}
		if b.State == "expiring" && !strings.Contains(b.Text, fmt.Sprintf("Expiring in %d days", *c.DaysUntilExpiry)) {
			t.Errorf("expiring bar %q does not give the server's %d days", b.Text, *c.DaysUntilExpiry)
		}
	}
	for s, n := range states {
		if !strings.HasSuffix(r.Counts[s], fmt.Sprintf(": %d", n)) {
			t.Errorf("summary for %s: %q, want %d", s, r.Counts[s], n)
		}
	}
	if !strings.Contains(r.TodayLabel, today) {
		t.Errorf("today line labelled %q, want the server's today %s", r.TodayLabel, today)
	}
}

// checkDetail: Enter on an expired bar fetched its record through the host
// and the view shows what the detail tool returns.
func checkDetail(t *testing.T, c *client.Client, r *report) {
	t.Helper()
	var detail struct {
		Certificate tools.CertificateSummary
		Fields      map[string]any
	}
	structured(t, c, tools.DetailToolName, map[string]any{"cert_id": r.Detail.Requested}, &detail)
	fields := detail.Fields
	if r.Detail.ShownFor != r.Detail.Requested || r.Detail.Summary["number"] != detail.Certificate.Number ||
		r.Detail.Summary["holder"] != detail.Certificate.Holder || r.Detail.Fields != len(fields) || len(fields) < 5 {
		t.Errorf("detail shown %+v; the tool says number %q holder %q and %d fields",
			r.Detail, detail.Certificate.Number, detail.Certificate.Holder, len(fields))
	}
	wantCall := callParams{Name: tools.DetailToolName, Arguments: map[string]any{"cert_id": r.Detail.Requested}}
	if len(r.Calls) != 1 || r.Calls[0].Name != wantCall.Name || r.Calls[0].Arguments["cert_id"] != r.Detail.Requested {
		t.Errorf("calls through the bridge %+v, want %+v", r.Calls, wantCall)
	}
	if r.Detail.FocusedTitle != "detail-title" || r.Detail.FocusBack != r.Detail.Requested {
		t.Errorf("focus: on the record %q, back after Escape %q", r.Detail.FocusedTitle, r.Detail.FocusBack)
	}
}

// checkTable: one row per company with the server's verdict; sorting and
// the verdict filter work; a best certificate opens its record.
func checkTable(t *testing.T, r *report, want tools.CheckResult) {
	t.Helper()
	if len(r.Rows) != len(want.Companies) || len(r.Rows) != len(checkCompanies) {
		t.Fatalf("%d rows for %d companies: %+v", len(r.Rows), len(want.Companies), r.Rows)
	}
	verdicts := map[string]string{}
	bests := map[string]bool{}
	kinds := map[string]bool{}
	valid := 0
	for _, co := range want.Companies {
		verdicts[co.Company] = co.Verdict
		kinds[co.Verdict] = true
		if co.Best != nil {
			bests[co.Best.ID] = true
		}
		if co.Verdict == "valid" {
			valid++
		}
	}
	for _, k := range []string{"valid", "expiring", "expired", "none_found", "error"} {
		if !kinds[k] {
			t.Errorf("no %s row among the verdicts %v", k, verdicts)
		}
	}
	for _, row := range r.Rows {
		if row.Verdict != verdicts[row.Company] {
			t.Errorf("row %s: verdict %q, want %q", row.Company, row.Verdict, verdicts[row.Company])
		}
		if row.Text == "" {
			t.Errorf("row %s has no verdict text", row.Company)
		}
	}
	if r.SortState != "ascending" || len(r.SortedBy) != len(r.Rows) {
		t.Errorf("after sorting by company: %q %v", r.SortState, r.SortedBy)
	}
	if len(r.FilteredOK) != valid || slices.ContainsFunc(r.FilteredOK, func(v string) bool { return v != "valid" }) {
		t.Errorf("filtered to valid: %v, want %d valid rows", r.FilteredOK, valid)
	}
	if !bests[r.CheckDetail] {
		t.Errorf("record opened from the table: %q, want a best certificate", r.CheckDetail)
	}
	if r.CompanyBars == 0 {
		t.Error("a company's certificates did not open as a timeline")
	}
}

func stateOf(c tools.CertificationSummary) string {
	switch {
	case c.Status == "expired":
		return "expired"
	case c.Status == "valid" && c.DaysUntilExpiry != nil && *c.DaysUntilExpiry <= expiringWindow:
		return "expiring"
	case c.Status == "valid":
		return "valid"
	}
	return "unknown"
}

func count(bars []struct {
	ID, State, Text, Label string
	BarWidth               float64
}, state string) int {
	n := 0
	for _, b := range bars {
		if b.State == state {
			n++
		}
	}
	return n
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func serveFile(path, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		b, err := os.ReadFile(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(b)
	}
}

// structured calls a tool and decodes its structured content into v.
func structured(t *testing.T, c *client.Client, tool string, args map[string]any, v any) *mcp.CallToolResult {
	t.Helper()
	res, err := testkit.CallTool(c, tool, args)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError {
		t.Fatalf("%s: %s", tool, testkit.ResultText(res))
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
	return res
}
