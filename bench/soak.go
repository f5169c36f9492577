package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// SoakResult is what the soak phase measured.
type SoakResult struct {
	Protocol     string         `json:"protocol"`
	Abandoned    int            `json:"abandoned_sessions"`
	Closed       int            `json:"closed_sessions"`
	Errors       int            `json:"errors"`
	ErrorKinds   map[string]int `json:"error_kinds,omitempty"`
	ErrorSamples []string       `json:"error_samples,omitempty"`
	OpenSeconds  float64        `json:"open_seconds"`
	WaitSeconds  float64        `json:"wait_seconds"`
	BaselineRSS  int64          `json:"baseline_rss_bytes"`
	PeakRSS      int64          `json:"peak_rss_bytes"`
	FinalRSS     int64          `json:"final_rss_bytes"`
	ToleranceRSS int64          `json:"tolerance_bytes"`
	Completed    bool           `json:"completed"` // false: the soak was cut short and its figures are partial
	Returned     bool           `json:"returned_to_baseline"`
	// Conclusive is set when the soak raised the RSS by more than the
	// tolerance, so that Returned tells a release from no growth.
	Conclusive    bool           `json:"conclusive"`
	BaselineFDs   int            `json:"baseline_fds"`
	PeakFDs       int            `json:"peak_fds"`
	FinalFDs      int            `json:"final_fds"`
	ProbeStatuses map[string]int `json:"expired_session_probe,omitempty"`
	NudgeRounds   int            `json:"final_nudge_rounds"`
	NudgeCalls    int            `json:"nudge_calls"`
}

// runSoak measures the server's settled RSS (the baseline), opens
// cfg.soakSessions sessions that initialize and are then abandoned (no
// DELETE; their connections are closed) and half as many that initialize,
// call once and close (DELETE), waits for the idle TTL sweep to forget the
// abandoned ones, and measures the settled RSS again.
//
// hc is the clients' HTTP client, plain an uncounted one for the probe;
// metrics records the server's metrics at a named point.
func runSoak(ctx context.Context, cfg *config, url string, hc, plain *http.Client, idle func(), smp *sampler, counts *httpCounts, metrics func(string)) (*SoakResult, error) {
	r := &SoakResult{Protocol: cfg.soakProtocol(), Abandoned: cfg.soakSessions, Closed: cfg.soakSessions / 2}
	var errs errorLog
	defer func() {
		rss, fds := smp.window()
		r.PeakRSS, r.PeakFDs = max(r.PeakRSS, rss), max(r.PeakFDs, fds)
		r.Errors, r.ErrorKinds, r.ErrorSamples = errs.total, errs.kinds, errs.samples
	}()

	settle := func(calls int) (int64, int, error) {
		if err := nudge(ctx, cfg, url, hc, calls); err != nil {
			errs.add("nudge", err.Error())
		}
		r.NudgeCalls += calls
		idle()
		if err := sleep(ctx, time.Second); err != nil {
			return 0, 0, err
		}
		return smp.settled(ctx, 2*time.Second)
	}
	var err error
	if r.BaselineRSS, r.BaselineFDs, err = settle(cfg.nudgeCalls); err != nil {
		return r, err
	}
	smp.resetWindow()

	// Abandoned sessions get their own connection pool, closed once they
	// are all open: the server sees the connections go, never a DELETE.
	ahc, atr := newHTTPClient(cfg.soakConcurrency, cfg.token, counts, cfg.callTimeout)
	protocol := cfg.soakProtocol()
	var mu sync.Mutex
	var abandonedIDs []string
	t0 := time.Now()
	parallel(ctx, cfg.soakSessions, cfg.soakConcurrency, func() {
		c, err := connect(ctx, url, ahc, protocol)
		if err != nil {
			errs.add("abandoned: initialize", err.Error())
			return
		}
		if id := c.GetSessionId(); id != "" {
			mu.Lock()
			abandonedIDs = append(abandonedIDs, id)
			mu.Unlock()
		}
		// c is dropped without Close: the session is abandoned.
	})
	atr.CloseIdleConnections()
	parallel(ctx, r.Closed, cfg.soakConcurrency, func() {
		c, err := connect(ctx, url, hc, protocol)
		if err != nil {
			errs.add("closed: initialize", err.Error())
			return
		}
		defer c.Close()
		if kind, msg := callOnce(ctx, c, callMix[0], cfg.callTimeout); kind != "" {
			errs.add("closed: "+kind, msg)
		}
	})
	r.OpenSeconds = time.Since(t0).Seconds()
	if len(abandonedIDs) == 0 && cfg.soakSessions > 0 && errs.total == 0 {
		errs.add("abandoned: no session", "the server gave no Mcp-Session-Id at protocol "+protocol)
	}
	idle()
	metrics("2 soak sessions open")

	// The sweeper runs every max(TTL/2, 1s) and forgets sessions idle
	// longer than TTL.
	wait := cfg.soakWait
	if wait <= 0 {
		wait = 2*cfg.sessionTTL + max(cfg.sessionTTL/2, time.Second) + time.Second
	}
	r.WaitSeconds = wait.Seconds()
	fmt.Fprintf(stderrLog, "bench: soak: %d abandoned + %d closed sessions open; waiting %s for the idle sweep\n", len(abandonedIDs), r.Closed, wait)
	if err := sleep(ctx, wait); err != nil {
		return r, err
	}
	r.PeakRSS, r.PeakFDs = smp.window()
	r.ProbeStatuses = probeSessions(ctx, url, plain, protocol, abandonedIDs, 10)
	// The server's heap target was set while the sessions were alive, so
	// its garbage collector may not run again (and RSS stay up) until the
	// runtime forces a collection two minutes later. Until the RSS is back
	// or -nudge-time is up, nudge again with twice as many calls: garbage
	// goes at the next collection, whereas memory still referenced stays
	// however many collections run.
	r.ToleranceRSS = max(int64(float64(r.BaselineRSS)*cfg.memTolPct/100), int64(cfg.memTolMiB*(1<<20)))
	deadline := time.Now().Add(cfg.nudgeTime)
	for calls := cfg.nudgeCalls; ; calls = min(2*calls, 20000) {
		r.NudgeRounds++
		if r.FinalRSS, r.FinalFDs, err = settle(calls); err != nil {
			return r, err
		}
		if r.FinalRSS <= r.BaselineRSS+r.ToleranceRSS || time.Now().After(deadline) || cfg.nudgeCalls <= 0 {
			break
		}
	}
	metrics("3 soak final")

	r.Returned = r.FinalRSS <= r.BaselineRSS+r.ToleranceRSS
	rss, _ := smp.window()
	r.Conclusive = max(r.PeakRSS, rss) > r.BaselineRSS+r.ToleranceRSS
	r.Completed = true
	return r, nil
}

