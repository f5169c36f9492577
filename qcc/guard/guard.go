package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// Off turns off a Config setting whose documentation says so. Any negative
// value does the same; Off is just easier to read.
const Off = -1

// Defaults of the zero Config.
const (
	DefaultCacheTTL                 = 24 * time.Hour
	DefaultCacheMaxBytes      int64 = 64 << 20
	DefaultCacheFileTimeout         = 2 * time.Second
	DefaultRate                     = 5.0
	DefaultBurst                    = 5
	DefaultMaxRetries               = 2
	DefaultRetryBaseDelay           = 200 * time.Millisecond
	DefaultRetryMaxDelay            = 2 * time.Second
	DefaultCredentialCooldown       = time.Minute
	DefaultCallTimeout              = 30 * time.Second
)

// Config configures a Guard. The zero value gives every default: a 24-hour
// memory cache of 64 MiB, 5 calls per second with bursts of 5, 2 retries,
// a 1-minute pause after credential errors, no daily budget and no file.
type Config struct {
	// CacheTTL is how long an answer is served from the cache after QCC
	// sent it. Zero means DefaultCacheTTL (24 hours); Off (any negative
	// value) turns the cache off, so every call goes upstream, though
	// identical concurrent calls still share one request.
	CacheTTL time.Duration
	// CacheMaxBytes bounds the cache, counted in bytes of encoded answers.
	// Zero means DefaultCacheMaxBytes (64 MiB). In memory, the least
	// recently used answers go first. The cache file is held to the same
	// bound when it is swept (on open, and when an answer is added an hour
	// or more after the last sweep or past the bound), oldest answers
	// first; expired answers are skipped until then.
	CacheMaxBytes int64
	// CacheFile is the path of a bbolt database that keeps the cache
	// across restarts; the cooldowns and the day's budget count are kept
	// in CacheFile.state beside it and copied into it. Empty keeps
	// everything in memory. Missing directories are created; a damaged
	// file of ours is moved aside to CacheFile.corrupt-TIME, with a
	// warning, and replaced by an empty one; a file that is not ours, or a
	// symbolic link, makes New fail and is left untouched.
	CacheFile string
	// CacheFileTimeout is how long New waits for another process to
	// release CacheFile before failing. Zero means DefaultCacheFileTimeout
	// (2 seconds).
	CacheFileTimeout time.Duration
	// Rate is the number of upstream requests allowed per second, on
	// average. Zero means DefaultRate (5); Off (any negative value) or
	// +Inf turns the rate limit off. A call waits for its turn as long as
	// its context's deadline allows.
	Rate float64
	// Burst is how many upstream requests may start at once before Rate
	// applies. Zero means DefaultBurst (5).
	Burst int
	// MaxRetries is how many times a failed upstream request is repeated
	// when a retry can help. Zero means DefaultMaxRetries (2); Off (any
	// negative value) never retries.
	MaxRetries int
	// RetryBaseDelay is the wait before the first retry; each further
	// retry waits twice as long, up to RetryMaxDelay, and every wait is
	// jittered between half and all of that. Zero means
	// DefaultRetryBaseDelay (200ms).
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps the wait between retries. Zero means
	// DefaultRetryMaxDelay (2 seconds).
	RetryMaxDelay time.Duration
	// CredentialCooldown is how long every upstream request is refused
	// locally after QCC rejected the key or the account or blocked it (the
	// codes whose qcc.Pause is Configured: 101, 102, 103, 104, 106, 107,
	// 108, 112, 115, 119, 121). Zero means DefaultCredentialCooldown (1
	// minute); Off (any negative value) does not pause.
	CredentialCooldown time.Duration
	// CallTimeout bounds everything one call spends asking QCC: its
	// attempts, the waits between them and for the rate limit. Zero
	// means DefaultCallTimeout (30 seconds); Off (any negative value)
	// leaves only the caller's own deadline.
	CallTimeout time.Duration
	// MaxCallsPerDay caps the requests sent to QCC per Beijing calendar
	// day, retries and no-result answers included. Zero means no cap.
	MaxCallsPerDay int
	// MaxCallsPerClientPerDay caps, on top of MaxCallsPerDay, the requests
	// each caller (named by WithClient) may cause per Beijing day; calls
	// without a caller are not capped this way. Zero means no cap.
	MaxCallsPerClientPerDay int
	// Now is the clock for cache ages, cooldowns and the budget's day; nil
	// means time.Now. Waits (rate limit, retries) use real time.
	Now func() time.Time
	// Logger receives warnings (cooldowns started, cache file trouble) and
	// debug messages (retries); nil discards them.
	Logger *slog.Logger

	// Answers, if set, is the cache level behind the memory cache instead
	// of CacheFile: an answer store several processes share, say.
	Answers AnswerStore
	// State, if set, keeps the cooldowns and the budget count instead of
	// this process's memory and CacheFile.
	State StateStore
	// Limiter, if set, is the rate limit instead of Rate and Burst.
	Limiter Limiter
	// Flights, if set, lets identical concurrent calls in several
	// processes share one upstream request; nil shares them within this
	// process only.
	Flights Flights
	// BudgetLocalAllowance is how many upstream requests this process may
	// count itself, per Beijing day, while State cannot be reached and
	// MaxCallsPerDay is set; once State answers again they are added to
	// its count. Zero: none, so the budget fails closed during an outage.
	BudgetLocalAllowance int
	// SharedUp, if set, reports whether the shared backends above can be
	// reached now; Usage.SharedState says so.
	SharedUp func() bool
}

