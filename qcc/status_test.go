package qcc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// retryWant is the retry timing a status code should produce.
type retryWant int

const (
	noRetry retryWant = iota
	retrySoon
	retryMinute
	retryTwoHours
	retryBeijingMidnight
)

// statusWant is written out by hand from section 7 of the vendor document
// rather than derived from statusTable, so a wrong table entry fails here.
var statusWant = []struct {
	code  int
	kind  Kind
	retry retryWant
}{
	// 7.1 valid requests
	{202, KindInvalidArgument, noRetry},
	{205, KindPending, retrySoon},
	{207, KindInvalidArgument, noRetry},
	{208, KindUnsupported, noRetry},
	{209, KindInvalidArgument, noRetry},
	{213, KindInvalidArgument, noRetry},
	{215, KindInvalidArgument, noRetry},
	{218, KindUnsupported, noRetry},
	{219, KindUnsupported, noRetry},
	{105, KindDisabled, noRetry},
	{110, KindThrottled, retryTwoHours},
	// 7.2 invalid requests
	{101, KindAuth, noRetry},
	{102, KindBilling, noRetry},
	{103, KindBlocked, noRetry},
	{104, KindBlocked, noRetry},
	{106, KindBlocked, noRetry},
	{107, KindAuth, noRetry},
	{108, KindBlocked, noRetry},
	{109, KindQuotaExhausted, retryBeijingMidnight},
	{111, KindDisabled, noRetry},
	{112, KindBilling, noRetry},
	{113, KindDisabled, noRetry},
	{114, KindDisabled, noRetry},
	{115, KindAuth, noRetry},
	{116, KindQuotaExhausted, retryBeijingMidnight},
	{117, KindThrottled, noRetry},
	{118, KindUnsupported, noRetry},
	{119, KindBlocked, noRetry},
	{120, KindUnavailable, retryMinute},
	{121, KindBlocked, noRetry},
	{199, KindUpstreamFailure, retryMinute},
	{203, KindUpstreamFailure, retryMinute},
	{214, KindBilling, noRetry},
	{223, KindBilling, noRetry},
	// not in the document
	{299, KindUnknown, noRetry},
}

// TestStatusCodeTableIsCovered makes sure a code added to the table gets
// an explicit expectation above.
func TestStatusCodeTableIsCovered(t *testing.T) {
	t.Parallel()
	covered := map[int]bool{200: true, 201: true} // tested by the success tests
	for _, w := range statusWant {
		covered[w.code] = true
	}
	for _, info := range StatusCodes() {
		if !covered[info.Code] {
			t.Errorf("status %d has no expectation in statusWant", info.Code)
		}
	}
}

// TestStatusCodes sends every status code through both methods, as a
// string Status to one and a number to the other.
func TestStatusCodes(t *testing.T) {
	t.Parallel()
	nextMidnight := time.Date(2024, 5, 16, 0, 0, 0, 0, Beijing)
	token := canaryToken()
	methods := []struct {
		name   string
		status func(code int) string // how Status is written
		call   func(context.Context, *Client) error
	}{
		{MethodSearch, func(code int) string { return strconv.Quote(strconv.Itoa(code)) }, func(ctx context.Context, c *Client) error {
			_, err := c.SearchCertification(ctx, SearchParams{SearchKey: "企查查科技有限公司"})
			return err
		}},
		{MethodDetail, strconv.Itoa, func(ctx context.Context, c *Client) error {
			_, err := c.GetCertificationDetailByID(ctx, "145695151793ad28f7ffd5d8a24cd6191")
			return err
		}},
	}
	for _, w := range statusWant {
		for _, m := range methods {
			t.Run(fmt.Sprintf("%d/%s", w.code, m.name), func(t *testing.T) {
				t.Parallel()
				upstream := fmt.Sprintf("上游消息 %d", w.code)
				c, _ := newTestClient(t, replyJSON(fmt.Sprintf(
					`{"Status":%s,"Message":%q,"Result":null,"OrderNumber":null}`, m.status(w.code), upstream)))
				err := m.call(t.Context(), c)
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not an *Error", err)
				}
				if !errors.Is(err, w.kind) || e.Kind != w.kind || KindOf(err) != w.kind {
					t.Errorf("kind = %s, want %s", e.Kind, w.kind)
				}
				if errors.Is(err, KindNetwork) {
					t.Errorf("errors.Is matches an unrelated kind")
				}
				if e.Code != w.code || e.Message != upstream || e.Method != m.name || e.Action == "" {
					t.Errorf("code %d, message %q, method %q, action %q", e.Code, e.Message, e.Method, e.Action)
				}
				if !strings.Contains(e.Error(), strconv.Itoa(w.code)) || !strings.Contains(e.Error(), upstream) {
					t.Errorf("Error() = %q lacks the code or the upstream message", e.Error())
				}
				if !strings.Contains(e.URL, "key="+canaryMask) || !strings.Contains(e.URL, m.name) {
					t.Errorf("URL = %q", e.URL)
				}
				if !e.Received.Equal(testNow) {
					t.Errorf("received = %v, want %v", e.Received, testNow)
				}
				at := e.RetryAt()
				switch w.retry {
				case noRetry:
					if e.Retry.Retryable || !at.IsZero() {
						t.Errorf("retry = %+v at %v, want none", e.Retry, at)
					}
				case retrySoon:
					if !e.Retry.Soon() || !at.After(testNow) || at.After(testNow.Add(5*time.Second)) {
						t.Errorf("retry = %+v at %v, want within 5s", e.Retry, at)
					}
				case retryMinute:
					if !e.Retry.Retryable || !at.Equal(testNow.Add(time.Minute)) {
						t.Errorf("retry at %v, want %v", at, testNow.Add(time.Minute))
					}
				case retryTwoHours:
					if !e.Retry.Retryable || e.Retry.Soon() || !at.Equal(testNow.Add(2*time.Hour)) {
						t.Errorf("retry at %v, want %v", at, testNow.Add(2*time.Hour))
					}
				case retryBeijingMidnight:
					if !e.Retry.Retryable || e.Retry.Soon() || !at.Equal(nextMidnight) {
						t.Errorf("retry at %v, want %v", at, nextMidnight)
					}
				}
				assertNoSecrets(t, err, token)
			})
		}
	}
}

func TestStatusWithoutMessageUsesTheDocument(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, replyJSON(`{"Status":"102"}`))
	_, err := c.SearchCertification(t.Context(), SearchParams{SearchKey: "企查查"})
	var e *Error
	if !errors.As(err, &e) || e.Message != "【无效请求】当前 KEY 已欠费" || !e.Operator {
		t.Fatalf("got %v", err)
	}
}

// TestUpstreamMessageIsRedacted covers a gateway that echoes the request
// in its message.
func TestUpstreamMessageIsRedacted(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"Status":"107","Message":"签名错误: key=%s token=%s url=%s"}`,
			r.URL.Query().Get("key"), r.Header.Get("Token"), r.URL.String())
	})
	_, err := c.SearchCertification(t.Context(), SearchParams{SearchKey: "企查查"})
	if !errors.Is(err, KindAuth) {
		t.Fatalf("got %v", err)
	}
	assertNoSecrets(t, err, canaryToken())
	if !strings.Contains(err.Error(), "key="+canaryMask) || !strings.Contains(err.Error(), redacted) {
		t.Errorf("Error() = %q, want masked key and redacted token", err)
	}
}
