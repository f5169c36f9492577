package sandbox

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDataset checks the invariants of data.json that tests of the whole
// server rely on.
func TestDataset(t *testing.T) {
	t.Parallel()
	d, err := parseDataset(dataJSON) // also checks detail field order and unique ids
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	idRE := regexp.MustCompile(`^[0-9a-f]{33}$`)
	categoryOfType := map[string]string{}
	var (
		total, withCerts, over20                         int
		nullEnd, emptyEnd, dateOnlyEnd, soon, numeric    int
		valid, expired, fullWidth, withoutCerts, nullVal int
	)
	names := map[string]bool{}
	for _, c := range d.Companies {
		if names[c.Name] {
			t.Errorf("company %s twice", c.Name)
		}
		names[c.Name] = true
		if strings.Contains(c.Name, "（") && strings.Contains(c.Name, "）") {
			fullWidth++
		}
		if !validCreditCode(c.CreditCode) && c.Name != "企查查科技有限公司" {
			t.Errorf("%s: credit code %q is not valid", c.Name, c.CreditCode)
		}
		switch n := len(c.Certificates); {
		case n == 0:
			withoutCerts++
		case n > 20:
			over20++
			fallthrough
		default:
			withCerts++
		}
		for i, cert := range c.Certificates {
			total++
			it := cert.Item
			if !idRE.MatchString(it.ID) {
				t.Errorf("%s: Id %q is not 33 lowercase hex digits", it.No, it.ID)
			}
			switch cert.Category {
			case "C_1", "C_5", "C_9", "C_13":
			default:
				t.Errorf("%s: category %q", it.No, cert.Category)
			}
			if prev, ok := categoryOfType[it.Type]; ok && prev != cert.Category {
				t.Errorf("type %s in categories %s and %s", it.Type, prev, cert.Category)
			}
			categoryOfType[it.Type] = cert.Category
			if it.Type == "cnca001" && it.Name == "" {
				t.Errorf("%s: a CCC certificate needs a product Name", it.No)
			}
			start, err := time.Parse(time.DateTime, it.StartDate)
			if err != nil {
				t.Errorf("%s: StartDate %q", it.No, it.StartDate)
			}
			if i > 0 && it.StartDate > c.Certificates[i-1].Item.StartDate {
				t.Errorf("%s: %s is not newest first", c.Name, it.No)
			}
			endDate := ""
			switch {
			case it.EndDate == nil:
				nullEnd++
			case *it.EndDate == "":
				emptyEnd++
			default:
				end, err := time.Parse(time.DateTime, *it.EndDate)
				if err != nil {
					end, err = time.Parse(time.DateOnly, *it.EndDate)
					dateOnlyEnd++
				}
				if err != nil || !end.After(start) {
					t.Errorf("%s: EndDate %q", it.No, *it.EndDate)
				}
				endDate = end.Format(time.DateOnly)
				switch {
				case end.Before(asOf):
					expired++
				case end.Before(asOf.AddDate(0, 3, 0)):
					soon++
				case end.Year() >= 2027 && end.Year() <= 2029:
					valid++
				}
			}

			var detail map[string]any
			if err := json.Unmarshal(cert.Detail, &detail); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"证书编号":          it.No,
				"企业名称":          c.Name,
				"获证组织基本信息-企业名称": c.Name,
				"获证组织基本信息-统一社会信用代码/组织机构代码": c.CreditCode,
				"颁证日期":   start.Format(time.DateOnly),
				"证书到期日期": endDate,
			}
			for k, v := range want {
				if detail[k] != v {
					t.Errorf("%s: detail %s = %v, want %v", it.No, k, detail[k], v)
				}
			}
			status := detail["证书状态"]
			if it.ID != "145695151793ad28f7ffd5d8a24cd6191" { // the document's example says 有效 as of 2021
				wantStatus := "有效"
				if endDate != "" && endDate < asOf.Format(time.DateOnly) {
					wantStatus = "过期"
				}
				if status != wantStatus && status != "撤销" {
					t.Errorf("%s: 证书状态 %v, want %s", it.No, status, wantStatus)
				}
			}
			for _, v := range detail {
				switch v.(type) {
				case float64:
					numeric++
				case nil:
					nullVal++
				}
			}
		}
	}

	checks := []struct {
		what      string
		got, want int
	}{
		{"companies with certificates", withCerts, 6},
		{"companies with more than 20 certificates", over20, 1},
		{"companies without certificates", withoutCerts, 1},
		{"names with full-width parentheses", fullWidth, 1},
		{"certificates", total, 53},
		{"null EndDate", nullEnd, 1},
		{"empty EndDate", emptyEnd, 1},
		{"EndDate without time", dateOnlyEnd, 1},
		{"expiring within 3 months", soon, 1},
		{"numbers in details", numeric, 2},
		{"nulls in details", nullVal, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	if valid < 10 || expired < 10 {
		t.Errorf("%d valid and %d expired certificates, want a mix", valid, expired)
	}
	if !names["企查查科技有限公司"] || len(d.byID) != total {
		t.Error("the document's company is missing or ids are not unique")
	}
	for _, id := range []string{"145695151793ad28f7ffd5d8a24cd6191", "295733c8d847882298539674ec7d74a71"} {
		if d.byID[id] == nil {
			t.Errorf("the document's certificate %s is missing", id)
		}
	}
	if got := Companies(); len(got) != len(d.Companies) || got[0] != "企查查科技有限公司" {
		t.Errorf("Companies() = %v", got)
	}
}

// validCreditCode checks the check characters of a unified social credit
// code (GB 32100-2015), including those of the embedded organisation code
// (GB 11714-1997).
func validCreditCode(code string) bool {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	if len(code) != 18 {
		return false
	}
	weights := []int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i, w := range weights {
		v := strings.IndexByte(alphabet, code[i])
		if v < 0 {
			return false
		}
		sum += v * w
	}
	if alphabet[(31-sum%31)%31] != code[17] {
		return false
	}
	org := code[8:17]
	sum = 0
	for i, w := range []int{3, 7, 9, 10, 5, 8, 4, 2} {
		v := strings.IndexByte("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", org[i])
		if v < 0 {
			return false
		}
		sum += v * w
	}
	check := "0123456789X0"[11-sum%11]
	return org[8] == check
}
