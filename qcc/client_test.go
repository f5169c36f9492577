package qcc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Canary credentials: every test that can fail uses them, so a leak of
// either into an error is caught wherever it happens.
const (
	canaryKey    = "APPKEY-CANARY-abcdef123456"
	canarySecret = "SECRET-CANARY-1234567890"
	canaryMask   = "AP***56"
)

// testNow is 15:30 in Beijing, so "next Beijing midnight" is a different
// calendar day in UTC and in Beijing's reckoning alike.
var testNow = time.Date(2024, 5, 15, 15, 30, 0, 0, Beijing)

func fixedClock() time.Time { return testNow }

// canaryToken is the Token every request made with fixedClock carries.
func canaryToken() string {
	_, token := Sign(canaryKey, canarySecret, testNow)
	return token
}

// newTestClient starts a server running h and returns a client for it with
// the canary credentials, the fixed clock and base path /api/yj.
func newTestClient(t *testing.T, h http.HandlerFunc, opts ...Option) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithBaseURL(srv.URL + "/api/yj"), WithClock(fixedClock)}, opts...)
	c, err := New(canaryKey, canarySecret, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, srv
}

// replyJSON answers every request with body.
func replyJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

const (
	searchOK = `{"Paging":{"PageSize":2,"PageIndex":1,"TotalRecords":5},"Result":[
		{"Id":"145695151793ad28f7ffd5d8a24cd6191","Name":"","Type":"cnca027","StartDate":"2021-04-12 00:00:00","EndDate":"2024-05-15 00:00:00","No":"17418Q20358R1M","TypeDesc":"质量管理体系认证（ISO9000）"},
		{"Id":"295733c8d847882298539674ec7d74a71","Name":"","Type":"cnca058","StartDate":"2020-12-10 00:00:00","EndDate":"2022-12-27 00:00:00","No":"18119IP6448R0M","TypeDesc":"企业知识产权管理体系认证"}
	],"Status":"200","Message":"查询成功","OrderNumber":"ECICERTIFICATION2024051515300012345"}`
	detailOK = `{"Result":{"Id":"145695151793ad28f7ffd5d8a24cd6191","Data":{
		"产品名称及单元(主)":"","发证机构批准号":"CNCA-R-2015-189","获证组织基本信息-企业名称":"企查查科技有限公司",
		"是否覆盖多场所":"否","信息上报日期":"2021-04-14","证书编号":"17418Q20358R1M","再认证次数":"1",
		"证书到期日期":"2024-05-15","证书状态":"有效","证书使用的认可标识":"CNAS"},"Schema":null},
		"Status":"200","Message":"【有效请求】查询成功","OrderNumber":null}`
)

