package qcc

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Company names are written interchangeably with half-width and full-width
// parentheses and stray white space, while QCC's registered names use the
// full-width （） and match exactly. Normalising before the call and in
// cache keys makes "华信创(北京)检测技术有限公司" find the same company and
// share the same cached answer.

// NormalizeCompanyName trims s, collapses inner white space to one space and
// makes parentheses full-width. It returns s itself when nothing changes,
// which is the common case, so that cache hits do not allocate for it.
func NormalizeCompanyName(s string) string {
	if isNormalized(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case space:
			b.WriteByte(' ')
			space = false
		}
		switch r {
		case '(':
			r = '（'
		case ')':
			r = '）'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isNormalized(s string) bool {
	prevSpace := true // a leading space is not normal
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case r == '(' || r == ')':
			return false
		case unicode.IsSpace(r):
			if prevSpace || r != ' ' {
				return false
			}
			prevSpace = true
		default:
			prevSpace = false
		}
		i += n
	}
	return !prevSpace || s == ""
}
