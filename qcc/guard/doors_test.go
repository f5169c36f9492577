package guard

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/qcc-mcp/qcc-mcp/internal/testkit"
	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// openErr opens a Guard on path and returns New's error (nil: it opened,
// and is closed at the end of the test).
func openErr(t *testing.T, path string) error {
	t.Helper()
	e := newEnv(t, Config{})
	g, err := New(e.client, testConfig(Config{CacheFile: path}))
	if err == nil {
		t.Cleanup(func() { g.Close() })
	}
	return err
}

// noneBeside fails when anything but the named files is in dir: nothing
// was moved aside or created next to a refused file.
func noneBeside(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("files in the directory: %v, want only %v", got, names)
	}
}

// A file that is not recognisably our cache is refused with an error that
// says so, and left byte for byte as it was, with nothing beside it.
func TestForeignCacheFileIsRefused(t *testing.T) {
	t.Parallel()
	system, err := os.ReadFile("/etc/passwd")
	if err != nil {
		system = []byte("root:x:0:0:root:/root:/bin/sh\n") // the same kind of content
	}
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
	}{
		{"a copy of a system file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, system, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage", func(t *testing.T, path string) {
			writeFile(t, path, []byte(strings.Repeat("not a bbolt file, just garbage\n", 1000)))
		}},
		{"a few bytes", func(t *testing.T, path string) {
			writeFile(t, path, []byte("qcc"))
		}},
		{"another program's database", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("someone else's"))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "cache.db")
			tt.write(t, path)
			before, _ := os.ReadFile(path)
			err := openErr(t, path)
			if err == nil || !strings.Contains(err.Error(), "is not a qcc-mcp cache file") || !strings.Contains(err.Error(), "left untouched") {
				t.Fatalf("New: %v, want a refusal", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("the file was changed")
			}
			noneBeside(t, dir, "cache.db")
		})
	}
}

// Neither the cache file nor the state file is written through a
// symbolic link: the link is refused and its target left alone.
func TestCacheFileSymlinkIsRefused(t *testing.T) {
	t.Parallel()
	for _, link := range []string{"cache.db", "cache.db.state"} {
		t.Run(link, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "target")
			writeFile(t, target, []byte("someone's data\n"))
			if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
				t.Fatal(err)
			}
			err := openErr(t, filepath.Join(dir, "cache.db"))
			if err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
				t.Fatalf("New: %v, want a refusal of the link", err)
			}
			if got, _ := os.ReadFile(target); string(got) != "someone's data\n" {
				t.Errorf("the link's target was written: %q", got)
			}
			if l, err := os.Lstat(filepath.Join(dir, link)); err != nil || l.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link was moved or replaced (%v)", err)
			}
		})
	}
	// A dangling link: nothing is created at its target either.
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.db")
	if err := os.Symlink(target, filepath.Join(dir, "cache.db")); err != nil {
		t.Fatal(err)
	}
	if err := openErr(t, filepath.Join(dir, "cache.db")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("New on a dangling link: %v", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("a file was created at the link's target (%v)", err)
	}
}

// damage cuts the cache file at path to n bytes: what a full disk, a bad
// copy or a stray truncate leaves.
func damage(t *testing.T, path string, n int64) {
	t.Helper()
	if err := os.Truncate(path, n); err != nil {
		t.Fatal(err)
	}
}