// TestRequestShape checks what goes on the wire: method, path joined to
// the base path, query, and the signing headers.
func TestRequestShape(t *testing.T) {
	t.Parallel()
	timespan, token := Sign(canaryKey, canarySecret, testNow)
	cases := []struct {
		name     string
		basePath string // appended to the server's root; "" is like https://api.qichacha.com
		call     func(context.Context, *Client) error
		wantPath string
		want     url.Values
	}{
		{
			name:     "search defaults under /api/yj",
			basePath: "/api/yj",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SearchCertification(ctx, SearchParams{SearchKey: "企查查科技有限公司"})
				return err
			},
			wantPath: "/api/yj/ECICertification/SearchCertification",
			want:     url.Values{"key": {canaryKey}, "searchKey": {"企查查科技有限公司"}, "isExactlySame": {"true"}},
		},
		{
			name:     "search with every parameter at the root",
			basePath: "",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SearchCertification(ctx, SearchParams{
					SearchKey: "  企查查 ", CertCategory: " C_9 ", PageSize: 20, PageIndex: 3, Fuzzy: true,
				})
				return err
			},
			wantPath: "/ECICertification/SearchCertification",
			want: url.Values{"key": {canaryKey}, "searchKey": {"企查查"}, "certCategory": {"C_9"},
				"pageSize": {"20"}, "pageIndex": {"3"}, "isExactlySame": {"false"}},
		},
		{
			name:     "base URL with a trailing slash",
			basePath: "/api/yj/",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SearchCertification(ctx, SearchParams{SearchKey: "ab", PageSize: 1, PageIndex: 1})
				return err
			},
			wantPath: "/api/yj/ECICertification/SearchCertification",
			want: url.Values{"key": {canaryKey}, "searchKey": {"ab"}, "pageSize": {"1"},
				"pageIndex": {"1"}, "isExactlySame": {"true"}},
		},
		{
			name:     "detail",
			basePath: "/api/yj",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.GetCertificationDetailByID(ctx, " 145695151793ad28f7ffd5d8a24cd6191 ")
				return err
			},
			wantPath: "/api/yj/ECICertification/GetCertificationDetailById",
			want:     url.Values{"key": {canaryKey}, "certId": {"145695151793ad28f7ffd5d8a24cd6191"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got *http.Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Clone(context.Background())
				if strings.HasSuffix(r.URL.Path, MethodDetail) {
					fmt.Fprint(w, detailOK)
				} else {
					fmt.Fprint(w, searchOK)
				}
			}))
			defer srv.Close()
			c, err := New(canaryKey, canarySecret, WithBaseURL(srv.URL+tc.basePath), WithClock(fixedClock))
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.call(t.Context(), c); err != nil {
				t.Fatalf("call: %v", err)
			}
			if got == nil {
				t.Fatal("no request reached the server")
			}
			if got.Method != http.MethodGet {
				t.Errorf("method = %s, want GET", got.Method)
			}
			if got.URL.Path != tc.wantPath {
				t.Errorf("path = %q, want %q", got.URL.Path, tc.wantPath)
			}
			if q := got.URL.Query(); !reflect.DeepEqual(q, tc.want) {
				t.Errorf("query = %v, want %v", q, tc.want)
			}
			headers := map[string]string{
				"Token": token, "Timespan": timespan, "Accept": "application/json", "User-Agent": "qcc-mcp",
			}
			for name, want := range headers {
				if v := got.Header.Get(name); v != want {
					t.Errorf("header %s = %q, want %q", name, v, want)
				}
			}
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		key      string
		secret   string
		opts     []Option
		wantBase string // when no error is expected
		wantErr  string // a fragment of the error
	}{
		{name: "defaults", key: "test-app-key", secret: "test-secret-key", wantBase: "https://pro.qcc.com/api/yj"},
		{name: "keys are trimmed", key: " test-app-key\n", secret: "\ttest-secret-key ", wantBase: DefaultBaseURL},
		{name: "qichacha root", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://api.qichacha.com")}, wantBase: "https://api.qichacha.com"},
		{name: "trailing slash dropped", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("http://127.0.0.1:8080/api/yj/")}, wantBase: "http://127.0.0.1:8080/api/yj"},
		{name: "upper-case scheme", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("HTTPS://api.qichacha.com/")}, wantBase: "https://api.qichacha.com"},
		{name: "nil option ignored", key: "test-app-key", secret: "test-secret-key", opts: []Option{nil}, wantBase: DefaultBaseURL},

		{name: "empty key", key: "", secret: "test-secret-key", wantErr: "app key is empty"},
		{name: "blank key", key: "  \t", secret: "test-secret-key", wantErr: "app key is empty"},
		{name: "empty secret", key: "test-app-key", secret: "", wantErr: "secret key is empty"},
		{name: "blank secret", key: "test-app-key", secret: " \n", wantErr: "secret key is empty"},
		{name: "empty URL", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("")}, wantErr: "http:// or https://"},
		{name: "no scheme", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("pro.qcc.com/api/yj")}, wantErr: "http:// or https://"},
		{name: "ftp scheme", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("ftp://pro.qcc.com/api/yj")}, wantErr: "http:// or https://"},
		{name: "no host", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https:///api/yj")}, wantErr: "no host"},
		{name: "opaque", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https:pro.qcc.com")}, wantErr: "no host"},
		{name: "query", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://pro.qcc.com/api/yj?key=x")}, wantErr: "query"},
		{name: "empty query", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://pro.qcc.com/api/yj?")}, wantErr: "query"},
		{name: "fragment", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://pro.qcc.com/api/yj#top")}, wantErr: "fragment"},
		{name: "empty fragment", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://pro.qcc.com/api/yj#")}, wantErr: "fragment"},
		{name: "user info", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://u:p@pro.qcc.com")}, wantErr: "user information"},
		{name: "malformed", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("http://[::1")}, wantErr: "malformed"},
		{name: "bad port", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://pro.qcc.com:port/")}, wantErr: "malformed"},
		{name: "control character", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithBaseURL("https://pro.qcc.com/\x7f")}, wantErr: "malformed"},
		{name: "zero timeout", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithTimeout(0)}, wantErr: "timeout"},
		{name: "negative timeout", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithTimeout(-time.Second)}, wantErr: "timeout"},
		{name: "nil HTTP client", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithHTTPClient(nil)}, wantErr: "HTTP client"},
		{name: "nil clock", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithClock(nil)}, wantErr: "clock"},
		{name: "zero body cap", key: "test-app-key", secret: "test-secret-key", opts: []Option{WithMaxBodyBytes(0)}, wantErr: "cap"},
		{name: "secret pasted into the URL", key: "test-app-key", secret: canarySecret,
			opts: []Option{WithBaseURL("https://pro.qcc.com/api/yj?secret=" + canarySecret)}, wantErr: "query"},
		{name: "secret pasted into a malformed URL", key: "test-app-key", secret: canarySecret,
			opts: []Option{WithBaseURL("http://" + canarySecret + ":port/")}, wantErr: "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tc.key, tc.secret, tc.opts...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.baseURL != tc.wantBase {
					t.Errorf("base URL = %q, want %q", c.baseURL, tc.wantBase)
				}
				if c.appKey != strings.TrimSpace(tc.key) || c.secretKey != strings.TrimSpace(tc.secret) {
					t.Errorf("keys not trimmed: %q %q", c.appKey, c.secretKey)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New("test-app-key", "test-secret-key")
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != 15*time.Second || c.maxBody != 4<<20 || c.httpClient == nil || c.clock == nil {
		t.Errorf("defaults: timeout %s, cap %d, http %v", c.timeout, c.maxBody, c.httpClient)
	}
}

func TestClientStringHidesSecrets(t *testing.T) {
	t.Parallel()
	c, err := New(canaryKey, canarySecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c)} {
		if strings.Contains(s, canarySecret) || strings.Contains(s, canaryKey) {
			t.Errorf("formatted client leaks a key: %s", s)
		}
		if !strings.Contains(s, canaryMask) {
			t.Errorf("formatted client %s does not show the masked key", s)
		}
	}
}

func TestMaskKey(t *testing.T) {
	t.Parallel()
	cases := []struct{ key, want string }{
		{"", "***"},
		{"short", "***"},
		{"1234567", "***"},
		{"12345678", "12***78"},
		{canaryKey, canaryMask},
		// The mask is shown inside URLs, so its visible ends are escaped.
		{"企查查科技有限公司接口密钥", url.QueryEscape("企查") + "***" + url.QueryEscape("密钥")},
		{"a&b=cdefgh?=", "a%26***%3F%3D"},
	}
	for _, tc := range cases {
		if got := maskKey(tc.key); got != tc.want {
			t.Errorf("maskKey(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// TestLocalValidation checks that arguments QCC would refuse never cost a
// (billed) request.
func TestLocalValidation(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, searchOK)
	})
	cases := []struct {
		name string
		call func(context.Context) error
		want string // a fragment of the message
	}{
		{"empty search key", func(ctx context.Context) error {
			_, err := c.SearchCertification(ctx, SearchParams{})
			return err
		}, "0 characters"},
		{"blank search key", func(ctx context.Context) error {
			_, err := c.SearchCertification(ctx, SearchParams{SearchKey: " \t "})
			return err
		}, "0 characters"},
		{"one ASCII character", func(ctx context.Context) error {
			_, err := c.SearchCertification(ctx, SearchParams{SearchKey: " a "})
			return err
		}, "1 characters"},
		{"one Chinese character (3 bytes)", func(ctx context.Context) error {
			_, err := c.SearchCertification(ctx, SearchParams{SearchKey: "企"})
			return err
		}, "1 characters"},
		{"negative page size", func(ctx context.Context) error {
			_, err := c.SearchCertification(ctx, SearchParams{SearchKey: "企查查", PageSize: -1})
			return err
		}, "page size"},
		{"page size over 20", func(ctx context.Context) error {
			_, err := c.SearchCertification(ctx, SearchParams{SearchKey: "企查查", PageSize: 21})
			return err
		}, "page size"},
		{"negative page index", func(ctx context.Context) error {
			_, err := c.SearchCertification(ctx, SearchParams{SearchKey: "企查查", PageIndex: -1})
			return err
		}, "page index"},
		{"empty certificate id", func(ctx context.Context) error {
			_, err := c.GetCertificationDetailByID(ctx, "")
			return err
		}, "certificate id"},
		{"blank certificate id", func(ctx context.Context) error {
			_, err := c.GetCertificationDetailByID(ctx, "  ")
			return err
		}, "certificate id"},
	}
	for _, tc := range cases {
		err := tc.call(t.Context())
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v is not an *Error", tc.name, err)
			continue
		}
		if !errors.Is(err, KindInvalidArgument) || e.Code != 0 || e.Action == "" || e.Method == "" || e.Retry.Retryable {
			t.Errorf("%s: got %+v", tc.name, *e)
		}
		if !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: message %q does not mention %q", tc.name, e.Message, tc.want)
		}
		assertNoSecrets(t, err, canaryToken())
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests sent for invalid arguments, want 0", n)
	}
	// The boundaries themselves are valid and do reach QCC.
	if _, err := c.SearchCertification(t.Context(), SearchParams{SearchKey: "企查", PageSize: 20}); err != nil {
		t.Fatalf("2-character search: %v", err)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests after one valid search, want 1", n)
	}
}

