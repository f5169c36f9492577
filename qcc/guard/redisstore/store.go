package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// FormatVersion is the version of the stored forms, part of every key. A
// change of any record's layout gets a new version, so that old and new
// replicas running side by side during a rolling deploy use separate keys
// instead of misreading each other.
const FormatVersion = "v1"

// Defaults of Options.
const (
	DefaultOpTimeout        = 250 * time.Millisecond
	DefaultBreakerFailures  = 3
	DefaultBreakerOpenFor   = time.Second
	defaultFlightWaitMargin = 20 * time.Millisecond
)

// maxPlainKey is the longest cache key used as it is; longer ones are hashed
// so that key length (and Redis memory per key) stays bounded.
const maxPlainKey = 128

// ErrUnavailable is matched (errors.Is) by every error that means Redis
// could not be used: unreachable, too slow for the deadline, an unexpected
// reply, or the circuit breaker open. The guard then applies its degraded
// policy for the feature.
var ErrUnavailable = errors.New("redis unavailable")

// ErrCircuitOpen is the cause of the errors returned, without trying Redis,
// while the circuit breaker is open. It also matches ErrUnavailable.
var ErrCircuitOpen = errors.New("redis circuit breaker open")

// UnavailableError is the typed error every failed operation returns. It
// names the operation, never a key's content, an address's password or a
// record.
type UnavailableError struct {
	Op  string // "get_answer", "reserve", ...
	Err error  // the cause; ErrCircuitOpen while the breaker is open
}

