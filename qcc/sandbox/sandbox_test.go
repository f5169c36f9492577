package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

const (
	docCompany   = "企查查科技有限公司"
	bigCompany   = "苏州云帆智能制造股份有限公司" // the company with more than 20 certificates
	bigCount     = 23
	emptyCompany = "北京星河启明商贸有限公司"
	docCertID    = "145695151793ad28f7ffd5d8a24cd6191"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	sign := func(key, secret string, at time.Time) func(*http.Request) {
		return func(r *http.Request) {
			ts, token := qcc.Sign(key, secret, at)
			r.Header.Set("Timespan", ts)
			r.Header.Set("Token", token)
		}
	}
	setKey := func(key string) func(*http.Request) {
		return func(r *http.Request) {
			q := r.URL.Query()
			if key == "" {
				q.Del("key")
			} else {
				q.Set("key", key)
			}
			r.URL.RawQuery = q.Encode()
		}
	}
	tests := []struct {
		name   string
		change func(*http.Request)
		want   string
	}{
		{"valid", func(*http.Request) {}, "200"},
		{"wrong key", setKey("other-key"), "101"},
		{"missing key", setKey(""), "101"},
		{"missing Timespan", func(r *http.Request) { r.Header.Del("Timespan") }, "115"},
		{"Timespan not a number", func(r *http.Request) { r.Header.Set("Timespan", "yesterday") }, "115"},
		{"Timespan in milliseconds", func(r *http.Request) {
			ts, _ := qcc.Sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, fixedNow)
			r.Header.Set("Timespan", ts+"000")
		}, "115"},
		{"Timespan 11 minutes old", sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, fixedNow.Add(-11*time.Minute)), "115"},
		{"Timespan 11 minutes ahead", sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, fixedNow.Add(11*time.Minute)), "115"},
		{"Timespan 9 minutes old", sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, fixedNow.Add(-9*time.Minute)), "200"},
		{"Timespan 9 minutes ahead", sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, fixedNow.Add(9*time.Minute)), "200"},
		{"missing Token", func(r *http.Request) { r.Header.Del("Token") }, "107"},
		{"lowercase Token", func(r *http.Request) { r.Header.Set("Token", strings.ToLower(r.Header.Get("Token"))) }, "107"},
		{"Token with wrong secret", sign(sandbox.DemoAppKey, "wrong-secret", fixedNow), "107"},
		{"Token for another Timespan", func(r *http.Request) {
			_, token := qcc.Sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, fixedNow.Add(time.Second))
			r.Header.Set("Token", token)
		}, "107"},
		{"wrong key beats bad Token", func(r *http.Request) { setKey("other")(r); r.Header.Set("Token", "x") }, "101"},
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, "118"},
	}
	s := newSandbox(t)
	for _, tg := range targets(t, s) {
		for _, tt := range tests {
			for _, m := range []struct{ method, param, value string }{
				{qcc.MethodSearch, "searchKey", docCompany},
				{qcc.MethodDetail, "certId", docCertID},
			} {
				t.Run(tg.name+"/"+tt.name+"/"+m.method, func(t *testing.T) {
					req := newRequest(t, context.Background(), tg.base, m.method, url.Values{m.param: {m.value}})
					tt.change(req)
					wantStatus(t, do(t, tg, req), tt.want)
				})
			}
		}
	}
}

func TestConfigKeys(t *testing.T) {
	t.Parallel()
	// The zero Config takes the demo keys and the real clock.
	for _, tg := range targets(t, sandbox.New(sandbox.Config{})) {
		req := newRequest(t, context.Background(), tg.base, qcc.MethodSearch, values("searchKey", docCompany))
		ts, token := qcc.Sign(sandbox.DemoAppKey, sandbox.DemoSecretKey, time.Now())
		req.Header.Set("Timespan", ts)
		req.Header.Set("Token", token)
		wantStatus(t, do(t, tg, req), "200")
	}
	// Own keys replace the demo keys.
	own := sandbox.New(sandbox.Config{AppKey: "ak", SecretKey: "sk", Now: func() time.Time { return fixedNow }})
	for _, tg := range targets(t, own) {
		wantStatus(t, search(t, tg, "searchKey", docCompany), "101")
		req := newRequest(t, context.Background(), tg.base, qcc.MethodSearch, values("searchKey", docCompany, "key", "ak"))
		ts, token := qcc.Sign("ak", "sk", fixedNow)
		req.Header.Set("Timespan", ts)
		req.Header.Set("Token", token)
		wantStatus(t, do(t, tg, req), "200")
	}
}

