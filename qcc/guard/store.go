package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The cache file is a bbolt database: a well-tested B+tree with
// copy-on-write pages and an exclusive file lock, so a crash mid-write
// leaves the last committed state and a second process cannot write at the
// same time. Its layout:
//
//	meta   "format" → storeFormat
//	cache  cache key → record (JSON)
//	state  "budget", "cooldown/quota", "cooldown/credential",
//	       "cooldown/query/" + cache key → JSON
var (
	bucketMeta  = []byte("meta")
	bucketCache = []byte("cache")
	bucketState = []byte("state")
	formatKey   = []byte("format")
)

const storeFormat = "qcc-mcp guard 1"

// purgeInterval is how often expired entries are swept from the file;
// between sweeps, reads skip them.
const purgeInterval = time.Hour

// store is the persistent cache and the guard's persistent state.
//
// Every operation runs guarded (see guarded): a file damaged in a way the
// checks at open did not see makes the store disable itself with a warning,
// and the guard carries on with its memory cache, instead of crashing.
type store struct {
	db       *bolt.DB
	path     string
	log      *slog.Logger
	maxBytes int64
	clock    func() time.Time // the guard's, for expiry

	mu sync.Mutex
	// bytes is the size of the live cache records, recounted by purge.
	bytes     int64
	lastPurge time.Time
	broken    bool
	closed    bool
}

// corruptError marks a file that must be moved aside and rebuilt.
type corruptError struct{ err error }

func (e *corruptError) Error() string { return e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

// openStore opens or creates the cache file at path. A file that is not a
// sound cache file of this program (garbage, cut short, of another format)
// is renamed to path.corrupt-TIME with a warning and replaced by an empty
// one: losing a cache costs money, refusing to start costs more. A file
// locked by another process is an error after timeout, as are files that
// cannot be opened at all (permissions, a missing volume).
func openStore(path string, timeout time.Duration, maxBytes int64, clock func() time.Time, log *slog.Logger) (*store, error) {
	now := clock()
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("cache file %s: %w", path, err)
		}
	}
	s, err := tryOpenStore(path, timeout, maxBytes, clock, log)
	var corrupt *corruptError
	if !errors.As(err, &corrupt) {
		return s, err
	}
	aside, renameErr := moveAside(path, now)
	if renameErr != nil {
		return nil, fmt.Errorf("cache file %s is damaged (%v) and could not be moved aside: %w", path, err, renameErr)
	}
	log.Warn("cache file was damaged; moved it aside and started an empty cache",
		"file", path, "moved_to", aside, "reason", err.Error())
	s, err = tryOpenStore(path, timeout, maxBytes, clock, log)
	if err != nil {
		return nil, fmt.Errorf("cache file %s: could not create a new one after moving the damaged one aside: %w", path, err)
	}
	return s, nil
}

func tryOpenStore(path string, timeout time.Duration, maxBytes int64, clock func() time.Time, log *slog.Logger) (*store, error) {
	// Errors from opening the file itself are the operator's to fix;
	// bbolt does not tell them from its own, so catch them on the way.
	var openErr error
	opts := &bolt.Options{
		Timeout: timeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			openErr = err
			return f, err
		},
	}
	var db *bolt.DB
	err := guarded(func() (err error) {
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	switch {
	case err == nil:
	case openErr != nil:
		return nil, fmt.Errorf("cache file %s cannot be opened: %w", path, openErr)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("cache file %s is in use by another qcc-mcp process (its lock was not released within %s); give each process its own cache file", path, timeout)
	case isDamaged(err):
		return nil, &corruptError{err}
	default:
		return nil, fmt.Errorf("cache file %s: %w", path, err)
	}
	s := &store{db: db, path: path, log: log, maxBytes: maxBytes, clock: clock}
	err = guarded(func() error {
		if err := s.prepare(); err != nil {
			return err
		}
		// A sweep reads every record, so it finds damaged pages now rather
		// than in the middle of a call.
		_, err := s.sweep(clock())
		return err
	})
	if err != nil {
		_ = guarded(db.Close)
		return nil, &corruptError{err}
	}
	return s, nil
}

// isDamaged reports whether bbolt's error on open means the file's content
// is unusable, as opposed to the file being unreachable.
func isDamaged(err error) bool {
	return errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, errPanicked) ||
		strings.Contains(err.Error(), "file size too small")
}

// prepare checks that the file is whole and of this program's format, and
// creates the buckets of a new file.
func (s *store) prepare() error {
	info, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		// bbolt grows the file before it commits pages into it, so pages
		// past its end mean it was cut short; reading them would fault.
		if tx.Size() > info.Size() {
			return fmt.Errorf("the file has %d bytes but its pages need %d: it was cut short", info.Size(), tx.Size())
		}
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if got := meta.Get(formatKey); string(got) != storeFormat {
				return fmt.Errorf("the file has format %q, not %q", got, storeFormat)
			}
		} else {
			var other []string
			_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				other = append(other, string(name))
				return nil
			})
			if len(other) > 0 {
				return fmt.Errorf("the file is a bbolt database of another program (buckets %q)", other)
			}
			meta, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			if err := meta.Put(formatKey, []byte(storeFormat)); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bucketCache, bucketState} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// moveAside renames a damaged file so that it can be examined, never
// deleting anything.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s-%d", base, i)
	}
	return aside, os.Rename(path, aside)
}

