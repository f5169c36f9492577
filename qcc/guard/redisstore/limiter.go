package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/time/rate"
)

// ErrRateDeadline is returned (wrapped) by RateLimiter.Wait when the next
// free slot is after ctx's deadline: the caller learns at once instead of
// sleeping into a timeout, as with rate.Limiter.
var ErrRateDeadline = errors.New("rate limit: the next slot is after the deadline")

// LimiterOptions configures NewLimiter.
type LimiterOptions struct {
	// Rate is the requests per second allowed across all replicas (> 0).
	Rate float64
	// Burst is how many may start at once across all replicas (>= 1).
	Burst int
	// Replicas is the expected number of replicas (--replicas-hint; < 1
	// means 1). While Redis is down each replica limits itself to
	// Rate/Replicas with burst max(1, Burst/Replicas), so that together
	// they stay near the global rate.
	Replicas int
	// OnFallback, when set, is called each time a Wait is decided by the
	// local share because Redis is unavailable (a degraded operation).
	OnFallback func()
}

// RateLimiter is a rate limit shared by every replica on one Redis. It
// uses GCRA (redis_rate) evaluated on Redis's own clock, so the replicas'
// clock skew does not matter. It satisfies the guard's Limiter.
type RateLimiter struct {
	s          *Store
	gcra       *redis_rate.Limiter
	key        string
	limit      redis_rate.Limit
	local      *rate.Limiter
	onFallback func()
}

// NewLimiter returns the shared rate limiter of this store's QCC app key.
// Every replica must be given the same Rate and Burst.
func (s *Store) NewLimiter(o LimiterOptions) *RateLimiter {
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	if o.Burst < 1 {
		o.Burst = 1
	}
	return &RateLimiter{
		s:    s,
		gcra: redis_rate.NewLimiter(s.rdb),
		key:  s.rateKey(),
		// One request per emission interval expresses any positive rate,
		// including fractional ones that Limit's integer Rate cannot.
		limit: redis_rate.Limit{Rate: 1, Period: time.Duration(float64(time.Second) / o.Rate), Burst: o.Burst},
		local: rate.NewLimiter(rate.Limit(o.Rate/float64(o.Replicas)), max(1, o.Burst/o.Replicas)),

		onFallback: o.OnFallback,
	}
}

// Wait blocks until one request may start, across all replicas. It fails at
// once (ErrRateDeadline) when the next slot is after ctx's deadline. While
// Redis is unavailable it waits on the local share instead (see
// LimiterOptions.Replicas), so an outage slows nothing beyond that share.
func (l *RateLimiter) Wait(ctx context.Context) error {
	for {
		var res *redis_rate.Result
		err := l.s.do(ctx, "rate", func(ctx context.Context) error {
			var err error
			res, err = l.gcra.Allow(ctx, l.key, l.limit)
			return err
		})
		if errors.Is(err, ErrUnavailable) {
			if l.onFallback != nil {
				l.onFallback()
			}
			return l.local.Wait(ctx)
		}
		if err != nil {
			return err
		}
		if res.Allowed > 0 {
			return nil
		}
		// Not now: GCRA says when. Another replica may take that slot
		// first; then the next round says when again.
		wait := res.RetryAfter
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("redisstore: %w (in %s)", ErrRateDeadline, wait.Round(time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
