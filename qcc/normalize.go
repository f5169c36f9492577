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

// NormalizeCompanyName trims s, collapses inner white space to one space,
// drops white space between two Chinese characters (a registered Chinese
// name has none: "企查查科技  有限公司" is 企查查科技有限公司) and makes
// parentheses full-width. It returns s itself when nothing changes,
// which is the common case, so that cache hits do not allocate for it.
func NormalizeCompanyName(s string) string {
	if isNormalized(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	space := false
	var prev rune
	for _, r := range s {
		switch r {
		case '(':
			r = '（'
		case ')':
			r = '）'
		}
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case space:
			if !chinese(prev) || !chinese(r) {
				b.WriteByte(' ')
			}
			space = false
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func isNormalized(s string) bool {
	prevSpace := true // a leading space is not normal
	var before rune   // the character before the last space
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
			if prevSpace && chinese(before) && chinese(r) {
				return false
			}
			prevSpace = false
			before = r
		}
		i += n
	}
	return !prevSpace || s == ""
}

// chinese reports whether r is a Chinese character or the full-width
// punctuation of registered names, between which no white space belongs.
func chinese(r rune) bool {
	return unicode.Is(unicode.Han, r) || r == '（' || r == '）' || r == '·'
}
