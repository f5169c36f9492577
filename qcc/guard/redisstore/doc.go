// Package redisstore keeps the guard's shared state in Redis (or Valkey), so
// that several replicas of qcc-mcp pay QCC once, spend one daily budget,
// honour one set of cooldowns and share one rate limit.
//
// A *Store implements the guard's backend seam: AnswerStore (GetAnswer,
// PutAnswer), StateStore (Cooldowns, ExtendCooldown, Reserve, Add, Refund, Used)
// and Flights (Lead, Await); NewLimiter returns its Limiter. It knows cost
// and Redis, nothing of MCP or HTTP.
//
// Redis failures cost speed, never money or hangs: every operation has a
// short deadline (Options.OpTimeout, 250 ms by default) that holds even when
// Redis hangs with its connections open, go-redis does not retry, and a
// circuit breaker makes every method fail at once with an error matching
// ErrUnavailable while Redis is known to be down. A background probe brings
// the store back up by itself. What to do meanwhile is the guard's policy;
// the store only reports it fast (Up, OnChange).
//
// # Keys
//
// Every key starts with "qcc-mcp:<format>:<app>", where <app> is a hash of
// the QCC app key (never the key itself) and <format> the stored-form
// version, so that replicas of different versions, or serving different QCC
// accounts, never read each other's records. State keys (cooldowns, the
// budget count, the rate limit) carry the hash tag {qcc-mcp:<format>:<app>}:
// they sit in one Redis Cluster slot, so a script may touch several of them.
// Answer and flight keys carry no tag and spread over the cluster; cache keys
// longer than maxPlainKey bytes are replaced by their SHA-256.
//
// Cooldown and budget keys carry no TTL and answer entries always do, so
// that Redis configured with maxmemory-policy volatile-lru evicts only cached
// answers. The one exception is the rate limit's key, which redis_rate
// expires when its bucket is full again: evicting it early forgets at most
// one burst.
package redisstore
