package qcc

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzSearchFastMatchesTwoSteps checks that whenever the one-pass search
// decoding takes an answer, it gives exactly what the envelope decoding
// followed by the items' decoding gives.
func FuzzSearchFastMatchesTwoSteps(f *testing.F) {
	for _, s := range append(fastSeeds, fuzzSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.TrimPrefix(body, utf8BOM)
		env, items, ok := decodeSearchFast(body)
		if !ok {
			return
		}
		want, err := decodeEnvelope(body)
		if err != nil {
			t.Fatalf("one pass took %q, the envelope decoding refused it: %v", body, err)
		}
		wantItems, err := decodeCertifications(want.Result)
		if err != nil {
			t.Fatalf("one pass took %q, the items' decoding refused it: %v", body, err)
		}
		want.Result = nil
		if !reflect.DeepEqual(env, want) || !reflect.DeepEqual(items, wantItems) {
			t.Fatalf("one pass %+v %+v, two steps %+v %+v", env, items, want, wantItems)
		}
	})
}

// TestSearchFastTakesTheDocumentShape pins that a search answer in the
// document's shape is decoded in one pass, and that one whose Result is
// not a list of items is left to the two steps.
func TestSearchFastTakesTheDocumentShape(t *testing.T) {
	if _, items, ok := decodeSearchFast([]byte(fastSeeds[0])); !ok || len(items) != 1 {
		t.Errorf("one pass on the document's shape: %v, %d items; want true, 1", ok, len(items))
	}
	if _, _, ok := decodeSearchFast([]byte(fastSeeds[11])); ok {
		t.Errorf("one pass took a detail-shaped Result: %s", fastSeeds[11])
	}
}

// BenchmarkDecodeSearchOnePass decodes the answer of
// BenchmarkDecodeSearchAnswer in one pass, as a search does.
func BenchmarkDecodeSearchOnePass(b *testing.B) {
	item := `{"Id":"a1b2","Name":"","Type":"cnca027","TypeDesc":"质量管理体系认证（ISO9000）","No":"17418Q20358R1M","StartDate":"2018-01-05 00:00:00","EndDate":"2027-01-04 00:00:00"}`
	body := []byte(`{"Paging":{"PageSize":10,"PageIndex":1,"TotalRecords":5},"Result":[` + strings.Repeat(item+",", 4) + item +
		`],"Status":"200","Message":"【有效请求】查询成功","OrderNumber":"CERT2026112712000000001"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, items, err := decodeSearch(body); err != nil || len(items) != 5 {
			b.Fatal(err)
		}
	}
}
