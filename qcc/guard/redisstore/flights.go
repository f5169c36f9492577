package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Release deletes the lock only if it is still ours (a lock that expired
// and was taken by another leader is left alone) and announces it, so
// followers wake at once.
//
// KEYS: lock. ARGV: token, channel.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], '1')
  return 1
end
return 0
`)

// Lead tries to become the one caller, across all replicas, that asks QCC
// for key: SET NX with a random token and a PX of ttl, so that the lead of a
// process that died ends by itself. release (only when led) gives the lead
// up and wakes the followers; it is safe to call more than once and bounded
// by the operation deadline even though it takes no context.
func (s *Store) Lead(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	if ttl < time.Millisecond {
		// A zero TTL would be a lock without expiry: one crash and the
		// key would never be asked again.
		return nil, false, fmt.Errorf("redisstore: a flight's ttl must be at least 1ms, not %s", ttl)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	lock := s.flightKey(key)
	var led bool
	err := s.do(ctx, "lead", func(ctx context.Context) error {
		var err error
		led, err = s.rdb.SetNX(ctx, lock, token, ttl).Result()
		return err
	})
	if err != nil || !led {
		return nil, false, err
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
			defer cancel()
			// On failure the lock simply expires after ttl; followers are
			// bounded by that expiry.
			_ = s.do(ctx, "release", func(ctx context.Context) error {
				return releaseScript.Run(ctx, s.rdb, []string{lock}, token, s.flightChannel(key)).Err()
			})
		})
	}
	return release, true, nil
}

// Await returns when key's current lead is released or has expired, or when
// ctx ends. It subscribes to the release announcement first and only then
// reads the lock's remaining time, so a release between the two is not
// missed; the remaining time bounds the wait, so a leader that died
// without releasing costs followers no more than its lock's expiry. There
// is no polling. When no lead is held it returns at once.
func (s *Store) Await(ctx context.Context, key string) error {
	if !s.breaker.allow() {
		return &UnavailableError{Op: "await", Err: ErrCircuitOpen}
	}
	ps := s.rdb.Subscribe(ctx)
	defer ps.Close()
	var left time.Duration
	err := s.do(ctx, "await", func(ctx context.Context) error {
		if err := ps.Subscribe(ctx, s.flightChannel(key)); err != nil {
			return err
		}
		if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
			return err
		}
		var err error
		left, err = s.rdb.PTTL(ctx, s.flightKey(key)).Result()
		return err
	})
	if err != nil {
		return err
	}
	if left == -2 { // no lock: released or expired already
		return nil
	}
	wctx := ctx
	if left > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, left+defaultFlightWaitMargin)
		defer cancel()
	}
	// A read blocked on the connection ends at wctx's deadline; a plain
	// cancellation needs the connection closed under it.
	stop := context.AfterFunc(wctx, func() { _ = ps.Close() })
	defer stop()
	_, err = ps.ReceiveMessage(wctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case expired(ctx):
		return context.DeadlineExceeded
	case wctx.Err() != nil || expired(wctx):
		// The lock's expiry has passed: the lead is free to take. (The
		// connection's read deadline, set from wctx, can fire a moment
		// before wctx itself reports done.)
		return nil
	case errors.Is(err, redis.ErrClosed):
		return ctx.Err()
	default:
		s.breaker.failure(err)
		return &UnavailableError{Op: "await", Err: err}
	}
}

// expired reports whether ctx's deadline has passed.
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
