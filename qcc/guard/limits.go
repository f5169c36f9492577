package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// queryCooldown is how long QCC's 110 ("the same query failed repeatedly;
// wait 2 hours") keeps one query from being sent again.
const queryCooldown = 2 * time.Hour

// A cooldown is a refusal QCC made that the guard repeats locally until
// it can have lifted, instead of provoking it again.
type cooldown struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	// Since is when QCC answered with Code.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// budget counts the upstream requests of one Beijing calendar day.
type budget struct {
	Day  string `json:"day"` // 2006-01-02 in Beijing
	Used int    `json:"used"`
}

// State names in the cache file.
const (
	stateBudget      = "budget"
	stateQuota       = "cooldown/quota"
	stateCredential  = "cooldown/credential"
	stateQueryPrefix = "cooldown/query/"
	beijingDayLayout = "2006-01-02"
	localTimeLayout  = time.RFC3339
)

// credentialCodes are the codes that say the key or account is unusable:
// repeating the request cannot help before the operator acts, and
// hammering QCC with it risks a ban.
var credentialCodes = map[int]bool{101: true, 102: true, 103: true, 104: true, 107: true, 112: true, 115: true, 119: true}

// limits holds the cooldowns and the daily budget, mirrored in the cache
// file when there is one so that a restart does not forget them.
type limits struct {
	now                func() time.Time
	log                *slog.Logger
	credentialCooldown time.Duration // <= 0: none
	maxPerDay          int           // 0: unlimited
	store              *store        // nil without a cache file

	mu         sync.Mutex
	queries    map[string]cooldown
	quota      *cooldown
	credential *cooldown
	budget     budget
}

// load restores the state saved in the file, skipping what has expired.
func (l *limits) load() {
	if l.store == nil {
		return
	}
	now := l.now()
	l.store.eachState(func(name string, data []byte) {
		if name == stateBudget {
			_ = json.Unmarshal(data, &l.budget)
			return
		}
		var c cooldown
		if json.Unmarshal(data, &c) != nil || !now.Before(c.Until) {
			return
		}
		switch {
		case name == stateQuota:
			l.quota = &c
		case name == stateCredential:
			l.credential = &c
		case strings.HasPrefix(name, stateQueryPrefix):
			l.queries[strings.TrimPrefix(name, stateQueryPrefix)] = c
		}
	})
}

// check returns the local refusal for a call of method with cache key key
// at now, or nil when it may go upstream as far as cooldowns and the budget
// are concerned. It reserves nothing.
func (l *limits) check(method, key string, now time.Time) *qcc.Error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.quota; c != nil && now.Before(c.Until) {
		return quotaRefusal(method, *c, now)
	}
	if c := l.credential; c != nil && now.Before(c.Until) {
		return credentialRefusal(method, *c, now)
	}
	if c, ok := l.queries[key]; ok {
		if now.Before(c.Until) {
			return queryRefusal(method, c, now)
		}
		delete(l.queries, key)
	}
	if l.maxPerDay > 0 && l.usedLocked(now) >= l.maxPerDay {
		return l.budgetRefusal(method, now)
	}
	return nil
}

// usedLocked returns the requests counted for now's Beijing day.
func (l *limits) usedLocked(now time.Time) int {
	if l.budget.Day != beijingDay(now) {
		return 0
	}
	return l.budget.Used
}

// reserve counts one upstream request against the budget, or refuses it
// when the day's budget is used up. It is taken before the request is sent
// so that concurrent calls cannot overshoot the budget together.
func (l *limits) reserve(method string, now time.Time) *qcc.Error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxPerDay > 0 && l.usedLocked(now) >= l.maxPerDay {
		return l.budgetRefusal(method, now)
	}
	l.addLocked(now, 1)
	if l.maxPerDay > 0 && l.budget.Used == l.maxPerDay {
		l.log.Warn("the daily budget of QCC calls is used up; until 00:00 Beijing time only cached answers are served",
			"budget", l.maxPerDay, "resets_at", qcc.NextBeijingMidnight(now))
	}
	return nil
}

// refund takes back a reservation for a request that was not sent.
func (l *limits) refund(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.usedLocked(now) > 0 {
		l.addLocked(now, -1)
	}
}

func (l *limits) addLocked(now time.Time, n int) {
	if day := beijingDay(now); l.budget.Day != day {
		l.budget = budget{Day: day}
	}
	l.budget.Used += n
	if l.store != nil {
		// Saved at once, under the lock, so that a crash or kill never
		// lets the file forget requests that were paid for.
		l.store.putState(stateBudget, l.budget)
	}
}

// used returns the requests counted today.
func (l *limits) used(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.usedLocked(now)
}

