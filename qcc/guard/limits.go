package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

const (
	beijingDayLayout = "2006-01-02"
	localTimeLayout  = time.RFC3339
)

// limits applies the cooldowns and the daily budget through a StateStore.
// The pause each QCC code calls for comes from the status table
// (qcc.StatusInfo.Pause); limits only names and times it.
type limits struct {
	state              StateStore
	log                *slog.Logger
	credentialCooldown time.Duration // <= 0: configured pauses are off
	maxPerDay          int           // 0: unlimited
	maxPerClient       int           // 0: unlimited (callers are counted in callers)
	allowance          int           // requests a day this process may count itself while the store is away
	degraded           func(feature string)

	// seen mirrors the cooldowns this process started (those in force),
	// for when the state store cannot be reached or has lost them: the
	// refusals QCC gave this process are still repeated, and written back. known is the budget count this process last saw,
	// the floor of a store that lost its data.
	// spent counts the requests this process counted itself today while
	// the store could not be reached (bounded by allowance when there is a
	// budget); pending is how many of them the store has not been told of.
	mu      sync.Mutex
	seen    map[string]Cooldown
	known   budget
	spent   budget
	pending budget
	callers clientBudgets // today's requests per caller when there is no per-caller cap

	reconciling sync.Mutex // held by the one caller adding pending to the store
}

func newLimits(state StateStore, log *slog.Logger, credentialCooldown time.Duration, maxPerDay, allowance int,
	degraded func(string)) *limits {
	return &limits{state: state, log: log, credentialCooldown: credentialCooldown, maxPerDay: maxPerDay,
		allowance: max(allowance, 0), degraded: degraded, seen: make(map[string]Cooldown)}
}

// reservation is one request counted against the budget, for refund: day
// is empty when nothing was counted, local when this process counted it
// itself because the store was away.
type reservation struct {
	day   string
	local bool
}

// cooldownName is the StateStore name of the pause p for the query key.
func cooldownName(p qcc.Pause, key string) string {
	switch {
	case p.Scope == qcc.PauseQuery:
		return CooldownQueryPrefix + key
	case p.UntilBeijingMidnight:
		return CooldownQuota
	default:
		return CooldownCredential
	}
}

// check returns the local refusal for a call of method whose query
// cooldown is named query (CooldownQueryPrefix + its cache key) at now, or
// nil when it may go upstream as far as cooldowns and the budget are
// concerned. It reserves nothing.
//
// The cooldowns this process met itself count whether or not the store
// answers: one met during an outage (whose sharing failed), or one the
// store lost (a Redis restarted empty), is still repeated here, and is
// written back to a store that answers without it.
func (l *limits) check(ctx context.Context, method, query string, now time.Time) *qcc.Error {
	names := []string{CooldownQuota, CooldownCredential, query}
	found, err := l.state.Cooldowns(ctx, names, now)
	if err != nil {
		l.log.Debug("cooldowns unavailable; using this process's own", "error", err.Error())
		l.degraded(FeatureCooldowns)
	}
	found, missing := l.withSeen(found, names, now)
	if err == nil {
		l.share(ctx, missing)
	}
	for _, name := range names { // the widest pause first
		if c, ok := found[name]; ok && now.Before(c.Until) {
			return cooldownRefusal(method, name, c, now)
		}
	}
	if l.maxPerDay > 0 {
		day := beijingDay(now)
		used, err := l.state.Used(ctx, day)
		if err == nil {
			l.learn(day, used)
		}
		if err == nil && used >= l.maxPerDay {
			return l.budgetRefusal(method, now)
		}
	}
	return nil
}

// withSeen adds to found, of names, the cooldowns this process met that
// are still in force and end later than found's. missing holds those
// added, which the store does not know of.
func (l *limits) withSeen(found map[string]Cooldown, names []string, now time.Time) (merged, missing map[string]Cooldown) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range names {
		c, ok := l.seen[n]
		if !ok || !now.Before(c.Until) {
			continue
		}
		if old, ok := found[n]; ok && !c.Until.After(old.Until) {
			continue
		}
		if found == nil {
			found = make(map[string]Cooldown, 1)
		}
		if missing == nil {
			missing = make(map[string]Cooldown, 1)
		}
		found[n], missing[n] = c, c
	}
	return found, missing
}

