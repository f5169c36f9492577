// Package sessions makes legacy MCP sessions (protocol 2025-11-25 and older,
// `initialize` then `Mcp-Session-Id`) real for mcp-go's streamable HTTP
// server, on one instance or on several replicas sharing a Store.
//
// mcp-go's own managers check only an id's format, so made-up ids work and
// DELETE ends nothing. A Manager accepts only ids it issued and that are
// still open in the Store, ends a session everywhere on DELETE, keeps it
// alive while any replica sees activity, and caps how many are open.
//
// When the Store is unreachable (each operation stops after 250 ms, then a
// breaker skips the Store for a second): sessions this replica has seen
// within the TTL keep working, unknown ids are refused (404), and new
// sessions open on this replica only and are written to the Store on their
// first use after recovery. What is lost meanwhile is a DELETE made on
// another replica. The log says once when the Store goes and once when it
// is back.
//
// Wiring (see Manager.ResolveSessionIdManager for why it must be the
// resolver option, never WithSessionIdManager):
//
//	m := sessions.NewManager(store, sessions.Config{IdleTTL: ttl, MaxSessions: n, Logger: log})
//	streamable := server.NewStreamableHTTPServer(mcpServer,
//		server.WithSessionIdManagerResolver(m),
//		server.WithSessionIdleTTL(ttl))
//	mux.Handle("/mcp", m.LegacyGuard("/mcp", streamable))
package sessions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// Defaults used when Config leaves a field zero.
const (
	DefaultIdleTTL   = 30 * time.Minute
	DefaultOpTimeout = 250 * time.Millisecond
	// breakerPause is how long the Manager stops asking a Store that just
	// failed, so an outage costs one timeout per second, not one per request.
	breakerPause = time.Second
)

// idPrefix marks ids this package issued; with 32 hex digits after it an id
// is 128 random bits, which nobody guesses.
const idPrefix = "mcp-session-"

// Config sets a Manager's limits.
type Config struct {
	// IdleTTL ends a session that no replica has seen for this long. Pass
	// the same value to server.WithSessionIdleTTL. Zero means DefaultIdleTTL.
	IdleTTL time.Duration
	// MaxSessions caps open sessions across every replica on the Store;
	// zero means no cap.
	MaxSessions int
	// OpTimeout bounds each Store operation. Zero means DefaultOpTimeout.
	OpTimeout time.Duration
	// Logger receives one line when the Store becomes unreachable and one
	// when it is back. Nil discards.
	Logger *slog.Logger
}

// Manager issues, checks and ends legacy session ids for mcp-go. It
// implements server.SessionIdManagerResolver; create it with NewManager.
type Manager struct {
	store        Store
	ttl          time.Duration
	refreshEvery time.Duration
	max          int
	opTimeout    time.Duration
	// inProcess is set for a MemoryStore, which neither blocks, fails nor
	// looks at its context: storeOp calls it directly.
	inProcess bool
	log       *slog.Logger
	now       func() time.Time

	mu    sync.Mutex
	local map[string]*localEntry // ids seen on this replica
	prune time.Time              // last sweep of local

	downUntil atomic.Int64 // unix nanos: the breaker is open until then
	down      atomic.Bool  // the Store is believed unreachable (for logging once)
}

// localEntry is what a replica remembers of a session: enough to avoid a
// Store write on every request and to keep serving it while the Store is away.
type localEntry struct {
	seen      time.Time // last request on this replica
	refreshed time.Time // last successful Touch or Create
	unsynced  bool      // issued while the Store was unreachable
}

// NewManager returns a Manager over store.
func NewManager(store Store, cfg Config) *Manager {
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	_, inProcess := store.(*MemoryStore)
	return &Manager{
		store:        store,
		inProcess:    inProcess,
		ttl:          cfg.IdleTTL,
		refreshEvery: cfg.IdleTTL / 10,
		max:          cfg.MaxSessions,
		opTimeout:    cfg.OpTimeout,
		log:          cfg.Logger,
		now:          time.Now,
		local:        make(map[string]*localEntry),
	}
}

