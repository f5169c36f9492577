package main

// Side by side: qcc-mcp against a bare mcp-go server (bench/bare) that
// makes the same signed call, both on the sandbox served over real
// loopback HTTP, as a user's server would reach QCC.
//
//	go run ./bench -compare                       # 3 interleaved repetitions of 3,200 calls each way
//	go run ./bench -compare -compare-reps 5 -json
//
// Each repetition starts every server afresh, for each transport: stdio
// with -compare-stdio calls in flight on one client, and streamable HTTP
// with -compare-clients clients, each its own session. The order of the
// two servers alternates between repetitions, so a neighbour's load on a
// shared machine falls on both. qcc-mcp runs with --cache-ttl 0 and
// --rate 0, and every call in flight has its own arguments (company ×
// page_size × exact, 240 combinations cycled in order, more than the calls
// in flight), so nothing is cached or coalesced: every call is one QCC
// request. Reported per server and transport, as the median of the
// repetitions: calls/s, latency p50/p99, server CPU per call (utime+stime
// from /proc/PID/stat over the calls), the bench's own CPU per call over
// the same calls (the client decoding the answers and the sandbox; it
// shares the machine, so it weighs on calls/s), peak RSS (VmHWM), the TCP
// connections the sandbox's listener accepted during the calls, cold start
// (exec to the first tools/list answer over stdio), the size of the
// tools/list result and the bytes of answer per call over stdio; then the
// ratios qcc-mcp/bare of those medians, and the ratios taken within each
// repetition, where the two ran back to back, as their median and range
// over the repetitions (these carry less of the machine's drift from one
// repetition to the next).
//
// Peak RSS counts the resident pages of the binary itself, which are
// shared between instances and reclaimable (qcc-mcp's binary is about
// twice bare's): so memory is also split, from /proc/PID/status, into the
// RSS right after the first tools/list (idle RSS, VmRSS), the peak of the
// anonymous part (RssAnon: heap and stacks, sampled every 5 ms during the
// calls and once at their end) and the file-backed part (RssFile) at the
// end.
//
// With -compare-ts-peer DIR (or QCC_TSPEER_MODULES), each repetition also
// runs bench/tspeer, a conventional server on the official TypeScript SDK
// serving qcc-mcp's own tools/list, over stdio only, in the same
// interleaved order, measured by the same client with the same arguments;
// the ratios qcc-mcp/ts-peer follow (issue 12's cold-start target is
// against it). DIR holds the packages of bench/tspeer/npm-packages.txt:
//
//	npm install --prefix /tmp/tspeer-modules $(cat bench/tspeer/npm-packages.txt)
//	go run ./bench -compare -compare-ts-peer /tmp/tspeer-modules
//
// With -compare-baseline BIN, each repetition also runs BIN, another build
// of qcc-mcp (the commit before a change, say), with qcc-mcp's arguments,
// in the same interleaved order; the ratios qcc-mcp/baseline follow. The
// machine's speed drifts by more than many changes are worth between two
// invocations; within one, both builds see the same drift:
//
//	git stash && go build -o /tmp/before . && git stash pop
//	go run ./bench -compare -compare-reps 7 -compare-baseline /tmp/before

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc/sandbox"
)

// compareConfig is the command line of the side-by-side mode.
type compareConfig struct {
	on      bool
	calls   int
	reps    int
	stdio   int
	clients int
	tsPeer  string
	// baseline is -compare-baseline: another qcc-mcp binary, or "".
	baseline string
	// transports is -compare-transports: "stdio", "http" or both, in
	// that order.
	transports string
	// protocol is -compare-protocol: the version the HTTP clients speak.
	protocol string
}

var cmp compareConfig

// The keys of the loopback sandbox: shaped like QCC's (the server checks
// a secret key's length), and fake.
const (
	benchAppKey    = "benchappkey0000000000000000000001"
	benchSecretKey = "BENCHSECRETKEY00000000000000001"
)

