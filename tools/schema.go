package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
)

// reflectSchema turns a params or result struct into the plain object
// schema MCP expects: no $schema, no $ref, additionalProperties false.
func reflectSchema(v any) json.RawMessage {
	r := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true}
	s := r.Reflect(v)
	s.Version = ""
	hoistNullableDescriptions(s)
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		// The types are ours and fixed at compile time: a failure here is a
		// programming error that every test run would catch.
		panic(fmt.Sprintf("tools: reflecting schema of %T: %v", v, err))
	}
	return raw
}

// hoistNullableDescriptions moves the description of a nullable field
// (reflected as oneOf [type, null]) to the field itself, where clients and
// models look for it.
func hoistNullableDescriptions(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if s.Description == "" && len(s.OneOf) == 2 && s.OneOf[1].Type == "null" {
		s.Description, s.OneOf[0].Description = s.OneOf[0].Description, ""
	}
	if s.Properties != nil {
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			hoistNullableDescriptions(pair.Value)
		}
	}
	hoistNullableDescriptions(s.Items)
	for _, o := range s.OneOf {
		hoistNullableDescriptions(o)
	}
}

// inputSchema is a tool's input schema, read once for the argument check
// and for the property types the call subcommand needs.
type inputSchema struct {
	raw json.RawMessage
	// props maps each argument to its JSON type ("string", "integer", ...).
	props map[string]string
	// fast is the argument check (see fastcheck.go).
	fast *fastCheck
	// fields sets the params struct straight from accepted arguments;
	// nil when the struct has a field type it does not handle.
	fields map[string]paramField
}

func newInputSchema(name string, params any) *inputSchema {
	raw := reflectSchema(params)
	fast := newFastCheck(raw)
	if fast == nil {
		// Our params types are fixed at compile time: every test run
		// would catch a keyword the check does not know.
		panic(fmt.Sprintf("tools: schema of %s uses a keyword fastcheck.go does not check", name))
	}
	props := make(map[string]string, len(fast.props))
	for k, p := range fast.props {
		props[k] = p.Type
	}
	return &inputSchema{raw: raw, props: props, fast: fast, fields: paramFields(reflect.TypeOf(params), fast)}
}

// paramField is where one argument goes in the params struct.
type paramField struct {
	index int
	kind  reflect.Kind // of the field, or of what it points to
	ptr   bool         // *int, *bool, *string
	list  bool         // []string
}

// paramFields maps each argument of fc to its field of t; nil when t has
// a field the direct bind does not handle or an argument has no field, so
// that such a tool binds through JSON alone.
func paramFields(t reflect.Type, fc *fastCheck) map[string]paramField {
	if t.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]paramField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || f.Anonymous || name == "" || name == "-" {
			return nil
		}
		pf := paramField{index: i, kind: f.Type.Kind()}
		switch {
		case pf.kind == reflect.Pointer:
			pf.ptr, pf.kind = true, f.Type.Elem().Kind()
		case pf.kind == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
			pf.list, pf.kind = true, reflect.String
		}
		want := map[reflect.Kind]string{reflect.String: "string", reflect.Int: "integer", reflect.Bool: "boolean"}[pf.kind]
		p, ok := fc.props[name]
		if !ok || want == "" || (pf.list && (p.Type != "array" || p.Items.Type != want)) || (!pf.list && p.Type != want) {
			return nil
		}
		out[name] = pf
	}
	if len(out) != len(fc.props) {
		return nil
	}
	return out
}

// decode checks args and binds them into dst, a pointer to the tool's
// params struct. Arguments the quick check accepts are set field by field
// (an ordinary call then skips encoding the arguments to JSON and decoding
// them again); anything else takes validate and bind, whose refusals it
// returns in an agent's words.
func (s *inputSchema) decode(args any, dst any) error {
	if m, ok := args.(map[string]any); ok && s.fields != nil && s.fast.accepts(m) && s.setFields(m, dst) {
		return nil
	}
	raw, err := s.validate(args)
	if err != nil {
		return err
	}
	if err := bind(raw, dst); err != nil {
		return describeBindError(err)
	}
	return nil
}

// setFields sets dst's fields from m as json.Unmarshal of m's encoding
// would; false, with dst zeroed again, for anything it does not expect.
func (s *inputSchema) setFields(m map[string]any, dst any) bool {
	v := reflect.ValueOf(dst).Elem()
	for k, a := range m {
		f, ok := s.fields[k]
		if !ok || !setField(v.Field(f.index), f, a) {
			v.SetZero()
			return false
		}
	}
	return true
}

func setField(fv reflect.Value, f paramField, a any) bool {
	if f.list {
		items, ok := a.([]any)
		if !ok {
			return false
		}
		list := make([]string, len(items))
		for i, it := range items {
			if list[i], ok = it.(string); !ok {
				return false
			}
		}
		fv.Set(reflect.ValueOf(list))
		return true
	}
	if f.ptr {
		p := reflect.New(fv.Type().Elem())
		if !setScalar(p.Elem(), f.kind, a) {
			return false
		}
		fv.Set(p)
		return true
	}
	return setScalar(fv, f.kind, a)
}

