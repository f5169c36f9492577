package qcc

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestReadmeErrorTableMatchesStatusTable keeps the README's error table in
// step with the table the client uses.
func TestReadmeErrorTableMatchesStatusTable(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			rows[strings.TrimSpace(cells[1])] = line
		}
	}
	for _, s := range StatusCodes() {
		if s.Code == 200 {
			continue
		}
		row, ok := rows[fmt.Sprint(s.Code)]
		if !ok {
			t.Errorf("README has no row for QCC status %d", s.Code)
			continue
		}
		for _, want := range []string{"| " + string(s.Kind) + " |", s.Meaning, s.Action} {
			if !strings.Contains(row, want) {
				t.Errorf("README row for %d lacks %q:\n%s", s.Code, want, row)
			}
		}
	}
}
