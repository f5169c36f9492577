package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/qcc-mcp/qcc-mcp/internal/auth/authtest"
	"github.com/qcc-mcp/qcc-mcp/internal/identity"
	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(t *testing.T, v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(raw)
}

func readyVerifier(t *testing.T, as *authtest.Server, clock *testkit.Clock, scope string) *Verifier {
	t.Helper()
	v, err := NewVerifier(OAuthConfig{Issuer: as.Issuer, Resource: authtest.Resource, Scope: scope, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go v.Run(ctx)
	testkit.WaitFor(t, "the verifier to load the keys", v.Ready)
	return v
}

func TestVerifierAcceptsOnlyValidTokensForThisResource(t *testing.T) {
	for _, rfc8414 := range []bool{false, true} {
		name := "oidc-discovery"
		if rfc8414 {
			name = "rfc8414"
		}
		t.Run(name, func(t *testing.T) {
			as := authtest.New(t, rfc8414)
			as.AddKey(t, "rsa1", "rsa", true)
			as.AddKey(t, "ec1", "ec", true)
			as.AddKey(t, "ed1", "ed", true)
			clock := testkit.NewClock()
			now := clock.Now()
			v := readyVerifier(t, as, clock, "qcc")
			good := as.Claims(now)

			rsaPub := as.Private["rsa1"].Public()
			der, _ := x509.MarshalPKIXPublicKey(rsaPub)
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			hs256 := func(key []byte) string {
				in := b64json(t, map[string]any{"alg": "HS256", "kid": "rsa1", "typ": "JWT"}) + "." + b64json(t, good)
				mac := hmac.New(sha256.New, key)
				mac.Write([]byte(in))
				return in + "." + b64(mac.Sum(nil))
			}
			valid := as.Mint(t, "rsa1", jose.RS256, good)
			parts := strings.Split(valid, ".")
			tampered := parts[0] + "." + b64json(t, authtest.With(good, "sub", "admin")) + "." + parts[2]

			cases := []struct {
				name    string
				token   string
				code    string // "" valid
				contain string
			}{
				{"valid RS256", valid, "", ""},
				{"valid PS256", as.Mint(t, "rsa1", jose.PS256, good), "", ""},
				{"valid ES256", as.Mint(t, "ec1", jose.ES256, good), "", ""},
				{"valid EdDSA", as.Mint(t, "ed1", jose.EdDSA, good), "", ""},
				{"expiry within the leeway", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "exp", now.Add(-10*time.Second).Unix())), "", ""},
				{"expired", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "exp", now.Add(-2*time.Minute).Unix())), "invalid_token", "expired"},
				{"no expiry", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "exp", nil)), "invalid_token", "no expiry"},
				{"not yet valid", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "nbf", now.Add(2*time.Minute).Unix())), "invalid_token", "not valid before"},
				{"wrong audience", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "aud", "https://other.example.com/mcp")), "invalid_token", "aud"},
				{"no audience", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "aud", nil)), "invalid_token", "aud"},
				{"wrong issuer", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "iss", "https://evil.example.com")), "invalid_token", "another issuer"},
				{"alg none", b64json(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64json(t, good) + ".", "invalid_token", "algorithm"},
				{"HS256 keyed with the public key (PEM)", hs256(pemKey), "invalid_token", "algorithm"},
				{"HS256 keyed with the public key (DER)", hs256(der), "invalid_token", "algorithm"},
				{"tampered payload", tampered, "invalid_token", "signature"},
				{"signed by another key under a published kid", func() string {
					as.AddKey(t, "rogue", "rsa", false)
					tok := as.Mint(t, "rogue", jose.RS256, good)
					p := strings.Split(tok, ".")
					return b64json(t, map[string]any{"alg": "RS256", "kid": "rsa1", "typ": "at+jwt"}) + "." + p[1] + "." + p[2]
				}(), "invalid_token", "signature"},
				{"missing scope", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "scope", "openid profile")), "insufficient_scope", "qcc"},
				{"scope as scp array", as.Mint(t, "rsa1", jose.RS256, authtest.With(authtest.With(good, "scope", nil), "scp", []string{"qcc"})), "", ""},
				{"no subject", as.Mint(t, "rsa1", jose.RS256, authtest.With(good, "sub", nil)), "invalid_token", "subject"},
				{"not a JWT", "opaque-token-123", "invalid_token", "not a JWT"},
			}
			for _, c := range cases {
				id, err := v.Verify(context.Background(), c.token)
				if c.code == "" {
					if err != nil {
						t.Errorf("%s: refused: %v", c.name, err)
					} else if id != (identity.Identity{Name: "user-42", Subject: "user-42", ClientID: "claude", Kind: identity.OAuth}) {
						t.Errorf("%s: identity %+v", c.name, id)
					}
					continue
				}
				te, ok := err.(*TokenError)
				if !ok {
					t.Errorf("%s: got %v (%T), want a TokenError %s", c.name, err, err, c.code)
					continue
				}
				if te.Code != c.code || !strings.Contains(te.Description, c.contain) {
					t.Errorf("%s: got %s %q, want %s containing %q", c.name, te.Code, te.Description, c.code, c.contain)
				}
				if strings.Contains(te.Error(), c.token) {
					t.Errorf("%s: the error holds the token", c.name)
				}
			}
		})
	}
}

