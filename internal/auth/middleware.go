// Package auth establishes who is calling the HTTP server: static named
// bearer tokens, OAuth 2.1 access tokens of an authorization server (the
// server as a resource server in the sense of the MCP authorization
// specification, RFC 9728 and RFC 8707), or both. Its middleware puts the
// caller's identity.Identity in the request context and answers 401, 403
// and 503 with the WWW-Authenticate headers clients need to find the
// authorization server. It never logs or passes on a token.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/qcc-mcp/qcc-mcp/internal/identity"
)

// Options configure an Authenticator. With neither Static nor OAuth set it
// authenticates nobody and lets every request through (loopback use).
type Options struct {
	Static *StaticTokens // nil: no static tokens
	OAuth  *Verifier     // nil: no OAuth
	Logger *slog.Logger
}

// Authenticator is the HTTP middleware and the protected-resource metadata
// of the server.
type Authenticator struct {
	static *StaticTokens
	oauth  *Verifier
	log    *slog.Logger
	// metadataURL is the RFC 9728 document of the resource, named in every
	// challenge so that clients can find the authorization server.
	metadataURL string
	// metadataPaths are the paths it is served at on this server.
	metadataPaths []string
	// refusing is set while calls are refused for want of the keys: the
	// refusals are logged once when that starts and once when it ends,
	// not once a request.
	refusing atomic.Bool
	refused  atomic.Int64 // calls refused since refusing was set
}

// New returns an Authenticator.
func New(o Options) *Authenticator {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{static: o.Static, oauth: o.OAuth, log: o.Logger}
	if a.oauth != nil {
		res, _ := url.Parse(a.oauth.cfg.Resource) // checked by NewVerifier
		// RFC 9728 section 3.1: the well-known path goes between the host
		// and the resource's path.
		suffix := strings.TrimSuffix(res.Path, "/")
		meta := *res
		meta.Path, meta.RawPath, meta.RawQuery = "/.well-known/oauth-protected-resource"+suffix, "", ""
		a.metadataURL = meta.String()
		a.metadataPaths = []string{"/.well-known/oauth-protected-resource"}
		if suffix != "" {
			a.metadataPaths = append(a.metadataPaths, meta.Path)
		}
	}
	return a
}

// Enabled reports whether any authentication is configured.
func (a *Authenticator) Enabled() bool { return a.static != nil || a.oauth != nil }

// Ready reports whether requests can be authenticated: false while the
// authorization server's keys have not been fetched.
func (a *Authenticator) Ready() bool { return a.oauth == nil || a.oauth.Ready() }

// NotReadyReason says why Ready is false, naming the issuer.
func (a *Authenticator) NotReadyReason() string {
	if a.Ready() {
		return ""
	}
	return fmt.Sprintf("the keys of the authorization server %s are not loaded yet", a.oauth.Issuer())
}

// MetadataPaths are the paths of the protected-resource metadata, to mount
// MetadataHandler at without authentication; none without OAuth.
func (a *Authenticator) MetadataPaths() []string { return a.metadataPaths }

// MetadataHandler serves the RFC 9728 protected-resource metadata.
func (a *Authenticator) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.oauth == nil {
			http.NotFound(w, r)
			return
		}
		doc := map[string]any{
			"resource":                 a.oauth.cfg.Resource,
			"authorization_servers":    []string{a.oauth.cfg.Issuer},
			"bearer_methods_supported": []string{"header"},
			"resource_name":            "qcc-mcp",
		}
		if s := a.oauth.cfg.Scope; s != "" {
			doc["scopes_supported"] = []string{s}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_ = json.NewEncoder(w).Encode(doc)
	})
}

// credentialParams are query parameters that look like credentials. They
// are refused outright: a URL ends up in proxy logs and browser history.
var credentialParams = []string{"access_token", "token", "auth", "authorization", "api_key", "apikey", "key", "secret", "bearer"}

