package guard

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// A caller's count lives in the StateStore beside the day's budget, under
// the day followed by ClientDayInfix and the caller: "2006-01-02/client/"
// + caller. Sharing the store (Redis) shares the per-caller counts too.
const ClientDayInfix = "/client/"

type clientKey struct{}

// WithClient names the caller of the calls made with ctx, for the
// per-caller daily cap (Config.MaxCallsPerClientPerDay) and ClientUsedToday.
// The name is an opaque stable key (the HTTP front's identity); the guard
// knows nothing of how it was established.
func WithClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, clientKey{}, client)
}

// Client returns the caller named with WithClient, or "".
func Client(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(string)
	return c
}

func clientDay(day, client string) string { return day + ClientDayInfix + client }

// errClientBudget is the cause of a per-caller refusal. It is specific to
// the caller, so callers that shared the call ask again for themselves.
var errClientBudget = errors.New("this caller's daily share of QCC calls is used up")

// reserveClient counts one request of client, or refuses it when the
// caller's cap for the day is reached. It returns the key counted, for
// refundClient; "" when nothing was counted.
//
// Without a cap the count is for usage only: it stays in this process's
// memory, so that an uncapped call costs no state store write (a Redis
// script, or a state file written under the store's lock).
func (l *limits) reserveClient(ctx context.Context, method, client string, now time.Time) (string, *qcc.Error) {
	if client == "" {
		return "", nil
	}
	key := clientDay(beijingDay(now), client)
	if l.maxPerClient <= 0 {
		l.countCaller(key, 1)
		return key, nil
	}
	_, ok, err := l.state.Reserve(ctx, key, l.maxPerClient, 0)
	switch {
	case err != nil:
		return "", budgetUnknown(method, err, now)
	case !ok:
		return "", &qcc.Error{
			Kind:     qcc.KindLocalLimit,
			Message:  qcc.ReasonClientBudget.Message(),
			Method:   method,
			Retry:    qcc.RetryAdvice{Retryable: true, AtBeijingMidnight: true},
			Received: now,
			Action:   qcc.ReasonClientBudget.Action(),
			Local:    qcc.ReasonClientBudget.Local(l.maxPerClient, beijingTime(qcc.NextBeijingMidnight(now))),
			Err:      errClientBudget,
		}
	}
	return key, nil
}

func (l *limits) refundClient(ctx context.Context, key string) {
	if key == "" {
		return
	}
	if l.maxPerClient <= 0 {
		l.countCaller(key, -1)
		return
	}
	if err := l.state.Refund(ctx, key); err != nil {
		l.log.Debug("per-caller refund failed", "error", err.Error())
	}
}

// countCaller adds delta to the uncapped count under key (a clientDay);
// a new day starts the counts again, so the map holds one day's callers.
func (l *limits) countCaller(key string, delta int) {
	day, client, _ := strings.Cut(key, ClientDayInfix)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.callers.Day != day || l.callers.Used == nil {
		l.callers = clientBudgets{Day: day, Used: map[string]int{}}
	}
	l.callers.Used[client] = max(l.callers.Used[client]+delta, 0)
}

// ClientUsedToday returns the requests client caused today (Beijing day)
// and the per-caller cap (0: none). Without a cap the count is this
// process's own.
func (g *Guard) ClientUsedToday(ctx context.Context, client string) (used, limit int) {
	if client == "" {
		return 0, g.limits.maxPerClient
	}
	day := beijingDay(g.now())
	if g.limits.maxPerClient <= 0 {
		g.limits.mu.Lock()
		defer g.limits.mu.Unlock()
		if g.limits.callers.Day != day {
			return 0, 0
		}
		return g.limits.callers.Used[client], 0
	}
	n, err := g.limits.state.Used(ctx, clientDay(day, client))
	if err != nil {
		return 0, g.limits.maxPerClient
	}
	return n, g.limits.maxPerClient
}

// isClientDay tells a per-caller key from a plain day.
func isClientDay(day string) bool { return strings.Contains(day, ClientDayInfix) }