// ResolveSessionIdManager implements server.SessionIdManagerResolver.
//
// mcp-go calls it with the HTTP request for client traffic, and with nil
// from its idle sweeper and from CloseSessions at shutdown. A nil request
// gets a view whose Terminate forgets the session on this replica only:
// with a shared Store, a replica's sweeper or shutdown must not end
// sessions that clients are using elsewhere. This is why the Manager must be
// passed with server.WithSessionIdManagerResolver: server.WithSessionIdManager
// would wrap it in a resolver mcp-go short-circuits, and the sweeper's
// Terminate would then end sessions everywhere. (Manager deliberately has no
// Generate method, so that mistake does not compile.)
func (m *Manager) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	if r == nil {
		return localView{m}
	}
	if id, ok := r.Context().Value(reservedKey{}).(string); ok {
		return requestView{m: m, reserved: id}
	}
	return requestView{m: m}
}

// requestView serves client requests: Terminate is the client's DELETE.
type requestView struct {
	m        *Manager
	reserved string // id LegacyGuard already created for this initialize
}

// Generate hands out the id LegacyGuard reserved; without the guard it
// opens a session itself, and over the cap it can only return "" (mcp-go
// has no way to refuse here), which leaves the client without a session.
func (v requestView) Generate() string {
	if v.reserved != "" {
		return v.reserved
	}
	id, err := v.m.Open(context.Background())
	if err != nil {
		return ""
	}
	return id
}

// Validate implements server.SessionIdManager; mcp-go answers 404 for an error.
func (v requestView) Validate(id string) (bool, error) {
	return false, v.m.validate(context.Background(), id)
}

// Terminate ends the session in the Store, so on every replica.
func (v requestView) Terminate(id string) (bool, error) {
	return false, v.m.end(context.Background(), id)
}

// localView serves mcp-go's own calls (sweeper, CloseSessions).
type localView struct{ m *Manager }

// Generate is not expected from mcp-go without a request; it behaves like
// a request's.
func (v localView) Generate() string { return requestView{m: v.m}.Generate() }

// Validate implements server.SessionIdManager.
func (v localView) Validate(id string) (bool, error) {
	return false, v.m.validate(context.Background(), id)
}

// Terminate forgets the session here and leaves the Store alone.
func (v localView) Terminate(id string) (bool, error) {
	v.m.forget(id)
	return false, nil
}

// Errors of Validate and Open. mcp-go does not show Validate's error to the
// client (it answers "Invalid session ID", 404).
var (
	ErrMalformed   = errors.New("sessions: malformed session id")
	ErrUnknown     = errors.New("sessions: session not found or ended")
	ErrUnavailable = errors.New("sessions: session store unavailable")
)

// Open issues a new session id and records it in the Store. Over the cap it
// returns ErrFull. While the Store is unreachable the session is recorded on
// this replica only (other replicas answer 404 and the client initializes
// again there) and written to the Store on its first use after recovery, so
// an outage does not stop new clients.
func (m *Manager) Open(ctx context.Context) (string, error) {
	id := newID()
	now := m.now()
	err := m.storeOp(ctx, func(ctx context.Context) error {
		return m.store.Create(ctx, id, m.ttl, m.max)
	})
	switch {
	case errors.Is(err, ErrFull):
		return "", ErrFull
	case err != nil:
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.max > 0 && len(m.local) >= m.max {
			return "", ErrFull
		}
		m.local[id] = &localEntry{seen: now, unsynced: true}
		return id, nil
	}
	m.mu.Lock()
	m.pruneLocked(now)
	m.local[id] = &localEntry{seen: now, refreshed: now}
	m.mu.Unlock()
	return id, nil
}