func TestUnknownKidRefetchesOnceThenPicksUpARotation(t *testing.T) {
	as := authtest.New(t, false)
	as.AddKey(t, "old", "rsa", true)
	as.AddKey(t, "new", "ec", false) // not published yet
	clock := testkit.NewClock()
	v := readyVerifier(t, as, clock, "")
	base := as.JWKSHits.Load()
	claims := func() map[string]any { return as.Claims(clock.Now()) }

	// Before the rotation: a kid the JWKS does not hold costs one refetch
	// (once RefetchInterval has passed since the first load); more within
	// RefetchInterval cost none.
	clock.Advance(31 * time.Second)
	for i := range 3 {
		_, err := v.Verify(context.Background(), as.Mint(t, "new", jose.ES256, claims()))
		if err == nil || !strings.Contains(err.Error(), "does not publish") {
			t.Fatalf("attempt %d before the rotation: got %v, want an unknown-key refusal", i, err)
		}
	}
	if got := as.JWKSHits.Load() - base; got != 1 {
		t.Fatalf("JWKS fetched %d times for unknown kids, want exactly 1 (rate-limited)", got)
	}

	// The rotation: the server now publishes only the new key.
	as.PublishOnly("new")
	clock.Advance(31 * time.Second)
	if _, err := v.Verify(context.Background(), as.Mint(t, "new", jose.ES256, claims())); err != nil {
		t.Fatalf("after the rotation the new key is refused: %v", err)
	}
	if got := as.JWKSHits.Load() - base; got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", got)
	}
	// The withdrawn key no longer verifies anything.
	if _, err := v.Verify(context.Background(), as.Mint(t, "old", jose.RS256, claims())); err == nil {
		t.Fatal("a token of the withdrawn key was accepted after the rotation")
	}
	// Tokens of the current key need no fetch at all.
	for range 5 {
		if _, err := v.Verify(context.Background(), as.Mint(t, "new", jose.ES256, claims())); err != nil {
			t.Fatal(err)
		}
	}
	if got := as.JWKSHits.Load() - base; got > 3 {
		t.Fatalf("JWKS fetched %d times, want at most 3", got)
	}
}

func TestDiscoveryRefusesMetadataOfAnotherIssuer(t *testing.T) {
	as := authtest.New(t, false)
	as.AddKey(t, "k", "rsa", true)
	v, err := NewVerifier(OAuthConfig{Issuer: as.Srv.URL + "/realms/test/", Resource: authtest.Resource}) // trailing slash: another issuer
	if err != nil {
		t.Fatal(err)
	}
	err = v.refresh(context.Background(), true)
	if err == nil || !strings.Contains(err.Error(), "names the issuer") {
		t.Fatalf("got %v, want an issuer mismatch", err)
	}
	if v.Ready() {
		t.Fatal("ready with another issuer's metadata")
	}
}

