package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// GetAnswer returns the record cached under key; found is false when there
// is none (never stored, expired, or evicted by Redis).
func (s *Store) GetAnswer(ctx context.Context, key string) ([]byte, bool, error) {
	var record []byte
	err := s.do(ctx, "get_answer", func(ctx context.Context) error {
		var err error
		record, err = s.rdb.Get(ctx, s.answerKey(key)).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return record, true, nil
}

// PutAnswer caches record under key until expires, by the store's clock
// (Options.Now). The entry carries its own expiry (PX), which is also what
// lets maxmemory-policy volatile-lru evict it, and only it. A record
// already expired is not stored.
func (s *Store) PutAnswer(ctx context.Context, key string, record []byte, expires time.Time) error {
	ttl := expires.Sub(s.now())
	if ttl < time.Millisecond {
		return nil
	}
	return s.do(ctx, "put_answer", func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.answerKey(key), record, ttl).Err()
	})
}
