package guard

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/qcc-mcp/qcc-mcp/qcc"
	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

func TestRestartOnSameFileMakesNoCalls(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sub", "cache.db") // the directory is created
	e := newEnv(t, Config{CacheFile: file})
	first := e.mustSearch(company)
	none := e.mustSearch(noResult)
	detail, err := e.g.GetCertificationDetailByID(context.Background(), first.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	e.wantCalls(3)

	e.clock.Advance(time.Hour)
	e.restart()
	res := e.mustSearch(company)
	if res.Cache != CacheHit || !res.FetchedAt.Equal(first.FetchedAt) || len(res.Items) != len(first.Items) ||
		res.Items[0] != first.Items[0] || res.Paging != first.Paging || res.OrderNumber != first.OrderNumber {
		t.Errorf("after restart: %+v\nwant the first answer %+v", res, first)
	}
	if res := e.mustSearch(noResult); res.Cache != CacheHit || res.Status != 201 || res.Items == nil {
		t.Errorf("201 after restart: %+v, want %+v as a hit", res, none)
	}
	d, err := e.g.GetCertificationDetailByID(context.Background(), first.Items[0].ID)
	if err != nil || d.Cache != CacheHit || len(d.Fields) != len(detail.Fields) || d.Fields[3] != detail.Fields[3] {
		t.Errorf("detail after restart: %+v, %v", d, err)
	}
	e.wantCalls(0)
}

func TestFileSweep(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "cache.db")
	e := newEnv(t, Config{CacheFile: file, CacheTTL: time.Hour})
	e.mustSearch(company)
	e.clock.Advance(30 * time.Minute)
	e.mustSearch(company2)
	e.clock.Advance(31 * time.Minute) // company's answer has expired, company2's has not

	e.restart() // sweeps on open
	_, k1 := searchQuery(qcc.SearchParams{SearchKey: company})
	_, k2 := searchQuery(qcc.SearchParams{SearchKey: company2})
	if _, ok, _ := e.g.file.GetAnswer(context.Background(), k1); ok {
		t.Error("the expired answer is still in the file")
	}
	if _, ok, _ := e.g.file.GetAnswer(context.Background(), k2); !ok {
		t.Error("the fresh answer is gone from the file")
	}
	if res := e.mustSearch(company); res.Cache != CacheMiss {
		t.Errorf("expired: Cache = %q", res.Cache)
	}
	if res := e.mustSearch(company2); res.Cache != CacheHit {
		t.Errorf("fresh: Cache = %q", res.Cache)
	}
}

func TestFileBoundedByBytes(t *testing.T) {
	t.Parallel()
	page := func(i int) qcc.SearchParams { return qcc.SearchParams{SearchKey: company2, PageSize: 1, PageIndex: i} }
	probe := newEnv(t, Config{})
	var total int64
	for i := 1; i <= 3; i++ {
		if _, err := probe.g.SearchCertification(context.Background(), page(i)); err != nil {
			t.Fatal(err)
		}
	}
	_, total = probe.g.mem.stats()

	e := newEnv(t, Config{CacheFile: filepath.Join(t.TempDir(), "cache.db"), CacheMaxBytes: total - 1})
	for i := 1; i <= 3; i++ {
		if _, err := e.g.SearchCertification(context.Background(), page(i)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	if e.g.file.bytes > total-1 {
		t.Errorf("file holds %d bytes, bound %d", e.g.file.bytes, total-1)
	}
	e.restart()
	for i, want := range []CacheState{CacheMiss, CacheHit, CacheHit} {
		// The oldest answer went first.
		_, key := searchQuery(page(i + 1))
		if _, ok, _ := e.g.file.GetAnswer(context.Background(), key); ok != (want == CacheHit) {
			t.Errorf("page %d in the file: %v, want %v", i+1, ok, want == CacheHit)
		}
	}
}

// writeRealDB leaves a cache file with a few answers at path.
// writeFile writes data to path, readable by its owner only, as the guard
// writes its own files.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeRealDB(t *testing.T, path string) {
	t.Helper()
	e := newEnv(t, Config{CacheFile: path})
	for _, name := range companies {
		e.mustSearch(name)
	}
	if err := e.g.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedFileIsRebuilt(t *testing.T) {
	t.Parallel()
	// cut truncates a real file to size(n), where n is the size of the
	// pages in use: bbolt grows files ahead of use, so cutting unused
	// pages off the end damages nothing.
	cut := func(size func(int64) int64) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			writeRealDB(t, path)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			var used int64
			_ = db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, size(used)); err != nil {
				t.Fatal(err)
			}
		}
	}
	const page = 4096
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"cut to 100 bytes", cut(func(int64) int64 { return 100 })},
		{"cut inside the second meta page", cut(func(int64) int64 { return page + 100 })},
		{"cut after the meta pages", cut(func(int64) int64 { return 2*page + 100 })},
		{"cut in half", cut(func(n int64) int64 { return n / 2 })},
		{"last page in use cut", cut(func(n int64) int64 { return n - page })},
		{"last page in use cut short", cut(func(n int64) int64 { return n - 100 })},
		{"meta pages zeroed", func(t *testing.T, path string) {
			writeRealDB(t, path)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(make([]byte, 2*page), 0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "cache.db")
			tt.damage(t, path)
			damaged, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			e := newEnv(t, Config{CacheFile: path})
			if !strings.Contains(e.logs.String(), "level=WARN") || !strings.Contains(e.logs.String(), "moved it aside") {
				t.Errorf("no warning logged:\n%s", e.logs)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("moved-aside files %v, want one", aside)
			}
			if kept, err := os.ReadFile(aside[0]); err != nil || string(kept) != string(damaged) {
				t.Errorf("the damaged file was not kept as it was (%v)", err)
			}
			// The new file works and persists.
			e.mustSearch(company)
			e.restart()
			if res := e.mustSearch(company); res.Cache != CacheHit {
				t.Errorf("after rebuilding: Cache = %q, want hit", res.Cache)
			}
			e.wantCalls(0)
		})
	}

	t.Run("empty file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "cache.db")
		writeFile(t, path, nil)
		e := newEnv(t, Config{CacheFile: path})
		e.mustSearch(company)
		if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
			t.Errorf("an empty file was moved aside: %v", aside)
		}
	})
}

