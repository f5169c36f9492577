package guard

import (
	"context"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// Cost questions a caller asks before it spends anything: a tool that
// fetches many companies checks up front whether the day's budget can pay
// for the ones not cached, rather than finding out half way through.

// CachedSearch returns the cached answer to p, if the cache holds one fit
// for ctx (WithMaxAge), without asking QCC, without counting a hit and
// without touching the budget or the rate limit.
func (g *Guard) CachedSearch(ctx context.Context, p qcc.SearchParams) (*qcc.SearchResult, bool) {
	_, key := searchQuery(p)
	maxAge, limited := MaxAge(ctx)
	e, ok := g.lookup(ctx, key, maxAge, limited)
	if !ok {
		return nil, false
	}
	res, ok := copyAnswer(e.val, CacheHit).(*qcc.SearchResult)
	return res, ok && res != nil
}

// BudgetLeft returns how many QCC requests today's budget still allows;
// limited is false when Config.MaxCallsPerDay sets no cap.
func (g *Guard) BudgetLeft(ctx context.Context) (left int, limited bool) {
	if g.limits.maxPerDay <= 0 {
		return 0, false
	}
	return max(g.limits.maxPerDay-g.limits.used(ctx, g.now()), 0), true
}

// Wait is something a call waits for before it can reach QCC.
type Wait struct {
	// Reason is "rate_limit" (waiting for a slot of the rate limit) or
	// "retry" (backing off before repeating a failed request).
	Reason string
	// Attempt is the number of the retry about to be made (1 for the
	// first); 0 for a rate-limit wait.
	Attempt int
	// Delay is how long the wait is expected to last; 0 when unknown.
	Delay time.Duration
}

type waitHookKey struct{}

// WithWaitHook asks a Guard to call hook, on the caller's goroutine, before
// each wait of this call: a rate-limit slot that is not free at once, or a
// back-off before a retry. A caller that reports progress uses it to say
// why nothing seems to happen.
func WithWaitHook(ctx context.Context, hook func(Wait)) context.Context {
	return context.WithValue(ctx, waitHookKey{}, hook)
}

func notifyWait(ctx context.Context, w Wait) {
	if hook, ok := ctx.Value(waitHookKey{}).(func(Wait)); ok && hook != nil {
		hook(w)
	}
}

// slotDelay reports whether a rate-limit slot is not free right now, and
// roughly how long until it is; it knows only this process's token bucket.
func (g *Guard) slotDelay() (time.Duration, bool) {
	l, ok := g.limiter.(interface {
		Tokens() float64
	})
	if !ok || g.perSecond <= 0 {
		return 0, false
	}
	t := l.Tokens()
	if t >= 1 {
		return 0, false
	}
	return time.Duration((1 - t) / g.perSecond * float64(time.Second)), true
}
