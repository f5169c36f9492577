package sessions

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/internal/jsonskip"
)

// scan fills p from data in one pass when data is a message of the usual
// shape, and reports whether it did; otherwise p is left for Unmarshal,
// which NewBody falls back to. The usual shape: a valid JSON object whose
// keys, where they matter (the top level, params, params._meta), are
// ASCII without escapes, each of the keys read at most once, and whose
// method, params.name and protocol version are null or strings without
// escapes. Anything else (a duplicate, a key that only case folding of
// Unicode or an escape could match, a value of another type) is left to
// Unmarshal, so p means what it always meant: FuzzPeekMatchesUnmarshal
// holds the two together.
//
// It costs a validation pass and a walk of the top levels, where
// Unmarshal's reflection into the struct cost three times that on the
// HTTP front's every POST.
func scan(data []byte, p *Peek) bool {
	if !json.Valid(data) {
		return false
	}
	i := jsonskip.Space(data, 0)
	if data[i] != '{' {
		return false
	}
	var seenMethod, seenID, seenParams bool
	ok := members(data, i, func(key, val []byte) bool {
		switch {
		case !plainKey(key):
			return false
		case foldEq(key, "method"):
			return first(&seenMethod) && setString(&p.Method, val)
		case foldEq(key, "id"):
			p.ID = json.RawMessage(val)
			return first(&seenID)
		case foldEq(key, "params"):
			return first(&seenParams) && scanParams(val, p)
		}
		return true
	})
	if !ok {
		return false
	}
	p.OK, p.NameOK = true, true
	return true
}

// scanParams reads params.name and params._meta's protocol version.
func scanParams(val []byte, p *Peek) bool {
	if isNull(val) {
		return true
	}
	if val[0] != '{' {
		return false
	}
	var seenName, seenMeta bool
	return members(val, 0, func(key, v []byte) bool {
		switch {
		case !plainKey(key):
			return false
		case foldEq(key, "name"):
			return first(&seenName) && setString(&p.Name, v)
		case foldEq(key, "_meta"):
			if !first(&seenMeta) {
				return false
			}
			if isNull(v) {
				return true
			}
			if v[0] != '{' {
				return false
			}
			seenVersion := false
			return members(v, 0, func(key, v []byte) bool {
				if !plainKey(key) {
					return false
				}
				if !quietMetaKey(key) {
					p.Meta = true
				}
				if foldEq(key, "io.modelcontextprotocol/protocolversion") {
					return first(&seenVersion) && setString(&p.ProtocolVersion, v)
				}
				return true
			})
		}
		return true
	})
}

// quietMetaKey reports whether a key of params._meta is one of those
// protocol 2026-07-28 puts on every request, spelt as it defines them:
// keys that ask nothing of the transport (see Peek.Meta).
func quietMetaKey(key []byte) bool {
	switch string(key) {
	case mcp.MetaKeyProtocolVersion, mcp.MetaKeyClientInfo, mcp.MetaKeyClientCapabilities, mcp.MetaKeyLogLevel:
		return true
	}
	return false
}

// first reports whether a key is read for the first time: a key read
// twice is left to Unmarshal.
func first(seen *bool) bool {
	again := *seen
	*seen = true
	return !again
}

// setString stores v, a null or a string without escapes, in *dst as
// Unmarshal decodes it into a string (null leaves it); it reports false
// for anything else.
func setString(dst *string, v []byte) bool {
	if isNull(v) {
		return true
	}
	if v[0] != '"' || !plainString(v) {
		return false
	}
	*dst = string(v[1 : len(v)-1])
	return true
}

func isNull(v []byte) bool { return string(v) == "null" }

// plainKey reports whether a key can match a field only as its ASCII
// letters do: no escapes and no byte outside ASCII (encoding/json folds
// some Unicode letters onto ASCII ones: ſ is s, K is k).
func plainKey(key []byte) bool {
	for _, c := range key {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// foldEq reports whether key is name, a lower-case ASCII field name, as
// encoding/json matches keys to fields: ASCII case aside.
func foldEq(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// members calls fn with each key (between its quotes) and value of the
// object at data[i], which is valid JSON (so no end is missing), until fn
// returns false; it reports whether fn never did.
func members(data []byte, i int, fn func(key, val []byte) bool) bool {
	i = jsonskip.Space(data, i+1)
	if data[i] == '}' {
		return true
	}
	for {
		kEnd := jsonskip.String(data, i)
		key := data[i+1 : kEnd-1]
		i = jsonskip.Space(data, kEnd) // at ':'
		i = jsonskip.Space(data, i+1)
		vEnd := jsonskip.Value(data, i)
		if !fn(key, data[i:vEnd]) {
			return false
		}
		i = jsonskip.Space(data, vEnd)
		if data[i] == '}' {
			return true
		}
		i = jsonskip.Space(data, i+1) // past ','
	}
}
