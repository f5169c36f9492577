// Package identity names the caller of a request: who sent it, as the HTTP
// front's authentication established. It carries no HTTP and no secrets, so
// that the tools and the cost guard can read the caller from a context
// without knowing how it was authenticated.
package identity

import (
	"context"
	"log/slog"
)

// Kind says how a caller was authenticated.
type Kind string

const (
	// Static is a caller that sent one of the configured static tokens;
	// its Name is the token's name.
	Static Kind = "static"
	// OAuth is a caller that sent an access token of the authorization
	// server; its Name is the token's subject.
	OAuth Kind = "oauth"
)

// Identity is the authenticated caller. It never holds the token itself.
type Identity struct {
	Name     string // the static token's name, or the OAuth subject
	Subject  string // OAuth "sub"; empty for static tokens
	ClientID string // OAuth "client_id" or "azp" where present
	Kind     Kind
}

// Key is a stable key for counting the caller's usage: the kind and the
// name, so a static token named like an OAuth subject is still another
// caller.
func (id Identity) Key() string { return string(id.Kind) + ":" + id.Name }

// Label is the caller as a metrics label value, whose set of values stays
// bounded: a static client by its name (the operator chose the names), every
// OAuth caller as the one value "oauth" (subjects are unbounded).
func (id Identity) Label() string {
	if id.Kind == Static {
		return id.Name
	}
	return string(OAuth)
}

// LogValue shows the caller in log lines as a group of its parts.
func (id Identity) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", id.Name), slog.String("kind", string(id.Kind))}
	if id.ClientID != "" {
		attrs = append(attrs, slog.String("client", id.ClientID))
	}
	return slog.GroupValue(attrs...)
}

type contextKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the caller ctx carries, if any: none in stdio mode
// and over HTTP without authentication.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(contextKey{}).(Identity)
	return id, ok
}
