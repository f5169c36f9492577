package qcc

import "time"

// The QCC methods this package calls, as they appear in the URL path.
const (
	MethodSearch = "ECICertification/SearchCertification"
	MethodDetail = "ECICertification/GetCertificationDetailById"
)

// Limits of the search method, from the vendor document.
const (
	MinSearchKeyLength = 2
	MaxPageSize        = 20
	DefaultPageSize    = 10
)

// SearchParams are the arguments of SearchCertification.
type SearchParams struct {
	// SearchKey is the company name (searchKey), at least 2 characters.
	SearchKey string
	// CertCategory is an optional QCC certificate category code such as "C_9".
	CertCategory string
	// PageSize is 1 to 20; 0 sends nothing and QCC uses 10.
	PageSize int
	// PageIndex is 1 or more; 0 sends nothing and QCC uses 1.
	PageIndex int
	// Fuzzy asks for a keyword match (isExactlySame=false). The zero value
	// asks for an exact company-name match, QCC's default.
	Fuzzy bool
}

// Certification is one item of a search result.
type Certification struct {
	ID   string // Id
	Name string // Name: product name, often empty for system certifications
	Type string // Type: QCC's internal type code, e.g. "cnca027"
	// TypeDesc describes the type, e.g. "质量管理体系认证（ISO9000）".
	TypeDesc string
	No       string // No: the certificate number
	// StartDate and EndDate are dates at midnight Beijing time, or the zero
	// time when QCC gives none or something that is not a date.
	StartDate time.Time
	EndDate   time.Time
}

// Paging is the paging block of a search result.
type Paging struct {
	PageSize     int
	PageIndex    int
	TotalRecords int
}

// SearchResult is the answer of SearchCertification. A search that QCC
// answers with 201 ("no result") is a SearchResult with no Items and
// Status 201, not an error.
type SearchResult struct {
	Items       []Certification
	Paging      Paging
	OrderNumber string
	// Status is QCC's status code: 200, or 201 for no result.
	Status  int
	Message string
	// FetchedAt is when the answer arrived from QCC.
	FetchedAt time.Time
	// Cache says how a caching layer in front of the client obtained the
	// answer, in that layer's words (qcc/guard: "hit", "miss" or
	// "coalesced"); empty from the client, which knows no cache.
	Cache string
}

// Field is one field of a certificate's detail record, under its original
// (Chinese) name. Numbers arrive as their decimal text, null as "" with
// Null set, and nested JSON as its compact text.
type Field struct {
	Name  string
	Value string
	Null  bool
}

// CertificationDetail is the answer of GetCertificationDetailById.
type CertificationDetail struct {
	ID string
	// Fields are the Data object's fields in QCC's order.
	Fields      []Field
	OrderNumber string
	Status      int
	Message     string
	FetchedAt   time.Time
	// Cache is as for SearchResult.
	Cache string
}

// Get returns the value of the named field and whether it is present.
func (d *CertificationDetail) Get(name string) (string, bool) {
	for _, f := range d.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}