// probeSessions sends a ping on up to n expired session IDs and on one made
// up, and counts the HTTP statuses: 404 means the server has forgotten the
// ID; 200 that it takes any well-formed ID (mcp-go's default session
// manager does not track sessions).
func probeSessions(ctx context.Context, url string, hc *http.Client, protocol string, ids []string, n int) map[string]int {
	out := map[string]int{}
	ids = append(ids[:min(n, len(ids)):min(n, len(ids))], madeUpSessionID())
	for i, id := range ids {
		label := "expired"
		if i == len(ids)-1 {
			label = "made-up"
		}
		body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i+1))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			out[label+" error"]++
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", id)
		req.Header.Set("Mcp-Protocol-Version", protocol)
		res, err := hc.Do(req)
		if err != nil {
			out[label+" error"]++
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		out[fmt.Sprintf("%s %d", label, res.StatusCode)]++
	}
	return out
}

// madeUpSessionID returns a well-formed session ID the server never issued.
func madeUpSessionID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("mcp-session-%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// parallel runs f n times, at most width at a time, and stops starting new
// ones when ctx ends.
func parallel(ctx context.Context, n, width int, f func()) {
	sem := make(chan struct{}, max(1, width))
	var wg sync.WaitGroup
	for range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			f()
		})
	}
	wg.Wait()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// The soak's sessions need a protocol version with sessions.
func (cfg *config) soakProtocol() string {
	if mcp.IsModernProtocol(cfg.protocol) {
		return mcp.LATEST_LEGACY_PROTOCOL_VERSION
	}
	return cfg.protocol
}
