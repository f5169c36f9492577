package redisstore

import (
	"context"
	"time"
)

// The types below mirror the guard's backend seam (SEAM.md) exactly. They
// live here only until package guard defines them; at wiring they are
// deleted and guard.Cooldown, guard.AnswerStore, guard.StateStore,
// guard.Limiter and guard.Flights are used instead.

// Cooldown is a refusal QCC made that the guard repeats locally until it can
// have lifted.
type Cooldown struct {
	Code    int       `json:"code"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"` // when QCC answered with Code
	Until   time.Time `json:"until"`
}

// AnswerStore is the second cache level behind the guard's in-process LRU.
type AnswerStore interface {
	GetAnswer(ctx context.Context, key string) (record []byte, found bool, err error)
	PutAnswer(ctx context.Context, key string, record []byte, expires time.Time) error
}

// StateStore keeps the cooldowns and the daily budget count.
type StateStore interface {
	Cooldowns(ctx context.Context, names []string, now time.Time) (map[string]Cooldown, error)
	ExtendCooldown(ctx context.Context, name string, c Cooldown) error
	Reserve(ctx context.Context, day string, limit, floor int) (used int, ok bool, err error)
	Refund(ctx context.Context, day string) error
	Used(ctx context.Context, day string) (int, error)
}

// Limiter is the rate limit in front of QCC.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Flights coordinates identical concurrent calls across processes.
type Flights interface {
	Lead(ctx context.Context, key string, ttl time.Duration) (release func(), led bool, err error)
	Await(ctx context.Context, key string) error
}

// The store must keep fitting the seam.
var (
	_ AnswerStore = (*Store)(nil)
	_ StateStore  = (*Store)(nil)
	_ Flights     = (*Store)(nil)
	_ Limiter     = (*RateLimiter)(nil)
)