// The features that fall back on this process's own state when a shared
// backend fails, as Usage.Degraded counts them.
const (
	FeatureCache      = "cache"      // answers from memory (and the file) only
	FeatureCoalescing = "coalescing" // identical calls shared within this process only
	FeatureCooldowns  = "cooldowns"  // the cooldowns this process saw
	FeatureBudget     = "budget"     // refused, or counted within the local allowance
	FeatureRate       = "rate"       // this process's share of the rate limit
)

// Guard answers repeated questions from its cache and keeps the QCC key
// out of trouble; see the package documentation. It is safe for concurrent
// use. Close it to release the cache file.
type Guard struct {
	up  Upstream
	now func() time.Time
	log *slog.Logger

	cacheOn bool
	ttl     time.Duration
	mem     *memCache
	answers AnswerStore // nil: memory only
	file    *store      // nil without a cache file; closed by Close

	limiter    Limiter // nil when off
	perSecond  float64 // 0 when the limiter does not say
	shared     Flights // nil: coalescing within the process only
	maxRetries int
	retryBase  time.Duration
	retryMax   time.Duration
	callLimit  time.Duration // 0: none
	limits     *limits

	flightsMu sync.Mutex
	flights   map[string]*flight // in this process, by cache key
	// freshAnswers is set when up gives every call an answer of its own
	// (a *qcc.Client or a *Guard): then an answer that no one else sees
	// is handed to its caller without being copied.
	freshAnswers bool

	sharedUp  func() bool // nil without shared backends
	usage     counters
	closeOnce sync.Once
	closeErr  error
}

// flight is one upstream call that identical concurrent calls share.
// Its fields are written by the leader before done is closed.
type flight struct {
	done chan struct{}
	val  any
	err  error
	// callerSpecific is set when the outcome depends on the leader's own
	// context (canceled, or no rate-limit slot before its deadline): the
	// others then ask again rather than inherit it.
	callerSpecific bool
	// followers counts the callers that joined the flight, under
	// flightsMu; final once the flight has landed.
	followers int
}

