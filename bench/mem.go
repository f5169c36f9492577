package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// procStatus is what /proc/PID/status and /proc/PID/fd say about a process.
type procStatus struct {
	RSS  int64 // VmRSS, bytes
	HWM  int64 // VmHWM (peak RSS since start), bytes
	Anon int64 // RssAnon: the resident anonymous pages (heap, stacks), bytes
	File int64 // RssFile: the resident file-backed pages (the binary, libraries), bytes
	FDs  int   // open file descriptors, -1 if unknown
}

// readProc reads pid's memory figures and descriptor count.
func readProc(pid int) (procStatus, error) {
	st, err := readStatus(pid)
	if err != nil {
		return st, err
	}
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		st.FDs = len(fds)
	}
	return st, nil
}

// readStatus reads pid's memory figures from /proc/PID/status alone,
// cheap enough to sample every few milliseconds; FDs is -1.
func readStatus(pid int) (procStatus, error) {
	st := procStatus{FDs: -1}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		fields := bytes.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(string(fields[0]), 10, 64)
		switch string(key) {
		case "VmRSS":
			st.RSS = n << 10
		case "VmHWM":
			st.HWM = n << 10
		case "RssAnon":
			st.Anon = n << 10
		case "RssFile":
			st.File = n << 10
		}
	}
	return st, nil
}

// sampler reads a process's RSS and descriptors every interval and keeps
// the maxima over the whole run and over the current window.
type sampler struct {
	pid int

	mu      sync.Mutex
	last    procStatus
	peakRSS int64
	winRSS  int64
	winFDs  int
}

// newSampler starts sampling pid until ctx ends.
func newSampler(ctx context.Context, pid int, every time.Duration) *sampler {
	s := &sampler{pid: pid}
	s.sample()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *sampler) sample() procStatus {
	st, err := readProc(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil { // the process has gone: keep the last figures
		return s.last
	}
	s.last = st
	s.peakRSS = max(s.peakRSS, st.RSS)
	s.winRSS = max(s.winRSS, st.RSS)
	s.winFDs = max(s.winFDs, st.FDs)
	return st
}

// now takes a fresh sample.
func (s *sampler) now() procStatus { return s.sample() }

// resetWindow starts a new window and returns the previous one's maxima.
func (s *sampler) resetWindow() (rss int64, fds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rss, fds = s.winRSS, s.winFDs
	s.winRSS, s.winFDs = s.last.RSS, s.last.FDs
	return rss, fds
}

// window returns the current window's maxima.
func (s *sampler) window() (rss int64, fds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.winRSS, s.winFDs
}

// peak returns the highest RSS sampled so far.
func (s *sampler) peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakRSS
}

// settled samples every 100 ms for d and returns the median RSS and the
// last descriptor count: a steady figure rather than one moment's.
func (s *sampler) settled(ctx context.Context, d time.Duration) (rss int64, fds int, err error) {
	var rs []int64
	var st procStatus
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-t.C:
		}
		st = s.sample()
		rs = append(rs, st.RSS)
	}
	if len(rs) == 0 {
		st = s.sample()
		rs = append(rs, st.RSS)
	}
	return median(rs), st.FDs, nil
}

func median(xs []int64) int64 {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	return ys[len(ys)/2]
}

// mib formats bytes as MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
