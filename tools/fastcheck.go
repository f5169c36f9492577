package tools

import (
	"encoding/json"
	"math"
	"unicode/utf8"
)

// The JSON-schema validator costs about as much per call as the rest of
// argument handling together (it decodes the arguments once more into its
// own values and walks the compiled schema). Our input schemas use a small
// set of keywords, so a direct check of the arguments as mcp-go decoded
// them decides most calls: it accepts only arguments the validator would
// accept too, and anything it does not accept goes to the validator,
// which words every problem. A schema with a keyword outside that set gets
// no fast check at all.

// fastProp is what the fast check knows of one property.
type fastProp struct {
	Type                 string
	MinLength, MaxLength *int
	Minimum, Maximum     *float64
	MinItems, MaxItems   *int
	Enum                 []string
	Items                *fastProp
}

// fastCheck is an input schema in the form the fast check reads.
type fastCheck struct {
	props    map[string]*fastProp
	required []string
}

// fastKeywords are the keywords the fast check understands; default and
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
	var p fastProp
	if json.Unmarshal(raw, &p) != nil {
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
	if _, ok := keys["enum"]; ok && (p.Type != "string" || len(p.Enum) == 0) {
		return nil
	}
	return &p
}

// accepts reports whether args certainly pass the schema; false means
// "ask the validator", not "invalid".
func (fc *fastCheck) accepts(args map[string]any) bool {
	for _, r := range fc.required {
		if _, ok := args[r]; !ok {
			return false
		}
	}
	for k, v := range args {
		p, ok := fc.props[k]
		if !ok || !p.accepts(v) {
			return false
		}
	}
	return true
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