// New returns a Guard in front of up. It fails when cfg is inconsistent,
// or when cfg.CacheFile cannot be opened or is locked by another process;
// a damaged cache file is rebuilt instead.
func New(up Upstream, cfg Config) (*Guard, error) {
	if up == nil {
		return nil, errors.New("guard: the upstream client is nil")
	}
	switch {
	case cfg.CacheMaxBytes < 0:
		return nil, fmt.Errorf("guard: the cache size must not be negative, got %d", cfg.CacheMaxBytes)
	case cfg.Burst < 0:
		return nil, fmt.Errorf("guard: the burst must not be negative, got %d", cfg.Burst)
	case math.IsNaN(cfg.Rate):
		return nil, errors.New("guard: the rate is not a number")
	case cfg.MaxCallsPerDay < 0 || cfg.MaxCallsPerClientPerDay < 0:
		return nil, fmt.Errorf("guard: the daily budgets must not be negative, got %d and %d per caller", cfg.MaxCallsPerDay, cfg.MaxCallsPerClientPerDay)
	case cfg.RetryBaseDelay < 0 || cfg.RetryMaxDelay < 0 || cfg.CacheFileTimeout < 0:
		return nil, errors.New("guard: delays and timeouts must not be negative")
	}
	g := &Guard{
		up:         up,
		now:        cfg.Now,
		log:        cfg.Logger,
		cacheOn:    cfg.CacheTTL >= 0,
		ttl:        orDefault(cfg.CacheTTL, DefaultCacheTTL),
		mem:        newMemCache(orDefault(cfg.CacheMaxBytes, DefaultCacheMaxBytes)),
		maxRetries: max(orDefault(cfg.MaxRetries, DefaultMaxRetries), 0),
		retryBase:  orDefault(cfg.RetryBaseDelay, DefaultRetryBaseDelay),
		retryMax:   orDefault(cfg.RetryMaxDelay, DefaultRetryMaxDelay),
		flights:    make(map[string]*flight),
	}
	switch up.(type) {
	case *qcc.Client, *Guard:
		g.freshAnswers = true
	}
	g.retryMax = max(g.retryMax, g.retryBase)
	g.callLimit = max(orDefault(cfg.CallTimeout, DefaultCallTimeout), 0)
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	switch r := orDefault(cfg.Rate, DefaultRate); {
	case cfg.Limiter != nil:
		g.limiter = cfg.Limiter
		if l, ok := cfg.Limiter.(*rate.Limiter); ok && l.Limit() != rate.Inf {
			g.perSecond = float64(l.Limit())
		}
	case r > 0 && !math.IsInf(r, 1):
		g.perSecond = r
		g.limiter = rate.NewLimiter(rate.Limit(r), orDefault(cfg.Burst, DefaultBurst))
	}
	// The file serves whatever no injected backend does; with both
	// injected it is not opened at all.
	if cfg.CacheFile != "" && (cfg.Answers == nil || cfg.State == nil) {
		st, err := openStore(cfg.CacheFile, orDefault(cfg.CacheFileTimeout, DefaultCacheFileTimeout),
			orDefault(cfg.CacheMaxBytes, DefaultCacheMaxBytes), g.now, g.log)
		if err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
		g.file = st
	}
	g.answers = cfg.Answers
	if g.answers == nil && g.file != nil {
		g.answers = g.file
	}
	state := cfg.State
	if state == nil {
		local, err := newLocalState(g.file, g.now(), g.log)
		if err != nil {
			_ = g.Close()
			return nil, fmt.Errorf("guard: %w", err)
		}
		state = local
	}
	g.shared = cfg.Flights
	g.sharedUp = cfg.SharedUp
	g.limits = newLimits(state, g.log, orDefault(cfg.CredentialCooldown, DefaultCredentialCooldown), cfg.MaxCallsPerDay,
		cfg.BudgetLocalAllowance, g.DegradedOp)
	g.limits.maxPerClient = cfg.MaxCallsPerClientPerDay
	return g, nil
}

// orDefault returns def for the zero value and v otherwise.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Close closes the cache file. Every answer and count was written when it
// arrived, so nothing is lost. The Guard keeps working from memory after
// Close; a second Close does nothing.
func (g *Guard) Close() error {
	g.closeOnce.Do(func() {
		if g.file != nil {
			g.closeErr = g.file.close()
		}
	})
	return g.closeErr
}

// SearchCertification answers like qcc.Client.SearchCertification, from
// the cache when it can. The search key is normalised (white space
// collapsed, parentheses made full-width) before it is sent, so that the
// spellings of one name share one answer.
func (g *Guard) SearchCertification(ctx context.Context, p qcc.SearchParams) (*qcc.SearchResult, error) {
	p, key := searchQuery(p)
	if qcc.CheckSearch(p, g.now()) != nil {
		// The client refuses it without sending: it costs nothing, so it
		// needs neither the cache, the rate limit nor the budget.
		return g.up.SearchCertification(ctx, p)
	}
	v, err := g.do(ctx, qcc.MethodSearch, key, func(ctx context.Context) (any, error) {
		res, err := g.up.SearchCertification(ctx, p)
		if err != nil || res == nil {
			return nil, err // never a typed nil in an interface
		}
		return res, nil
	})
	res, _ := v.(*qcc.SearchResult)
	return res, err
}

