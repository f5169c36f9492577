// Command bench is the load and soak test of qcc-mcp over streamable HTTP.
//
//	go run ./bench                                          # full size: 200 clients × 50 calls, 500+250 soak sessions
//	go run ./bench -clients 20 -calls 10 -soak-sessions 50  # CI size: well under a minute on 2 cores
//	go run ./bench -server ./qcc-mcp -json -check-memory    # a prebuilt binary; JSON report; fail if memory stays up
//
// Unless -server names a binary, bench builds the server with `go build`
// in the module root (the directory of go.mod, found with `go env GOMOD`;
// run it from the repository). It starts the server as
//
//	qcc-mcp --demo --transport http --addr 127.0.0.1:0 --session-idle-ttl 3s --log-level info
//
// adding `--rate 0` when the server's --help lists it (if the server then
// refuses to start, it is started again without it; -auto-flags=false
// leaves it out), and any
// -server-arg. It reads the listen address from the start-up log line
// (addr=127.0.0.1:PORT; with a -server-log-level above info, which hides
// that line, it picks a free port beforehand) and waits for GET /healthz.
// The server's stderr is kept only as a bounded tail; its warning and error
// lines are counted and the first few reported. The server runs with
// GODEBUG=madvdontneed=1, so that the pages its runtime releases leave its
// RSS at once. At the end it gets SIGTERM (SIGKILL 20 s later) and its exit
// status is reported.
//
// # Load
//
// -clients mcp-go clients (transport.NewStreamableHTTP and client.NewClient
// on one shared http.Transport) each initialize a session at -protocol, then
// all start together and make -calls tools/call each, one after another,
// and finally close their session (DELETE). The calls cycle through
// search_certifications for every demo company (the largest one on pages 1
// to 3, and 北京星河启明商贸有限公司, which has no certificates and answers an
// empty list) and get_certification_detail for three certificates. A call
// fails on a Go error, an isError result or a result without
// structuredContent. Reported: calls, errors, elapsed time, calls per
// second, latency p50/p90/p99/max, and the server's peak RSS: VmRSS from
// /proc/PID/status sampled every 100 ms, and VmHWM.
//
// # Soak
//
// After the load, the server's RSS is measured settled: -nudge-calls calls
// on one session make the server allocate, so its garbage collector runs,
// and after a pause the median of 2 s of samples is the baseline. Then
// -soak-sessions sessions initialize and are abandoned (no DELETE; their
// connections are closed) and half as many initialize, call once and close.
// After twice the idle TTL plus one sweep interval and a second
// (-soak-wait), when the server's sweeper has forgotten the abandoned
// sessions, the RSS is measured settled again. The server's heap target was
// set while those sessions were alive, so without more allocation its
// collector would not run again until the runtime forces it, two minutes
// later: the final reading therefore nudges again with twice as many calls
// each round, for at most -nudge-time, until the RSS is back. Garbage goes
// at the next collection; memory still referenced (a leak) stays however
// many run. Memory has returned to its baseline when the final RSS is at
// most the baseline plus the larger of -mem-tolerance-pct and
// -mem-tolerance-mib; the verdict is conclusive only when the soak raised
// the RSS by more than that. Open file descriptors, and the session gauges
// of the server's /metrics if it serves one, are reported alongside. A ping
// on a few expired session IDs and on a made-up one shows whether the
// server still accepts them.
//
// Sessions exist only before protocol version 2026-07-28: with -protocol
// 2026-07-28 the load runs stateless and the soak uses 2025-11-25.
//
// # Replicas
//
// -replicas N starts N servers; with -redis-url they share that Redis
// (each gets --redis-url and --replicas-hint N), without it each keeps its
// own state, which shows what sharing saves. The load's clients are spread
// over the replicas (client i on replica i mod N, its session there); the
// soak and the memory figures concern the first replica. Reported beside
// the load: the requests each replica sent to QCC (the demo sandbox), from
// qcc_mcp_upstream_calls_total, and their sum. The Redis must be on a
// loopback address.
//
// # Authentication
//
// The bearer token is MCP_AUTH_TOKEN from the environment or, when that is
// empty, a random one. It is passed to the server in MCP_AUTH_TOKEN and sent
// by every client request, including the closing DELETE, as
// "Authorization: Bearer …"; a server without auth ignores it. The token is
// never printed.
//
// # Limits and exit status
//
// Everything is bounded: the clients, the calls, the sessions, each call
// (-call-timeout) and the whole run (-timeout, plus up to 20 s to stop the
// server). Only loopback addresses are dialled. The report goes to stdout
// (JSON with -json); progress goes to stderr. The exit status is 0 when all
// went well; 1 on any failed call or session, any HTTP response to a client
// other than 200 or 202, a server crash or a non-zero exit after SIGTERM,
// the timeout, or, with -check-memory, memory that did not return to its
// baseline or a session gauge of the server's /metrics that stayed above
// its level before the soak; 2 on bad flags.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// stderrLog receives progress lines.
var stderrLog io.Writer = os.Stderr