func TestSearchSuccess(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, replyJSON(searchOK))
	res, err := c.SearchCertification(t.Context(), SearchParams{SearchKey: "企查查科技有限公司"})
	if err != nil {
		t.Fatal(err)
	}
	want := &SearchResult{
		Items: []Certification{
			{ID: "145695151793ad28f7ffd5d8a24cd6191", Type: "cnca027", TypeDesc: "质量管理体系认证（ISO9000）", No: "17418Q20358R1M",
				StartDate: time.Date(2021, 4, 12, 0, 0, 0, 0, Beijing), EndDate: time.Date(2024, 5, 15, 0, 0, 0, 0, Beijing)},
			{ID: "295733c8d847882298539674ec7d74a71", Type: "cnca058", TypeDesc: "企业知识产权管理体系认证", No: "18119IP6448R0M",
				StartDate: time.Date(2020, 12, 10, 0, 0, 0, 0, Beijing), EndDate: time.Date(2022, 12, 27, 0, 0, 0, 0, Beijing)},
		},
		Paging:      Paging{PageSize: 2, PageIndex: 1, TotalRecords: 5},
		OrderNumber: "ECICERTIFICATION2024051515300012345",
		Status:      200,
		Message:     "查询成功",
		FetchedAt:   testNow,
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got  %+v\nwant %+v", res, want)
	}
}

