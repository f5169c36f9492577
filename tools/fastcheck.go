package tools

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Our input schemas use a small set of JSON-schema keywords, so the tools
// check arguments themselves instead of running a general JSON-schema
// validator: that validator's package alone took ~3 ms and 21k
// allocations at every start (its meta-schemas), and per call it decoded
// the arguments once more into its own values. The check here has two
// parts: accepts, a quick yes for ordinary arguments as mcp-go decoded
// them, and problems, the full check with the validator's semantics and
// the words an agent reads. A schema with a keyword outside the set makes
// newInputSchema panic, so a new keyword cannot slip by unchecked. A test
// (schema_validator_test.go) holds both parts to the real validator.

// fastProp is what the check knows of one property.
type fastProp struct {
	Type                 string
	MinLength, MaxLength *int
	Minimum, Maximum     *float64
	MinItems, MaxItems   *int
	Enum                 []string
	Items                *fastProp
	// minRat and maxRat are Minimum and Maximum exactly, for the full
	// check: JSON numbers beyond float64's exact range compare exactly.
	minRat, maxRat *big.Rat
	// enumWords is the enum as the refusal lists it.
	enumWords string
}

// fastCheck is an input schema in the form the check reads.
type fastCheck struct {
	props    map[string]*fastProp
	required []string
}

// fastKeywords are the keywords the check understands; default and
// description are annotations only.
var fastKeywords = map[string]bool{"type": true, "description": true, "default": true, "minLength": true,
	"maxLength": true, "minimum": true, "maximum": true, "minItems": true, "maxItems": true, "enum": true, "items": true}

// newFastCheck reads raw, an object schema with properties and
// additionalProperties false; nil when it uses anything else.
func newFastCheck(raw json.RawMessage) *fastCheck {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return nil
	}
	for k, v := range top {
		switch k {
		case "type":
			if string(v) != `"object"` {
				return nil
			}
		case "additionalProperties":
			if string(v) != "false" {
				return nil
			}
		case "properties", "required", "description":
		default:
			return nil
		}
	}
	if _, ok := top["additionalProperties"]; !ok {
		return nil
	}
	var props map[string]json.RawMessage
	if json.Unmarshal(top["properties"], &props) != nil {
		return nil
	}
	fc := &fastCheck{props: make(map[string]*fastProp, len(props))}
	if r, ok := top["required"]; ok && json.Unmarshal(r, &fc.required) != nil {
		return nil
	}
	for name, p := range props {
		fp := readFastProp(p, 0)
		if fp == nil {
			return nil
		}
		fc.props[name] = fp
	}
	return fc
}

func readFastProp(raw json.RawMessage, depth int) *fastProp {
	var keys map[string]json.RawMessage
	if depth > 1 || json.Unmarshal(raw, &keys) != nil {
		return nil
	}
	for k := range keys {
		if !fastKeywords[k] {
			return nil
		}
	}
	var spec struct {
		Type                 string
		MinLength, MaxLength *int
		Minimum, Maximum     *json.Number
		MinItems, MaxItems   *int
		Enum                 []string
	}
	if json.Unmarshal(raw, &spec) != nil {
		return nil
	}
	p := fastProp{Type: spec.Type, MinLength: spec.MinLength, MaxLength: spec.MaxLength,
		MinItems: spec.MinItems, MaxItems: spec.MaxItems, Enum: spec.Enum}
	var ok bool
	if p.Minimum, p.minRat, ok = readBound(spec.Minimum); !ok {
		return nil
	}
	if p.Maximum, p.maxRat, ok = readBound(spec.Maximum); !ok {
		return nil
	}
	switch p.Type {
	case "string", "integer", "boolean":
	case "array":
		if p.Items = readFastProp(keys["items"], depth+1); p.Items == nil {
			return nil
		}
	default:
		return nil
	}
	if _, ok := keys["enum"]; ok {
		if p.Type != "string" || len(p.Enum) == 0 {
			return nil
		}
		p.enumWords = strings.Join(p.Enum, ", ")
	}
	return &p
}

// readBound reads a minimum or maximum; ok is false when it is not a number.
func readBound(n *json.Number) (*float64, *big.Rat, bool) {
	if n == nil {
		return nil, nil, true
	}
	r, ok := new(big.Rat).SetString(string(*n))
	if !ok {
		return nil, nil, false
	}
	f, _ := r.Float64()
	return &f, r, true
}

// accepts reports whether args, as mcp-go decoded them and integralNumbers
// left them, certainly pass the schema; false means "run problems on the
// arguments as JSON", not "invalid".
func (fc *fastCheck) accepts(args map[string]any) bool {
	for _, r := range fc.required {
		if _, ok := args[r]; !ok {
			return false
		}
	}
	for k, v := range args {
		p, ok := fc.props[k]
		if !ok || !p.accepts(topInteger(p, v)) {
			return false
		}
	}
	return true
}

// topInteger is v as integralNumbers leaves a top-level argument of the
// integer property p: a whole float64 within float64's exact range as
// int64 (callArguments passes mcp-go's decoding on without converting).
func topInteger(p *fastProp, v any) any {
	if f, ok := v.(float64); ok && p.Type == "integer" && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return int64(f)
	}
	return v
}

