package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	validator "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The tools check arguments themselves (fastcheck.go); this file holds
// that check to a real JSON-schema validator, which the production build
// no longer links. refValidate is how validate worked when it ran the
// validator, words and all, so that agreement here means no agent sees a
// different answer.

func compileReference(t testing.TB, name string, raw json.RawMessage) *validator.Schema {
	t.Helper()
	doc, err := validator.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := validator.NewCompiler()
	url := "mem://" + name + ".input.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func refValidate(s *validator.Schema, args any) (json.RawMessage, error) {
	if args == nil {
		args = map[string]any{}
	}
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
	err = s.Validate(doc)
	if err == nil {
		return raw, nil
	}
	verr, ok := err.(*validator.ValidationError)
	if !ok {
		return nil, &argumentError{[]string{err.Error()}}
	}
	var problems []string
	for _, leaf := range refLeaves(verr) {
		problems = append(problems, refDescribe(leaf))
	}
	sort.Strings(problems)
	return nil, &argumentError{dedupe(problems)}
}

func refLeaves(e *validator.ValidationError) []*validator.ValidationError {
	if len(e.Causes) == 0 {
		return []*validator.ValidationError{e}
	}
	var out []*validator.ValidationError
	for _, c := range e.Causes {
		out = append(out, refLeaves(c)...)
	}
	return out
}