// TestSearchDocumentExample checks the document's own example answer.
func TestSearchDocumentExample(t *testing.T) {
	t.Parallel()
	const docResult = `[
    {"Id": "145695151793ad28f7ffd5d8a24cd6191", "Name": "", "Type": "cnca027", "StartDate": "2021-04-12 00:00:00",
     "EndDate": "2024-05-15 00:00:00", "No": "17418Q20358R1M", "TypeDesc": "质量管理体系认证（ISO9000）"},
    {"Id": "295733c8d847882298539674ec7d74a71", "Name": "", "Type": "cnca058", "StartDate": "2020-12-10 00:00:00",
     "EndDate": "2022-12-27 00:00:00", "No": "18119IP6448R0M", "TypeDesc": "企业知识产权管理体系认证"}]`
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(docResult)); err != nil {
		t.Fatal(err)
	}
	orderRE := regexp.MustCompile(`^CERT20261127103000\d{6}$`)
	for _, tg := range targets(t, newSandbox(t)) {
		t.Run(tg.name, func(t *testing.T) {
			a := search(t, tg, "searchKey", docCompany, "pageSize", "2")
			wantStatus(t, a, "200")
			if *a.Env.Paging != (paging{PageSize: 2, PageIndex: 1, TotalRecords: 5}) {
				t.Errorf("Paging %+v", *a.Env.Paging)
			}
			// Byte equality also pins the field order of the items.
			if !bytes.Equal(a.Env.Result, compact.Bytes()) {
				t.Errorf("Result\n%s\nwant\n%s", a.Env.Result, compact.Bytes())
			}
			if *a.Env.Message != "【有效请求】查询成功" {
				t.Errorf("Message %q", *a.Env.Message)
			}
			if a.Env.OrderNumber == nil || !orderRE.MatchString(*a.Env.OrderNumber) {
				t.Errorf("OrderNumber %v", a.Env.OrderNumber)
			}
			if a.Header.Get("Content-Length") != strconv.Itoa(len(a.Body)) {
				t.Errorf("Content-Length %q for %d bytes", a.Header.Get("Content-Length"), len(a.Body))
			}
		})
	}
}

func TestSearchPaging(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t, newSandbox(t)) {
		all := search(t, tg, "searchKey", bigCompany, "pageSize", "20")
		wantStatus(t, all, "200")
		if all.Env.Paging.TotalRecords != bigCount {
			t.Fatalf("TotalRecords %d, want %d", all.Env.Paging.TotalRecords, bigCount)
		}
		var want []string
		for page := 1; ; page++ {
			a := search(t, tg, "searchKey", bigCompany, "pageSize", "20", "pageIndex", strconv.Itoa(page))
			if a.status() == "201" {
				break
			}
			for _, it := range a.items(t) {
				want = append(want, it.Id)
			}
		}
		if len(want) != bigCount {
			t.Fatalf("%d items over the pages of 20, want %d", len(want), bigCount)
		}
		for _, size := range []int{1, 3, 5, 7, 10, 20} {
			t.Run(tg.name+"/pageSize="+strconv.Itoa(size), func(t *testing.T) {
				var got []string
				seen := map[string]bool{}
				pages := (bigCount + size - 1) / size
				for page := 1; page <= pages+1; page++ {
					a := search(t, tg, "searchKey", bigCompany, "pageSize", strconv.Itoa(size), "pageIndex", strconv.Itoa(page))
					if page > pages {
						wantStatus(t, a, "201") // past the last page
						break
					}
					wantStatus(t, a, "200")
					if want := (paging{size, page, bigCount}); *a.Env.Paging != want {
						t.Errorf("Paging %+v, want %+v", *a.Env.Paging, want)
					}
					items := a.items(t)
					if wantLen := min(size, bigCount-(page-1)*size); len(items) != wantLen {
						t.Errorf("page %d has %d items, want %d", page, len(items), wantLen)
					}
					for _, it := range items {
						if seen[it.Id] {
							t.Errorf("duplicate %s", it.Id)
						}
						seen[it.Id] = true
						got = append(got, it.Id)
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("pages of %d concatenate to\n%v\nwant\n%v", size, got, want)
				}
			})
		}
		// Without pageSize and pageIndex: the first 10.
		a := search(t, tg, "searchKey", bigCompany)
		if *a.Env.Paging != (paging{10, 1, bigCount}) || len(a.items(t)) != 10 {
			t.Errorf("defaults: Paging %+v, %d items", *a.Env.Paging, len(a.items(t)))
		}
	}
}

func TestSearchParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		kv    []string
		want  string
		total int // TotalRecords when want is 200
	}{
		{"pageSize 21", []string{"searchKey", docCompany, "pageSize", "21"}, "202", 0},
		{"pageSize 0", []string{"searchKey", docCompany, "pageSize", "0"}, "202", 0},
		{"pageSize -1", []string{"searchKey", docCompany, "pageSize", "-1"}, "202", 0},
		{"pageSize not a number", []string{"searchKey", docCompany, "pageSize", "ten"}, "202", 0},
		{"pageSize 20", []string{"searchKey", docCompany, "pageSize", "20"}, "200", 5},
		{"pageIndex 0", []string{"searchKey", docCompany, "pageIndex", "0"}, "202", 0},
		{"pageIndex not a number", []string{"searchKey", docCompany, "pageIndex", "first"}, "202", 0},
		{"pageIndex past the end", []string{"searchKey", docCompany, "pageIndex", "2"}, "201", 0},
		{"pageIndex huge", []string{"searchKey", docCompany, "pageIndex", "9223372036854775807"}, "201", 0},
		{"isExactlySame invalid", []string{"searchKey", docCompany, "isExactlySame", "yes"}, "202", 0},
		{"isExactlySame TRUE", []string{"searchKey", docCompany, "isExactlySame", "TRUE"}, "200", 5},
		{"searchKey missing", nil, "202", 0},
		{"searchKey blank", []string{"searchKey", "   "}, "202", 0},
		{"searchKey one character", []string{"searchKey", "企"}, "213", 0},
		{"searchKey one character padded", []string{"searchKey", " 企 ", "isExactlySame", "false"}, "213", 0},
		{"searchKey trimmed", []string{"searchKey", "  " + docCompany + " "}, "200", 5},
		{"no match", []string{"searchKey", "不存在的公司有限公司"}, "201", 0},
		{"company without certificates", []string{"searchKey", emptyCompany}, "201", 0},
		{"exact needs the whole name", []string{"searchKey", "科技"}, "201", 0},
		{"fuzzy", []string{"searchKey", "科技", "isExactlySame", "false"}, "200", 11},
		{"fuzzy False", []string{"searchKey", "科技", "isExactlySame", "False"}, "200", 11},
		{"fuzzy everything", []string{"searchKey", "有限公司", "isExactlySame", "false", "pageSize", "20"}, "200", 53},
		{"full-width parentheses", []string{"searchKey", "华信创（北京）检测技术有限公司"}, "200", 6},
		{"half-width parentheses", []string{"searchKey", "华信创(北京)检测技术有限公司"}, "200", 6},
		{"certCategory C_1", []string{"searchKey", bigCompany, "certCategory", "C_1"}, "200", 15},
		{"certCategory C_9", []string{"searchKey", bigCompany, "certCategory", "C_9"}, "200", 6},
		{"certCategory C_13", []string{"searchKey", bigCompany, "certCategory", "C_13"}, "200", 2},
		{"certCategory without certificates", []string{"searchKey", bigCompany, "certCategory", "C_5"}, "201", 0},
		{"certCategory unknown", []string{"searchKey", bigCompany, "certCategory", "C_99"}, "201", 0},
		{"certCategory blank", []string{"searchKey", bigCompany, "certCategory", " "}, "200", bigCount},
	}
	for _, tg := range targets(t, newSandbox(t)) {
		for _, tt := range tests {
			t.Run(tg.name+"/"+tt.name, func(t *testing.T) {
				a := search(t, tg, tt.kv...)
				wantStatus(t, a, tt.want)
				if tt.want == "200" && a.Env.Paging.TotalRecords != tt.total {
					t.Errorf("TotalRecords %d, want %d", a.Env.Paging.TotalRecords, tt.total)
				}
			})
		}
	}
}

func TestSearchFuzzyOrderAndCategory(t *testing.T) {
	t.Parallel()
	ids := func(items []item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Id)
		}
		return out
	}
	typeCategory := map[string]string{"cnca001": "C_1", "cnca011": "C_1", "cnca015": "C_1"}
	for _, tg := range targets(t, newSandbox(t)) {
		// Company by company in data set order, each in its own order.
		fuzzy := ids(search(t, tg, "searchKey", "科技", "isExactlySame", "false", "pageSize", "20").items(t))
		want := append(ids(search(t, tg, "searchKey", docCompany).items(t)),
			ids(search(t, tg, "searchKey", "深圳市海澜电子科技有限公司").items(t))...)
		if !slices.Equal(fuzzy, want) {
			t.Errorf("fuzzy 科技 gives\n%v\nwant\n%v", fuzzy, want)
		}
		for _, it := range search(t, tg, "searchKey", bigCompany, "certCategory", "C_1", "pageSize", "20").items(t) {
			if typeCategory[it.Type] != "C_1" {
				t.Errorf("certCategory C_1 returned %s (%s)", it.No, it.TypeDesc)
			}
		}
	}
}