func setScalar(fv reflect.Value, k reflect.Kind, a any) bool {
	switch k {
	case reflect.String:
		s, ok := a.(string)
		if ok {
			fv.SetString(s)
		}
		return ok
	case reflect.Bool:
		b, ok := a.(bool)
		if ok {
			fv.SetBool(b)
		}
		return ok
	case reflect.Int:
		if f, isFloat := a.(float64); isFloat && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			a = int64(f) // as integralNumbers would have it
		}
		n, ok := a.(int64)
		if !ok || fv.OverflowInt(n) {
			return false
		}
		fv.SetInt(n)
		return true
	}
	return false
}

// validate checks arguments against the input schema and describes every
// problem in words an agent can act on: which argument, which limit, which
// value was received. It returns the arguments as JSON, for bind: the one
// encoding serves both.
func (s *inputSchema) validate(args any) (json.RawMessage, error) {
	if args == nil {
		args = map[string]any{}
	}
	if m, ok := args.(map[string]any); ok && s.fast.accepts(m) {
		if raw, err := json.Marshal(m); err == nil {
			return raw, nil
		}
	}
	// Round-trip through JSON so that the full check sees plain JSON
	// values whatever Go types the transport produced.
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, &argumentError{[]string{"arguments are not valid JSON"}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &argumentError{[]string{"arguments are not valid JSON"}}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, &argumentError{[]string{"arguments must be a JSON object"}}
	}
	problems := s.fast.problems(obj)
	if len(problems) == 0 {
		return raw, nil
	}
	sort.Strings(problems)
	return nil, &argumentError{dedupe(problems)}
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(3)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// bind decodes validated arguments, as validate encoded them, into the
// tool's params struct.
func bind(raw json.RawMessage, dst any) error {
	return json.Unmarshal(raw, dst)
}

// callArguments is the arguments of req as the handler checks and binds
// them: integralNumbers of what the transport received. mcp-go has already
// decoded the received JSON into req.Params.Arguments, with float64
// numbers; when every number in it is a plain integer of at most 15
// digits (a page, a size, a count), that decoding is the same as the
// precise one with json.Number (both are the same int64 to the check and
// the bind, and encode again to the same text), so it is used as it is
// instead of decoding the JSON a second time. Fractions, exponents and longer
// integers, whose spelling the checks and words depend on, take the
// precise decoding.
func callArguments(req mcp.CallToolRequest) any {
	if raw := req.Params.RawArguments; len(raw) > 0 {
		if m, ok := req.Params.Arguments.(map[string]any); ok && m != nil && plainNumbers(raw) {
			// Not even integralNumbers: the check and the bind take a
			// whole float64 for the integer it is (topInteger,
			// setScalar), and it encodes as the integer does.
			return m
		}
	}
	return integralNumbers(req.GetRawArguments())
}

// plainNumbers reports whether raw, JSON text, is an object whose every
// number (at any depth) is an integer of at most 15 digits with no
// fraction or exponent, which a float64 holds exactly and encodes as it
// is spelt.
func plainNumbers(raw []byte) bool {
	i := 0
	for i < len(raw) && isJSONSpace(raw[i]) {
		i++
	}
	if i == len(raw) || raw[i] != '{' {
		return false
	}
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == '"':
			// Skip the string: up to the quote that no backslash escapes.
			i++
			for {
				j := bytes.IndexAny(raw[i:], `"\`)
				if j < 0 {
					return false
				}
				i += j
				if raw[i] == '"' {
					i++
					break
				}
				i += 2
				if i > len(raw) {
					return false
				}
			}
		case c == '-' || c >= '0' && c <= '9':
			if c == '-' {
				i++
			}
			start := i
			for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
				i++
			}
			n := i - start
			if n == 0 || n > 15 || (n > 1 && raw[start] == '0') || (c == '-' && raw[start] == '0') {
				return false
			}
			if i < len(raw) && (raw[i] == '.' || raw[i] == 'e' || raw[i] == 'E') {
				return false
			}
		default:
			i++
		}
	}
	return true
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// integralNumbers turns every whole number among the top-level arguments
// into an integer: JSON Schema counts 2.0 as the integer 2, and so must
// the Go types the arguments are bound to.
func integralNumbers(args any) any {
	if raw, ok := args.(json.RawMessage); ok {
		// What a transport received: numbers keep their spelling (2.0).
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil || m == nil {
			return args
		}
		args = m
	}
	m, ok := args.(map[string]any)
	if !ok {
		return args
	}
	var out map[string]any
	for k, v := range m {
		var f float64
		switch n := v.(type) {
		case float64:
			f = n
		case json.Number:
			x, err := n.Float64()
			if err != nil {
				continue
			}
			f = x
		default:
			continue
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			continue
		}
		if out == nil {
			out = maps.Clone(m)
		}
		out[k] = int64(f)
	}
	if out == nil {
		return m
	}
	return out
}

// describeBindError words a failure to bind validated arguments for an
// agent, never in Go's terms: the schema has already checked the types, so
// this is rare (a number too large for its field, say).
func describeBindError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		want := map[reflect.Kind]string{reflect.Int: "integer", reflect.Bool: "boolean", reflect.String: "string"}[te.Type.Kind()]
		if te.Type.Kind() == reflect.Pointer {
			want = map[reflect.Kind]string{reflect.Int: "integer", reflect.Bool: "boolean", reflect.String: "string"}[te.Type.Elem().Kind()]
		}
		if want == "" {
			want = "another type"
		}
		return &argumentError{[]string{fmt.Sprintf("argument %q must be of type %s, got %s", te.Field, want, truncate(te.Value, 40))}}
	}
	return &argumentError{[]string{"the arguments could not be read as this tool's parameters; check each argument's type against the tool's input schema"}}
}