// config is the command line.
type config struct {
	server          string
	clients         int
	calls           int
	soakSessions    int
	soakConcurrency int
	sessionTTL      time.Duration
	soakWait        time.Duration
	protocol        string
	callTimeout     time.Duration
	timeout         time.Duration
	nudgeCalls      int
	nudgeTime       time.Duration
	checkMemory     bool
	memTolPct       float64
	memTolMiB       float64
	serverLogLevel  string
	serverArgs      []string
	autoFlags       bool
	jsonOut         bool
	replicas        int
	redisURL        string
	token           string // from the environment, never a flag
}

func parseFlags(args []string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.server, "server", "", "server binary; empty: go build the module in a temporary directory")
	fs.IntVar(&cfg.clients, "clients", 200, "concurrent streamable-HTTP clients in the load phase")
	fs.IntVar(&cfg.calls, "calls", 50, "tool calls per client in the load phase")
	fs.IntVar(&cfg.soakSessions, "soak-sessions", 500, "abandoned sessions in the soak phase (plus half as many closed ones); 0 skips the soak")
	fs.IntVar(&cfg.soakConcurrency, "soak-concurrency", 50, "soak sessions opened at a time")
	fs.DurationVar(&cfg.sessionTTL, "session-idle-ttl", 3*time.Second, "the server's --session-idle-ttl")
	fs.DurationVar(&cfg.soakWait, "soak-wait", 0, "wait for the idle sweep after the soak sessions; 0: 2×TTL + sweep interval + 1s")
	fs.StringVar(&cfg.protocol, "protocol", mcp.LATEST_LEGACY_PROTOCOL_VERSION, "MCP protocol version the clients ask for (before 2026-07-28: with sessions)")
	fs.DurationVar(&cfg.callTimeout, "call-timeout", 30*time.Second, "timeout of one request")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "timeout of the whole run (stopping the server may take 20s more)")
	fs.IntVar(&cfg.nudgeCalls, "nudge-calls", 200, "calls made before each settled RSS reading, so the server's GC runs")
	fs.DurationVar(&cfg.nudgeTime, "nudge-time", 30*time.Second, "how long the final reading may keep nudging (doubling the calls) until RSS is back")
	fs.BoolVar(&cfg.checkMemory, "check-memory", false, "exit 1 if the RSS does not return to its baseline after the soak")
	fs.Float64Var(&cfg.memTolPct, "mem-tolerance-pct", 20, "memory tolerance above the baseline, percent (the larger of the two applies)")
	fs.Float64Var(&cfg.memTolMiB, "mem-tolerance-mib", 16, "memory tolerance above the baseline, MiB (the larger of the two applies)")
	fs.StringVar(&cfg.serverLogLevel, "server-log-level", "info", "the server's --log-level; above info a free port is picked beforehand")
	fs.Func("server-arg", "extra server argument (repeatable)", func(s string) error {
		cfg.serverArgs = append(cfg.serverArgs, s)
		return nil
	})
	fs.BoolVar(&cfg.autoFlags, "auto-flags", true, "pass --rate 0 when the server has it (every other setting stays at the server's default)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the report as JSON")
	fs.IntVar(&cfg.replicas, "replicas", 1, "servers to start; the load's clients are spread over them")
	fs.StringVar(&cfg.redisURL, "redis-url", "", "Redis the replicas share (--redis-url of each; loopback only); empty: each keeps its own state")
	compareFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.clients < 1 || cfg.clients > 10000:
		return nil, errors.New("-clients: want 1 to 10000")
	case cfg.calls < 0 || cfg.calls > 100000:
		return nil, errors.New("-calls: want 0 to 100000")
	case cfg.soakSessions < 0 || cfg.soakSessions > 100000:
		return nil, errors.New("-soak-sessions: want 0 to 100000")
	case cfg.soakConcurrency < 1 || cfg.soakConcurrency > 10000:
		return nil, errors.New("-soak-concurrency: want 1 to 10000")
	case cfg.sessionTTL <= 0:
		return nil, errors.New("-session-idle-ttl: want a positive duration")
	case cfg.timeout <= 0 || cfg.callTimeout <= 0:
		return nil, errors.New("-timeout and -call-timeout: want positive durations")
	case !mcp.IsValidProtocolVersion(cfg.protocol):
		return nil, fmt.Errorf("-protocol %q: not a version mcp-go knows", cfg.protocol)
	case cfg.replicas < 1 || cfg.replicas > 16:
		return nil, errors.New("-replicas: want 1 to 16")
	}
	if cfg.redisURL != "" {
		u, err := url.Parse(cfg.redisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return nil, errors.New("-redis-url: want redis://127.0.0.1:PORT/DB")
		}
		host := u.Host
		if u.Port() == "" {
			host += ":6379"
		}
		if err := checkLoopback(host); err != nil {
			return nil, fmt.Errorf("-redis-url: %v", err)
		}
	}
	cfg.token = os.Getenv("MCP_AUTH_TOKEN")
	if cfg.token == "" {
		b := make([]byte, 24)
		rand.Read(b)
		cfg.token = "bench-" + hex.EncodeToString(b)
	}
	return cfg, nil
}