// GetCertificationDetailByID answers like
// qcc.Client.GetCertificationDetailByID, from the cache when it can.
func (g *Guard) GetCertificationDetailByID(ctx context.Context, certID string) (*qcc.CertificationDetail, error) {
	certID, key := detailQuery(certID)
	if certID == "" {
		return g.up.GetCertificationDetailByID(ctx, certID)
	}
	v, err := g.do(ctx, qcc.MethodDetail, key, func(ctx context.Context) (any, error) {
		d, err := g.up.GetCertificationDetailByID(ctx, certID)
		var e *qcc.Error
		if errors.As(err, &e) && e.Code == 201 {
			// An unknown id is an answer too, and a billed one: keep it
			// like a search's "no result", so a repeat costs nothing.
			return &qcc.CertificationDetail{ID: certID, Fields: []qcc.Field{}, Status: 201, Message: e.Message, FetchedAt: e.Received}, nil
		}
		if err != nil || d == nil {
			return nil, err
		}
		return d, nil
	})
	d, _ := v.(*qcc.CertificationDetail)
	if err == nil && d != nil && d.Status == 201 {
		return nil, notFound(d)
	}
	return d, err
}

// notFound rebuilds the client's error for an unknown id from a kept
// answer, saying where the answer came from.
func notFound(d *qcc.CertificationDetail) *qcc.Error {
	e := qcc.DetailNotFoundError(d.Message, d.FetchedAt)
	if d.Cache == CacheHit {
		e.Local = qcc.ReasonNotFoundKept.Local(beijingTime(d.FetchedAt))
	}
	return e
}

// do answers one call: from the cache, from an identical call in flight,
// or by leading an upstream request.
func (g *Guard) do(ctx context.Context, method, key string, call func(context.Context) (any, error)) (any, error) {
	maxAge, limited := MaxAge(ctx)
	if e, ok := g.lookup(ctx, key, maxAge, limited); ok {
		g.usage.hits.Add(1)
		return copyAnswer(e.val, CacheHit), nil
	}
	for {
		g.flightsMu.Lock()
		f, joined := g.flights[key]
		if joined {
			f.followers++
		} else {
			f = &flight{done: make(chan struct{})}
			g.flights[key] = f
		}
		g.flightsMu.Unlock()
		if !joined {
			return g.lead(ctx, method, key, f, call, maxAge, limited)
		}
		g.usage.waiting.Add(1)
		select {
		case <-f.done:
			g.usage.waiting.Add(-1)
		case <-ctx.Done():
			g.usage.waiting.Add(-1)
			// The leader carries on for the others and for the cache.
			return nil, qcc.CanceledError(method, ctx.Err(), g.now())
		}
		if f.callerSpecific {
			if err := ctx.Err(); err != nil {
				return nil, qcc.CanceledError(method, err, g.now())
			}
			continue
		}
		g.usage.coalesced.Add(1)
		if f.err != nil {
			return nil, copyError(f.err)
		}
		return copyAnswer(f.val, CacheCoalesced), nil
	}
}

var errLeaderPanicked = errors.New("guard: the shared upstream call panicked")

// lead makes the upstream call for f and hands its outcome to every caller
// waiting on f.
func (g *Guard) lead(ctx context.Context, method, key string, f *flight, call func(context.Context) (any, error),
	maxAge time.Duration, limited bool) (any, error) {
	landed := false
	defer func() {
		if !landed { // call panicked: release the followers before the panic goes on
			f.err = errLeaderPanicked
			g.land(key, f)
		}
	}()
	// Another leader may have stored the answer between the first look
	// and taking the lead.
	if e, ok := g.lookup(ctx, key, maxAge, limited); ok {
		g.usage.hits.Add(1)
		f.val = e.val
		landed = true
		g.land(key, f)
		return copyAnswer(e.val, CacheHit), nil
	}
	if g.shared != nil {
		release, v, ok := g.leadShared(ctx, key, maxAge, limited)
		if ok {
			g.usage.coalesced.Add(1)
			f.val = v
			landed = true
			g.land(key, f)
			return copyAnswer(v, CacheCoalesced), nil
		}
		defer release() // after remember: the others look for the answer once it is released
	}
	g.usage.misses.Add(1)
	v, err := g.fetch(ctx, method, key, call)
	cached := false
	if err == nil && g.cacheOn && cacheable(v) {
		g.remember(ctx, key, v) // before landing, so no caller finds neither flight nor answer
		cached = true
	}
	f.val, f.err = v, err
	f.callerSpecific = errors.Is(err, qcc.KindCanceled) || errors.Is(err, errNoRateSlot) || errors.Is(err, errClientBudget)
	landed = true
	followers := g.land(key, f)
	if err != nil {
		return nil, err
	}
	if !cached && followers == 0 && g.freshAnswers {
		// No one else has v: not the cache, not a follower (none can
		// join a landed flight), not up, which made it for this call.
		return markAnswer(v, CacheMiss), nil
	}
	return copyAnswer(v, CacheMiss), nil
}

