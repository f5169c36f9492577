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
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/lmittmann/tint"

	"github.com/qcc-mcp/qcc-mcp/internal/identity"
)

// Algorithms are the signature algorithms accepted: asymmetric only. An
// HMAC algorithm would let anyone holding the (public) key mint tokens, and
// "none" is no signature at all; go-jose refuses both at parse time because
// they are not in this list.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// OAuthConfig configures the verifier of access tokens.
type OAuthConfig struct {
	Issuer   string // the authorization server, exactly as its tokens' "iss"
	Resource string // this server's canonical URL; tokens' "aud" must contain it (RFC 8707)
	Scope    string // a scope every token must carry; empty: none

	Leeway          time.Duration // clock skew allowed on exp and nbf; 0: 30s
	RefetchInterval time.Duration // least time between key fetches for an unknown kid; 0: 30s
	RefreshInterval time.Duration // keys are refetched this often anyway; 0: 1h
	RetryMax        time.Duration // longest wait between failed first fetches; 0: 30s
	HTTPClient      *http.Client  // nil: a client with a 10s timeout
	Now             func() time.Time
	Logger          *slog.Logger
}

// Verifier checks OAuth access tokens (JWTs) of one authorization server for
// one resource: signature by a key of the server's JWKS, issuer, audience,
// validity times and scope.
type Verifier struct {
	cfg      OAuthConfig
	verifier *oidc.IDTokenVerifier
	log      *slog.Logger

	ready atomic.Bool

	mu        sync.Mutex // guards keys, jwksURL and lastFetch
	keys      []jose.JSONWebKey
	jwksURL   string
	lastFetch time.Time
	fetchMu   sync.Mutex // one fetch at a time; waiters reuse its result
	fetches   atomic.Int64
}

// ErrNotReady means the authorization server's keys have not been fetched
// yet, so no token can be checked; the caller should retry shortly.
var ErrNotReady = errors.New("the authorization server's keys are not loaded yet")

// TokenError is a token that was refused. Code is "invalid_token" or
// "insufficient_scope" (RFC 6750); Description says why, without the token.
type TokenError struct {
	Code        string
	Description string
}

// Error returns the RFC 6750 code and why, never the token.
func (e *TokenError) Error() string { return e.Code + ": " + e.Description }

func invalid(format string, args ...any) error {
	return &TokenError{Code: "invalid_token", Description: fmt.Sprintf(format, args...)}
}

// NewVerifier checks cfg; call Run to fetch the keys.
func NewVerifier(cfg OAuthConfig) (*Verifier, error) {
	for _, u := range []struct{ name, v string }{{"issuer", cfg.Issuer}, {"resource", cfg.Resource}} {
		p, err := url.Parse(u.v)
		if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") || p.Fragment != "" {
			return nil, fmt.Errorf("%s %q: want an absolute http(s) URL without a fragment", u.name, u.v)
		}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.RefetchInterval == 0 {
		cfg.RefetchInterval = 30 * time.Second
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = time.Hour
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{cfg: cfg, log: cfg.Logger}
	algs := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		algs[i] = string(a)
	}
	// go-oidc checks the algorithm list, the signature (through our key
	// set), iss and aud; exp and nbf are checked below with our leeway,
	// since go-oidc allows none on exp and five minutes on nbf.
	v.verifier = oidc.NewVerifier(cfg.Issuer, keySet{v}, &oidc.Config{
		ClientID:             cfg.Resource,
		SupportedSigningAlgs: algs,
		SkipExpiryCheck:      true,
		Now:                  cfg.Now,
	})
	return v, nil
}

// Issuer returns the configured issuer.
func (v *Verifier) Issuer() string { return v.cfg.Issuer }

// Ready reports whether the keys have been fetched once.
func (v *Verifier) Ready() bool { return v.ready.Load() }

// KeyFetches counts the JWKS fetches so far, for tests and metrics.
func (v *Verifier) KeyFetches() int64 { return v.fetches.Load() }

