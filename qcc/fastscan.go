package qcc

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// scanSearch is the one-pass search decoding without encoding/json's
// reflection: it reads an answer in the document's plainest shape and
// gives exactly what decodeSearchJSON gives for it, with two allocations
// for the whole answer (the items, and one string holding every text
// field) instead of one or more per field.
//
// It only ever takes an answer it is sure of: ok true means the body is
// valid JSON that encoding/json would decode into fastEnvelope without an
// error, and env and items are what that decoding and the conversions
// after it give. Whenever it is not sure (a value of a type the typed
// decoding would refuse, a Status that is null or not a plain integer, a
// number with a fraction or an exponent where one is read, a string to
// read with escapes in a number, a key that is not ASCII where keys are
// matched, nesting past maxKeyDepth, anything invalid), it says ok false
// and the caller decodes the answer as before; ok false never means the
// answer is refused. It checks the keys as cleanKeys does (an answer that
// cleanKeys refuses, it leaves to the caller), though following less
// nesting.
func scanSearch(body []byte) (env envelope, items []Certification, ok bool) {
	var s searchScanner // on the stack: its buffers hold a page of 20 items
	s.b = body
	if !s.envelope() {
		return envelope{}, nil, false
	}
	text := s.text() // every text field, one allocation
	at := func(sp span) string { return text[sp.off : sp.off+sp.n] }
	env = envelope{Status: s.status, Message: at(s.message), OrderNumber: at(s.orderNumber), Paging: s.paging}
	items = make([]Certification, s.nItems+len(s.moreItems))
	for i := range items {
		f := s.itemAt(i)
		items[i] = Certification{
			ID: at(f[0]), Name: at(f[1]), Type: at(f[2]), TypeDesc: at(f[3]), No: at(f[4]),
			StartDate: parseDate(at(f[5])), EndDate: parseDate(at(f[6])),
		}
	}
	return env, items, true
}

// span is a text field's place in the scanner's arena.
type span struct{ off, n int }

// itemSpans are one item's fields in the order of itemFields.
type itemSpans [7]span

var itemFields = [7]string{"Id", "Name", "Type", "TypeDesc", "No", "StartDate", "EndDate"}

type searchScanner struct {
	b []byte
	i int

	status               int
	statusSeen           bool
	message, orderNumber span
	paging               Paging

	// The text fields' values, one after the other: in arena while they
	// fit, then in bigArena. Fixed arrays rather than slices of them, so
	// that the scanner stays on its caller's stack.
	arena    [2048]byte
	nArena   int
	bigArena []byte
	// The items read: in items while they fit, then in moreItems.
	items     [MaxPageSize]itemSpans
	nItems    int
	moreItems []itemSpans
}

// keep appends a text field's value to the arena and returns its span.
func (s *searchScanner) keep(v []byte) span {
	off := s.nArena + len(s.bigArena)
	switch {
	case s.bigArena == nil && s.nArena+len(v) <= len(s.arena):
		s.nArena += copy(s.arena[s.nArena:], v)
	case s.bigArena == nil:
		s.bigArena = make([]byte, 0, 2*(s.nArena+len(v)))
		s.bigArena = append(s.bigArena, s.arena[:s.nArena]...)
		s.nArena = 0
		s.bigArena = append(s.bigArena, v...)
	default:
		s.bigArena = append(s.bigArena, v...)
	}
	return span{off: off, n: len(v)}
}

// text returns the arena as one string.
func (s *searchScanner) text() string {
	if s.bigArena != nil {
		return string(s.bigArena)
	}
	return string(s.arena[:s.nArena])
}

func (s *searchScanner) addItem(f *itemSpans) {
	if s.nItems < len(s.items) {
		s.items[s.nItems] = *f
		s.nItems++
		return
	}
	s.moreItems = append(s.moreItems, *f)
}

func (s *searchScanner) itemAt(i int) *itemSpans {
	if i < s.nItems {
		return &s.items[i]
	}
	return &s.moreItems[i-s.nItems]
}

