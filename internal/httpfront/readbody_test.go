package httpfront

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAtMostIsReadAllOfALimitReader: the same bytes and the same
// error as io.ReadAll(io.LimitReader(r, n)), whatever the reader does and
// whatever length the request announced. (Not a reader that fails on its
// nth call: the two read in pieces of other sizes. A request body fails
// on its deadline or its connection, not on a count of reads.)
func TestReadAtMostIsReadAllOfALimitReader(t *testing.T) {
	boom := errors.New("boom")
	readers := map[string]func(string) io.Reader{
		"plain":        func(s string) io.Reader { return strings.NewReader(s) },
		"one byte":     func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":         func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		"data and EOF": func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"error after":  func(s string) io.Reader { return io.MultiReader(strings.NewReader(s), iotest.ErrReader(boom)) },
	}
	for name, mk := range readers {
		for _, size := range []int{0, 1, 9, 10, 11, 511, 512, 513, 2000} {
			data := strings.Repeat("x", size)
			for _, n := range []int64{0, 1, 10, 11, 512, 513, 1 << 20} {
				for _, length := range []int64{-1, 0, 5, int64(size), int64(size) + 7, n, n + 1} {
					want, wantErr := io.ReadAll(io.LimitReader(mk(data), n))
					got, err := readAtMost(mk(data), n, length)
					if !bytes.Equal(got, want) || !errors.Is(err, wantErr) && err != wantErr {
						t.Fatalf("%s, %d bytes, limit %d, length %d: %d bytes, %v; io.ReadAll gives %d bytes, %v",
							name, size, n, length, len(got), err, len(want), wantErr)
					}
				}
			}
		}
	}
}