// share writes cooldowns to the store (which never shortens one), and
// reports whether it took them all; a failure leaves them to this process.
func (l *limits) share(ctx context.Context, cooldowns map[string]Cooldown) bool {
	for name, c := range cooldowns {
		if err := l.state.ExtendCooldown(ctx, name, c); err != nil {
			l.log.Debug("a cooldown could not be shared; this process keeps it", "error", err.Error())
			return false
		}
	}
	return true
}

// shareSeen writes every cooldown this process met that is still in force
// to the store, for when the store is back (or came back empty): the other
// processes then repeat them too without meeting them at QCC. Ended ones
// are forgotten.
func (l *limits) shareSeen(ctx context.Context, now time.Time) {
	l.mu.Lock()
	l.pruneSeenLocked(now)
	inForce := make(map[string]Cooldown, len(l.seen))
	for name, c := range l.seen {
		inForce[name] = c
	}
	l.mu.Unlock()
	if len(inForce) > 0 && l.share(ctx, inForce) {
		l.log.Info("cooldowns this process met are shared again", "count", len(inForce))
	}
}

// pruneSeenLocked forgets the cooldowns that have ended, so that seen
// holds no more than the pauses in force.
func (l *limits) pruneSeenLocked(now time.Time) {
	for name, c := range l.seen {
		if !now.Before(c.Until) {
			delete(l.seen, name)
		}
	}
}

// reserve counts one upstream request against the budget, or refuses it
// when the day's budget is used up. It is taken before the request is sent
// so that concurrent calls cannot overshoot the budget together. It
// returns what was counted, for refund.
//
// When the store cannot be reached, a budget fails closed: the request is
// refused, unless this process still has some of its daily allowance,
// which it counts itself and adds to the store's count once it answers.
func (l *limits) reserve(ctx context.Context, method string, now time.Time) (reservation, *qcc.Error) {
	day := beijingDay(now)
	l.reconcile(ctx)
	l.mu.Lock()
	floor := 0
	if l.known.Day == day {
		floor = l.known.Used
	}
	if l.pending.Day == day {
		floor += l.pending.Used
	}
	l.mu.Unlock()
	used, ok, err := l.state.Reserve(ctx, day, l.maxPerDay, floor)
	if err != nil {
		l.degraded(FeatureBudget)
		if r, counted := l.reserveLocally(day); counted {
			return r, nil
		}
		// Fail closed: a request that cannot be counted could overspend.
		return reservation{}, budgetUnknown(method, err, now)
	}
	l.mu.Lock()
	if l.known.Day != day || used > l.known.Used || !ok {
		l.known = budget{Day: day, Used: used}
	}
	l.mu.Unlock()
	if !ok {
		return reservation{}, l.budgetRefusal(method, now)
	}
	if l.maxPerDay > 0 && used == l.maxPerDay {
		l.log.Warn("the daily budget of QCC calls is used up; until 00:00 Beijing time only cached answers are served",
			"budget", l.maxPerDay, "resets_at", qcc.NextBeijingMidnight(now))
	}
	return reservation{day: day}, nil
}

// reserveLocally counts a request in this process while the store is
// away: always without a budget (the count is for Usage, and the store
// learns of it later), within the allowance and the budget as last known
// with one.
func (l *limits) reserveLocally(day string) (reservation, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.spent.Day != day {
		l.spent = budget{Day: day}
	}
	if l.pending.Day != day {
		if l.pending.Used > 0 {
			// Yesterday's outage count can no longer matter to a budget.
			l.log.Debug("dropping the locally counted requests of a past day", "day", l.pending.Day, "count", l.pending.Used)
		}
		l.pending = budget{Day: day}
	}
	if l.maxPerDay > 0 {
		known := 0
		if l.known.Day == day {
			known = l.known.Used
		}
		if l.spent.Used >= l.allowance || known+l.pending.Used >= l.maxPerDay {
			return reservation{}, false
		}
	}
	l.spent.Used++
	l.pending.Used++
	return reservation{day: day, local: true}, true
}

