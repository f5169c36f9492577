package sandbox

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// dataJSON is the demo data set. It is the source of truth: edit it by hand
// and run the tests, which check its invariants (detail field order, unique
// ids, newest-first order, ...).
//
//go:embed data.json
var dataJSON []byte

// loadDataset parses dataJSON once. The result is never modified, so every
// Sandbox shares it.
var loadDataset = sync.OnceValue(func() *dataset {
	d, err := parseDataset(dataJSON)
	if err != nil {
		panic("sandbox: embedded data.json: " + err.Error())
	}
	return d
})

// detailFields are the keys of a certificate detail's Data object, in the
// order of the vendor document's example answer.
var detailFields = []string{
	"产品名称及单元(主)",
	"发证机构批准号",
	"产品类别",
	"获证组织基本信息-企业名称",
	"认证委托人-组织地址",
	"是否覆盖多场所",
	"获证组织基本信息-邮政编码",
	"认证委托人-所在国别地区",
	"获证组织基本信息-统一社会信用代码/组织机构代码",
	"生产企业-组织名称",
	"信息上报日期",
	"获证组织基本信息-所在国别地区",
	"生产者(制造商)-统一社会信用代码/组织机构代码",
	"初次获证日期",
	"获证组织基本信息-本证书体系覆盖人数",
	"认证依据的标准和技术要求",
	"发证机构地址",
	"颁证日期",
	"变更日期",
	"生产者(制造商)-组织地址",
	"证书编号",
	"认证范围/认证覆盖的业务范围",
	"认证覆盖的场所名称及地址",
	"生产企业-组织地址",
	"生产者(制造商)-所在国别地区",
	"认证依据",
	"再认证次数",
	"发证机构电话",
	"发证机构名称",
	"发证机构有效期",
	"企业名称",
	"证书到期日期",
	"发证机构状态",
	"产品名称及单元(次)",
	"生产者(制造商)-组织名称",
	"证书状态",
	"主认证证书号",
	"发证机构网址",
	"认证委托人-统一社会信用代码/组织机构代码",
	"发证机构业务范围",
	"是否是子证书",
	"监督次数",
	"认证相关员工数量",
	"获证组织基本信息-组织地址",
	"规格型号",
	"认证委托人-组织名称",
	"服务认证所属领域",
	"证书使用的认可标识",
}

// DetailFields returns the field names of a certificate detail's Data
// object in the order of the vendor document, which is the order the
// sandbox answers them in.
func DetailFields() []string {
	return append([]string(nil), detailFields...)
}

// Companies returns the names of the demo companies in the data set's
// order. The last one, 北京星河启明商贸有限公司, holds no certificate, so an
// exact search for it answers 201.
func Companies() []string {
	d := loadDataset()
	names := make([]string, len(d.Companies))
	for i, c := range d.Companies {
		names[i] = c.Name
	}
	return names
}

type dataset struct {
	Companies []company `json:"companies"`
	byID      map[string]*certificate
}

type company struct {
	Name         string        `json:"name"`
	CreditCode   string        `json:"creditCode"`
	Certificates []certificate `json:"certificates"`
	matchName    string
}

type certificate struct {
	// Category is the certCategory code the search filters on.
	Category string     `json:"category"`
	Item     searchItem `json:"item"`
	// Detail is the Data object of GetCertificationDetailById, kept as raw
	// JSON so that its field order and value types (numbers, null) reach
	// the client unchanged.
	Detail json.RawMessage `json:"detail"`
}

// searchItem is one element of SearchCertification's Result, with the
// fields in the vendor document's order. EndDate is a pointer because some
// certificates have a JSON null there.
type searchItem struct {
	ID        string  `json:"Id"`
	Name      string  `json:"Name"`
	Type      string  `json:"Type"`
	StartDate string  `json:"StartDate"`
	EndDate   *string `json:"EndDate"`
	No        string  `json:"No"`
	TypeDesc  string  `json:"TypeDesc"`
}

func parseDataset(raw []byte) (*dataset, error) {
	var d dataset
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	d.byID = make(map[string]*certificate)
	for i := range d.Companies {
		c := &d.Companies[i]
		c.matchName = normalizeName(c.Name)
		for j := range c.Certificates {
			cert := &c.Certificates[j]
			if cert.Item.ID == "" {
				return nil, fmt.Errorf("%s: certificate %q has no Id", c.Name, cert.Item.No)
			}
			if _, dup := d.byID[cert.Item.ID]; dup {
				return nil, fmt.Errorf("duplicate certificate Id %s", cert.Item.ID)
			}
			keys, err := objectKeys(cert.Detail)
			if err != nil {
				return nil, fmt.Errorf("certificate %s: detail: %w", cert.Item.ID, err)
			}
			if strings.Join(keys, "\n") != strings.Join(detailFields, "\n") {
				return nil, fmt.Errorf("certificate %s: detail fields differ from the document's list or order", cert.Item.ID)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, cert.Detail); err != nil {
				return nil, err
			}
			cert.Detail = compact.Bytes()
			d.byID[cert.Item.ID] = cert
		}
	}
	return &d, nil
}

// objectKeys returns the keys of a JSON object in their order.
func objectKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// search returns the items of every company that matches key, in data set
// order, keeping only certificates of the given category when it is set.
func (d *dataset) search(key string, exact bool, category string) []searchItem {
	key = normalizeName(key)
	var items []searchItem
	for _, c := range d.Companies {
		if exact && c.matchName != key || !exact && !strings.Contains(c.matchName, key) {
			continue
		}
		for _, cert := range c.Certificates {
			if category == "" || cert.Category == category {
				items = append(items, cert.Item)
			}
		}
	}
	return items
}

// nameReplacer makes full-width and half-width parentheses equal, as
// registered Chinese company names are written with either.
var nameReplacer = strings.NewReplacer("（", "(", "）", ")")

func normalizeName(s string) string {
	return nameReplacer.Replace(strings.TrimSpace(s))
}
