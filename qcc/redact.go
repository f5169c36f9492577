package qcc

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// known holds the secrets of every Client made in this process, so that
// text which did not come through a Client's own error path (a panic
// value, say) can be cleaned the same way its errors are.
var known struct {
	mu    sync.RWMutex
	seen  map[string]bool
	pairs []string
	r     *redaction
}

// remember adds a client's keys to what Redact removes: the secret key
// raw and URL-escaped becomes [redacted], the app key its mask.
func remember(appKey, secretKey string) {
	known.mu.Lock()
	defer known.mu.Unlock()
	if known.seen == nil {
		known.seen = make(map[string]bool)
	}
	add := func(old, replacement string) {
		if old != "" && !known.seen[old] {
			known.seen[old] = true
			known.pairs = append(known.pairs, old, replacement)
		}
	}
	add(secretKey, redacted)
	add(url.QueryEscape(secretKey), redacted)
	add(appKey, maskKey(appKey))
	add(url.QueryEscape(appKey), maskKey(appKey))
	known.r = newRedaction(known.pairs)
}

// anywhereLength is the length from which a secret is removed wherever it
// occurs, even inside a longer word: text does not contain 16 characters
// of a key by chance. A shorter one (only a Client made directly with
// such a key has one; the server refuses them) is removed only where it
// stands whole, between characters that cannot belong to a key, so that
// a secret "t" does not eat every t of a message and show what it is.
const anywhereLength = 16

// redaction replaces secrets with their replacement: long ones wherever
// they occur, short ones only as whole occurrences.
type redaction struct {
	long  *strings.Replacer
	short []string // old, new pairs
}

// newRedaction builds a redaction from old, new pairs.
func newRedaction(pairs []string) *redaction {
	r := &redaction{}
	var long []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if len(pairs[i]) >= anywhereLength {
			long = append(long, pairs[i], pairs[i+1])
		} else if pairs[i] != "" {
			r.short = append(r.short, pairs[i], pairs[i+1])
		}
	}
	r.long = strings.NewReplacer(long...)
	return r
}

// Replace returns s with every secret replaced.
func (r *redaction) Replace(s string) string {
	s = r.long.Replace(s)
	for i := 0; i+1 < len(r.short); i += 2 {
		s = replaceWhole(s, r.short[i], r.short[i+1])
	}
	return s
}

// replaceWhole replaces the occurrences of old in s that are not part of
// a longer run of key characters.
func replaceWhole(s, old, replacement string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, old)
		if i < 0 {
			if b.Len() == 0 {
				return s
			}
			b.WriteString(rest)
			return b.String()
		}
		end := i + len(old)
		done := len(s) - len(rest) // bytes of s before rest
		whole := (done+i == 0 || !keyByte(s[done+i-1])) && (end == len(rest) || !keyByte(rest[end]))
		b.WriteString(rest[:i])
		if whole {
			b.WriteString(replacement)
		} else {
			b.WriteString(old)
		}
		rest = rest[end:]
	}
}

// keyByte reports whether c can be part of a key: QCC's keys are made of
// letters, digits, '-' and '_'.
func keyByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
}

// tokenShape matches a request Token: the upper-case hex MD5 that Sign
// makes (lower case too, as some proxies echo headers that way). A Token
// is derived from the secret key and replayable while its Timespan is
// fresh, so anything shaped like one is removed.
var tokenShape = regexp.MustCompile(`\b[0-9A-F]{32}\b|\b[0-9a-f]{32}\b`)

// Redact returns s without the secret key or the app key of any Client
// made in this process, and without anything shaped like a Token. It is
// the cleaning a Client applies to its own errors, for text from
// elsewhere that is about to be logged, such as a recovered panic's value.
func Redact(s string) string {
	known.mu.RLock()
	r := known.r
	known.mu.RUnlock()
	if r != nil {
		s = r.Replace(s)
	}
	return tokenShape.ReplaceAllString(s, redacted)
}