// compareFlags declares the side-by-side mode's flags on fs.
func compareFlags(fs *flag.FlagSet) {
	fs.BoolVar(&cmp.on, "compare", false, "instead of load and soak: qcc-mcp side by side with a bare mcp-go server (bench/bare), both on the sandbox over loopback HTTP")
	fs.IntVar(&cmp.calls, "compare-calls", 3200, "calls per server, transport and repetition in -compare")
	fs.IntVar(&cmp.reps, "compare-reps", 3, "interleaved repetitions in -compare; medians are reported")
	fs.IntVar(&cmp.stdio, "compare-stdio", 16, "calls in flight over stdio in -compare")
	fs.IntVar(&cmp.clients, "compare-clients", 64, "streamable-HTTP clients in -compare")
	fs.StringVar(&cmp.baseline, "compare-baseline", "", "in -compare, also run this qcc-mcp binary (another build, e.g. the commit before a change) and report qcc-mcp/baseline")
	fs.StringVar(&cmp.transports, "compare-transports", "stdio,http", "in -compare, the transports to measure: stdio, http or stdio,http")
	fs.StringVar(&cmp.protocol, "compare-protocol", mcp.ProtocolVersion20250618,
		"in -compare, the protocol version the HTTP clients speak: an initialize-era one (a session each) or 2026-07-28 (stateless)")
	fs.StringVar(&cmp.tsPeer, "compare-ts-peer", os.Getenv("QCC_TSPEER_MODULES"),
		"in -compare, also run bench/tspeer (TypeScript SDK) over stdio, with the npm packages of bench/tspeer/npm-packages.txt in this node_modules directory or npm prefix (default $QCC_TSPEER_MODULES; empty: off)")
}

// demoCompanies are the sandbox companies that hold certificates.
var demoCompanies = []string{"企查查科技有限公司", "苏州云帆智能制造股份有限公司", "华信创（北京）检测技术有限公司",
	"杭州青禾软件技术有限公司", "深圳市海澜电子科技有限公司", "上海明德建设工程有限公司"}

// distinctArgs are the arguments of call i: 240 combinations in turn.
func distinctArgs(i int) map[string]any {
	return map[string]any{"company": demoCompanies[i%6], "page_size": 1 + (i/6)%20, "exact": (i/120)%2 == 0}
}

// Measure is one server's figures for one transport and repetition.
type Measure struct {
	CallsPerSecond float64 `json:"calls_per_second"`
	P50            float64 `json:"p50_ms"`
	P99            float64 `json:"p99_ms"`
	CPUPerCall     float64 `json:"cpu_us_per_call"`
	// BenchCPUPerCall is this process's CPU per call over the same calls:
	// the client decoding the server's answers, and the sandbox serving
	// the same requests to every server. It shares the machine with the
	// server, so a server whose answers cost more to decode does fewer
	// calls/s even at the same server CPU.
	BenchCPUPerCall float64 `json:"bench_cpu_us_per_call"`
	// AnswerBytes is what the server wrote on stdout per call over the
	// calls (stdio only): the size of its answers as the client reads them.
	AnswerBytes    float64 `json:"stdio_bytes_per_call,omitempty"`
	PeakRSS        int64   `json:"peak_rss_bytes"`
	IdleRSS        int64   `json:"idle_rss_bytes"`
	PeakAnon       int64   `json:"peak_anon_rss_bytes"`
	FileRSS        int64   `json:"file_rss_bytes"`
	UpstreamConns  int64   `json:"upstream_connections"`
	ColdStart      float64 `json:"cold_start_ms,omitempty"`
	ToolsListBytes int     `json:"tools_list_bytes,omitempty"`
	Errors         int     `json:"errors"`

	// tools is the tools/list's tools as the client decoded them, to check
	// that the TypeScript peer serves qcc-mcp's.
	tools string
	// rep is the repetition the figures come from, to pair servers.
	rep int
}

