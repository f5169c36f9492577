package qcc

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// scanSeeds are search answers in the document's shape and near misses
// of it, for the scanner's differential fuzz test.
var scanSeeds = []string{
	`{"Paging":{"PageSize":10,"PageIndex":1,"TotalRecords":5},"Result":[{"Id":"a1b2","Name":"","Type":"cnca027","TypeDesc":"质量管理体系认证（ISO9000）","No":"17418Q20358R1M","StartDate":"2018-01-05 00:00:00","EndDate":"2027-01-04 00:00:00"}],"Status":"200","Message":"【有效请求】查询成功","OrderNumber":"CERT2026112712000000001"}`,
	` { "Status" : 200 , "Message" : "a\u003cb\"c\\d\/e\n" , "Result" : [ null , { "Id" : null , "X" : [1, -2.5e+3, true, false, null, {"y": {}}], "Name": "\ud83d\ude00\udc00" } ] } `,
	`{"Status":"-0","Paging":{"PageSize":null,"PageIndex":"3","TotalRecords":-7,"Other":"x"},"Result":null}`,
	`{"Status":"200","Paging":null,"Result":[]}`,
	`{"Status":"0200"}`,
	`{"Status":"2e2"}`,
	`{"Status":2.0}`,
	`{"Status":" 200"}`,
	`{"Status":"200","Paging":{"PageSize":1.5}}`,
	"{\"Status\":\"200\",\"Message\":\"bad \xff utf8\"}",
	`{"Status":"200","Result":[{"Id":"a"}]}x`,
	`{"Status":"200","Result":[{"Id":"a"},]}`,
	`{"Status":"200","Result":[{"Id":1}]}`,
	`{"Status":"200","Result":{"Id":"a"}}`,
	`{"Status":"200","Result":[{"ıd":"x","名":"y"}]}`,
	`{"Status":"200","Result":[{"Id":"x"}],"Extra":{"status":1}}`,
	`{"Status":"200","Result":[{"Id":"x"}],"Extra":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"Status":123456789012345678901}`,
	`{"Status":"200","Message":"x","Message":"y"}`,
	`{"Status":"200","Result":[{"StartDate":"2019-02-30","EndDate":"2021/4/12"}]}`,
	`{"Status":"200","Message":"\u00e9\u0000"}`,
	`{"Status":"200","Message":"tab	inside"}`,
	`{"Status":tru}`,
	`{"Status":"200","Result":[{"Id":"x"}],"Z":"\uZZZZ"}`,
}

// FuzzScanMatchesJSON checks that whenever the scanner takes a search
// answer, the encoding/json decoding takes it too and gives exactly the
// same envelope and items.
func FuzzScanMatchesJSON(f *testing.F) {
	for _, s := range append(append(scanSeeds, fastSeeds...), fuzzSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.TrimPrefix(body, utf8BOM)
		env, items, ok := scanSearch(body)
		if !ok {
			return
		}
		if !cleanKeys(body) {
			t.Fatalf("the scanner took %q, which cleanKeys refuses", body)
		}
		want, wantItems, wantOK := decodeSearchJSON(body)
		if !wantOK {
			t.Fatalf("the scanner took %q, encoding/json's one pass refused it", body)
		}
		if !reflect.DeepEqual(env, want) || !reflect.DeepEqual(items, wantItems) {
			t.Fatalf("scanner %+v %+v, encoding/json %+v %+v", env, items, want, wantItems)
		}
	})
}

// TestScanTakesTheDocumentShape pins which seeds the scanner takes, so
// that the fast path stays fast for the answers QCC sends.
func TestScanTakesTheDocumentShape(t *testing.T) {
	want := map[int]bool{0: true, 1: true, 2: true, 3: true, 9: true, 19: true, 20: true}
	for i, s := range scanSeeds {
		if _, _, ok := scanSearch([]byte(s)); ok != want[i] {
			t.Errorf("scanner on %s: %v, want %v", s, ok, want[i])
		}
	}
	if _, items, ok := scanSearch([]byte(searchOK)); !ok || len(items) == 0 {
		t.Errorf("scanner on the document's example: %v, %d items", ok, len(items))
	}
}

// TestScanLongAnswer checks an answer larger than the scanner's buffers.
func TestScanLongAnswer(t *testing.T) {
	item := `{"Id":"` + strings.Repeat("a", 200) + `","Name":"n","StartDate":"2018-01-05 00:00:00"}`
	body := []byte(`{"Status":200,"Result":[` + strings.Repeat(item+",", 39) + item + `]}`)
	env, items, ok := scanSearch(body)
	want, wantItems, wantOK := decodeSearchJSON(body)
	if !ok || !wantOK || !reflect.DeepEqual(env, want) || !reflect.DeepEqual(items, wantItems) || len(items) != 40 {
		t.Fatalf("scanner %v %d items, encoding/json %v %d items", ok, len(items), wantOK, len(wantItems))
	}
}

// FuzzParseDatePlain checks that the plain date shapes read as the layouts
// read them.
func FuzzParseDatePlain(f *testing.F) {
	for _, s := range []string{"2018-01-05 00:00:00", "2027-01-04", "2019-02-29", "2020-02-29 23:59:59", "0001-01-01",
		"0002-12-31 00:00:00", "2021-13-01", "2021-00-10", "2021-04-31", "2021-04-12 24:00:00", "2021-04-12 12:60:00",
		"2021-04-12 12:00:60", "2021-04-12T12:00:00", "2021-4-12", "-021-04-12", "2021-04-12 1:00:000", "9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := parseDatePlain(s); ok {
			if want := parseDateLayouts(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("parseDatePlain(%q) = %v, the layouts give %v", s, got, want)
			}
		}
	})
}

// TestParseDatePlainEveryDay compares the plain shapes with the layouts
// on every day of a few years around leap years, with and without a time.
func TestParseDatePlainEveryDay(t *testing.T) {
	for _, year := range []int{2, 1900, 1999, 2000, 2023, 2024, 9999} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				for _, s := range []string{fmt.Sprintf("%04d-%02d-%02d", year, m, d), fmt.Sprintf("%04d-%02d-%02d 23:59:59", year, m, d)} {
					got, ok := parseDatePlain(s)
					want := parseDateLayouts(s)
					if ok && !reflect.DeepEqual(got, want) || !ok && !want.IsZero() && m >= 1 && m <= 12 && d >= 1 && d <= 28 {
						t.Fatalf("parseDatePlain(%q) = %v %v, the layouts give %v", s, got, ok, want)
					}
				}
			}
		}
	}
}
