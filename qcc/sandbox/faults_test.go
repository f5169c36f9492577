package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

var methods = []struct{ method, param string }{
	{qcc.MethodSearch, "searchKey"},
	{qcc.MethodDetail, "certId"},
}

func TestTriggers(t *testing.T) {
	t.Parallel()
	s := sandbox.New(sandbox.Config{Now: func() time.Time { return fixedNow }, SlowCap: slowCap})
	tests := []struct {
		value string
		check func(t *testing.T, method string, a answer)
	}{
		{"sandbox-status-110", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "110") }},
		{"sandbox-status-102", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "102") }},
		{"sandbox-status-201", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "201") }},
		{"sandbox-status-299", func(t *testing.T, _ string, a answer) {
			wantStatus(t, a, "299")
			if a.Env.Message == nil || *a.Env.Message == "" {
				t.Error("an undocumented status needs a Message too")
			}
		}},
		{"sandbox-status-200", func(t *testing.T, method string, a answer) {
			wantStatus(t, a, "200")
			if a.Env.OrderNumber == nil {
				t.Error("a success has an OrderNumber")
			}
			if method == qcc.MethodSearch {
				if string(a.Env.Result) != "[]" || a.Env.Paging == nil || a.Env.Paging.TotalRecords != 0 {
					t.Errorf("empty success: %s", a.Body)
				}
			} else if !bytes.Contains(a.Env.Result, []byte(`"Data":{}`)) {
				t.Errorf("empty success: %s", a.Body)
			}
		}},
		{"sandbox-http-502", func(t *testing.T, _ string, a answer) {
			if a.HTTPStatus != http.StatusBadGateway || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") ||
				!bytes.Contains(a.Body, []byte("<title>502 Bad Gateway</title>")) {
				t.Errorf("HTTP %d %s: %s", a.HTTPStatus, a.Header.Get("Content-Type"), a.Body)
			}
		}},
		{"sandbox-http-429", func(t *testing.T, _ string, a answer) {
			if a.HTTPStatus != http.StatusTooManyRequests || !bytes.Contains(a.Body, []byte("429 Too Many Requests")) {
				t.Errorf("HTTP %d: %s", a.HTTPStatus, a.Body)
			}
		}},
		{"sandbox-http-200", func(t *testing.T, _ string, a answer) {
			if a.HTTPStatus != http.StatusOK || json.Valid(a.Body) {
				t.Errorf("HTTP %d: %s", a.HTTPStatus, a.Body)
			}
		}},
		{"sandbox-malformed", func(t *testing.T, _ string, a answer) {
			if a.HTTPStatus != http.StatusOK || a.Header.Get("Content-Type") != "application/json; charset=utf-8" || json.Valid(a.Body) {
				t.Errorf("HTTP %d %s valid=%v: %s", a.HTTPStatus, a.Header.Get("Content-Type"), json.Valid(a.Body), a.Body)
			}
		}},
		{"sandbox-large", func(t *testing.T, _ string, a answer) {
			if a.HTTPStatus != http.StatusOK || len(a.Body) <= 5<<20 || !json.Valid(a.Body) {
				t.Fatalf("HTTP %d, %d bytes, valid=%v", a.HTTPStatus, len(a.Body), json.Valid(a.Body))
			}
			if a.Header.Get("Content-Length") != "" {
				t.Errorf("Content-Length %s, want none", a.Header.Get("Content-Length"))
			}
			wantStatus(t, a, "200")
		}},
		{"sandbox-slow-30ms", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "201") }},
		{"sandbox-slow-1h", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "201") }}, // capped at slowCap
		// Not triggers: answered as ordinary arguments.
		{"sandbox-http-99", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "201") }},
		{"sandbox-slow-soon", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "201") }},
		{"sandbox-status-abc", func(t *testing.T, _ string, a answer) { wantStatus(t, a, "201") }},
	}
	for _, tg := range targets(t, s) {
		for _, m := range methods {
			for _, tt := range tests {
				t.Run(tg.name+"/"+m.method+"/"+tt.value, func(t *testing.T) {
					start := time.Now()
					a := get(t, tg, m.method, url.Values{m.param: {tt.value}})
					elapsed := time.Since(start)
					tt.check(t, m.method, a)
					// A delay below the cap is kept (and not raised to the
					// cap); a longer one is cut to the cap, not beyond.
					if d, ok := wantDelay[tt.value]; ok && (elapsed < d.lo || elapsed >= d.hi) {
						t.Errorf("answered after %v, want %v to %v", elapsed, d.lo, d.hi)
					}
				})
			}
		}
	}
}

