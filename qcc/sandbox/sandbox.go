package sandbox

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// The credentials a Sandbox accepts when Config leaves them empty. They are
// public on purpose: the server's --demo mode signs with them.
const (
	DemoAppKey    = "demo-app-key"
	DemoSecretKey = "demo-secret-key"
)

const (
	defaultMaxSkew = 10 * time.Minute
	defaultSlowCap = 2 * time.Minute
)

// Config configures a Sandbox. The zero value is ready to use.
type Config struct {
	// AppKey is the key query parameter the sandbox accepts; empty means
	// DemoAppKey.
	AppKey string
	// SecretKey is the secret the Token must be signed with; empty means
	// DemoSecretKey.
	SecretKey string
	// Now is the sandbox's clock, against which Timespan is checked and
	// order numbers are made; nil means time.Now.
	Now func() time.Time
	// MaxSkew is how far Timespan may be from Now; zero means 10 minutes.
	MaxSkew time.Duration
	// SlowCap caps the delay of the sandbox-slow-DURATION trigger; zero
	// means 2 minutes.
	SlowCap time.Duration
}

// Sandbox is an in-process stand-in for QCC's certificate API. It is an
// http.Handler and can also serve as an http.RoundTripper (Transport). A
// Sandbox is safe for concurrent use.
type Sandbox struct {
	appKey, secretKey string
	now               func() time.Time
	maxSkew, slowCap  time.Duration
	data              *dataset
	orderSeq          atomic.Uint64

	mu     sync.Mutex
	calls  map[string]int
	faults map[string][]Fault
}

// New returns a Sandbox configured by cfg.
func New(cfg Config) *Sandbox {
	s := &Sandbox{
		appKey:    cfg.AppKey,
		secretKey: cfg.SecretKey,
		now:       cfg.Now,
		maxSkew:   cfg.MaxSkew,
		slowCap:   cfg.SlowCap,
		data:      loadDataset(),
		calls:     make(map[string]int),
		faults:    make(map[string][]Fault),
	}
	if s.appKey == "" {
		s.appKey = DemoAppKey
	}
	if s.secretKey == "" {
		s.secretKey = DemoSecretKey
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxSkew <= 0 {
		s.maxSkew = defaultMaxSkew
	}
	if s.slowCap <= 0 {
		s.slowCap = defaultSlowCap
	}
	return s
}

// Fault is a failure injected with FailNext. When Delay is set the sandbox
// first waits that long (or until the request's context ends); then the
// first of HTTPStatus, QCCStatus, Malformed, Truncated and Large that is set
// decides the answer. A Fault with only Delay set answers normally after
// the wait.
type Fault struct {
	// QCCStatus answers HTTP 200 with a JSON envelope carrying this QCC
	// status and the vendor document's message for it. 200 gives an empty
	// success.
	QCCStatus int
	// HTTPStatus answers with this HTTP status (200 to 599) and an HTML
	// body like a gateway's error page.
	HTTPStatus int
	// RetryAfter, with HTTPStatus, is sent as the Retry-After header.
	RetryAfter string
	// Malformed answers HTTP 200 with a body that is not valid JSON.
	Malformed bool
	// Truncated answers HTTP 200 with a Content-Length larger than the
	// body, which ends halfway through valid JSON.
	Truncated bool
	// Large answers HTTP 200 with a valid JSON body larger than 5 MiB,
	// without a Content-Length.
	Large bool
	// Delay is how long to wait before answering.
	Delay time.Duration
}

// FailNext makes the next n requests to method (qcc.MethodSearch or
// qcc.MethodDetail) fail with f, before authentication and normal handling;
// they are still counted by Calls. Faults queue up: calling FailNext twice
// queues both in order. n <= 0 clears the method's queue. FailNext panics
// when f.HTTPStatus is set outside 200 to 599.
func (s *Sandbox) FailNext(method string, n int, f Fault) {
	if f.HTTPStatus != 0 && (f.HTTPStatus < 200 || f.HTTPStatus > 599) {
		panic(fmt.Sprintf("sandbox: FailNext: HTTPStatus %d outside 200-599", f.HTTPStatus))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.faults, method)
		return
	}
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
}

// Calls returns how many requests reached method (qcc.MethodSearch or
// qcc.MethodDetail), including those refused by authentication, answered by
// a trigger or failed by FailNext.
func (s *Sandbox) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// TotalCalls returns the number of requests that reached either method.
// Requests to other paths, answered 404, are not counted.
func (s *Sandbox) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for _, n := range s.calls {
		total += n
	}
	return total
}

// record counts a request to method and takes the method's next queued
// fault, if any.
func (s *Sandbox) record(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	queue := s.faults[method]
	if len(queue) == 0 {
		return Fault{}, false
	}
	f := queue[0]
	if len(queue) == 1 {
		delete(s.faults, method)
	} else {
		s.faults[method] = queue[1:]
	}
	return f, true
}

// ServeHTTP answers the two methods of the certificate API under any path
// prefix, so that both https://pro.qcc.com/api/yj and
// https://api.qichacha.com work as base URLs; any other path is 404.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, ok := methodOf(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if f, ok := s.record(method); ok && s.answerFault(w, r, method, f) {
		return
	}
	if code := s.authenticate(r); code != 0 {
		s.writeStatus(w, method, code)
		return
	}
	if r.Method != http.MethodGet {
		// 118: 当前接口不支持此方式的调用. The document only allows GET.
		s.writeStatus(w, method, 118)
		return
	}
	switch method {
	case qcc.MethodSearch:
		s.search(w, r)
	case qcc.MethodDetail:
		s.detail(w, r)
	}
}

// methodOf returns the QCC method a path ends in. Matching ignores case,
// like the ASP.NET routing QCC runs on.
func methodOf(path string) (string, bool) {
	for _, m := range []string{qcc.MethodSearch, qcc.MethodDetail} {
		suffix := "/" + m
		if len(path) >= len(suffix) && strings.EqualFold(path[len(path)-len(suffix):], suffix) {
			return m, true
		}
	}
	return "", false
}

// authenticate checks the request as QCC does and returns 0 when it
// passes, else the QCC status to answer: 101 for a wrong key, 115 for a
// missing or stale Timespan, 107 for a wrong Token.
func (s *Sandbox) authenticate(r *http.Request) int {
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("key")), []byte(s.appKey)) != 1 {
		return 101
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(r.Header.Get("Timespan")), 10, 64)
	if err != nil {
		return 115
	}
	signedAt := time.Unix(ts, 0)
	if skew := s.now().Sub(signedAt); skew > s.maxSkew || skew < -s.maxSkew {
		return 115
	}
	_, want := qcc.Sign(s.appKey, s.secretKey, signedAt)
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Token")), []byte(want)) != 1 {
		return 107
	}
	return 0
}