var errPanicked = errors.New("the cache file's content made bbolt fail")

// guarded runs fn, turning a panic, or a memory fault from reading a
// damaged memory-mapped page, into an error. bbolt trusts its file and
// panics (or faults) on inconsistent pages; a cache must not take the
// server down with it.
func guarded(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	return fn()
}

// do runs an operation on the file unless the store is broken or closed,
// and disables the store when the file turns out to be damaged.
func (s *store) do(op string, fn func() error) error {
	s.mu.Lock()
	usable := !s.broken && !s.closed
	s.mu.Unlock()
	if !usable {
		return errStoreOff
	}
	err := guarded(fn)
	if errors.Is(err, errPanicked) {
		s.mu.Lock()
		s.broken = true
		s.mu.Unlock()
		s.log.Warn("cache file failed; carrying on with the memory cache only until restart",
			"file", s.path, "operation", op, "error", err.Error())
	} else if err != nil {
		s.log.Warn("cache file operation failed", "file", s.path, "operation", op, "error", err.Error())
	}
	return err
}

var errStoreOff = errors.New("the cache file is closed or disabled")

// GetAnswer implements AnswerStore: the record stored under key, unless
// it has expired or cannot be read (left for the next sweep). Errors of the
// file are logged and make the answer missing: the cache is a saving, not
// a condition of answering.
func (s *store) GetAnswer(_ context.Context, key string) ([]byte, bool, error) {
	var rec []byte
	now := s.clock()
	_ = s.do("read", func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			data := tx.Bucket(bucketCache).Get([]byte(key))
			if data == nil {
				return nil
			}
			if e, err := decodeEntry(key, data); err == nil && now.Before(e.expires) {
				rec = bytes.Clone(data) // bbolt owns data only during the transaction
			}
			return nil
		})
	})
	return rec, rec != nil, nil
}

// PutAnswer implements AnswerStore. The file is swept when it is due or
// over its size bound; expires is also inside the record, where the sweep
// reads it.
func (s *store) PutAnswer(_ context.Context, key string, rec []byte, _ time.Time) error {
	now := s.clock()
	err := s.do("write", func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketCache)
			old := b.Get([]byte(key))
			if err := b.Put([]byte(key), rec); err != nil {
				return err
			}
			s.mu.Lock()
			if old != nil {
				s.bytes -= int64(len(key) + len(old))
			}
			s.bytes += int64(len(key) + len(rec))
			s.mu.Unlock()
			return nil
		})
	})
	if err != nil {
		return nil // logged by do; the memory cache still has the answer
	}
	s.mu.Lock()
	due := now.Sub(s.lastPurge) >= purgeInterval || s.bytes > s.maxBytes
	s.mu.Unlock()
	if due {
		_ = s.do("sweep", func() error {
			_, err := s.sweep(now)
			return err
		})
	}
	return nil
}

// sweep deletes expired records, records it cannot read and expired
// cooldowns, then the oldest records until the file's live records fit the
// byte bound. The file keeps no record of reads (that would be a write per
// cache hit), so it drops answers by age; the memory cache in front of it
// is the one that keeps what is used.
func (s *store) sweep(now time.Time) (int, error) {
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		type live struct {
			key       []byte
			fetchedAt time.Time
			size      int64
		}
		var drop [][]byte
		var keep []live
		var total int64
		c := tx.Bucket(bucketCache)
		err := c.ForEach(func(k, v []byte) error {
			e, err := decodeEntry(string(k), v)
			if err != nil || !now.Before(e.expires) {
				drop = append(drop, bytes.Clone(k))
				return nil
			}
			keep = append(keep, live{bytes.Clone(k), e.fetchedAt, e.size})
			total += e.size
			return nil
		})
		if err != nil {
			return err
		}
		if total > s.maxBytes {
			slices.SortFunc(keep, func(a, b live) int { return a.fetchedAt.Compare(b.fetchedAt) })
			for _, l := range keep {
				if total <= s.maxBytes {
					break
				}
				drop = append(drop, l.key)
				total -= l.size
			}
		}
		for _, k := range drop {
			if err := c.Delete(k); err != nil {
				return err
			}
		}
		removed = len(drop)

		st := tx.Bucket(bucketState)
		var expired [][]byte
		err = st.ForEach(func(k, v []byte) error {
			var until struct {
				Until time.Time `json:"until"`
			}
			if json.Unmarshal(v, &until) == nil && !until.Until.IsZero() && !now.Before(until.Until) {
				expired = append(expired, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := st.Delete(k); err != nil {
				return err
			}
		}
		s.mu.Lock()
		s.bytes, s.lastPurge = total, now
		s.mu.Unlock()
		return nil
	})
	return removed, err
}

// putState stores one piece of the guard's state as JSON.
func (s *store) putState(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Warn("cache file: state not saved", "name", name, "error", err.Error())
		return
	}
	_ = s.do("save state", func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketState).Put([]byte(name), data)
		})
	})
}

// eachState calls fn for every piece of stored state. fn must not keep
// data, which bbolt owns.
func (s *store) eachState(fn func(name string, data []byte)) {
	_ = s.do("load state", func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketState).ForEach(func(k, v []byte) error {
				fn(string(k), v)
				return nil
			})
		})
	})
}

// close closes the file; bbolt has committed every write already, so
// there is nothing to flush. A second call does nothing.
func (s *store) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	return guarded(s.db.Close)
}
