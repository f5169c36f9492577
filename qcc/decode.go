package qcc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// QCC's answers are decoded tolerantly: the vendor document shows Status as
// a string, other QCC APIs send a number, key case varies between
// gateways, and dates come in several layouts. Only what makes an answer
// meaningless (no JSON object, no Status, a Result of the wrong shape) is
// an error.

// envelope is the wrapper QCC puts around every answer.
type envelope struct {
	Status      int
	Message     string
	OrderNumber string
	Paging      Paging
	// Result is the raw Result value; nil when it is absent or null.
	Result json.RawMessage
}

var utf8BOM = []byte("\xef\xbb\xbf")

// decodeEnvelope decodes QCC's wrapper. Keys match case-insensitively and
// unknown keys are ignored; Status may be a number or a numeric string.
// An answer shaped as the document shows it takes a typed fast path; any
// other goes the tolerant way, with the same result.
func decodeEnvelope(body []byte) (envelope, error) {
	body = bytes.TrimPrefix(body, utf8BOM) // some Windows-hosted gateways send one
	if env, ok := decodeEnvelopeFast(body); ok {
		return env, nil
	}
	return decodeEnvelopeTolerant(body)
}

// decodeSearch decodes a search answer: its envelope and, when the fast
// path took the whole answer in one pass, its items (nil otherwise: then
// decodeCertifications of the envelope's Result gives them).
func decodeSearch(body []byte) (envelope, []Certification, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	if env, items, ok := decodeSearchFast(body); ok {
		return env, items, nil
	}
	env, err := decodeEnvelope(body)
	return env, nil, err
}

// decodeEnvelopeTolerant decodes QCC's wrapper through a map, so that any
// spelling of the keys and any type of Status QCC has been seen to send
// is understood.
func decodeEnvelopeTolerant(body []byte) (envelope, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return envelope{}, fmt.Errorf("the answer is not a JSON object: %w", err)
	}
	raw, ok := lookup(obj, "Status")
	if !ok || isNull(raw) {
		return envelope{}, errors.New("the answer has no Status")
	}
	status, ok := parseInt(raw)
	if !ok {
		return envelope{}, errors.New("the answer's Status is not a number")
	}
	env := envelope{
		Status:      status,
		Message:     textOf(obj, "Message"),
		OrderNumber: textOf(obj, "OrderNumber"),
	}
	if raw, ok := lookup(obj, "Paging"); ok {
		env.Paging = decodePaging(raw)
	}
	if raw, ok := lookup(obj, "Result"); ok && !isNull(raw) {
		env.Result = raw
	}
	return env, nil
}

// decodeCertifications decodes a search's Result. The list is never nil,
// so callers can tell "no items" from "not decoded" by the error alone.
func decodeCertifications(raw json.RawMessage) ([]Certification, error) {
	items := []Certification{}
	if len(bytes.TrimSpace(raw)) == 0 || isNull(raw) {
		return items, nil
	}
	if items, ok := decodeCertificationsFast(raw); ok {
		return items, nil
	}
	return decodeCertificationsTolerant(raw)
}

// decodeCertificationsTolerant decodes a non-empty Result item by item
// through maps, reading any key spelling and value type.
func decodeCertificationsTolerant(raw json.RawMessage) ([]Certification, error) {
	items := []Certification{}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("the Result is not a list of certificates: %w", err)
	}
	for i, el := range elems {
		if isNull(el) {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(el, &obj); err != nil {
			return nil, fmt.Errorf("the Result's item %d is not an object: %w", i, err)
		}
		items = append(items, Certification{
			ID:        textOf(obj, "Id"),
			Name:      textOf(obj, "Name"),
			Type:      textOf(obj, "Type"),
			TypeDesc:  textOf(obj, "TypeDesc"),
			No:        textOf(obj, "No"),
			StartDate: parseDate(textOf(obj, "StartDate")),
			EndDate:   parseDate(textOf(obj, "EndDate")),
		})
	}
	return items, nil
}

// decodeDetail decodes a detail's Result: its Id and the Data object's
// fields in QCC's order. Fields is never nil.
func decodeDetail(raw json.RawMessage) (id string, fields []Field, err error) {
	if len(bytes.TrimSpace(raw)) == 0 || isNull(raw) {
		return "", nil, errors.New("the answer has status 200 but no Result")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", nil, fmt.Errorf("the Result is not an object: %w", err)
	}
	data, _ := lookup(obj, "Data")
	fields, err = decodeFields(data)
	if err != nil {
		return "", nil, err
	}
	return textOf(obj, "Id"), fields, nil
}

// decodeFields decodes Data into ordered fields. The document calls Data
// "the certificate's JSON", so a string holding a JSON object is accepted
// as well as the object itself.
func decodeFields(raw json.RawMessage) ([]Field, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return []Field{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("the Data is not a JSON object: %w", err)
		}
		inner := bytes.TrimSpace([]byte(s))
		if len(inner) == 0 || isNull(inner) {
			return []Field{}, nil
		}
		if inner[0] != '{' {
			return nil, errors.New("the Data is a string but not a JSON object")
		}
		raw = inner
	}
	if raw[0] != '{' {
		return nil, errors.New("the Data is not a JSON object")
	}
	fields, err := orderedFields(raw)
	if err != nil {
		return nil, fmt.Errorf("the Data is not a JSON object: %w", err)
	}
	return fields, nil
}