func (p *fastProp) accepts(v any) bool {
	switch p.Type {
	case "string":
		s, ok := v.(string)
		if !ok || !utf8.ValidString(s) {
			return false
		}
		n := utf8.RuneCountInString(s)
		if (p.MinLength != nil && n < *p.MinLength) || (p.MaxLength != nil && n > *p.MaxLength) {
			return false
		}
		if p.Enum != nil {
			for _, e := range p.Enum {
				if s == e {
					return true
				}
			}
			return false
		}
		return true
	case "integer":
		// What integralNumbers leaves: whole numbers as int64, within
		// float64's exact range.
		n, ok := v.(int64)
		if !ok || n > 1<<53 || n < -(1<<53) {
			return false
		}
		f := float64(n)
		return (p.Minimum == nil || f >= *p.Minimum) && (p.Maximum == nil || f <= *p.Maximum) && !math.IsNaN(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "array":
		list, ok := v.([]any)
		if !ok || (p.MinItems != nil && len(list) < *p.MinItems) || (p.MaxItems != nil && len(list) > *p.MaxItems) {
			return false
		}
		for _, el := range list {
			if !p.Items.accepts(el) {
				return false
			}
		}
		return true
	}
	return false
}

// problems is the full check of doc, the arguments decoded from JSON with
// numbers as json.Number: one sentence per violation, in no set order
// (validate sorts them), none when doc passes. It keeps the semantics of
// JSON Schema 2020-12 for these keywords: a value of the wrong type, or a
// string outside its enum, gets that one complaint and no other; 2.0
// counts as an integer; lengths count characters, not bytes.
func (fc *fastCheck) problems(doc map[string]any) []string {
	var out, missing, unknown []string
	for _, r := range fc.required {
		if _, ok := doc[r]; !ok {
			missing = append(missing, r)
		}
	}
	if missing != nil {
		out = append(out, "missing required argument "+quoteList(missing))
	}
	for k, v := range doc {
		p, ok := fc.props[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		out = p.problems(v, k, out)
	}
	if unknown != nil {
		// The validator listed them in map order; sorted, the same
		// arguments always get the same sentence.
		sort.Strings(unknown)
		out = append(out, fmt.Sprintf("unknown argument %s (not accepted by this tool)", quoteList(unknown)))
	}
	return out
}

func (p *fastProp) problems(v any, arg string, out []string) []string {
	got := jsonType(v)
	if got != p.Type && (p.Type != "integer" || got != "number" || exactNumber(v) == nil || !exactNumber(v).IsInt()) {
		return append(out, fmt.Sprintf("argument %q must be of type %s, got %s", arg, p.Type, got))
	}
	switch p.Type {
	case "string":
		s := v.(string)
		if p.Enum != nil && !contains(p.Enum, s) {
			return append(out, fmt.Sprintf("argument %q must be one of %s, got %s", arg, p.enumWords, s))
		}
		if p.MinLength != nil || p.MaxLength != nil {
			n := utf8.RuneCountInString(s)
			if p.MinLength != nil && n < *p.MinLength {
				out = append(out, fmt.Sprintf("argument %q must have at least %d characters, got %d", arg, *p.MinLength, n))
			}
			if p.MaxLength != nil && n > *p.MaxLength {
				out = append(out, fmt.Sprintf("argument %q must have at most %d characters, got %d", arg, *p.MaxLength, n))
			}
		}
	case "integer":
		n := exactNumber(v)
		if p.minRat != nil && n.Cmp(p.minRat) < 0 {
			out = append(out, fmt.Sprintf("argument %q must be at least %s, got %s", arg, ratString(p.minRat), ratString(n)))
		}
		if p.maxRat != nil && n.Cmp(p.maxRat) > 0 {
			out = append(out, fmt.Sprintf("argument %q must be at most %s, got %s", arg, ratString(p.maxRat), ratString(n)))
		}
	case "array":
		list := v.([]any)
		if p.MinItems != nil && len(list) < *p.MinItems {
			out = append(out, fmt.Sprintf("argument %q: minItems: got %s, want %s", arg, grouped(len(list)), grouped(*p.MinItems)))
		}
		if p.MaxItems != nil && len(list) > *p.MaxItems {
			out = append(out, fmt.Sprintf("argument %q: maxItems: got %s, want %s", arg, grouped(len(list)), grouped(*p.MaxItems)))
		}
		for i, el := range list {
			out = p.Items.problems(el, arg+"."+strconv.Itoa(i), out)
		}
	}
	return out
}

// jsonType names the JSON type of a decoded value as JSON Schema does;
// every number is a "number" here (integer is a test of its value).
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}

// exactNumber is a decoded number as an exact fraction; nil when v is no
// number.
func exactNumber(v any) *big.Rat {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = string(n)
	case float64, int64, int:
		s = fmt.Sprint(n)
	default:
		return nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil
	}
	return r
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// grouped writes n with thousands separators (1,234), as the validator's
// English messages did.
func grouped(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + grouped(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