func TestFileInUse(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.db")
	e := newEnv(t, Config{CacheFile: path})
	e.mustSearch(company)

	cfg := testConfig(Config{CacheFile: path, CacheFileTimeout: 50 * time.Millisecond, Now: e.clock.Now})
	g2, err := New(e.client, cfg)
	if err == nil {
		g2.Close()
		t.Fatal("a second Guard opened a file in use")
	}
	if want := "cache file " + path + " is in use by another qcc-mcp process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
		t.Errorf("a locked file was moved aside: %v", aside)
	}

	e.restart() // once the first one closes, the file opens again, intact
	if res := e.mustSearch(company); res.Cache != CacheHit {
		t.Errorf("Cache = %q, want hit", res.Cache)
	}
}

func TestFileCannotBeOpened(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := New(newEnv(t, Config{}).client, testConfig(Config{CacheFile: dir}))
	if err == nil || !strings.Contains(err.Error(), "cannot be opened") {
		t.Fatalf("a directory as cache file: %v", err)
	}
	if aside, _ := filepath.Glob(dir + ".corrupt-*"); len(aside) != 0 {
		t.Errorf("moved aside: %v", aside)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   Config
		setup func(e *env)
		check func(t *testing.T, err error)
	}{
		{"budget", Config{MaxCallsPerDay: 2}, func(e *env) {
			e.mustSearch(company)
			e.mustSearch(company2)
		}, func(t *testing.T, err error) {
			wantLocal(t, err, 0, qcc.KindLocalLimit, "daily budget of 2")
		}},
		{"query cooldown", Config{}, func(e *env) {
			e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 110})
			_, _ = e.search(company3)
		}, func(t *testing.T, err error) {
			wantLocal(t, err, 110, qcc.KindThrottled, "not sent again until 2026-11-27T12:00:00+08:00")
		}},
		{"quota cooldown", Config{}, func(e *env) {
			e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 116})
			_, _ = e.search(company2)
		}, func(t *testing.T, err error) {
			wantLocal(t, err, 116, qcc.KindQuotaExhausted, "00:00 Beijing")
		}},
		{"credential cooldown", Config{CredentialCooldown: time.Hour}, func(e *env) {
			e.sb.FailNext(qcc.MethodSearch, 1, sandbox.Fault{QCCStatus: 102})
			_, _ = e.search(company2)
		}, func(t *testing.T, err error) {
			wantLocal(t, err, 102, qcc.KindBilling, "paused until 2026-11-27T11:00:00+08:00")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.CacheFile = filepath.Join(t.TempDir(), "cache.db")
			e := newEnv(t, cfg)
			tt.setup(e)
			e.restart()
			_, err := e.search(company3)
			tt.check(t, err)
			e.wantCalls(0)
		})
	}

	// Without a file, a restart forgets.
	e := newEnv(t, Config{MaxCallsPerDay: 1})
	e.mustSearch(company)
	e.g = e.open()
	e.mustSearch(company2)
}

func TestCloseTwiceAndAfterClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{CacheFile: filepath.Join(t.TempDir(), "cache.db")})
	e.mustSearch(company)
	for range 2 {
		if err := e.g.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Still answers, from memory and upstream.
	if res := e.mustSearch(company); res.Cache != CacheHit {
		t.Errorf("Cache = %q", res.Cache)
	}
	e.mustSearch(company2)
	e.wantCalls(2)
}