// sharedLeadTTL bounds how long a lead across processes is held if its
// holder dies: longer than any one call with its retries normally takes.
const sharedLeadTTL = time.Minute

// leadShared takes the lead for key across processes. When another
// process holds it, it waits for that one and returns its answer with ok
// set, if the answer store has it by then. Otherwise the caller asks QCC
// itself, and must call release when done. A failing Flights backend
// leaves coalescing within this process.
func (g *Guard) leadShared(ctx context.Context, key string, maxAge time.Duration, limited bool) (release func(), v any, ok bool) {
	nothing := func() {}
	ttl := sharedLeadTTL
	if deadline, has := ctx.Deadline(); has {
		ttl = max(min(ttl, time.Until(deadline)), time.Second)
	}
	release, led, err := g.shared.Lead(ctx, key, ttl)
	switch {
	case err != nil:
		g.log.Debug("shared coalescing unavailable; coalescing within this process", "error", err.Error())
		g.DegradedOp(FeatureCoalescing)
		return nothing, nil, false
	case led:
		if release == nil {
			release = nothing
		}
		// The previous holder may have stored the answer and released the
		// lead between our look and our taking it: look once more, or
		// two processes would pay for one question.
		if g.answers != nil {
			if e, found := g.lookup(ctx, key, maxAge, limited); found {
				release()
				return nothing, e.val, true
			}
		}
		return release, nil, false
	}
	if err := g.shared.Await(ctx, key); err != nil {
		if ctx.Err() == nil {
			g.DegradedOp(FeatureCoalescing)
		}
		return nothing, nil, false // canceled: fetch reports it; else ask QCC ourselves
	}
	if e, found := g.lookup(ctx, key, maxAge, limited); found {
		return nothing, e.val, true
	}
	// The other process's answer was an error or not kept: ask ourselves.
	return nothing, nil, false
}

// land ends a flight and returns how many callers joined it.
func (g *Guard) land(key string, f *flight) (followers int) {
	g.flightsMu.Lock()
	delete(g.flights, key)
	followers = f.followers
	g.flightsMu.Unlock()
	close(f.done)
	return followers
}

// copyError gives each caller its own *qcc.Error, so that one caller
// editing it cannot change what another sees.
func copyError(err error) error {
	if e, ok := err.(*qcc.Error); ok {
		c := *e
		return &c
	}
	return err
}

// lookup returns a cached answer fit for the call, first from memory, then
// from the answer store, whose answers are brought into memory for the
// next time.
func (g *Guard) lookup(ctx context.Context, key string, maxAge time.Duration, limited bool) (*entry, bool) {
	if !g.cacheOn {
		return nil, false
	}
	now := g.now()
	if e, ok := g.mem.get(key); ok {
		if e.fresh(now, maxAge, limited) {
			return e, true
		}
		if !now.Before(e.expires) {
			g.mem.remove(key)
		}
		// The store holds nothing newer than memory, unless another
		// process shares it: an answer that is too old here is asked for
		// again, which also refreshes the shared one.
		return nil, false
	}
	if g.answers == nil {
		return nil, false
	}
	data, found, err := g.answers.GetAnswer(ctx, key)
	if err != nil {
		g.log.Debug("answer store unavailable; memory cache only", "error", err.Error())
		g.DegradedOp(FeatureCache)
		return nil, false
	}
	if !found {
		return nil, false
	}
	e, err := decodeEntry(key, data)
	if err != nil || !now.Before(e.expires) {
		return nil, false
	}
	g.mem.add(e)
	return e, e.fresh(now, maxAge, limited)
}

// remember caches v, QCC's answer for key.
func (g *Guard) remember(ctx context.Context, key string, v any) {
	now := g.now()
	at := fetchedAt(v)
	if at.IsZero() {
		at = now
	}
	e := &entry{key: key, val: v, fetchedAt: at, expires: at.Add(g.ttl)}
	data, err := encodeEntry(e)
	if err != nil {
		g.log.Warn("answer not cached", "key", key, "error", err.Error())
		return
	}
	e.size = int64(len(data) + len(key))
	g.mem.add(e)
	if g.answers != nil {
		// The caller may have gone; the answer is paid for all the same.
		if err := g.answers.PutAnswer(context.WithoutCancel(ctx), key, data, e.expires); err != nil {
			g.log.Debug("answer not kept in the answer store", "key", key, "error", err.Error())
			g.DegradedOp(FeatureCache)
		}
	}
}

// errCallTimeout is the cause of a call's context ending at CallTimeout.
var errCallTimeout = errors.New("guard: the call's time limit passed")

