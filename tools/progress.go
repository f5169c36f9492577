package tools

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/qcc-mcp/qcc-mcp/qcc/guard"
)

// Progress notifications: a caller that sends a progressToken hears of
// every page fetched, every company done, and every wait for a rate-limit
// slot or a retry, so that a long call is never silent.
//
// mcp-go queues a notification on the session's channel and writes it from
// a goroutine of the transport, while the result is written by the request
// itself: a result returned right after the last notification can overtake
// it (stdio), or make the transport drop it (streamable HTTP drops what its
// forwarder holds once the request is done). So after each notification the
// reporter waits until the transport has taken it off the channel, and the
// call's end waits a little more (progressGrace) for the last write.

// progressGrace is how long a call that sent progress waits, after the
// transport took its last notification off the channel, before it returns
// its result: far longer than writing one line takes, short beside a call
// that fetched pages.
const progressGrace = 5 * time.Millisecond

// progressDrainMax bounds the wait for the transport to take one
// notification: a client that does not read is not waited on for long.
const progressDrainMax = 250 * time.Millisecond

// progress reports the steps of one call. A nil *progress (no token) does
// nothing, so callers need not check.
type progress struct {
	ctx   context.Context
	srv   *server.MCPServer
	token mcp.ProgressToken

	mu    sync.Mutex
	value float64 // strictly increasing, as the specification asks
	total int     // 0 while unknown
	waits int     // waits reported since the last step
	sent  int
}

type progressKey struct{}

// withProgress gives ctx a reporter when the request carries a
// progressToken and a server to send with, and returns the reporter (nil
// without one), as progressOf of the context would.
func withProgress(ctx context.Context, req mcp.CallToolRequest) (context.Context, *progress) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return ctx, nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return ctx, nil
	}
	p := &progress{ctx: ctx, srv: srv, token: req.Params.Meta.ProgressToken}
	ctx = context.WithValue(ctx, progressKey{}, p)
	return guard.WithWaitHook(ctx, p.wait), p
}

func progressOf(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}

// step reports that done of total units are finished (total 0: not known
// yet); message says what in a few words.
func (p *progress) step(done, total int, message string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if total > 0 {
		p.total = total
	}
	v := float64(done)
	if v <= p.value {
		v = p.value + 0.001 // never backwards, never equal
	}
	p.value, p.waits = v, 0
	p.send(message)
}

// wait reports a wait of the guard: the value moves on by a hair so that it
// still increases, without claiming a unit done.
func (p *progress) wait(w guard.Wait) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waits < 900 {
		p.value += 0.001
		p.waits++
	}
	switch w.Reason {
	case "retry":
		p.send(fmt.Sprintf("QCC call failed; retry %d in %s", w.Attempt, w.Delay.Round(time.Millisecond)))
	default:
		p.send(fmt.Sprintf("waiting %s for a rate-limit slot", w.Delay.Round(time.Millisecond)))
	}
}

// send writes one notification and waits until the transport has taken it.
// The caller holds p.mu.
func (p *progress) send(message string) {
	params := map[string]any{"progressToken": p.token, "progress": p.value, "message": message}
	if p.total > 0 {
		params["total"] = p.total
	}
	if err := p.srv.SendNotificationToClient(p.ctx, "notifications/progress", params); err != nil {
		return
	}
	p.sent++
	drainNotifications(p.ctx)
}

// finish waits for the last notification to be written before the result.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	sent := p.sent
	p.mu.Unlock()
	if sent > 0 {
		drainNotifications(p.ctx)
		time.Sleep(progressGrace)
	}
}

// drainNotifications waits until the session's notification channel is
// empty, up to progressDrainMax.
func drainNotifications(ctx context.Context) {
	s := server.ClientSessionFromContext(ctx)
	if s == nil {
		return
	}
	ch := s.NotificationChannel()
	deadline := time.Now().Add(progressDrainMax)
	for len(ch) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Microsecond)
	}
}
