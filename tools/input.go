package tools

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// Input that cannot succeed is refused here, before anything is sent: QCC
// bills a call whatever it answers, and a 10,000-character name only earns
// an HTTP 414 and a misleading hint.

// MaxCompanyLength bounds a company name after normalisation: a registered
// Chinese company name has at most a few dozen characters.
const MaxCompanyLength = 100

// MaxCertIDLength bounds a certificate id: QCC's have 33 to 36 characters.
const MaxCertIDLength = 64

// checkCompany normalises a company name for the argument arg and refuses
// one that cannot be a name: control characters, too short, too long.
func checkCompany(arg, raw string) (string, error) {
	for _, r := range raw {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return "", &argumentError{[]string{fmt.Sprintf("argument %q contains the control character %U; a company name cannot", arg, r)}}
		}
	}
	company := qcc.NormalizeCompanyName(raw)
	switch n := len([]rune(company)); {
	case n < qcc.MinSearchKeyLength:
		return "", &argumentError{[]string{fmt.Sprintf(
			"argument %q must have at least %d characters other than spaces, got %d", arg, qcc.MinSearchKeyLength, n)}}
	case n > MaxCompanyLength:
		return "", &argumentError{[]string{fmt.Sprintf(
			"argument %q must have at most %d characters after normalisation, got %d; a registered company name is far shorter", arg, MaxCompanyLength, n)}}
	}
	return company, nil
}

// checkCertID trims a certificate id and refuses one QCC cannot have
// issued: only letters, digits, - and _, at most MaxCertIDLength.
func checkCertID(raw string) (string, error) {
	id := strings.TrimSpace(raw)
	if id == "" {
		return "", &argumentError{[]string{`argument "cert_id" must not be blank`}}
	}
	if n := len([]rune(id)); n > MaxCertIDLength {
		return "", &argumentError{[]string{fmt.Sprintf(`argument "cert_id" must have at most %d characters, got %d; use an id exactly as search_certifications returned it`, MaxCertIDLength, n)}}
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", &argumentError{[]string{fmt.Sprintf(`argument "cert_id" may hold only letters, digits, - and _, got %q; use an id exactly as search_certifications returned it`, truncate(id, 40))}}
		}
	}
	return id, nil
}

// cacheLine tells an agent that an answer came from the cache and how old
// it is: a cached answer must not read like a fresh one.
func cacheLine(s Source, now time.Time) string {
	if s.Cache != "hit" {
		return ""
	}
	return string(appendCacheLine(nil, s, now))
}

// appendCacheLine appends cacheLine(s, now) to dst.
func appendCacheLine(dst []byte, s Source, now time.Time) []byte {
	if s.Cache != "hit" {
		return dst
	}
	at, err := time.Parse(time.RFC3339, s.FetchedAt)
	if err != nil {
		return append(dst, "Answered from this server's cache; no QCC call was made.\n"...)
	}
	dst = append(dst, "Answered from this server's cache, fetched "...)
	if d := now.Sub(at); d < time.Minute {
		dst = append(dst, "less than a minute"...)
	} else {
		dst = appendDuration(dst, d)
	}
	dst = appendBeijingTime(append(dst, " ago ("...), at)
	return append(dst, "); no QCC call was made. Set max_age_seconds to ask QCC again (billed).\n"...)
}