// orderedFields walks a JSON object with the token API because a map would
// lose QCC's field order, which groups related fields for a reader.
func orderedFields(raw []byte) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	fields := []Field{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("an object key is not a string")
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		text, null := scalarText(value)
		fields = append(fields, Field{Name: name, Value: text, Null: null})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the object")
	}
	return fields, nil
}

// lookup finds a key case-insensitively, preferring an exact match. When
// several keys differ only in case the choice is made in sorted order, so
// decoding the same bytes always gives the same result.
func lookup(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	var match string
	found := false
	for k := range obj {
		if strings.EqualFold(k, name) && (!found || k < match) {
			match, found = k, true
		}
	}
	if !found {
		return nil, false
	}
	return obj[match], true
}

// textOf returns a key's value as text, "" when absent or null.
func textOf(obj map[string]json.RawMessage, name string) string {
	raw, ok := lookup(obj, name)
	if !ok {
		return ""
	}
	s, _ := scalarText(raw)
	return s
}

// scalarText renders a JSON value as text: a string as is, a number as its
// literal, a bool as "true"/"false", an object or array as compact JSON.
// null is "" with null set.
func scalarText(raw json.RawMessage) (text string, null bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return "", true
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, false
		}
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err == nil {
			return b.String(), false
		}
	}
	return string(raw), false
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

// parseInt reads an integer sent as a number or a numeric string, with
// surrounding spaces ("201 ") and an integral fraction ("200.0") allowed.
func parseInt(raw json.RawMessage) (int, bool) {
	s, null := scalarText(raw)
	if null {
		return 0, false
	}
	return parseIntText(s)
}

// parseIntText is parseInt on a value's text.
func parseIntText(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

// decodePaging reads the Paging block; anything unreadable is left 0, as
// paging is informative and not worth failing a result over.
func decodePaging(raw json.RawMessage) Paging {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return Paging{}
	}
	num := func(name string) int {
		raw, ok := lookup(obj, name)
		if !ok {
			return 0
		}
		n, _ := parseInt(raw)
		return n
	}
	return Paging{PageSize: num("PageSize"), PageIndex: num("PageIndex"), TotalRecords: num("TotalRecords")}
}

// dateLayouts are the layouts QCC's dates have been seen in. Parsing
// accepts a fractional second after the seconds even when the layout has
// none, and "1"/"2" accept one or two digits.
var dateLayouts = []string{
	"2006-1-2 15:04:05",
	"2006-1-2",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-1-2 15:04:05Z07:00",
	"2006/1/2",
	"2006/1/2 15:04:05",
}

// parseDate returns the calendar date of a QCC date as midnight Beijing
// time; certificates are valid for whole days. A time with a zone is first
// moved to Beijing. Empty or unreadable input, and .NET's "no date"
// 0001-01-01, give the zero time.
func parseDate(s string) time.Time {
	if t, ok := parseDatePlain(s); ok {
		return t
	}
	return parseDateLayouts(s)
}

// parseDatePlain reads the two shapes QCC sends nearly always,
// "2006-01-02 15:04:05" and "2006-01-02", with every field in range and a
// year after 1: what parseDateLayouts gives for them (by its first or
// second layout), without trying layouts. ok false: any other text.
func parseDatePlain(s string) (time.Time, bool) {
	if len(s) != 10 && len(s) != 19 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	if year <= 1 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	if len(s) == 19 {
		if s[10] != ' ' || s[13] != ':' || s[16] != ':' {
			return time.Time{}, false
		}
		if h, m, sec := num(11, 2), num(14, 2), num(17, 2); h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 {
			return time.Time{}, false
		}
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, Beijing), true
}

// daysIn is the number of days of month in year.
func daysIn(month time.Month, year int) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseDateLayouts is parseDate by trying each layout.
func parseDateLayouts(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range dateLayouts {
		t, err := time.ParseInLocation(layout, s, Beijing)
		if err != nil {
			continue
		}
		b := t.In(Beijing)
		if b.Year() <= 1 {
			return time.Time{}
		}
		return time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, Beijing)
	}
	return time.Time{}
}

var (
	scriptOrStyle = regexp.MustCompile(`(?is)<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->`)
	htmlTag       = regexp.MustCompile(`(?s)<[^>]*>`)
)

// bodySnippet turns an error page into one short line of text fit for an
// error message: markup and control characters removed, secrets redacted,
// at most snippetRunes characters.
func bodySnippet(body []byte, redact *strings.Replacer) string {
	s := strings.ToValidUTF8(string(body), "")
	s = scriptOrStyle.ReplaceAllString(s, " ")
	s = htmlTag.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	// Redact before cutting, so a cut cannot leave half a secret behind
	// that no longer matches.
	s = redact.Replace(s)
	if r := []rune(s); len(r) > snippetRunes {
		s = string(r[:snippetRunes]) + "…"
	}
	return s
}