// fetch sends the call upstream within CallTimeout, shared by every
// attempt and wait, and says in the error how many attempts were made in
// how long.
func (g *Guard) fetch(ctx context.Context, method, key string, call func(context.Context) (any, error)) (any, error) {
	parent, began := ctx, time.Now()
	if g.callLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, g.callLimit, errCallTimeout)
		defer cancel()
	}
	var t tries
	v, err := g.attempt(ctx, method, key, call, &t)
	attempts := t.n
	var e *qcc.Error
	if err == nil || !errors.As(err, &e) || attempts == 0 {
		return v, err
	}
	took := time.Since(began).Round(10 * time.Millisecond)
	if parent.Err() == nil && errors.Is(context.Cause(ctx), errCallTimeout) && e.Local == "" {
		// Our own limit, not the caller's: a timeout, not a cancellation.
		last := ""
		if t.failed != nil {
			last = "; the last failure: " + t.failed.Message
		}
		e = &qcc.Error{Kind: qcc.KindTimeout, Method: method, URL: e.URL, Received: g.now(), Err: e.Err,
			Message: fmt.Sprintf("QCC did not answer within this call's time limit of %s: %s in %s%s",
				g.callLimit, plural(attempts, "attempt"), took, last),
			Retry: qcc.RetryAdvice{Retryable: true}, Action: qcc.ReasonTimeout.Action()}
	} else if attempts > 1 || e.Kind == qcc.KindNetwork || e.Kind == qcc.KindTimeout {
		c := *e
		c.Message += fmt.Sprintf(" (%s in %s)", plural(attempts, "attempt"), took)
		e = &c
	}
	if e.Kind == qcc.KindNetwork || e.Kind == qcc.KindTimeout {
		g.log.Warn("QCC could not be reached", "method", method, "error", e.Message)
	}
	return nil, e
}

// tries counts the requests of one call, with the last upstream failure
// (not the caller's deadline ending one).
type tries struct {
	n      int
	failed *qcc.Error
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// attempt sends the call upstream, within the cooldowns, the budget and
// the rate limit, and retries it while a retry can help, counting the
// requests sent in t.
func (g *Guard) attempt(ctx context.Context, method, key string, call func(context.Context) (any, error), t *tries) (any, error) {
	var last error // the upstream failure being retried
	query := CooldownQueryPrefix + key
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, qcc.CanceledError(method, err, g.now())
		}
		// Checked before waiting for a slot, so that a refused call is
		// refused at once, and again after it, as a cooldown or the
		// budget may have run out meanwhile.
		if refusal := g.limits.check(ctx, method, query, g.now()); refusal != nil {
			return nil, g.refuse(last, refusal)
		}
		if err := g.waitForSlot(ctx, method); err != nil {
			if errors.Is(err, qcc.KindCanceled) {
				return nil, err
			}
			return nil, g.refuse(last, err)
		}
		now := g.now()
		if refusal := g.limits.check(ctx, method, query, now); refusal != nil {
			return nil, g.refuse(last, refusal)
		}
		reserved, refusal := g.limits.reserve(ctx, method, now)
		if refusal != nil {
			return nil, g.refuse(last, refusal)
		}
		clientDay, refusal := g.limits.reserveClient(ctx, method, Client(ctx), now)
		if refusal != nil {
			g.limits.refund(context.WithoutCancel(ctx), reserved)
			return nil, g.refuse(last, refusal)
		}

		t.n++
		v, err := call(ctx)
		if e, ok := err.(*qcc.Error); ok && e.Kind != qcc.KindCanceled {
			t.failed = e
		}
		if err != nil && !sent(err) {
			g.limits.refund(context.WithoutCancel(ctx), reserved)
			g.limits.refundClient(context.WithoutCancel(ctx), clientDay)
			return nil, err
		}
		g.usage.upstream(outcome(v, err))
		if err == nil {
			return v, nil
		}
		if kind, c := g.limits.observe(ctx, key, err, g.now()); kind != "" {
			g.log.Warn("QCC refused a call; repeating its answer locally until the refusal can have lifted",
				"code", c.Code, "cooldown", kind, "until", c.Until, "method", method)
		}
		if attempt >= g.maxRetries || !retryable(err) {
			return nil, err
		}
		delay := g.backoff(attempt)
		// QCC (or a proxy) may say how long to wait, e.g. Retry-After on
		// a 429: never retry sooner, and leave a long wait to the caller
		// rather than hold the call open.
		if advised := advisedWait(err); advised > g.retryMax {
			return nil, err
		} else {
			delay = max(delay, advised)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= delay {
			return nil, err // a retry could not be answered in time
		}
		g.log.Debug("retrying a QCC call", "method", method, "attempt", attempt+1, "delay", delay, "error", err.Error())
		notifyWait(ctx, Wait{Reason: "retry", Attempt: attempt + 1, Delay: delay})
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, qcc.CanceledError(method, ctx.Err(), g.now())
		}
		last = err
	}
}

