package qcc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecodeEnvelopeStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body    string
		want    int
		wantErr bool
	}{
		{`{"Status":"200"}`, 200, false},
		{`{"Status":200}`, 200, false},
		{`{"Status":"201 "}`, 201, false},
		{`{"Status":" 201"}`, 201, false},
		{`{"Status":200.0}`, 200, false},
		{`{"Status":"110"}`, 110, false},
		{`{"status":"200"}`, 200, false},
		{`{"STATUS":"200"}`, 200, false},
		{`{"sTaTuS":209}`, 209, false},
		{"\ufeff" + `{"Status":"200"}`, 200, false}, // byte order mark
		{` {"Status" : "200"} ` + "\n", 200, false},
		{`{"Status":"200","Status":"201"}`, 201, false}, // duplicate: the last wins, as in encoding/json
		{`{"Status":null}`, 0, true},
		{`{"Status":""}`, 0, true},
		{`{"Status":"OK"}`, 0, true},
		{`{"Status":200.5}`, 0, true},
		{`{"Status":true}`, 0, true},
		{`{"Status":{}}`, 0, true},
		{`{"Message":"no status"}`, 0, true},
		{`{}`, 0, true},
		{`null`, 0, true},
		{`[]`, 0, true},
		{`"200"`, 0, true},
		{``, 0, true},
		{`{"Status":"200"`, 0, true},
		{`{"Status":"200"} trailing`, 0, true},
	}
	for _, tc := range cases {
		env, err := decodeEnvelope([]byte(tc.body))
		if (err != nil) != tc.wantErr {
			t.Errorf("decodeEnvelope(%q) error = %v, want error %v", tc.body, err, tc.wantErr)
			continue
		}
		if err == nil && env.Status != tc.want {
			t.Errorf("decodeEnvelope(%q) Status = %d, want %d", tc.body, env.Status, tc.want)
		}
	}
}

func TestDecodeEnvelopeFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want envelope
	}{
		{
			name: "document casing",
			body: `{"Paging":{"PageSize":2,"PageIndex":1,"TotalRecords":5},"Status":"200","Message":"查询成功","OrderNumber":"ON1"}`,
			want: envelope{Status: 200, Message: "查询成功", OrderNumber: "ON1", Paging: Paging{2, 1, 5}},
		},
		{
			name: "lower case keys and string numbers",
			body: `{"paging":{"pagesize":"2","pageindex":" 1 ","totalrecords":"5"},"status":"200","message":"ok","ordernumber":"ON2"}`,
			want: envelope{Status: 200, Message: "ok", OrderNumber: "ON2", Paging: Paging{2, 1, 5}},
		},
		{
			name: "upper case keys",
			body: `{"PAGING":{"PAGESIZE":20},"STATUS":201,"MESSAGE":"none","ORDERNUMBER":null}`,
			want: envelope{Status: 201, Message: "none", Paging: Paging{PageSize: 20}},
		},
		{
			name: "unknown fields are ignored",
			body: `{"Status":"200","TraceId":"abc","Extra":{"a":[1,2,3]},"Message":"ok","Data":null}`,
			want: envelope{Status: 200, Message: "ok"},
		},
		{
			name: "numeric order number",
			body: `{"Status":"200","OrderNumber":12345678901234567890}`,
			want: envelope{Status: 200, OrderNumber: "12345678901234567890"},
		},
		{
			name: "null order number and message",
			body: `{"Status":"200","OrderNumber":null,"Message":null}`,
			want: envelope{Status: 200},
		},
		{
			name: "unreadable paging is ignored",
			body: `{"Status":"200","Paging":"first page"}`,
			want: envelope{Status: 200},
		},
		{
			name: "paging with bad values",
			body: `{"Status":"200","Paging":{"PageSize":"ten","PageIndex":1.5,"TotalRecords":null}}`,
			want: envelope{Status: 200},
		},
		{
			name: "exact key preferred over other cases",
			body: `{"message":"lower","Message":"exact","Status":"200"}`,
			want: envelope{Status: 200, Message: "exact"},
		},
		{
			name: "result kept raw",
			body: `{"Status":"200","result":[1]}`,
			want: envelope{Status: 200, Result: json.RawMessage(`[1]`)},
		},
		{
			name: "null result dropped",
			body: `{"Status":"200","Result":null}`,
			want: envelope{Status: 200},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeEnvelope([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	day := time.Date(2021, 4, 12, 0, 0, 0, 0, Beijing)
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2021-04-12 00:00:00", day},
		{"2021-04-12 23:59:59", day},
		{"2021-04-12", day},
		{" 2021-04-12 ", day},
		{"2021-4-12", day},
		{"2021-04-12T00:00:00", day},
		{"2021-04-12T08:30:00.123", day},
		{"2021-04-12 10:00:00.000", day},
		{"2021-04-12T10:00:00+08:00", day},
		{"2021-04-12T10:00:00.5+08:00", day},
		{"2021-04-12T10:00:00+0800", day},
		{"2021-04-11T16:00:00Z", day},           // midnight in Beijing
		{"2021-04-12T15:59:59.999999999Z", day}, // still the 12th in Beijing
		{"2021/04/12", day},
		{"2021/4/12", day},
		{"2021/04/12 00:00:00", day},
		{"", time.Time{}},
		{"   ", time.Time{}},
		{"0001-01-01 00:00:00", time.Time{}}, // .NET's empty DateTime
		{"0001-01-01T00:00:00", time.Time{}},
		{"长期", time.Time{}},
		{"2021-13-01", time.Time{}},
		{"2021-02-30", time.Time{}},
		{"12/04/2021", time.Time{}},
		{"1618156800000", time.Time{}},
	}
	for _, tc := range cases {
		got := parseDate(tc.in)
		if !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
			t.Errorf("parseDate(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if !got.IsZero() && got.Location() != Beijing {
			t.Errorf("parseDate(%q) is in %v, want Beijing", tc.in, got.Location())
		}
	}
}

func TestDecodeCertifications(t *testing.T) {
	t.Parallel()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, Beijing) }
	raw := `[
		{"Id":"a","Name":"产品","Type":"cnca027","StartDate":"2021-04-12 00:00:00","EndDate":"2024-05-15","No":"N1","TypeDesc":"质量"},
		{"id":"b","name":null,"type":"t","startdate":"","enddate":null,"no":"N2","typedesc":"d","extra":1},
		{"ID":12345,"NO":"N3","STARTDATE":"2021/04/12","ENDDATE":"2024-05-15T00:00:00+08:00"},
		null,
		{}
	]`
	got, err := decodeCertifications(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []Certification{
		{ID: "a", Name: "产品", Type: "cnca027", StartDate: day(2021, 4, 12), EndDate: day(2024, 5, 15), No: "N1", TypeDesc: "质量"},
		{ID: "b", Type: "t", No: "N2", TypeDesc: "d"},
		{ID: "12345", No: "N3", StartDate: day(2021, 4, 12), EndDate: day(2024, 5, 15)},
		{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	for _, empty := range []string{"", "null", "[]"} {
		items, err := decodeCertifications(json.RawMessage(empty))
		if err != nil || items == nil || len(items) != 0 {
			t.Errorf("decodeCertifications(%q) = %v, %v; want an empty non-nil list", empty, items, err)
		}
	}
	for _, bad := range []string{`{}`, `"x"`, `[1]`, `[[]]`, `[{"Id":"a"},"b"]`} {
		if _, err := decodeCertifications(json.RawMessage(bad)); err == nil {
			t.Errorf("decodeCertifications(%q) succeeded, want an error", bad)
		}
	}
}

func TestDecodeDetail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		raw     string
		wantID  string
		want    []Field
		wantErr bool
	}{
		{
			name: "order and value kinds",
			raw: `{"Id":"c1","Data":{"证书编号":"17418Q20358R1M","再认证次数":1,"比例":0.50,"大数":12345678901234567890,
				"变更日期":null,"有效":true,"失效":false,"嵌套":{ "b" : 1, "a" : [ 1, "x" ] },"列表":[ ],"空":"",
				"转义":"a\"b\u4e2d"},"Schema":null}`,
			wantID: "c1",
			want: []Field{
				{Name: "证书编号", Value: "17418Q20358R1M"},
				{Name: "再认证次数", Value: "1"},
				{Name: "比例", Value: "0.50"},
				{Name: "大数", Value: "12345678901234567890"},
				{Name: "变更日期", Null: true},
				{Name: "有效", Value: "true"},
				{Name: "失效", Value: "false"},
				{Name: "嵌套", Value: `{"b":1,"a":[1,"x"]}`},
				{Name: "列表", Value: `[]`},
				{Name: "空", Value: ""},
				{Name: "转义", Value: `a"b中`},
			},
		},
		{
			name:   "reverse alphabetical order is kept",
			raw:    `{"id":"c2","data":{"z":"1","y":"2","x":"3"}}`,
			wantID: "c2",
			want:   []Field{{Name: "z", Value: "1"}, {Name: "y", Value: "2"}, {Name: "x", Value: "3"}},
		},
		{
			name:   "duplicate keys are both kept",
			raw:    `{"Id":"c3","Data":{"a":"1","a":"2"}}`,
			wantID: "c3",
			want:   []Field{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}},
		},
		{name: "null data", raw: `{"Id":"c4","Data":null}`, wantID: "c4", want: []Field{}},
		{name: "missing data", raw: `{"Id":"c5"}`, wantID: "c5", want: []Field{}},
		{name: "empty data", raw: `{"Id":"c6","Data":{}}`, wantID: "c6", want: []Field{}},
		{name: "empty string data", raw: `{"Id":"c7","Data":""}`, wantID: "c7", want: []Field{}},
		{
			name:   "data as a JSON string",
			raw:    `{"Id":"c8","Data":"{\"b\":\"2\",\"a\":null}"}`,
			wantID: "c8",
			want:   []Field{{Name: "b", Value: "2"}, {Name: "a", Null: true}},
		},
		{name: "data array", raw: `{"Id":"x","Data":[1]}`, wantErr: true},
		{name: "data number", raw: `{"Id":"x","Data":1}`, wantErr: true},
		{name: "data string not an object", raw: `{"Id":"x","Data":"hello"}`, wantErr: true},
		{name: "data string with trailing text", raw: `{"Id":"x","Data":"{} {}"}`, wantErr: true},
		{name: "data string truncated", raw: `{"Id":"x","Data":"{\"a\":"}`, wantErr: true},
		{name: "result array", raw: `[{"Id":"x"}]`, wantErr: true},
		{name: "result null", raw: `null`, wantErr: true},
		{name: "result missing", raw: ``, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var raw json.RawMessage
			if tc.raw != "" {
				raw = json.RawMessage(tc.raw)
			}
			id, fields, err := decodeDetail(raw)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if id != tc.wantID || fields == nil || !reflect.DeepEqual(fields, tc.want) {
				t.Errorf("got %q %#v\nwant %q %#v", id, fields, tc.wantID, tc.want)
			}
		})
	}
}

