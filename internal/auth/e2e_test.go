package auth_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/auth/authtest"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit/appserver"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// usageOf reads qcc://usage as c's caller sees it.
func usageOf(t *testing.T, c *client.Client) (total int, caller map[string]any) {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = "qcc://usage"
	res, err := c.ReadResource(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var u struct {
		UpstreamCalls int            `json:"upstream_calls"`
		Caller        map[string]any `json:"caller"`
	}
	if err := json.Unmarshal([]byte(res.Contents[0].(mcp.TextResourceContents).Text), &u); err != nil {
		t.Fatal(err)
	}
	return u.UpstreamCalls, u.Caller
}

func search(t *testing.T, c *client.Client, company string) *mcp.CallToolResult {
	t.Helper()
	res, err := testkit.CallTool(c, "search_certifications", map[string]any{"company": company})
	if err != nil {
		t.Fatalf("search %s: %v", company, err)
	}
	return res
}

// TestOAuthAndNamedTokensEndToEnd runs the whole server (demo sandbox)
// behind OAuth and named static tokens, with a per-caller cap of one QCC
// call a day, and connects the mcp-go client with real signed tokens.
func TestOAuthAndNamedTokensEndToEnd(t *testing.T) {
	as := authtest.New(t, false)
	as.AddKey(t, "k1", "ec", true)
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("alice tok-alice-0123456789\nbob tok-bob-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testkit.SyncBuffer{}
	srv := appserver.Start(t, []string{"--demo", "--oauth-issuer", as.Issuer, "--resource-url", authtest.Resource,
		"--oauth-scope", "qcc", "--auth-token-file", tokens, "--max-calls-per-client-per-day", "1"},
		nil, slog.New(slog.NewJSONHandler(logs, nil)))
	testkit.WaitFor(t, "/readyz to answer 200 once the keys are loaded", func() bool {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	// Without a token: 401 pointing at the metadata, which names the issuer.
	resp, err := http.Post(srv.URL+"/mcp", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.Contains(challenge, `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`) {
		t.Fatalf("no token: %d %q", resp.StatusCode, challenge)
	}
	resp, err = http.Get(srv.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Resource string   `json:"resource"`
		Servers  []string `json:"authorization_servers"`
	}
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta.Resource != authtest.Resource || len(meta.Servers) != 1 || meta.Servers[0] != as.Issuer {
		t.Fatalf("metadata %+v", meta)
	}

	connect := func(token string) *client.Client {
		return testkit.StreamableClient(t, srv.URL+"/mcp", mcp.ProtocolVersion20250618,
			transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	claims := as.Claims(time.Now())
	oauthToken := as.Mint(t, "k1", jose.ES256, claims)
	companies := sandbox.Companies()

	user := connect(oauthToken)
	alice := connect("tok-alice-0123456789")
	bob := connect("tok-bob-0123456789")

	if res := search(t, user, companies[0]); res.IsError {
		t.Fatalf("oauth caller: %s", testkit.ResultText(res))
	}
	// Its cap of one is spent: a new question is refused locally...
	res := search(t, user, companies[1])
	if !res.IsError || !strings.Contains(testkit.ResultText(res), "per caller") {
		t.Fatalf("oauth caller past its cap: %s", testkit.DescribeCall("", res, nil))
	}
	// ...while what it asked before is still answered from the cache.
	if res := search(t, user, companies[0]); res.IsError {
		t.Fatalf("cached answer refused: %s", testkit.ResultText(res))
	}
	// The certificate template reaches QCC too: it is capped the same way.
	var first struct {
		Certifications []struct{ ID string } `json:"certifications"`
	}
	raw, _ := json.Marshal(search(t, user, companies[0]).StructuredContent)
	json.Unmarshal(raw, &first)
	read := mcp.ReadResourceRequest{}
	read.Params.URI = "qcc://certificates/" + first.Certifications[0].ID
	if _, err := user.ReadResource(t.Context(), read); err == nil || !strings.Contains(err.Error(), "per caller") {
		t.Fatalf("template past the cap: %v", err)
	}
	// Other callers still get through, each up to its own cap.
	if res := search(t, alice, companies[1]); res.IsError {
		t.Fatalf("alice: %s", testkit.ResultText(res))
	}
	if res := search(t, bob, companies[2]); res.IsError {
		t.Fatalf("bob: %s", testkit.ResultText(res))
	}
	if res := search(t, alice, companies[3]); !res.IsError {
		t.Fatal("alice got past her cap")
	}

	// qcc://usage: the totals, and each caller's own share.
	total, mine := usageOf(t, user)
	if total != 3 {
		t.Fatalf("QCC calls %d, want exactly 3 (one per caller)", total)
	}
	if mine["name"] != "user-42" || mine["kind"] != "oauth" || mine["client_id"] != "claude" ||
		mine["upstream_calls_today"] != 1.0 || mine["limit_per_day"] != 1.0 || mine["left_today"] != 0.0 {
		t.Fatalf("oauth caller's usage %v", mine)
	}
	if _, a := usageOf(t, alice); a["name"] != "alice" || a["kind"] != "static" || a["upstream_calls_today"] != 1.0 {
		t.Fatalf("alice's usage %v", a)
	}

	// Metrics: callers as a bounded label.
	m := testkit.Scrape(t, srv.URL+"/metrics", map[string]string{"Authorization": "Bearer tok-bob-0123456789"})
	if m[`qcc_mcp_tool_calls_by_caller_total{caller="oauth"}`] != 4 || m[`qcc_mcp_tool_calls_by_caller_total{caller="alice"}`] != 2 ||
		m[`qcc_mcp_tool_calls_by_caller_total{caller="bob"}`] != 1 {
		t.Fatalf("caller metrics: oauth %v alice %v bob %v", m[`qcc_mcp_tool_calls_by_caller_total{caller="oauth"}`],
			m[`qcc_mcp_tool_calls_by_caller_total{caller="alice"}`], m[`qcc_mcp_tool_calls_by_caller_total{caller="bob"}`])
	}

	// The logs name the callers on access lines, and on the line of a
	// tools/call request, which also names the call's outcome (the tools
	// write no second line for it); never a token.
	var sawAccess, sawTool bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"caller":{"name":"user-42","kind":"oauth","client":"claude"}`) {
			sawAccess = sawAccess || strings.Contains(line, `"msg":"http request"`)
			sawTool = sawTool || strings.Contains(line, `"msg":"http request"`) &&
				strings.Contains(line, `"tool":"search_certifications"`) && strings.Contains(line, `"outcome":"ok"`)
		}
	}
	if !sawAccess || !sawTool {
		t.Fatalf("caller missing from access (%v) or tool-call (%v) lines:\n%s", sawAccess, sawTool, logs.String())
	}
	if strings.Contains(logs.String(), `"msg":"tool call"`) {
		t.Fatalf("a tool call over streamable HTTP logged a second line:\n%s", logs.String())
	}
	for _, secret := range []string{oauthToken, "tok-alice", "tok-bob"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a token reached the log")
		}
	}
}
