package stdio

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// idOf returns the key of a raw JSON-RPC id: a number or a string; null
// and other kinds have none (mcp-go answers them, but no client waits on
// such an id).
func idOf(raw []byte) (idKey, bool) {
	if len(raw) == 0 {
		return idKey{}, false
	}
	switch c := raw[0]; {
	case c == '"':
		return idKey{kind: kindString, v: hashString(raw[1 : len(raw)-1])}, true
	case c == '-' || c >= '0' && c <= '9':
		f, ok := parseNumber(raw)
		if !ok {
			return idKey{}, false
		}
		if f == 0 {
			f = 0 // -0 and 0 are one id
		}
		return idKey{kind: kindNumber, v: math.Float64bits(f)}, true
	}
	return idKey{}, false
}

// parseNumber reads a JSON number as float64, as encoding/json does for
// mcp-go. Plain integers of up to 15 digits, the usual ids, are read
// without strconv (and without the allocation of a string).
func parseNumber(raw []byte) (float64, bool) {
	digits, neg := raw, false
	if digits[0] == '-' {
		digits, neg = digits[1:], true
	}
	if len(digits) > 0 && len(digits) <= 15 {
		var n int64
		plain := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if plain {
			if neg {
				n = -n
			}
			return float64(n), true
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil || isRange(err)
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashString hashes the text of a JSON string's body (between the quotes)
// as encoding/json decodes it: escapes resolved, invalid UTF-8 and lone
// surrogates as U+FFFD. It does not allocate.
func hashString(s []byte) uint64 {
	h := uint64(fnvOffset)
	var enc [utf8.UTFMax]byte
	add := func(r rune) {
		n := utf8.EncodeRune(enc[:], r)
		for _, c := range enc[:n] {
			h ^= uint64(c)
			h *= fnvPrime
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch e := s[i+1]; e {
			case 'u':
				r, ok := hex4(s[i+2 : min(i+6, len(s))])
				if !ok {
					add(utf8.RuneError)
					i += 2
					continue
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if i+5 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s[i+2 : i+6]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								add(dec)
								i += 6
								continue
							}
						}
					}
					add(utf8.RuneError)
					continue
				}
				add(r)
			default:
				add(rune(unescape(e)))
				i += 2
			}
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		add(r) // RuneError for invalid bytes, as encoding/json
		i += size
	}
	return h
}

func unescape(e byte) byte {
	switch e {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return e // \" \\ \/
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) != 4 {
		return 0, false
	}
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
