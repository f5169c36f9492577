package qcc

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The fast path: QCC's answers as the vendor document shows them (exact
// key spelling, Status a number or numeric string, text fields strings)
// decode straight into typed structs, about a third of the time and
// allocations of the tolerant map walk. An answer fits the fast path only
// when the typed decoding cannot differ from the tolerant one: encoding/json
// also matches keys case-insensitively, but where the tolerant decoding
// picks among case variants in sorted order, the typed one takes the last,
// and a repeated object key merges where the map keeps the last. So an
// answer with a key that is a case variant of a known name, an escaped key
// (which could unescape to one), or a known name twice in one object goes
// the tolerant way; so does anything the typed decoding refuses.

// fastEnvelope is the envelope as the document shows it, its Result of
// type R: raw, or already typed for a search.
type fastEnvelope[R any] struct {
	// json.Number takes both 200 and "200" (and refuses "200 ", which
	// the tolerant path reads).
	Status      json.Number
	Message     string
	OrderNumber string
	Paging      *struct{ PageSize, PageIndex, TotalRecords json.Number }
	Result      R
}

// fastCertification is one search item as the document shows it.
type fastCertification struct {
	Id, Name, Type, TypeDesc, No, StartDate, EndDate string
}

// decodeEnvelopeFast decodes body when it fits the fast path; ok false
// means it must go the tolerant way (which may still succeed).
func decodeEnvelopeFast(body []byte) (envelope, bool) {
	var fe fastEnvelope[json.RawMessage]
	if json.Unmarshal(body, &fe) != nil || !cleanKeys(body) {
		return envelope{}, false
	}
	env, ok := fe.envelope()
	if ok && len(fe.Result) > 0 && !isNull(fe.Result) {
		env.Result = fe.Result
	}
	return env, ok
}

// envelope converts all but the Result; ok false when Status is not an
// integer.
func (fe *fastEnvelope[R]) envelope() (envelope, bool) {
	status, ok := parseIntText(string(fe.Status))
	if !ok {
		return envelope{}, false
	}
	env := envelope{Status: status, Message: fe.Message, OrderNumber: fe.OrderNumber}
	if p := fe.Paging; p != nil {
		num := func(n json.Number) int { v, _ := parseIntText(string(n)); return v }
		env.Paging = Paging{PageSize: num(p.PageSize), PageIndex: num(p.PageIndex), TotalRecords: num(p.TotalRecords)}
	}
	return env, true
}

// decodeSearchFast decodes a search answer's envelope and items in one
// pass when it fits the fast path: the same result as decodeEnvelopeFast
// followed by decodeCertifications, with the body read once instead of
// twice (its Result a second time). The envelope it returns has no raw
// Result; items is the list of a status 200 answer. ok false means: go
// the two-step way.
func decodeSearchFast(body []byte) (env envelope, items []Certification, ok bool) {
	if env, items, ok := scanSearch(body); ok {
		return env, items, true // what decodeSearchJSON gives, faster
	}
	return decodeSearchJSON(body)
}

// decodeSearchJSON is decodeSearchFast through encoding/json, for the
// answers scanSearch leaves to it.
func decodeSearchJSON(body []byte) (env envelope, items []Certification, ok bool) {
	var fe fastEnvelope[[]*fastCertification]
	if json.Unmarshal(body, &fe) != nil || !cleanKeys(body) {
		return envelope{}, nil, false
	}
	if env, ok = fe.envelope(); !ok {
		return envelope{}, nil, false
	}
	return env, certificationsOf(fe.Result), true
}

// decodeCertificationsFast decodes a search's Result when it fits the fast
// path.
func decodeCertificationsFast(raw []byte) ([]Certification, bool) {
	var list []*fastCertification
	if json.Unmarshal(raw, &list) != nil || !cleanKeys(raw) {
		return nil, false
	}
	return certificationsOf(list), true
}

// certificationsOf converts typed items; never nil.
func certificationsOf(list []*fastCertification) []Certification {
	items := make([]Certification, 0, len(list))
	for _, c := range list {
		if c == nil { // a null item, skipped as the tolerant path does
			continue
		}
		items = append(items, Certification{
			ID: c.Id, Name: c.Name, Type: c.Type, TypeDesc: c.TypeDesc, No: c.No,
			StartDate: parseDate(c.StartDate), EndDate: parseDate(c.EndDate),
		})
	}
	return items
}

// knownNames are the keys the typed structs read, at any depth. Each has
// a bit, for spotting one that comes twice in an object.
var knownNames = [...]string{"Status", "Message", "OrderNumber", "Paging", "Result",
	"PageSize", "PageIndex", "TotalRecords", "Id", "Name", "Type", "TypeDesc", "No", "StartDate", "EndDate"}

// maxKeyDepth bounds the nesting cleanKeys follows; deeper answers go the
// tolerant way.
const maxKeyDepth = 32

// cleanKeys reports whether raw, which must be valid JSON, has no object
// key that is escaped, is a case variant of a known name, or is a known
// name twice in one object.
func cleanKeys(raw []byte) bool {
	var seen [maxKeyDepth]uint32
	var inObject [maxKeyDepth]bool
	depth := 0
	key := false // the next string is an object key
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{', '[':
			if depth == maxKeyDepth {
				return false
			}
			inObject[depth], seen[depth] = raw[i] == '{', 0
			depth++
			key = raw[i] == '{'
		case '}', ']':
			depth--
			key = false
		case ',':
			key = depth > 0 && inObject[depth-1]
		case '"':
			j, escaped := i+1, false
			for ; j < len(raw) && raw[j] != '"'; j++ {
				if raw[j] == '\\' {
					escaped = true
					j++
				}
			}
			if key {
				if escaped || depth == 0 {
					return false
				}
				bit, ok := knownKey(raw[i+1 : j])
				if !ok || seen[depth-1]&bit != 0 {
					return false
				}
				seen[depth-1] |= bit
				key = false
			}
			i = j
		}
	}
	return true
}

// knownKey returns the bit of a known name k spells exactly (0 for any
// other key); ok is false when k is a case variant of a known name, which
// the two decodings may read differently.
func knownKey(k []byte) (bit uint32, ok bool) {
	ascii := true
	for _, c := range k {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for n, name := range knownNames {
		if ascii && len(k) != len(name) {
			continue // an ASCII key folds only to a name of its length
		}
		if string(k) == name {
			return 1 << n, true
		}
		if strings.EqualFold(string(k), name) {
			return 0, false
		}
	}
	return 0, true
}