func TestParseTokens(t *testing.T) {
	s, err := ParseTokens([]byte("  only-one-token \n"))
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := s.Lookup("only-one-token"); !ok || name != DefaultTokenName {
		t.Fatalf("single token: got %q %v", name, ok)
	}
	s, err = ParseTokens([]byte("# team tokens\nalice tok-a\n\nbob   tok-b\n"))
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{"tok-a": "alice", "tok-b": "bob"} {
		if name, ok := s.Lookup(tok); !ok || name != want {
			t.Errorf("%s: got %q %v, want %s", tok, name, ok, want)
		}
	}
	for _, bad := range []string{"tok-a", "alice tok", "tok-a ", "alice", "alic tok-a2 extra"} {
		if name, ok := s.Lookup(bad); ok && bad != "tok-a" {
			t.Errorf("%q matched %q", bad, name)
		}
	}
	if _, ok := s.Lookup("alice tok-a"); ok {
		t.Error("a whole line matched")
	}
	for _, c := range []struct{ in, want string }{
		{"", "no token"},
		{"# nothing\n", "no token"},
		{"alice tok-a\nlonely\n", "line 2"},
		{"alice tok-a\nalice tok-b\n", "line 2: the name is used twice (also on line 1)"},
		{"alice tok-a\nbob tok-a\n", "line 2: the token is also the token on line 1"},
		{"al ice tok\n", "line 1"},
		{"bad/name tok\nx y\n", "line 1: the name"},
		// The columns swapped: the canary token, with + / = that no name
		// has, is where the name should be.
		{"alice tok-a\ntok-CANARY+a/b= bob\n", "line 2: the name"},
		// Swapped on every line, a token of name characters passes as a
		// name and is "used twice".
		{"tok-CANARY alice\ntok-CANARY bob\n", "line 2: the name is used twice"},
	} {
		_, err := ParseTokens([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error with %q", c.in, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "tok-") || strings.Contains(err.Error(), "CANARY")) {
			t.Errorf("%q: the error holds a token: %v", c.in, err)
		}
	}
}

// front builds the middleware around a handler that reports the identity.
func front(t *testing.T, a *Authenticator) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, p := range a.MetadataPaths() {
		mux.Handle("GET "+p, a.MetadataHandler())
	}
	mux.Handle("/", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := identity.FromContext(r.Context())
		if r.Header.Get("Authorization") != "" {
			t.Error("the Authorization header reached the handler")
		}
		json.NewEncoder(w).Encode(struct {
			OK     bool          `json:"ok"`
			Name   string        `json:"name"`
			Kind   identity.Kind `json:"kind"`
			Client string        `json:"client"`
		}{ok, id.Name, id.Kind, id.ClientID})
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// TestNotReadyIsLoggedOncePerChange: calls refused while the keys are not
// loaded give one warning, not one a request, and loading them one line.
func TestNotReadyIsLoggedOncePerChange(t *testing.T) {
	as := authtest.New(t, false)
	as.AddKey(t, "k", "rsa", true)
	clock := testkit.NewClock()
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	v, err := NewVerifier(OAuthConfig{Issuer: as.Issuer, Resource: authtest.Resource, Scope: "qcc", Now: clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{OAuth: v, Logger: log})
	srv := front(t, a)
	valid := as.Mint(t, "k", jose.RS256, as.Claims(clock.Now()))
	for range 5 {
		if resp, body := get(t, srv.URL+"/mcp", valid); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("before keys: %d %q, want 503", resp.StatusCode, body)
		}
	}
	if n := strings.Count(logs.String(), "refusing OAuth calls"); n != 1 {
		t.Fatalf("%d warnings for 5 refused calls, want 1:\n%s", n, logs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	testkit.WaitFor(t, "ready", a.Ready)
	for range 3 {
		if resp, body := get(t, srv.URL+"/mcp", valid); resp.StatusCode != http.StatusOK {
			t.Fatalf("after keys: %d %q, want 200", resp.StatusCode, body)
		}
	}
	if n := strings.Count(logs.String(), "OAuth calls are checked again"); n != 1 || !strings.Contains(logs.String(), "calls_refused=5") {
		t.Errorf("%d lines for the keys loaded, want 1 with calls_refused=5:\n%s", n, logs)
	}
}

func TestMiddlewareChallengesAndIdentities(t *testing.T) {
	as := authtest.New(t, false)
	as.AddKey(t, "k", "rsa", true)
	clock := testkit.NewClock()
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v, err := NewVerifier(OAuthConfig{Issuer: as.Issuer, Resource: authtest.Resource, Scope: "qcc", Now: clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	static, _ := ParseTokens([]byte("ci-bot static-secret-1\n"))
	a := New(Options{Static: static, OAuth: v, Logger: log})
	srv := front(t, a)
	valid := as.Mint(t, "k", jose.RS256, as.Claims(clock.Now()))

	// Before the keys are loaded: 503 naming the issuer, and not ready.
	if a.Ready() {
		t.Fatal("ready before the keys were fetched")
	}
	resp, body := get(t, srv.URL+"/mcp", valid)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, as.Issuer) {
		t.Fatalf("before keys: %d %q, want 503 naming the issuer", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), as.Issuer) {
		t.Fatal("no log line names the issuer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	testkit.WaitFor(t, "ready", a.Ready)

	meta := `resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`
	for _, c := range []struct {
		name, token string
		status      int
		header      []string
		who         string
	}{
		{"no token", "", 401, []string{meta, `error="invalid_token"`}, ""},
		{"bad token", "nonsense", 401, []string{meta, `error="invalid_token"`}, ""},
		{"expired", as.Mint(t, "k", jose.RS256, authtest.With(as.Claims(clock.Now()), "exp", clock.Now().Add(-time.Hour).Unix())), 401, []string{meta, `error="invalid_token"`}, ""},
		{"missing scope", as.Mint(t, "k", jose.RS256, authtest.With(as.Claims(clock.Now()), "scope", "openid")), 403, []string{meta, `error="insufficient_scope"`, `scope="qcc"`}, ""},
		{"oauth", valid, 200, nil, `"name":"user-42","kind":"oauth","client":"claude"`},
		{"static", "static-secret-1", 200, nil, `"name":"ci-bot","kind":"static"`},
	} {
		resp, body := get(t, srv.URL+"/mcp", c.token)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d %q, want %d", c.name, resp.StatusCode, body, c.status)
		}
		h := resp.Header.Get("WWW-Authenticate")
		for _, want := range c.header {
			if !strings.HasPrefix(h, "Bearer ") || !strings.Contains(h, want) {
				t.Errorf("%s: WWW-Authenticate %q lacks %s", c.name, h, want)
			}
		}
		if c.who != "" && !strings.Contains(body, c.who) {
			t.Errorf("%s: handler saw %s, want %s", c.name, body, c.who)
		}
	}

	// Tokens in URLs stay refused, even valid ones.
	resp, _ = get(t, srv.URL+"/mcp?access_token="+valid, valid)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("token in URL: %d, want 400", resp.StatusCode)
	}

	// The RFC 9728 document, at both paths.
	for _, p := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Resource      string   `json:"resource"`
			Servers       []string `json:"authorization_servers"`
			Scopes        []string `json:"scopes_supported"`
			BearerMethods []string `json:"bearer_methods_supported"`
		}
		json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resp.StatusCode != 200 || doc.Resource != authtest.Resource || len(doc.Servers) != 1 || doc.Servers[0] != as.Issuer ||
			len(doc.Scopes) != 1 || doc.Scopes[0] != "qcc" || len(doc.BearerMethods) != 1 || doc.BearerMethods[0] != "header" {
			t.Errorf("%s: %d %+v", p, resp.StatusCode, doc)
		}
	}
	for _, secret := range []string{valid, "static-secret-1"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a token reached the log")
		}
	}
}

func TestStaticOnlyKeepsTheChallengeOfBefore(t *testing.T) {
	a := New(Options{Static: SingleToken("s3cret")})
	srv := front(t, a)
	resp, _ := get(t, srv.URL+"/mcp", "wrong")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="qcc-mcp"` {
		t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	_, body := get(t, srv.URL+"/mcp", "s3cret")
	if !strings.Contains(body, `"name":"default","kind":"static"`) {
		t.Fatalf("got %s", body)
	}
	if len(a.MetadataPaths()) != 0 {
		t.Fatal("metadata served without OAuth")
	}
	// Nothing configured: everyone passes, with no identity.
	_, body = get(t, front(t, New(Options{})).URL+"/mcp", "")
	if !strings.Contains(body, `"ok":false`) {
		t.Fatalf("no auth: %s", body)
	}
}
