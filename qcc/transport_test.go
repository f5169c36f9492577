package qcc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// failureCase is one way a request can fail below the QCC status level.
type failureCase struct {
	name string
	// handler serves the request; nil means the test server is not used
	// (see baseURL).
	handler http.HandlerFunc
	// baseURL, when set, replaces the test server's URL.
	baseURL func(t *testing.T) string
	opts    []Option
	// ctx derives the caller's context; nil uses the test's context.
	ctx func(parent context.Context) (context.Context, context.CancelFunc)
	// detail calls GetCertificationDetailByID instead of SearchCertification.
	detail bool

	kind       Kind
	retryable  bool
	httpStatus int
	// noRequest asserts that nothing reached the server.
	noRequest bool
	check     func(t *testing.T, e *Error)
}

// blockUntilGone holds a request until the client goes away; the bound
// keeps a broken test from hanging srv.Close forever.
func blockUntilGone(arrived chan<- struct{}) http.HandlerFunc {
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			once.Do(func() { close(arrived) })
		}
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}
}

// hijack writes raw bytes on the connection and closes it, for answers
// net/http would not produce on its own.
func hijack(raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		buf.WriteString(raw)
		buf.Flush()
	}
}

func status(code int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

// failureCases returns fresh cases (some hold channels) on every call.
func failureCases() []failureCase {
	arrived := make(chan struct{})
	nginx502 := `<html>
<head><title>502 Bad Gateway</title><style>body{color:red}</style></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx/1.18.0</center>
<script>var secret = "x";</script></body></html>`
	return []failureCase{
		{
			name: "connection refused",
			baseURL: func(t *testing.T) string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				ln.Close()
				return "http://" + addr + "/api/yj"
			},
			kind: KindNetwork, retryable: true,
			check: func(t *testing.T, e *Error) {
				if !e.Retry.Soon() || e.Err == nil || !strings.Contains(e.Action, "network access to the QCC API") {
					t.Errorf("got %+v", *e)
				}
			},
		},
		{
			name:    "server closes without answering",
			handler: hijack(""),
			kind:    KindNetwork, retryable: true,
		},
		{
			name:    "client timeout before the headers",
			handler: blockUntilGone(nil),
			opts:    []Option{WithTimeout(100 * time.Millisecond)},
			kind:    KindTimeout, retryable: true,
			check: func(t *testing.T, e *Error) {
				if !e.Retry.Soon() || !strings.Contains(e.Message, "100ms") || errors.Is(e, context.Canceled) {
					t.Errorf("got %+v", *e)
				}
			},
		},
		{
			name: "client timeout while reading the body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000")
				fmt.Fprint(w, `{"Status":"200","Result":[`)
				http.NewResponseController(w).Flush()
				blockUntilGone(nil)(w, r)
			},
			opts: []Option{WithTimeout(200 * time.Millisecond)},
			kind: KindTimeout, retryable: true,
		},
		{
			name:    "timeout of a caller-supplied http.Client",
			handler: blockUntilGone(nil),
			opts:    []Option{WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond})},
			kind:    KindTimeout, retryable: true,
		},
		{
			name:    "caller cancels while waiting",
			handler: blockUntilGone(arrived),
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(parent)
				go func() {
					select {
					case <-arrived:
					case <-ctx.Done():
					}
					cancel()
				}()
				return ctx, cancel
			},
			kind: KindCanceled,
			check: func(t *testing.T, e *Error) {
				if !errors.Is(e, context.Canceled) {
					t.Errorf("errors.Is(err, context.Canceled) is false for %v", e)
				}
			},
		},
		{
			name:    "caller's deadline passes",
			handler: blockUntilGone(nil),
			opts:    []Option{WithTimeout(time.Minute)},
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(parent, 100*time.Millisecond)
			},
			kind: KindCanceled,
			check: func(t *testing.T, e *Error) {
				if !errors.Is(e, context.DeadlineExceeded) {
					t.Errorf("errors.Is(err, context.DeadlineExceeded) is false for %v", e)
				}
			},
		},
		{
			name:    "context already canceled",
			handler: replyJSON(searchOK),
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(parent)
				cancel()
				return ctx, cancel
			},
			kind: KindCanceled, noRequest: true,
			check: func(t *testing.T, e *Error) {
				if !errors.Is(e, context.Canceled) || e.Method != MethodSearch || e.URL == "" {
					t.Errorf("got %+v", *e)
				}
			},
		},
		{
			name:    "502 with an HTML page",
			handler: status(http.StatusBadGateway, map[string]string{"Content-Type": "text/html"}, nginx502),
			kind:    KindHTTPStatus, retryable: true, httpStatus: 502,
			check: func(t *testing.T, e *Error) {
				if e.Message != "Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx/1.18.0" {
					t.Errorf("message = %q", e.Message)
				}
				if !e.Retry.Soon() {
					t.Errorf("retry = %+v, want soon", e.Retry)
				}
			},
		},
		{
			name:    "500 with a long body",
			handler: status(http.StatusInternalServerError, nil, strings.Repeat("错误 ", 500)),
			kind:    KindHTTPStatus, retryable: true, httpStatus: 500,
			check: func(t *testing.T, e *Error) {
				if n := len([]rune(e.Message)); n > 250 {
					t.Errorf("message has %d characters", n)
				}
			},
		},
		{
			name:    "503 with Retry-After",
			handler: status(http.StatusServiceUnavailable, map[string]string{"Retry-After": "120"}, ""),
			kind:    KindHTTPStatus, retryable: true, httpStatus: 503,
			check: func(t *testing.T, e *Error) {
				if !e.RetryAt().Equal(testNow.Add(2*time.Minute)) || e.Message != "Service Unavailable" {
					t.Errorf("retry at %v, message %q", e.RetryAt(), e.Message)
				}
			},
		},
		{
			name: "404 echoing the request",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprintf(w, "<h1>Not Found</h1><p>Token: %s (lower: %s)</p><p>No route for GET %s</p>",
					r.Header.Get("Token"), strings.ToLower(r.Header.Get("Token")), r.URL.String())
			},
			kind: KindHTTPStatus, httpStatus: 404,
			check: func(t *testing.T, e *Error) {
				if !e.Operator || !strings.Contains(e.Action, "API address") || !strings.Contains(e.Message, "key="+canaryMask) ||
					!strings.Contains(e.Message, "Token: "+redacted+" (lower: "+redacted+")") {
					t.Errorf("got %+v", *e)
				}
			},
		},
		{
			name:    "403",
			handler: status(http.StatusForbidden, nil, "forbidden"),
			kind:    KindHTTPStatus, httpStatus: 403,
		},
		{
			name:    "400",
			handler: status(http.StatusBadRequest, nil, ""),
			kind:    KindHTTPStatus, httpStatus: 400,
		},
		{
			name:    "429 with Retry-After",
			handler: status(http.StatusTooManyRequests, map[string]string{"Retry-After": "30"}, `{"message":"slow down"}`),
			kind:    KindHTTPStatus, retryable: true, httpStatus: 429,
			check: func(t *testing.T, e *Error) {
				if !e.RetryAt().Equal(testNow.Add(30*time.Second)) || !strings.Contains(e.Message, "slow down") {
					t.Errorf("retry at %v, message %q", e.RetryAt(), e.Message)
				}
			},
		},
		{
			name:    "429 without Retry-After",
			handler: status(http.StatusTooManyRequests, nil, ""),
			kind:    KindHTTPStatus, retryable: true, httpStatus: 429,
			check: func(t *testing.T, e *Error) {
				if !e.RetryAt().Equal(testNow.Add(time.Minute)) {
					t.Errorf("retry at %v", e.RetryAt())
				}
			},
		},
		{
			name:    "not JSON",
			handler: replyJSON("this is not json"),
			kind:    KindMalformed, retryable: true,
			check: func(t *testing.T, e *Error) {
				if !e.Retry.Soon() || e.Err == nil {
					t.Errorf("got %+v", *e)
				}
			},
		},
		{
			name:    "HTML page with HTTP 200",
			handler: replyJSON("<html><body>维护中</body></html>"),
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "empty body",
			handler: replyJSON(""),
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "truncated JSON with a correct length",
			handler: replyJSON(`{"Status":"200","Result":[{"Id":"a"`),
			kind:    KindMalformed, retryable: true,
		},
		{
			name: "connection closed mid-body",
			handler: hijack("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n" +
				`{"Status":"200","Result":[{"Id":`),
			kind: KindMalformed, retryable: true,
			check: func(t *testing.T, e *Error) {
				if !strings.Contains(e.Error(), "cut off") {
					t.Errorf("Error() = %q, want it to say the answer was cut off", e.Error())
				}
			},
		},
		{
			name:    "missing Status",
			handler: replyJSON(`{"Result":[],"Message":"ok"}`),
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "non-numeric Status",
			handler: replyJSON(`{"Status":"OK"}`),
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "top-level array",
			handler: replyJSON(`[{"Status":"200"}]`),
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "search Result of the wrong shape",
			handler: replyJSON(`{"Status":"200","Result":{"Id":"x"}}`),
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "search item of the wrong shape",
			handler: replyJSON(`{"Status":"200","Result":["x"]}`),
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "detail with status 200 but no Result",
			handler: replyJSON(`{"Status":"200","Result":null}`),
			detail:  true,
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "detail Data of the wrong shape",
			handler: replyJSON(`{"Status":"200","Result":{"Id":"x","Data":[1,2]}}`),
			detail:  true,
			kind:    KindMalformed, retryable: true,
		},
		{
			name:    "body over the cap",
			handler: replyJSON(`{"Status":"200","Message":"` + strings.Repeat("x", 2048) + `","Result":[]}`),
			opts:    []Option{WithMaxBodyBytes(1024)},
			kind:    KindResponseTooLarge,
		},
	}
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range failureCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err, requests := runFailure(t, tc)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if e.Kind != tc.kind || !errors.Is(err, tc.kind) {
				t.Errorf("kind = %s, want %s (%v)", e.Kind, tc.kind, err)
			}
			if e.Retry.Retryable != tc.retryable {
				t.Errorf("retryable = %v, want %v", e.Retry.Retryable, tc.retryable)
			}
			if e.HTTPStatus != tc.httpStatus || e.Code != 0 {
				t.Errorf("HTTP status %d, code %d, want HTTP %d and code 0", e.HTTPStatus, e.Code, tc.httpStatus)
			}
			if e.Action == "" || e.Message == "" || e.Method == "" || !strings.Contains(e.URL, "key="+canaryMask) {
				t.Errorf("incomplete error %+v", *e)
			}
			if !e.Received.Equal(testNow) {
				t.Errorf("received = %v, want %v", e.Received, testNow)
			}
			if tc.noRequest && requests != 0 {
				t.Errorf("%d requests reached the server, want 0", requests)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

// TestErrorsNeverLeakSecrets drives every failure path with canary
// credentials and looks for them in every rendering of the error.
func TestErrorsNeverLeakSecrets(t *testing.T) {
	t.Parallel()
	for _, tc := range failureCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err, _ := runFailure(t, tc)
			if err == nil {
				t.Fatal("no error")
			}
			assertNoSecrets(t, err, canaryToken())
		})
	}
}