func TestSearchNoResultIsNotAnError(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"Status":"201","Message":"【有效请求】查询无结果","Result":null}`,
		`{"Status":201,"Message":"【有效请求】查询无结果"}`,
		`{"status":"201 ","message":"无结果","result":[],"paging":null}`,
	} {
		c, _ := newTestClient(t, replyJSON(body))
		res, err := c.SearchCertification(t.Context(), SearchParams{SearchKey: "不存在的公司"})
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if res.Items == nil || len(res.Items) != 0 || res.Status != 201 || !res.FetchedAt.Equal(testNow) {
			t.Errorf("%s: got %+v", body, res)
		}
	}
}

func TestDetailSuccess(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, replyJSON(detailOK))
	d, err := c.GetCertificationDetailByID(t.Context(), "145695151793ad28f7ffd5d8a24cd6191")
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"产品名称及单元(主)", "发证机构批准号", "获证组织基本信息-企业名称", "是否覆盖多场所",
		"信息上报日期", "证书编号", "再认证次数", "证书到期日期", "证书状态", "证书使用的认可标识"}
	var names []string
	for _, f := range d.Fields {
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("field order = %v, want %v", names, wantNames)
	}
	if v, ok := d.Get("证书编号"); !ok || v != "17418Q20358R1M" {
		t.Errorf("证书编号 = %q, %v", v, ok)
	}
	if d.ID != "145695151793ad28f7ffd5d8a24cd6191" || d.Status != 200 || d.OrderNumber != "" ||
		d.Message != "【有效请求】查询成功" || !d.FetchedAt.Equal(testNow) {
		t.Errorf("got %+v", d)
	}
}

func TestDetailNoResultIsAnError(t *testing.T) {
	t.Parallel()
	c, srv := newTestClient(t, replyJSON(`{"Status":"201","Message":"【有效请求】查询无结果","Result":null,"OrderNumber":null}`))
	d, err := c.GetCertificationDetailByID(t.Context(), "no-such-id")
	if d != nil {
		t.Errorf("detail = %+v, want nil", d)
	}
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, KindNoResult) {
		t.Fatalf("error %v is not a KindNoResult *Error", err)
	}
	if e.Code != 201 || e.Method != MethodDetail || e.Retry.Retryable || !strings.Contains(e.Action, "id") ||
		e.Message != "【有效请求】查询无结果" {
		t.Errorf("got %+v", *e)
	}
	wantURL := srv.URL + "/api/yj/" + MethodDetail + "?key=" + canaryMask + "&certId=no-such-id"
	if e.URL != wantURL {
		t.Errorf("URL = %q, want %q", e.URL, wantURL)
	}
}

// TestConcurrentUse runs calls in parallel for the race detector.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, MethodDetail) {
			fmt.Fprint(w, detailOK)
			return
		}
		fmt.Fprint(w, searchOK)
	})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 8 {
		wg.Go(func() {
			for range 4 {
				var err error
				if i%2 == 0 {
					_, err = c.SearchCertification(t.Context(), SearchParams{SearchKey: "企查查"})
				} else {
					_, err = c.GetCertificationDetailByID(t.Context(), "id")
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// assertNoSecrets fails when any rendering of err, or of anything it
// wraps, contains the canary secret, the request's Token or the unmasked
// canary app key.
func assertNoSecrets(t *testing.T, err error, token string) {
	t.Helper()
	if err == nil {
		return
	}
	var texts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error(), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e), fmt.Sprintf("%s", e), fmt.Sprintf("%q", e))
	}
	var qe *Error
	if errors.As(err, &qe) {
		texts = append(texts, fmt.Sprintf("%#v", *qe), fmt.Sprintf("%+v", *qe), qe.URL, qe.Message, qe.Action)
	}
	for _, s := range texts {
		for what, secret := range map[string]string{"secret key": canarySecret, "token": token, "app key": canaryKey} {
			if secret != "" && strings.Contains(strings.ToUpper(s), strings.ToUpper(secret)) {
				t.Errorf("error text contains the %s: %s", what, s)
			}
		}
	}
}

// TestRedirectsAreNotFollowed keeps the signature from travelling to
// wherever a 3xx points.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Token") != "" {
			leaked.Add(1)
		}
	}))
	defer elsewhere.Close()
	qccSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
	}))
	defer qccSrv.Close()
	c, err := New("app-key-1234", "secret-key-5678", WithBaseURL(qccSrv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SearchCertification(context.Background(), SearchParams{SearchKey: "企查查科技有限公司"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindHTTPStatus || e.HTTPStatus != http.StatusFound {
		t.Errorf("err = %v, want an http_status error for 302", err)
	}
	if leaked.Load() != 0 {
		t.Error("the signed request followed the redirect")
	}
}

// TestReadAllDoesNotTrustAnAnnouncedLength: an upstream announcing a huge
// Content-Length (with no body limit set) gets a first buffer of at most
// firstBufferMax, not an allocation of the size it announced.
func TestReadAllDoesNotTrustAnAnnouncedLength(t *testing.T) {
	body := `{"Status":"200"}`
	got, err := readAll(&io.LimitedReader{R: strings.NewReader(body), N: math.MaxInt64}, 1<<30)
	if err != nil || string(got) != body {
		t.Fatalf("got %q, %v", got, err)
	}
	if cap(got) > firstBufferMax {
		t.Errorf("a %d-byte answer announced as 1 GiB got a %d-byte buffer, want at most %d", len(body), cap(got), firstBufferMax)
	}
}
