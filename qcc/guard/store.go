package guard

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

const storeFormat = formatMarker + "1"

// formatMarker starts every format value this program has written: a
// damaged file that still holds it somewhere is recognisably ours.
const formatMarker = "qcc-mcp guard "

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
	file     *os.File // bbolt's, closed directly when bbolt cannot close
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
	// closeWait bounds how long close waits for bbolt.
	closeWait time.Duration
	// existed is set when the file was there before openStore, rebuilt
	// when it was damaged and replaced by an empty one: the state kept
	// in it was then lost.
	existed, rebuilt bool
}

// corruptError marks a file that must be moved aside and rebuilt.
type corruptError struct{ err error }

func (e *corruptError) Error() string { return e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

// openStore opens or creates the cache file at path. A file that is
// recognisably this program's cache file but damaged (cut short, pages
// garbled, of an older format) is renamed to path.corrupt-TIME with a
// warning and replaced by an empty one: losing a cache costs money,
// refusing to start costs more. Anything else is refused and left as it
// is: a file that is not ours (a copy of a system file, another program's
// database), a symbolic link (never written through), a file locked by
// another process (after timeout), a file that cannot be opened at all.
func openStore(path string, timeout time.Duration, maxBytes int64, clock func() time.Time, log *slog.Logger) (*store, error) {
	now := clock()
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("cache file %s: %w", path, err)
		}
	}
	existed, err := checkPlainFile(path, "cache file")
	if err != nil {
		return nil, err
	}
	if existed {
		if err := checkOurs(path, timeout); err != nil {
			return nil, err
		}
	}
	s, err := tryOpenStore(path, timeout, maxBytes, clock, log)
	var corrupt *corruptError
	if !errors.As(err, &corrupt) {
		if s != nil {
			s.existed = existed
		}
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
	s.existed, s.rebuilt = true, true
	return s, nil
}

// checkPlainFile refuses a path that is a symbolic link or a special file,
// and reports whether a file is there. Opening with noFollow then closes
// the gap between this check and the open.
func checkPlainFile(path, what string) (existed bool, err error) {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s %s cannot be opened: %w", what, path, err)
	case info.Mode()&os.ModeSymlink != 0:
		return false, fmt.Errorf("%s %s is a symbolic link; qcc-mcp does not write through links: give the path of a file of its own", what, path)
	case info.IsDir():
		return false, fmt.Errorf("%s %s cannot be opened: it is a directory", what, path)
	case !info.Mode().IsRegular():
		return false, fmt.Errorf("%s %s is not a regular file (%s); give the path of a file of its own", what, path, info.Mode().Type())
	}
	return true, nil
}

// notOursError is a cache file that holds something other than a cache
// of this program, which must be left exactly as it is.
func notOursError(path, what string) error {
	return fmt.Errorf("cache file %s is not a qcc-mcp cache file (%s); it was left untouched: "+
		"give --cache-file a path of its own, or move that file away if it is really a damaged cache file", path, what)
}

// checkOurs refuses an existing file that is not recognisably this
// program's cache file, before anything is written to it: an empty file,
// a file with the format marker anywhere (pages may be garbled, the marker
// survives), or a bbolt file (a cache cut short keeps its first page)
// that does not turn out to be another program's database.
func checkOurs(path string, timeout time.Duration) error {
	marker, magic, size, err := inspect(path)
	switch {
	case err != nil:
		return fmt.Errorf("cache file %s cannot be opened: %w", path, err)
	case size == 0 || marker:
		return nil
	case !magic:
		return notOursError(path, "neither a bbolt database nor one of its pieces")
	}
	// A bbolt file without our marker: another program's database, or ours
	// cut before the page that holds the marker. Look without writing.
	var buckets []string
	err = guarded(func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				return os.OpenFile(name, flag|noFollow, perm)
			}})
		if err != nil {
			return err
		}
		defer db.Close()
		return db.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				buckets = append(buckets, string(name))
				return nil
			})
		})
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("cache file %s is in use by another qcc-mcp process (its lock was not released within %s); give each process its own cache file", path, timeout)
	}
	if err == nil && len(buckets) > 0 {
		return notOursError(path, fmt.Sprintf("a bbolt database of another program, with buckets %q", buckets))
	}
	return nil // damaged (moved aside later) or a bbolt file with nothing in it
}

