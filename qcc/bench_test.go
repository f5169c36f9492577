package qcc_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// cannedTransport answers every request with the same search answer, so
// that a benchmark measures the client alone: building and signing the
// request, reading and decoding the answer.
type cannedTransport struct{ body []byte }

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}, nil
}

// cannedSearch is a search answer of 5 certificates in the document's shape.
func cannedSearch() []byte {
	item := `{"Id":"a1b2c3d4e5f6","Name":"企查查科技有限公司","Type":"cnca027","TypeDesc":"质量管理体系认证（ISO9000）","No":"17418Q20358R1M","StartDate":"2018-01-05 00:00:00","EndDate":"2027-01-04 00:00:00"}`
	return []byte(`{"Paging":{"PageSize":10,"PageIndex":1,"TotalRecords":5},"Result":[` + strings.Repeat(item+",", 4) + item +
		`],"Status":"200","Message":"【有效请求】查询成功","OrderNumber":"CERT2026112712000000001"}`)
}

// BenchmarkClientSearchCanned is one search through the client with new
// arguments every call, answered by a transport that costs next to
// nothing: the client's own cost per call.
func BenchmarkClientSearchCanned(b *testing.B) {
	c, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey,
		qcc.WithHTTPClient(&http.Client{Transport: cannedTransport{body: cannedSearch()}}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		res, err := c.SearchCertification(ctx, qcc.SearchParams{SearchKey: "企查查科技有限公司" + strconv.Itoa(i), PageSize: 1 + i%20})
		if err != nil || len(res.Items) != 5 {
			b.Fatalf("%v", err)
		}
	}
}

// BenchmarkClientDistinctMissSandbox is one search with new arguments
// every call, sent to the in-process sandbox.
func BenchmarkClientDistinctMissSandbox(b *testing.B) {
	sb := sandbox.New(sandbox.Config{})
	c, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey,
		qcc.WithHTTPClient(&http.Client{Transport: sb.Transport()}))
	if err != nil {
		b.Fatal(err)
	}
	names := sandbox.Companies()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		p := qcc.SearchParams{SearchKey: names[i%(len(names)-1)], PageSize: 1 + i%20, Fuzzy: i/20%2 == 1}
		if _, err := c.SearchCertification(ctx, p); err != nil {
			b.Fatalf("%v", err)
		}
	}
}