// docDetailData is the Data object of the document's detail example.
const docDetailData = `{
"产品名称及单元(主)": "",
"发证机构批准号": "CNCA-R-2015-189",
"产品类别": "",
"获证组织基本信息-企业名称": "企查查科技有限公司",
"认证委托人-组织地址": "",
"是否覆盖多场所": "否",
"获证组织基本信息-邮政编码": "",
"认证委托人-所在国别地区": "",
"获证组织基本信息-统一社会信用代码/组织机构代码": "91320594088140947F",
"生产企业-组织名称": "",
"信息上报日期": "2021-04-14",
"获证组织基本信息-所在国别地区": "中国 江苏省",
"生产者(制造商)-统一社会信用代码/组织机构代码": "",
"初次获证日期": "2018-05-16",
"获证组织基本信息-本证书体系覆盖人数": "275",
"认证依据的标准和技术要求": "",
"发证机构地址": "鼓楼南街6号8层二单元802",
"颁证日期": "2021-04-12",
"变更日期": "",
"生产者(制造商)-组织地址": "",
"证书编号": "17418Q20358R1M",
"认证范围/认证覆盖的业务范围": "计算机软件开发及技术服务",
"认证覆盖的场所名称及地址": "",
"生产企业-组织地址": "",
"生产者(制造商)-所在国别地区": "",
"认证依据": "GB/T19001-2016 / ISO9001:2015",
"再认证次数": "1",
"发证机构电话": "13751754425",
"发证机构名称": "华信创(北京)认证中心有限公司",
"发证机构有效期": "2025-07-09",
"企业名称": "企查查科技有限公司",
"证书到期日期": "2024-05-15",
"发证机构状态": "有效",
"产品名称及单元(次)": "",
"生产者(制造商)-组织名称": "",
"证书状态": "有效",
"主认证证书号": "",
"发证机构网址": "www.hxccc.org",
"认证委托人-统一社会信用代码/组织机构代码": "",
"发证机构业务范围": "管理体系认证-质量管理体系认证, 管理体系认证-环境管理体系认证, 管理体系认证-职业健康安全管理体系认证, 管理体系认证-信息安全管理体系认证, 管理体系认证-信息技术服务管理体系认证, 服务认证-无形资产和土地服务, 服务认证-批发业和零售业服务, 服务认证-电力分配服务; 通过主要管道的燃气和水分分配服务, 服务认证-不动产服务, 服务认证-科学研究服务(研究和开发服务; 专业、科学和技术服务; 其他专业、科学和技术服务), 服务认证-支持性服务, 服务认证-在收费或合同基础上的生产服务, 服务认证-教育服务, 服务认证-卫生保健和社会福利服务, 服务认证-家庭服务, 产品认证-加工食品、饮料和烟草, 产品认证-纺织品、服装和皮革制品, 产品认证-木材和木制品; 纸浆、纸和纸制品, 印刷品, 产品认证-化工类产品, 产品认证-建材产品, 国推认证-有机产品(OGA), 国推认证-良好农业规范, 国推认证-食品安全管理体系, 国推认证-危害分析与关键控制点, 国推认证-能源管理体系, 国推认证-中国森林认证",
"是否是子证书": "",
"监督次数": "0",
"认证相关员工数量": "",
"获证组织基本信息-组织地址": "江苏省苏州工业园区东长路 88 号 C1 幢 5 层 503 室; 江苏省苏州工业园区东长路 88 号 C1 幢 5 层 503 室; 江苏省苏州工业园区东长路 88 号 C1 幢 5 层 503 室",
"规格型号": "",
"认证委托人-组织名称": "",
"服务认证所属领域": "",
"证书使用的认可标识": "CNAS"
}`