// runFailure runs one failure case and returns the error and how many
// requests reached the test server. The Token the server saw is checked
// to be the one assertNoSecrets looks for.
func runFailure(t *testing.T, tc failureCase) (error, int64) {
	t.Helper()
	var requests atomic.Int64
	var base string
	if tc.baseURL != nil {
		base = tc.baseURL(t)
	} else {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if got := r.Header.Get("Token"); got != canaryToken() {
				t.Errorf("server saw Token %q, want %q", got, canaryToken())
			}
			tc.handler(w, r)
		}))
		t.Cleanup(srv.Close)
		base = srv.URL + "/api/yj"
	}
	opts := append([]Option{WithBaseURL(base), WithClock(fixedClock)}, tc.opts...)
	c, err := New(canaryKey, canarySecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if tc.ctx != nil {
		var cancel context.CancelFunc
		ctx, cancel = tc.ctx(ctx)
		defer cancel()
	}
	if tc.detail {
		d, err := c.GetCertificationDetailByID(ctx, "145695151793ad28f7ffd5d8a24cd6191")
		if d != nil {
			t.Errorf("detail = %+v alongside error %v", d, err)
		}
		return err, requests.Load()
	}
	res, err := c.SearchCertification(ctx, SearchParams{SearchKey: "企查查科技有限公司"})
	if res != nil {
		t.Errorf("result = %+v alongside error %v", res, err)
	}
	return err, requests.Load()
}