// refuse returns a local refusal, except when it stops a retry: then the
// upstream failure being retried is the more useful answer, and the next
// call will meet the refusal anyway.
func (g *Guard) refuse(last error, refusal *qcc.Error) error {
	if last != nil {
		return last
	}
	g.usage.refusals.Add(1)
	return refusal
}

// waitForSlot waits for the rate limit to allow one request.
func (g *Guard) waitForSlot(ctx context.Context, method string) *qcc.Error {
	if g.limiter == nil {
		return nil
	}
	if d, busy := g.slotDelay(); busy {
		notifyWait(ctx, Wait{Reason: "rate_limit", Delay: d})
	}
	// Wait fails at once when the slot comes after ctx's deadline.
	if err := g.limiter.Wait(ctx); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return qcc.CanceledError(method, ctxErr, g.now())
		}
		return rateRefusal(method, g.perSecond, g.now())
	}
	return nil
}

// backoff returns the wait before retry number attempt+1: exponential,
// capped, and jittered between half and all of it so that callers who
// failed together do not retry together.
func (g *Guard) backoff(attempt int) time.Duration {
	d := g.retryMax
	if attempt < 30 {
		d = min(g.retryBase<<attempt, g.retryMax)
	}
	return d/2 + rand.N(d/2+1)
}

// sent reports whether a failed call reached QCC. The client refuses bad
// arguments before sending, with no status code; those cost nothing and
// must not count against the budget.
func sent(err error) bool {
	var e *qcc.Error
	return !errors.As(err, &e) || e.Kind != qcc.KindInvalidArgument || e.Code != 0 || e.HTTPStatus != 0
}

// retryable reports whether repeating a failed request at once can help:
// failures of the way there (network, timeouts, garbled answers, HTTP 429
// and 5xx) and the QCC codes the client advises retrying soon (205).
// Credential, billing, quota, argument and throttle codes never qualify:
// repeating them only brings the key closer to a ban.
func retryable(err error) bool {
	var e *qcc.Error
	if !errors.As(err, &e) || e.Local != "" {
		return false
	}
	switch e.Kind {
	case qcc.KindNetwork, qcc.KindTimeout, qcc.KindMalformed:
		return true
	case qcc.KindHTTPStatus:
		return e.HTTPStatus == 429 || e.HTTPStatus >= 500
	}
	return e.Code != 0 && e.Retry.Soon()
}

// advisedWait is the wait an HTTP failure asks for (Retry-After, or the
// client's minute for a bare 429), 0 if none.
func advisedWait(err error) time.Duration {
	var e *qcc.Error
	if errors.As(err, &e) && e.Kind == qcc.KindHTTPStatus && e.Retry.Retryable {
		return e.Retry.After
	}
	return 0
}

// Usage is a snapshot of a Guard's counters since New (the budget count
// since the start of the Beijing day, across restarts with a cache file).
type Usage struct {
	// UpstreamCalls counts the requests sent to QCC by outcome: QCC's
	// status code ("200", "201", "110"), "http_" and the status of a
	// non-2xx HTTP answer ("http_502"), or the kind of a failure without
	// either ("network", "timeout", "malformed_response", "canceled").
	UpstreamCalls map[string]int
	// CacheHits counts calls answered from the cache.
	CacheHits int64
	// CacheMisses counts calls that had to ask QCC, or were refused
	// locally instead.
	CacheMisses int64
	// Coalesced counts calls that shared another caller's request.
	Coalesced int64
	// Waiting is how many calls are waiting, right now, for an identical
	// caller's request to come back.
	Waiting int64
	// LocalRefusals counts calls refused without asking QCC, by a
	// cooldown, the budget or the rate limit.
	LocalRefusals int64
	// BudgetLimit is Config.MaxCallsPerDay; 0 means unlimited.
	BudgetLimit int
	// BudgetUsedToday counts the requests sent today, Beijing time.
	BudgetUsedToday int
	// SharedState is "" without shared backends (Config.SharedUp unset),
	// SharedStateUp while they can be reached and SharedStateDegraded while
	// this process falls back on its own state.
	SharedState string
	// Degraded counts, by feature (FeatureCache, ...), the operations that
	// fell back on this process's own state because a shared backend
	// failed.
	Degraded map[string]int64
}