// inspect reads the whole file once: whether it holds the format marker,
// whether one of its first two pages starts like a bbolt meta page, and its
// size.
func inspect(path string) (marker, magic bool, size int64, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return false, false, 0, err
	}
	defer f.Close()
	want := []byte(formatMarker)
	buf := make([]byte, 64<<10)
	var carry []byte
	first := true
	for {
		n, rerr := f.Read(buf)
		chunk := append(carry, buf[:n]...)
		if first && n > 0 {
			magic = hasBoltMagic(chunk)
			first = false
		}
		size += int64(n)
		if bytes.Contains(chunk, want) {
			return true, magic, size, nil
		}
		if len(chunk) >= len(want) {
			carry = append(carry[:0:0], chunk[len(chunk)-len(want)+1:]...)
		} else {
			carry = chunk
		}
		if rerr == io.EOF {
			return false, magic, size, nil
		}
		if rerr != nil {
			return false, false, size, rerr
		}
	}
}

// boltMagic is the number at the start of a bbolt meta page, after the
// 16-byte page header; the second meta page follows the first after one
// page (4 KiB on the systems this runs on; the first page says otherwise).
const boltMagic = 0xED0CDAED

func hasBoltMagic(head []byte) bool {
	at := func(off int) bool {
		if len(head) < off+4 {
			return false
		}
		b := head[off : off+4]
		return binary.LittleEndian.Uint32(b) == boltMagic || binary.BigEndian.Uint32(b) == boltMagic
	}
	return at(16) || at(4096+16)
}

func tryOpenStore(path string, timeout time.Duration, maxBytes int64, clock func() time.Time, log *slog.Logger) (*store, error) {
	// Errors from opening the file itself are the operator's to fix;
	// bbolt does not tell them from its own, so catch them on the way.
	// The file is kept too: closing it releases the lock even when bbolt
	// cannot close (see close).
	var openErr error
	var file *os.File
	opts := &bolt.Options{
		Timeout: timeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag|noFollow, perm)
			openErr, file = err, f
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
		if file != nil && errors.Is(err, errPanicked) {
			_ = unlock(file) // bbolt may not have, after a panic
			_ = file.Close()
		}
		return nil, &corruptError{err}
	default:
		return nil, fmt.Errorf("cache file %s: %w", path, err)
	}
	s := &store{db: db, file: file, path: path, log: log, maxBytes: maxBytes, clock: clock, closeWait: timeout}
	err = guarded(func() error {
		if err := s.prepare(); err != nil {
			return err
		}
		// A sweep reads every record, so it finds damaged pages now rather
		// than in the middle of a call.
		_, err := s.sweep(clock())
		return err
	})
	if err == nil {
		return s, nil
	}
	// Not yet in use: close it without the warning of a run-time failure.
	s.closed = true
	if errors.Is(err, errPanicked) {
		_ = unlock(file)
		_ = file.Close()
	} else {
		_ = guarded(db.Close)
	}
	var foreign *foreignError
	if errors.As(err, &foreign) {
		return nil, notOursError(path, foreign.what)
	}
	return nil, &corruptError{err}
}

// foreignError is a sound bbolt database that belongs to another program.
type foreignError struct{ what string }

func (e *foreignError) Error() string { return e.what }

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
				return &foreignError{fmt.Sprintf("a bbolt database of another program, with buckets %q", other)}
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
//
// A store that failed at run time is not handed to bbolt's Close: after a
// fault inside a transaction bbolt may still hold its own locks and would
// wait for them forever. Its file is closed directly instead, which
// releases the file lock (the memory map is left to the process's exit).
// A sound store gets closeWait for bbolt's Close, then the same treatment.
func (s *store) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	broken := s.broken
	s.mu.Unlock()
	if broken {
		return s.abandon("it failed earlier")
	}
	done := make(chan error, 1)
	go func() { done <- guarded(s.db.Close) }()
	wait := s.closeWait
	if wait <= 0 {
		wait = DefaultCacheFileTimeout
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return s.abandon(fmt.Sprintf("bbolt did not close it within %s", wait))
	}
}

// abandon unlocks and closes the file under bbolt.
func (s *store) abandon(why string) error {
	s.log.Warn("cache file closed without bbolt; its lock is released and the next start checks it",
		"file", s.path, "reason", why)
	if s.file == nil {
		return nil
	}
	_ = unlock(s.file)
	if err := s.file.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("cache file %s: %w", s.path, err)
	}
	return nil
}