// CompareReport is the side-by-side result: medians per server and
// transport, every repetition, and the ratios qcc-mcp/bare (and
// qcc-mcp/ts-peer, stdio only, with -compare-ts-peer; qcc-mcp/baseline
// with -compare-baseline).
type CompareReport struct {
	Machine   Machine                       `json:"machine"`
	Calls     int                           `json:"calls"`
	Reps      int                           `json:"repetitions"`
	Protocol  string                        `json:"http_protocol"`
	Median    map[string]Measure            `json:"median"`
	Ratio     map[string]map[string]float64 `json:"ratio_qcc_mcp_over_bare"`
	RatioTS   map[string]map[string]float64 `json:"ratio_qcc_mcp_over_ts_peer,omitempty"`
	RatioBase map[string]map[string]float64 `json:"ratio_qcc_mcp_over_baseline,omitempty"`
	// Paired are the ratios taken within each repetition, where the two
	// servers ran back to back, keyed by "bare/stdio", "baseline/http"
	// and so on.
	Paired   map[string]PairedRatios `json:"paired_ratios_qcc_mcp_over"`
	All      map[string][]Measure    `json:"all"`
	Failures []string                `json:"failures"`
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// runCompare runs the side-by-side mode and prints its report; it returns
// the exit status.
func runCompare(cfg *config) int {
	if cmp.calls < 1 || cmp.calls > 100000 || cmp.reps < 1 || cmp.reps > 20 || cmp.stdio < 1 || cmp.stdio > 256 ||
		cmp.clients < 1 || cmp.clients > 1000 {
		fmt.Fprintln(os.Stderr, "bench: -compare-calls 1..100000, -compare-reps 1..20, -compare-stdio 1..256, -compare-clients 1..1000")
		return 2
	}
	if !mcp.IsValidProtocolVersion(cmp.protocol) {
		fmt.Fprintf(os.Stderr, "bench: -compare-protocol %q: want one of %s\n", cmp.protocol, strings.Join(mcp.ValidProtocolVersions, ", "))
		return 2
	}
	modes, ok := compareModes(cmp.transports)
	if !ok {
		fmt.Fprintf(os.Stderr, "bench: -compare-transports %q: want stdio, http or stdio,http\n", cmp.transports)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	rep := &CompareReport{Machine: machine(), Calls: cmp.calls, Reps: cmp.reps, Protocol: cmp.protocol, Median: map[string]Measure{},
		Ratio: map[string]map[string]float64{}, Paired: map[string]PairedRatios{}, All: map[string][]Measure{}, Failures: []string{}}
	dir, err := os.MkdirTemp("", "qcc-mcp-compare-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The command line of each server, without its arguments.
	cmds := map[string][]string{"qcc-mcp": {cfg.server}}
	names := []string{"qcc-mcp", "bare"}
	if cmp.tsPeer != "" {
		if cmds["ts-peer"], err = setupTSPeer(dir, cmp.tsPeer); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		names = append(names, "ts-peer")
	}
	if cmp.baseline != "" {
		cmds["baseline"] = []string{cmp.baseline}
		names = append(names, "baseline")
	}
	if cfg.server == "" {
		bin, err := buildServer(ctx, dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		cmds["qcc-mcp"] = []string{bin}
	}
	bin, err := buildBare(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	cmds["bare"] = []string{bin}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	cl := &countingListener{Listener: ln}
	up := &http.Server{Handler: sandbox.New(sandbox.Config{AppKey: benchAppKey, SecretKey: benchSecretKey}), ReadHeaderTimeout: 10 * time.Second}
	go up.Serve(cl)
	defer up.Close()
	base := "http://" + ln.Addr().String() + "/api"

	for r := range cmp.reps {
		// Each repetition starts one server later in the order, so a
		// neighbour's load on a shared machine falls on all of them.
		order := append(slices.Clone(names[r%len(names):]), names[:r%len(names)]...)
		for _, mode := range modes {
			for _, name := range order {
				if name == "ts-peer" && mode != "stdio" {
					continue
				}
				fmt.Fprintf(stderrLog, "bench: repetition %d/%d, %s over %s\n", r+1, cmp.reps, name, mode)
				m, err := compareOnce(ctx, name, cmds[name], mode, base, cl, cfg.token)
				if err != nil {
					rep.Failures = append(rep.Failures, fmt.Sprintf("%s over %s, repetition %d: %v", name, mode, r+1, err))
					continue
				}
				key := name + "/" + mode
				m.rep = r
				rep.All[key] = append(rep.All[key], m)
			}
		}
	}
	// The peer's cold start means something only if it lists what
	// qcc-mcp lists.
	if ours := rep.All["qcc-mcp/stdio"]; len(ours) > 0 {
		for _, m := range rep.All["ts-peer/stdio"] {
			if m.tools != ours[0].tools {
				rep.Failures = append(rep.Failures, "ts-peer's tools/list is not qcc-mcp's: go test ./bench -run TestTSPeerToolsInStep -update-tspeer")
				break
			}
		}
	}
	for key, ms := range rep.All {
		rep.Median[key] = medianMeasure(ms)
	}
	for _, mode := range []string{"stdio", "http"} {
		if ra := ratios(rep.Median, "bare", mode); ra != nil {
			rep.Ratio[mode] = ra
		}
		if ra := ratios(rep.Median, "ts-peer", mode); ra != nil {
			if rep.RatioTS == nil {
				rep.RatioTS = map[string]map[string]float64{}
			}
			delete(ra, "upstream_conns")
			rep.RatioTS[mode] = ra
		}
		for _, other := range []string{"bare", "baseline"} {
			if p, ok := pairedRatios(rep.All["qcc-mcp/"+mode], rep.All[other+"/"+mode]); ok {
				rep.Paired[other+"/"+mode] = p
			}
		}
		if ra := ratios(rep.Median, "baseline", mode); ra != nil {
			if rep.RatioBase == nil {
				rep.RatioBase = map[string]map[string]float64{}
			}
			rep.RatioBase[mode] = ra
		}
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printCompare(os.Stdout, rep)
	}
	if len(rep.Failures) > 0 {
		return 1
	}
	return 0
}

// compareModes reads -compare-transports: each of stdio and http at most
// once, in the order stdio, http whatever the order given.
func compareModes(v string) ([]string, bool) {
	var stdio, http bool
	for _, t := range strings.Split(v, ",") {
		switch strings.TrimSpace(t) {
		case "stdio":
			stdio = true
		case "http":
			http = true
		default:
			return nil, false
		}
	}
	var modes []string
	if stdio {
		modes = append(modes, "stdio")
	}
	if http {
		modes = append(modes, "http")
	}
	return modes, true
}

// ratios are qcc-mcp's medians over other's for mode, rounded to 0.01;
// nil if either is missing.
func ratios(med map[string]Measure, other, mode string) map[string]float64 {
	q, okQ := med["qcc-mcp/"+mode]
	b, okB := med[other+"/"+mode]
	if !okQ || !okB {
		return nil
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return round2(a / b)
	}
	ra := map[string]float64{
		"calls_per_second":   ratio(q.CallsPerSecond, b.CallsPerSecond),
		"p50":                ratio(q.P50, b.P50),
		"p99":                ratio(q.P99, b.P99),
		"cpu_per_call":       ratio(q.CPUPerCall, b.CPUPerCall),
		"bench_cpu_per_call": ratio(q.BenchCPUPerCall, b.BenchCPUPerCall),
		"peak_rss":           ratio(float64(q.PeakRSS), float64(b.PeakRSS)),
		"idle_rss":           ratio(float64(q.IdleRSS), float64(b.IdleRSS)),
		"peak_anon_rss":      ratio(float64(q.PeakAnon), float64(b.PeakAnon)),
		"file_rss":           ratio(float64(q.FileRSS), float64(b.FileRSS)),
		"upstream_conns":     ratio(float64(q.UpstreamConns), float64(b.UpstreamConns)),
	}
	if mode == "stdio" {
		ra["cold_start"] = ratio(q.ColdStart, b.ColdStart)
		ra["tools_list_bytes"] = ratio(float64(q.ToolsListBytes), float64(b.ToolsListBytes))
		ra["answer_bytes"] = ratio(q.AnswerBytes, b.AnswerBytes)
	}
	return ra
}

// Spread is a ratio's median over the repetitions and its range.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// PairedRatios are qcc-mcp's figures over another server's, taken within
// each repetition in which both ran, then summarised over the repetitions.
// The machine's speed drifts between repetitions by more than the ratio
// (the same server's calls/s can differ by half within an hour); within
// one repetition the two ran back to back, so these ratios carry less of
// that drift than the ratio of the medians.
type PairedRatios struct {
	Pairs          int    `json:"pairs"`
	CallsPerSecond Spread `json:"calls_per_second"`
	CPUPerCall     Spread `json:"cpu_per_call"`
	// BenchCPUPerCall is the bench's own (see Measure.BenchCPUPerCall).
	BenchCPUPerCall Spread `json:"bench_cpu_per_call"`
}

// pairedRatios pairs ours and theirs by repetition; false without a pair.
func pairedRatios(ours, theirs []Measure) (PairedRatios, bool) {
	var calls, cpu, bench []float64
	for _, q := range ours {
		for _, o := range theirs {
			if o.rep != q.rep || o.CallsPerSecond <= 0 || o.CPUPerCall <= 0 {
				continue
			}
			calls = append(calls, q.CallsPerSecond/o.CallsPerSecond)
			cpu = append(cpu, q.CPUPerCall/o.CPUPerCall)
			if o.BenchCPUPerCall > 0 {
				bench = append(bench, q.BenchCPUPerCall/o.BenchCPUPerCall)
			}
		}
	}
	if len(calls) == 0 {
		return PairedRatios{}, false
	}
	p := PairedRatios{Pairs: len(calls), CallsPerSecond: spreadOf(calls), CPUPerCall: spreadOf(cpu)}
	if len(bench) > 0 {
		p.BenchCPUPerCall = spreadOf(bench)
	}
	return p, true
}

// spreadOf is the median and range of xs (not empty), each rounded to
// 0.01; xs is sorted in place.
func spreadOf(xs []float64) Spread {
	med := medianFloat(xs)
	return Spread{Median: round2(med), Min: round2(xs[0]), Max: round2(xs[len(xs)-1])}
}

// buildBare builds bench/bare into dir.
func buildBare(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bare")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/bare")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./bench/bare: %w\n%s", err, out)
	}
	return bin, nil
}

// compareOnce starts one server for one transport, makes the calls and
// stops it.
func compareOnce(ctx context.Context, name string, argv []string, mode, base string, cl *countingListener, token string) (Measure, error) {
	var m Measure
	args := append(slices.Clone(argv[1:]), "--base-url", base)
	if name == "qcc-mcp" || name == "baseline" {
		args = append(args, "--cache-ttl", "0", "--rate", "0")
	}
	var addr string
	if mode == "http" {
		a, err := freeLoopbackAddr()
		if err != nil {
			return m, err
		}
		addr = a
		args = append(args, "--transport", "http", "--addr", addr)
	}
	cmd := exec.Command(argv[0], args...)
	cmd.Env = append(serverEnv(token), "QCC_APP_KEY="+benchAppKey, "QCC_SECRET_KEY="+benchSecretKey)
	cmd.Stderr = io.Discard
	var stdin io.WriteCloser
	var stdout io.ReadCloser
	var err error
	if mode == "stdio" {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return m, err
		}
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return m, err
		}
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return m, err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	pid := cmd.Process.Pid

	var clients []*client.Client
	inFlight := cmp.stdio
	out := &countingReader{r: stdout}
	if mode == "stdio" {
		c := client.NewClient(transport.NewIO(out, stdin, nil))
		if err := c.Start(ctx); err != nil {
			return m, err
		}
		defer c.Close()
		init := mcp.InitializeRequest{}
		init.Params.ProtocolVersion = mcp.ProtocolVersion20250618
		init.Params.ClientInfo = mcp.Implementation{Name: "qcc-mcp-bench", Version: "1"}
		if _, err := c.Initialize(ctx, init); err != nil {
			return m, fmt.Errorf("initialize: %w", err)
		}
		list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			return m, fmt.Errorf("tools/list: %w", err)
		}
		m.ColdStart = ms(time.Since(started))
		raw, _ := json.Marshal(list)
		m.ToolsListBytes = len(raw)
		tools, _ := json.Marshal(list.Tools)
		m.tools = string(tools)
		if m.IdleRSS, err = idleRSS(pid); err != nil {
			return m, err
		}
		clients = []*client.Client{c}
	} else {
		inFlight = cmp.clients
		hc, _ := newHTTPClient(2*cmp.clients+4, token, nil, 30*time.Second)
		if err := waitListening(ctx, addr, 30*time.Second); err != nil {
			return m, err
		}
		for i := range cmp.clients {
			c, err := connect(ctx, "http://"+addr+"/mcp", hc, cmp.protocol)
			if err != nil {
				return m, err
			}
			defer c.Close()
			clients = append(clients, c)
			if i == 0 {
				if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
					return m, fmt.Errorf("tools/list: %w", err)
				}
				if m.IdleRSS, err = idleRSS(pid); err != nil {
					return m, err
				}
			}
		}
	}
	// One warm-up call per client, not counted.
	for i, c := range clients {
		req := mcp.CallToolRequest{}
		req.Params.Name = "search_certifications"
		req.Params.Arguments = distinctArgs(i)
		if _, err := c.CallTool(ctx, req); err != nil {
			return m, fmt.Errorf("warm-up call: %w", err)
		}
	}

	cpu0, err := cpuTicks(pid)
	if err != nil {
		return m, err
	}
	conns0 := cl.n.Load()
	// The anonymous RSS, sampled while the calls run.
	var peakAnon atomic.Int64
	sampleDone := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampleDone)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if st, err := readStatus(pid); err == nil && st.Anon > peakAnon.Load() {
				peakAnon.Store(st.Anon)
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()
	self0, err := cpuTicks(os.Getpid())
	if err != nil {
		return m, err
	}
	out0 := out.n.Load()
	var next atomic.Int64
	var errs atomic.Int64
	lat := make([]time.Duration, cmp.calls)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range inFlight {
		c := clients[w%len(clients)]
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cmp.calls || ctx.Err() != nil {
					return
				}
				req := mcp.CallToolRequest{}
				req.Params.Name = "search_certifications"
				req.Params.Arguments = distinctArgs(i)
				s := time.Now()
				res, err := c.CallTool(ctx, req)
				lat[i] = time.Since(s)
				if err != nil || res.IsError || res.StructuredContent == nil {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	close(stopSampling)
	<-sampleDone
	cpu1, err := cpuTicks(pid)
	if err != nil {
		return m, err
	}
	self1, err := cpuTicks(os.Getpid())
	if err != nil {
		return m, err
	}
	if mode == "stdio" {
		m.AnswerBytes = float64(out.n.Load()-out0) / float64(cmp.calls)
	}
	st, err := readStatus(pid)
	if err != nil {
		return m, err
	}
	l := latencyOf(lat)
	m.CallsPerSecond = float64(int(float64(cmp.calls)/elapsed.Seconds()*10)) / 10
	m.P50, m.P99 = l.P50, l.P99
	m.CPUPerCall = float64(int(float64(cpu1-cpu0)*1e6/clockTicks/float64(cmp.calls)*10)) / 10
	m.BenchCPUPerCall = float64(int(float64(self1-self0)*1e6/clockTicks/float64(cmp.calls)*10)) / 10
	m.PeakRSS = st.HWM
	m.PeakAnon = max(peakAnon.Load(), st.Anon)
	m.FileRSS = st.File
	m.UpstreamConns = cl.n.Load() - conns0
	m.Errors = int(errs.Load())
	if m.Errors > 0 {
		return m, fmt.Errorf("%d of %d calls failed", m.Errors, cmp.calls)
	}
	return m, nil
}

// idleRSS is pid's VmRSS now.
func idleRSS(pid int) (int64, error) {
	st, err := readStatus(pid)
	return st.RSS, err
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuTicks returns utime+stime of pid in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unreadable times in /proc/PID/stat")
	}
	return u + s, nil
}

// waitListening waits until addr accepts a TCP connection.
func waitListening(ctx context.Context, addr string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		c, err := loopbackDialer().DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening within %s", addr, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// medianFloat is the median of xs (not empty), the mean of the middle two
// for an even count; xs is sorted in place. (mem.go's median of RSS samples
// takes the upper one.)
func medianFloat(xs []float64) float64 {
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// round2 rounds v to 0.01, as every ratio is reported.
func round2(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

// medianMeasure takes each figure's median over the repetitions.
func medianMeasure(ms []Measure) Measure {
	med := func(f func(Measure) float64) float64 {
		xs := make([]float64, len(ms))
		for i, m := range ms {
			xs[i] = f(m)
		}
		return medianFloat(xs)
	}
	return Measure{
		CallsPerSecond:  med(func(m Measure) float64 { return m.CallsPerSecond }),
		P50:             med(func(m Measure) float64 { return m.P50 }),
		P99:             med(func(m Measure) float64 { return m.P99 }),
		CPUPerCall:      med(func(m Measure) float64 { return m.CPUPerCall }),
		BenchCPUPerCall: med(func(m Measure) float64 { return m.BenchCPUPerCall }),
		AnswerBytes:     med(func(m Measure) float64 { return m.AnswerBytes }),
		PeakRSS:         int64(med(func(m Measure) float64 { return float64(m.PeakRSS) })),
		IdleRSS:         int64(med(func(m Measure) float64 { return float64(m.IdleRSS) })),
		PeakAnon:        int64(med(func(m Measure) float64 { return float64(m.PeakAnon) })),
		FileRSS:         int64(med(func(m Measure) float64 { return float64(m.FileRSS) })),
		UpstreamConns:   int64(med(func(m Measure) float64 { return float64(m.UpstreamConns) })),
		ColdStart:       med(func(m Measure) float64 { return m.ColdStart }),
		ToolsListBytes:  int(med(func(m Measure) float64 { return float64(m.ToolsListBytes) })),
	}
}

// printCompare writes the report as two tables: speed, then memory.
func printCompare(w io.Writer, r *CompareReport) {
	fmt.Fprintf(w, "side by side: %d calls per server and transport, median of %d interleaved repetitions, HTTP clients on protocol %s; %s, %d CPUs, load %s\n",
		r.Calls, r.Reps, r.Protocol, r.Machine.Go, r.Machine.CPUs, loadAvg())
	// The rows of one transport: each server's medians, then the ratios
	// qcc-mcp/bare ("ratio"), qcc-mcp/ts-peer ("ratio-ts") and
	// qcc-mcp/baseline ("ratio-base").
	each := func(server func(name string, m Measure), ratio func(label string, ra map[string]float64)) {
		for _, mode := range []string{"stdio", "http"} {
			for _, name := range []string{"qcc-mcp", "bare", "ts-peer", "baseline"} {
				if m, ok := r.Median[name+"/"+mode]; ok {
					server(name+"/"+mode, m)
				}
			}
			if ra, ok := r.Ratio[mode]; ok {
				ratio("ratio/"+mode, ra)
			}
			if ra, ok := r.RatioTS[mode]; ok {
				ratio("ratio-ts/"+mode, ra)
			}
			if ra, ok := r.RatioBase[mode]; ok {
				ratio("ratio-base/"+mode, ra)
			}
		}
	}
	fmt.Fprintf(w, "%-16s %10s %8s %8s %11s %13s %9s %10s %9s %9s\n", "", "calls/s", "p50 ms", "p99 ms", "cpu µs/call", "bench µs/call", "upstream", "cold ms", "list B", "answer B")
	each(func(name string, m Measure) {
		fmt.Fprintf(w, "%-16s %10.0f %8.2f %8.2f %11.1f %13.1f %9d %10.1f %9d %9.0f\n", name, m.CallsPerSecond, m.P50, m.P99,
			m.CPUPerCall, m.BenchCPUPerCall, m.UpstreamConns, m.ColdStart, m.ToolsListBytes, m.AnswerBytes)
	}, func(label string, ra map[string]float64) {
		up := "-"
		if v, ok := ra["upstream_conns"]; ok {
			up = fmt.Sprintf("%.2f×", v)
		}
		fmt.Fprintf(w, "%-16s %9.2f× %7.2f× %7.2f× %10.2f× %12.2f× %9s %9.2f× %8.2f× %8.2f×\n", label, ra["calls_per_second"], ra["p50"], ra["p99"],
			ra["cpu_per_call"], ra["bench_cpu_per_call"], up, ra["cold_start"], ra["tools_list_bytes"], ra["answer_bytes"])
	})
	if len(r.Paired) > 0 {
		fmt.Fprintln(w, "per repetition, the two servers back to back: median ratio (range) over the repetitions")
		for _, mode := range []string{"stdio", "http"} {
			for _, other := range []string{"bare", "baseline"} {
				p, ok := r.Paired[other+"/"+mode]
				if !ok {
					continue
				}
				fmt.Fprintf(w, "%-16s calls/s %.2f× (%.2f–%.2f)   cpu µs/call %.2f× (%.2f–%.2f)   bench µs/call %.2f× (%.2f–%.2f)   %d pairs\n", "paired-"+other+"/"+mode,
					p.CallsPerSecond.Median, p.CallsPerSecond.Min, p.CallsPerSecond.Max,
					p.CPUPerCall.Median, p.CPUPerCall.Min, p.CPUPerCall.Max,
					p.BenchCPUPerCall.Median, p.BenchCPUPerCall.Min, p.BenchCPUPerCall.Max, p.Pairs)
			}
		}
	}
	fmt.Fprintln(w, "memory: peak RSS (VmHWM) = anonymous + file-backed (the binary, shared and reclaimable); idle RSS after the first tools/list")
	fmt.Fprintf(w, "%-16s %10s %10s %10s %10s\n", "", "peak RSS", "idle RSS", "peak anon", "file RSS")
	each(func(name string, m Measure) {
		fmt.Fprintf(w, "%-16s %10s %10s %10s %10s\n", name, mib(m.PeakRSS), mib(m.IdleRSS), mib(m.PeakAnon), mib(m.FileRSS))
	}, func(label string, ra map[string]float64) {
		fmt.Fprintf(w, "%-16s %9.2f× %9.2f× %9.2f× %9.2f×\n", label, ra["peak_rss"], ra["idle_rss"], ra["peak_anon_rss"], ra["file_rss"])
	})
	for _, f := range r.Failures {
		fmt.Fprintln(w, "FAIL:", f)
	}
}

// loadAvg is the 1-minute load average, to say how busy the machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
