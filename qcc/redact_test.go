package qcc

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestReplaceWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"the test t went", "the test [r] went"},
		{"t", "[r]"},
		{"t t", "[r] [r]"},
		{"key=t&x=1", "key=[r]&x=1"},
		{"tt att t-1 _t", "tt att t-1 _t"},
		{"(t)", "([r])"},
		{"", ""},
	} {
		if got := replaceWhole(tc.in, "t", "[r]"); got != tc.want {
			t.Errorf("replaceWhole(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A short secret (only possible for a Client made directly: the server
// refuses them) is removed where it stands whole and nowhere else, so
// messages neither break nor spell out its letters; a long one goes
// wherever it occurs, even run into other characters. Both through
// Redact and through a Client's own errors.
func TestRedactionRemovesOnlyWholeShortSecrets(t *testing.T) {
	t.Parallel()
	const short = "t"
	c, srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("the gateway timed out; secret=" + r.URL.Query().Get("key") + " and xx" + canarySecret + "yy"))
	})
	shortClient, err := New("app-key-of-a-test", short, WithBaseURL(srv.URL+"/api/yj"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = shortClient.SearchCertification(context.Background(), SearchParams{SearchKey: "企查查科技有限公司"})
	if e := asQCCError(t, err); !strings.Contains(e.Message, "the gateway timed out") {
		t.Errorf("a secret %q broke the message: %q", short, e.Message)
	}

	got := Redact("the test text t went at " + short + ".")
	if want := "the test text [redacted] went at [redacted]."; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	if got := Redact("run-into-" + canarySecret + "-x"); strings.Contains(got, canarySecret) {
		t.Errorf("a long secret inside a word stayed: %q", got)
	}

	_, err = c.SearchCertification(context.Background(), SearchParams{SearchKey: "企查查科技有限公司"})
	e := asQCCError(t, err)
	if !strings.Contains(e.Message, "the gateway timed out") || strings.Contains(e.Message, canarySecret) {
		t.Errorf("message %q: want the text intact and the secret gone", e.Message)
	}
	assertNoSecrets(t, err, canaryToken())
}
