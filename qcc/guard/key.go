package guard

import (
	"strconv"
	"strings"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// Cache keys name the method and every argument that changes QCC's
// answer, in a fixed order, with free text quoted so that no two argument
// lists share a key. They never contain credentials: the guard never sees
// them. Keys double as the names of 110 cooldowns, which QCC applies to
// "the same query".

// searchQuery returns the parameters to send for p and their cache key.
// The search key is normalised as QCC's users write company names
// interchangeably: surrounding white space dropped, inner runs of white
// space collapsed to one space, and half-width parentheses turned into the
// full-width ones of registered Chinese names. The normalised text is also
// what is sent, so a cached answer is always the answer to its own key.
func searchQuery(p qcc.SearchParams) (qcc.SearchParams, string) {
	p.SearchKey = qcc.NormalizeCompanyName(p.SearchKey)
	p.CertCategory = strings.TrimSpace(p.CertCategory)
	size, page := p.PageSize, p.PageIndex
	if size == 0 {
		size = qcc.DefaultPageSize // what QCC uses when none is sent
	}
	if page == 0 {
		page = 1
	}
	var buf [128]byte // on the stack: a typical key fits, and only the string is allocated
	b := append(buf[:0], "search "...)
	b = strconv.AppendQuote(b, p.SearchKey)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, p.CertCategory)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(page), 10)
	if p.Fuzzy {
		b = append(b, " fuzzy"...)
	} else {
		b = append(b, " exact"...)
	}
	return p, string(b)
}

// detailQuery returns the certificate id to send and its cache key.
func detailQuery(certID string) (string, string) {
	certID = strings.TrimSpace(certID)
	var buf [80]byte
	b := append(buf[:0], "detail "...)
	b = strconv.AppendQuote(b, certID)
	return certID, string(b)
}