// Error says which operation failed and why.
func (e *UnavailableError) Error() string {
	return "redisstore: " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes every UnavailableError match ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Options configures Open.
type Options struct {
	// URL is redis://[user[:password]@]host[:port][/db] or rediss:// for TLS.
	URL string
	// Password, when set, overrides the URL's (QCC_REDIS_PASSWORD), so the
	// secret need not sit in a URL that may be shown.
	Password string
	// AppKey is the QCC app key whose state this is; only a hash of it is
	// used, to separate the keys of different QCC accounts.
	AppKey string
	// OpTimeout bounds every Redis operation (DefaultOpTimeout when zero).
	OpTimeout time.Duration
	// BreakerFailures is how many consecutive failures open the circuit
	// breaker (DefaultBreakerFailures when zero).
	BreakerFailures int
	// BreakerOpenFor is how long the open breaker stops trying before a
	// probe (DefaultBreakerOpenFor when zero); probes repeat at this period.
	BreakerOpenFor time.Duration
	// Logger receives "redis down" once and "redis back" once per outage,
	// and go-redis's own messages at debug level. Nil discards them.
	Logger *slog.Logger
	// Now is the clock used to turn an answer's expiry into a TTL, the
	// guard's clock (time.Now when nil).
	Now func() time.Time
}

// Store is the guard's backend on one Redis database. It is safe for
// concurrent use; Close releases it.
type Store struct {
	rdb       *redis.Client
	log       *slog.Logger
	now       func() time.Time
	opTimeout time.Duration

	plain string // prefix of keys spread over the cluster
	state string // prefix of keys in the state slot, with the hash tag

	breaker *breaker
}

// Open connects to the Redis at o.URL. Only a bad URL, or a server that
// answers but refuses our credentials, is an error: a Redis that cannot be
// reached yet gives a Store that starts down and comes up by itself, so a
// replica can start during a Redis outage.
func Open(ctx context.Context, o Options) (*Store, error) {
	ropt, err := parseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if o.Password != "" {
		ropt.Password = o.Password
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	if o.BreakerFailures <= 0 {
		o.BreakerFailures = DefaultBreakerFailures
	}
	if o.BreakerOpenFor <= 0 {
		o.BreakerOpenFor = DefaultBreakerOpenFor
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	tune(ropt, o.OpTimeout)
	routeGoRedisLogs(o.Logger)

	app := sha256.Sum256([]byte("qcc-mcp app key\x00" + o.AppKey))
	base := "qcc-mcp:" + FormatVersion + ":" + hex.EncodeToString(app[:8])
	s := &Store{
		rdb:       redis.NewClient(ropt),
		log:       o.Logger,
		now:       o.Now,
		opTimeout: o.OpTimeout,
		plain:     base + ":",
		state:     "{" + base + "}:",
	}
	s.breaker = newBreaker(o.BreakerFailures, o.BreakerOpenFor, s.log, s.probe)

	err = s.do(ctx, "ping", func(ctx context.Context) error { return s.rdb.Ping(ctx).Err() })
	var rerr redis.Error
	if errors.As(err, &rerr) && !errors.Is(err, ErrCircuitOpen) {
		// The server answered and said no (WRONGPASS, NOAUTH, ...): waiting
		// will not help, the operator must fix the configuration.
		_ = s.rdb.Close()
		s.breaker.close()
		return nil, fmt.Errorf("redisstore: %s refused us: %v", ropt.Addr, rerr)
	}
	if errors.Is(err, ErrUnavailable) {
		s.breaker.trip(err) // start down at once; the probe brings it up
	}
	return s, nil
}

// parseURL checks the URL before go-redis sees it, because url.Parse's own
// error quotes the URL, password included.
func parseURL(raw string) (*redis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("redisstore: the Redis URL does not parse (want redis://[user[:password]@]host[:port][/db] or rediss://...)")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("redisstore: the Redis URL's scheme is %q; want redis or rediss", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("redisstore: the Redis URL names no host")
	}
	ropt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("redisstore: the Redis URL (%s) is not accepted: %w", u.Redacted(), err)
	}
	return ropt, nil
}

// tune replaces go-redis's defaults, which suit a cache that may wait:
// three retries, 5 s reads, 5 s dials retried five times, and a context
// deadline ignored unless told otherwise. Here every wait is bounded by
// the operation's deadline and a failure is reported at once.
func tune(o *redis.Options, op time.Duration) {
	o.ContextTimeoutEnabled = true // a hung Redis is cut off by ctx's deadline
	o.ReadTimeout = op
	o.WriteTimeout = op
	o.DialTimeout = op
	o.DialerRetries = 1 // one attempt: a refused dial fails now
	o.PoolTimeout = op  // a pool drained by a hung Redis does not queue callers
	o.MaxRetries = -1   // no retry storms against a struggling server
	o.Protocol = 2      // RESP2 works alike on Redis 6.2+ and Valkey
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// Close stops the breaker's probe and closes the connections.
func (s *Store) Close() error {
	s.breaker.close()
	return s.rdb.Close()
}

// Up reports whether Redis is believed reachable: false from the failure
// that opened the breaker until a probe succeeds.
func (s *Store) Up() bool { return s.breaker.up() }

// OnChange registers f to be called with false when Redis goes down and with
// true when it is back, once per change, in order (for qcc_mcp_redis_up and
// the guard's own log). f must not block nor call OnChange.
func (s *Store) OnChange(f func(up bool)) { s.breaker.onChange(f) }

// do runs f with the operation deadline, through the circuit breaker. A
// caller that gave up (ctx cancelled, or its own deadline passed) gets
// ctx's error and counts as no failure of Redis: impatient callers must not
// open the breaker, which would make the budget fail closed for everyone.
// Everything else that went wrong is an *UnavailableError.
func (s *Store) do(ctx context.Context, op string, f func(ctx context.Context) error) error {
	if !s.breaker.allow() {
		return &UnavailableError{Op: op, Err: ErrCircuitOpen}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	err := f(octx)
	if err == nil || errors.Is(err, redis.Nil) {
		s.breaker.success()
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		// The socket's deadline (ctx's) can pass a moment before ctx's
		// own timer marks it done.
		return context.DeadlineExceeded
	}
	s.breaker.failure(err)
	return &UnavailableError{Op: op, Err: err}
}

// probe is the breaker's test of whether Redis is back.
func (s *Store) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opTimeout)
	defer cancel()
	return s.rdb.Ping(ctx).Err()
}

// answerKey is where the answer cached under the guard's key lives.
func (s *Store) answerKey(key string) string { return s.plain + "a:" + shorten(key) }

// flightKey is the lock of key's flight; flightChannel is where its release
// is announced.
func (s *Store) flightKey(key string) string     { return s.plain + "f:" + shorten(key) }
func (s *Store) flightChannel(key string) string { return s.plain + "f:" + shorten(key) + ":released" }

// The state keys, all in the state slot.
func (s *Store) cooldownsKey() string        { return s.state + "cooldowns" }
func (s *Store) cooldownIndexKey() string    { return s.state + "cooldowns:until" }
func (s *Store) budgetKey(day string) string { return s.state + "budget:" + day }
func (s *Store) rateKey() string             { return s.state + "rate" }

// shorten keeps short keys readable and replaces long ones by their hash;
// the two forms have different leading letters so they cannot collide.
func shorten(key string) string {
	if len(key) <= maxPlainKey {
		return "k:" + key
	}
	sum := sha256.Sum256([]byte(key))
	return "h:" + hex.EncodeToString(sum[:])
}

// go-redis logs through one process-wide logger; it is pointed once at a
// forwarder to the logger of the most recent Open.
var (
	goRedisLogOnce sync.Once
	goRedisLog     atomic.Pointer[slog.Logger]
)

func routeGoRedisLogs(l *slog.Logger) {
	goRedisLog.Store(l)
	goRedisLogOnce.Do(func() { redis.SetLogger(goRedisLogger{}) })
}

type goRedisLogger struct{}

// Printf sends a go-redis message to our logger at debug level: the
// store's own down/back messages are the ones an operator needs.
func (goRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l := goRedisLog.Load(); l != nil {
		l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
	}
}

// The store must keep fitting the guard's backend seam.
var (
	_ guard.AnswerStore = (*Store)(nil)
	_ guard.StateStore  = (*Store)(nil)
	_ guard.Flights     = (*Store)(nil)
	_ guard.Limiter     = (*RateLimiter)(nil)
)

// CheckURL reports whether raw is a Redis URL Open accepts, without
// connecting; its error never quotes the password.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

// RedactURL returns raw with its password, if any, replaced by "xxxxx",
// for showing; a URL that does not parse is replaced whole.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Client returns the store's connection pool, tuned as Open tunes it
// (operation deadlines honoured, no retries), for other state of the same
// replica set, such as the MCP sessions. Closing the Store closes it.
func (s *Store) Client() *redis.Client { return s.rdb }

// KeyPrefix is the prefix of this store's keys, "qcc-mcp:<format>:<app>:",
// for other state kept beside it under the same QCC app key.
func (s *Store) KeyPrefix() string { return s.plain }