// A cache file damaged while the server runs: calls go on from memory, the
// store fails once, is reported and set aside, and Close returns at once
// (bbolt's Close would wait forever for locks a fault left held), releasing
// the file's lock so that a restart opens it again. Nothing of the budget
// is lost on the way.
func TestFileDamagedAtRunTime(t *testing.T) {
	t.Parallel()
	for _, size := range []int64{0, 100} {
		t.Run(fmt.Sprintf("cut to %d bytes", size), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "cache.db")
			e := newEnv(t, Config{CacheFile: path, MaxCallsPerDay: 3})
			e.mustSearch(company)
			damage(t, path, size)
			e.mustSearch(company2) // answered; the file's failure is logged
			if !strings.Contains(e.logs.String(), "cache file failed") {
				t.Errorf("the store's failure was not reported:\n%s", e.logs)
			}
			closed := make(chan error, 1)
			go func() { closed <- e.g.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-time.After(time.Second):
				t.Fatal("Close did not return within a second of a damaged file")
			}
			// The restart opens the file again: the lock was released.
			e.sb = sandbox.New(sandbox.Config{Now: e.clock.Now})
			e.client = testkit.Client(t, e.sb, e.clock.Now, nil)
			e.g = e.open()
			e.mustSearch(company3) // the third call of the day
			_, err := e.search("第四家公司有限公司")
			wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 3")
			e.wantCalls(1)
		})
	}
}

// With --max-calls-per-day 5: 5 calls, the cache file damaged, a restart:
// no further call reaches QCC that day, and a cooldown holds too.
func TestDamagedCacheKeepsBudgetAndCooldowns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.db")
	e := newEnv(t, Config{CacheFile: path, MaxCallsPerDay: 5, CredentialCooldown: time.Hour})
	for _, name := range companies[:4] {
		e.mustSearch(name)
	}
	e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 102})
	_, _ = e.search(companies[4]) // the fifth, refused: an hour's cooldown
	e.wantCalls(5)
	if err := e.g.Close(); err != nil {
		t.Fatal(err)
	}
	for i, size := range []int64{100, 0} {
		damage(t, path, size)
		e.sb = sandbox.New(sandbox.Config{Now: e.clock.Now})
		e.client = testkit.Client(t, e.sb, e.clock.Now, nil)
		e.g = e.open()
		if i == 0 {
			_, err := e.search(companies[5])
			wantLocal(t, err, 102, qcc.KindBilling, "paused until")
			e.clock.Advance(2 * time.Hour) // past the cooldown, the same Beijing day
		}
		for _, name := range []string{"甲公司有限公司", "乙公司有限公司", "丙公司有限公司"} { // the "3 more calls"
			_, err := e.search(name)
			wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 5")
		}
		e.wantCalls(0)
		if err := e.g.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// The state file damaged too, or lost with the cache: the day's budget
// counts as spent, with a warning, rather than start again from zero; the
// next Beijing day starts afresh. The state file damaged alone is
// recovered from the cache file's copy.
func TestStateLostEverywhereCountsTodayAsSpent(t *testing.T) {
	t.Parallel()
	t.Run("both damaged", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "cache.db")
		e := newEnv(t, Config{CacheFile: path, MaxCallsPerDay: 5})
		e.mustSearch(company)
		e.g.Close()
		damage(t, path, 100)
		writeFile(t, stateFilePath(path), []byte(`{"format":"qcc-mcp st`))
		e.restart()
		_, err := e.search(company2)
		wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 5")
		if !strings.Contains(e.logs.String(), "today's budget is treated as used up") {
			t.Errorf("no warning:\n%s", e.logs)
		}
		if aside, _ := filepath.Glob(stateFilePath(path) + ".corrupt-*"); len(aside) != 1 {
			t.Errorf("the damaged state file was not moved aside: %v", aside)
		}
		e.clock.Advance(24 * time.Hour)
		e.mustSearch(company2)
		e.wantCalls(1)
	})
	t.Run("state file damaged alone", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "cache.db")
		e := newEnv(t, Config{CacheFile: path, MaxCallsPerDay: 2})
		e.mustSearch(company)
		e.g.Close()
		writeFile(t, stateFilePath(path), []byte(`{"format": "qcc-mcp state 1", "bud`))
		e.restart()
		e.mustSearch(company2)
		_, err := e.search(company3)
		wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 2")
		if !strings.Contains(e.logs.String(), "recovered the budget and cooldowns from the cache file") {
			t.Errorf("no warning:\n%s", e.logs)
		}
	})
}