// validate accepts id if the Store has it open. The TTL is refreshed (a
// Store write) at most every IdleTTL/10 per replica; in between a read
// checks that no replica ended it. While the Store is unreachable, ids this
// replica has seen within the TTL are accepted and others refused: the one
// thing lost is a DELETE made on another replica meanwhile.
func (m *Manager) validate(ctx context.Context, id string) error {
	if !wellFormed(id) {
		return ErrMalformed
	}
	now := m.now()
	m.mu.Lock()
	e, known := m.local[id]
	var refresh, unsynced, recent bool
	if known {
		refresh = now.Sub(e.refreshed) >= m.refreshEvery
		unsynced = e.unsynced
		recent = now.Sub(e.seen) < m.ttl
	}
	m.mu.Unlock()

	var open bool
	err := m.storeOp(ctx, func(ctx context.Context) error {
		var err error
		switch {
		case unsynced:
			err = m.store.Create(ctx, id, m.ttl, 0)
			open = err == nil
		case !known || refresh:
			open, err = m.store.Touch(ctx, id, m.ttl)
		default:
			open, err = m.store.Exists(ctx, id)
		}
		return err
	})
	if err != nil {
		if recent {
			m.mu.Lock()
			if e, ok := m.local[id]; ok {
				e.seen = now
			}
			m.mu.Unlock()
			return nil
		}
		return ErrUnavailable
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !open {
		delete(m.local, id)
		return ErrUnknown
	}
	if e, ok := m.local[id]; ok {
		e.seen = now
		if unsynced || refresh {
			e.refreshed, e.unsynced = now, false
		}
	} else {
		m.local[id] = &localEntry{seen: now, refreshed: now}
	}
	return nil
}

// end is a client's DELETE: the session ends in the Store and here.
func (m *Manager) end(ctx context.Context, id string) error {
	if !wellFormed(id) {
		return ErrMalformed
	}
	m.forget(id)
	if err := m.storeOp(ctx, func(ctx context.Context) error { return m.store.Delete(ctx, id) }); err != nil {
		return ErrUnavailable
	}
	return nil
}

// forget drops what this replica knows of id; the Store keeps it.
func (m *Manager) forget(id string) {
	m.mu.Lock()
	delete(m.local, id)
	m.mu.Unlock()
}

// knownLocally reports whether this replica remembers id (for tests).
func (m *Manager) knownLocally(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.local[id]
	return ok
}

// pruneLocked drops entries idle past the TTL, at most every IdleTTL/10:
// mcp-go's sweeper forgets only sessions it has seen, and an initialize
// that failed after Open would otherwise stay here.
func (m *Manager) pruneLocked(now time.Time) {
	if now.Sub(m.prune) < m.refreshEvery {
		return
	}
	m.prune = now
	for id, e := range m.local {
		if now.Sub(e.seen) >= m.ttl {
			delete(m.local, id)
		}
	}
}

// storeOp runs op with the Manager's deadline behind a breaker: after a
// failure the Store is not asked again for breakerPause. ErrFull is an
// answer, not a failure.
func (m *Manager) storeOp(ctx context.Context, op func(context.Context) error) error {
	if m.inProcess {
		// No deadline to set and no failure to count: what follows would
		// return op's answer unchanged.
		return op(ctx)
	}
	if until := m.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return ErrUnavailable
	}
	opCtx, cancel := context.WithTimeout(ctx, m.opTimeout)
	defer cancel()
	err := op(opCtx)
	if err != nil && ctx.Err() != nil {
		// The caller left (a client hung up): that says nothing of the Store.
		return err
	}
	if err != nil && !errors.Is(err, ErrFull) {
		m.downUntil.Store(time.Now().Add(breakerPause).UnixNano())
		if !m.down.Swap(true) {
			m.log.Warn("session store unreachable: serving sessions seen on this replica, DELETE from other replicas is not seen meanwhile", "err", err)
		}
		return err
	}
	if m.down.Load() && m.down.Swap(false) { // a load, not a write, on every call
		m.log.Info("session store reachable again")
	}
	return err
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return idPrefix + hex.EncodeToString(b[:])
}

// wellFormed rejects anything this package could not have issued before it
// costs a Store round trip or reaches a key.
func wellFormed(id string) bool {
	if len(id) != len(idPrefix)+32 || id[:len(idPrefix)] != idPrefix {
		return false
	}
	for _, c := range []byte(id[len(idPrefix):]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
