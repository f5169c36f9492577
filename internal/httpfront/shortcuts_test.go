package httpfront

import (
	"bytes"
	"errors"
	"io"
	"net"
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

// TestLoopbackAddrIsLoopbackHostPortOfItsString: the shortcut for TCP
// addresses answers as the string did.
func TestLoopbackAddrIsLoopbackHostPortOfItsString(t *testing.T) {
	var nilTCP *net.TCPAddr
	addrs := []net.Addr{nilTCP, &net.TCPAddr{}, &net.UnixAddr{Name: "/tmp/s", Net: "unix"},
		&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}}
	for _, ip := range []string{"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "192.0.2.1",
		"fe80::1", "2001:db8::1", "10.0.0.1"} {
		for _, zone := range []string{"", "lo", "eth0"} {
			addrs = append(addrs, &net.TCPAddr{IP: net.ParseIP(ip), Port: 8080, Zone: zone})
		}
	}
	addrs = append(addrs, &net.TCPAddr{IP: net.IP{127, 0, 0}, Port: 1}, &net.TCPAddr{IP: net.ParseIP("127.0.0.1").To4()})
	for _, a := range addrs {
		if got, want := loopbackAddr(a), loopbackHostPort(a.String()); got != want {
			t.Errorf("%#v (%s): %v, its string gives %v", a, a, got, want)
		}
	}
}

// TestReadAtMostDoesNotTrustAnAnnouncedLength: a client announcing a
// large body and sending a few bytes gets a first buffer no larger than
// firstBufferMax, not one of the size it announced.
func TestReadAtMostDoesNotTrustAnAnnouncedLength(t *testing.T) {
	got, err := readAtMost(strings.NewReader("{}"), 1<<40, 1<<30)
	if err != nil || string(got) != "{}" {
		t.Fatalf("got %q, %v", got, err)
	}
	if cap(got) > firstBufferMax {
		t.Errorf("a 2-byte body announced as 1 GiB got a %d-byte buffer, want at most %d", cap(got), firstBufferMax)
	}
}