// The values of Usage.SharedState.
const (
	SharedStateUp       = "shared"
	SharedStateDegraded = "degraded"
)

// Total returns the number of requests sent to QCC.
func (u Usage) Total() int {
	n := 0
	for _, c := range u.UpstreamCalls {
		n += c
	}
	return n
}

// LogValue renders u for slog, so that main can log it at shutdown with
// logger.Info("usage", "usage", g.Usage()).
func (u Usage) LogValue() slog.Value {
	outcomes := make([]string, 0, len(u.UpstreamCalls))
	for k := range u.UpstreamCalls {
		outcomes = append(outcomes, k)
	}
	sort.Strings(outcomes)
	calls := make([]slog.Attr, 0, len(outcomes))
	for _, k := range outcomes {
		calls = append(calls, slog.Int(k, u.UpstreamCalls[k]))
	}
	attrs := []slog.Attr{
		slog.Int("upstream_total", u.Total()),
		{Key: "upstream", Value: slog.GroupValue(calls...)},
		slog.Int64("cache_hits", u.CacheHits),
		slog.Int64("cache_misses", u.CacheMisses),
		slog.Int64("coalesced", u.Coalesced),
		slog.Int64("local_refusals", u.LocalRefusals),
		slog.Int("budget_used_today", u.BudgetUsedToday),
	}
	if u.BudgetLimit > 0 {
		attrs = append(attrs, slog.Int("budget_limit", u.BudgetLimit))
	}
	return slog.GroupValue(attrs...)
}

// Usage returns the counters so far.
func (g *Guard) Usage() Usage {
	return Usage{
		UpstreamCalls:   g.usage.upstreamSnapshot(),
		CacheHits:       g.usage.hits.Load(),
		CacheMisses:     g.usage.misses.Load(),
		Coalesced:       g.usage.coalesced.Load(),
		Waiting:         g.usage.waiting.Load(),
		LocalRefusals:   g.usage.refusals.Load(),
		BudgetLimit:     g.limits.maxPerDay,
		BudgetUsedToday: g.limits.used(context.Background(), g.now()),
		SharedState:     g.sharedState(),
		Degraded:        g.usage.degradedSnapshot(),
	}
}

func (g *Guard) sharedState() string {
	switch {
	case g.sharedUp == nil:
		return ""
	case g.sharedUp():
		return SharedStateUp
	default:
		return SharedStateDegraded
	}
}

// DegradedOp counts one operation of feature that fell back on this
// process's own state. The Guard counts its own; a backend that decides a
// fallback itself (the shared rate limiter, which waits on its local share)
// reports it here, so that Usage counts every one.
func (g *Guard) DegradedOp(feature string) {
	g.usage.mu.Lock()
	defer g.usage.mu.Unlock()
	if g.usage.degraded == nil {
		g.usage.degraded = make(map[string]int64)
	}
	g.usage.degraded[feature]++
}

// Reconcile adds the requests this process counted itself while the
// state store was away (Config.BudgetLocalAllowance) to the store's count,
// and writes back the cooldowns this process met that are still in force,
// which the store may have missed (met during the outage) or lost (a
// restart without persistence). The next reservation and cooldown check do
// their share too; calling Reconcile when the store is back tells the
// other processes at once.
func (g *Guard) Reconcile(ctx context.Context) {
	g.limits.reconcile(ctx)
	g.limits.shareSeen(ctx, g.now())
}

// counters are the live counters behind Usage.
type counters struct {
	hits, misses, coalesced, refusals, waiting atomic.Int64

	mu       sync.Mutex
	calls    map[string]int
	degraded map[string]int64
}

func (c *counters) degradedSnapshot() map[string]int64 { return copyLocked(&c.mu, c.degraded) }

func (c *counters) upstream(outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = make(map[string]int)
	}
	c.calls[outcome]++
}

func (c *counters) upstreamSnapshot() map[string]int { return copyLocked(&c.mu, c.calls) }

// copyLocked copies m under mu; the copy is never nil, so that Usage
// shows an empty map rather than null.
func copyLocked[V any](mu *sync.Mutex, m map[string]V) map[string]V {
	mu.Lock()
	defer mu.Unlock()
	out := make(map[string]V, len(m))
	maps.Copy(out, m)
	return out
}
