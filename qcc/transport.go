package qcc

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// Defaults of NewTransport.
const (
	// DefaultIdleConns is the idle pool of a transport made for an
	// unbounded number of concurrent calls.
	DefaultIdleConns = 64
	// IdleConnTimeout is how long an unused connection to QCC is kept. A
	// connection's TLS handshake to QCC's servers in China costs a few
	// hundred milliseconds; keeping it for a quiet minute and a half costs
	// one socket.
	IdleConnTimeout = 90 * time.Second
)

// NewTransport returns an http.Transport tuned for one upstream host, QCC's
// API: up to maxInFlight calls at once (0: no bound known, DefaultIdleConns
// is kept idle and connections are not capped) each find an idle
// connection once the pool is warm, so a burst of calls opens at most one
// connection per call in flight, never more than maxInFlight in all, and
// the next burst opens none. Go's default keeps only 2 idle connections per host:
// with more calls in flight, most would open (and handshake) a new one.
//
// HTTP/2 is used where the server offers it, and TLS sessions are resumed,
// so a connection that had to be reopened skips the full handshake.
func NewTransport(maxInFlight int) *http.Transport {
	idle := maxInFlight
	if idle <= 0 {
		idle = DefaultIdleConns
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	if maxInFlight > 0 {
		// A request that finds no idle connection dials one, and keeps
		// dialling even when another request's connection comes free
		// first: without a cap, a busy pool creeps past one connection
		// per call. A request over the cap waits for a connection instead
		// (a multi-page search may briefly have more requests than calls).
		t.MaxConnsPerHost = maxInFlight
	}
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = idle
	t.MaxIdleConnsPerHost = idle
	t.IdleConnTimeout = IdleConnTimeout
	// Setting TLSClientConfig would turn HTTP/2 off without this.
	t.ForceAttemptHTTP2 = true
	t.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(idle),
	}
	return t
}