// observe starts the cooldown that an upstream error calls for, if any,
// and says which one for the log.
func (l *limits) observe(key string, err error, now time.Time) (started string, c cooldown) {
	var e *qcc.Error
	if !errors.As(err, &e) || e.Code == 0 || e.Local != "" {
		return "", cooldown{}
	}
	at := e.Received
	if at.IsZero() {
		at = now
	}
	c = cooldown{Code: e.Code, Message: e.Message, Since: at}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case e.Code == 110:
		c.Until = at.Add(queryCooldown)
		l.queries[key] = c
		l.save(stateQueryPrefix+key, c)
		return "query", c
	case e.Code == 109 || e.Code == 116:
		c.Until = qcc.NextBeijingMidnight(at)
		l.quota = &c
		l.save(stateQuota, c)
		return "quota", c
	case credentialCodes[e.Code] && l.credentialCooldown > 0:
		c.Until = at.Add(l.credentialCooldown)
		l.credential = &c
		l.save(stateCredential, c)
		return "credential", c
	}
	return "", cooldown{}
}

func (l *limits) save(name string, c cooldown) {
	if l.store != nil {
		l.store.putState(name, c)
	}
}

func beijingDay(t time.Time) string { return t.In(qcc.Beijing).Format(beijingDayLayout) }

func beijingTime(t time.Time) string { return t.In(qcc.Beijing).Format(localTimeLayout) }

// statusRefusal is a local copy of the error QCC gave for c.Code, for a
// call that was not sent because of it.
func statusRefusal(method string, c cooldown, now time.Time, local string) *qcc.Error {
	info, _ := qcc.LookupStatus(c.Code)
	msg := c.Message
	if msg == "" {
		msg = info.Message
	}
	return &qcc.Error{
		Kind: info.Kind, Code: c.Code, Message: msg, Method: method,
		Retry: info.Retry, Received: now, Action: info.Action, Operator: info.Operator,
		Local: local,
	}
}

func queryRefusal(method string, c cooldown, now time.Time) *qcc.Error {
	e := statusRefusal(method, c, now, fmt.Sprintf(
		"QCC answered %d for this exact query at %s; not sent again until %s",
		c.Code, beijingTime(c.Since), beijingTime(c.Until)))
	// RetryAt is exactly when the cooldown ends, not two hours from now.
	e.Retry = qcc.RetryAdvice{Retryable: true, After: c.Until.Sub(now)}
	return e
}

func quotaRefusal(method string, c cooldown, now time.Time) *qcc.Error {
	return statusRefusal(method, c, now, fmt.Sprintf(
		"QCC answered %d (daily limit reached) at %s; no call is sent to QCC until 00:00 Beijing time (%s)",
		c.Code, beijingTime(c.Since), beijingTime(c.Until)))
}

func credentialRefusal(method string, c cooldown, now time.Time) *qcc.Error {
	info, _ := qcc.LookupStatus(c.Code)
	return statusRefusal(method, c, now, fmt.Sprintf(
		"QCC answered %d (%s) at %s; calls to QCC are paused until %s so that a rejected key is not sent again and again",
		c.Code, info.Meaning, beijingTime(c.Since), beijingTime(c.Until)))
}

func (l *limits) budgetRefusal(method string, now time.Time) *qcc.Error {
	return &qcc.Error{
		Kind:     qcc.KindLocalLimit,
		Message:  "the daily budget of QCC calls is used up",
		Method:   method,
		Retry:    qcc.RetryAdvice{Retryable: true, AtBeijingMidnight: true},
		Received: now,
		Action: "This server's daily budget of QCC calls is used up: answers it already has are still available; " +
			"new questions can be asked after 00:00 Beijing time, or the operator can raise the budget.",
		Operator: true,
		Local: fmt.Sprintf("daily budget of %d QCC calls used up; resets at 00:00 Beijing (%s)",
			l.maxPerDay, beijingTime(qcc.NextBeijingMidnight(now))),
	}
}

// errNoRateSlot is the cause of a rate-limit refusal. It is specific to
// the caller's deadline, so callers that shared the call ask again.
var errNoRateSlot = errors.New("no slot of the rate limit before the call's deadline")

func rateRefusal(method string, perSecond float64, now time.Time) *qcc.Error {
	wait := time.Duration(float64(time.Second) / perSecond).Round(time.Millisecond)
	return &qcc.Error{
		Kind:     qcc.KindLocalLimit,
		Message:  "too many calls to QCC at once",
		Method:   method,
		Retry:    qcc.RetryAdvice{Retryable: true, After: max(wait, time.Millisecond)},
		Received: now,
		Action:   "Too many QCC calls were made at once: repeat this call in a moment, or with a longer timeout.",
		Local: fmt.Sprintf("the rate limit of %g calls/s to QCC had no free slot before this call's deadline",
			perSecond),
		Err: errNoRateSlot,
	}
}

// canceledError is what a caller gets when its context ends while the
// guard makes it wait (for a slot, a retry or another caller's request).
func canceledError(method string, ctxErr error, now time.Time) *qcc.Error {
	msg := "the caller canceled the request before QCC answered"
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		msg = "the caller's deadline passed before QCC answered"
	}
	return &qcc.Error{
		Kind: qcc.KindCanceled, Message: msg, Method: method, Received: now, Err: ctxErr,
		Action: "The call was canceled by its caller before QCC answered; repeat it only if the answer is still wanted.",
	}
}
