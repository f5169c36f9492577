package guard

import (
	"context"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// Upstream is what a Guard protects and what it is itself: a *qcc.Client,
// a *Guard, or anything with the same two methods and the same error
// conventions (*qcc.Error values). The MCP tools take one too.
type Upstream interface {
	SearchCertification(ctx context.Context, p qcc.SearchParams) (*qcc.SearchResult, error)
	GetCertificationDetailByID(ctx context.Context, certID string) (*qcc.CertificationDetail, error)
}

// The seam below lets the answer cache, the cooldowns and the budget, the
// rate limit and the coalescing of identical calls live somewhere other
// than this process (several replicas sharing one QCC key). Without any of
// Config.Answers, State, Limiter and Flights, the Guard uses its own: a
// memory cache with an optional bbolt file, and a token bucket.
//
// Every method takes a context first and returns an error; a backend error
// never panics and never blocks past the context's deadline. Names and keys
// are plain strings the Guard builds. What the Guard does when a backend
// fails is its own decision, per feature: answers are looked up and kept in
// memory only; coalescing stays within the process; cooldowns fall back on
// those this process saw; the budget fails closed (a call that cannot be
// counted is not sent), unless Config.BudgetLocalAllowance lets this
// process count a few itself, added to the store's count once it answers.

// Cooldown is a refusal QCC made that the guard repeats locally until it
// can have lifted.
type Cooldown struct {
	Code    int       `json:"code"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"` // when QCC answered with Code
	Until   time.Time `json:"until"`
}

// AnswerStore is the second cache level behind the guard's in-process
// memory LRU (which always stays in front). Records are opaque, versioned
// bytes that the guard encodes.
type AnswerStore interface {
	// GetAnswer returns the record stored under key; found is false when
	// absent or expired.
	GetAnswer(ctx context.Context, key string) (record []byte, found bool, err error)
	// PutAnswer stores record under key until expires (the store may drop
	// it earlier).
	PutAnswer(ctx context.Context, key string, record []byte, expires time.Time) error
}

// StateStore keeps the cooldowns and the daily budget count (per Beijing
// day "2006-01-02"). State must survive what the answer cache may lose
// (eviction, a damaged cache file).
type StateStore interface {
	// Cooldowns returns, of the given names, those recorded with Until
	// after now.
	Cooldowns(ctx context.Context, names []string, now time.Time) (map[string]Cooldown, error)
	// ExtendCooldown records c under name unless one recorded there
	// already ends later: a cooldown is never shortened by a later write.
	ExtendCooldown(ctx context.Context, name string, c Cooldown) error
	// Reserve counts one request on day if the count is below limit
	// (limit <= 0: no cap), atomically against every other caller of the
	// same store. It returns the count after the call and whether the
	// request was counted. floor is the count this process knows for day:
	// a store that lost its data starts from max(stored, floor) so that
	// the day's budget is never spent twice.
	Reserve(ctx context.Context, day string, limit, floor int) (used int, ok bool, err error)
	// Add counts n requests on day without a cap, after raising the count
	// to floor as Reserve does, in one atomic step, and returns the count
	// after: the requests a process counted itself while the store was
	// away, added once it answers.
	Add(ctx context.Context, day string, n, floor int) (used int, err error)
	// Refund takes back one reservation of day (a request that was not
	// sent after all).
	Refund(ctx context.Context, day string) error
	// Used returns day's count.
	Used(ctx context.Context, day string) (int, error)
}

// Limiter is the rate limit in front of QCC. *rate.Limiter
// (golang.org/x/time/rate) satisfies it. Wait blocks until one request may
// start, or fails at once when that would be after ctx's deadline.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Flights coordinates identical concurrent calls across processes
// (optional: nil means coalescing within the process only). The guard
// still coalesces in-process first; only the in-process leader uses
// Flights.
type Flights interface {
	// Lead tries to become the one caller, across all processes, that asks
	// QCC for key. ttl bounds how long the lead is held if the holder
	// dies. When led is false another process holds it: the caller then
	// calls Await and looks in the AnswerStore again.
	Lead(ctx context.Context, key string, ttl time.Duration) (release func(), led bool, err error)
	// Await returns when key's current lead is released or expired, or
	// ctx ends, without a tight polling loop.
	Await(ctx context.Context, key string) error
}

// The cooldown names the guard uses with a StateStore.
const (
	CooldownQuota       = "quota"      // 109, 116: until 00:00 Beijing
	CooldownCredential  = "credential" // key, account and block codes: Config.CredentialCooldown
	CooldownQueryPrefix = "query/"     // + cache key: 110, for 2 hours
)

// CacheState says how a Guard obtained an answer; it is the value of the
// Cache field of qcc.SearchResult and qcc.CertificationDetail.
type CacheState = string

// The cache states.
const (
	CacheHit       CacheState = "hit"       // answered from the cache, no upstream call
	CacheMiss      CacheState = "miss"      // fetched from QCC by this caller
	CacheCoalesced CacheState = "coalesced" // shared an identical caller's upstream call
)

type maxAgeKey struct{}

// WithMaxAge asks a Guard for an answer no older than d: a cached answer
// fetched longer ago is fetched again, and d <= 0 always fetches. A
// qcc.Client ignores it.
func WithMaxAge(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, maxAgeKey{}, d)
}

// MaxAge returns the limit set with WithMaxAge, if any.
func MaxAge(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Value(maxAgeKey{}).(time.Duration)
	return d, ok
}
