package qcc

import (
	"regexp"
	"testing"
	"time"
)

var tokenFormat = regexp.MustCompile(`^[0-9A-F]{32}$`)

// TestSignFixedVector pins Sign to a literal computed once, so a change in
// concatenation order, case or time unit cannot pass unnoticed.
func TestSignFixedVector(t *testing.T) {
	t.Parallel()
	const want = "D31228E9463E47F39786F43F0A68D3C8" // MD5("demo-key" + "1700000000" + "demo-secret")
	for _, now := range []time.Time{
		time.Unix(1700000000, 0),
		time.Unix(1700000000, 999_999_999).In(Beijing), // sub-second and zone must not matter
		time.Unix(1700000000, 0).UTC(),
	} {
		timespan, token := Sign("demo-key", "demo-secret", now)
		if timespan != "1700000000" {
			t.Errorf("Sign(%v) timespan = %q, want 1700000000", now, timespan)
		}
		if token != want {
			t.Errorf("Sign(%v) token = %q, want %q", now, token, want)
		}
		if !tokenFormat.MatchString(token) {
			t.Errorf("token %q is not 32 uppercase hex characters", token)
		}
	}
}
