package qcc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
)

// FuzzAppendQueryEscape holds appendQueryEscape to url.QueryEscape.
func FuzzAppendQueryEscape(f *testing.F) {
	for _, s := range []string{"", "企查查科技有限公司", "a b+c&d=e/f?g#h%i~j_k.l-m", "\x00\xff\x7f", "C_9", "(株)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendQueryEscape([]byte("x"), s)), "x"+url.QueryEscape(s); got != want {
			t.Fatalf("appendQueryEscape(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestQueryAsValuesEncode checks that a search's request URL is the one
// url.Values.Encode gave, for every combination of optional arguments.
func TestQueryAsValuesEncode(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.RawQuery
		w.Write([]byte(`{"Status":"201"}`))
	}))
	defer srv.Close()
	c, err := New(canaryKey+" &+", canarySecret, WithBaseURL(srv.URL), WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	for _, cat := range []string{"", "C_9", " a&b= "} {
		for _, size := range []int{0, 7, 20} {
			for _, page := range []int{0, 1, 12} {
				for _, fuzzy := range []bool{false, true} {
					p := SearchParams{SearchKey: " 企查查 (科技)+有限&公司 ", CertCategory: cat, PageSize: size, PageIndex: page, Fuzzy: fuzzy}
					if _, err := c.SearchCertification(context.Background(), p); err != nil {
						t.Fatal(err)
					}
					q := url.Values{}
					q.Set("searchKey", "企查查 (科技)+有限&公司")
					if cat != "" {
						q.Set("certCategory", cat[1:len(cat)-1])
						if cat == "C_9" {
							q.Set("certCategory", cat)
						}
					}
					if size != 0 {
						q.Set("pageSize", strconv.Itoa(size))
					}
					if page != 0 {
						q.Set("pageIndex", strconv.Itoa(page))
					}
					q.Set("isExactlySame", strconv.FormatBool(!fuzzy))
					if want := "key=" + url.QueryEscape(canaryKey+" &+") + "&" + q.Encode(); got != want {
						t.Fatalf("query %q, want %q", got, want)
					}
				}
			}
		}
	}
	if _, err := c.GetCertificationDetailByID(context.Background(), " a b&c "); err == nil {
		t.Fatal("a 201 detail is an error")
	}
	if want := "key=" + url.QueryEscape(canaryKey+" &+") + "&" + (url.Values{"certId": {"a b&c"}}).Encode(); got != want {
		t.Fatalf("query %q, want %q", got, want)
	}
}