func TestBodySnippet(t *testing.T) {
	t.Parallel()
	redact := strings.NewReplacer(canarySecret, redacted, canaryKey, canaryMask)
	cases := []struct{ body, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>", "502 Bad Gateway 502"},
		{"<p>a &amp; b &lt;c&gt;</p>", "a & b <c>"},
		{"<script>alert(1)</script><STYLE>p{}</STYLE><!-- note -->text", "text"},
		{"line1\r\n\tline2\x00\x07", "line1 line2"},
		{"bad utf8 \xff\xfe here", "bad utf8 here"},
		{"key=" + canaryKey + " secret=" + canarySecret, "key=" + canaryMask + " secret=" + redacted},
	}
	for _, tc := range cases {
		if got := bodySnippet([]byte(tc.body), redact); got != tc.want {
			t.Errorf("bodySnippet(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	long := bodySnippet([]byte(strings.Repeat("长", 1000)), redact)
	if n := utf8.RuneCountInString(long); n != snippetRunes+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("long snippet has %d characters: %q", n, long)
	}
	// A secret across the cut must be redacted, not half kept.
	cut := bodySnippet([]byte(strings.Repeat("x", snippetRunes-5)+canarySecret), redact)
	if strings.Contains(cut, canarySecret[:5]) {
		t.Errorf("snippet keeps part of the secret: %q", cut)
	}
}

// fuzzSeeds include the document's examples and the variants above.
var fuzzSeeds = []string{
	searchOK,
	detailOK,
	`{"Paging":{"PageSize":2,"PageIndex":1,"TotalRecords":5},"Result":[{"Id":"145695151793ad28f7ffd5d8a24cd6191","Name":"","Type":"cnca027","StartDate":"2021-04-12 00:00:00","EndDate":"2024-05-15 00:00:00","No":"17418Q20358R1M","TypeDesc":"质量管理体系认证（ISO9000）"}],"Status":"200","Message":"查询成功"}`,
	`{"Result":{"Id":"145695151793ad28f7ffd5d8a24cd6191","Data":{"产品名称及单元(主)":"","发证机构批准号":"CNCA-R-2015-189","证书编号":"17418Q20358R1M"},"Schema":null},"Status":"200","Message":"【有效请求】查询成功","OrderNumber":null}`,
	`{"Status":"201","Message":"【有效请求】查询无结果"}`,
	`{"status":201,"result":null}`,
	`{"Status":"110","Message":"【有效请求】当前相同查询连续出错，请等 2 小时后重试"}`,
	`{"STATUS":"200 ","RESULT":[{"ID":1,"STARTDATE":"2021/04/12","ENDDATE":"2021-04-12T00:00:00Z"}],"PAGING":{"PAGESIZE":"20"}}`,
	`{"Status":"200","Result":{"Id":"x","Data":"{\"a\":1}"}}`,
	`{"Status":"200","Result":{"Id":"x","Data":{"n":null,"b":true,"o":{"k":[1,2]}}}}`,
	`{"Status":200.0,"OrderNumber":123}`,
	`<html>502</html>`,
	`{"Status":"200","Result":[{"Id":`,
	``,
	`null`,
}

// FuzzDecodeEnvelope runs its seeds in every go test. Decoding must never
// panic, must be deterministic, and what it returns must keep the
// invariants callers rely on.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	redact := strings.NewReplacer(canarySecret, redacted)
	f.Fuzz(func(t *testing.T, body []byte) {
		if s := bodySnippet(body, redact); !utf8.ValidString(s) || utf8.RuneCountInString(s) > snippetRunes+1 {
			t.Fatalf("bad snippet %q", s)
		}
		env, err := decodeEnvelope(body)
		env2, err2 := decodeEnvelope(body)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(env, env2) {
			t.Fatalf("decoding is not deterministic: %+v %v / %+v %v", env, err, env2, err2)
		}
		if err != nil {
			return
		}
		if env.Result != nil && isNull(env.Result) {
			t.Fatal("a null Result was kept")
		}
		if items, err := decodeCertifications(env.Result); err == nil {
			if items == nil {
				t.Fatal("nil Items on success")
			}
			for _, it := range items {
				checkDate(t, it.StartDate)
				checkDate(t, it.EndDate)
			}
		} else if items != nil {
			t.Fatal("items returned with an error")
		}
		if _, fields, err := decodeDetail(env.Result); err == nil {
			if fields == nil {
				t.Fatal("nil Fields on success")
			}
			for _, f := range fields {
				if f.Null && f.Value != "" {
					t.Fatalf("null field %q has value %q", f.Name, f.Value)
				}
			}
		}
	})
}

func checkDate(t *testing.T, d time.Time) {
	t.Helper()
	if d.IsZero() {
		return
	}
	if d.Location() != Beijing || d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Nanosecond() != 0 || d.Year() <= 1 {
		t.Fatalf("date %v is not a Beijing midnight", d)
	}
}

// fastSeeds are answers in the document's shape and near misses of it,
// for the fast path's differential fuzz test.
var fastSeeds = []string{
	`{"Status":"200","Message":"ok","OrderNumber":"CERT1","Paging":{"PageSize":10,"PageIndex":1,"TotalRecords":2},"Result":[{"Id":"a","Name":"","Type":"cnca027","TypeDesc":"质量","No":"17418Q","StartDate":"2018-01-05 00:00:00","EndDate":"2027-01-04 00:00:00"},null]}`,
	`{"Status":200,"Paging":{"PageSize":"10","TotalRecords":"2.0"},"Result":[{"Id":"a","EndDate":"2027-01-04"}]}`,
	`{"status":"200","Result":[{"id":"a"}]}`,
	`{"Status":"200","Result":[{"Id":"a","ID":"b"}]}`,
	`{"Status":"200","Paging":{"PageSize":1},"Paging":{"TotalRecords":3}}`,
	`{"Status":"200","Result":[{"Id":"a","Id":"b"}]}`,
	`{"Status":"20\u0030","Message":"x\"y","Result":[]}`,
	`{"St\u0061tus":"102","Status":"200"}`,
	`{"ſtatus":"102","Status":"200"}`,
	`{"Status":" 201 ","Result":null}`,
	`{"Status":"200","Result":[{"Id":5}]}`,
	`{"Status":"200","Result":{"Id":"x","Data":{"名称":"a"}}}`,
	`{"Status":null}`,
	`null`,
	`{"Status":"1e2","Paging":null,"Result":[[]]}`,
}

// FuzzFastPathMatchesTolerant checks that whenever the typed fast path
// takes an answer, the tolerant decoding gives exactly the same result.
func FuzzFastPathMatchesTolerant(f *testing.F) {
	for _, s := range append(fastSeeds, fuzzSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.TrimPrefix(body, utf8BOM)
		if fast, ok := decodeEnvelopeFast(body); ok {
			slow, err := decodeEnvelopeTolerant(body)
			if err != nil || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast %+v, tolerant %+v (%v)", fast, slow, err)
			}
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return
		}
		raw, _ := lookup(obj, "Result")
		if len(bytes.TrimSpace(raw)) == 0 || isNull(raw) {
			return
		}
		if fast, ok := decodeCertificationsFast(raw); ok {
			slow, err := decodeCertificationsTolerant(raw)
			if err != nil || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast %+v, tolerant %+v (%v)", fast, slow, err)
			}
		}
	})
}