// objectKeys returns the keys of a JSON object in order.
func objectKeys(t testing.TB, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.200s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

type detailResult struct {
	Id     string
	Data   json.RawMessage
	Schema json.RawMessage
}

func TestDetailFieldsFollowTheDocument(t *testing.T) {
	t.Parallel()
	if got := objectKeys(t, []byte(docDetailData)); !slices.Equal(sandbox.DetailFields(), got) {
		t.Fatalf("DetailFields\n%v\nwant the document's\n%v", sandbox.DetailFields(), got)
	}
}

func TestDetailDocumentExample(t *testing.T) {
	t.Parallel()
	var want bytes.Buffer
	if err := json.Compact(&want, []byte(docDetailData)); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets(t, newSandbox(t)) {
		t.Run(tg.name, func(t *testing.T) {
			a := detail(t, tg, docCertID)
			wantStatus(t, a, "200")
			if got := objectKeys(t, a.Body); !slices.Equal(got, []string{"Result", "Status", "Message", "OrderNumber"}) {
				t.Errorf("envelope keys %v", got)
			}
			if got := objectKeys(t, a.Env.Result); !slices.Equal(got, []string{"Id", "Data", "Schema"}) {
				t.Errorf("Result keys %v", got)
			}
			var r detailResult
			if err := json.Unmarshal(a.Env.Result, &r); err != nil {
				t.Fatal(err)
			}
			if r.Id != docCertID || string(r.Schema) != "null" {
				t.Errorf("Id %q, Schema %s", r.Id, r.Schema)
			}
			if !bytes.Equal(r.Data, want.Bytes()) {
				t.Errorf("Data differs from the document's example:\n%s", r.Data)
			}
		})
	}
}

// TestDetailOfEverySearchItem fetches the detail of every certificate of
// the data set, found through a fuzzy search.
func TestDetailOfEverySearchItem(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t, newSandbox(t)) {
		var items []item
		for page := 1; ; page++ {
			a := search(t, tg, "searchKey", "公司", "isExactlySame", "false", "pageSize", "20", "pageIndex", strconv.Itoa(page))
			if a.status() == "201" {
				break
			}
			items = append(items, a.items(t)...)
		}
		if len(items) != 53 {
			t.Errorf("%d certificates, want 53", len(items))
		}
		for _, it := range items {
			a := detail(t, tg, it.Id)
			wantStatus(t, a, "200")
			var r detailResult
			if err := json.Unmarshal(a.Env.Result, &r); err != nil {
				t.Fatal(err)
			}
			if got := objectKeys(t, r.Data); !slices.Equal(got, sandbox.DetailFields()) {
				t.Errorf("%s: detail fields %v", it.Id, got)
			}
			var data map[string]any
			if err := json.Unmarshal(r.Data, &data); err != nil {
				t.Fatal(err)
			}
			if r.Id != it.Id || data["证书编号"] != it.No {
				t.Errorf("detail of %s (%s): Id %s, 证书编号 %v", it.Id, it.No, r.Id, data["证书编号"])
			}
		}
	}
}

func TestDetailTolerantDecodingCase(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t, newSandbox(t)) {
		var id string
		for _, it := range search(t, tg, "searchKey", "杭州青禾软件技术有限公司").items(t) {
			if it.No == "17425I30212R2M" {
				id = it.Id
			}
		}
		a := detail(t, tg, id)
		for _, want := range []string{`"再认证次数":2,`, `"监督次数":1,`, `"变更日期":null,`} {
			if !bytes.Contains(a.Body, []byte(want)) {
				t.Errorf("detail of 17425I30212R2M lacks %s", want)
			}
		}
	}
}

func TestDetailParameters(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t, newSandbox(t)) {
		wantStatus(t, get(t, tg, qcc.MethodDetail, nil), "202")
		wantStatus(t, detail(t, tg, " "), "202")
		wantStatus(t, detail(t, tg, "0000000000000000000000000000000000"), "201")
		wantStatus(t, detail(t, tg, " "+docCertID+" "), "200")
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	for _, tg := range targets(t, s) {
		root := strings.TrimSuffix(tg.base, "/api/yj")
		for _, tt := range []struct {
			path string
			want int
		}{
			{"/api/yj/ECICertification/SearchCertification", http.StatusOK},
			{"/ECICertification/SearchCertification", http.StatusOK},
			{"/some/prefix/ecicertification/searchcertification", http.StatusOK},
			{"/api/yj/ECICertification/SearchCertificationX", http.StatusNotFound},
			{"/api/yj/AR/GetAnnualReportSummary", http.StatusNotFound},
			{"/", http.StatusNotFound},
		} {
			req := newRequest(t, context.Background(), root, "", values("searchKey", docCompany))
			req.URL.Path = tt.path
			if a := do(t, tg, req); a.HTTPStatus != tt.want {
				t.Errorf("%s %s: HTTP %d, want %d", tg.name, tt.path, a.HTTPStatus, tt.want)
			}
		}
	}
	if got := s.TotalCalls(); got != 6 {
		t.Errorf("TotalCalls %d, want 6: 404s are not counted", got)
	}
}
