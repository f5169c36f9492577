package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// fixedNow is the sandbox clock in tests; requests are signed at it.
var fixedNow = time.Date(2026, 11, 27, 10, 30, 0, 0, qcc.Beijing)

func newSandbox(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	return sandbox.New(sandbox.Config{Now: func() time.Time { return fixedNow }})
}

// target is one way of reaching a sandbox: over a socket or in process.
type target struct {
	name   string
	client *http.Client
	base   string
}

// targets returns the sandbox behind httptest.NewServer (with QCC's
// /api/yj prefix) and behind its Transport (with the other base URL).
func targets(t testing.TB, s *sandbox.Sandbox) []target {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return []target{
		{"httptest", srv.Client(), srv.URL + "/api/yj"},
		{"transport", &http.Client{Transport: s.Transport()}, "https://api.qichacha.com"},
	}
}

// newRequest builds a request signed with the demo keys at fixedNow, as a
// client would.
func newRequest(t testing.TB, ctx context.Context, base, method string, params url.Values) *http.Request {
	t.Helper()
	q := url.Values{"key": {sandbox.DemoAppKey}}
	for k, v := range params {
		q[k] = v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+method+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, token := qcc.Sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, fixedNow)
	req.Header.Set("Timespan", ts)
	req.Header.Set("Token", token)
	return req
}

// answer is a response read whole, with its envelope decoded when the
// body is JSON.
type answer struct {
	HTTPStatus int
	Header     http.Header
	Body       []byte
	Fields     map[string]json.RawMessage // top-level keys of the envelope
	Env        envelope
}

type envelope struct {
	Paging      *paging
	Result      json.RawMessage
	Status      *string
	Message     *string
	OrderNumber *string
}

type paging struct{ PageSize, PageIndex, TotalRecords int }

type item struct {
	Id, Name, Type, StartDate string
	EndDate                   *string
	No, TypeDesc              string
}

func (a answer) status() string {
	if a.Env.Status == nil {
		return "<nil>"
	}
	return *a.Env.Status
}

func (a answer) items(t testing.TB) []item {
	t.Helper()
	var items []item
	if err := json.Unmarshal(a.Env.Result, &items); err != nil {
		t.Fatalf("Result is not a list of items: %v\n%s", err, a.Body)
	}
	return items
}

func do(t testing.TB, tg target, req *http.Request) answer {
	t.Helper()
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", tg.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading body: %v", tg.name, err)
	}
	a := answer{HTTPStatus: resp.StatusCode, Header: resp.Header, Body: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Valid(body) {
		if err := json.Unmarshal(body, &a.Fields); err != nil {
			t.Fatalf("%s: %v", tg.name, err)
		}
		if err := json.Unmarshal(body, &a.Env); err != nil {
			t.Fatalf("%s: %v", tg.name, err)
		}
	}
	return a
}

// get sends a signed GET of method with params.
func get(t testing.TB, tg target, method string, params url.Values) answer {
	t.Helper()
	return do(t, tg, newRequest(t, context.Background(), tg.base, method, params))
}

func search(t testing.TB, tg target, kv ...string) answer {
	t.Helper()
	return get(t, tg, qcc.MethodSearch, values(kv...))
}

func detail(t testing.TB, tg target, certID string) answer {
	t.Helper()
	return get(t, tg, qcc.MethodDetail, url.Values{"certId": {certID}})
}

func values(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// wantStatus checks an HTTP 200 JSON answer with the given QCC status and
// the document's message for it.
func wantStatus(t testing.TB, a answer, code string) {
	t.Helper()
	if a.HTTPStatus != http.StatusOK {
		t.Fatalf("HTTP %d, want 200; body %.300s", a.HTTPStatus, a.Body)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if a.status() != code {
		t.Fatalf("Status %s, want %s; body %.300s", a.status(), code, a.Body)
	}
	if string(a.Fields["Status"]) != `"`+code+`"` {
		t.Errorf("Status is not a JSON string: %s", a.Fields["Status"])
	}
	if n, err := strconv.Atoi(code); err == nil {
		if info, ok := qcc.LookupStatus(n); ok && (a.Env.Message == nil || *a.Env.Message != info.Message) {
			t.Errorf("Message %v, want %q", a.Env.Message, info.Message)
		}
	}
	if code != "200" {
		if string(a.Fields["OrderNumber"]) != "null" {
			t.Errorf("OrderNumber %s, want null", a.Fields["OrderNumber"])
		}
		if _, ok := a.Fields["Result"]; ok {
			t.Errorf("error answer has a Result: %s", a.Body)
		}
	}
}
