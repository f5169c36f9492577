package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestCallArgumentsAgreeWithPreciseDecoding holds callArguments, which
// uses mcp-go's own decoding of the arguments when their numbers allow,
// to the precise decoding of the received text (integralNumbers of the
// raw arguments) that it replaces: the same check, the same words, the
// same bound parameters, for arguments drawn as in the validator test and
// for numbers at the edges of the plain-integer rule.
func TestCallArgumentsAgreeWithPreciseDecoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	params := map[string]reflect.Type{"search_certifications": reflect.TypeFor[SearchParams](),
		"get_certification_detail": reflect.TypeFor[DetailParams](), "check_certifications": reflect.TypeFor[CheckParams]()}
	fixed := []string{`{}`, ` {"page":2}`, `{"page":-0}`, `{"page":0}`, `{"page":-5}`, `{"page":999999999999999}`,
		`{"page":1000000000000000}`, `{"page":9007199254740993}`, `{"page":2.0}`, `{"page":2e0}`, `{"page":2E1}`,
		`{"company":"a\"1.5","page":3}`, `{"company":"\\","page":1.5}`, `{"company":["a",1,2.5,-0,{"x":1e3}]}`,
		`{"companies":[1,2,3],"page_size":[-0]}`, `{"x":{"y":[12,-12]}}`, `{"page":1,"page":2}`, `{"company":"企查查科技有限公司","exact":false,"page_size":20}`,
		`{"company":"\u00e9\ud800","page_size":7}`, "{\"company\":\"ab\",\n\t\"page\" : 3 }", `[1]`, `"x"`, `null`, `{"a":1e-400}`}
	for _, tool := range Tools(nil, Options{}) {
		in := tool.input
		var names []string
		for k := range in.props {
			names = append(names, k)
		}
		sort.Strings(names)
		names = append(names, "unknown_arg")
		plain := 0
		texts := fixed
		for range 5000 {
			texts = append(texts, string(drawArguments(rng, names)))
		}
		for _, text := range texts {
			var p mcp.CallToolParams
			if err := json.Unmarshal([]byte(`{"name":"`+tool.Tool.Name+`","arguments":`+text+`}`), &p); err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			req := mcp.CallToolRequest{Params: p}
			if plainNumbers(p.RawArguments) {
				plain++
			}
			want, got := integralNumbers(p.RawArguments), callArguments(req)
			wantRaw, wantErr := in.validate(want)
			gotRaw, gotErr := in.validate(got)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !bytes.Equal(gotRaw, wantRaw) {
				t.Fatalf("%s(%s): validate gave %s (%v), the precise decoding %s (%v)", tool.Tool.Name, text, gotRaw, gotErr, wantRaw, wantErr)
			}
			pt := params[tool.Tool.Name]
			a, b := reflect.New(pt), reflect.New(pt)
			errA, errB := in.decode(want, a.Interface()), in.decode(got, b.Interface())
			if fmt.Sprint(errA) != fmt.Sprint(errB) || !reflect.DeepEqual(a.Interface(), b.Interface()) {
				t.Fatalf("%s(%s): decode gave %+v (%v), the precise decoding %+v (%v)", tool.Tool.Name, text,
					b.Elem().Interface(), errB, a.Elem().Interface(), errA)
			}
		}
		if plain < 1000 || plain == len(texts) {
			t.Errorf("%s: %d of %d drawn arguments took mcp-go's decoding; the draw tests too little", tool.Tool.Name, plain, len(texts))
		}
	}
}

func TestPlainNumbers(t *testing.T) {
	for raw, want := range map[string]bool{
		`{}`: true, ` {"a":1}`: true, `{"a":[0,12,-3]}`: true, `{"a":"1.5e3"}`: true, `{"a":"\"","b":2}`: true,
		`{"a":999999999999999}`: true, `{"a":-999999999999999}`: true, `{"a":true,"b":null,"c":false}`: true,
		`{"a":1000000000000000}`: false, `{"a":-0}`: false, `{"a":1.0}`: false, `{"a":1e2}`: false, `{"a":1E2}`: false,
		`{"a":"\\","b":0.5}`: false, `[1]`: false, `1`: false, ``: false, `  `: false, `{"a":"x`: false, `{"a":"\`: false,
	} {
		if got := plainNumbers([]byte(raw)); got != want {
			t.Errorf("plainNumbers(%s) = %v, want %v", raw, got, want)
		}
	}
}