// Middleware refuses credentials in URLs, then, when authentication is
// configured, requires "Authorization: Bearer <token>": a static token, or
// an OAuth access token for this resource. The caller's identity goes into
// the request context; the Authorization header is removed before next
// runs, so that the token travels no further.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, ok := a.Admit(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// Admit is Middleware as a check, for a front that runs its checks in
// sequence rather than nested: it answers a refused request itself and
// reports false, or returns the request to hand on (with the caller's
// identity and without the Authorization header when authentication is
// configured).
func (a *Authenticator) Admit(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	// Query keys are case-sensitive to a server but not to whoever
	// pastes a token into one: ?Token= is refused like ?token=.
	if r.URL.RawQuery != "" { // no keys otherwise: spare the parse
		for key := range r.URL.Query() {
			if slices.Contains(credentialParams, strings.ToLower(key)) {
				plain(w, http.StatusBadRequest, "credentials are not accepted in URLs: send Authorization: Bearer <token>")
				return nil, false
			}
		}
	}
	if !a.Enabled() {
		return r, true
	}
	id, ok := a.authenticate(w, r)
	if !ok {
		return nil, false
	}
	r = r.WithContext(identity.NewContext(r.Context(), id))
	r.Header = withoutAuthorization(r.Header)
	return r, true
}

// withoutAuthorization returns a copy of h without the Authorization
// header, for a request copy whose handlers must not see the token while
// the caller's request keeps it. The copy shares the values' arrays, their
// capacity clipped, so that a handler's Set, Add or Del changes the copy
// alone; it costs a map, where Request.Clone copies every value and the
// URL too.
func withoutAuthorization(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	n := len(h)
	if _, ok := h["Authorization"]; ok {
		n--
	}
	c := make(http.Header, n)
	for k, v := range h {
		if k != "Authorization" {
			c[k] = v[:len(v):len(v)]
		}
	}
	return c
}

// authenticate answers the request itself when it returns false.
func (a *Authenticator) authenticate(w http.ResponseWriter, r *http.Request) (identity.Identity, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	bearer := strings.EqualFold(scheme, "Bearer") && token != ""
	if bearer && a.static != nil {
		if name, ok := a.static.Lookup(token); ok {
			return identity.Identity{Name: name, Kind: identity.Static}, true
		}
	}
	if a.oauth == nil {
		// Static tokens only: the challenge of before OAuth existed.
		w.Header().Set("WWW-Authenticate", `Bearer realm="qcc-mcp"`)
		plain(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return identity.Identity{}, false
	}
	if !bearer {
		a.challenge(w, http.StatusUnauthorized, &TokenError{Code: "invalid_token", Description: "send Authorization: Bearer <access token>"})
		return identity.Identity{}, false
	}
	id, err := a.oauth.Verify(r.Context(), token)
	if !errors.Is(err, ErrNotReady) && a.refusing.CompareAndSwap(true, false) {
		a.log.Info("the authorization server's keys are loaded: OAuth calls are checked again",
			"issuer", a.oauth.Issuer(), "calls_refused", a.refused.Swap(0))
	}
	var te *TokenError
	switch {
	case err == nil:
		return id, true
	case errors.Is(err, ErrNotReady):
		a.refused.Add(1)
		if a.refusing.CompareAndSwap(false, true) {
			a.log.Warn("refusing OAuth calls until the authorization server's keys are loaded (logged once)", "issuer", a.oauth.Issuer())
		}
		w.Header().Set("Retry-After", "5")
		plain(w, http.StatusServiceUnavailable, a.NotReadyReason()+"; retry shortly")
	case errors.As(err, &te) && te.Code == "insufficient_scope":
		a.challenge(w, http.StatusForbidden, te)
	case errors.As(err, &te):
		a.log.Debug("refused an access token", "reason", te.Description)
		a.challenge(w, http.StatusUnauthorized, te)
	default:
		a.challenge(w, http.StatusUnauthorized, &TokenError{Code: "invalid_token", Description: "the token could not be checked"})
	}
	return identity.Identity{}, false
}

// challenge answers with an RFC 6750 challenge that names the resource
// metadata (RFC 9728 section 5.1) and, for a missing scope, the scope.
func (a *Authenticator) challenge(w http.ResponseWriter, code int, te *TokenError) {
	parts := []string{fmt.Sprintf("resource_metadata=%q", a.metadataURL), fmt.Sprintf("error=%q", te.Code),
		fmt.Sprintf("error_description=%q", strings.ReplaceAll(te.Description, `"`, "'"))}
	if s := a.oauth.cfg.Scope; s != "" {
		parts = append(parts, fmt.Sprintf("scope=%q", s))
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(parts, ", "))
	plain(w, code, te.Description)
}

// Start runs the verifier's key fetching in the background until ctx ends;
// it does nothing without OAuth.
func (a *Authenticator) Start(ctx context.Context) {
	if a.oauth != nil {
		go a.oauth.Run(ctx)
	}
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}
