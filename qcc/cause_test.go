package qcc

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A network failure names its cause and the host, in the message an agent
// is shown, each from a real failure on loopback: a closed port, a name
// that cannot resolve, a certificate nobody trusts, a server that stalls.
func TestNetworkFailureNamesCauseAndHost(t *testing.T) {
	t.Parallel()
	closedPort := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	stall := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	tlsSelfSigned := func(t *testing.T) string {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "https://")
	}
	tests := []struct {
		name   string
		scheme string
		host   func(t *testing.T) string
		kind   Kind
		want   []string // in Message; "HOST" is replaced by the host
	}{
		{"connection refused", "http", closedPort, KindNetwork, []string{"the connection to HOST was refused"}},
		{"DNS", "http", func(*testing.T) string { return "qcc-mcp-test.invalid" }, KindNetwork,
			[]string{"the name qcc-mcp-test.invalid could not be resolved (DNS"}},
		{"TLS", "https", tlsSelfSigned, KindNetwork, []string{"the TLS certificate of HOST is not signed by a trusted authority"}},
		{"stall", "http", stall, KindTimeout, []string{"QCC (HOST) did not answer completely within 300ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := tt.host(t)
			// Long enough for a TLS handshake on a busy machine, except
			// where the timeout is what is tested.
			timeout := 10 * time.Second
			if tt.kind == KindTimeout {
				timeout = 300 * time.Millisecond
			}
			c, err := New(canaryKey, canarySecret, WithBaseURL(tt.scheme+"://"+host+"/api/yj"),
				WithClock(fixedClock), WithTimeout(timeout))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SearchCertification(context.Background(), SearchParams{SearchKey: "企查查科技有限公司"})
			e := asQCCError(t, err)
			if e.Kind != tt.kind {
				t.Errorf("kind %s, want %s: %v", e.Kind, tt.kind, err)
			}
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "HOST", host); !strings.Contains(e.Message, w) {
					t.Errorf("message %q, want it to contain %q", e.Message, w)
				}
			}
			if !e.Retry.Retryable || e.Action == "" {
				t.Errorf("retry %+v, action %q", e.Retry, e.Action)
			}
			assertNoSecrets(t, err, canaryToken())
		})
	}
}

func asQCCError(t *testing.T, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T) is not a *qcc.Error", err, err)
	}
	return e
}
