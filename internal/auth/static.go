package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"regexp"
	"strings"
)

// DefaultTokenName is the name of the caller of a file (or MCP_AUTH_TOKEN)
// that holds a single token without a name.
const DefaultTokenName = "default"

// StaticTokens are the named bearer tokens of --auth-token-file. Only their
// SHA-256 hashes are kept.
type StaticTokens struct {
	entries []staticEntry
}

type staticEntry struct {
	name string
	hash [sha256.Size]byte
}

// validName keeps names fit for log lines and metrics labels.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParseTokens reads a token file: either one token alone (the caller is
// named DefaultTokenName, as before several tokens were possible), or lines
// "NAME TOKEN". Blank lines and lines starting with # are skipped. Errors
// name the line, never the token.
func ParseTokens(data []byte) (*StaticTokens, error) {
	type line struct {
		n      int
		fields []string
	}
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		lines = append(lines, line{n, strings.Fields(text)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no token in the file")
	}
	if len(lines) == 1 && len(lines[0].fields) == 1 {
		return SingleToken(lines[0].fields[0]), nil
	}
	// The errors give line numbers and never a field: with the columns
	// swapped (TOKEN NAME) the rejected "name" is a token.
	s := &StaticTokens{}
	names := map[string]int{}
	hashes := map[[sha256.Size]byte]int{}
	for _, l := range lines {
		if len(l.fields) != 2 {
			return nil, fmt.Errorf("line %d: want NAME TOKEN (a name, a space, a token without spaces)", l.n)
		}
		name, token := l.fields[0], l.fields[1]
		if !validName.MatchString(name) {
			return nil, fmt.Errorf("line %d: the name (first column) must be 1 to 64 letters, digits or . _ @ - (it appears in logs and metrics); is the line TOKEN NAME instead of NAME TOKEN?", l.n)
		}
		if prev, ok := names[name]; ok {
			return nil, fmt.Errorf("line %d: the name is used twice (also on line %d)", l.n, prev)
		}
		h := sha256.Sum256([]byte(token))
		if prev, ok := hashes[h]; ok {
			return nil, fmt.Errorf("line %d: the token is also the token on line %d", l.n, prev)
		}
		names[name], hashes[h] = l.n, l.n
		s.entries = append(s.entries, staticEntry{name: name, hash: h})
	}
	return s, nil
}

// SingleToken is one unnamed token, as MCP_AUTH_TOKEN holds; its caller is
// named DefaultTokenName.
func SingleToken(token string) *StaticTokens {
	return &StaticTokens{entries: []staticEntry{{name: DefaultTokenName, hash: sha256.Sum256([]byte(token))}}}
}

// Names returns the token names in file order, for metrics and logs.
func (s *StaticTokens) Names() []string {
	names := make([]string, len(s.entries))
	for i, e := range s.entries {
		names[i] = e.name
	}
	return names
}

// Lookup returns the name of token's entry. Hashing first makes each
// comparison constant-time whatever the length of what the client sent, and
// every entry is compared, so the time does not tell which one matched.
func (s *StaticTokens) Lookup(token string) (string, bool) {
	got := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.entries {
		if subtle.ConstantTimeCompare(got[:], s.entries[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return s.entries[found].name, true
}