func (s *searchScanner) ws() {
	for s.i < len(s.b) {
		switch s.peek() {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the byte at s.i, 0 at the end.
func (s *searchScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// next skips white space and returns the next byte, 0 at the end.
func (s *searchScanner) next() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// envelope reads the whole body: one object, nothing after it but white
// space.
func (s *searchScanner) envelope() bool {
	if s.next() != '{' {
		return false
	}
	if !s.open(1) {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, done, ok := s.key(first, true, &seen)
		if !ok {
			return false
		}
		if done {
			break
		}
		switch string(key) {
		case "Status":
			ok = s.statusValue()
		case "Message":
			ok = s.textValue(&s.message)
		case "OrderNumber":
			ok = s.textValue(&s.orderNumber)
		case "Paging":
			ok = s.pagingValue()
		case "Result":
			ok = s.result()
		default:
			ok = s.skip(1)
		}
		if !ok {
			return false
		}
	}
	if !s.statusSeen {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// open moves past the '{' of an object at depth, refusing to nest deeper
// than cleanKeys follows.
func (s *searchScanner) open(depth int) bool {
	if depth >= maxKeyDepth {
		return false
	}
	s.i++
	return true
}

// key reads the next member of an object up to its value: the comma
// before it unless first, its key, the colon. done is true at the object's
// end, past its '}'. A key must be a plain string that cleanKeys lets
// through (seen holds the known names met in this object); when matched,
// the object's keys are matched to fields, and a key must also be ASCII,
// which encoding/json matches to a field exactly as cleanKeys lets it
// (case-insensitively, so only the exact name can match).
func (s *searchScanner) key(first, matched bool, seen *uint32) (key []byte, done, ok bool) {
	c := s.next()
	switch {
	case c == '}':
		s.i++
		return nil, true, true
	case !first && c == ',':
		s.i++
		c = s.next()
	case !first:
		return nil, false, false
	}
	if c != '"' {
		return nil, false, false
	}
	start := s.i + 1
	end, plain := s.stringToken()
	if end < 0 || !plain {
		return nil, false, false
	}
	key = s.b[start : end-1]
	// cleanKeys's checks, key by key: no case variant of a known name,
	// no known name twice in one object.
	bit, known := knownKey(key)
	if !known || *seen&bit != 0 {
		return nil, false, false
	}
	*seen |= bit
	if matched {
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return nil, false, false
			}
		}
	}
	if s.next() != ':' {
		return nil, false, false
	}
	s.i++
	s.ws()
	return key, false, true
}

// stringToken checks the string whose opening quote is at s.i and moves
// past it. end is the index after the closing quote (-1 for an invalid
// string); plain means it holds no escape and is valid UTF-8, so its
// bytes are its value.
func (s *searchScanner) stringToken() (end int, plain bool) {
	plain = true
	ascii := true
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(s.b[start:j]) {
				plain = false
			}
			s.i = j + 1
			return j + 1, plain
		case c == '\\':
			plain = false
			j++
			if j >= len(s.b) {
				return -1, false
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) {
					return -1, false
				}
				for _, h := range s.b[j+1 : j+5] {
					if !isHex(h) {
						return -1, false
					}
				}
				j += 4
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return -1, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// textValue reads a string or null into the arena; null is "", as it leaves a
// string field untouched.
func (s *searchScanner) textValue(sp *span) bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
	default:
		return false
	}
	tok := s.i
	end, plain := s.stringToken()
	if end < 0 {
		return false
	}
	if plain {
		*sp = s.keep(s.b[tok+1 : end-1])
		return true
	}
	// Escapes or invalid UTF-8: encoding/json's own unquoting, so that
	// the value is exactly its (of a copy, so that the scanner's
	// buffers can stay on the stack).
	var v string
	if json.Unmarshal(bytes.Clone(s.b[tok:end]), &v) != nil {
		return false
	}
	*sp = s.keep([]byte(v))
	return true
}

func (s *searchScanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// number checks the JSON number at s.i and moves past it; end is the
// index after it, -1 when there is no valid number.
func (s *searchScanner) number() (end int) {
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	switch {
	case j < len(s.b) && s.b[j] == '0':
		j++
	case j < len(s.b) && s.b[j] >= '1' && s.b[j] <= '9':
		for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
			j++
		}
	default:
		return -1
	}
	if j < len(s.b) && s.b[j] == '.' {
		j++
		k := j
		for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
			j++
		}
		if j == k {
			return -1
		}
	}
	if j < len(s.b) && (s.b[j] == 'e' || s.b[j] == 'E') {
		j++
		if j < len(s.b) && (s.b[j] == '+' || s.b[j] == '-') {
			j++
		}
		k := j
		for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
			j++
		}
		if j == k {
			return -1
		}
	}
	s.i = j
	return j
}

// plainInt reads text that is -?(0|[1-9][0-9]*) of at most 18 digits,
// the integers that strconv.Atoi reads as they are written: the value
// parseIntText gives them. Anything else is left to encoding/json.
func plainInt(t []byte) (int, bool) {
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	if len(t) == 0 || len(t) > 18 || t[0] == '0' && len(t) > 1 {
		return 0, false
	}
	n := 0
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// intValue reads a json.Number field: a number, or a string holding one
// (json.Number takes both), as an integer; null leaves it "" (null true).
// ok false for anything else and for numbers other than plain integers.
func (s *searchScanner) intValue() (n int, null, ok bool) {
	switch c := s.peek(); {
	case c == 'n':
		return 0, true, s.literal("null")
	case c == '"':
		start := s.i + 1
		end, plain := s.stringToken()
		if end < 0 || !plain {
			return 0, false, false
		}
		n, ok = plainInt(s.b[start : end-1])
		return n, false, ok
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		end := s.number()
		if end < 0 {
			return 0, false, false
		}
		n, ok = plainInt(s.b[start:end])
		return n, false, ok
	}
	return 0, false, false
}

// statusValue reads Status, which must be an integer: a null one fails
// the typed decoding's conversion.
func (s *searchScanner) statusValue() bool {
	n, null, ok := s.intValue()
	if !ok || null {
		return false
	}
	s.status, s.statusSeen = n, true
	return true
}

// pagingValue reads Paging: null or an object of numbers; a null or
// unreadable number is 0, as in fastEnvelope.envelope.
func (s *searchScanner) pagingValue() bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		return false
	}
	if !s.open(2) {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, done, ok := s.key(first, true, &seen)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var field *int
		switch string(key) {
		case "PageSize":
			field = &s.paging.PageSize
		case "PageIndex":
			field = &s.paging.PageIndex
		case "TotalRecords":
			field = &s.paging.TotalRecords
		default:
			if !s.skip(2) {
				return false
			}
			continue
		}
		n, _, ok := s.intValue()
		if !ok {
			return false
		}
		*field = n
	}
}