func refDescribe(e *validator.ValidationError) string {
	arg := strings.Join(e.InstanceLocation, ".")
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return fmt.Sprintf("missing required argument %s", quoteList(k.Missing))
	case *kind.AdditionalProperties:
		// The validator lists them in map order; the check sorts them.
		names := append([]string(nil), k.Properties...)
		sort.Strings(names)
		return fmt.Sprintf("unknown argument %s (not accepted by this tool)", quoteList(names))
	case *kind.Type:
		return fmt.Sprintf("argument %q must be of type %s, got %s", arg, strings.Join(k.Want, " or "), k.Got)
	case *kind.MinLength:
		return fmt.Sprintf("argument %q must have at least %d characters, got %d", arg, k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("argument %q must have at most %d characters, got %d", arg, k.Want, k.Got)
	case *kind.Minimum:
		return fmt.Sprintf("argument %q must be at least %s, got %s", arg, refRat(k.Want), refRat(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("argument %q must be at most %s, got %s", arg, refRat(k.Want), refRat(k.Got))
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

func refRat(r *big.Rat) string { return ratString(r) }

// drawArguments builds one argument object as a client would send it, as
// JSON text: values near every limit, numbers in several spellings, wrong
// types, unknown names.
func drawArguments(rng *rand.Rand, names []string) json.RawMessage {
	strs := []any{"", "a", "ab", "企", "企查", "企查查科技有限公司", strings.Repeat("x", 100), strings.Repeat("名", 101),
		"valid", "expired", "unknown", "Valid", "\xff\xfe", "c_9", "x\u0000y"}
	nums := []json.RawMessage{json.RawMessage("-1"), json.RawMessage("0"), json.RawMessage("1"), json.RawMessage("2"),
		json.RawMessage("19"), json.RawMessage("20"), json.RawMessage("21"), json.RawMessage("200"), json.RawMessage("201"),
		json.RawMessage("3650"), json.RawMessage("3651"), json.RawMessage("9007199254740992"),
		json.RawMessage("9007199254740993"), json.RawMessage("1e20"), json.RawMessage("-1e20"), json.RawMessage("1.5"),
		json.RawMessage("3.0"), json.RawMessage("2e1"), json.RawMessage("-0"), json.RawMessage("0.5e1"),
		json.RawMessage("20.000000000000001"), json.RawMessage("1e-400"), json.RawMessage("123456789012345678901234567890")}
	other := []any{true, false, nil, []any{}, map[string]any{}, []any{"企查查科技有限公司"}, []any{"a", 1},
		[]any{nil, true, "ab", 2.5}, "3"}
	pick := func() any {
		switch rng.IntN(4) {
		case 0, 1:
			return strs[rng.IntN(len(strs))]
		case 2:
			return nums[rng.IntN(len(nums))]
		}
		if rng.IntN(6) == 0 {
			list := make([]any, []int{0, 1, 49, 50, 51, 1234}[rng.IntN(6)])
			for i := range list {
				list[i] = "苏州云帆智能制造股份有限公司"
				if rng.IntN(200) == 0 {
					list[i] = strs[rng.IntN(len(strs))]
				}
			}
			return list
		}
		return other[rng.IntN(len(other))]
	}
	args := map[string]any{}
	for _, n := range names {
		if rng.IntN(3) == 0 {
			args[n] = pick()
		}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		panic(err)
	}
	return raw
}

// TestArgumentCheckAgreesWithValidator draws many argument objects for
// every tool and checks that the tools' own check and the real validator
// give the same answer, word for word, and that the quick yes (accepts)
// never takes what the validator refuses and does take ordinary calls.
func TestArgumentCheckAgreesWithValidator(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	params := map[string]reflect.Type{"search_certifications": reflect.TypeFor[SearchParams](),
		"get_certification_detail": reflect.TypeFor[DetailParams](), "check_certifications": reflect.TypeFor[CheckParams]()}
	for _, tool := range Tools(nil, Options{}) {
		in := tool.input
		ref := compileReference(t, tool.Tool.Name, in.raw)
		pt := params[tool.Tool.Name]
		if pt == nil || in.fields == nil {
			t.Fatalf("%s: no params type in this test, or no direct bind (a field type paramFields does not handle)", tool.Tool.Name)
		}
		var names []string
		for k := range in.props {
			names = append(names, k)
		}
		sort.Strings(names)
		names = append(names, "unknown_arg", "another")
		accepted, quick := 0, 0
		for range 20000 {
			text := drawArguments(rng, names)
			args := integralNumbers(text)
			if m, ok := args.(map[string]any); ok && in.fast.accepts(m) {
				quick++
				if _, err := refValidate(ref, args); err != nil {
					t.Fatalf("%s: the quick check accepted %s, the validator refuses it: %v", tool.Tool.Name, text, err)
				}
			}
			gotRaw, gotErr := in.validate(args)
			wantRaw, wantErr := refValidate(ref, args)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("%s(%s):\n check:     %v\n validator: %v", tool.Tool.Name, text, gotErr, wantErr)
			}
			if gotErr == nil {
				accepted++
				if !bytes.Equal(gotRaw, wantRaw) {
					t.Fatalf("%s(%s): bound %s, the validator's path %s", tool.Tool.Name, text, gotRaw, wantRaw)
				}
			}
			// decode, as the handler calls it, binds what JSON would.
			direct, viaJSON := reflect.New(pt), reflect.New(pt)
			decErr := in.decode(args, direct.Interface())
			var jsonErr error
			if wantErr != nil {
				jsonErr = wantErr
			} else if err := bind(wantRaw, viaJSON.Interface()); err != nil {
				jsonErr = describeBindError(err)
			}
			if fmt.Sprint(decErr) != fmt.Sprint(jsonErr) || !reflect.DeepEqual(direct.Interface(), viaJSON.Interface()) {
				t.Fatalf("%s(%s): decode gave %+v (%v), JSON gives %+v (%v)", tool.Tool.Name, text,
					direct.Elem().Interface(), decErr, viaJSON.Elem().Interface(), jsonErr)
			}
		}
		if accepted == 0 || quick == 0 {
			t.Errorf("%s: of the drawn arguments %d passed and %d took the quick path; the draw tests too little", tool.Tool.Name, accepted, quick)
		}
	}
	search := newInputSchema("s", SearchParams{})
	if !search.fast.accepts(map[string]any{"company": "企查查科技有限公司", "page_size": int64(5), "exact": false}) {
		t.Error("the quick check does not take an ordinary search")
	}
}

// TestArgumentCheckOddInputs covers what a JSON transport cannot send but
// a Go caller can, and the arguments that are no object at all.
func TestArgumentCheckOddInputs(t *testing.T) {
	in := newInputSchema("search_certifications", SearchParams{})
	ref := compileReference(t, "search_certifications", in.raw)
	for _, args := range []any{nil, map[string]any{}, json.RawMessage("null"), json.RawMessage("[1]"),
		json.RawMessage(`"x"`), json.RawMessage("{"), map[string]any{"company": "ab", "page": 7},
		map[string]any{"company": "ab", "page": 2.5}, map[string]any{"company": "ab", "page": uint8(3)},
		map[string]any{"company": func() {}}, []string{"a"},
		map[string]any{"company": "企查查科技有限公司", "zeta": 1, "alpha": 2, "mid": 3}} {
		_, got := in.validate(args)
		_, want := refValidate(ref, args)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%#v:\n check:     %v\n validator: %v", args, got, want)
		}
	}
	if g := grouped(1234567); g != "1,234,567" {
		t.Errorf("grouped(1234567) = %q", g)
	}
}
