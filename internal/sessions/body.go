package sessions

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"
)

// Body is a POST body read whole, with what one decoding of it found of
// its JSON-RPC message. A front that reads bodies itself (for its size
// and time limits) hands the body on as a *Body in r.Body; LegacyGuard
// then neither reads it again nor decodes it again.
type Body struct {
	data []byte
	r    bytes.Reader
	peek Peek
	msg  peekMessage
}

// peekMessage is the part of a message NewBody decodes.
type peekMessage struct {
	Method string  `json:"method"`
	ID     rawJSON `json:"id"`
	Params struct {
		Name stringField `json:"name"`
		Meta struct {
			ProtocolVersion string `json:"io.modelcontextprotocol/protocolVersion"`
		} `json:"_meta"`
	} `json:"params"`
}

// Peek is what one decoding of a POST body found of its JSON-RPC message.
type Peek struct {
	// OK reports that the body decoded as a JSON object (or null) whose
	// method, id and params._meta["io.modelcontextprotocol/protocolVersion"]
	// have the right types, params.name aside: what encoding/json's
	// Unmarshal into a struct of those fields returns no error for.
	OK bool
	// NameOK reports that params.name was a string, null or absent: OK
	// and NameOK together are Unmarshal's success for a struct that also
	// has params.name as a string.
	NameOK          bool
	Method          string
	ID              json.RawMessage // the id as sent (a slice of the body); nil without one
	Name            string          // params.name
	ProtocolVersion string          // params._meta["io.modelcontextprotocol/protocolVersion"]
	// Meta reports that params._meta may carry something more than the
	// protocol version, client info, client capabilities and log level
	// protocol 2026-07-28 puts on every request (a progress token, say,
	// or one of those keys spelt otherwise): it has another key, or the
	// body was not of the shape read in one pass (see scan), so nobody
	// looked.
	Meta bool
}

// NewBody returns data as a request body, decoded once. The Body keeps
// data: the caller must not change it.
func NewBody(data []byte) *Body {
	b := &Body{data: data}
	b.r.Reset(data)
	if scan(data, &b.peek) {
		return b
	}
	b.peek = Peek{Meta: true}
	// Decoded into the Body itself: a message of its own would be one
	// more allocation, as Unmarshal takes its address.
	msg := &b.msg
	b.peek.OK = json.Unmarshal(data, msg) == nil
	b.peek.NameOK = !msg.Params.Name.bad
	b.peek.Method, b.peek.ID = msg.Method, json.RawMessage(msg.ID)
	b.peek.Name, b.peek.ProtocolVersion = msg.Params.Name.s, msg.Params.Meta.ProtocolVersion
	return b
}

// Bytes returns the whole body, however much of it was read; the caller
// must not change it.
func (b *Body) Bytes() []byte { return b.data }

// Peek returns what the decoding found.
func (b *Body) Peek() *Peek { return &b.peek }

// unread reports whether nothing has been read from b yet.
func (b *Body) unread() bool { return int64(b.r.Len()) == b.r.Size() }

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) { return b.r.Read(p) }

// WriteTo implements io.WriterTo, as the bytes.Reader it reads from does.
func (b *Body) WriteTo(w io.Writer) (int64, error) { return b.r.WriteTo(w) }

// Close implements io.Closer; it does nothing.
func (b *Body) Close() error { return nil }

// rawJSON is json.RawMessage without the copy: it keeps a slice of the
// input, which NewBody's caller leaves alone.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(data []byte) error {
	*r = data
	return nil
}

// stringField decodes as a string field does, except that a value of
// another type marks it bad instead of failing the whole decoding (which
// goes on, as it does past a type error, so that Peek.OK keeps its
// meaning). An error from UnmarshalJSON would stop the decoding, so it
// returns none.
type stringField struct {
	s   string
	bad bool
}

func (f *stringField) UnmarshalJSON(data []byte) error {
	switch {
	case len(data) == 0:
	case data[0] == 'n': // null leaves a string as it was
	case data[0] != '"':
		f.bad = true // number, boolean, object or array
	case plainString(data):
		// What Unmarshal itself makes of a string that needs no unquoting.
		f.s = string(data[1 : len(data)-1])
	default:
		var s string
		if json.Unmarshal(data, &s) != nil {
			f.bad = true
		} else {
			f.s = s
		}
	}
	return nil
}

// plainString reports whether a JSON string (quotes included, already
// checked by the decoder) holds no escape and only valid UTF-8, so that
// its value is its bytes between the quotes.
func plainString(data []byte) bool {
	inner := data[1 : len(data)-1]
	return bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)
}
