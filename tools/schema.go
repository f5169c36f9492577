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
	validator "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
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

// inputSchema is a tool's input schema, compiled once for validation and
// read for the property types the call subcommand needs.
type inputSchema struct {
	raw      json.RawMessage
	compiled *validator.Schema
	// props maps each argument to its JSON type ("string", "integer", ...).
	props map[string]string
	// fast decides most calls without the validator (see fastcheck.go);
	// nil when the schema uses a keyword it does not know.
	fast *fastCheck
}

func newInputSchema(name string, params any) *inputSchema {
	raw := reflectSchema(params)
	doc, err := validator.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		panic(fmt.Sprintf("tools: schema of %s: %v", name, err))
	}
	c := validator.NewCompiler()
	url := "mem://" + name + ".input.json"
	if err := c.AddResource(url, doc); err != nil {
		panic(fmt.Sprintf("tools: schema of %s: %v", name, err))
	}
	compiled, err := c.Compile(url)
	if err != nil {
		panic(fmt.Sprintf("tools: schema of %s: %v", name, err))
	}
	var shape struct {
		Properties map[string]struct {
			Type string `json:"type"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		panic(fmt.Sprintf("tools: schema of %s: %v", name, err))
	}
	props := make(map[string]string, len(shape.Properties))
	for k, p := range shape.Properties {
		props[k] = p.Type
	}
	return &inputSchema{raw: raw, compiled: compiled, props: props, fast: newFastCheck(raw)}
}

// validate checks arguments against the input schema and describes every
// problem in words an agent can act on: which argument, which limit, which
// value was received. It returns the arguments as JSON, for bind: the one
// encoding serves both.
func (s *inputSchema) validate(args any) (json.RawMessage, error) {
	if args == nil {
		args = map[string]any{}
	}
	if m, ok := args.(map[string]any); ok && s.fast != nil && s.fast.accepts(m) {
		if raw, err := json.Marshal(m); err == nil {
			return raw, nil
		}
	}
	// Round-trip through JSON so that the validator sees plain JSON values
	// whatever Go types the transport produced.
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, &argumentError{[]string{"arguments are not valid JSON"}}
	}
	doc, err := validator.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, &argumentError{[]string{"arguments are not valid JSON"}}
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, &argumentError{[]string{"arguments must be a JSON object"}}
	}
	err = s.compiled.Validate(doc)
	if err == nil {
		return raw, nil
	}
	verr, ok := err.(*validator.ValidationError)
	if !ok {
		return nil, &argumentError{[]string{err.Error()}}
	}
	var problems []string
	for _, leaf := range leaves(verr) {
		problems = append(problems, describeViolation(leaf))
	}
	sort.Strings(problems)
	return nil, &argumentError{dedupe(problems)}
}

func leaves(e *validator.ValidationError) []*validator.ValidationError {
	if len(e.Causes) == 0 {
		return []*validator.ValidationError{e}
	}
	var out []*validator.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

func describeViolation(e *validator.ValidationError) string {
	arg := strings.Join(e.InstanceLocation, ".")
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return fmt.Sprintf("missing required argument %s", quoteList(k.Missing))
	case *kind.AdditionalProperties:
		return fmt.Sprintf("unknown argument %s (not accepted by this tool)", quoteList(k.Properties))
	case *kind.Type:
		return fmt.Sprintf("argument %q must be of type %s, got %s", arg, strings.Join(k.Want, " or "), k.Got)
	case *kind.MinLength:
		return fmt.Sprintf("argument %q must have at least %d characters, got %d", arg, k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("argument %q must have at most %d characters, got %d", arg, k.Want, k.Got)
	case *kind.Minimum:
		return fmt.Sprintf("argument %q must be at least %s, got %s", arg, ratString(k.Want), ratString(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("argument %q must be at most %s, got %s", arg, ratString(k.Want), ratString(k.Got))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprintf("%v", w)
		}
		return fmt.Sprintf("argument %q must be one of %s, got %v", arg, strings.Join(want, ", "), k.Got)
	default:
		msg := e.ErrorKind.LocalizedString(message.NewPrinter(language.English))
		if arg == "" {
			return "arguments: " + msg
		}
		return fmt.Sprintf("argument %q: %s", arg, msg)
	}
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
