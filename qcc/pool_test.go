package qcc_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// barrier holds each request until n have arrived (or a bound passes), so
// that a burst of n calls is really n calls in flight at once.
func barrier(n int, next http.Handler) http.Handler {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		wait := all
		if arrived%n == 0 {
			close(all)
			all = make(chan struct{})
		}
		mu.Unlock()
		select {
		case <-wait:
		case <-time.After(2 * time.Second):
		}
		next.ServeHTTP(w, r)
	})
}

// burst makes n concurrent searches, each with its own arguments.
func burst(t *testing.T, c *qcc.Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := c.SearchCertification(context.Background(), qcc.SearchParams{
				SearchKey: "企查查科技有限公司", PageSize: 1 + i%20, Fuzzy: i%2 == 1})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("search: %v", err)
		}
	}
}

// TestTransportReusesConnections counts the TCP connections that bursts of
// concurrent calls open: at most one per call in flight for the first, none
// for the next ones, which find the pool warm.
func TestTransportReusesConnections(t *testing.T) {
	const inFlight = 16
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(barrier(inFlight, sandbox.New(sandbox.Config{})))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey, qcc.WithBaseURL(srv.URL),
		qcc.WithHTTPClient(&http.Client{Transport: qcc.NewTransport(inFlight)}))
	if err != nil {
		t.Fatal(err)
	}
	burst(t, c, inFlight)
	if n := opened.Load(); n > inFlight {
		t.Fatalf("the first burst of %d calls opened %d connections, want at most %d", inFlight, n, inFlight)
	}
	first := opened.Load()
	for range 3 {
		burst(t, c, inFlight)
	}
	if n := opened.Load() - first; n != 0 {
		t.Fatalf("three more bursts of %d calls opened %d new connections, want 0 (the idle pool should hold them)", inFlight, n)
	}
}

// TestTransportSpeaksHTTP2 checks that a server offering HTTP/2 over TLS
// gets it, and that a reopened connection resumes its TLS session.
func TestTransportSpeaksHTTP2(t *testing.T) {
	var protos sync.Map
	var resumed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		if r.TLS != nil && r.TLS.DidResume {
			resumed.Add(1)
		}
		sandbox.New(sandbox.Config{}).ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	rt := qcc.NewTransport(4)
	rt.TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c, err := qcc.New(sandbox.DemoAppKey, sandbox.DemoSecretKey, qcc.WithBaseURL(srv.URL),
		qcc.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	burst(t, c, 2)
	// A TLS 1.3 ticket reaches the client's cache only once the client has
	// read it off a connection, which can trail the first answers; so the
	// connection is reopened a few times before resumption counts as absent.
	for range 10 {
		rt.CloseIdleConnections()
		burst(t, c, 1)
		if resumed.Load() > 0 {
			break
		}
	}
	if _, ok := protos.Load("HTTP/2.0"); !ok {
		var got []any
		protos.Range(func(k, _ any) bool { got = append(got, k); return true })
		t.Fatalf("protocols seen %v, want HTTP/2.0", got)
	}
	if resumed.Load() == 0 {
		t.Fatal("the reopened connection did not resume its TLS session")
	}
}
