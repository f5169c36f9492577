package sandbox_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

func TestTransportResponse(t *testing.T) {
	t.Parallel()
	rt := newSandbox(t).Transport()
	req := newRequest(t, context.Background(), "https://pro.qcc.com/api/yj", qcc.MethodSearch, values("searchKey", docCompany))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Request != req || resp.StatusCode != 200 || resp.Status != "200 OK" || resp.Proto != "HTTP/1.1" ||
		resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Errorf("response %+v", resp)
	}
	if resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Errorf("ContentLength %d for %d bytes", resp.ContentLength, len(body))
	}
	if resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}

	req = newRequest(t, context.Background(), "https://pro.qcc.com/api/yj", qcc.MethodSearch, values("searchKey", "sandbox-http-504"))
	resp, err = rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 504 || resp.Status != "504 Gateway Timeout" {
		t.Errorf("status %q", resp.Status)
	}
}

// TestCancellation checks that both targets give up promptly when the
// context ends while the sandbox is slow.
func TestCancellation(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t, newSandbox(t)) {
		t.Run(tg.name+"/deadline during the wait", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req := newRequest(t, ctx, tg.base, qcc.MethodSearch, values("searchKey", "sandbox-slow-1m"))
			start := time.Now()
			resp, err := tg.client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v, want context.DeadlineExceeded", err)
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("returned after %v", elapsed)
			}
		})
		t.Run(tg.name+"/already cancelled", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := tg.client.Do(newRequest(t, ctx, tg.base, qcc.MethodSearch, values("searchKey", docCompany)))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err %v, want context.Canceled", err)
			}
		})
	}
}

// TestCancelledWhileReadingTheBody reads part of a large answer, cancels,
// and wants the rest to fail with context.Canceled. Over a socket the
// server stalls after the first part until the request ends, so that no
// rest can already be in the client's buffers, which made this flaky.
func TestCancelledWhileReadingTheBody(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	srv := httptest.NewServer(stallAfter(s, 64<<10))
	t.Cleanup(srv.Close)
	for _, tg := range []target{
		{"httptest", srv.Client(), srv.URL + "/api/yj"},
		{"transport", &http.Client{Transport: s.Transport()}, "https://api.qichacha.com"},
	} {
		t.Run(tg.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp, err := tg.client.Do(newRequest(t, ctx, tg.base, qcc.MethodSearch, values("searchKey", "sandbox-large")))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
				t.Fatal(err)
			}
			// The rest of the body may already sit in buffers (a socket's,
			// several MiB on loopback): it must not be readable after the
			// cancel, which only a stalled server makes certain.
			cancel()
			done := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, resp.Body)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("reading went on after cancel")
			}
		})
	}
}

// stallAfter passes n bytes of each answer of h, then holds the rest back
// until the request's context ends.
func stallAfter(h http.Handler, n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&stallWriter{ResponseWriter: w, ctx: r.Context(), left: n}, r)
	})
}

type stallWriter struct {
	http.ResponseWriter
	ctx  context.Context
	left int
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if len(p) <= s.left {
		s.left -= len(p)
		return s.ResponseWriter.Write(p)
	}
	n, err := s.ResponseWriter.Write(p[:s.left])
	s.left = 0
	if err != nil {
		return n, err
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	<-s.ctx.Done()
	return n, s.ctx.Err()
}

// TestTransportBodyClose checks that a streaming body can be closed
// halfway and is unreadable afterwards.
func TestTransportBodyClose(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	client := &http.Client{Transport: s.Transport()}
	req := newRequest(t, context.Background(), "https://api.qichacha.com", qcc.MethodDetail, url.Values{"certId": {"sandbox-large"}})
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Error("read after Close succeeded")
	}
}

func BenchmarkSearchTransport(b *testing.B) {
	client := &http.Client{Transport: newSandbox(b).Transport()}
	for b.Loop() {
		req := newRequest(b, context.Background(), "https://api.qichacha.com", qcc.MethodSearch, values("searchKey", bigCompany, "pageSize", "20"))
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func BenchmarkDetailTransport(b *testing.B) {
	client := &http.Client{Transport: newSandbox(b).Transport()}
	for b.Loop() {
		resp, err := client.Do(newRequest(b, context.Background(), "https://api.qichacha.com", qcc.MethodDetail, values("certId", docCertID)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestTransportReleasesHandlers checks that handler goroutines end when a
// body is closed early or the context ends. It is not parallel, so that
// goleak sees only its own goroutines.
func TestTransportReleasesHandlers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	client := &http.Client{Transport: newSandbox(t).Transport()}
	for range 10 {
		req := newRequest(t, context.Background(), "https://api.qichacha.com", qcc.MethodSearch, values("searchKey", "sandbox-large"))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 100))
		resp.Body.Close()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		if resp, err := client.Do(newRequest(t, ctx, "https://api.qichacha.com", qcc.MethodDetail, values("certId", "sandbox-slow-1m"))); err == nil {
			resp.Body.Close()
			t.Error("slow request did not fail")
		}
		cancel()
	}
}