// slowCap is the sandbox's cap on sandbox-slow-DURATION in these tests.
const slowCap = 500 * time.Millisecond

// wantDelay bounds how long each slow trigger takes to answer.
var wantDelay = map[string]struct{ lo, hi time.Duration }{
	"sandbox-slow-30ms": {30 * time.Millisecond, slowCap},
	"sandbox-slow-1h":   {slowCap, slowCap + 2*time.Second},
}

func TestTriggerTruncated(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t, newSandbox(t)) {
		for _, m := range methods {
			t.Run(tg.name+"/"+m.method, func(t *testing.T) {
				req := newRequest(t, context.Background(), tg.base, m.method, url.Values{m.param: {"sandbox-truncated"}})
				resp, err := tg.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("reading the body: %v, want io.ErrUnexpectedEOF", err)
				}
				if resp.StatusCode != http.StatusOK || resp.ContentLength <= int64(len(body)) || len(body) == 0 {
					t.Errorf("HTTP %d, Content-Length %d, %d bytes read", resp.StatusCode, resp.ContentLength, len(body))
				}
				if !bytes.HasPrefix(body, []byte(`{"`)) || json.Valid(body) {
					t.Errorf("want the start of a JSON answer: %s", body)
				}
			})
		}
	}
}

func TestTriggersNeedAuth(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	for _, tg := range targets(t, s) {
		for _, v := range []string{"sandbox-status-110", "sandbox-http-502", "sandbox-malformed", "sandbox-slow-1h"} {
			req := newRequest(t, context.Background(), tg.base, qcc.MethodSearch, values("searchKey", v))
			req.Header.Set("Token", "bad")
			wantStatus(t, do(t, tg, req), "107")
		}
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	tgs := targets(t, s)
	tg := tgs[1] // in process: FailNext does not depend on the transport
	docSearch := func() answer { return search(t, tg, "searchKey", docCompany) }

	s.FailNext(qcc.MethodSearch, 2, sandbox.Fault{QCCStatus: 120})
	wantStatus(t, detail(t, tg, docCertID), "200") // other method unaffected
	wantStatus(t, docSearch(), "120")
	wantStatus(t, docSearch(), "120")
	wantStatus(t, docSearch(), "200")
	if got := s.Calls(qcc.MethodSearch); got != 3 {
		t.Errorf("Calls(search) %d, want 3", got)
	}

	// Faults queue in order and come before authentication.
	s.FailNext(qcc.MethodSearch, 1, sandbox.Fault{HTTPStatus: 503})
	s.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 200})
	bad := newRequest(t, context.Background(), tg.base, qcc.MethodSearch, values("searchKey", docCompany))
	bad.Header.Del("Token")
	if a := do(t, tg, bad); a.HTTPStatus != http.StatusServiceUnavailable || !bytes.Contains(a.Body, []byte("503 Service Unavailable")) {
		t.Errorf("HTTP %d %s", a.HTTPStatus, a.Body)
	}
	if a := docSearch(); a.status() != "200" || string(a.Env.Result) != "[]" {
		t.Errorf("want an empty success: %s", a.Body)
	}
	wantStatus(t, docSearch(), "200")

	// n <= 0 clears the queue.
	s.FailNext(qcc.MethodSearch, 5, sandbox.Fault{QCCStatus: 199})
	s.FailNext(qcc.MethodSearch, 0, sandbox.Fault{})
	wantStatus(t, docSearch(), "200")

	// The other kinds of fault, over both targets.
	for _, tg := range tgs {
		s.FailNext(qcc.MethodDetail, 1, sandbox.Fault{Malformed: true})
		if a := detail(t, tg, docCertID); a.HTTPStatus != http.StatusOK || json.Valid(a.Body) {
			t.Errorf("%s: Malformed: %s", tg.name, a.Body)
		}
		s.FailNext(qcc.MethodDetail, 1, sandbox.Fault{Large: true})
		if a := detail(t, tg, docCertID); len(a.Body) <= 5<<20 || !json.Valid(a.Body) {
			t.Errorf("%s: Large: %d bytes", tg.name, len(a.Body))
		}
		s.FailNext(qcc.MethodDetail, 1, sandbox.Fault{Truncated: true})
		resp, err := tg.client.Do(newRequest(t, context.Background(), tg.base, qcc.MethodDetail, values("certId", docCertID)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: Truncated: %v", tg.name, err)
		}
		resp.Body.Close()

		s.FailNext(qcc.MethodDetail, 1, sandbox.Fault{Delay: 30 * time.Millisecond})
		start := time.Now()
		wantStatus(t, detail(t, tg, docCertID), "200") // a delay alone answers normally
		if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
			t.Errorf("%s: Delay: answered after %v", tg.name, elapsed)
		}
		s.FailNext(qcc.MethodDetail, 1, sandbox.Fault{Delay: 10 * time.Millisecond, QCCStatus: 205})
		wantStatus(t, detail(t, tg, docCertID), "205")
	}
}

