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
	r     *strings.Replacer
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
	known.r = strings.NewReplacer(known.pairs...)
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
