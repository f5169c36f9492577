package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// Cooldowns live in one hash (name → JSON Cooldown) with a sorted set
// beside it (name → Until in Unix milliseconds). The sorted set makes "is
// the stored one longer?" one lookup and lets a write drop long-expired
// entries, since neither key has a TTL (state must not be evicted).
//
// KEYS: hash, index. ARGV: name, record, until ms, prune-before ms (0: none).
var extendCooldownScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[2], ARGV[1])
if cur and tonumber(cur) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if tonumber(ARGV[4]) > 0 then
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4], 'LIMIT', 0, 100)
  if #old > 0 then
    redis.call('HDEL', KEYS[1], unpack(old))
    redis.call('ZREM', KEYS[2], unpack(old))
  end
end
return 1
`)

// The day's count is re-seeded from floor before it is used: a Redis that
// restarted empty (or was flushed) mid-day starts again from what the
// caller knows was spent, never from zero.
//
// KEYS: count. ARGV: limit (<= 0: no cap), floor. Returns {count, counted}.
var reserveScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[2])
if n < floor then
  n = floor
  redis.call('SET', KEYS[1], n)
end
local limit = tonumber(ARGV[1])
if limit > 0 and n >= limit then
  return {n, 0}
end
return {redis.call('INCR', KEYS[1]), 1}
`)

// KEYS: count. ARGV: n, floor. Returns the count after adding n.
var addScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[2])
if n < floor then
  redis.call('SET', KEYS[1], floor)
end
return redis.call('INCRBY', KEYS[1], ARGV[1])
`)

// KEYS: count. Never below zero.
var refundScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
`)

// pruneMargin is how long past its end a cooldown is kept before a later
// write may drop it: replicas' clocks differ a little, and one whose clock
// is behind must still see the cooldown it has not yet reached the end of.
const pruneMargin = time.Hour

// Cooldowns returns, of names, those recorded with Until after now.
func (s *Store) Cooldowns(ctx context.Context, names []string, now time.Time) (map[string]guard.Cooldown, error) {
	out := make(map[string]guard.Cooldown)
	if len(names) == 0 {
		return out, nil
	}
	var vals []any
	err := s.do(ctx, "cooldowns", func(ctx context.Context) error {
		var err error
		vals, err = s.rdb.HMGet(ctx, s.cooldownsKey(), names...).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue // not recorded
		}
		var c guard.Cooldown
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			// Same format version, so this is damage, not an old replica:
			// say so rather than hide a refusal the guard should repeat.
			return nil, &UnavailableError{Op: "cooldowns", Err: fmt.Errorf("cooldown %d of %d is not a valid record", i+1, len(names))}
		}
		if c.Until.After(now) {
			out[names[i]] = c
		}
	}
	return out, nil
}

// ExtendCooldown records c under name unless the one recorded there already
// ends as late or later: a cooldown is never shortened, whichever replica
// writes last. The comparison is atomic in Redis (a script).
func (s *Store) ExtendCooldown(ctx context.Context, name string, c guard.Cooldown) error {
	record, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("redisstore: encoding a cooldown: %w", err)
	}
	var prune int64
	if !c.Since.IsZero() {
		prune = c.Since.Add(-pruneMargin).UnixMilli()
	}
	return s.do(ctx, "extend_cooldown", func(ctx context.Context) error {
		return extendCooldownScript.Run(ctx, s.rdb,
			[]string{s.cooldownsKey(), s.cooldownIndexKey()},
			name, record, c.Until.UnixMilli(), prune).Err()
	})
}

// Reserve counts one request on day if the count is below limit (limit <= 0:
// no cap), atomically across every replica, after raising the stored count
// to floor. It returns the count after the call and whether it counted.
func (s *Store) Reserve(ctx context.Context, day string, limit, floor int) (int, bool, error) {
	var res []int64
	err := s.do(ctx, "reserve", func(ctx context.Context) error {
		var err error
		res, err = reserveScript.Run(ctx, s.rdb, []string{s.budgetKey(day)}, limit, floor).Int64Slice()
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if len(res) != 2 {
		return 0, false, &UnavailableError{Op: "reserve", Err: errors.New("unexpected reply shape")}
	}
	return int(res[0]), res[1] == 1, nil
}

// Add counts n requests on day without a cap, after raising the stored
// count to floor, in one script: one round trip however many there are.
func (s *Store) Add(ctx context.Context, day string, n, floor int) (int, error) {
	var used int64
	err := s.do(ctx, "add", func(ctx context.Context) error {
		var err error
		used, err = addScript.Run(ctx, s.rdb, []string{s.budgetKey(day)}, max(n, 0), floor).Int64()
		return err
	})
	return int(used), err
}

// Refund takes back one reservation of day; the count never goes below zero.
func (s *Store) Refund(ctx context.Context, day string) error {
	return s.do(ctx, "refund", func(ctx context.Context) error {
		return refundScript.Run(ctx, s.rdb, []string{s.budgetKey(day)}).Err()
	})
}

// Used returns day's count (0 when nothing was counted).
func (s *Store) Used(ctx context.Context, day string) (int, error) {
	var n int
	err := s.do(ctx, "used", func(ctx context.Context) error {
		var err error
		n, err = s.rdb.Get(ctx, s.budgetKey(day)).Int()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}
