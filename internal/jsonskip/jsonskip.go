// Package jsonskip finds where JSON tokens end, without decoding them:
// the stdio drain reads a message's top-level keys with it, and the HTTP
// front walks a request body's. It checks only what finding an end
// needs; whether the whole is valid JSON is the caller's to ask
// (json.Valid) where it matters.
package jsonskip

// Space returns the index of the first byte at or after i that is not
// JSON whitespace.
func Space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// String returns the index after the string starting at b[i] ('"'), or
// -1 when it does not end.
func String(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// Value returns the index after the value starting at b[i], or -1 when
// none ends there. Of a scalar it reads up to the next delimiter without
// checking its spelling.
func Value(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return String(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := String(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && !endsScalar(b[j]) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
