package sandbox_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"testing"
	"time"

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
		t.Run(tg.name+"/cancelled while reading the body", func(t *testing.T) {
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
// body is closed early or the context ends. It is not parallel so that the
// goroutine count is stable.
func TestTransportReleasesHandlers(t *testing.T) {
	client := &http.Client{Transport: newSandbox(t).Transport()}
	before := runtime.NumGoroutine()
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
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}
