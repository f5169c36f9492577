package tools

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestFastCheckNeverAcceptsWhatTheValidatorRefuses draws many argument
// sets near every limit of every tool's schema and checks that the fast
// check accepts none the validator refuses, and that it does decide the
// ordinary calls (else it would be dead weight).
func TestFastCheckNeverAcceptsWhatTheValidatorRefuses(t *testing.T) {
	strs := []any{"", "a", "ab", "企查", "企查查科技有限公司", strings.Repeat("x", 100), strings.Repeat("名", 101),
		"valid", "expired", "unknown", "Valid", "\xff\xfe", "c_9"}
	ints := []any{int64(-1), int64(0), int64(1), int64(2), int64(19), int64(20), int64(21), int64(200), int64(201),
		int64(3650), int64(3651), int64(1 << 53), int64(1<<53 + 1), 1.5, float64(3), "3", true, nil, 7}
	vals := append(append(append([]any{}, strs...), ints...), false, []any{}, []any{"企查查科技有限公司"}, []any{"a", 1},
		make([]any, 50), map[string]any{})
	list := make([]any, 51)
	for i := range list {
		list[i] = "苏州云帆智能制造股份有限公司"
	}
	vals = append(vals, list, list[:50])
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tool := range Tools(nil, Options{}) {
		in := tool.input
		if in.fast == nil {
			t.Fatalf("%s: no fast check; its schema uses a keyword fastcheck.go does not know", tool.Tool.Name)
		}
		var names []string
		for k := range in.props {
			names = append(names, k)
		}
		names = append(names, "unknown_arg")
		accepted := 0
		for range 20000 {
			args := map[string]any{}
			for _, n := range names {
				if rng.IntN(3) == 0 {
					args[n] = vals[rng.IntN(len(vals))]
				}
			}
			if in.fast.accepts(args) {
				accepted++
				// The validator itself, with the fast check out of the way.
				fast := in.fast
				in.fast = nil
				_, err := in.validate(args)
				in.fast = fast
				if err != nil {
					t.Fatalf("%s: fast check accepted %v, the validator refuses it: %v", tool.Tool.Name, args, err)
				}
			}
		}
		if accepted == 0 {
			t.Errorf("%s: the fast check accepted none of the drawn arguments", tool.Tool.Name)
		}
	}
	search := newInputSchema("s", SearchParams{})
	if !search.fast.accepts(map[string]any{"company": "企查查科技有限公司", "page_size": int64(5), "exact": false}) {
		t.Error("the fast check does not take an ordinary search")
	}
}
