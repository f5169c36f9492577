package auth

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestMiddlewareLeavesTheCallersRequestAlone: the handler sees no
// Authorization header, and what it does to its request's headers does
// not reach the request the middleware was given, which keeps its token.
func TestMiddlewareLeavesTheCallersRequestAlone(t *testing.T) {
	const token = "middleware-test-token-0123456789"
	a := New(Options{Static: SingleToken(token)})
	req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header["X-Two"] = make([]string, 1, 4) // spare capacity an Add could write into
	req.Header["X-Two"][0] = "a"
	ran := false
	a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		if _, ok := r.Header["Authorization"]; ok {
			t.Error("the Authorization header reached the handler")
		}
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("X-Two") != "a" {
			t.Errorf("the handler lost headers: %v", r.Header)
		}
		r.Header.Add("X-Two", "b")
		r.Header.Set("Accept", "text/plain")
		r.Header.Del("X-Gone")
		r.Header.Set("X-New", "n")
		w.WriteHeader(http.StatusNoContent)
	})).ServeHTTP(httptest.NewRecorder(), req)
	if !ran {
		t.Fatal("the handler did not run")
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("the caller's request lost its Authorization header: %q", got)
	}
	if !slices.Equal(req.Header["X-Two"], []string{"a"}) || req.Header["X-Two"][:2][1] != "" ||
		req.Header.Get("Accept") != "application/json" || req.Header.Get("X-New") != "" {
		t.Errorf("the handler's changes reached the caller's request: %v", req.Header)
	}
}
