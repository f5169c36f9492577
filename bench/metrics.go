package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
)

// metricKeys select the samples of the server's /metrics worth reporting:
// sessions and calls in flight, whatever their exact names, and the
// requests sent to QCC.
var metricKeys = []string{"session", "in_flight", "upstream_calls_total"}

// scrapeMetrics returns the samples of base+"/metrics" whose names contain
// one of metricKeys, or nil when the server serves no such page.
func scrapeMetrics(ctx context.Context, hc *http.Client, base string) map[string]float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if !containsAny(name, metricKeys) {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[name] = v
		}
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
