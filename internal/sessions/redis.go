package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore is the Store shared by several replicas. All sessions live in
// one sorted set, member = a hash of the session id, score = its expiry in
// Redis's own milliseconds. One key means one Cluster hash slot, atomic
// scripts without hash tags, and a key without a TTL, so that
// `maxmemory-policy volatile-lru` never evicts live sessions. Expiry times
// come from Redis's clock (TIME), so replica clock skew does not matter.
//
// Works with Redis 6.2+ and Valkey (scripts that call TIME before writing
// need effect replication, the default since Redis 5).
type RedisStore struct {
	client redis.UniversalClient
	key    string
}

// RedisKeySuffix is appended to the caller's prefix to form the one key the
// store uses; the version lets a later format live beside this one.
const RedisKeySuffix = "sessions:v1"

// NewRedisStore returns a store keeping its sessions under prefix +
// RedisKeySuffix. The prefix is the caller's (one per QCC app key, derived
// from a hash of it, never the key itself); ids are hashed before they reach
// Redis, so a reader of the database learns no usable session id.
//
// The client must honour context deadlines, or a hung Redis holds requests
// for its read timeout: a *redis.Client built without
// ContextTimeoutEnabled is refused. The app passes the pool of the guard's
// redisstore.Store (Store.Client), which is tuned for this already.
func NewRedisStore(client redis.UniversalClient, prefix string) (*RedisStore, error) {
	if client == nil {
		return nil, errors.New("sessions: nil redis client")
	}
	if c, ok := client.(*redis.Client); ok && !c.Options().ContextTimeoutEnabled {
		return nil, errors.New("sessions: redis client must set ContextTimeoutEnabled (redisstore.Store.Client is)")
	}
	return &RedisStore{client: client, key: prefix + RedisKeySuffix}, nil
}

// member is what Redis stores for a session: a hash of its id, so that the
// database holds nothing a client could present.
func member(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// The scripts read Redis's clock once and compare scores against it.
const luaNow = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

var createScript = redis.NewScript(luaNow + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local max = tonumber(ARGV[3])
if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
`)

var existsScript = redis.NewScript(luaNow + `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) > now then return 1 end
return 0
`)

var touchScript = redis.NewScript(luaNow + `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) <= now then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return 1
`)

// Create implements Store.
func (s *RedisStore) Create(ctx context.Context, id string, ttl time.Duration, max int) error {
	ok, err := createScript.Run(ctx, s.client, []string{s.key}, member(id), ttl.Milliseconds(), max).Int()
	if err != nil {
		return err
	}
	if ok == 0 {
		return ErrFull
	}
	return nil
}

// Exists implements Store.
func (s *RedisStore) Exists(ctx context.Context, id string) (bool, error) {
	ok, err := existsScript.Run(ctx, s.client, []string{s.key}, member(id)).Int()
	return ok == 1, err
}

// Touch implements Store.
func (s *RedisStore) Touch(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := touchScript.Run(ctx, s.client, []string{s.key}, member(id), ttl.Milliseconds()).Int()
	return ok == 1, err
}

// Delete implements Store.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	return s.client.ZRem(ctx, s.key, member(id)).Err()
}