// result reads Result: null, or a list of items and nulls.
func (s *searchScanner) result() bool {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '[':
	default:
		return false
	}
	s.i++
	if s.next() == ']' {
		s.i++
		return true
	}
	for {
		switch s.next() {
		case 'n':
			if !s.literal("null") { // a null item, skipped
				return false
			}
		case '{':
			if !s.item() {
				return false
			}
		default:
			return false
		}
		switch s.next() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// item reads one certificate object.
func (s *searchScanner) item() bool {
	var f itemSpans
	if !s.open(3) {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, done, ok := s.key(first, true, &seen)
		if !ok {
			return false
		}
		if done {
			break
		}
		ok = false
		for n, name := range itemFields {
			if string(key) == name {
				ok = s.textValue(&f[n])
				goto read
			}
		}
		ok = s.skip(3)
	read:
		if !ok {
			return false
		}
	}
	s.addItem(&f)
	return true
}

// skip checks any JSON value at s.i and moves past it.
func (s *searchScanner) skip(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		end, _ := s.stringToken()
		return end >= 0
	case c == '{':
		return s.objectAny(depth + 1)
	case c == '[':
		if depth+1 >= maxKeyDepth {
			return false
		}
		s.i++
		if s.next() == ']' {
			s.i++
			return true
		}
		for {
			s.ws()
			if !s.skip(depth + 1) {
				return false
			}
			switch s.next() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number() >= 0
	}
	return false
}

// objectAny checks an object nothing is read from; its keys may be any
// valid string.
func (s *searchScanner) objectAny(depth int) bool {
	if !s.open(depth) {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		_, done, ok := s.key(first, false, &seen)
		if !ok {
			return false
		}
		if done {
			return true
		}
		if !s.skip(depth) {
			return false
		}
	}
}