// reconcile adds the requests counted locally during an outage to the
// store's count, so that the day's budget accounts for every request sent:
// all of them in one atomic add, by one caller at a time (every reservation
// and the recovery hook call it), and only what was added is taken off
// pending. It is cheap when there is nothing to add or another caller is
// adding; a failure (the store is still away) leaves pending for later.
func (l *limits) reconcile(ctx context.Context) {
	if !l.reconciling.TryLock() {
		return
	}
	defer l.reconciling.Unlock()
	l.mu.Lock()
	p := l.pending
	floor := 0
	if l.known.Day == p.Day {
		floor = l.known.Used
	}
	l.mu.Unlock()
	if p.Used == 0 {
		return
	}
	used, err := l.state.Add(ctx, p.Day, p.Used, floor)
	if err != nil {
		return
	}
	l.mu.Lock()
	if l.pending.Day == p.Day {
		l.pending.Used -= min(p.Used, l.pending.Used)
	}
	if l.known.Day != p.Day || used > l.known.Used {
		l.known = budget{Day: p.Day, Used: used}
	}
	l.mu.Unlock()
	l.log.Info("requests counted locally while the shared state was away are added to the shared budget",
		"day", p.Day, "count", p.Used)
}

// refund takes back a reservation for a request that was not sent.
func (l *limits) refund(ctx context.Context, r reservation) {
	if r.day == "" {
		return
	}
	if r.local {
		l.mu.Lock()
		if l.pending.Day == r.day && l.pending.Used > 0 {
			l.pending.Used--
		}
		if l.spent.Day == r.day && l.spent.Used > 0 {
			l.spent.Used--
		}
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	if l.known.Day == r.day && l.known.Used > 0 {
		l.known.Used--
	}
	l.mu.Unlock()
	if err := l.state.Refund(ctx, r.day); err != nil {
		l.log.Debug("budget refund failed", "error", err.Error())
	}
}

// learn raises the count this process knows for day to used, the store's:
// every read of the store's count keeps the floor that re-seeds a store
// which lost its data as high as this process has seen.
func (l *limits) learn(day string, used int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known.Day != day || used > l.known.Used {
		l.known = budget{Day: day, Used: used}
	}
}

// used returns the requests counted today.
func (l *limits) used(ctx context.Context, now time.Time) int {
	day := beijingDay(now)
	n, err := l.state.Used(ctx, day)
	if err == nil {
		l.learn(day, n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		n = 0
		if l.known.Day == day {
			n = l.known.Used
		}
	}
	if l.pending.Day == day {
		n += l.pending.Used // not in the store's count yet
	}
	return n
}

// observe starts the pause that an upstream error calls for, if any, and
// returns its kind for the log ("query", CooldownQuota or
// CooldownCredential).
func (l *limits) observe(ctx context.Context, key string, err error, now time.Time) (string, Cooldown) {
	var e *qcc.Error
	if !errors.As(err, &e) || e.Code == 0 || e.Local != "" {
		return "", Cooldown{}
	}
	info, _ := qcc.LookupStatus(e.Code)
	at := e.Received
	if at.IsZero() {
		at = now
	}
	until := info.Pause.Until(at, l.credentialCooldown)
	if until.IsZero() {
		return "", Cooldown{}
	}
	name := cooldownName(info.Pause, key)
	c := Cooldown{Code: e.Code, Message: e.Message, Since: at, Until: until}
	l.mu.Lock()
	l.pruneSeenLocked(now)
	if old, ok := l.seen[name]; !ok || !old.Until.After(until) {
		l.seen[name] = c
	}
	l.mu.Unlock()
	kind := name
	if info.Pause.Scope == qcc.PauseQuery {
		kind = "query" // the name holds the query, which the log leaves to debug level
	}
	if err := l.state.ExtendCooldown(context.WithoutCancel(ctx), name, c); err != nil {
		l.log.Warn("a cooldown could not be shared; this process keeps it", "cooldown", kind, "error", err.Error())
	}
	return kind, c
}

func beijingDay(t time.Time) string {
	// The day's name is kept, as every call asks for it: Beijing has
	// no daylight saving time, so a day is a run of 86400 Unix seconds.
	n := t.Unix() + 8*60*60
	day := n / 86400
	if n%86400 < 0 {
		day-- // floor, for times before 1970
	}
	if d := lastDay.Load(); d != nil && d.n == day {
		return d.name
	}
	name := t.In(qcc.Beijing).Format(beijingDayLayout)
	lastDay.Store(&dayName{n: day, name: name})
	return name
}

// dayName is a Beijing day's number since 1970-01-01 and its name.
type dayName struct {
	n    int64
	name string
}

var lastDay atomic.Pointer[dayName]

func beijingTime(t time.Time) string { return t.In(qcc.Beijing).Format(localTimeLayout) }

// cooldownRefusal is a local copy of the error QCC gave for c.Code, for a
// call that was not sent because of the cooldown name.
func cooldownRefusal(method, name string, c Cooldown, now time.Time) *qcc.Error {
	e := qcc.StatusError(method, c.Code, c.Message, now)
	switch name {
	case CooldownQuota:
		e.Local = qcc.ReasonQuotaPaused.Local(c.Code, beijingTime(c.Since), beijingTime(c.Until))
	case CooldownCredential:
		info, _ := qcc.LookupStatus(c.Code)
		e.Local = qcc.ReasonKeyPaused.Local(c.Code, info.Meaning, beijingTime(c.Since), beijingTime(c.Until))
	default:
		e.Local = qcc.ReasonQueryPaused.Local(c.Code, beijingTime(c.Since), beijingTime(c.Until))
		// RetryAt is exactly when the cooldown ends, not two hours from now.
		e.Retry = qcc.RetryAdvice{Retryable: true, After: c.Until.Sub(now)}
	}
	return e
}

func (l *limits) budgetRefusal(method string, now time.Time) *qcc.Error {
	return &qcc.Error{
		Kind:     qcc.KindLocalLimit,
		Message:  qcc.ReasonBudget.Message(),
		Method:   method,
		Retry:    qcc.RetryAdvice{Retryable: true, AtBeijingMidnight: true},
		Received: now,
		Action:   qcc.ReasonBudget.Action(),
		Operator: true,
		Local:    qcc.ReasonBudget.Local(l.maxPerDay, beijingTime(qcc.NextBeijingMidnight(now))),
	}
}

// budgetUnknown refuses a call whose reservation the state store could not
// make. The cause is rendered by type only: a backend's error text may
// name its address.
func budgetUnknown(method string, cause error, now time.Time) *qcc.Error {
	return &qcc.Error{
		Kind:     qcc.KindLocalLimit,
		Message:  qcc.ReasonBudgetUnknown.Message(),
		Method:   method,
		Retry:    qcc.RetryAdvice{Retryable: true, After: time.Second},
		Received: now,
		Action:   qcc.ReasonBudgetUnknown.Action(),
		Local:    qcc.ReasonBudgetUnknown.Local(fmt.Sprintf("%T", cause)),
		Err:      errBudgetUnknown,
	}
}

// errBudgetUnknown is the cause of a refusal for want of the budget count.
var errBudgetUnknown = errors.New("the state store did not answer")

// errNoRateSlot is the cause of a rate-limit refusal. It is specific to
// the caller's deadline, so callers that shared the call ask again.
var errNoRateSlot = errors.New("no slot of the rate limit before the call's deadline")

// rateRefusal refuses a call that got no slot of the rate limit; perSecond
// is 0 when the limiter does not say its rate.
func rateRefusal(method string, perSecond float64, now time.Time) *qcc.Error {
	rate, wait := "this server", 200*time.Millisecond
	if perSecond > 0 {
		rate = fmt.Sprintf("%g calls/s", perSecond)
		wait = time.Duration(float64(time.Second) / perSecond).Round(time.Millisecond)
	}
	return &qcc.Error{
		Kind:     qcc.KindLocalLimit,
		Message:  qcc.ReasonRateLimit.Message(),
		Method:   method,
		Retry:    qcc.RetryAdvice{Retryable: true, After: max(wait, time.Millisecond)},
		Received: now,
		Action:   qcc.ReasonRateLimit.Action(),
		Local:    qcc.ReasonRateLimit.Local(rate),
		Err:      errNoRateSlot,
	}
}