// Run fetches the issuer's metadata and keys, retrying with backoff until
// that works (logging each failure with the issuer), then refetches the keys
// every RefreshInterval so that withdrawn keys stop being accepted. It
// returns when ctx is done.
func (v *Verifier) Run(ctx context.Context) {
	wait := time.Second
	for {
		err := v.refresh(ctx, true)
		if err == nil {
			break
		}
		v.log.Warn("cannot load the authorization server's keys; OAuth calls get 503 until it works",
			"issuer", v.cfg.Issuer, "retry_in", wait, tint.Err(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, v.cfg.RetryMax)
	}
	t := time.NewTicker(v.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := v.refresh(ctx, true); err != nil {
				v.log.Warn("cannot refresh the authorization server's keys; the cached ones stay in use",
					"issuer", v.cfg.Issuer, tint.Err(err))
			}
		}
	}
}

// Verify checks an access token and returns its caller. Errors are
// ErrNotReady or a *TokenError.
func (v *Verifier) Verify(ctx context.Context, token string) (identity.Identity, error) {
	if !v.Ready() {
		return identity.Identity{}, ErrNotReady
	}
	if strings.Count(token, ".") != 2 {
		return identity.Identity{}, invalid("not a JWT access token")
	}
	// go-oidc flattens the key set's errors into text; the slot keeps
	// ours whole.
	var slot error
	t, err := v.verifier.Verify(context.WithValue(ctx, keyErrorSlot{}, &slot), token)
	if err != nil {
		var te *TokenError
		if errors.As(slot, &te) {
			return identity.Identity{}, te
		}
		return identity.Identity{}, invalid("%s", describe(err))
	}
	var c struct {
		Expiry    *float64        `json:"exp"`
		NotBefore *float64        `json:"nbf"`
		Scope     json.RawMessage `json:"scope"`
		Scp       json.RawMessage `json:"scp"`
		ClientID  string          `json:"client_id"`
		AZP       string          `json:"azp"`
	}
	if err := t.Claims(&c); err != nil {
		return identity.Identity{}, invalid("claims are not a JSON object")
	}
	now := v.cfg.Now()
	if c.Expiry == nil {
		return identity.Identity{}, invalid("the token has no expiry (exp)")
	}
	if exp := unixTime(*c.Expiry); now.After(exp.Add(v.cfg.Leeway)) {
		return identity.Identity{}, invalid("the token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != nil {
		if nbf := unixTime(*c.NotBefore); now.Add(v.cfg.Leeway).Before(nbf) {
			return identity.Identity{}, invalid("the token is not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}
	if t.Subject == "" {
		return identity.Identity{}, invalid("the token has no subject (sub)")
	}
	if v.cfg.Scope != "" {
		scopes := append(scopeList(c.Scope), scopeList(c.Scp)...)
		if !slices.Contains(scopes, v.cfg.Scope) {
			return identity.Identity{}, &TokenError{Code: "insufficient_scope", Description: fmt.Sprintf("the token lacks the scope %q", v.cfg.Scope)}
		}
	}
	client := c.ClientID
	if client == "" {
		client = c.AZP
	}
	return identity.Identity{Name: t.Subject, Subject: t.Subject, ClientID: client, Kind: identity.OAuth}, nil
}

// describe turns go-oidc's error into words for the client. Its messages
// hold claim values (issuer, audience) but never the token.
func describe(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "different provider"):
		return "the token was issued by another issuer"
	case strings.Contains(msg, "expected audience"):
		return "the token is not meant for this resource (aud)"
	case strings.Contains(msg, "unsupported algorithm"), strings.Contains(msg, "unexpected signature algorithm"):
		return "the token's signature algorithm is not accepted (want one of RS256, PS256, ES256, EdDSA)"
	case strings.Contains(msg, "malformed"):
		return "the token is malformed"
	}
	return "the token's signature does not verify"
}

func unixTime(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// scopeList reads "scope" as RFC 9068 has it (one space-separated string)
// or as an array, as some servers send "scp".
func scopeList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.Fields(s)
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}

// keySet verifies signatures with the cached JWKS. A kid it does not know
// triggers one refetch, at most once per RefetchInterval, so that a key
// rotation is picked up without a restart while made-up kids cannot make
// the server hammer the authorization server.
type keySet struct{ v *Verifier }

// keyErrorSlot is the context key of where VerifySignature leaves its error.
type keyErrorSlot struct{}

func (k keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, err := k.verify(ctx, raw)
	if slot, ok := ctx.Value(keyErrorSlot{}).(*error); ok {
		*slot = err
	}
	return payload, err
}

func (k keySet) verify(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, Algorithms)
	if err != nil {
		return nil, invalid("the token's signature algorithm is not accepted or the token is malformed")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("the token must carry exactly one signature")
	}
	h := jws.Signatures[0].Header
	keys := k.v.keysFor(h.KeyID, h.Algorithm)
	if len(keys) == 0 {
		if err := k.v.refresh(ctx, false); err != nil && !errors.Is(err, errTooSoon) {
			k.v.log.Warn("cannot refetch the authorization server's keys for an unknown key id",
				"issuer", k.v.cfg.Issuer, tint.Err(err))
		}
		keys = k.v.keysFor(h.KeyID, h.Algorithm)
	}
	if len(keys) == 0 {
		return nil, invalid("the token is signed by a key the authorization server does not publish")
	}
	for _, key := range keys {
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	return nil, invalid("the token's signature does not verify")
}

// keysFor returns the cached public signing keys that may have made a
// signature with kid and alg.
func (v *Verifier) keysFor(kid, alg string) []any {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []any
	for _, k := range v.keys {
		if (kid != "" && k.KeyID != kid) || (k.Algorithm != "" && k.Algorithm != alg) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		out = append(out, k.Key)
	}
	return out
}

var errTooSoon = errors.New("keys were fetched moments ago")

// refresh fetches the keys (and, the first time, the metadata that names
// them). Unless forced it does nothing when the last fetch is more recent
// than RefetchInterval. Concurrent callers wait for one fetch.
func (v *Verifier) refresh(ctx context.Context, force bool) error {
	v.mu.Lock()
	last := v.lastFetch
	v.mu.Unlock()
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.mu.Lock()
	fetchedMeanwhile := !v.lastFetch.Equal(last)
	tooSoon := !v.lastFetch.IsZero() && v.cfg.Now().Sub(v.lastFetch) < v.cfg.RefetchInterval
	jwksURL := v.jwksURL
	v.mu.Unlock()
	if fetchedMeanwhile || (!force && tooSoon) {
		return errTooSoon
	}
	if jwksURL == "" {
		u, err := v.discover(ctx)
		if err != nil {
			return err
		}
		jwksURL = u
	}
	v.fetches.Add(1)
	var set jose.JSONWebKeySet
	if err := v.getJSON(ctx, jwksURL, &set); err != nil {
		v.mu.Lock()
		v.lastFetch = v.cfg.Now() // a failed fetch counts too: no hammering
		v.mu.Unlock()
		return fmt.Errorf("JWKS %s: %w", jwksURL, err)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		// Only public asymmetric keys: a symmetric ("oct") key in the set
		// must never verify anything.
		switch k.Key.(type) {
		case []byte:
			continue
		}
		if k.IsPublic() && k.Valid() {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("JWKS %s holds no public signing key", jwksURL)
	}
	v.mu.Lock()
	v.keys, v.jwksURL, v.lastFetch = keys, jwksURL, v.cfg.Now()
	v.mu.Unlock()
	if !v.ready.Swap(true) {
		v.log.Info("authorization server keys loaded", "issuer", v.cfg.Issuer, "keys", len(keys))
	}
	return nil
}

// discover finds the JWKS of the issuer through its metadata: RFC 8414
// first, then OpenID Connect discovery (both placements of the well-known
// path), as the MCP authorization specification has clients try them.
func (v *Verifier) discover(ctx context.Context) (string, error) {
	iss, _ := url.Parse(v.cfg.Issuer)
	path := strings.TrimSuffix(iss.Path, "/")
	at := func(p string) string { u := *iss; u.Path, u.RawPath = p, ""; return u.String() }
	candidates := []string{at("/.well-known/oauth-authorization-server" + path)}
	candidates = append(candidates, at(path+"/.well-known/openid-configuration"))
	if path != "" {
		candidates = append(candidates, at("/.well-known/openid-configuration"+path))
	}
	var errs []error
	for _, c := range candidates {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := v.getJSON(ctx, c, &meta); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
			continue
		}
		if meta.Issuer != v.cfg.Issuer {
			// RFC 8414 section 3.3 and OIDC discovery: the document must
			// name the issuer it was fetched for, or it is not its own.
			return "", fmt.Errorf("%s names the issuer %q, not %q", c, meta.Issuer, v.cfg.Issuer)
		}
		if meta.JWKSURI == "" {
			return "", fmt.Errorf("%s has no jwks_uri", c)
		}
		return meta.JWKSURI, nil
	}
	return "", errors.Join(errs...)
}

func (v *Verifier) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return nil
}