// TestBodyAtTheCap checks the boundary: exactly the cap is accepted.
func TestBodyAtTheCap(t *testing.T) {
	t.Parallel()
	body := `{"Status":"201","Message":"` // padded below to exactly 1024 bytes
	body += strings.Repeat("x", 1024-len(body)-2) + `"}`
	if len(body) != 1024 {
		t.Fatalf("body has %d bytes", len(body))
	}
	c, _ := newTestClient(t, replyJSON(body), WithMaxBodyBytes(1024))
	if _, err := c.SearchCertification(t.Context(), SearchParams{SearchKey: "企查查"}); err != nil {
		t.Fatalf("body of exactly the cap: %v", err)
	}
	c, _ = newTestClient(t, replyJSON(body+" "), WithMaxBodyBytes(1024))
	if _, err := c.SearchCertification(t.Context(), SearchParams{SearchKey: "企查查"}); !errors.Is(err, KindResponseTooLarge) {
		t.Fatalf("body one byte over the cap: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	fallback := RetryAdvice{Retryable: true, After: time.Minute}
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", time.Minute},
		{"garbage", time.Minute},
		{"-5", time.Minute},
		{"0", 0},
		{" 45 ", 45 * time.Second},
		{"999999999", 24 * time.Hour},
		{testNow.Add(90 * time.Second).UTC().Format(http.TimeFormat), 90 * time.Second},
		{testNow.Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
	}
	for _, tc := range cases {
		got := retryAfter(tc.header, testNow, fallback)
		if !got.Retryable || got.After != tc.want {
			t.Errorf("retryAfter(%q) = %+v, want %s", tc.header, got, tc.want)
		}
	}
}
