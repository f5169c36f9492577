package testkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	c := NewClock()
	if !c.Now().Equal(Start) {
		t.Fatalf("Now = %v, want %v", c.Now(), Start)
	}
	c.Advance(time.Hour)
	if got := c.Now().Sub(Start); got != time.Hour {
		t.Fatalf("after Advance(1h) the clock moved %v", got)
	}
}

func TestGateHoldsUntilOpened(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ts.Close()
	g := NewGate(http.DefaultTransport)
	done := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: g}).Get(ts.URL)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	WaitFor(t, "the request to reach the gate", func() bool { return g.Arrived() == 1 })
	select {
	case err := <-done:
		t.Fatalf("the request passed a closed gate: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	g.Open()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
	if _, err := NewGate(http.DefaultTransport).RoundTrip(req); err == nil {
		t.Fatal("a canceled request passed a closed gate")
	}
}

func TestClientReachesTheSandbox(t *testing.T) {
	c := Client(t, Sandbox(nil), nil, nil)
	res, err := c.SearchCertification(context.Background(), qcc.SearchParams{SearchKey: "苏州云帆智能制造股份有限公司"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || len(res.Items) == 0 {
		t.Fatalf("status %d with %d items, want certificates", res.Status, len(res.Items))
	}
}