func TestFailNextRejectsBadHTTPStatus(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("FailNext with HTTPStatus 600 did not panic")
		}
	}()
	newSandbox(t).FailNext(qcc.MethodSearch, 1, sandbox.Fault{HTTPStatus: 600})
}

func TestCalls(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	tg := targets(t, s)[0]
	search(t, tg, "searchKey", docCompany)           // success
	search(t, tg, "searchKey", "sandbox-status-110") // trigger
	search(t, tg, "searchKey", "x")                  // 213
	detail(t, tg, docCertID)                         // success
	get(t, tg, "ECICertification/Unknown", nil)      // 404: not counted
	req := newRequest(t, context.Background(), tg.base, qcc.MethodDetail, values("certId", docCertID))
	req.Header.Set("Timespan", "0")
	do(t, tg, req) // 115
	if got := s.Calls(qcc.MethodSearch); got != 3 {
		t.Errorf("Calls(search) %d, want 3", got)
	}
	if got := s.Calls(qcc.MethodDetail); got != 2 {
		t.Errorf("Calls(detail) %d, want 2", got)
	}
	if got := s.TotalCalls(); got != 5 {
		t.Errorf("TotalCalls %d, want 5", got)
	}
	if got := s.Calls("ECICertification/Unknown"); got != 0 {
		t.Errorf("Calls(unknown) %d", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	tgs := targets(t, s)
	const perTarget = 40
	s.FailNext(qcc.MethodDetail, perTarget, sandbox.Fault{QCCStatus: 120})
	var wg sync.WaitGroup
	orders := make(chan string, 4*perTarget)
	for _, tg := range tgs {
		for i := range perTarget {
			wg.Go(func() {
				a := search(t, tg, "searchKey", bigCompany, "pageIndex", "2")
				if a.status() != "200" {
					t.Errorf("search: %s", a.status())
				}
				orders <- *a.Env.OrderNumber
				d := detail(t, tg, docCertID)
				if d.status() != "200" && d.status() != "120" {
					t.Errorf("detail %d: %s", i, d.status())
				}
			})
		}
	}
	wg.Wait()
	close(orders)
	seen := map[string]bool{}
	for o := range orders {
		if seen[o] {
			t.Errorf("OrderNumber %s given twice", o)
		}
		seen[o] = true
	}
	if got, want := s.Calls(qcc.MethodSearch), 2*perTarget; got != want {
		t.Errorf("Calls(search) %d, want %d", got, want)
	}
	if got, want := s.TotalCalls(), 4*perTarget; got != want {
		t.Errorf("TotalCalls %d, want %d", got, want)
	}
	// Exactly perTarget detail requests took the queued faults.
	if a := detail(t, tgs[0], docCertID); a.status() != "200" {
		t.Errorf("fault queue not drained: %s", a.status())
	}
}
