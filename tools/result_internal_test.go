package tools

import (
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// TestCertDatesMatchDateOrNil holds the list rendering of dates to the
// one-by-one rendering, over lists longer than its stack buffers, missing
// dates, times near midnight in Beijing and odd years.
func TestCertDatesMatchDateOrNil(t *testing.T) {
	pick := []time.Time{{}, time.Date(2024, 3, 1, 15, 59, 59, 0, time.UTC), time.Date(2024, 3, 1, 16, 0, 0, 0, time.UTC),
		time.Date(999, 1, 2, 0, 0, 0, 0, qcc.Beijing), time.Date(12345, 6, 7, 0, 0, 0, 0, qcc.Beijing),
		time.Date(2031, 12, 31, 23, 0, 0, 0, qcc.Beijing)}
	for _, n := range []int{0, 1, 3, 32, 33, 200} {
		items := make([]qcc.Certification, n)
		for i := range items {
			items[i].StartDate, items[i].EndDate = pick[i%len(pick)], pick[(i*5+1)%len(pick)]
		}
		dates := certDates(items)
		for i, it := range items {
			for j, want := range []*string{dateOrNil(it.StartDate), dateOrNil(it.EndDate)} {
				got := dateAt(dates, 2*i+j)
				if (got == nil) != (want == nil) || (got != nil && *got != *want) {
					t.Fatalf("n=%d item %d date %d: got %v, want %v", n, i, j, orNil(got), orNil(want))
				}
			}
		}
	}
	items := make([]qcc.Certification, 10)
	for i := range items {
		items[i].StartDate, items[i].EndDate = pick[1], pick[5]
	}
	if a := testing.AllocsPerRun(100, func() { certDates(items) }); a > 2 {
		t.Errorf("certDates of 10 certificates: %v allocations, want at most 2", a)
	}
}

func orNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
