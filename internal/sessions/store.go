package sessions

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrFull is returned by Store.Create when the cap on open sessions is
// reached; the Manager turns it into a refusal of the initialize request.
var ErrFull = errors.New("sessions: too many open sessions")

// Store holds the sessions that are open, shared by every replica that uses
// the same store. Each session lives until it is deleted or until it has
// seen no Touch for its TTL. Implementations must be safe for concurrent use.
//
// Ids reach a Store already checked for format; a Store may hash them.
type Store interface {
	// Create records a new session that expires after ttl unless touched.
	// With max > 0 it fails with ErrFull when max unexpired sessions are
	// already open; the check and the insert are one atomic step.
	Create(ctx context.Context, id string, ttl time.Duration, max int) error
	// Exists reports whether the session is open. It writes nothing.
	Exists(ctx context.Context, id string) (bool, error)
	// Touch restarts the session's TTL and reports whether it was open; a
	// session that is gone is not brought back.
	Touch(ctx context.Context, id string, ttl time.Duration) (bool, error)
	// Delete ends the session. Deleting an unknown session is not an error.
	Delete(ctx context.Context, id string) error
}

// MemoryStore is the Store of a single instance: sessions live in this
// process and die with it.
type MemoryStore struct {
	mu       sync.Mutex
	expiries map[string]time.Time
	now      func() time.Time
}

// NewMemoryStore returns an empty MemoryStore on the real clock.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{expiries: make(map[string]time.Time), now: time.Now}
}

// Create implements Store. Expired sessions are dropped here, so the map
// holds at most max plus those that expired since the last Create.
func (s *MemoryStore) Create(_ context.Context, id string, ttl time.Duration, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, exp := range s.expiries {
		if !exp.After(now) {
			delete(s.expiries, k)
		}
	}
	if max > 0 && len(s.expiries) >= max {
		return ErrFull
	}
	s.expiries[id] = now.Add(ttl)
	return nil
}

// Exists implements Store.
func (s *MemoryStore) Exists(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.expiries[id]
	return ok && exp.After(s.now()), nil
}

// Touch implements Store.
func (s *MemoryStore) Touch(_ context.Context, id string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	exp, ok := s.expiries[id]
	if !ok || !exp.After(now) {
		return false, nil
	}
	s.expiries[id] = now.Add(ttl)
	return true, nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.expiries, id)
	return nil
}
