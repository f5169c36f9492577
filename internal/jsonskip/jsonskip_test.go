package jsonskip

import "testing"

func TestValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{`"a\"b" ,`, 6},
		{`{"k":"}","l":[1,{"m":"]"}]} x`, 27},
		{`[1, 2] ,`, 6},
		{`-1.5e3,`, 6},
		{`true}`, 4},
		{`null`, 4},
		{`"unterminated`, -1},
		{`{"a":1`, -1},
		{`{"a":"}`, -1},
		{`,`, -1},
		{``, -1},
	} {
		if got := Value([]byte(c.in), 0); got != c.want {
			t.Errorf("Value(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestSpaceAndString(t *testing.T) {
	if got := Space([]byte(" \t\r\n x"), 0); got != 5 {
		t.Errorf("Space = %d, want 5", got)
	}
	if got := Space([]byte("  "), 0); got != 2 {
		t.Errorf("Space at the end = %d, want 2", got)
	}
	if got := String([]byte(`x"\\"y`), 1); got != 5 {
		t.Errorf("String after an escaped backslash = %d, want 5", got)
	}
}