// Report is the whole result; -json prints it.
type Report struct {
	Machine Machine      `json:"machine"`
	Server  ServerReport `json:"server"`
	Load    *LoadResult  `json:"load,omitempty"`
	// Replicas is one entry per server when -replicas > 1 or -redis-url.
	Replicas *ReplicasResult `json:"replicas,omitempty"`
	Soak     *SoakResult     `json:"soak,omitempty"`
	HTTP     map[string]int  `json:"http_responses"`
	// Metrics holds the server's session and in-flight gauges from its
	// /metrics, when it has one, at points of the run.
	Metrics  map[string]map[string]float64 `json:"metrics,omitempty"`
	Seconds  float64                       `json:"seconds"`
	Failures []string                      `json:"failures"`
	Pass     bool                          `json:"pass"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemTotal string `json:"mem_total"`
	Go       string `json:"go"`
	OSArch   string `json:"os_arch"`
}

// ServerReport describes the server process.
type ServerReport struct {
	Command     []string `json:"command"`
	AutoFlags   []string `json:"auto_flags"`
	PID         int      `json:"pid"`
	Addr        string   `json:"addr"`
	PeakRSS     int64    `json:"peak_rss_bytes"`
	VmHWM       int64    `json:"vm_hwm_bytes"`
	Crashed     bool     `json:"crashed"`
	ExitCode    int      `json:"exit_code"`
	Killed      bool     `json:"killed"`
	StopSeconds float64  `json:"stop_seconds"`
	LogLines    int      `json:"log_lines"`
	LogWarnings int      `json:"log_warnings"`
	LogErrors   int      `json:"log_errors"`
	LogProblems []string `json:"log_problems,omitempty"`
	LogTail     []string `json:"log_tail,omitempty"`
}

// ReplicasResult is what the replicas of the load sent to QCC.
type ReplicasResult struct {
	Count    int      `json:"count"`
	Redis    bool     `json:"shared_redis"`
	Addrs    []string `json:"addrs"`
	QCCCalls []int    `json:"qcc_calls_by_replica"`
	QCCTotal int      `json:"qcc_calls"`
}

var (
	errTimeout = errors.New("the run hit -timeout")
	errCrashed = errors.New("the server exited during the run")
)

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(2)
	}
	if cmp.on {
		os.Exit(runCompare(cfg))
	}
	rep := run(cfg)
	if cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(rep)
	} else {
		printReport(os.Stdout, rep)
	}
	if !rep.Pass {
		os.Exit(1)
	}
}

// run does everything and returns the report; it never exits.
func run(cfg *config) *Report {
	started := time.Now()
	rep := &Report{Machine: machine(), Failures: []string{}}
	fail := func(format string, a ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, a...)) }
	defer func() {
		rep.Seconds = time.Since(started).Round(time.Millisecond).Seconds()
		rep.Pass = len(rep.Failures) == 0
	}()

	ctx, cancelTimeout := context.WithTimeoutCause(context.Background(), cfg.timeout, errTimeout)
	defer cancelTimeout()
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	bin := cfg.server
	if bin == "" {
		dir, err := os.MkdirTemp("", "qcc-mcp-bench-")
		if err != nil {
			fail("temporary directory: %v", err)
			return rep
		}
		defer os.RemoveAll(dir)
		fmt.Fprintln(stderrLog, "bench: building the server")
		if bin, err = buildServer(ctx, dir); err != nil {
			fail("building the server: %v", err)
			return rep
		}
	}

	counts := &httpCounts{}
	hc, tr := newHTTPClient(2*cfg.clients+16, cfg.token, counts, cfg.callTimeout)
	// Health checks and probes go uncounted on a pool of their own.
	plain, _ := newHTTPClient(4, cfg.token, nil, cfg.callTimeout)
	var auto []string
	if cfg.autoFlags {
		auto = serverFlags(ctx, bin, 2*(cfg.clients+cfg.soakSessions)+16)
	}
	base := []string{"--session-idle-ttl", cfg.sessionTTL.String(), "--log-level", cfg.serverLogLevel}
	// Above info the start-up line with the address is not logged.
	logsAddr := strings.EqualFold(cfg.serverLogLevel, "info") || strings.EqualFold(cfg.serverLogLevel, "debug")
	env := serverEnv(cfg.token)
	if cfg.redisURL != "" {
		// In the environment, so that a password in the URL is not in the
		// process list.
		env = append(env, "QCC_REDIS_URL="+cfg.redisURL)
		base = append(base, "--replicas-hint", fmt.Sprint(cfg.replicas))
	}
	srv, err := startServer(ctx, bin, slices.Concat(base, auto, cfg.serverArgs), env, logsAddr, plain)
	if err != nil && len(auto) > 0 && srv != nil && srv.crashed() {
		fmt.Fprintf(stderrLog, "bench: the server refused %v (%v); starting it without them\n", auto, err)
		auto = nil
		srv, err = startServer(ctx, bin, slices.Concat(base, cfg.serverArgs), env, logsAddr, plain)
	}
	rep.Server.AutoFlags = auto
	if srv != nil {
		rep.Server.Command = append([]string{bin}, srv.args...)
		defer func() { reportServerLog(&rep.Server, srv, len(rep.Failures) > 0) }()
	}
	if err != nil {
		fail("starting the server: %v", err)
		return rep
	}
	rep.Server.PID, rep.Server.Addr = srv.pid(), srv.addr
	fmt.Fprintf(stderrLog, "bench: server pid %d on %s\n", srv.pid(), srv.addr)

	// Stop the server whatever happens, on a clock of its own.
	defer func() {
		t0 := time.Now()
		crashed := srv.crashed()
		code, killed := srv.stop(20 * time.Second)
		rep.Server.StopSeconds = time.Since(t0).Round(time.Millisecond).Seconds()
		rep.Server.Crashed, rep.Server.ExitCode, rep.Server.Killed = crashed, code, killed
		switch {
		case crashed:
			fail("the server crashed (exit status %d)", code)
		case killed:
			fail("the server did not exit within 20s of SIGTERM and was killed")
		case code != 0:
			fail("the server exited with status %d after SIGTERM", code)
		}
		rep.HTTP = counts.snapshot()
		for k, n := range rep.HTTP {
			if !strings.HasSuffix(k, " 200") && !strings.HasSuffix(k, " 202") {
				fail("%d HTTP responses %q", n, k)
			}
		}
	}()

	smpCtx, stopSampling := context.WithCancel(context.Background())
	defer stopSampling()
	smp := newSampler(smpCtx, srv.pid(), 100*time.Millisecond)

	ctx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	go func() {
		select {
		case <-srv.exited:
			if srv.crashed() {
				cancelRun(errCrashed)
			}
		case <-ctx.Done():
		}
	}()
	idle := func() { tr.CloseIdleConnections() }
	url := "http://" + srv.addr + "/mcp"
	servers := []*server{srv}
	for range cfg.replicas - 1 {
		other, err := startServer(ctx, bin, slices.Concat(base, auto, cfg.serverArgs), env, logsAddr, plain)
		if other != nil {
			defer func() {
				if code, killed := other.stop(20 * time.Second); code != 0 || killed {
					fail("replica on %s: exit status %d after SIGTERM (killed %v)", other.addr, code, killed)
				}
			}()
		}
		if err != nil {
			fail("starting a replica: %v", err)
			return rep
		}
		servers = append(servers, other)
	}
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = "http://" + s.addr + "/mcp"
	}

	fmt.Fprintf(stderrLog, "bench: load: %d clients × %d calls over %d replica(s)\n", cfg.clients, cfg.calls, len(urls))
	rep.Load = runLoad(ctx, cfg, urls, hc)
	if cfg.replicas > 1 || cfg.redisURL != "" {
		rep.Replicas = &ReplicasResult{Count: len(servers), Redis: cfg.redisURL != ""}
		for _, s := range servers {
			n := 0
			for name, v := range scrapeMetrics(ctx, plain, "http://"+s.addr) {
				if strings.HasPrefix(name, "qcc_mcp_upstream_calls_total") {
					n += int(v)
				}
			}
			rep.Replicas.Addrs = append(rep.Replicas.Addrs, s.addr)
			rep.Replicas.QCCCalls = append(rep.Replicas.QCCCalls, n)
			rep.Replicas.QCCTotal += n
		}
	}
	rep.Load.PeakRSS, rep.Load.PeakFDs = smp.resetWindow()
	metrics := func(point string) {
		if m := scrapeMetrics(ctx, plain, "http://"+srv.addr); m != nil {
			if rep.Metrics == nil {
				rep.Metrics = map[string]map[string]float64{}
			}
			rep.Metrics[point] = m
		}
	}
	metrics("1 after load")
	if rep.Load.Errors > 0 {
		fail("load: %d errors", rep.Load.Errors)
	}
	fmt.Fprintf(stderrLog, "bench: load: %d calls, %d errors, %.0f calls/s\n", rep.Load.Calls, rep.Load.Errors, rep.Load.CallsPerSecond)

	if cfg.soakSessions > 0 && ctx.Err() == nil {
		idle()
		fmt.Fprintf(stderrLog, "bench: soak: %d abandoned + %d closed sessions\n", cfg.soakSessions, cfg.soakSessions/2)
		soak, err := runSoak(ctx, cfg, url, hc, plain, idle, smp, counts, metrics)
		rep.Soak = soak
		switch {
		case err != nil && context.Cause(ctx) != nil:
			// reported below
		case err != nil:
			fail("soak: %v", err)
		case soak.Errors > 0:
			fail("soak: %d errors", soak.Errors)
		case cfg.checkMemory && !soak.Returned:
			fail("soak: RSS %s did not return to its baseline %s (tolerance %s)", mib(soak.FinalRSS), mib(soak.BaselineRSS), mib(soak.ToleranceRSS))
		}
		// A session gauge that stays above its level after the load means
		// sessions the sweep did not forget.
		before, after := rep.Metrics["1 after load"], rep.Metrics["3 soak final"]
		for name, v := range after {
			if w, ok := before[name]; ok && strings.Contains(name, "session") && v > w && cfg.checkMemory {
				fail("soak: %s is %g after the soak, %g before it", name, v, w)
			}
		}
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		fail("%v", cause)
	} else if cause != nil {
		fail("interrupted")
	}
	st := smp.now()
	rep.Server.PeakRSS, rep.Server.VmHWM = smp.peak(), st.HWM
	idle()
	return rep
}

// serverEnv is this process's environment with the bearer token, no
// colour, and GODEBUG=madvdontneed=1 added to any GODEBUG already set.
func serverEnv(token string) []string {
	var env []string
	godebug := "madvdontneed=1"
	for _, kv := range os.Environ() {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "MCP_AUTH_TOKEN", "NO_COLOR":
		case "GODEBUG":
			if v != "" {
				godebug = v + "," + godebug
			}
		default:
			env = append(env, kv)
		}
	}
	return append(env, "GODEBUG="+godebug, "MCP_AUTH_TOKEN="+token, "NO_COLOR=1")
}

// reportServerLog adds the server's log figures and its last lines (more
// when the run failed).
func reportServerLog(r *ServerReport, srv *server, failed bool) {
	n := 3 // the last lines: shutdown and the server's usage summary
	if failed {
		n = 20
	}
	r.LogTail, r.LogLines, r.LogWarnings, r.LogErrors, r.LogProblems = srv.stderr.snapshot(n)
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	return m
}

// procField returns the value of the first "key: value" line in a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// printReport writes the human-readable report.
func printReport(w io.Writer, r *Report) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	m := r.Machine
	p("machine: %d CPUs, %s, %s RAM, %s %s", m.CPUs, m.CPUModel, m.MemTotal, m.Go, m.OSArch)
	s := r.Server
	if len(s.Command) > 0 {
		p("server:  %s", strings.Join(s.Command, " "))
		p("         pid %d on %s; auto flags: %v", s.PID, s.Addr, s.AutoFlags)
	}
	if l := r.Load; l != nil {
		p("load:    %d clients × %d calls, protocol %s", l.Clients, l.CallsPerClient, l.Protocol)
		p("  initialize  %d clients in %.2fs (%d errors); latency p50 %.1fms p99 %.1fms max %.1fms",
			l.Clients-l.InitErrors, l.InitSeconds, l.InitErrors, l.InitLatency.P50, l.InitLatency.P99, l.InitLatency.Max)
		p("  calls       %d in %.2fs = %.1f calls/s; errors %d %v", l.Calls, l.Seconds, l.CallsPerSecond, l.Errors, l.ErrorKinds)
		p("  by tool     %v", l.ByTool)
		p("  latency     p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", l.Latency.P50, l.Latency.P90, l.Latency.P99, l.Latency.Max)
		p("  server      peak RSS %s during the load (VmRSS every 100ms); open fds peak %d", mib(l.PeakRSS), l.PeakFDs)
		for _, e := range l.ErrorSamples {
			p("  error       %s", e)
		}
	}
	if rr := r.Replicas; rr != nil {
		p("replicas: %d on %v, shared Redis %v: QCC calls %d in all, by replica %v", rr.Count, rr.Addrs, rr.Redis, rr.QCCTotal, rr.QCCCalls)
	}
	if k := r.Soak; k != nil {
		verdict := "returned to baseline"
		if !k.Returned {
			verdict = "did NOT return to baseline"
		}
		p("soak:    %d abandoned + %d closed sessions (protocol %s) opened in %.2fs; errors %d %v",
			k.Abandoned, k.Closed, k.Protocol, k.OpenSeconds, k.Errors, k.ErrorKinds)
		if !k.Conclusive {
			verdict += "; inconclusive: the soak raised RSS by less than the tolerance"
		}
		if k.Completed {
			p("  RSS         baseline %s, peak %s, final %s after %.1fs idle: %s (tolerance +%s)",
				mib(k.BaselineRSS), mib(k.PeakRSS), mib(k.FinalRSS), k.WaitSeconds, verdict, mib(k.ToleranceRSS))
			p("  open fds    baseline %d, peak %d, final %d", k.BaselineFDs, k.PeakFDs, k.FinalFDs)
			p("  nudge       %d calls in all; final reading after %d round(s)", k.NudgeCalls, k.NudgeRounds)
			p("  probe       %v", k.ProbeStatuses)
		} else {
			p("  cut short   baseline RSS %s, peak %s; open fds baseline %d, peak %d", mib(k.BaselineRSS), mib(k.PeakRSS), k.BaselineFDs, k.PeakFDs)
		}
		for _, e := range k.ErrorSamples {
			p("  error       %s", e)
		}
	}
	if r.HTTP != nil {
		p("http:    %v", r.HTTP)
	}
	for _, point := range slices.Sorted(maps.Keys(r.Metrics)) {
		p("metrics: %s: %v", point[2:], r.Metrics[point])
	}
	switch {
	case s.Crashed:
		p("server:  CRASHED (exit status %d); peak RSS %s (sampled), VmHWM %s", s.ExitCode, mib(s.PeakRSS), mib(s.VmHWM))
	case s.PID != 0:
		p("server:  peak RSS %s (sampled), VmHWM %s; exit status %d after SIGTERM in %.2fs (killed %v)",
			mib(s.PeakRSS), mib(s.VmHWM), s.ExitCode, s.StopSeconds, s.Killed)
	}
	if len(s.Command) > 0 {
		p("         stderr %d lines, %d warnings, %d errors", s.LogLines, s.LogWarnings, s.LogErrors)
	}
	for _, l := range s.LogProblems {
		p("  log       %s", l)
	}
	for _, l := range s.LogTail {
		p("  tail      %s", l)
	}
	if r.Pass {
		p("result:  PASS in %.1fs", r.Seconds)
	} else {
		p("result:  FAIL in %.1fs: %s", r.Seconds, strings.Join(r.Failures, "; "))
	}
}