// TestFastPathTakesTheDocumentShape pins that the document's shape takes
// the fast path and that the near misses the tolerant decoding reads
// differently do not.
func TestFastPathTakesTheDocumentShape(t *testing.T) {
	for i, want := range []bool{true, true, false, false, false, false, true, false, false, false, true, true, false, false, true} {
		if _, ok := decodeEnvelopeFast([]byte(fastSeeds[i])); ok != want {
			t.Errorf("fast path on %s: %v, want %v", fastSeeds[i], ok, want)
		}
	}
}

// BenchmarkDecodeSearchAnswer decodes a search answer in the document's
// shape, 5 items, by the fast path and by the tolerant one.
func BenchmarkDecodeSearchAnswer(b *testing.B) {
	item := `{"Id":"a1b2","Name":"","Type":"cnca027","TypeDesc":"质量管理体系认证（ISO9000）","No":"17418Q20358R1M","StartDate":"2018-01-05 00:00:00","EndDate":"2027-01-04 00:00:00"}`
	body := []byte(`{"Paging":{"PageSize":10,"PageIndex":1,"TotalRecords":5},"Result":[` + strings.Repeat(item+",", 4) + item +
		`],"Status":"200","Message":"【有效请求】查询成功","OrderNumber":"CERT2026112712000000001"}`)
	for _, tc := range []struct {
		name   string
		decode func([]byte) (envelope, error)
		items  func(json.RawMessage) ([]Certification, error)
	}{
		{"fast", decodeEnvelope, decodeCertifications},
		{"tolerant", decodeEnvelopeTolerant, decodeCertificationsTolerant},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				env, err := tc.decode(body)
				if err != nil {
					b.Fatal(err)
				}
				if items, err := tc.items(env.Result); err != nil || len(items) != 5 {
					b.Fatal(err)
				}
			}
		})
	}
}
