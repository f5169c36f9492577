// Package authtest is a stand-in OAuth authorization server for tests:
// discovery metadata and a JWKS of RSA, EC and Ed25519 keys that a test can
// rotate, and tokens minted with the private keys.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Server is a stand-in authorization server: discovery metadata and a
// JWKS whose keys a test can rotate, and the private keys to mint tokens.
type Server struct {
	Srv       *httptest.Server
	Issuer    string
	mu        sync.Mutex
	published []jose.JSONWebKey
	Private   map[string]crypto.Signer // by kid
	JWKSHits  atomic.Int64             // JWKS requests served
	Down      atomic.Bool              // when set, discovery and JWKS answer 503
	rfc8414   bool                     // serve RFC 8414 metadata instead of OpenID Connect discovery
}

// New starts a stand-in authorization server whose issuer is its URL +
// "/realms/test"; with rfc8414 it serves RFC 8414 metadata, else OpenID
// Connect discovery.
func New(t *testing.T, rfc8414 bool) *Server {
	t.Helper()
	as := &Server{Private: map[string]crypto.Signer{}, rfc8414: rfc8414}
	mux := http.NewServeMux()
	meta := func(w http.ResponseWriter, _ *http.Request) {
		if as.Down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"issuer": as.Issuer, "jwks_uri": as.Srv.URL + "/keys"})
	}
	if rfc8414 {
		mux.HandleFunc("GET /.well-known/oauth-authorization-server/realms/test", meta)
	} else {
		mux.HandleFunc("GET /realms/test/.well-known/openid-configuration", meta)
	}
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		as.JWKSHits.Add(1)
		if as.Down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		as.mu.Lock()
		defer as.mu.Unlock()
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: as.published})
	})
	as.Srv = httptest.NewServer(mux)
	t.Cleanup(as.Srv.Close)
	as.Issuer = as.Srv.URL + "/realms/test"
	return as
}

// AddKey makes a key; published keys appear in the JWKS.
func (as *Server) AddKey(t *testing.T, kid string, kind string, publish bool) {
	t.Helper()
	var k crypto.Signer
	var err error
	switch kind {
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ec":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	as.Private[kid] = k
	if publish {
		as.published = append(as.published, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Use: "sig"})
	}
}

// PublishOnly replaces the JWKS with the keys named: a rotation.
func (as *Server) PublishOnly(kids ...string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.published = nil
	for _, kid := range kids {
		as.published = append(as.published, jose.JSONWebKey{Key: as.Private[kid].Public(), KeyID: kid, Use: "sig"})
	}
}

// Mint signs claims with the key kid and alg.
func (as *Server) Mint(t *testing.T, kid string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	as.mu.Lock()
	key := as.Private[kid]
	as.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Resource is the resource URL the tokens of Claims are meant for.
const Resource = "https://mcp.example.com/mcp"

// Claims are valid claims for Resource at now, scope "openid qcc".
func (as *Server) Claims(now time.Time) map[string]any {
	return map[string]any{
		"iss": as.Issuer, "aud": []string{"account", Resource}, "sub": "user-42", "azp": "claude",
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Add(-time.Second).Unix(),
		"scope": "openid qcc",
	}
}

// With returns a copy of m with k set to v, or removed when v is nil.
func With(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}
